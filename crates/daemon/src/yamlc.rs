//! YAML configuration files (Continue's `config.yaml` and `.continue/mcpServers/*.yaml`,
//! Goose's `config.yaml`): read with `yaml-rust2` into the common entry shape.
//!
//! There is no YAML editor here that keeps comments and layout in general, so a stdio entry is
//! edited line by line ([`wrap`], [`unwrap`]): its program's value (`command`; Goose's `cmd`)
//! replaced on its line, the wrap arguments inserted as the first items of `args`. The result
//! is parsed again and must differ from the file exactly by that change, else nothing is
//! written (the entry is left for the user to protect by hand).
//!
//! The shapes, as the clients document them:
//! - Continue (<https://docs.continue.dev/customize/deep-dives/mcp>): `mcpServers:` is a list
//!   of `{name, command, args, env}` or `{name, type, url}`.
//! - Goose (<https://block.github.io/goose/docs/guides/config-files>): `extensions:` maps a
//!   name to `{type: stdio, cmd, args, envs}` or `{type: streamable_http | sse, uri}`
//!   (built-in extensions have no command and are not MCP servers of the user's).

use std::path::Path;

use serde_json::{Map, Value};
use yaml_rust2::Yaml;

use crate::jsonc;
use crate::jsonc::{EntryError, MalformedConfig};

