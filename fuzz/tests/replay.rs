//! Every seed and every saved regression input passes every target's checks, and a short
//! fuzz run from a fixed seed finds nothing. Part of `cargo test --workspace`.

use std::time::Duration;

use mcpfw_fuzz::{fuzz, replay, targets};

#[test]
fn every_seed_and_regression_input_passes() {
    for target in targets::all() {
        let count = replay(&target).unwrap_or_else(|f| panic!("{f}"));
        assert!(count > 0, "target {} has no seeds", target.name);
    }
}

#[test]
fn a_short_run_from_a_fixed_seed_finds_nothing() {
    for target in targets::all() {
        let stats = fuzz(&target, Duration::from_millis(300), 42).unwrap_or_else(|f| panic!("{f}"));
        assert!(stats.executions > 0);
    }
}

/// The fuzzer itself: mutations stay within the size cap and a panicking target is caught
/// and reported with its input.
#[test]
fn the_engine_catches_failures_and_respects_the_cap() {
    let mut rng = mcpfw_fuzz::Rng::new(7);
    let corpus = vec![b"{\"a\":1}".to_vec()];
    for _ in 0..1000 {
        assert!(mcpfw_fuzz::mutate(&corpus[0], &corpus, &[], 64, &mut rng).len() <= 64);
    }
    fn boom(data: &[u8]) -> u64 {
        assert!(!data.contains(&b'!'), "found a bang");
        0
    }
    let target = mcpfw_fuzz::Target {
        name: "boom",
        run: boom,
        seeds: || vec![b"hello".to_vec()],
        max_len: 64,
        dictionary: &[b"!"],
    };
    let failure = fuzz(&target, Duration::from_secs(5), 1).unwrap_err();
    assert!(failure.message.contains("found a bang"), "{}", failure.message);
    assert!(failure.input.contains(&b'!'));
}
