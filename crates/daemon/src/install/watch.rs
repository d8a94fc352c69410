//! The daemon's watch over the clients' configuration files: a server added without MCP
//! Firewall in front of it, or a protected entry changed, is reported — recorded in the history
//! (a `config_change` event, category `config-change`), shown as a desktop notification and put
//! on the live event stream — because a program or an agent that quietly edits an `mcp.json`
//! can start anything the next time the client starts (CurXecute, MCPoison).
//!
//! Each watched file's folder is watched (editors and clients replace files by renaming, which
//! a watch on the file itself would lose), events are debounced, and each changed file is
//! compared entry by entry with what was seen before. A folder that does not exist yet is
//! looked for again every few seconds. A file that cannot be parsed is reported in the log and
//! compared again once it parses.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::Watcher;
use serde_json::json;
use tokio::sync::mpsc;

use crate::approval::broker::ApprovalBroker;
use crate::clients::{self, Launch, Places};
use crate::paths::Paths;
use crate::record::{DecidedBy, Event};
use crate::session::Direction;
use crate::store::Store;

/// How long a file must be quiet before it is read (a client often writes it in steps).
const QUIET: Duration = Duration::from_millis(150);
/// The longest a change waits for the file to become quiet.
const SETTLE_AT_MOST: Duration = Duration::from_secs(1);
/// How often folders that did not exist are looked for again.
const RESCAN: Duration = Duration::from_secs(5);

/// What was seen of one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Seen {
    client: &'static str,
    /// The entry's value: a client re-serializing its file changes its text, not this.
    value: serde_json::Value,
    protected: bool,
    launch: String,
}

type Snapshot = BTreeMap<Vec<String>, Seen>;

/// One reportable change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub client: String,
    pub file: PathBuf,
    pub server: String,
    pub reason: String,
}

/// Starts watching every client's files (user scope, the daemon's folder as project, and the
/// files `mcpfw install` changed). Must be called within the daemon's runtime.
pub fn spawn(paths: Paths, broker: Arc<ApprovalBroker>, store: Option<Store>) {
    let places = match Places::from_env(None) {
        Ok(places) => places,
        Err(e) => {
            tracing::warn!(
                "the clients' configuration files are not watched: {}",
                crate::text::error_chain(&e)
            );
            return;
        }
    };
    let mut files: BTreeMap<PathBuf, &'static str> = BTreeMap::new();
    for client in clients::CLIENTS {
        for file in clients::config_files(client, &places).unwrap_or_default() {
            files.insert(file, client);
        }
    }
    files.extend(installed_files(&paths));
    let (tx, rx) = mpsc::unbounded_channel::<PathBuf>();
    let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        if let Ok(event) = event {
            for path in event.paths {
                let _ = tx.send(path);
            }
        }
    });
    let watcher = match watcher {
        Ok(watcher) => watcher,
        Err(e) => {
            tracing::warn!("the clients' configuration files are not watched: {e}");
            return;
        }
    };
    // Watching starts before the files are first read, and both before this returns: a change
    // made once the daemon is up is never missed.
    let mut watcher = watcher;
    let mut watched: BTreeSet<PathBuf> = BTreeSet::new();
    let mut aliases: BTreeMap<PathBuf, PathBuf> = BTreeMap::new();
    watch_folders(&mut watcher, &files, &mut watched, &mut aliases);
    let mut snapshots: HashMap<PathBuf, Snapshot> = HashMap::new();
    for (file, client) in &files {
        if let Some(snapshot) = snapshot(client, file) {
            snapshots.insert(file.clone(), snapshot);
        }
    }
    tracing::info!(
        files = files.len(),
        folders = watched.len(),
        "watching the MCP clients' configuration files"
    );
    let watching = Watching { paths, watcher, watched, aliases, files, snapshots };
    tokio::spawn(run(watching, rx, broker, store));
}

