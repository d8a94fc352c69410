//! YAML configuration files (Continue's `config.yaml` and `.continue/mcpServers/*.yaml`,
//! Goose's `config.yaml`): read, not edited.
//!
//! MCP Firewall has no YAML editor that keeps comments and the layout of what it does not
//! change, so it does not rewrite these files: their servers are listed by `mcpfw status`
//! (unprotected until the user wraps them by hand), watched by the daemon, and `mcpfw install`
//! says how to protect each one instead of changing the file.
//!
//! The shapes, as the clients document them:
//! - Continue (<https://docs.continue.dev/customize/deep-dives/mcp>): `mcpServers:` is a list
//!   of `{name, command, args, env}` or `{name, type, url}`.
//! - Goose (<https://block.github.io/goose/docs/guides/config-files>): `extensions:` maps a
//!   name to `{type: stdio, cmd, args, envs}` or `{type: streamable_http | sse, uri}`
//!   (built-in extensions have no command and are not MCP servers of the user's).

use std::path::Path;

use anyhow::Result;
use serde_json::{Map, Value};
use yaml_rust2::Yaml;

use crate::clients::MalformedConfig;
use crate::jsonc;

/// Parses a YAML file's text (its first document) as JSON; a syntax error is a
/// [`MalformedConfig`] naming its line and column.
pub fn parse(file: &Path, text: &str) -> Result<Value> {
    let too_deep = |line: usize| {
        anyhow::Error::from(MalformedConfig {
            file: file.to_owned(),
            error: jsonc::SyntaxError {
                line,
                column: 1,
                message: format!("nested deeper than {MAX_DEPTH} levels"),
            },
        })
    };
    // yaml-rust2 recurses once per level of nesting: a file nested thousands of levels deep
    // (a few kilobytes) would overflow the stack, so such a file is refused before it is read.
    if let Some(line) = deeper_than(text, 2 * MAX_DEPTH) {
        return Err(too_deep(line));
    }
    let docs = yaml_rust2::YamlLoader::load_from_str(text).map_err(|e| {
        let (line, column) = jsonc::line_column(text, e.marker().index().min(text.len()));
        MalformedConfig {
            file: file.to_owned(),
            error: jsonc::SyntaxError { line, column, message: e.info().to_owned() },
        }
    })?;
    let Some(doc) = docs.first() else { return Ok(Value::Null) };
    json(doc, 0).ok_or_else(|| too_deep(1))
}

/// The first line (1-based) at which `text` may nest deeper than `limit` levels, counted
/// generously: each column of indentation may open two levels (a mapping and the sequence
/// under it), each `- `, `? ` or `: ` on the line one more, and each open `[` or `{` one.
fn deeper_than(text: &str, limit: usize) -> Option<usize> {
    let mut flow = 0usize;
    for (n, line) in text.lines().enumerate() {
        let rest = line.trim_start_matches([' ', '\t']);
        let indent = line.len() - rest.len();
        let indicators = rest.matches("- ").count()
            + rest.matches("? ").count()
            + rest.matches(": ").count()
            + usize::from(rest.ends_with(':') || rest.ends_with('-'));
        for c in rest.chars() {
            match c {
                '[' | '{' => flow += 1,
                ']' | '}' => flow = flow.saturating_sub(1),
                _ => {}
            }
        }
        if 2 * (indent + 1) + indicators + flow > limit {
            return Some(n + 1);
        }
    }
    None
}

/// How deep a YAML file may nest (as the JSON parser's cap).
const MAX_DEPTH: usize = 128;

/// `yaml` as JSON; `None` when it nests deeper than [`MAX_DEPTH`].
fn json(yaml: &Yaml, depth: usize) -> Option<Value> {
    if depth > MAX_DEPTH {
        return None;
    }
    Some(match yaml {
        Yaml::Real(r) => r
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| Value::String(r.clone()), Value::Number),
        Yaml::Integer(i) => (*i).into(),
        Yaml::String(s) => s.clone().into(),
        Yaml::Boolean(b) => (*b).into(),
        Yaml::Array(items) => {
            Value::Array(items.iter().map(|i| json(i, depth + 1)).collect::<Option<_>>()?)
        }
        Yaml::Hash(members) => {
            let mut out = Map::new();
            for (k, v) in members {
                let key = match k {
                    Yaml::String(s) | Yaml::Real(s) => s.clone(),
                    Yaml::Integer(i) => i.to_string(),
                    Yaml::Boolean(b) => b.to_string(),
                    _ => continue,
                };
                out.insert(key, json(v, depth + 1)?);
            }
            Value::Object(out)
        }
        Yaml::Alias(_) | Yaml::Null | Yaml::BadValue => Value::Null,
    })
}

