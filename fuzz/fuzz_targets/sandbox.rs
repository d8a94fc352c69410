//! `cargo fuzz run -s none sandbox`: the `sandbox` target under libFuzzer (see docs/hardening.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    mcpfw_fuzz::run_target("sandbox", data);
});