/// The watcher and what it has seen.
struct Watching {
    paths: Paths,
    watcher: notify::RecommendedWatcher,
    watched: BTreeSet<PathBuf>,
    /// Symlink targets → the configuration file that links to them.
    aliases: BTreeMap<PathBuf, PathBuf>,
    files: BTreeMap<PathBuf, &'static str>,
    snapshots: HashMap<PathBuf, Snapshot>,
}

async fn run(
    watching: Watching,
    mut rx: mpsc::UnboundedReceiver<PathBuf>,
    broker: Arc<ApprovalBroker>,
    store: Option<Store>,
) {
    let Watching { paths, mut watcher, mut watched, mut aliases, mut files, mut snapshots } =
        watching;
    let mut rescan = tokio::time::interval(RESCAN);
    loop {
        let mut dirty: BTreeSet<PathBuf> = BTreeSet::new();
        tokio::select! {
            received = rx.recv() => match received {
                Some(path) => { dirty.insert(path); }
                None => break,
            },
            _ = rescan.tick() => {
                // Files `mcpfw install` changed since (in another project) are watched too,
                // from what they hold now.
                for (file, client) in installed_files(&paths) {
                    if let std::collections::btree_map::Entry::Vacant(new) = files.entry(file) {
                        if let Some(now) = snapshot(client, new.key()) {
                            snapshots.insert(new.key().clone(), now);
                        }
                        new.insert(client);
                    }
                }
                let before = watched.len();
                watch_folders(&mut watcher, &files, &mut watched, &mut aliases);
                if watched.len() == before {
                    continue;
                }
                // A folder appeared: its files may have appeared with it.
                dirty.extend(files.keys().cloned());
            }
        }
        // Debounce: wait until the files are quiet, but not longer than a second (Claude Code
        // writes `~/.claude.json` often).
        let settle = tokio::time::Instant::now() + SETTLE_AT_MOST;
        while let Ok(Some(path)) =
            tokio::time::timeout_at(settle.min(tokio::time::Instant::now() + QUIET), rx.recv())
                .await
        {
            dirty.insert(path);
        }
        for path in dirty {
            let path = aliases.get(&path).cloned().unwrap_or(path);
            let Some((file, client)) = files.get_key_value(&path) else { continue };
            let Some(now) = snapshot(client, file) else { continue };
            let before = snapshots.insert(file.clone(), now.clone()).unwrap_or_default();
            for change in compare(file, &before, &now) {
                report(&change, &broker, store.as_ref()).await;
            }
        }
    }
}

/// The files `mcpfw install` changed (in any project), with their client.
fn installed_files(paths: &Paths) -> Vec<(PathBuf, &'static str)> {
    let Ok(manifest) = super::manifest::Manifest::load(paths) else { return Vec::new() };
    manifest
        .records
        .into_iter()
        .filter_map(|r| Some((r.file, *clients::CLIENTS.iter().find(|c| **c == r.client)?)))
        .collect()
}

/// Watches the folder of each file that exists and is not watched yet.
///
/// A file that is a symlink (dotfile managers) is changed at its target, so the target's
/// folder is watched too, and `aliases` maps the target back to the file.
fn watch_folders(
    watcher: &mut notify::RecommendedWatcher,
    files: &BTreeMap<PathBuf, &'static str>,
    watched: &mut BTreeSet<PathBuf>,
    aliases: &mut BTreeMap<PathBuf, PathBuf>,
) {
    for file in files.keys() {
        let mut places = vec![file.clone()];
        if let Ok(target) = std::fs::canonicalize(file)
            && &target != file
        {
            aliases.insert(target.clone(), file.clone());
            places.push(target);
        }
        for place in places {
            let Some(dir) = place.parent() else { continue };
            if watched.contains(dir) || !dir.is_dir() {
                continue;
            }
            match watcher.watch(dir, notify::RecursiveMode::NonRecursive) {
                Ok(()) => {
                    watched.insert(dir.to_owned());
                }
                Err(e) => tracing::warn!("cannot watch {}: {e}", dir.display()),
            }
        }
    }
}

