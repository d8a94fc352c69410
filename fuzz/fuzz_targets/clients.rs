//! `cargo fuzz run -s none clients`: the `clients` target under libFuzzer (see docs/hardening.md).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    mcpfw_fuzz::run_target("clients", data);
});
