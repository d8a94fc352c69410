//! The MCP clients on this machine, their configuration files and the servers those start.
//!
//! `mcpfw scan` audits what a client would start; `mcpfw install` rewrites the entries (see
//! `install/`). Each client keeps its servers in a JSON file (TOML for Codex CLI, see
//! [`crate::tomlc`]; YAML for Continue and Goose, see [`crate::yamlc`]) in a shape of its own;
//! the documentation each row was checked against is named at [`config_files`]:
//!
//! | client | files | servers at |
//! |---|---|---|
//! | `claude-desktop` | `<config>/Claude/claude_desktop_config.json` | `mcpServers` |
//! | `claude-code` | `~/.claude.json`, `<project>/.mcp.json` | `mcpServers`, and in `~/.claude.json` also `projects.<dir>.mcpServers` |
//! | `cursor` | `~/.cursor/mcp.json`, `<project>/.cursor/mcp.json` | `mcpServers` |
//! | `vscode` | `<config>/Code/User/mcp.json` (also `Code - Insiders`), `<project>/.vscode/mcp.json` | `servers` (JSON with comments) |
//! | `windsurf` | `~/.codeium/windsurf/mcp_config.json` | `mcpServers` |
//! | `gemini` | `~/.gemini/settings.json`, `<project>/.gemini/settings.json` (Gemini CLI) | `mcpServers` |
//! | `codex` | `$CODEX_HOME/config.toml` (default `~/.codex/config.toml`), `<project>/.codex/config.toml` (OpenAI Codex CLI; TOML) | `[mcp_servers.NAME]` |
//! | `zed` | `~/.config/zed/settings.json` (Linux: `<config>/zed`; Windows: `%APPDATA%\Zed`), `<project>/.zed/settings.json` (JSON with comments) | `context_servers` |
//! | `cline` | `<config>/Code/User/globalStorage/saoudrizwan.claude-dev/settings/cline_mcp_settings.json`, `~/.cline/data/settings/cline_mcp_settings.json` (Cline CLI) | `mcpServers` |
//! | `roo-code` | `<config>/Code/User/globalStorage/rooveterinaryinc.roo-cline/settings/mcp_settings.json`, `<project>/.roo/mcp.json` | `mcpServers` |
//! | `lm-studio` | `~/.lmstudio/mcp.json` | `mcpServers` |
//! | `continue` | `~/.continue/config.yaml`; block files `.continue/mcpServers/*.yaml`, `*.json` in the home folder and the project | `mcpServers` (a list in YAML, a map in JSON) |
//! | `goose` | `~/.config/goose/config.yaml` (Windows: `%APPDATA%\Block\goose\config\config.yaml`) | `extensions` (`type: stdio`, `cmd`, `args`, `envs`) |
//! | `junie` | `~/.junie/mcp/mcp.json`, `<project>/.junie/mcp/mcp.json` (JetBrains Junie) | `mcpServers` |
//! | `warp` | `~/.warp/.mcp.json`, `<project>/.warp/.mcp.json` (Warp) | `mcpServers` |
//!
//! YAML files are read with [`crate::yamlc`], and their stdio entries edited line by line
//! (checked by parsing the result).
//!
//! `<config>` is the platform's configuration folder (`directories::BaseDirs::config_dir`:
//! `~/.config` on Linux, `~/Library/Application Support` on macOS, `%APPDATA%` on Windows).
//! An entry is a stdio server (`command`, `args`, `env`) or a remote one (`url`; Windsurf's
//! `serverUrl`; Gemini CLI's `httpUrl`, or `url` for its SSE servers). Zed's older entries nest the command:
//! `{"command": {"path": …, "args": […], "env": {…}}}`. An entry that already runs through
//! `mcpfw wrap` is reported with the command it wraps.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::jsonc::{self, Node};

/// The clients MCP Firewall knows.
pub const CLIENTS: [&str; 15] = [
    "claude-desktop",
    "claude-code",
    "cursor",
    "vscode",
    "windsurf",
    "gemini",
    "codex",
    "zed",
    "cline",
    "roo-code",
    "lm-studio",
    "continue",
    "goose",
    "junie",
    "warp",
];

/// Where to look for configuration files: the user's home and configuration folders, and the
/// project whose project-scope files count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Places {
    pub home: PathBuf,
    /// The platform's configuration folder (`~/.config` on Linux).
    pub config_dir: PathBuf,
    /// The project folder (`.mcp.json`, `.cursor/mcp.json`, `.vscode/mcp.json`).
    pub project: PathBuf,
    /// Codex CLI's folder: `$CODEX_HOME`, else `~/.codex`.
    pub codex_home: PathBuf,
}