/// The entries of a file now: empty when it does not exist, `None` when it cannot be read.
fn snapshot(client: &'static str, file: &Path) -> Option<Snapshot> {
    let text = match clients::read_config(file) {
        Ok(Some(text)) => text,
        Ok(None) => return Some(Snapshot::new()),
        Err(e) => {
            tracing::warn!("{}", crate::text::error_chain(&e));
            return None;
        }
    };
    let found = match clients::found(client, file, &text) {
        Ok(found) => found,
        Err(e) => {
            tracing::warn!("{}", crate::text::error_chain(&e));
            return None;
        }
    };
    let mut out = Snapshot::new();
    for clients::Found { entry, value, .. } in found {
        let launch = match &entry.launch {
            Launch::Stdio { command, .. } => command.join(" "),
            Launch::Remote { url } => url.clone(),
        };
        let seen = Seen { client, value, protected: entry.wrapped || entry.bridged, launch };
        out.insert(entry.pointer, seen);
    }
    Some(out)
}

/// The changes worth telling the user between two snapshots of `file`.
fn compare(file: &Path, before: &Snapshot, now: &Snapshot) -> Vec<Change> {
    let mut out = Vec::new();
    for (pointer, seen) in now {
        let name = pointer.last().cloned().unwrap_or_default();
        let reason = match before.get(pointer) {
            None if !seen.protected => format!(
                "new MCP server `{name}` in {} is not protected by MCP Firewall (it runs `{}`); \
                 run `mcpfw install` to protect it, or remove it if you did not add it",
                file.display(),
                crate::text::floor(&seen.launch, 300)
            ),
            Some(old) if old.protected && !crate::jsonc::same_value(&old.value, &seen.value) => {
                let state = if seen.protected {
                    "it still runs through MCP Firewall"
                } else {
                    "it no longer runs through MCP Firewall"
                };
                format!(
                    "protected MCP server `{name}` in {} was changed ({state}; it runs `{}`)",
                    file.display(),
                    crate::text::floor(&seen.launch, 300)
                )
            }
            _ => continue,
        };
        out.push(Change {
            client: seen.client.to_owned(),
            file: file.to_owned(),
            server: name,
            reason,
        });
    }
    out
}

/// Records a change in the history, and announces it on the live event stream (and so as a
/// desktop notification).
async fn report(change: &Change, broker: &ApprovalBroker, store: Option<&Store>) {
    tracing::warn!(client = %change.client, file = %change.file.display(), server = %change.server, "{}", change.reason);
    if let Some(store) = store {
        let event = config_change_event(change);
        if let Err(e) = store.append(&[event]).await {
            tracing::error!(
                "a configuration change could not be recorded: {}",
                crate::text::error_chain(&e)
            );
        }
    }
    broker.announce(json!({
        "event": "config_change",
        "client": change.client,
        "file": change.file.display().to_string(),
        "server": change.server,
        "reason": change.reason,
    }));
}

