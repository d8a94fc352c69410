//! The detector against the labelled corpus in `tests/corpus/detect.jsonl`.
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
}

fn corpus() -> Vec<Item> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/detect.jsonl");
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

#[test]
fn corpus_precision_and_recall() {
    let items = corpus();
    let attacks = items.iter().filter(|i| i.attack).count();
    let benign = items.len() - attacks;
    assert!(attacks >= 60 && benign >= 80, "corpus too small: {attacks} attacks, {benign} benign");

    let (mut tp, mut fp, mut blocked_benign, mut info_benign) = (0, 0, 0, 0);
    let mut per_class: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    // kind → (items it flagged that are attacks, items it flagged)
    let mut per_kind: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut misses = Vec::new();
    let mut false_alarms = Vec::new();
    for item in &items {
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
    let precision = ratio(tp, tp + fp);
    let recall = ratio(tp, attacks);
    println!(
        "\ncorpus: {attacks} attacks, {benign} benign (detected = a finding at Flag or Block)"
    );
    println!(
        "overall: precision {precision:.3} ({tp}/{}), recall {recall:.3} ({tp}/{attacks})",
        tp + fp
    );
    println!(
        "benign: {fp} flagged, {blocked_benign} blocked, {info_benign} with Info findings only"
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

    for (class, (hit, _)) in &per_class {
        assert!(*hit > 0, "no detection at all in attack class {class}");
    }
    assert_eq!(blocked_benign, 0, "a benign item was blocked");
    assert!(recall >= 0.9, "recall {recall:.3} < 0.9");
    assert!(precision >= 0.95, "precision {precision:.3} < 0.95");
}