impl Places {
    /// This user's folders (from `directories`) and `project`, or the current folder.
    pub fn from_env(project: Option<&Path>) -> Result<Self> {
        let base = directories::BaseDirs::new().ok_or(ConfigError::NoHome)?;
        let project = match project {
            Some(p) => std::path::absolute(p).map_err(|source| ConfigError::Io {
                what: format!("cannot use the project folder {}", p.display()),
                source,
            })?,
            None => std::env::current_dir().map_err(|source| ConfigError::Io {
                what: "cannot tell the current folder".to_owned(),
                source,
            })?,
        };
        let home = base.home_dir().to_owned();
        let codex_home = std::env::var_os("CODEX_HOME")
            .filter(|v| !v.is_empty())
            .map_or_else(|| home.join(".codex"), PathBuf::from);
        Ok(Self { config_dir: base.config_dir().to_owned(), home, project, codex_home })
    }

    /// The same places with the platform layout of a home folder (for tests and for a home
    /// given explicitly): `<home>/.config` as the configuration folder.
    pub fn under(home: &Path, project: &Path) -> Self {
        Self {
            home: home.to_owned(),
            config_dir: home.join(".config"),
            project: project.to_owned(),
            codex_home: home.join(".codex"),
        }
    }
}

/// One server entry of a client's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerEntry {
    pub client: String,
    /// The entry's name (its key in the file).
    pub name: String,
    /// The file it is in.
    pub file: PathBuf,
    /// The object keys leading to the entry, e.g. `["mcpServers", "fs"]` or
    /// `["projects", "/home/me/app", "mcpServers", "fs"]`.
    pub pointer: Vec<String>,
    pub launch: Launch,
    /// Whether the entry already runs through `mcpfw wrap`.
    pub wrapped: bool,
    /// Whether the (remote) entry already goes through MCP Firewall's HTTP proxy.
    pub bridged: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Launch {
    Stdio { command: Vec<String>, env: BTreeMap<String, String> },
    Remote { url: String },
}

pub use crate::jsonc::MalformedConfig;

/// Why the clients' configuration files cannot be found or read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file's text is not valid JSON, TOML or YAML: the file, line and column say where.
    #[error(transparent)]
    Malformed(#[from] MalformedConfig),
    /// A file is not UTF-8 text.
    #[error(
        "{} is not UTF-8 text (byte {valid_up_to}); the file was left untouched",
        file.display()
    )]
    NotText { file: PathBuf, valid_up_to: usize },
    /// A file or folder cannot be read or used; `what` says which.
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot tell your home folder (is HOME set?)")]
    NoHome,
    #[error("unknown client {name:?}; known clients: {known}")]
    UnknownClient { name: String, known: String },
}

type Result<T, E = ConfigError> = std::result::Result<T, E>;

