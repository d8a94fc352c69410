//! `mcpfw sandbox show [NAME]`: each server's box as it was at its last start — the effective
//! profile and what the machine could not give. `mcpfw sandbox allow NAME --read|--write PATH`:
//! a grant added to policy.toml for the server's next start.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::contain::{self, Effective, Kept};
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

/// `mcpfw sandbox allow NAME --read PATH | --write PATH [--force]`: adds the grant to
/// `[servers.NAME.sandbox]` in policy.toml, for the server's next start.
pub fn allow(
    paths: &Paths,
    name: &str,
    read: Option<&Path>,
    write: Option<&Path>,
    force: bool,
) -> Result<i32> {
    let (given, write) = match (read, write) {
        (Some(path), None) => (path, false),
        (None, Some(path)) => (path, true),
        _ => {
            eprintln!("give one path, with --read PATH or --write PATH");
            return Ok(2);
        }
    };
    let home = std::env::var_os("HOME").map(PathBuf::from);
    // What is written to policy.toml: `~/…` as typed, otherwise an absolute path.
    let (written, absolute) = match given.to_str().and_then(|p| p.strip_prefix("~/")) {
        Some(rest) => match &home {
            Some(home) => (format!("~/{rest}"), home.join(rest)),
            None => {
                eprintln!("`{}` starts with ~/, and HOME is not set", given.display());
                return Ok(2);
            }
        },
        None => {
            let absolute = if given.is_absolute() {
                given.to_path_buf()
            } else {
                std::env::current_dir()?.join(given)
            };
            let absolute = lexically_normal(&absolute);
            let Some(text) = absolute.to_str() else {
                eprintln!("`{}` is not UTF-8: policy.toml cannot name it", absolute.display());
                return Ok(2);
            };
            (text.to_owned(), absolute)
        }
    };
    let access = if write { "write" } else { "read" };
    match contain::kept_from_servers(&absolute, home.as_deref(), paths) {
        Some(Kept::Firewall(dir)) => {
            eprintln!(
                "not granted: {} is in MCP Firewall's own folder {}, which the box keeps from \
                 every server (its history, keys and the daemon's socket)",
                absolute.display(),
                dir.display()
            );
            return Ok(2);
        }
        Some(Kept::InsideSensitive { kind, location }) => {
            eprintln!(
                "not granted: {} is inside {}, a sensitive location ({kind}) that the box hides \
                 whole, so a grant of this path alone would not show it. If the server must have \
                 it, grant the whole location: `mcpfw sandbox allow {name} --{access} {} --force`",
                absolute.display(),
                location.display(),
                location.display()
            );
            return Ok(2);
        }
        Some(Kept::Sensitive { kind, location }) if !force => {
            eprintln!(
                "not granted: {} is a sensitive location ({kind}) that the box hides from every \
                 server. If `{name}` really needs it, run the same command with --force",
                location.display()
            );
            return Ok(2);
        }
        Some(Kept::Sensitive { kind, location }) => {
            eprintln!(
                "warning: granting {}, a sensitive location ({kind}), to `{name}` as you asked \
                 (--force): the box no longer hides it from this server",
                location.display()
            );
        }
        None => {}
    }
    let mut added = false;
    mcpfw_daemon::api::settings::save_with(paths, |text, file| {
        let edited =
            mcpfw_daemon::api::settings::edit_sandbox_grant(text, file, name, write, &written)?;
        added = edited.is_some();
        Ok(edited.unwrap_or_else(|| text.to_owned()))
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let policy = crate::policy::file::policy_path(paths);
    if added {
        println!(
            "added {written} to `{access}` under [servers.{name}.sandbox] in {}",
            policy.display()
        );
    } else {
        println!(
            "{written} is already in `{access}` under [servers.{name}.sandbox] in {}",
            policy.display()
        );
    }
    println!(
        "It takes effect when `{name}` next starts (restart it from its client): the box of a \
         running server cannot be widened."
    );
    if !absolute.exists() {
        println!(
            "note: {} does not exist yet; the box grants a path only if it exists when the \
             server starts",
            absolute.display()
        );
    }
    if !contain::load_effective(paths).iter().any(|e| e.profile.server == name) {
        println!(
            "note: no start of `{name}` is recorded yet; check the name with `mcpfw sandbox show`"
        );
    }
    Ok(0)
}

/// `path` without `.` and `..` (nothing is looked up).
fn lexically_normal(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}
