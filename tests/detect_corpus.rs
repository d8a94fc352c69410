//! The detector against the labelled corpus in `tests/corpus/`: `detect.jsonl`, the set the
//! rules were developed against, and `detect-holdout.jsonl`, `detect-holdout-2.jsonl`,
//! `detect-holdout-3.jsonl`, `detect-holdout-4.jsonl`, `detect-holdout-5.jsonl`,
//! `detect-holdout-6.jsonl` and `detect-holdout-7.jsonl`, each written apart from the rules and
//! scored once before any rule was changed for it (their first scores, recorded in
//! `tests/corpus/README.md`, are the honest estimates). Each held-out set is held at precision
//! ≥ 0.98 and recall ≥ 0.95.
//!
//! Each line is `{"id", "target": "tool"|"result"|"prompt"|"resource"|"instructions",
//! "value", "label": "attack"|"benign", "class", "note"}`. An item counts as detected when a
//! finding reaches `Flag`. Run with `--nocapture` to see precision and recall, overall, per
//! attack class and per finding kind, and every miss and false alarm.

use std::collections::BTreeMap;

use mcpfw::detect::{
    Finding, Severity, scan_instructions, scan_prompt, scan_resource, scan_result, scan_tool,
};
use serde_json::Value;

struct Item {
    id: String,
    target: String,
    value: Value,
    attack: bool,
    class: String,
    note: String,
    /// `"expect": "block"`: the item must be withheld, not only flagged.
    block: bool,
}

fn corpus(file: &str) -> Vec<Item> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus").join(file);
    std::fs::read_to_string(path)
        .expect("corpus readable")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("a JSON line");
            let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
            Item {
                id: s("id"),
                target: s("target"),
                value: v["value"].clone(),
                attack: s("label") == "attack",
                class: s("class"),
                note: s("note"),
                block: s("expect") == "block",
            }
        })
        .collect()
}