/// The configuration files of `client`, existing or not: user scope first, then project scope
/// (once each: in the home folder, `~/.cursor/mcp.json` is both).
pub fn config_files(client: &str, places: &Places) -> Result<Vec<PathBuf>> {
    let Places { home, config_dir, project, codex_home } = places;
    // VS Code extensions keep their files in VS Code's user folder.
    let vscode_storage = |extension: &str, file: &str| {
        config_dir.join("Code/User/globalStorage").join(extension).join("settings").join(file)
    };
    let mut files = match client {
        "claude-desktop" => vec![config_dir.join("Claude/claude_desktop_config.json")],
        "claude-code" => vec![home.join(".claude.json"), project.join(".mcp.json")],
        "cursor" => vec![home.join(".cursor/mcp.json"), project.join(".cursor/mcp.json")],
        "vscode" => vec![
            config_dir.join("Code/User/mcp.json"),
            config_dir.join("Code - Insiders/User/mcp.json"),
            project.join(".vscode/mcp.json"),
        ],
        "windsurf" => vec![home.join(".codeium/windsurf/mcp_config.json")],
        "gemini" => vec![home.join(".gemini/settings.json"), project.join(".gemini/settings.json")],
        // https://developers.openai.com/codex/mcp/: `~/.codex/config.toml` (`CODEX_HOME`
        // moves it), and `.codex/config.toml` of a trusted project.
        "codex" => vec![codex_home.join("config.toml"), project.join(".codex/config.toml")],
        // https://zed.dev/docs/ai/mcp, https://zed.dev/docs/configuring-zed: the user settings
        // are `~/.config/zed/settings.json` on macOS and Linux (`$XDG_CONFIG_HOME/zed`),
        // `%APPDATA%\Zed\settings.json` on Windows; a project's are `.zed/settings.json`.
        "zed" => vec![
            if cfg!(target_os = "macos") {
                home.join(".config/zed/settings.json")
            } else if cfg!(windows) {
                config_dir.join("Zed/settings.json")
            } else {
                config_dir.join("zed/settings.json")
            },
            project.join(".zed/settings.json"),
        ],
        // https://docs.cline.bot/mcp/configuring-mcp-servers: `cline_mcp_settings.json`, in
        // the VS Code extension's storage (`saoudrizwan.claude-dev/settings/`), and for the
        // Cline CLI in `~/.cline/data/settings/`.
        "cline" => vec![
            vscode_storage("saoudrizwan.claude-dev", "cline_mcp_settings.json"),
            home.join(".cline/data/settings/cline_mcp_settings.json"),
        ],
        // https://docs.roocode.com/features/mcp/using-mcp-in-roo: the global
        // `mcp_settings.json` in the extension's storage, and a project's `.roo/mcp.json`.
        "roo-code" => vec![
            vscode_storage("rooveterinaryinc.roo-cline", "mcp_settings.json"),
            project.join(".roo/mcp.json"),
        ],
        // https://lmstudio.ai/docs/app/mcp: `mcp.json` in LM Studio's home folder, in Cursor's
        // notation.
        "lm-studio" => vec![home.join(".lmstudio/mcp.json")],
        // https://junie.jetbrains.com/docs/junie-cli-mcp-configuration.html: `mcp.json` in
        // `~/.junie/mcp/` and a project's `.junie/mcp/`, in Claude Desktop's notation (a remote
        // server has `url` and `headers`).
        "junie" => vec![home.join(".junie/mcp/mcp.json"), project.join(".junie/mcp/mcp.json")],
        // https://docs.warp.dev/agent-platform/capabilities/mcp: Warp reads `mcpServers` from
        // `~/.warp/.mcp.json` (global servers start with Warp) and a project's
        // `.warp/.mcp.json` (started once approved in Warp); servers added in Warp's own
        // settings live in its database, which is not a file MCP Firewall edits.
        "warp" => vec![home.join(".warp/.mcp.json"), project.join(".warp/.mcp.json")],
        // https://docs.continue.dev/customize/deep-dives/mcp: `mcpServers` in
        // `~/.continue/config.yaml`, and block files in `.continue/mcpServers/` (YAML, or JSON
        // in Claude Desktop's notation), in the project and in `~/.continue`.
        "continue" => {
            let mut files = vec![home.join(".continue/config.yaml")];
            files.extend(block_files(&home.join(".continue/mcpServers")));
            files.extend(block_files(&project.join(".continue/mcpServers")));
            files
        }
        // https://block.github.io/goose/docs/guides/config-files
        "goose" => vec![if cfg!(windows) {
            config_dir.join("Block/goose/config/config.yaml")
        } else {
            home.join(".config/goose/config.yaml")
        }],
        other => {
            return Err(ConfigError::UnknownClient {
                name: other.to_owned(),
                known: CLIENTS.join(", "),
            });
        }
    };
    let mut seen = std::collections::BTreeSet::new();
    files.retain(|f| seen.insert(f.clone()));
    Ok(files)
}

/// The YAML and JSON files of a Continue block folder (`.continue/mcpServers/`), sorted.
fn block_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file() && p.extension().is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
        })
        .collect();
    files.sort();
    files
}

/// Whether a configuration file is YAML, which MCP Firewall reads but does not edit.
pub fn is_yaml(file: &Path) -> bool {
    file.extension().is_some_and(|x| x == "yaml" || x == "yml")
}

/// The object key holding a client's servers.
pub fn servers_key(client: &str) -> &'static str {
    match client {
        "vscode" => "servers",
        "zed" => "context_servers",
        "codex" => crate::tomlc::SERVERS,
        _ => "mcpServers",
    }
}

/// Whether a client's files are TOML (Codex CLI's), edited with [`crate::tomlc`].
pub fn is_toml(client: &str) -> bool {
    client == "codex"
}

/// The key of a remote entry's address in a client's files.
pub fn url_key(client: &str) -> &'static str {
    match client {
        "windsurf" => "serverUrl",
        "gemini" => "httpUrl",
        _ => "url",
    }
}

