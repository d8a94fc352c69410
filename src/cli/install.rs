//! `mcpfw install`, `mcpfw uninstall` and `mcpfw status` (see [`crate::install`]).

use std::path::Path;

use anyhow::{Context, Result};

use super::InstallArgs;
use crate::clients::Places;
use crate::install::{self, Outcome, Protection};
use crate::paths::Paths;
use crate::store::wire::ServerPackage;

pub fn install(paths: &Paths, args: InstallArgs) -> Result<i32> {
    let selected = install::select_clients(&args.clients)?;
    let places = Places::from_env(args.project.as_deref())?;
    let firewall = install::current_firewall()?;
    let outcome = install::Install {
        paths,
        places: &places,
        clients: &selected,
        firewall: &firewall,
        dry_run: args.dry_run,
        router: Some(&install::remote::ProxyRegistry(paths)),
        pin: args.pin.then_some(&crate::package::CachePinner as &dyn install::Pinner),
    }
    .run()?;
    let code = print(&outcome, args.dry_run, "mcpfw install");
    if outcome.files.iter().any(|f| f.routed) && !args.dry_run && !daemon_running(paths) {
        eprintln!("mcpfw: {PROXY_NEEDS_DAEMON}");
    }
    Ok(code)
}

const PROXY_NEEDS_DAEMON: &str = "MCP Firewall's daemon is not running, so the HTTP servers \
     routed through its proxy cannot be reached: start `mcpfw daemon` or the desktop app";

fn daemon_running(paths: &Paths) -> bool {
    mcpfw_core::platform::channel::connect(&crate::approval::socket_path(paths)).is_ok()
}

pub fn uninstall(paths: &Paths, clients: &[String], dry_run: bool) -> Result<i32> {
    let selected = install::select_clients(clients)?;
    let outcome = install::uninstall(
        paths,
        &selected,
        dry_run,
        Some(&install::remote::ProxyRegistry(paths)),
    )?;
    if outcome.files.is_empty() && outcome.errors.is_empty() {
        println!("nothing to uninstall: mcpfw install has not changed any file of these clients");
    }
    Ok(print(&outcome, dry_run, "mcpfw uninstall"))
}

/// Prints what was done per file (and the diffs in a dry run); 1 when a file was refused.
fn print(outcome: &Outcome, dry_run: bool, what: &str) -> i32 {
    let mut changed = 0;
    for file in &outcome.files {
        println!("{}: {}", file.client, file.file.display());
        for note in &file.notes {
            println!("  {note}");
        }
        if file.changed() {
            changed += 1;
            if dry_run {
                print!("{}", file.diff());
            } else if let Some(backup) = &file.backup {
                println!("  (the previous file is kept in {})", backup.display());
            }
        }
    }
    for error in &outcome.errors {
        eprintln!("mcpfw: {error}");
    }
    match (dry_run, changed) {
        (true, 0) => println!("{what} --dry-run: nothing would change"),
        (true, n) => println!("{what} --dry-run: {n} file(s) would change; nothing was written"),
        (false, 0) => println!("{what}: nothing to change"),
        (false, n) => println!("{what}: {n} file(s) changed"),
    }
    if outcome.errors.is_empty() { 0 } else { 1 }
}

pub fn status(
    paths: &Paths,
    clients: &[String],
    project: Option<&Path>,
    json: bool,
) -> Result<i32> {
    let selected = install::select_clients(clients)?;
    let places = Places::from_env(project)?;
    let (mut entries, mut errors) = install::status(paths, &places, &selected)?;
    match package_pins(paths) {
        Ok(pins) => install::with_packages(&mut entries, &pins),
        Err(e) => errors.push(format!("the servers' packages cannot be shown: {e:#}")),
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&entries)?);
    } else if entries.is_empty() {
        println!("no MCP servers are configured for {}", selected.join(", "));
    } else {
        let mut file = None;
        for entry in &entries {
            if file != Some((&entry.client, &entry.file)) {
                file = Some((&entry.client, &entry.file));
                println!("{}: {}", entry.client, entry.file.display());
            }
            let state = match entry.state {
                Protection::Wrapped => "wrapped",
                Protection::Bridged => "bridged",
                Protection::Unprotected => "UNPROTECTED",
                Protection::Changed => "CHANGED since install",
            };
            let project =
                entry.project.as_ref().map_or(String::new(), |p| format!(" (project {p})"));
            println!(
                "  {:<24} {:<22} {}",
                format!("{}{project}", entry.server),
                state,
                entry.detail
            );
            if let Some(package) = &entry.package {
                for line in package_lines(&entry.server, package) {
                    println!("      {}", crate::text::visible(&line));
                }
            }
        }
    }
    if !json {
        print_next_step(&entries);
    }
    #[cfg(target_os = "linux")]
    if !json {
        print_boxes(paths);
    }
    if !json && let Some(org) = super::org::summary(&crate::org::status(paths)) {
        println!("\n{org}");
    }
    for error in &errors {
        eprintln!("mcpfw: {error}");
    }
    let bridged = entries.iter().any(|e| e.state == Protection::Bridged);
    if bridged && !daemon_running(paths) {
        eprintln!("mcpfw: {PROXY_NEEDS_DAEMON}");
    }
    Ok(if errors.is_empty() { 0 } else { 1 })
}

