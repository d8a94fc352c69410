//! A small mutational fuzzer that runs on stable Rust, and MCP Firewall's fuzz targets.
//!
//! Coverage-guided fuzzing (cargo-fuzz/libFuzzer) works on stable Rust only without sanitizers,
//! and needs the whole dependency tree built with coverage instrumentation (about 15 minutes on
//! the 2-core machines this project is tested on): good for long runs (`fuzz_targets/`, see
//! docs/hardening.md), too slow for every test run. This engine runs in-process on stable, in the build
//! `cargo test` already made:
//!
//! - each target starts from a corpus of real inputs (the project's test corpus, the official
//!   servers' tool lists, protocol messages and policy files in `fuzz/corpus/`);
//! - inputs are mutated (bit flips, interesting bytes, dictionary tokens, splices of other
//!   corpus entries, repeated bytes for deep nesting and long runs, truncation);
//! - each target returns a small *signal* describing what the input made the code do (decode
//!   error kind, action taken, category, rules that fired); an input with a signal not seen
//!   before joins the corpus, a cheap stand-in for coverage feedback;
//! - every target checks properties, not just "no panic" (e.g. nothing malformed is forwarded,
//!   an "inside the roots" path really is inside them after the kernel resolves it);
//! - a panic, a failed property or an input that takes longer than [`SLOW`] is a failure: the
//!   input is written to `fuzz/artifacts/<target>/` and the run fails.
//!
//! Inputs in `fuzz/regressions/<target>/` are replayed first on every run (and by
//! `cargo test -p mcpfw-fuzz`), so a fixed crash stays fixed.

pub mod targets;

use std::collections::HashSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A fuzz target: checks its properties (panicking when one fails) and returns a signal.
pub type TargetFn = fn(&[u8]) -> u64;

/// One target: its name, the function, its seeds and the largest input it is given.
pub struct Target {
    pub name: &'static str,
    pub run: TargetFn,
    pub seeds: fn() -> Vec<Vec<u8>>,
    pub max_len: usize,
    /// Tokens the mutator inserts (keywords of the input language).
    pub dictionary: &'static [&'static [u8]],
}

/// The most inputs kept per target (memory stays bounded on long runs).
pub const MAX_CORPUS: usize = 5_000;

/// An input slower than this is a failure (a hang or super-linear work).
pub const SLOW: Duration = Duration::from_secs(5);

/// Runs the target called `name` on `data` (for the libFuzzer harnesses in `fuzz_targets/`:
/// a failed property panics, which libFuzzer reports as a crash).
pub fn run_target(name: &str, data: &[u8]) {
    static TARGETS: std::sync::OnceLock<Vec<Target>> = std::sync::OnceLock::new();
    let targets = TARGETS.get_or_init(targets::all);
    let target = targets.iter().find(|t| t.name == name).expect("a known target");
    if data.len() <= target.max_len {
        (target.run)(data);
    }
}

/// A failure found by [`fuzz`] or [`replay`].
#[derive(Debug)]
pub struct Failure {
    pub target: &'static str,
    pub input: Vec<u8>,
    pub message: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let preview: String = String::from_utf8_lossy(&self.input).chars().take(300).collect();
        write!(
            f,
            "{}: {} (input of {} bytes: {:?})",
            self.target,
            self.message,
            self.input.len(),
            preview
        )
    }
}

/// What one run did.
#[derive(Debug, Default)]
pub struct Stats {
    pub executions: u64,
    pub corpus: usize,
    pub signals: usize,
}

/// xorshift64*: fast, reproducible from its seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number below `n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    pub fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

/// Bytes that often matter to parsers.
const INTERESTING: &[u8] =
    b"{}[]\":,\\\n\r\t\0 /.%~-0119eE+\x7f\x80\xbf\xc0\xe2\xef\xf0\xf3\xf4\xff";

/// Unicode and escapes the detectors and path resolver care about.
const COMMON_TOKENS: &[&[u8]] = &[
    "\u{200b}".as_bytes(),
    "\u{202e}".as_bytes(),
    "\u{e0041}".as_bytes(),
    "\u{fe0f}".as_bytes(),
    "\u{feff}".as_bytes(),
    b"\x1b[8m",
    b"\x1b]8;;http://x\x07",
    b"\\u0000",
    b"\\ud800",
    b"\\\"",
    b"%2e%2e/",
    b"%252e",
    b"../",
    b"~/",
    b"file:///",
    b"\\\\",
    b"null",
    b"true",
    b"1e309",
    b"-0",
    b"[[[[[[[[",
    b"{\"a\":",
];

