//! TOML configuration files (OpenAI Codex CLI's `config.toml`): their MCP server tables read as
//! JSON values, and edited in place with `toml_edit`, which keeps comments, key order and the
//! formatting of everything it is not asked to change.
//!
//! Codex CLI keeps each server in a table `[mcp_servers.NAME]` (or an inline table, or dotted
//! keys): `command`, `args`, `env` for a stdio server, `url` (with `http_headers`,
//! `bearer_token_env_var`) for a streamable HTTP one; Codex's own keys (`cwd`, `enabled`,
//! `startup_timeout_sec`, `enabled_tools`, …) sit next to them
//! (<https://developers.openai.com/codex/mcp/>, `docs/config.md` of openai/codex).
//!
//! A remote entry is pointed at the HTTP proxy ([`route`]): its `url` becomes the route, and
//! the route's token goes in `http_headers`.
//!
//! An entry's value is compared as JSON ([`value_text`]), so what install wrote is recognised
//! whatever layout Codex or a person gives the file later. Install changes only the entry's
//! `command` (keeping its comments) and puts `wrap --name NAME -- PROGRAM` in front of `args`;
//! [`revert`] undoes exactly that, so a file nobody else changed is byte-identical afterwards.

use std::path::Path;

use toml_edit::{Array, DocumentMut, Item, TableLike, Value};

use crate::jsonc;
use crate::jsonc::{EntryError, MalformedConfig};

/// The table of MCP servers in Codex CLI's `config.toml`.
pub const SERVERS: &str = "mcp_servers";

/// Parses a TOML file's text; a syntax error is a [`MalformedConfig`] naming its line and
/// column.
pub fn parse(file: &Path, text: &str) -> Result<DocumentMut, MalformedConfig> {
    text.parse::<DocumentMut>().map_err(|e| {
        let offset = e.span().map_or(0, |span| span.start);
        let (line, column) = jsonc::line_column(text, offset);
        let message = e.message().trim().replace('\n', "; ");
        MalformedConfig {
            file: file.to_owned(),
            error: jsonc::SyntaxError { line, column, message },
        }
    })
}

/// Each server entry of the document: its name and its value as JSON.
pub fn servers(doc: &DocumentMut) -> Vec<(String, serde_json::Value)> {
    doc.get(SERVERS)
        .and_then(Item::as_table_like)
        .map(|table| {
            table
                .iter()
                .filter_map(|(name, item)| Some((name.to_owned(), item_json(item)?)))
                .collect()
        })
        .unwrap_or_default()
}

/// The entry at `pointer` (`["mcp_servers", NAME]`), as a table to edit.
pub fn entry_mut<'a>(
    doc: &'a mut DocumentMut,
    pointer: &[String],
) -> Option<&'a mut dyn TableLike> {
    let [table, name] = pointer else { return None };
    doc.get_mut(table)?.as_table_like_mut()?.get_mut(name)?.as_table_like_mut()
}

/// The entry at `pointer` as JSON.
pub fn entry_value(doc: &DocumentMut, pointer: &[String]) -> Option<serde_json::Value> {
    let [table, name] = pointer else { return None };
    item_json(doc.get(table)?.as_table_like()?.get(name)?)
}

/// The text an entry's value is recorded and compared as: its JSON.
pub fn value_text(value: &serde_json::Value) -> String {
    value.to_string()
}

/// An item as JSON (`None` for an empty item).
pub fn item_json(item: &Item) -> Option<serde_json::Value> {
    match item {
        Item::None => None,
        Item::Value(value) => Some(value_json(value)),
        Item::Table(table) => Some(table_json(table)),
        Item::ArrayOfTables(tables) => {
            Some(serde_json::Value::Array(tables.iter().map(|t| table_json(t)).collect()))
        }
    }
}

fn table_json(table: &dyn TableLike) -> serde_json::Value {
    serde_json::Value::Object(
        table.iter().filter_map(|(key, item)| Some((key.to_owned(), item_json(item)?))).collect(),
    )
}