/// What to do about unprotected servers: the two commands that protect them, and that the
/// clients read their configuration only when they start.
fn print_next_step(entries: &[install::EntryStatus]) {
    let unprotected: Vec<&install::EntryStatus> =
        entries.iter().filter(|e| e.state == Protection::Unprotected).collect();
    if unprotected.is_empty() {
        return;
    }
    let mut clients: Vec<&str> = unprotected.iter().map(|e| e.client.as_str()).collect();
    clients.dedup();
    let flags: String = clients.iter().map(|c| format!(" --client {c}")).collect();
    let servers = if unprotected.len() == 1 { "server is" } else { "servers are" };
    println!(
        "\n{} {servers} not protected. To protect them:\n  mcpfw install{flags} --dry-run   \
         # see the change to each file first\n  mcpfw install{flags}             # then restart \
         {} (clients read their configuration when they start)",
        unprotected.len(),
        clients.join(", ")
    );
}

/// Every server's package pin in the history (none when there is no history yet).
fn package_pins(paths: &Paths) -> Result<Vec<crate::store::packages::PackagePin>> {
    let db = crate::store::db_path(paths);
    if !db.exists() {
        return Ok(Vec::new());
    }
    let (key, _) = crate::store::load_or_create_chain_key(paths)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        let store = crate::store::Store::open(&db, key)
            .await
            .with_context(|| format!("cannot open {}", db.display()))?;
        let pins = store.package_pins(None).await;
        store.close().await;
        Ok(pins?)
    })
}

/// A wrapped entry's package for `mcpfw status`: what it runs, and a change waiting.
fn package_lines(server: &str, p: &ServerPackage) -> Vec<String> {
    let version =
        |resolved: &Option<String>| resolved.as_deref().unwrap_or("(no version)").to_owned();
    let integrity = |i: &Option<String>| {
        i.as_deref().map_or_else(
            || "no integrity".to_owned(),
            |i| i.chars().take(23).collect::<String>() + "…",
        )
    };
    let asked = |requested: &Option<String>, pinned: bool| {
        let spec = requested.as_deref().unwrap_or("no version");
        if pinned {
            format!("asked for {spec}, pinned")
        } else {
            format!("asked for {spec}, NOT pinned")
        }
    };
    // A file (a script, a program) has no version or spec: its hash is what is pinned.
    let file = p.ecosystem == "file";
    let mut lines = vec![if file {
        format!("package file {} ({}) · {}", p.name, integrity(&p.integrity), p.status)
    } else {
        format!(
            "package {} {} {} ({}; {}) · {}",
            p.ecosystem,
            p.name,
            version(&p.resolved),
            asked(&p.requested, p.pinned),
            integrity(&p.integrity),
            p.status
        )
    }];
    if let Some(change) = &p.change {
        let what = if p.status == "blocked" { "BLOCKED" } else { "CHANGED — review" };
        let now = if file {
            change.name.clone()
        } else {
            format!("{} {}", change.name, version(&change.resolved))
        };
        lines.push(format!(
            "package {what}: now {now} ({}); its tools are withheld: `mcpfw tools package {server}`, \
             then `mcpfw tools trust {server} --package` or `mcpfw tools block {server} --package`",
            integrity(&change.integrity),
        ));
    }
    lines
}

/// Each wrapped server's box as it last started (what `mcpfw sandbox show NAME` details).
#[cfg(target_os = "linux")]
fn print_boxes(paths: &Paths) {
    let boxes = crate::contain::load_effective(paths);
    if boxes.is_empty() {
        return;
    }
    println!("sandbox (each wrapped server's last start; details: mcpfw sandbox show NAME):");
    for effective in &boxes {
        let mode = effective.profile.mode.as_str();
        let gaps = if effective.report.missing.is_empty() { "" } else { "  MISSING protections" };
        println!(
            "  {:<24} {:<8} {}{gaps}",
            effective.profile.server,
            mode,
            effective.report.summary()
        );
    }
}