/// Applies 1–4 random mutations to `input`.
pub fn mutate(
    input: &[u8],
    corpus: &[Vec<u8>],
    dictionary: &[&[u8]],
    max_len: usize,
    rng: &mut Rng,
) -> Vec<u8> {
    let mut data = input.to_vec();
    for _ in 0..=rng.below(4) {
        match rng.below(11) {
            0 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] ^= 1 << rng.below(8);
            }
            1 if !data.is_empty() => {
                let i = rng.below(data.len());
                data[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 => {
                let i = rng.below(data.len() + 1);
                data.insert(i, INTERESTING[rng.below(INTERESTING.len())]);
            }
            3 if !data.is_empty() => {
                let start = rng.below(data.len());
                let end = (start + 1 + rng.below(64)).min(data.len());
                data.drain(start..end);
            }
            4 if !data.is_empty() => {
                // Duplicate a slice somewhere else.
                let start = rng.below(data.len());
                let end = (start + 1 + rng.below(256)).min(data.len());
                let chunk = data[start..end].to_vec();
                let at = rng.below(data.len() + 1);
                data.splice(at..at, chunk);
            }
            5 | 6 => {
                let tokens = if !dictionary.is_empty() && rng.chance(2) {
                    dictionary
                } else {
                    COMMON_TOKENS
                };
                let token = tokens[rng.below(tokens.len())];
                let at = rng.below(data.len() + 1);
                data.splice(at..at, token.iter().copied());
            }
            7 if !corpus.is_empty() => {
                // Splice: the start of this input with the end of another.
                let other = &corpus[rng.below(corpus.len())];
                let cut = rng.below(data.len() + 1);
                let from = rng.below(other.len() + 1);
                data.truncate(cut);
                data.extend_from_slice(&other[from..]);
            }
            8 => {
                // A long run of one byte: deep nesting, long lines, padding.
                let byte = INTERESTING[rng.below(INTERESTING.len())];
                let count = 1 << rng.below(14);
                let at = rng.below(data.len() + 1);
                data.splice(at..at, std::iter::repeat_n(byte, count));
            }
            9 if !data.is_empty() => {
                data.truncate(rng.below(data.len()));
            }
            10 if data.len() >= 2 => {
                // Change a number-like digit run.
                let i = rng.below(data.len());
                if data[i].is_ascii_digit() {
                    data[i] = b"0123456789"[rng.below(10)];
                } else {
                    let j = rng.below(data.len());
                    data.swap(i, j);
                }
            }
            _ => {}
        }
    }
    data.truncate(max_len);
    data
}

/// Runs `target` on one input; a panic or a slow run is a [`Failure`].
pub fn execute(target: &Target, input: &[u8]) -> Result<u64, Failure> {
    let started = Instant::now();
    let outcome = catch_unwind(AssertUnwindSafe(|| (target.run)(input)));
    let took = started.elapsed();
    let fail = |message: String| Failure { target: target.name, input: input.to_vec(), message };
    match outcome {
        Ok(_) if took > SLOW => Err(fail(format!("took {took:?} (more than {SLOW:?})"))),
        Ok(signal) => Ok(signal),
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "panicked".to_owned());
            Err(fail(format!("panicked: {message}")))
        }
    }
}

/// The folder of `fuzz/` (this crate).
pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The regression inputs of `target` (`fuzz/regressions/<target>/*`).
pub fn regressions(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = crate_dir().join("regressions").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    files.into_iter().filter_map(|p| std::fs::read(&p).ok().map(|bytes| (p, bytes))).collect()
}

/// Runs every seed and regression input of `target` once.
pub fn replay(target: &Target) -> Result<usize, Failure> {
    let mut count = 0;
    for input in
        (target.seeds)().into_iter().chain(regressions(target.name).into_iter().map(|r| r.1))
    {
        execute(target, &input)?;
        count += 1;
    }
    Ok(count)
}

/// Replays, then mutates for `budget`, starting the random sequence from `seed`.
pub fn fuzz(target: &Target, budget: Duration, seed: u64) -> Result<Stats, Failure> {
    let started = Instant::now();
    let mut corpus: Vec<Vec<u8>> = (target.seeds)();
    corpus.extend(regressions(target.name).into_iter().map(|r| r.1));
    if corpus.is_empty() {
        corpus.push(Vec::new());
    }
    let mut signals = HashSet::new();
    let mut stats = Stats::default();
    for input in &corpus {
        signals.insert(execute(target, input)?);
        stats.executions += 1;
    }
    let mut rng = Rng::new(seed);
    while started.elapsed() < budget {
        let base = &corpus[rng.below(corpus.len())];
        let input = mutate(base, &corpus, target.dictionary, target.max_len, &mut rng);
        let signal = execute(target, &input)?;
        stats.executions += 1;
        if signals.insert(signal) && corpus.len() < MAX_CORPUS {
            corpus.push(input);
        }
    }
    stats.corpus = corpus.len();
    stats.signals = signals.len();
    Ok(stats)
}

/// Saves a failing input to `fuzz/artifacts/<target>/crash-<hash>` and returns its path.
pub fn save_artifact(failure: &Failure) -> std::io::Result<PathBuf> {
    let dir = crate_dir().join("artifacts").join(failure.target);
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("crash-{:016x}", fnv(&failure.input)));
    std::fs::write(&path, &failure.input)?;
    Ok(path)
}

/// FNV-1a, for naming artifacts and building signals.
pub fn fnv(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Reads every file below `dir` (sorted), for seeds.
pub fn files_under(dir: &Path) -> Vec<Vec<u8>> {
    let mut paths = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if let Ok(entries) = std::fs::read_dir(&d) {
            for e in entries.flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    paths.push(p);
                }
            }
        }
    }
    paths.sort();
    paths.into_iter().filter_map(|p| std::fs::read(p).ok()).collect()
}