fn value_json(value: &Value) -> serde_json::Value {
    match value {
        Value::String(s) => s.value().clone().into(),
        Value::Integer(i) => (*i.value()).into(),
        Value::Float(f) => serde_json::Number::from_f64(*f.value())
            .map_or(serde_json::Value::Null, serde_json::Value::Number),
        Value::Boolean(b) => (*b.value()).into(),
        Value::Datetime(d) => d.value().to_string().into(),
        Value::Array(items) => serde_json::Value::Array(items.iter().map(value_json).collect()),
        Value::InlineTable(table) => table_json(table),
    }
}

/// A JSON value as TOML (`None` for `null`, which TOML has not).
fn json_value(json: &serde_json::Value) -> Option<Value> {
    Some(match json {
        serde_json::Value::Null => return None,
        serde_json::Value::Bool(b) => Value::from(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::from(i),
            None => Value::from(n.as_f64()?),
        },
        serde_json::Value::String(s) => Value::from(s.as_str()),
        serde_json::Value::Array(items) => {
            Value::Array(items.iter().filter_map(json_value).collect::<Array>())
        }
        serde_json::Value::Object(members) => {
            let mut table = toml_edit::InlineTable::new();
            for (key, member) in members {
                if let Some(value) = json_value(member) {
                    table.insert(key, value);
                }
            }
            Value::InlineTable(table)
        }
    })
}

/// `slot` replaced by `new`, keeping the comments and spacing around it.
fn set_keeping_decor(slot: &mut Value, mut new: Value) {
    *new.decor_mut() = slot.decor().clone();
    *slot = new;
}

/// The entry's `command` as written (its quoting), for [`revert`] to put back.
pub fn command_text(entry: &dyn TableLike) -> Option<String> {
    match entry.get("command")?.as_value()? {
        Value::String(s) => Some(s.display_repr().into_owned()),
        _ => None,
    }
}

/// Rewrites a stdio entry to run through `mcpfw wrap`: `command` becomes `firewall`, and
/// `wrap --name NAME -- PROGRAM` goes in front of `args` (added when there are none). Refused,
/// with the entry unchanged, when it is not one this can rewrite faithfully.
pub fn wrap(entry: &mut dyn TableLike, name: &str, firewall: &str) -> Result<(), EntryError> {
    let program = match entry.get("command").and_then(Item::as_value) {
        None => return Err(EntryError::NoCommand),
        Some(command) => command.as_str().ok_or(EntryError::CommandNotString)?.to_owned(),
    };
    if program.trim().is_empty() {
        return Err(EntryError::EmptyCommand);
    }
    match entry.get("args") {
        None => {}
        Some(args) => match args.as_array() {
            Some(items) if items.iter().all(|i| i.as_str().is_some()) => {}
            _ => return Err(EntryError::ArgsNotStrings),
        },
    }
    if let Some(command) = entry.get_mut("command").and_then(Item::as_value_mut) {
        set_keeping_decor(command, Value::from(firewall));
    }
    let words = ["wrap", "--name", name, "--", program.as_str()];
    match entry.get_mut("args").and_then(Item::as_array_mut) {
        Some(args) => prepend(args, &words),
        None => {
            let args: Array = words.iter().copied().collect();
            entry.insert("args", Item::Value(Value::Array(args)));
        }
    }
    Ok(())
}

/// The entry's `args` as strings (`None` for an item that is not one), or `None` when it has no
/// list of arguments.
pub fn args(entry: &dyn TableLike) -> Option<Vec<Option<String>>> {
    let items = entry.get("args")?.as_array()?;
    Some(items.iter().map(|i| i.as_str().map(str::to_owned)).collect())
}

/// Replaces the argument at `index` with `word`, keeping the comments and spacing around it.
pub fn set_arg(entry: &mut dyn TableLike, index: usize, word: &str) -> Result<(), EntryError> {
    let slot = entry
        .get_mut("args")
        .and_then(Item::as_array_mut)
        .and_then(|args| args.get_mut(index))
        .ok_or(EntryError::ArgsChanged)?;
    set_keeping_decor(slot, Value::from(word));
    Ok(())
}