/// The server entries of a client's YAML file: the object keys leading to each (as
/// [`crate::clients::ServerEntry::pointer`]), its name, and its value in the common shape
/// (`command`, `args`, `env`, or `url`).
pub fn servers(client: &str, doc: &Value) -> Vec<(Vec<String>, String, Value)> {
    let mut out = Vec::new();
    match client {
        "goose" => {
            for (name, extension) in doc["extensions"].as_object().into_iter().flatten() {
                // Older files nest the settings under `config`.
                let ext =
                    if extension["config"].is_object() { &extension["config"] } else { extension };
                let mut common = Map::new();
                match ext["type"].as_str() {
                    Some("stdio") => {
                        common.insert("command".into(), ext["cmd"].clone());
                        common.insert("args".into(), ext["args"].clone());
                        common.insert("env".into(), ext["envs"].clone());
                    }
                    Some("sse" | "streamable_http" | "streamable-http") => {
                        common.insert("url".into(), ext["uri"].clone());
                    }
                    _ => continue,
                }
                out.push((vec!["extensions".into(), name.clone()], name.clone(), common.into()));
            }
        }
        _ => {
            for server in doc["mcpServers"].as_array().into_iter().flatten() {
                let Some(name) = server["name"].as_str() else { continue };
                out.push((
                    vec!["mcpServers".into(), name.to_owned()],
                    name.to_owned(),
                    server.clone(),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_and_goose_servers_are_read_in_the_common_shape() {
        let continued = parse(
            Path::new("c.yaml"),
            "name: my-config\nversion: 0.0.1\nschema: v1\nmcpServers:\n  - name: SQLite MCP # local\n    command: npx\n    args:\n      - \"-y\"\n      - \"mcp-sqlite\"\n    env:\n      K: v\n  - name: Remote\n    type: streamable-http\n    url: https://h/mcp\n",
        )
        .unwrap();
        let found = servers("continue", &continued);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].1, "SQLite MCP");
        assert_eq!(found[0].2["args"], serde_json::json!(["-y", "mcp-sqlite"]));
        assert_eq!(found[1].2["url"], "https://h/mcp");
        let goose = parse(
            Path::new("g.yaml"),
            "GOOSE_PROVIDER: anthropic\nextensions:\n  developer:\n    bundled: true\n    enabled: true\n    name: developer\n    type: builtin\n  github:\n    args:\n    - -y\n    - '@modelcontextprotocol/server-github'\n    cmd: npx\n    enabled: true\n    envs:\n      GITHUB_PERSONAL_ACCESS_TOKEN: t\n    name: github\n    timeout: 300\n    type: stdio\n",
        )
        .unwrap();
        let found = servers("goose", &goose);
        assert_eq!(found.len(), 1, "built-in extensions are not servers");
        assert_eq!(found[0].0, ["extensions", "github"]);
        assert_eq!(found[0].2["command"], "npx");
        assert_eq!(found[0].2["env"]["GITHUB_PERSONAL_ACCESS_TOKEN"], "t");
        let error = parse(Path::new("/h/config.yaml"), "a: 1\nb: [1, 2\n").unwrap_err().to_string();
        assert!(error.starts_with("/h/config.yaml:"), "{error}");
        assert!(error.contains("left untouched"), "{error}");
        // Nested too deep for the parser's recursion, in each way YAML nests: refused with an
        // error, on a thread with a small stack.
        let block: String = (0..200).map(|i| format!("{}- a:\n", "  ".repeat(i))).collect();
        let keys: String = (0..300).map(|i| format!("{}a:\n", " ".repeat(i))).collect();
        for deep in ["- ".repeat(5000) + "x\n", keys, block, "[".repeat(300), "{a: ".repeat(200)] {
            let refused = std::thread::Builder::new()
                .stack_size(1 << 20)
                .spawn(move || parse(Path::new("/h/config.yaml"), &deep).unwrap_err().to_string())
                .unwrap()
                .join()
                .unwrap();
            assert!(refused.contains("nested deeper than 128 levels"), "{refused}");
        }
        // Just under the bound, the parser's recursion fits in that stack too.
        let fits: String = (0..120).map(|i| format!("{}a:\n", " ".repeat(i))).collect();
        std::thread::Builder::new()
            .stack_size(1 << 20)
            .spawn(move || parse(Path::new("/h/config.yaml"), &fits).unwrap())
            .unwrap()
            .join()
            .unwrap();
    }
}