fn scan(item: &Item) -> Vec<Finding> {
    match item.target.as_str() {
        "tool" => scan_tool(&item.value),
        "result" => scan_result(&item.value),
        "prompt" => scan_prompt(&item.value),
        "resource" => scan_resource(&item.value),
        "instructions" => scan_instructions(item.value.as_str().unwrap_or_default()),
        other => panic!("{}: unknown target {other}", item.id),
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

struct Score {
    attacks: usize,
    tp: usize,
    fp: usize,
    blocked_benign: usize,
    /// Items marked `"expect": "block"`, and how many of them reached Block.
    expect_block: usize,
    blocked_expected: usize,
    classes_without_detection: Vec<String>,
}

/// Scores `items`, printing the tables under `title`.
fn evaluate(title: &str, items: &[&Item]) -> Score {
    let attacks = items.iter().filter(|i| i.attack).count();
    let benign = items.len() - attacks;
    let (mut tp, mut fp, mut blocked_benign, mut info_benign) = (0, 0, 0, 0);
    let mut per_class: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    // kind → (items it flagged that are attacks, items it flagged)
    let mut per_kind: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut misses = Vec::new();
    let mut false_alarms = Vec::new();
    let (mut expect_block, mut blocked_expected) = (0, 0);
    let mut not_withheld = Vec::new();
    for item in items {
        let findings = scan(item);
        let detected = findings.iter().any(|f| f.severity >= Severity::Flag);
        let mut kinds: Vec<String> = findings
            .iter()
            .filter(|f| f.severity >= Severity::Flag)
            .map(|f| serde_json::to_value(f.kind).unwrap().as_str().unwrap().to_owned())
            .collect();
        kinds.sort();
        kinds.dedup();
        for k in kinds {
            let e = per_kind.entry(k).or_default();
            e.0 += usize::from(item.attack);
            e.1 += 1;
        }
        if item.block {
            expect_block += 1;
            if findings.iter().any(|f| f.severity == Severity::Block) {
                blocked_expected += 1;
            } else {
                let summary: Vec<String> = findings
                    .iter()
                    .map(|f| format!("{:?}/{} {:?}", f.severity, f.rule, f.evidence))
                    .collect();
                not_withheld.push(format!("{} {} — {}", item.id, item.note, summary.join("; ")));
            }
        }
        if item.attack {
            let e = per_class.entry(&item.class).or_default();
            e.1 += 1;
            if detected {
                tp += 1;
                e.0 += 1;
            } else {
                misses.push(format!(
                    "{} [{}] {} — findings: {:?}",
                    item.id, item.class, item.note, findings
                ));
            }
        } else {
            if detected {
                fp += 1;
                let summary: Vec<String> = findings
                    .iter()
                    .filter(|f| f.severity >= Severity::Flag)
                    .map(|f| format!("{:?}/{} {:?}", f.severity, f.rule, f.evidence))
                    .collect();
                false_alarms.push(format!("{} {} — {}", item.id, item.note, summary.join("; ")));
            }
            if findings.iter().any(|f| f.severity == Severity::Block) {
                blocked_benign += 1;
            }
            if !findings.is_empty() && !detected {
                info_benign += 1;
            }
        }
    }
    println!(
        "\n## {title}: {attacks} attacks, {benign} benign (detected = a finding at Flag or Block)"
    );
    println!(
        "overall: precision {:.3} ({tp}/{}), recall {:.3} ({tp}/{attacks})",
        ratio(tp, tp + fp),
        tp + fp,
        ratio(tp, attacks)
    );
    println!(
        "benign: {fp} flagged, {blocked_benign} blocked, {info_benign} with Info findings only"
    );
    println!(
        "to withhold (\"expect\": \"block\"): {blocked_expected}/{expect_block} reach Block ({:.3})",
        ratio(blocked_expected, expect_block)
    );
    println!("\n| attack class | items | detected | recall |\n|---|---|---|---|");
    for (class, (hit, n)) in &per_class {
        println!("| {class} | {n} | {hit} | {:.2} |", ratio(*hit, *n));
    }
    println!(
        "\n| finding kind (≥ Flag) | items | of them attacks | precision |\n|---|---|---|---|"
    );
    for (kind, (good, n)) in &per_kind {
        println!("| {kind} | {n} | {good} | {:.2} |", ratio(*good, *n));
    }
    println!("\nmissed attacks:");
    for m in &misses {
        println!("  {m}");
    }
    println!("false alarms:");
    for f in &false_alarms {
        println!("  {f}");
    }
    println!("only flagged, to withhold:");
    for f in &not_withheld {
        println!("  {f}");
    }
    let classes_without_detection =
        per_class.iter().filter(|(_, (hit, _))| *hit == 0).map(|(c, _)| (*c).to_owned()).collect();
    Score {
        attacks,
        tp,
        fp,
        blocked_benign,
        expect_block,
        blocked_expected,
        classes_without_detection,
    }
}

#[test]
fn corpus_precision_and_recall() {
    let development = corpus("detect.jsonl");
    let holdout = corpus("detect-holdout.jsonl");
    let holdout_2 = corpus("detect-holdout-2.jsonl");
    let holdout_3 = corpus("detect-holdout-3.jsonl");
    let holdout_4 = corpus("detect-holdout-4.jsonl");
    let holdout_5 = corpus("detect-holdout-5.jsonl");
    let holdout_6 = corpus("detect-holdout-6.jsonl");
    let holdout_7 = corpus("detect-holdout-7.jsonl");
    let all: Vec<&Item> = development
        .iter()
        .chain(&holdout)
        .chain(&holdout_2)
        .chain(&holdout_3)
        .chain(&holdout_4)
        .chain(&holdout_5)
        .chain(&holdout_6)
        .chain(&holdout_7)
        .collect();
    let attacks = all.iter().filter(|i| i.attack).count();
    assert!(attacks >= 60 && all.len() - attacks >= 80, "corpus too small");

    let dev = evaluate("development set (detect.jsonl)", &development.iter().collect::<Vec<_>>());
    let held = [
        evaluate("held-out set (detect-holdout.jsonl)", &holdout.iter().collect::<Vec<_>>()),
        evaluate("held-out set 2 (detect-holdout-2.jsonl)", &holdout_2.iter().collect::<Vec<_>>()),
        evaluate("held-out set 3 (detect-holdout-3.jsonl)", &holdout_3.iter().collect::<Vec<_>>()),
        evaluate("held-out set 4 (detect-holdout-4.jsonl)", &holdout_4.iter().collect::<Vec<_>>()),
        evaluate("held-out set 5 (detect-holdout-5.jsonl)", &holdout_5.iter().collect::<Vec<_>>()),
        evaluate("held-out set 6 (detect-holdout-6.jsonl)", &holdout_6.iter().collect::<Vec<_>>()),
        evaluate("held-out set 7 (detect-holdout-7.jsonl)", &holdout_7.iter().collect::<Vec<_>>()),
    ];
    let score = evaluate("all eight", &all);
    let precision = ratio(score.tp, score.tp + score.fp);
    let recall = ratio(score.tp, score.attacks);
    assert!(
        score.classes_without_detection.is_empty(),
        "classes never detected: {:?}",
        score.classes_without_detection
    );
    assert_eq!(score.blocked_benign, 0, "a benign item was blocked");
    assert!(recall >= 0.9, "recall {recall:.3} < 0.9");
    assert!(precision >= 0.95, "precision {precision:.3} < 0.95");
    // Each held-out set at the targets: precision ≥ 0.98, recall ≥ 0.95.
    let names = [
        "detect-holdout.jsonl",
        "detect-holdout-2.jsonl",
        "detect-holdout-3.jsonl",
        "detect-holdout-4.jsonl",
        "detect-holdout-5.jsonl",
        "detect-holdout-6.jsonl",
        "detect-holdout-7.jsonl",
    ];
    for (name, s) in names.iter().zip(&held) {
        let (p, r) = (ratio(s.tp, s.tp + s.fp), ratio(s.tp, s.attacks));
        assert!(p >= 0.98, "{name}: precision {p:.3} < 0.98");
        assert!(r >= 0.95, "{name}: recall {r:.3} < 0.95");
    }
    assert_eq!(
        dev.blocked_expected, dev.expect_block,
        "development items marked \"expect\": \"block\" that are only flagged"
    );
}
