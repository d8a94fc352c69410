//! `mcpfw daemon --install-unit`: a systemd user unit that runs `mcpfw daemon` at login and
//! restarts it when it fails (docs/cli.md).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The unit's text for the program at `exe`; `home` (`MCPFW_HOME` at install time) is passed on.
pub fn unit_text(exe: &Path, home: Option<&Path>) -> String {
    let mut text = String::from(
        "[Unit]\n\
         Description=MCP Firewall daemon (approvals, dashboard, HTTP proxy)\n\
         Documentation=man:systemd.service(5)\n\
         \n\
         [Service]\n\
         Type=simple\n",
    );
    text.push_str(&format!("ExecStart={} daemon\n", quote(&exe.display().to_string())));
    if let Some(home) = home {
        text.push_str(&format!(
            "Environment={}\n",
            quote(&format!("MCPFW_HOME={}", home.display()))
        ));
    }
    text.push_str(
        "Restart=on-failure\n\
         RestartSec=5\n\
         \n\
         [Install]\n\
         WantedBy=default.target\n",
    );
    text
}

/// A word for a unit file: `%` doubled (specifiers), quoted when it holds spaces, quotes or
/// backslashes (escaped inside).
fn quote(word: &str) -> String {
    let word = word.replace('%', "%%");
    if word.chars().any(|c| c.is_whitespace() || c == '"' || c == '\\' || c == '\'') {
        format!("\"{}\"", word.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        word
    }
}

/// Where systemd looks for the user's units: `$XDG_CONFIG_HOME/systemd/user`, else
/// `~/.config/systemd/user`.
pub fn unit_path() -> Result<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .context(
            "neither XDG_CONFIG_HOME nor HOME is set, so the user's systemd folder is unknown",
        )?;
    Ok(config.join("systemd/user/mcpfw.service"))
}

pub fn install_unit() -> Result<i32> {
    let exe = std::env::current_exe().context("cannot tell where this program is")?;
    let home = std::env::var_os("MCPFW_HOME").map(PathBuf::from);
    let path = unit_path()?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(&path, unit_text(&exe, home.as_deref()))
        .with_context(|| format!("cannot write {}", path.display()))?;
    println!("wrote {}", path.display());
    println!("start it now and at every login with:");
    println!("  systemctl --user daemon-reload && systemctl --user enable --now mcpfw.service");
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_unit_runs_the_daemon_and_quotes_what_needs_it() {
        let text = unit_text(Path::new("/usr/bin/mcpfw"), None);
        assert!(text.contains("\nExecStart=/usr/bin/mcpfw daemon\n"), "{text}");
        assert!(text.contains("\nWantedBy=default.target\n"), "{text}");
        assert!(!text.contains("Environment"), "{text}");
        let text = unit_text(Path::new("/opt/my apps/mcpfw"), Some(Path::new("/home/a/100% fw")));
        assert!(text.contains("ExecStart=\"/opt/my apps/mcpfw\" daemon\n"), "{text}");
        assert!(text.contains("Environment=\"MCPFW_HOME=/home/a/100%% fw\"\n"), "{text}");
    }

    /// The .deb and .rpm carry `packaging/mcpfw.service` as the system-wide user unit: it must be
    /// the unit `--install-unit` would write for the packaged program.
    #[test]
    fn the_packaged_unit_is_the_one_install_unit_writes() {
        let packaged = include_str!("../../packaging/mcpfw.service");
        assert_eq!(packaged, unit_text(Path::new("/usr/bin/mcpfw"), None));
    }
}