/// Why a remote entry cannot be pointed at the proxy by [`route`], if it cannot.
pub fn check_routable(entry: &dyn TableLike) -> Result<(), EntryError> {
    if entry.get("url").and_then(Item::as_str).is_none() {
        return Err(EntryError::AddressNotString);
    }
    match entry.get("http_headers") {
        Some(headers) if headers.as_table_like().is_none() => Err(EntryError::HeadersNotTable),
        _ => Ok(()),
    }
}

/// Points a remote entry at `url` (the proxy's route for it) and puts `header: token` in its
/// `http_headers` (added as an inline table when it has none); its own headers stay.
pub fn route(
    entry: &mut dyn TableLike,
    url: &str,
    header: &str,
    token: &str,
) -> Result<(), EntryError> {
    check_routable(entry)?;
    if let Some(slot) = entry.get_mut("url").and_then(Item::as_value_mut) {
        set_keeping_decor(slot, Value::from(url));
    }
    match entry.get_mut("http_headers").and_then(Item::as_table_like_mut) {
        Some(headers) => {
            let existing =
                headers.iter().map(|(k, _)| k.to_owned()).find(|k| k.eq_ignore_ascii_case(header));
            match existing.and_then(|k| headers.get_mut(&k)).and_then(Item::as_value_mut) {
                Some(slot) => set_keeping_decor(slot, Value::from(token)),
                None => {
                    headers.insert(header, Item::Value(Value::from(token)));
                }
            }
        }
        None => {
            let mut headers = toml_edit::InlineTable::new();
            headers.insert(header, Value::from(token));
            entry.insert("http_headers", Item::Value(Value::InlineTable(headers)));
        }
    }
    Ok(())
}

/// Puts `words` in front of `args`: the first takes the old first item's place (its line
/// break and indentation), which moves one space to the right.
fn prepend(args: &mut Array, words: &[&str]) {
    let first = args.get(0).map(|v| v.decor().clone());
    for (i, word) in words.iter().enumerate() {
        args.insert(i, *word);
    }
    if let Some(mut decor) = first {
        decor.set_suffix("");
        if let Some(new_first) = args.get_mut(0) {
            *new_first.decor_mut() = decor;
        }
        if let Some(old_first) = args.get_mut(words.len()) {
            old_first.decor_mut().set_prefix(" ");
        }
    }
}

/// Removes the first `n` items of `args`; the new first item takes the removed first one's
/// place (the reverse of [`prepend`]).
fn drop_front(args: &mut Array, n: usize) {
    let prefix = args.get(0).and_then(|v| v.decor().prefix().cloned());
    for _ in 0..n.min(args.len()) {
        args.remove(0);
    }
    if let (Some(prefix), Some(first)) = (prefix, args.get_mut(0)) {
        first.decor_mut().set_prefix(prefix);
    }
}

