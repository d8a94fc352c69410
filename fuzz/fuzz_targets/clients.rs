//! `cargo fuzz run -s none clients`: the `clients` target under libFuzzer (see README, Hardening).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    mcpfw_fuzz::run_target("clients", data);
});
