//! The tool lists of real, official MCP servers give no finding at `Flag` or above.
//!
//! The lists are those captured in `tests/fixtures/tools/` and `tests/corpus/tools/` (see their
//! READMEs); every one of them is an honest server, so any `Flag` or `Block` here is a false
//! positive.

use mcpfw::detect::{Severity, scan_tool, scan_tools};
use serde_json::Value;

fn fixtures() -> Vec<(String, Vec<Value>)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    let mut entries: Vec<_> = ["tests/fixtures/tools", "tests/corpus/tools"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(root.join(dir)).expect("fixtures dir").flatten())
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "json") {
            let tools: Vec<Value> =
                serde_json::from_str(&std::fs::read_to_string(&path).expect("readable"))
                    .expect("a JSON array");
            out.push((path.file_name().unwrap().to_string_lossy().into_owned(), tools));
        }
    }
    out
}

#[test]
fn official_servers_tool_lists_give_no_flag_or_block() {
    let lists = fixtures();
    assert!(lists.len() >= 9, "expected the captured fixtures");
    let mut total = 0;
    let mut info = 0;
    for (file, tools) in &lists {
        for (tool, findings) in tools.iter().zip(scan_tools(tools)) {
            total += 1;
            let name = tool["name"].as_str().unwrap_or("?");
            for f in &findings {
                println!(
                    "{file} {name}: {:?} {:?} {} at {} — {}",
                    f.severity, f.kind, f.rule, f.location, f.evidence
                );
            }
            info += findings.iter().filter(|f| f.severity == Severity::Info).count();
            let bad: Vec<_> = findings.iter().filter(|f| f.severity >= Severity::Flag).collect();
            assert!(bad.is_empty(), "{file} {name}: {bad:#?}");
            // Scanned alone, without knowing its siblings, a tool must be clean too.
            let alone: Vec<_> =
                scan_tool(tool).into_iter().filter(|f| f.severity >= Severity::Flag).collect();
            assert!(alone.is_empty(), "{file} {name} (alone): {alone:#?}");
        }
    }
    println!("{total} tools from {} servers: no Flag or Block, {info} Info findings", lists.len());
}

#[test]
fn ordinary_english_results_give_nothing() {
    let text = "The function returns the number of bytes written, or an error if the file cannot be opened. \
                Prices for fresh vegetables rose slightly, while dairy products remained stable. \
                You should check the tire pressure once a month and before long trips.\n\n"
        .repeat(200);
    let findings = mcpfw::detect::scan_result(
        &serde_json::json!({"content": [{"type": "text", "text": text}]}),
    );
    assert!(findings.is_empty(), "{findings:#?}");
}
