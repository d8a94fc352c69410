//! The MCP clients on this machine and the servers their configuration files start.
//!
//! Read-only here: `mcpfw scan --client NAME` audits what a client would start. Each client keeps
//! its servers in a JSON file in a shape of its own:
//!
//! | client | file (Linux) | key |
//! |---|---|---|
//! | `claude-desktop` | `~/.config/Claude/claude_desktop_config.json` | `mcpServers` |
//! | `claude-code` | `~/.claude.json` (also `projects.*.mcpServers`), `./.mcp.json` | `mcpServers` |
//! | `cursor` | `~/.cursor/mcp.json`, `./.cursor/mcp.json` | `mcpServers` |
//! | `vscode` | `~/.config/Code/User/mcp.json`, `./.vscode/mcp.json` | `servers` |
//!
//! An entry is a stdio server (`command`, `args`, `env`) or a remote one (`url`). An entry that
//! already runs through `mcpfw wrap` is reported with the command it wraps.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// The clients MCP Firewall knows.
pub const CLIENTS: [&str; 4] = ["claude-desktop", "claude-code", "cursor", "vscode"];

/// One server entry of a client's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerEntry {
    pub client: String,
    /// The entry's name (its key in the file).
    pub name: String,
    /// The file it is in.
    pub file: PathBuf,
    pub launch: Launch,
    /// Whether the entry already runs through `mcpfw wrap`.
    pub wrapped: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Launch {
    Stdio { command: Vec<String>, env: BTreeMap<String, String> },
    Remote { url: String },
}

/// The configuration files of `client`, for a user whose home is `home`, working in `cwd`.
pub fn config_files(client: &str, home: &Path, cwd: &Path) -> Result<Vec<PathBuf>> {
    Ok(match client {
        "claude-desktop" => vec![home.join(".config/Claude/claude_desktop_config.json")],
        "claude-code" => vec![home.join(".claude.json"), cwd.join(".mcp.json")],
        "cursor" => vec![home.join(".cursor/mcp.json"), cwd.join(".cursor/mcp.json")],
        "vscode" => vec![home.join(".config/Code/User/mcp.json"), cwd.join(".vscode/mcp.json")],
        other => bail!("unknown client {other:?}; known clients: {}", CLIENTS.join(", ")),
    })
}

/// Every server entry of `client` (files that do not exist are skipped).
pub fn servers(client: &str, home: &Path, cwd: &Path) -> Result<Vec<ServerEntry>> {
    let mut out = Vec::new();
    for file in config_files(client, home, cwd)? {
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
        };
        let config: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not valid JSON", file.display()))?;
        let key = if client == "vscode" { "servers" } else { "mcpServers" };
        let mut tables = vec![&config[key]];
        if client == "claude-code"
            && let Some(projects) = config["projects"].as_object()
        {
            tables.extend(projects.values().map(|p| &p["mcpServers"]));
        }
        for table in tables {
            let Some(entries) = table.as_object() else { continue };
            for (name, entry) in entries {
                if let Some(server) = entry_of(client, name, &file, entry) {
                    out.push(server);
                }
            }
        }
    }
    Ok(out)
}

fn entry_of(client: &str, name: &str, file: &Path, entry: &Value) -> Option<ServerEntry> {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    let launch = if let Some(command) = entry["command"].as_str() {
        let mut command: Vec<String> =
            std::iter::once(command.to_owned()).chain(strings(&entry["args"])).collect();
        let env = entry["env"]
            .as_object()
            .map(|m| {
                m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect()
            })
            .unwrap_or_default();
        let wrapped = unwrap_firewall(&mut command);
        return Some(ServerEntry {
            client: client.to_owned(),
            name: name.to_owned(),
            file: file.to_owned(),
            launch: Launch::Stdio { command, env },
            wrapped,
        });
    } else {
        Launch::Remote { url: entry["url"].as_str()?.to_owned() }
    };
    Some(ServerEntry {
        client: client.to_owned(),
        name: name.to_owned(),
        file: file.to_owned(),
        launch,
        wrapped: false,
    })
}

/// `mcpfw wrap [options] -- CMD…` becomes `CMD…`; says whether it was wrapped.
fn unwrap_firewall(command: &mut Vec<String>) -> bool {
    let is_firewall = Path::new(&command[0]).file_name().is_some_and(|f| f == "mcpfw");
    if !is_firewall || command.get(1).map(String::as_str) != Some("wrap") {
        return false;
    }
    match command.iter().position(|a| a == "--") {
        Some(dash) if dash + 1 < command.len() => {
            command.drain(..=dash);
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_clients_shape_and_sees_through_wrapping() {
        let home = tempfile::tempdir().unwrap();
        let cwd = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(home.path().join(".cursor")).unwrap();
        std::fs::write(
            home.path().join(".cursor/mcp.json"),
            r#"{"mcpServers": {"fs": {"command": "npx", "args": ["-y", "server-filesystem", "/tmp"], "env": {"A": "1"}},
                "remote": {"url": "https://example.com/mcp"},
                "guarded": {"command": "/usr/bin/mcpfw", "args": ["wrap", "--name", "g", "--", "uvx", "mcp-server-git"]}}}"#,
        )
        .unwrap();
        std::fs::create_dir_all(cwd.path().join(".vscode")).unwrap();
        std::fs::write(
            cwd.path().join(".vscode/mcp.json"),
            r#"{"servers": {"mem": {"type": "stdio", "command": "node", "args": ["mem.js"]}}, "inputs": []}"#,
        )
        .unwrap();
        let cursor = servers("cursor", home.path(), cwd.path()).unwrap();
        assert_eq!(cursor.len(), 3);
        let fs = cursor.iter().find(|s| s.name == "fs").unwrap();
        assert!(
            matches!(&fs.launch, Launch::Stdio { command, env } if command[0] == "npx" && env["A"] == "1")
        );
        let guarded = cursor.iter().find(|s| s.name == "guarded").unwrap();
        assert!(guarded.wrapped);
        assert!(
            matches!(&guarded.launch, Launch::Stdio { command, .. } if command == &["uvx", "mcp-server-git"])
        );
        assert!(matches!(
            &cursor.iter().find(|s| s.name == "remote").unwrap().launch,
            Launch::Remote { .. }
        ));
        let vscode = servers("vscode", home.path(), cwd.path()).unwrap();
        assert_eq!(vscode[0].name, "mem");
        assert!(servers("claude-code", home.path(), cwd.path()).unwrap().is_empty());
        assert!(servers("emacs", home.path(), cwd.path()).is_err());
    }
}
