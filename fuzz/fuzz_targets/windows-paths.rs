//! `cargo fuzz run -s none windows-paths`: the `windows-paths` target under libFuzzer (see
//! docs/hardening.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    mcpfw_fuzz::run_target("windows-paths", data);
});
