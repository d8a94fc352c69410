//! `mcpfw-fuzz [TARGET...] [--seconds N] [--seed S] [--list]`: fuzzes each target (all when none
//! is named) for N seconds (default 10). A failure saves its input to `fuzz/artifacts/` and
//! exits 1; the seed printed at the start reproduces the run.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mcpfw_fuzz::{fuzz, save_artifact, targets};

fn main() {
    let mut names = Vec::new();
    let mut seconds = 10.0_f64;
    let mut seed = SystemTime::now().duration_since(UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--seconds" => {
                seconds = args.next().and_then(|s| s.parse().ok()).unwrap_or_else(|| usage())
            }
            "--seed" => seed = args.next().and_then(|s| s.parse().ok()).unwrap_or_else(|| usage()),
            "--list" => {
                for t in targets::all() {
                    println!("{}", t.name);
                }
                return;
            }
            "-h" | "--help" => usage(),
            name if !name.starts_with('-') => names.push(name.to_owned()),
            _ => usage(),
        }
    }
    let chosen: Vec<_> = if names.is_empty() {
        targets::all()
    } else {
        names
            .iter()
            .map(|n| {
                targets::by_name(n).unwrap_or_else(|| {
                    eprintln!("no fuzz target {n:?} (try --list)");
                    std::process::exit(2)
                })
            })
            .collect()
    };
    // Failures are reported once, below, with their input; the default hook would print every
    // expected panic message too.
    std::panic::set_hook(Box::new(|_| {}));
    println!("fuzzing {} target(s) for {seconds} s each, seed {seed}", chosen.len());
    let mut failed = 0;
    for target in &chosen {
        let started = Instant::now();
        match fuzz(target, Duration::from_secs_f64(seconds), seed) {
            Ok(stats) => println!(
                "fuzz {:<9} ok: {} inputs in {:.1} s, {} kept, {} distinct behaviours",
                target.name,
                stats.executions,
                started.elapsed().as_secs_f64(),
                stats.corpus,
                stats.signals
            ),
            Err(failure) => {
                failed += 1;
                let saved = save_artifact(&failure).map_or_else(
                    |e| format!("(could not save it: {e})"),
                    |p| p.display().to_string(),
                );
                println!("fuzz {:<9} FAILED: {failure}\n  input saved to {saved}", target.name);
            }
        }
    }
    println!("fuzz: {} passed, {failed} failed", chosen.len() - failed);
    if failed > 0 {
        std::process::exit(1);
    }
}

fn usage() -> ! {
    eprintln!("usage: mcpfw-fuzz [TARGET...] [--seconds N] [--seed S] [--list]");
    std::process::exit(2)
}
