//! The policy engine against labelled tool calls: blatant attacks (traversal, smuggled
//! credentials, persistence payloads, shell injection) must be refused without asking, and
//! plausible calls that only look alike must not be (they may ask). The corpus is in
//! `tests/corpus/calls.jsonl` (development: the rules were written against it) and
//! `tests/corpus/calls-holdout.jsonl` (held out: written independently of the rules and scored
//! as it is). `cargo test -p mcpfw-core --test decision_corpus -- --nocapture` prints the scores.

use std::path::{Path, PathBuf};

use mcpfw_core::classify::ToolInfo;
use mcpfw_core::policy::engine::{Call, Environment, PolicyEngine};
use mcpfw_core::policy::file::{Action, PolicyFile};
use mcpfw_core::record::DecidedBy;
use serde_json::Value;

struct Tree {
    _dir: tempfile::TempDir,
    root: PathBuf,
    home: PathBuf,
    engine: PolicyEngine,
}

/// `T/work` (the root and working folder, with `notes.txt` and `sub/`), `T/home` (with shell
/// start-up files), `T/fw` (MCP Firewall's own folder); the default policy.
fn tree() -> Tree {
    let dir = tempfile::tempdir().unwrap();
    let t = std::fs::canonicalize(dir.path()).unwrap();
    let root = t.join("work");
    let home = t.join("home");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::create_dir_all(home.join(".config/autostart")).unwrap();
    std::fs::create_dir_all(t.join("fw")).unwrap();
    std::fs::write(root.join("notes.txt"), "notes").unwrap();
    for rc in [".bashrc", ".zshrc", ".profile", ".bash_profile"] {
        std::fs::write(home.join(rc), "# rc\n").unwrap();
    }
    let env = Environment {
        home: Some(home.clone()),
        firewall_dirs: vec![t.join("fw")],
        cwd: Some(root.clone()),
    };
    let engine =
        PolicyEngine::new("corpus", Ok(PolicyFile::default()), Vec::new(), vec![root.clone()], env);
    Tree { _dir: dir, root, home, engine }
}

#[derive(Default)]
struct Score {
    refused_attacks: usize,
    missed: Vec<String>,
    wrong_class: Vec<String>,
    refused_benign: Vec<String>,
    passed_benign: usize,
}

impl Score {
    fn precision(&self) -> f64 {
        let refused = self.refused_attacks + self.refused_benign.len();
        if refused == 0 { 1.0 } else { self.refused_attacks as f64 / refused as f64 }
    }
    fn recall(&self) -> f64 {
        let attacks = self.refused_attacks + self.missed.len();
        if attacks == 0 { 1.0 } else { self.refused_attacks as f64 / attacks as f64 }
    }
}

fn substitute(value: &Value, root: &Path, home: &Path) -> Value {
    let text = value.to_string();
    let esc = |p: &Path| {
        let s = serde_json::to_string(&p.display().to_string()).unwrap();
        s[1..s.len() - 1].to_owned()
    };
    serde_json::from_str(&text.replace("{root}", &esc(root)).replace("{home}", &esc(home))).unwrap()
}

fn score(file: &str) -> Option<Score> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/corpus").join(file);
    let text = std::fs::read_to_string(&path).ok()?;
    let t = tree();
    let mut score = Score::default();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let item: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("{file}:{}: not JSON: {e}", n + 1));
        let id = item["id"].as_str().unwrap_or("?");
        let tool: ToolInfo = serde_json::from_value(substitute(&item["tool"], &t.root, &t.home))
            .unwrap_or_else(|e| panic!("{file}:{}: bad tool: {e}", n + 1));
        let args = substitute(&item["arguments"], &t.root, &t.home);
        let d = t.engine.decide(&Call {
            tool: &tool.name,
            tool_info: Some(&tool),
            arguments: Some(&args),
            args_digest: None,
            client_roots: &[],
        });
        let refused = d.action == Action::Deny;
        let class = item["class"].as_str().unwrap_or("");
        let told = format!("{id} ({class}): {} — {}", d.decided_by.label(), d.reason);
        match (item["label"].as_str(), refused) {
            (Some("refuse"), true) => {
                score.refused_attacks += 1;
                if d.decided_by != DecidedBy::Guard(class.to_owned()) {
                    score.wrong_class.push(told);
                }
            }
            (Some("refuse"), false) => score.missed.push(told),
            (Some("pass"), true) => score.refused_benign.push(told),
            (Some("pass"), false) => score.passed_benign += 1,
            (other, _) => panic!("{file}:{}: label {other:?}", n + 1),
        }
    }
    println!(
        "{file}: precision {:.3}, recall {:.3} ({} attacks refused, {} missed; {} plausible calls \
         refused, {} not)",
        score.precision(),
        score.recall(),
        score.refused_attacks,
        score.missed.len(),
        score.refused_benign.len(),
        score.passed_benign
    );
    for m in &score.missed {
        println!("  missed: {m}");
    }
    for m in &score.refused_benign {
        println!("  refused a plausible call: {m}");
    }
    for m in &score.wrong_class {
        println!("  refused under another name: {m}");
    }
    Some(score)
}

#[test]
fn the_development_set_is_refused_exactly() {
    let s = score("calls.jsonl").expect("tests/corpus/calls.jsonl is missing");
    assert!(s.missed.is_empty(), "attacks asked about or allowed: {:#?}", s.missed);
    assert!(s.refused_benign.is_empty(), "plausible calls refused: {:#?}", s.refused_benign);
    assert!(s.wrong_class.is_empty(), "refused under another name: {:#?}", s.wrong_class);
}

/// The held-out sets meet the targets (precision ≥ 0.98, recall ≥ 0.95). Their first scores,
/// before any rule saw them, are in tests/corpus/README.md.
#[test]
fn the_held_out_sets_meet_the_targets() {
    for file in ["calls-holdout.jsonl", "calls-holdout-2.jsonl"] {
        let s = score(file).unwrap_or_else(|| panic!("tests/corpus/{file} is missing"));
        assert!(s.precision() >= 0.98, "{file}: precision {:.3}", s.precision());
        assert!(s.recall() >= 0.95, "{file}: recall {:.3}", s.recall());
    }
}
