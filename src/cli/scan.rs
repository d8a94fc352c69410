//! `mcpfw scan [--json] [--client NAME]... [-- COMMAND...]`.

use std::time::Duration;

use anyhow::Result;
use serde_json::{Value, json};

use crate::clients::{self, Launch};
use crate::paths::Paths;
use crate::scan::{self, Report, Target};
use crate::store::{self, Store, pins::Pin};

pub fn run(
    paths: &Paths,
    client_names: &[String],
    as_json: bool,
    timeout: u64,
    command: Vec<String>,
) -> Result<i32> {
    let mut targets = Vec::new();
    let mut skipped = Vec::new();
    if command.is_empty() {
        let places = clients::Places::from_env(None)?;
        let names: Vec<String> = if client_names.is_empty() {
            clients::CLIENTS.iter().map(|c| (*c).to_owned()).collect()
        } else {
            client_names.to_vec()
        };
        for client in &names {
            for entry in clients::servers(client, &places)? {
                let source = format!("{client}: {}", entry.file.display());
                match entry.launch {
                    Launch::Stdio { command, env } => {
                        targets.push(Target { name: entry.name, source, command, env })
                    }
                    Launch::Remote { url } => skipped.push((entry.name, source, url)),
                }
            }
        }
    } else {
        let os: Vec<std::ffi::OsString> = command.iter().map(Into::into).collect();
        let name = crate::launch::default_server_name(&os);
        targets.push(Target {
            name,
            source: "command line".to_owned(),
            command,
            env: Default::default(),
        });
    }

    let pins = read_pins(paths);
    let timeout = Duration::from_secs(timeout.max(1));
    let mut code = 0;
    if targets.is_empty() && skipped.is_empty() && !as_json {
        println!("no MCP servers are configured in {}", clients::CLIENTS.join(", "));
    }
    for target in &targets {
        let mut report = scan::scan(target, timeout);
        audit(&mut report, &pins);
        if report.error.is_some() {
            code = 2;
        } else if report.flagged() && code == 0 {
            code = 1;
        }
        if as_json {
            println!("{}", serde_json::to_string(&report)?);
        } else {
            print!("{}", crate::text::visible(&describe(&report)));
        }
    }
    for (name, source, url) in &skipped {
        if as_json {
            println!(
                "{}",
                json!({"server": name, "source": source, "url": url, "error": "remote servers are not scanned yet"})
            );
        } else {
            println!("{name} ({source}): {url} — remote servers are not scanned yet\n");
        }
    }
    Ok(code)
}

/// The history's pins, read-only; none when there is no history yet.
fn read_pins(paths: &Paths) -> Vec<Pin> {
    let db = store::db_path(paths);
    if !db.exists() {
        return Vec::new();
    }
    let read = || -> Result<Vec<Pin>> {
        let (key, _) = store::load_or_create_chain_key(paths)?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(async {
            let store = Store::open(&db, key).await?;
            let pins = store.pins(None).await;
            store.close().await;
            pins
        })
    };
    read().unwrap_or_else(|e| {
        tracing::warn!("pins could not be read, so they are not compared: {e:#}");
        Vec::new()
    })
}

/// Adds the findings and each tool's pin status to a report.
fn audit(report: &mut Report, pins: &[Pin]) {
    for tool in &report.tools {
        let Some(name) = tool.get("name").and_then(Value::as_str) else { continue };
        let status = match pins.iter().find(|p| p.server == report.server && p.name == name) {
            None => "new",
            Some(pin) => {
                let digest = store::pins::canonical(&tool.to_string()).map(|(_, d)| d);
                match digest {
                    Some(d) if d == pin.digest => "pinned",
                    Some(d)
                        if pin.status == "blocked" && pin.pending_digest.as_deref() == Some(&d) =>
                    {
                        "blocked"
                    }
                    _ => "changed",
                }
            }
        };
        report.pins.insert(name.to_owned(), status.to_owned());
    }
    report.findings = findings(report);
}

/// The detector's findings (Flag and above) on everything the server offered.
fn findings(report: &Report) -> Vec<Value> {
    use crate::screen::recorded;
    let mut out = Vec::new();
    if let Some(instructions) = &report.instructions {
        out.extend(recorded(&crate::detect::scan_instructions(instructions), "instructions"));
    }
    let name = |item: &Value| item.get("name").and_then(Value::as_str).unwrap_or("?").to_owned();
    for (tool, found) in report.tools.iter().zip(crate::detect::scan_tools(&report.tools)) {
        out.extend(recorded(&found, &format!("tool {}", name(tool))));
    }
    for prompt in &report.prompts {
        out.extend(recorded(
            &crate::detect::scan_prompt(prompt),
            &format!("prompt {}", name(prompt)),
        ));
        if let Some(command) = crate::detect::slash_command_collision(&name(prompt)) {
            out.push(json!({"kind": "slash-command-collision", "severity": "flag",
                "where": format!("prompt {}", name(prompt)), "evidence": command}));
        }
    }
    for resource in &report.resources {
        out.extend(recorded(
            &crate::detect::scan_resource(resource),
            &format!("resource {}", name(resource)),
        ));
    }
    out
}

/// A report for a person.
fn describe(report: &Report) -> String {
    let mut out = String::new();
    let info = report
        .server_info
        .as_ref()
        .map(|i| {
            format!(
                " — {} {}",
                i["name"].as_str().unwrap_or("?"),
                i["version"].as_str().unwrap_or("")
            )
        })
        .unwrap_or_default();
    out.push_str(&format!("{} ({}){info}\n", report.server, report.source));
    if let Some(error) = &report.error {
        out.push_str(&format!("  could not be scanned: {error}\n\n"));
        return out;
    }
    out.push_str(&format!(
        "  {} tools, {} prompts, {} resources\n",
        report.tools.len(),
        report.prompts.len(),
        report.resources.len()
    ));
    for (tool, status) in &report.pins {
        match status.as_str() {
            "changed" => out.push_str(&format!(
                "  ✗ {tool}: changed since it was pinned (`mcpfw wrap` withholds it until you review it)\n"
            )),
            "blocked" => out.push_str(&format!("  ✗ {tool}: a change you blocked\n")),
            _ => {}
        }
    }
    for finding in &report.findings {
        out.push_str(&format!(
            "  ✗ {} [{}] in {}: {}\n",
            finding["kind"].as_str().unwrap_or("?"),
            finding["severity"].as_str().unwrap_or("?"),
            finding["where"].as_str().unwrap_or("?"),
            finding["evidence"].as_str().unwrap_or("")
        ));
    }
    if !report.flagged() {
        out.push_str("  ✓ nothing found\n");
    }
    out.push('\n');
    out
}