/// Every server entry of `client` (files that do not exist are skipped).
pub fn servers(client: &str, places: &Places) -> Result<Vec<ServerEntry>> {
    let mut out = Vec::new();
    for file in config_files(client, places)? {
        let Some(text) = read_config(&file)? else { continue };
        out.extend(found(client, &file, &text)?.into_iter().map(|f| f.entry));
    }
    Ok(out)
}

/// One server entry of a file, with its text and value now.
#[derive(Debug, Clone)]
pub struct Found {
    pub entry: ServerEntry,
    /// The entry's text in the file (for TOML and YAML files: its value as JSON text),
    /// compared with what install recorded (`install/manifest.rs`, `Record::holds`).
    pub current: String,
    pub value: serde_json::Value,
}

/// The server entries of a file's text, JSON, TOML or YAML as the client writes it; a syntax
/// error is a [`MalformedConfig`].
pub fn found(client: &str, file: &Path, text: &str) -> Result<Vec<Found>> {
    if is_yaml(file) {
        let doc = crate::yamlc::parse(file, text)?;
        return Ok(crate::yamlc::servers(client, &doc)
            .into_iter()
            .filter_map(|(pointer, name, value)| {
                let entry = entry_of(client, &name, file, pointer, &value)?;
                Some(Found { entry, current: value.to_string(), value })
            })
            .collect());
    }
    if is_toml(client) {
        let doc = crate::tomlc::parse(file, text)?;
        return Ok(crate::tomlc::servers(&doc)
            .into_iter()
            .filter_map(|(name, value)| {
                let pointer = vec![crate::tomlc::SERVERS.to_owned(), name.clone()];
                let entry = entry_of(client, &name, file, pointer, &value)?;
                Some(Found { entry, current: crate::tomlc::value_text(&value), value })
            })
            .collect());
    }
    let doc = parse_config(file, text)?;
    Ok(entries(client, file, text, &doc)
        .into_iter()
        .filter_map(|entry| {
            let node = doc.at(&entry.pointer)?;
            Some(Found {
                current: text[node.span.clone()].to_owned(),
                value: node.to_value(text),
                entry,
            })
        })
        .collect())
}