/// Turns `entry` back into `original` (a JSON object), changing only what differs: keys
/// install added are removed, the arguments it put in front of `args` are removed, a value it
/// replaced gets its original back (`command` as it was written, `command_text`), keeping the
/// comments around it.
pub fn revert(
    entry: &mut dyn TableLike,
    original: &serde_json::Map<String, serde_json::Value>,
    command_text: Option<&str>,
) {
    let keys: Vec<String> = entry.iter().map(|(k, _)| k.to_owned()).collect();
    for key in keys.iter().filter(|k| !original.contains_key(k.as_str())) {
        entry.remove(key);
    }
    for (key, was) in original {
        let Some(item) = entry.get_mut(key) else {
            if let Some(value) = json_value(was) {
                entry.insert(key, Item::Value(value));
            }
            continue;
        };
        if item_json(item).is_some_and(|now| jsonc::same_value(&now, was)) {
            continue;
        }
        if let (Some(table), serde_json::Value::Object(members)) = (item.as_table_like_mut(), was) {
            revert(table, members, None);
            continue;
        }
        if let (Some(args), serde_json::Value::Array(wanted)) = (item.as_array_mut(), was) {
            let extra = args.len().saturating_sub(wanted.len());
            let tail: Vec<serde_json::Value> = args.iter().skip(extra).map(value_json).collect();
            if extra > 0
                && tail.len() == wanted.len()
                && tail.iter().zip(wanted).all(|(a, b)| jsonc::same_value(a, b))
            {
                drop_front(args, extra);
                continue;
            }
            // The words in front, and an argument pinned in place (`install --pin`): each
            // changed item gets its original back where it stands.
            if extra > 0
                && tail.len() == wanted.len()
                && tail.iter().zip(wanted).all(|(a, b)| a.is_string() && b.is_string())
            {
                drop_front(args, extra);
                for (slot, was) in args.iter_mut().zip(wanted) {
                    if !jsonc::same_value(&value_json(slot), was)
                        && let Some(value) = json_value(was)
                    {
                        set_keeping_decor(slot, value);
                    }
                }
                continue;
            }
        }
        let written = (key == "command")
            .then_some(command_text)
            .flatten()
            .and_then(|t| t.parse::<Value>().ok())
            .filter(|v| jsonc::same_value(&value_json(v), was));
        let Some(value) = written.or_else(|| json_value(was)) else {
            entry.remove(key);
            continue;
        };
        match item.as_value_mut() {
            Some(slot) => set_keeping_decor(slot, value),
            None => *item = Item::Value(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrapped(text: &str) -> (String, Option<String>) {
        let mut doc = parse(Path::new("c.toml"), text).unwrap();
        let pointer = ["mcp_servers".to_owned(), "fs".to_owned()];
        let entry = entry_mut(&mut doc, &pointer).unwrap();
        let raw = command_text(entry);
        wrap(entry, "fs", "/opt/mcpfw").unwrap();
        (doc.to_string(), raw)
    }

    fn reverted(text: &str, original: &str, raw: Option<&str>) -> String {
        let mut doc = parse(Path::new("c.toml"), text).unwrap();
        let pointer = ["mcp_servers".to_owned(), "fs".to_owned()];
        let was = entry_value(&parse(Path::new("o.toml"), original).unwrap(), &pointer).unwrap();
        revert(entry_mut(&mut doc, &pointer).unwrap(), was.as_object().unwrap(), raw);
        doc.to_string()
    }

    #[test]
    fn a_stdio_table_is_wrapped_in_place_and_reverted_byte_for_byte() {
        for original in [
            "# mine\n[mcp_servers.fs]\ncommand = \"npx\" # the launcher\nargs = [\"-y\", \"srv\"]\nenv = { K = \"v\" }\n\n[other]\nx = 1\n",
            "[mcp_servers.fs]\ncommand = 'C:\\npx'\nargs = [\n  \"-y\",\n  \"srv\", # pinned later\n]\n[mcp_servers.fs.env]\nK = \"v\"\n",
            "[mcp_servers]\nfs = { command = \"srv\", cwd = \"/w\" }\n",
            "[mcp_servers.fs]\ncommand = \"srv\"\nargs = []\n",
            "mcp_servers.fs.command = \"srv\"\n",
        ] {
            let (installed, raw) = wrapped(original);
            let doc = parse(Path::new("c.toml"), &installed).unwrap();
            let value = &servers(&doc)[0].1;
            assert_eq!(value["command"], "/opt/mcpfw", "{installed}");
            let args: Vec<&str> =
                value["args"].as_array().unwrap().iter().filter_map(|a| a.as_str()).collect();
            assert_eq!(args[..4], ["wrap", "--name", "fs", "--"], "{installed}");
            assert_eq!(reverted(&installed, original, raw.as_deref()), original);
        }
        let (installed, _) = wrapped(
            "[mcp_servers.fs]\ncommand = \"npx\" # the launcher\nargs = [\n  \"-y\",\n  \"srv\",\n]\n",
        );
        assert_eq!(
            installed,
            "[mcp_servers.fs]\ncommand = \"/opt/mcpfw\" # the launcher\nargs = [\n  \"wrap\", \"--name\", \"fs\", \"--\", \"npx\", \"-y\",\n  \"srv\",\n]\n"
        );
    }

    #[test]
    fn a_re_serialized_entry_gets_its_original_value_back_in_the_new_layout() {
        let original = "[mcp_servers.fs]\ncommand = \"npx\"\nargs = [\"-y\", \"srv\"]\n";
        // As another writer lays it out: an inline table, keys reordered.
        let now = "[mcp_servers]\nfs = { args = [\"wrap\", \"--name\", \"fs\", \"--\", \"npx\", \"-y\", \"srv\"], command = \"/opt/mcpfw\" }\n";
        assert_eq!(
            reverted(now, original, Some("\"npx\"")),
            "[mcp_servers]\nfs = { args = [\"-y\", \"srv\"], command = \"npx\" }\n"
        );
    }

    #[test]
    fn a_remote_entry_is_routed_with_the_token_in_its_headers_and_reverted_byte_for_byte() {
        let pointer = ["mcp_servers".to_owned(), "fs".to_owned()];
        for original in [
            "[mcp_servers.fs]\nurl = \"https://mcp.figma.com/mcp\" # figma\nbearer_token_env_var = \"T\"\n",
            "[mcp_servers.fs]\nurl = \"https://h/mcp\"\nhttp_headers = { \"X-Region\" = \"eu\" }\n",
            "[mcp_servers.fs]\nurl = \"https://h/mcp\"\n[mcp_servers.fs.http_headers]\nX-Region = \"eu\"\n",
        ] {
            let mut doc = parse(Path::new("c.toml"), original).unwrap();
            route(
                entry_mut(&mut doc, &pointer).unwrap(),
                "http://127.0.0.1:1/s/fs/mcp",
                "X-MCPFW-Token",
                "t0k",
            )
            .unwrap();
            let installed = doc.to_string();
            let value = entry_value(&doc, &pointer).unwrap();
            assert_eq!(value["url"], "http://127.0.0.1:1/s/fs/mcp", "{installed}");
            assert_eq!(value["http_headers"]["X-MCPFW-Token"], "t0k", "{installed}");
            assert!(crate::install::remote::is_bridged(
                &value,
                "http://127.0.0.1:1/s/fs/mcp",
                "X-MCPFW-Token"
            ));
            assert_eq!(reverted(&installed, original, None), original);
        }
        let mut doc = parse(
            Path::new("c.toml"),
            "[mcp_servers.fs]\nurl = \"https://h/mcp\"\nhttp_headers = 3\n",
        )
        .unwrap();
        assert!(route(entry_mut(&mut doc, &pointer).unwrap(), "u", "h", "t").is_err());
    }

    #[test]
    fn entries_that_cannot_be_rewritten_faithfully_are_refused_unchanged() {
        for text in [
            "[mcp_servers.fs]\ncommand = 3\n",
            "[mcp_servers.fs]\ncommand = \"x\"\nargs = \"-y\"\n",
            "[mcp_servers.fs]\ncommand = \"x\"\nargs = [1]\n",
            "[mcp_servers.fs]\ncommand = \" \"\n",
            "[mcp_servers.fs]\nurl = \"https://h/mcp\"\n",
        ] {
            let mut doc = parse(Path::new("c.toml"), text).unwrap();
            let pointer = ["mcp_servers".to_owned(), "fs".to_owned()];
            assert!(wrap(entry_mut(&mut doc, &pointer).unwrap(), "fs", "/m").is_err(), "{text}");
            assert_eq!(doc.to_string(), text);
        }
    }

    #[test]
    fn a_syntax_error_names_its_line_and_column() {
        let error =
            parse(Path::new("/h/.codex/config.toml"), "a = 1\n[mcp_servers.x\ncommand = \"y\"\n")
                .unwrap_err()
                .to_string();
        assert!(error.starts_with("/h/.codex/config.toml:2:"), "{error}");
        assert!(error.contains("left untouched"), "{error}");
    }
}
