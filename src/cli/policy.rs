//! `mcpfw policy check`.

use std::path::PathBuf;

use anyhow::Result;

use crate::paths::Paths;
use crate::policy::file::{PolicyFile, Unattended};

pub use crate::policy::file::policy_path;

/// Checks the file; prints what it found. Returns the exit code.
pub fn check(paths: &Paths, file: Option<PathBuf>) -> Result<i32> {
    let path = file.unwrap_or_else(|| policy_path(paths));
    if !path.exists() {
        println!("{}: no policy file; the built-in defaults apply", path.display());
        return Ok(0);
    }
    match PolicyFile::load(&path) {
        Ok(policy) => {
            let unattended = match policy.settings.unattended {
                Unattended::Deny => "refused",
                Unattended::Allow => "allowed",
            };
            println!(
                "{}: OK ({} rules, {} limits, {} servers configured; calls that need approval are {} when nobody can approve)",
                path.display(),
                policy.rules.len(),
                policy.limits.len(),
                policy.servers.len(),
                unattended
            );
            Ok(0)
        }
        Err(e) => {
            eprintln!("{e}");
            Ok(1)
        }
    }
}
