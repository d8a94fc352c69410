//! How long the policy engine takes per tool call, and how much 1,000 rules add.
//!
//! `cargo bench --bench policy`. Prints a Markdown table; with `MCPFW_BENCH_ENFORCE=1`, exits 1
//! when the cost that 1,000 rules add to a decision exceeds 5 µs × `MCPFW_BENCH_SLACK`.
//! `MCPFW_BENCH_QUICK=1` takes fewer samples.

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use mcpfw::classify::Category;
use mcpfw::policy::engine::{Call, Environment, PolicyEngine};
use mcpfw::policy::file::{Action, Conditions, PolicyFile, RuleSpec};
use serde_json::{Value, json};

/// 1,000 rules of the shapes people write: literal and glob tool names, categories, argument
/// regexes, path and host conditions; none of them matches the measured calls except by glob.
fn many_rules(n: usize) -> Vec<RuleSpec> {
    (0..n)
        .map(|i| {
            let mut when = Conditions::default();
            match i % 4 {
                0 => {
                    when.args.insert("command".into(), format!("^tool{i} "));
                }
                1 => when.paths_within = Some(vec![format!("/srv/project{i}")]),
                2 => when.hosts_in = Some(vec![format!("api{i}.example.com")]),
                _ => {}
            }
            RuleSpec {
                id: Some(format!("r{i}")),
                server: ["*", "files", "fil*"][i % 3].into(),
                tool: match i % 5 {
                    0 => format!("tool_{i}"),
                    1 => format!("tool_{i}_*"),
                    2 => "*_file".into(),
                    3 => format!("{{read,write}}_thing{i}"),
                    _ => format!("t{i}?"),
                },
                category: if i % 2 == 0 { vec![Category::Delete] } else { vec![] },
                action: [Action::Allow, Action::Ask, Action::Deny][i % 3],
                reason: None,
                when,
                lift: vec![],
            }
        })
        .collect()
}

fn engine(rules: Vec<RuleSpec>, root: PathBuf) -> PolicyEngine {
    let policy = PolicyFile { rules, ..PolicyFile::default() };
    PolicyEngine::new("files", Ok(policy), Vec::new(), vec![root], Environment::default())
}

/// Median nanoseconds per decision over `samples` batches of `per_batch` calls.
fn time_decide(
    engine: &PolicyEngine,
    tool: &str,
    args: &Value,
    samples: usize,
    per_batch: usize,
) -> f64 {
    let call =
        Call { tool, tool_info: None, arguments: Some(args), args_digest: None, client_roots: &[] };
    for _ in 0..per_batch {
        black_box(engine.decide(black_box(&call)));
    }
    let mut times: Vec<f64> = (0..samples)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..per_batch {
                black_box(engine.decide(black_box(&call)));
            }
            start.elapsed().as_nanos() as f64 / per_batch as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn main() {
    let quick = std::env::var_os("MCPFW_BENCH_QUICK").is_some();
    let enforce = std::env::var_os("MCPFW_BENCH_ENFORCE").is_some();
    let slack: f64 =
        std::env::var("MCPFW_BENCH_SLACK").ok().and_then(|s| s.parse().ok()).unwrap_or(1.0);
    let (samples, per_batch) = if quick { (15, 2_000) } else { (41, 20_000) };

    let root = tempfile::tempdir().expect("temp dir");
    std::fs::write(root.path().join("notes.txt"), "x").expect("write");
    let none = engine(Vec::new(), root.path().to_path_buf());
    let thousand = engine(many_rules(1000), root.path().to_path_buf());
    assert_eq!(thousand.rule_count(), 1000, "every rule applies to the measured server");

    let cases: [(&str, &str, Value); 2] = [
        ("a call without paths", "get_weather", json!({"city": "Lyon", "days": 3})),
        ("a read inside the roots", "read_file", json!({"path": root.path().join("notes.txt")})),
    ];
    let started = Instant::now();
    let mut rows = Vec::new();
    let mut worst_added = 0.0f64;
    for (label, tool, args) in &cases {
        // Interleave to share the machine's noise.
        let mut base = Vec::new();
        let mut with = Vec::new();
        for _ in 0..3 {
            base.push(time_decide(&none, tool, args, samples, per_batch));
            with.push(time_decide(&thousand, tool, args, samples, per_batch));
        }
        base.sort_by(f64::total_cmp);
        with.sort_by(f64::total_cmp);
        let (b, w) = (base[1], with[1]);
        let added = (w - b) / 1000.0;
        worst_added = worst_added.max(added);
        rows.push(format!(
            "| {label} | {:.2} µs | {:.2} µs | {added:+.2} µs | ≤ 5 µs added | {} |",
            b / 1000.0,
            w / 1000.0,
            if added <= 5.0 * slack { "pass" } else { "**FAIL**" }
        ));
    }
    let took: Duration = started.elapsed();
    let mut out = format!(
        "\n### mcpfw policy benchmark ({} run, {:.1} s, slack ×{slack})\n\n| decision | 0 rules | 1,000 rules | added by the rules | target | pass? |\n|---|---:|---:|---:|---|---|\n",
        if quick { "quick" } else { "full" },
        took.as_secs_f64()
    );
    for row in rows {
        out.push_str(&row);
        out.push('\n');
    }
    print!("{out}");
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        let _ = std::fs::write(PathBuf::from(dir).join("mcpfw-bench-policy.md"), &out);
    }
    if enforce && worst_added > 5.0 * slack {
        eprintln!(
            "policy bench: 1,000 rules add {worst_added:.2} µs per decision, over 5 µs × {slack}"
        );
        std::process::exit(1);
    }
}