/// The history's record of a configuration change.
pub fn config_change_event(change: &Change) -> Event {
    Event {
        ts_ms: crate::record::now_ms(),
        server: change.server.clone(),
        session: format!("config:{}", change.client),
        direction: Direction::ClientToServer,
        kind: crate::record::EventKind::ConfigChange,
        method: None,
        id: None,
        tool: None,
        category: Some(mcpfw_core::classify::Category::ConfigChange),
        era: "unknown",
        protocol_version: None,
        verdict: crate::record::Verdict::Allow,
        decided_by: Some(DecidedBy::Detector("config-watch".to_owned())),
        reason: Some(change.reason.clone()),
        latency_us: None,
        cancels: None,
        args_digest: None,
        args_redacted: None,
        result_status: None,
        findings: vec![mcpfw_core::finding::Finding::at(
            mcpfw_core::finding::FindingKind::ConfigChange,
            mcpfw_core::detect::Severity::Flag,
            change.file.display().to_string(),
            change.reason.clone(),
        )],
        bytes: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(client: &'static str, dir: &Path, text: &str) -> Snapshot {
        let file = dir.join("mcp.json");
        std::fs::write(&file, text).unwrap();
        snapshot(client, &file).unwrap()
    }

    #[test]
    fn new_unprotected_servers_and_changed_protected_entries_are_reported_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mcp.json");
        let before = snap(
            "cursor",
            dir.path(),
            r#"{"mcpServers": {"a": {"command": "/x/mcpfw", "args": ["wrap", "--", "srv"]}, "b": {"command": "old"}}}"#,
        );
        // b changes (it was not protected: not reported), c is added unprotected, d protected.
        let now = snap(
            "cursor",
            dir.path(),
            r#"{"mcpServers": {"a": {"command": "/x/mcpfw", "args": ["wrap", "--", "evil"]}, "b": {"command": "new"},
                "c": {"command": "curl"}, "d": {"command": "/x/mcpfw", "args": ["wrap", "--", "s"]}}}"#,
        );
        let changes = compare(&file, &before, &now);
        let servers: Vec<_> = changes.iter().map(|c| c.server.as_str()).collect();
        assert_eq!(servers, ["a", "c"]);
        assert!(
            changes[0].reason.contains("still runs through MCP Firewall"),
            "{}",
            changes[0].reason
        );
        assert!(changes[1].reason.contains("runs `curl`"), "{}", changes[1].reason);
        assert!(compare(&file, &now, &now).is_empty());
        // The same entries re-serialized by the client (one element per line, keys reordered)
        // are not a change.
        let reformatted = snap(
            "cursor",
            dir.path(),
            "{\n  \"mcpServers\": {\n    \"a\": {\n      \"args\": [\n        \"wrap\",\n        \"--\",\n        \"srv\"\n      ],\n      \"command\": \"/x/mcpfw\"\n    },\n    \"b\": {\"command\": \"old\"}\n  }\n}",
        );
        assert!(compare(&file, &before, &reformatted).is_empty());
        // A file that does not parse keeps no snapshot (compared again once fixed).
        std::fs::write(&file, "{").unwrap();
        assert!(snapshot("cursor", &file).is_none());
    }

    #[test]
    fn codex_toml_and_goose_yaml_files_are_compared_by_value_too() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("config.toml");
        let at = |text: &str| {
            std::fs::write(&file, text).unwrap();
            snapshot("codex", &file).unwrap()
        };
        let before =
            at("[mcp_servers.a]\ncommand = \"/x/mcpfw\"\nargs = [\"wrap\", \"--\", \"srv\"]\n");
        // Re-serialized as an inline table: no change.
        let same = at(
            "mcp_servers = { a = { args = [\"wrap\", \"--\", \"srv\"], command = \"/x/mcpfw\" } }\n",
        );
        assert!(compare(&file, &before, &same).is_empty());
        let now = at("[mcp_servers.a]\ncommand = \"evil\"\n[mcp_servers.b]\ncommand = \"curl\"\n");
        let changes = compare(&file, &before, &now);
        assert_eq!(changes.iter().map(|c| c.server.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert!(changes[0].reason.contains("no longer runs through MCP Firewall"), "{changes:?}");
        std::fs::write(&file, "[mcp_servers.a\n").unwrap();
        assert!(snapshot("codex", &file).is_none());

        let yaml = dir.path().join("config.yaml");
        std::fs::write(
            &yaml,
            "extensions:\n  g:\n    type: stdio\n    cmd: npx\n    args: [srv]\n",
        )
        .unwrap();
        let goose = snapshot("goose", &yaml).unwrap();
        let changes = compare(&yaml, &Snapshot::new(), &goose);
        assert!(changes[0].reason.contains("new MCP server `g`"), "{changes:?}");
    }
}