/// A configuration file's text, or `None` when it does not exist.
pub fn read_config(file: &Path) -> Result<Option<String>> {
    match std::fs::read(file) {
        Ok(bytes) => String::from_utf8(bytes).map(Some).map_err(|e| ConfigError::NotText {
            file: file.to_owned(),
            valid_up_to: e.utf8_error().valid_up_to(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => {
            Err(ConfigError::Io { what: format!("cannot read {}", file.display()), source })
        }
    }
}

/// Parses a configuration file's text; a syntax error is a [`MalformedConfig`].
pub fn parse_config(file: &Path, text: &str) -> Result<Node> {
    jsonc::parse(text).map_err(|error| MalformedConfig { file: file.to_owned(), error }.into())
}

/// The server tables of a parsed file: where they are (object keys) and their nodes.
pub fn tables<'a>(client: &str, doc: &'a Node) -> Vec<(Vec<String>, &'a Node)> {
    let key = servers_key(client);
    let mut out = Vec::new();
    if let Some(table) = doc.get(key) {
        out.push((vec![key.to_owned()], table));
    }
    if client == "claude-code"
        && let Some(projects) = doc.get("projects")
    {
        for project in projects.members() {
            if let Some(table) = project.value.get(key) {
                out.push((vec!["projects".to_owned(), project.key.clone(), key.to_owned()], table));
            }
        }
    }
    out
}

/// The server entries of one parsed file.
pub fn entries(client: &str, file: &Path, text: &str, doc: &Node) -> Vec<ServerEntry> {
    let mut out = Vec::new();
    for (at, table) in tables(client, doc) {
        let members = table.members();
        for (i, member) in members.iter().enumerate() {
            // A name given twice: the last one counts, as for every JSON reader.
            if members[i + 1..].iter().any(|later| later.key == member.key) {
                continue;
            }
            let mut pointer = at.clone();
            pointer.push(member.key.clone());
            let entry = member.value.to_value(text);
            if let Some(server) = entry_of(client, &member.key, file, pointer, &entry) {
                out.push(server);
            }
        }
    }
    out
}

pub(crate) fn entry_of(
    client: &str,
    name: &str,
    file: &Path,
    pointer: Vec<String>,
    entry: &serde_json::Value,
) -> Option<ServerEntry> {
    let strings = |v: &serde_json::Value| -> Vec<String> {
        v.as_array()
            .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    };
    // Zed's older form nests the command: `{"command": {"path", "args", "env"}}`.
    let stdio = if entry["command"].is_object() { &entry["command"] } else { entry };
    let program = if entry["command"].is_object() { &stdio["path"] } else { &stdio["command"] };
    let (launch, wrapped, bridged) = if let Some(command) = program.as_str() {
        let mut command: Vec<String> =
            std::iter::once(command.to_owned()).chain(strings(&stdio["args"])).collect();
        let env = stdio["env"]
            .as_object()
            .map(|m| {
                m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect()
            })
            .unwrap_or_default();
        if let Some(url) = bridge_url(&command) {
            // `mcpfw wrap --url URL`: the stdio bridge to an HTTP server, through the pipeline.
            (Launch::Remote { url }, false, true)
        } else {
            let wrapped = unwrap_firewall(&mut command);
            (Launch::Stdio { command, env }, wrapped, false)
        }
    } else {
        let url = entry[url_key(client)].as_str().or_else(|| entry["url"].as_str())?;
        let bridged = is_bridged(entry, url, crate::proxy::registry::TOKEN_HEADER);
        (Launch::Remote { url: url.to_owned() }, false, bridged)
    };
    Some(ServerEntry {
        client: client.to_owned(),
        name: name.to_owned(),
        file: file.to_owned(),
        pointer,
        launch,
        wrapped,
        bridged,
    })
}

/// For `mcpfw wrap [options] --url URL` (no server command): the URL.
fn bridge_url(command: &[String]) -> Option<String> {
    match read_wrap(command)? {
        (Some(url), start) if start == command.len() => Some(url),
        _ => None,
    }
}

/// `mcpfw wrap`'s options that take a value (see `mcpfw wrap --help`).
const WRAP_VALUE_OPTIONS: [&str; 5] =
    ["--name", "--root", "--max-message-bytes", "--shutdown-grace-ms", "--url"];

/// For `mcpfw wrap [options] [--] CMD…`: the `--url` given, and where the server command starts
/// (as `mcpfw wrap` reads it: after `--`, or at the first word that is not one of its options,
/// since clients' argument parsers may drop the `--`). `None` for anything else.
fn read_wrap(command: &[String]) -> Option<(Option<String>, usize)> {
    if !command.first().is_some_and(|c| is_firewall(c))
        || command.get(1).map(String::as_str) != Some("wrap")
    {
        return None;
    }
    let mut url = None;
    let mut i = 2;
    while i < command.len() {
        let word = command[i].as_str();
        if word == "--" {
            return Some((url, i + 1));
        }
        if !word.starts_with('-') {
            return Some((url, i));
        }
        let (option, inline) = match word.split_once('=') {
            Some((option, value)) => (option, Some(value.to_owned())),
            None => (word, None),
        };
        if !WRAP_VALUE_OPTIONS.contains(&option) {
            return None;
        }
        let value = match inline {
            Some(value) => value,
            None => {
                i += 1;
                command.get(i)?.clone()
            }
        };
        if option == "--url" {
            url = Some(value);
        }
        i += 1;
    }
    Some((url, command.len()))
}

/// Whether `program` is MCP Firewall's command line (`mcpfw`, `mcpfw.exe`).
pub fn is_firewall(program: &str) -> bool {
    Path::new(program).file_stem().is_some_and(|f| f == "mcpfw")
}

/// `mcpfw wrap [options] [--] CMD…` becomes `CMD…`; says whether it was wrapped.
fn unwrap_firewall(command: &mut Vec<String>) -> bool {
    match read_wrap(command) {
        Some((None, start)) if start < command.len() => {
            command.drain(..start);
            true
        }
        _ => false,
    }
}

/// Whether a remote entry already goes through the proxy: its address is a loopback route and
/// it sends the token (in the header or the path).
pub fn is_bridged(entry: &serde_json::Value, url: &str, header: &str) -> bool {
    let loopback = url.starts_with("http://127.0.0.1:") && url.contains("/s/");
    // The token in the header, or in the path (`/t/TOKEN/s/NAME/mcp`).
    // `http_headers`: Codex CLI's name for them.
    let token = url.contains("/t/")
        || ["headers", "http_headers"].iter().any(|key| {
            entry[key].as_object().is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case(header)))
        });
    loopback && token
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
                "guarded": {"command": "/usr/bin/mcpfw", "args": ["wrap", "--name", "g", "--", "uvx", "mcp-server-git"]},
                "bridge": {"command": "/usr/bin/mcpfw", "args": ["wrap", "--name", "b", "--url", "https://b/mcp"]},
                "nodash": {"command": "/usr/bin/mcpfw", "args": ["wrap", "--name=n", "uvx", "mcp-server-time", "--local-timezone", "UTC"]},
                "odd": {"command": "/usr/bin/mcpfw", "args": ["wrap", "--bogus", "srv"]}}}"#,
        )
        .unwrap();
        std::fs::create_dir_all(cwd.path().join(".vscode")).unwrap();
        std::fs::write(
            cwd.path().join(".vscode/mcp.json"),
            r#"{"servers": {"mem": {"type": "stdio", "command": "node", "args": ["mem.js"]}}, "inputs": []}"#,
        )
        .unwrap();
        let places = Places::under(home.path(), cwd.path());
        let cursor = servers("cursor", &places).unwrap();
        assert_eq!(cursor.len(), 6);
        // Without `--` (as Gemini CLI's `mcp add` writes it), as `mcpfw wrap` reads it.
        let nodash = cursor.iter().find(|s| s.name == "nodash").unwrap();
        assert!(nodash.wrapped);
        assert!(
            matches!(&nodash.launch, Launch::Stdio { command, .. } if command == &["uvx", "mcp-server-time", "--local-timezone", "UTC"])
        );
        assert!(!cursor.iter().find(|s| s.name == "odd").unwrap().wrapped, "not what wrap runs");
        let bridge = cursor.iter().find(|s| s.name == "bridge").unwrap();
        assert!(bridge.bridged && bridge.launch == Launch::Remote { url: "https://b/mcp".into() });
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
        let vscode = servers("vscode", &places).unwrap();
        assert_eq!(vscode[0].name, "mem");
        assert!(servers("claude-code", &places).unwrap().is_empty());
        assert!(servers("emacs", &places).is_err());
        // Working in the home folder, its files are read once.
        let at_home = Places::under(home.path(), home.path());
        assert_eq!(config_files("cursor", &at_home).unwrap().len(), 1);
        assert_eq!(servers("cursor", &at_home).unwrap().len(), 6);
    }

    #[test]
    fn reads_claude_codes_project_entries_windsurfs_server_url_and_vscode_comments() {
        let home = tempfile::tempdir().unwrap();
        let cwd = tempfile::tempdir().unwrap();
        std::fs::write(
            home.path().join(".claude.json"),
            r#"{"numStartups": 3, "mcpServers": {"a": {"command": "x"}},
                "projects": {"/p": {"mcpServers": {"b": {"type": "http", "url": "https://h/mcp"}}}, "/q": {}}}"#,
        )
        .unwrap();
        std::fs::create_dir_all(home.path().join(".codeium/windsurf")).unwrap();
        std::fs::write(
            home.path().join(".codeium/windsurf/mcp_config.json"),
            r#"{"mcpServers": {"w": {"serverUrl": "https://w/mcp"}}}"#,
        )
        .unwrap();
        std::fs::create_dir_all(home.path().join(".config/Code/User")).unwrap();
        std::fs::write(
            home.path().join(".config/Code/User/mcp.json"),
            "// mine\n{\"servers\": {\"m\": {\"command\": \"node\", /* why */ \"args\": [\"m.js\",],},},}",
        )
        .unwrap();
        let places = Places::under(home.path(), cwd.path());
        let code = servers("claude-code", &places).unwrap();
        let pointers: Vec<_> = code.iter().map(|s| s.pointer.join("/")).collect();
        assert_eq!(pointers, ["mcpServers/a", "projects//p/mcpServers/b"]);
        assert_eq!(code[1].launch, Launch::Remote { url: "https://h/mcp".into() });
        let windsurf = servers("windsurf", &places).unwrap();
        assert_eq!(windsurf[0].launch, Launch::Remote { url: "https://w/mcp".into() });
        let vscode = servers("vscode", &places).unwrap();
        assert!(
            matches!(&vscode[0].launch, Launch::Stdio { command, .. } if command == &["node", "m.js"])
        );
        std::fs::create_dir_all(home.path().join(".cursor")).unwrap();
        std::fs::write(
            home.path().join(".cursor/mcp.json"),
            "{\n  \"mcpServers\": {\n    \"a\": {}\n    \"b\": {}\n}}",
        )
        .unwrap();
        let error = servers("cursor", &places).unwrap_err().to_string();
        assert!(error.contains(".cursor/mcp.json:4:5: expected `,` or `}`"), "{error}");
    }
}