/// Parses a YAML file's text (its first document) as JSON; a syntax error is a
/// [`MalformedConfig`] naming its line and column.
pub fn parse(file: &Path, text: &str) -> Result<Value, MalformedConfig> {
    let too_deep = |line: usize| MalformedConfig {
        file: file.to_owned(),
        error: jsonc::SyntaxError {
            line,
            column: 1,
            message: format!("nested deeper than {MAX_DEPTH} levels"),
        },
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
/// Every YAML file read with yaml-rust2 passes this first: it recurses once per level.
pub fn deeper_than(text: &str, limit: usize) -> Option<usize> {
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
/// `ServerEntry::pointer` in `clients.rs`), its name, and its value in the common shape
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
                    Some(kind @ ("sse" | "streamable_http" | "streamable-http")) => {
                        common.insert("url".into(), ext["uri"].clone());
                        if kind == "sse" {
                            common.insert("type".into(), "sse".into());
                        }
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

/// One line of a YAML text: where it is, its indentation and what follows it.
struct Line<'a> {
    /// Byte offsets of the line in the text, without its line break.
    start: usize,
    end: usize,
    indent: usize,
    body: &'a str,
}

impl Line<'_> {
    /// Blank or only a comment.
    fn blank(&self) -> bool {
        self.body.is_empty() || self.body.starts_with('#')
    }

    /// For `key: value` or `key:`: the key (plain or quoted), and the byte offset in the text
    /// where the value starts.
    fn key(&self) -> Option<(String, usize)> {
        let body = self.body;
        let (key, after) = match body.chars().next()? {
            q @ ('"' | '\'') => {
                let close = body[1..].find(q)? + 1;
                (body[1..close].to_owned(), close + 1)
            }
            _ => {
                let colon = body.find(": ").or_else(|| body.strip_suffix(':').map(str::len))?;
                (body[..colon].trim_end().to_owned(), colon)
            }
        };
        let rest = body[after..].strip_prefix(':')?;
        let value = rest.len() - rest.trim_start().len();
        Some((key, self.start + self.indent + after + 1 + value))
    }
}

fn lines(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    for raw in text.split_inclusive('\n') {
        let line = raw.trim_end_matches(['\n', '\r']);
        let body = line.trim_start_matches(' ');
        out.push(Line { start, end: start + line.len(), indent: line.len() - body.len(), body });
        start += raw.len();
    }
    out
}

/// The lines of the block under line `parent` (`None`: the whole text at indentation 0): its
/// indices, up to the next line indented no deeper than the parent.
fn block(lines: &[Line<'_>], parent: Option<usize>) -> std::ops::Range<usize> {
    let (from, indent) = match parent {
        Some(i) => (i + 1, Some(lines[i].indent)),
        None => (0, None),
    };
    let end = (from..lines.len())
        .find(|&i| !lines[i].blank() && indent.is_some_and(|p| lines[i].indent <= p))
        .unwrap_or(lines.len());
    from..end
}

/// The item lines of the block sequence under the key line `key` (YAML lets its `- ` items sit
/// at the key's own indentation, as goose writes them): each `- ` line at the first item's
/// indentation.
fn items(lines: &[Line<'_>], key: usize) -> Vec<usize> {
    let indent = lines[key].indent;
    let region: Vec<usize> = (key + 1..lines.len())
        .take_while(|&i| {
            let l = &lines[i];
            l.blank() || l.indent > indent || (l.indent == indent && l.body.starts_with("- "))
        })
        .collect();
    let Some(first) = region.iter().copied().find(|&i| !lines[i].blank()) else {
        return Vec::new();
    };
    let at = lines[first].indent;
    region
        .into_iter()
        .filter(|&i| lines[i].indent == at && !lines[i].blank() && lines[i].body.starts_with("- "))
        .collect()
}

/// The line of the member `key` among the direct members of a block.
fn member(lines: &[Line<'_>], within: std::ops::Range<usize>, key: &str) -> Option<usize> {
    let indent = within.clone().find(|&i| !lines[i].blank()).map(|i| lines[i].indent)?;
    within
        .filter(|&i| lines[i].indent == indent && !lines[i].blank())
        .find(|&i| lines[i].key().is_some_and(|(k, _)| k == key))
}

/// The block of a Goose extension's settings (`extensions.NAME`, or its nested `config`).
fn goose_fields(lines: &[Line<'_>], name: &str) -> Option<std::ops::Range<usize>> {
    let extensions = member(lines, block(lines, None), "extensions")?;
    let entry = member(lines, block(lines, Some(extensions)), name)?;
    let fields = block(lines, Some(entry));
    match member(lines, fields.clone(), "config") {
        Some(config) if lines[config].key().is_some_and(|(_, v)| v == lines[config].end) => {
            Some(block(lines, Some(config)))
        }
        _ => Some(fields),
    }
}

/// The block of a Continue server's settings: the `- name: NAME` item of `mcpServers`.
fn continue_fields(lines: &[Line<'_>], name: &str) -> Option<std::ops::Range<usize>> {
    let servers = member(lines, block(lines, None), "mcpServers")?;
    items(lines, servers).into_iter().find_map(|dash| {
        let (key, value) = lines[dash].body.strip_prefix("- ")?.split_once(':')?;
        let value = value.split(" #").next()?.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(value);
        (key.trim() == "name" && value == name).then(|| block(lines, Some(dash)))
    })
}

/// The settings block of a client's entry `name`, and the key of its program.
fn fields(
    client: &str,
    lines: &[Line<'_>],
    name: &str,
) -> Option<(std::ops::Range<usize>, &'static str)> {
    match client {
        "goose" => Some((goose_fields(lines, name)?, "cmd")),
        _ => Some((continue_fields(lines, name)?, "command")),
    }
}

/// The entry `name` in a client's parsed file, to compare what an edit did.
fn slot<'a>(client: &str, doc: &'a mut Value, name: &str) -> Option<&'a mut Value> {
    match client {
        "goose" => {
            let ext = doc.get_mut("extensions")?.get_mut(name)?;
            Some(if ext["config"].is_object() { &mut ext["config"] } else { ext })
        }
        _ => doc.get_mut("mcpServers")?.as_array_mut()?.iter_mut().find(|s| s["name"] == name),
    }
}

/// The end of a one-line scalar value starting at `from` on `line` (before a ` #` comment).
fn scalar_end(text: &str, line: &Line<'_>, from: usize) -> Option<usize> {
    let value = &text[from..line.end];
    if value.is_empty() || value.starts_with(['|', '>', '[', '{', '&', '*', '!']) {
        return None;
    }
    let end = match value.chars().next()? {
        q @ ('"' | '\'') => value[1..].find(q)? + 2,
        _ => value.find(" #").unwrap_or(value.len()),
    };
    Some(from + value[..end].trim_end().len())
}

fn json_string(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

/// `text` with the stdio entry `name` (a Goose extension, a Continue server) rewritten to run
/// through `mcpfw wrap`, and its program as written: `cmd` (Continue: `command`) becomes `firewall` and `wrap --name NAME -- PROGRAM` goes in front of `args`. The
/// lines are edited in place; the result is parsed again and must hold exactly that change,
/// else nothing is edited (the layout is not one this can edit safely).
pub fn wrap(
    client: &str,
    text: &str,
    name: &str,
    program: &str,
    firewall: &str,
) -> Result<(String, String), EntryError> {
    let unsafe_layout = EntryError::UnsafeLayout;
    let lines = lines(text);
    let (fields, program_key) = fields(client, &lines, name).ok_or(unsafe_layout.clone())?;
    let cmd = member(&lines, fields.clone(), program_key).ok_or(unsafe_layout.clone())?;
    let (_, at) = lines[cmd].key().ok_or(unsafe_layout.clone())?;
    let end = scalar_end(text, &lines[cmd], at).ok_or(unsafe_layout.clone())?;
    let command_text = text[at..end].to_owned();
    let words: Vec<String> =
        ["wrap", "--name", name, "--", program].iter().map(|w| json_string(w)).collect();
    let mut edits = vec![(at..end, json_string(firewall))];
    match member(&lines, fields.clone(), "args") {
        None => {
            let line = &lines[cmd];
            let indent = " ".repeat(line.indent);
            edits.push((line.end..line.end, format!("\n{indent}args: [{}]", words.join(", "))));
        }
        Some(args) => {
            let (_, at) = lines[args].key().ok_or(unsafe_layout.clone())?;
            let value = &text[at..lines[args].end];
            if value.starts_with('[') && value.trim_end().ends_with(']') {
                let inside = value[1..].trim_start();
                let sep = if inside.starts_with(']') { "" } else { ", " };
                edits.push((at + 1..at + 1, format!("{}{sep}", words.join(", "))));
            } else if value.is_empty() || value.starts_with('#') {
                let first = *items(&lines, args).first().ok_or(unsafe_layout.clone())?;
                let indent = " ".repeat(lines[first].indent);
                let items: String = words.iter().map(|w| format!("{indent}- {w}\n")).collect();
                edits.push((lines[first].start..lines[first].start, items));
            } else {
                return Err(unsafe_layout);
            }
        }
    }
    let after = crate::jsonc::apply(text, edits);
    // The edit must change exactly the entry's cmd and args.
    let before = parse(Path::new(""), text).map_err(|e| EntryError::Syntax(e.error))?;
    let mut want = before.clone();
    let ext = slot(client, &mut want, name).ok_or(unsafe_layout.clone())?;
    let mut args: Vec<Value> =
        ["wrap", "--name", name, "--", program].iter().map(|w| (*w).into()).collect();
    args.extend(ext["args"].as_array().cloned().unwrap_or_default());
    ext[program_key] = firewall.into();
    ext["args"] = args.into();
    match parse(Path::new(""), &after) {
        Ok(now) if jsonc::same_value(&now, &want) => Ok((after, command_text)),
        _ => Err(unsafe_layout),
    }
}

/// `text` with the entry `name` given its `original` (common-shape) value back: its program as
/// it was written (`command_text`), the wrap arguments removed from the front of `args` (or
/// `args` removed when it had none). Checked like [`wrap`]; `None` when the entry's layout
/// cannot be reverted safely.
pub fn unwrap(
    client: &str,
    text: &str,
    name: &str,
    original: &Value,
    command_text: Option<&str>,
) -> Option<String> {
    let lines = lines(text);
    let (fields, program_key) = fields(client, &lines, name)?;
    let cmd = member(&lines, fields.clone(), program_key)?;
    let (_, at) = lines[cmd].key()?;
    let end = scalar_end(text, &lines[cmd], at)?;
    let program = original["command"].as_str()?;
    let mut edits =
        vec![(at..end, command_text.map_or_else(|| json_string(program), str::to_owned))];
    let args = member(&lines, fields, "args")?;
    let (_, value_at) = lines[args].key()?;
    let value = &text[value_at..lines[args].end];
    let had_args = original["args"].is_array();
    if value.starts_with('[') {
        // Install's own one-line form: its five items, then `, ` or the `]`.
        let inside = &text[value_at + 1..lines[args].end];
        let mut at = 0;
        for _ in 0..5 {
            let item = &inside[at..];
            let len = if let Some(quoted) = item.strip_prefix('"') {
                let mut escaped = false;
                quoted
                    .char_indices()
                    .find(|&(_, c)| {
                        let close = c == '"' && !escaped;
                        escaped = c == '\\' && !escaped;
                        close
                    })?
                    .0
                    + 2
            } else {
                item.find([',', ']'])?
            };
            at += len;
            at += inside[at..].len() - inside[at..].trim_start_matches([',', ' ']).len();
        }
        if !had_args {
            let line = &lines[args];
            let from = text[..line.start].rfind('\n').unwrap_or(line.start);
            edits.push((from..line.end, String::new()));
        } else {
            edits.push((value_at + 1..value_at + 1 + at, String::new()));
        }
    } else {
        let items: Vec<usize> = items(&lines, args).into_iter().take(5).collect();
        if items.len() < 5 || items.iter().any(|&i| !lines[i].body.starts_with("- ")) {
            return None;
        }
        let next = |i: usize| lines.get(i + 1).map_or(text.len(), |l| l.start);
        if had_args {
            edits.push((lines[items[0]].start..next(items[4]), String::new()));
        } else {
            edits.push((lines[args].start..next(items[4]), String::new()));
        }
    }
    let after = crate::jsonc::apply(text, edits);
    let now = parse(Path::new(""), &after).ok()?;
    let mut want = parse(Path::new(""), text).ok()?;
    let ext = slot(client, &mut want, name)?;
    ext[program_key] = program.into();
    match original["args"].as_array() {
        Some(args) => ext["args"] = args.clone().into(),
        None => {
            ext.as_object_mut()?.remove("args");
        }
    }
    jsonc::same_value(&now, &want).then_some(after)
}

/// The key of a remote entry's address: Goose's `uri`, Continue's `url`.
fn address_key(client: &str) -> &'static str {
    if client == "goose" { "uri" } else { "url" }
}

/// Replaces the one-line address of the remote entry `name` with `replacement` (YAML text
/// that reads as `url`) and checks that the result differs from `text` in exactly that value;
/// the result and the address as it was written.
fn set_address(
    client: &str,
    text: &str,
    name: &str,
    replacement: &str,
    url: &str,
) -> Option<(String, String)> {
    let lines = lines(text);
    let (fields, _) = fields(client, &lines, name)?;
    let key = address_key(client);
    let line = member(&lines, fields, key)?;
    let (_, at) = lines[line].key()?;
    let end = scalar_end(text, &lines[line], at)?;
    let was = text[at..end].to_owned();
    let after = crate::jsonc::apply(text, vec![(at..end, replacement.to_owned())]);
    let mut want = parse(Path::new(""), text).ok()?;
    slot(client, &mut want, name)?[key] = url.into();
    let now = parse(Path::new(""), &after).ok()?;
    jsonc::same_value(&now, &want).then_some((after, was))
}

/// `text` with the remote entry `name` pointed at `url` (its route in the HTTP proxy, the
/// token in its path: a header would need a nested block this line editor does not write),
/// and its address as it was written; checked like [`wrap`].
pub fn route(
    client: &str,
    text: &str,
    name: &str,
    url: &str,
) -> Result<(String, String), EntryError> {
    set_address(client, text, name, &json_string(url), url).ok_or(EntryError::UnsafeLayout)
}

/// `text` with the address of the remote entry `name` put back: `original`'s `url`, as it was
/// written (`address_text`) where that still reads the same. `None` when the layout no longer
/// allows it safely.
pub fn unroute(
    client: &str,
    text: &str,
    name: &str,
    original: &Value,
    address_text: Option<&str>,
) -> Option<String> {
    let url = original["url"].as_str()?;
    address_text
        .and_then(|written| set_address(client, text, name, written, url))
        .or_else(|| set_address(client, text, name, &json_string(url), url))
        .map(|(after, _)| after)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn goose_value(text: &str, name: &str) -> Value {
        let doc = parse(Path::new("g.yaml"), text).unwrap();
        servers("goose", &doc).into_iter().find(|s| s.1 == name).unwrap().2
    }

    #[test]
    fn a_goose_extension_is_wrapped_line_by_line_and_unwrapped_byte_for_byte() {
        for original in [
            // As goose writes it: a block list at the key's indentation.
            "# mine\nextensions:\n  developer:\n    type: builtin\n  github:\n    args:\n    - -y\n    - '@modelcontextprotocol/server-github'\n    cmd: npx # the launcher\n    envs:\n      T: x\n    type: stdio\nGOOSE_MODEL: m\n",
            "extensions:\n  fs:\n    cmd: \"uvx\"\n    args: [mcp-server-git, --repository, /r]\n    type: stdio\n",
            "extensions:\n  fs:\n    cmd: srv\n    args: []\n    type: stdio\n",
            "extensions:\n  fs:\n    type: stdio\n    cmd: srv\n",
            "extensions:\n  fs:\n    enabled: true\n    config:\n      type: stdio\n      cmd: srv\n      args:\n        - a\n",
        ] {
            let doc = parse(Path::new("g.yaml"), original).unwrap();
            let (_, name, value) = servers("goose", &doc).pop().unwrap();
            let program = value["command"].as_str().unwrap();
            let (installed, raw) = wrap("goose", original, &name, program, "/opt/mcpfw").unwrap();
            let now = goose_value(&installed, &name);
            assert_eq!(now["command"], "/opt/mcpfw", "{installed}");
            assert_eq!(
                now["args"].as_array().unwrap()[..5],
                ["wrap", "--name", name.as_str(), "--", program].map(Value::from),
                "{installed}"
            );
            assert!(installed.contains("# mine") || !original.contains("# mine"));
            let back = unwrap("goose", &installed, &name, &value, Some(&raw)).unwrap();
            assert_eq!(back, original);
        }
        // Re-serialized by goose after install (plain scalars, a block list): unwrapped in that
        // layout.
        let original = "extensions:\n  github:\n    args:\n    - -y\n    - srv\n    cmd: npx\n    type: stdio\n";
        let value = goose_value(original, "github");
        let rewritten = "extensions:\n  github:\n    args:\n    - wrap\n    - --name\n    - github\n    - --\n    - npx\n    - -y\n    - srv\n    cmd: /opt/mcpfw\n    type: stdio\n";
        assert_eq!(unwrap("goose", rewritten, "github", &value, Some("npx")).unwrap(), original);
        // Edited since: left alone.
        let edited = rewritten.replace("    - wrap\n", "");
        assert!(unwrap("goose", &edited, "github", &value, Some("npx")).is_none());
        // Layouts that cannot be edited safely are refused.
        for text in [
            "extensions:\n  fs:\n    type: stdio\n    cmd: |\n      srv\n",
            "extensions:\n  fs:\n    type: stdio\n    cmd: srv\n    args: !!seq [a]\n",
        ] {
            assert!(wrap("goose", text, "fs", "srv", "/m").is_err(), "{text}");
        }
    }

    #[test]
    fn a_continue_server_is_wrapped_in_its_list_item_and_unwrapped_byte_for_byte() {
        let original = "name: my-configuration\nversion: 0.0.1\nschema: v1\n\n# From the docs\nmcpServers:\n  - name: SQLite MCP\n    command: npx # launcher\n    args:\n      - \"-y\"\n      - \"mcp-sqlite\"\n  - name: \"Time\"\n    command: uvx\n  - name: Remote\n    type: streamable-http\n    url: https://h/mcp\nmodels: []\n";
        let doc = parse(Path::new("c.yaml"), original).unwrap();
        let mut text = original.to_owned();
        let mut raws = Vec::new();
        for (_, name, value) in servers("continue", &doc).into_iter().take(2) {
            let program = value["command"].as_str().unwrap().to_owned();
            let (after, raw) = wrap("continue", &text, &name, &program, "/opt/mcpfw").unwrap();
            text = after;
            raws.push((name, value, raw));
        }
        let now = parse(Path::new("c.yaml"), &text).unwrap();
        let servers_now = servers("continue", &now);
        assert_eq!(
            servers_now[0].2["args"],
            serde_json::json!(["wrap", "--name", "SQLite MCP", "--", "npx", "-y", "mcp-sqlite"]),
            "{text}"
        );
        assert_eq!(
            servers_now[1].2["args"],
            serde_json::json!(["wrap", "--name", "Time", "--", "uvx"]),
            "{text}"
        );
        assert!(text.contains("    command: \"/opt/mcpfw\" # launcher\n"), "{text}");
        for (name, value, raw) in &raws {
            text = unwrap("continue", &text, name, value, Some(raw)).unwrap();
        }
        assert_eq!(text, original);
    }

    #[test]
    fn a_remote_entry_is_routed_on_its_address_line_and_put_back_byte_for_byte() {
        let route = "http://127.0.0.1:4000/t/tok/s/docs/mcp";
        for (client, original, name) in [
            (
                "goose",
                "extensions:\n  docs:\n    type: streamable_http\n    uri: 'https://h/mcp' # hosted\n    enabled: true\n",
                "docs",
            ),
            ("goose", "extensions:\n  old:\n    type: sse\n    uri: https://h/sse\n", "old"),
            (
                "continue",
                "mcpServers:\n  - name: Remote\n    type: streamable-http\n    url: https://h/mcp\n  - name: T\n    command: uvx\n",
                "Remote",
            ),
        ] {
            let doc = parse(Path::new("c.yaml"), original).unwrap();
            let (_, _, value) = servers(client, &doc).into_iter().find(|s| s.1 == name).unwrap();
            let (routed, raw) = super::route(client, original, name, route).unwrap();
            let now = parse(Path::new("c.yaml"), &routed).unwrap();
            let (_, _, after) = servers(client, &now).into_iter().find(|s| s.1 == name).unwrap();
            assert_eq!(after["url"], route, "{routed}");
            assert_eq!(routed.lines().count(), original.lines().count(), "{routed}");
            assert!(!routed.contains("https://h/"), "{routed}");
            assert_eq!(unroute(client, &routed, name, &value, Some(&raw)).unwrap(), original);
            // Rewritten by the client (plain scalars, no comment): the address comes back as
            // it was written.
            let rewritten = routed.replace(&format!("\"{route}\""), route);
            let back = unroute(client, &rewritten, name, &value, Some(&raw)).unwrap();
            assert_eq!(
                parse(Path::new("c.yaml"), &back).unwrap(),
                parse(Path::new("c.yaml"), original).unwrap()
            );
        }
        // An address on more than one line is not edited.
        let folded = "mcpServers:\n  - name: R\n    url: >-\n      https://h/mcp\n";
        assert!(super::route("continue", folded, "R", route).is_err());
    }

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
