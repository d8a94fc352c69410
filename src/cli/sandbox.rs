//! `mcpfw sandbox show [NAME]`: each server's box as it was at its last start — the effective
//! profile and what the machine could not give.

use anyhow::Result;

use crate::contain::{self, Effective};
use crate::paths::Paths;

pub fn show(paths: &Paths, name: Option<&str>, json: bool) -> Result<i32> {
    let all: Vec<Effective> = contain::load_effective(paths)
        .into_iter()
        .filter(|e| name.is_none_or(|n| e.profile.server == n))
        .collect();
    if json {
        for effective in &all {
            println!("{}", serde_json::to_string(effective)?);
        }
        return Ok(0);
    }
    if all.is_empty() {
        match name {
            Some(n) => println!(
                "no start of `{n}` recorded yet: its box is drawn when `mcpfw wrap --name {n}` runs"
            ),
            None => println!("no server has been started through `mcpfw wrap` yet"),
        }
        return Ok(if name.is_some() { 1 } else { 0 });
    }
    for effective in &all {
        print_one(effective);
    }
    Ok(0)
}

fn print_one(effective: &Effective) {
    let (profile, report) = (&effective.profile, &effective.report);
    let started = humantime::format_rfc3339_seconds(
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(effective.started_ms),
    );
    println!("{}  (mode {}, last start {started})", profile.server, profile.mode.as_str());
    println!(
        "  mechanisms  namespaces {}, Landlock ABI {}, seccomp {}{}",
        if report.namespaces { "on" } else { "off" },
        report.landlock_abi,
        if report.seccomp { "on" } else { "off" },
        if report.refused { " — REFUSED TO START" } else { "" }
    );
    if let Some(us) = report.setup_us {
        println!("  start-up    the box was ready in {:.1} ms", us as f64 / 1000.0);
    }
    for missing in &report.missing {
        println!("  MISSING     {missing}");
    }
    if let Some(error) = &report.error {
        println!("  ERROR       {error}");
    }
    let list = |label: &str, paths: &[std::path::PathBuf]| {
        for (i, path) in paths.iter().enumerate() {
            println!("  {:<11} {}", if i == 0 { label } else { "" }, path.display());
        }
    };
    list("write", &profile.write);
    if let Some(temp) = &profile.temp {
        println!("  {:<11} {} (private)", "temp", temp.display());
    }
    list("read", &profile.read);
    list("hidden", &profile.deny);
    match report.proxy_port {
        Some(port) => println!(
            "  network     only through the egress proxy (127.0.0.1:{port} in the box); allowed hosts: {}",
            if profile.allow_hosts.is_empty() {
                "none listed (asked)".to_owned()
            } else {
                profile.allow_hosts.join(", ")
            }
        ),
        None => println!("  network     none"),
    }
    for note in &report.notes {
        println!("  note        {note}");
    }
    println!();
}
