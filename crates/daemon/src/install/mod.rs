//! `mcpfw install`, `uninstall` and `status`: routing every MCP server of every client on the
//! machine through MCP Firewall, and putting the files back exactly as they were.
//!
//! Install rewrites each stdio entry so that the client starts
//! `mcpfw wrap --name <entry> -- <original command and args>`: the entry's `command` becomes the
//! absolute path of this `mcpfw`, and the wrap arguments are put in front of the original
//! `args`. Nothing else in the file changes — the edit replaces only the bytes of the entries it
//! wraps ([`crate::jsonc`] gives their spans), so comments, formatting, `env`, `inputs` and keys
//! MCP Firewall does not know stay as they were. The original and installed text of each entry
//! go to the manifest ([`manifest`]) and the whole file to a backup before anything is written;
//! writes are atomic ([`files::replace`]). Uninstall puts back each entry whose value is still
//! what install wrote: its original text when its text is unchanged, so a file nobody else
//! edited is byte-identical to before; its original value in the file's layout now when the
//! client re-serialized the file ([`restore`]).
//!
//! The daemon watches the same files ([`watch`]) and reports servers added or protected
//! entries changed behind the user's back.

pub mod files;
pub mod manifest;
pub mod remote;
pub mod restore;
pub mod watch;

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::clients::{self, Launch, Places, ServerEntry};
use crate::jsonc::{EntryError, Kind, Node};
use crate::paths::Paths;
use manifest::{Holds, Manifest, Record};

pub use files::FileError;
pub use manifest::ManifestError;

/// Why install or uninstall cannot go on (with a file, or at all). What is left out of one entry
/// is a note of that entry instead.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// A client's file cannot be found, read or parsed (a malformed file among them).
    #[error(transparent)]
    Config(#[from] clients::ConfigError),
    /// A client's file (or a backup, or the lock) cannot be written.
    #[error(transparent)]
    File(#[from] FileError),
    /// The record of what install changed cannot be read or written.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The file changed each time it was about to be replaced.
    #[error("{} keeps changing; close its program and try again", file.display())]
    KeepsChanging { file: PathBuf },
    #[error("unknown client {name:?}; known clients: all, {known}")]
    UnknownClient { name: String, known: String },
    /// Where this program is cannot be told (what installed entries would start).
    #[error("{what}")]
    Program {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the path of mcpfw is not UTF-8")]
    ProgramNotUtf8,
    /// An entry could not be found again in the text it was just written to.
    #[error("the entry vanished while it was edited")]
    Vanished,
}

impl From<crate::jsonc::MalformedConfig> for InstallError {
    fn from(error: crate::jsonc::MalformedConfig) -> Self {
        InstallError::Config(error.into())
    }
}

type Result<T, E = InstallError> = std::result::Result<T, E>;

/// The clients named on the command line (`all`, or none, is every client).
pub fn select_clients(names: &[String]) -> Result<Vec<&'static str>> {
    if names.is_empty() || names.iter().any(|n| n == "all") {
        return Ok(clients::CLIENTS.to_vec());
    }
    names
        .iter()
        .map(|name| {
            clients::CLIENTS.iter().copied().find(|c| c == name).ok_or_else(|| {
                InstallError::UnknownClient {
                    name: name.clone(),
                    known: clients::CLIENTS.join(", "),
                }
            })
        })
        .collect()
}

/// What install or uninstall did (or, in a dry run, would do) to one file.
#[derive(Debug, Clone, Default)]
pub struct FileOutcome {
    pub client: String,
    pub file: PathBuf,
    /// One line per entry: what happened to it.
    pub notes: Vec<String>,
    /// The file's content before and after.
    pub before: String,
    pub after: String,
    /// The copy of the file taken before it was changed (none in a dry run or without change).
    pub backup: Option<PathBuf>,
    /// Whether remote entries of this file were (or would be) pointed at the HTTP proxy.
    pub routed: bool,
}

impl FileOutcome {
    pub fn changed(&self) -> bool {
        self.before != self.after
    }

    /// A unified diff of the change (empty when nothing changes).
    pub fn diff(&self) -> String {
        let name = self.file.display().to_string();
        similar::TextDiff::from_lines(&self.before, &self.after)
            .unified_diff()
            .context_radius(3)
            .header(&name, &name)
            .to_string()
    }
}

/// The result over every file: what was done, and the files that could not be handled (each
/// message names the file; those files are untouched).
#[derive(Debug, Default)]
pub struct Outcome {
    pub files: Vec<FileOutcome>,
    pub errors: Vec<String>,
}

/// What install needs: where the files are, which clients, and the `mcpfw` to run.
pub struct Install<'a> {
    pub paths: &'a Paths,
    pub places: &'a Places,
    pub clients: &'a [&'static str],
    /// The absolute path of the `mcpfw` program the clients will start.
    pub firewall: &'a Path,
    /// Only say what would change.
    pub dry_run: bool,
    /// The HTTP proxy's routes, for remote entries (`None`: they are left as they are).
    pub router: Option<&'a dyn remote::Router>,
    /// `--pin`: rewrite an unpinned package spec (`npx -y pkg`) to the version in use
    /// (`pkg@1.2.3`) in the same edit (`None`: specs are left as they are).
    pub pin: Option<&'a dyn Pinner>,
}

/// What `mcpfw install --pin` asks of the program: the exact version a stdio entry's package
/// runs now. The program reads the package managers' records (`src/package.rs`); the daemon
/// does not resolve packages itself.
pub trait Pinner {
    /// The version `command` (program, then arguments) with the entry's `env` runs now, or why
    /// it cannot be told.
    fn version(
        &self,
        command: &[String],
        env: &std::collections::BTreeMap<String, String>,
    ) -> Result<String, String>;
}

/// The running program, canonicalized: what installed entries start.
pub fn current_firewall() -> Result<PathBuf> {
    let exe = std::env::current_exe().map_err(|source| InstallError::Program {
        what: "cannot tell where this mcpfw program is".to_owned(),
        source,
    })?;
    std::fs::canonicalize(&exe).map_err(|source| InstallError::Program {
        what: format!("cannot resolve {}", exe.display()),
        source,
    })
}

/// A file's new text, the install records of the entries changed, and one note per entry.
type Plan = (String, Vec<Record>, Vec<String>);

/// How often a file is read again when its program wrote it while it was being edited.
const ATTEMPTS: usize = 3;

impl Install<'_> {
    /// Protects every entry of every selected client's files.
    pub fn run(&self) -> Result<Outcome> {
        let _lock = if self.dry_run { None } else { Some(files::lock(self.paths)?) };
        let mut manifest = Manifest::load(self.paths)?;
        let mut outcome = Outcome::default();
        for client in self.clients {
            for file in clients::config_files(client, self.places)? {
                match self.file(&mut manifest, client, &file) {
                    Ok(Some(done)) => outcome.files.push(done),
                    Ok(None) => {}
                    Err(e) => outcome.errors.push(crate::text::error_chain(&e)),
                }
            }
        }
        Ok(outcome)
    }

    fn file(
        &self,
        manifest: &mut Manifest,
        client: &str,
        file: &Path,
    ) -> Result<Option<FileOutcome>> {
        for attempt in 1..=ATTEMPTS {
            let Some(text) = clients::read_config(file)? else { return Ok(None) };
            let (after, records, notes) = if clients::is_yaml(file) {
                self.plan_yaml(client, file, &text)?
            } else if clients::is_toml(client) {
                self.plan_toml(client, file, &text)?
            } else {
                self.plan_json(manifest, client, file, &text)?
            };
            let routed = records.iter().any(|r| r.route.is_some());
            let mut done = FileOutcome {
                client: client.to_owned(),
                file: file.to_owned(),
                notes,
                before: text,
                after,
                backup: None,
                routed,
            };
            if !done.changed() || self.dry_run {
                return Ok(Some(done));
            }
            let backup = files::backup(self.paths, client, file, done.before.as_bytes())?;
            for mut record in records {
                record.backup = Some(backup.clone());
                manifest.put(record);
            }
            // The manifest first: after a crash between the two writes, its records name
            // entries that still hold their original text, which uninstall recognises.
            manifest.save(self.paths)?;
            match files::replace(file, done.before.as_bytes(), done.after.as_bytes()) {
                Ok(()) => {
                    done.backup = Some(backup);
                    return Ok(Some(done));
                }
                Err(FileError::Changed(_)) if attempt < ATTEMPTS => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(InstallError::KeepsChanging { file: file.to_owned() })
    }

    /// The new text of a JSON file with its entries protected, the install records and one
    /// note per entry.
    fn plan_json(
        &self,
        manifest: &Manifest,
        client: &str,
        file: &Path,
        text: &str,
    ) -> Result<Plan> {
        let doc = clients::parse_config(file, text)?;
        let mut edits: Vec<(Range<usize>, String)> = Vec::new();
        let mut records = Vec::new();
        let mut notes = Vec::new();
        for entry in clients::entries(client, file, text, &doc) {
            let Some(node) = doc.at(&entry.pointer) else { continue };
            let label = label(&entry);
            if let Launch::Stdio { command, .. } = &entry.launch
                && let Some(warning) = squat_warning(command)
            {
                notes.push(format!("{label}: WARNING: {warning}"));
            }
            if entry.wrapped || entry.bridged {
                let pinned = match (&entry.launch, self.pin) {
                    (Launch::Stdio { command, env }, Some(pinner)) if entry.wrapped => {
                        let current = &text[node.span.clone()];
                        let record = manifest.find(file, &entry.pointer).cloned();
                        match pin_wrapped(node, current, command, env, pinner, record) {
                            Ok(Some((record, spec))) => {
                                edits.push((node.span.clone(), record.installed.clone()));
                                records.push(Record {
                                    client: client.to_owned(),
                                    file: file.to_owned(),
                                    pointer: entry.pointer.clone(),
                                    ..record
                                });
                                format!("; pinned to {spec}")
                            }
                            Ok(None) => String::new(),
                            Err(why) => format!("; not pinned: {why}"),
                        }
                    }
                    _ => String::new(),
                };
                notes.push(format!("{label}: already protected{pinned}"));
                continue;
            }
            let mut pinned = None;
            let (rewritten, how) = match &entry.launch {
                Launch::Stdio { command, env } => {
                    let extra = match self.pin.map(|p| pin_edit(node, command, env, p)) {
                        Some(Ok(Some((span, spec)))) => {
                            pinned = Some(format!("pinned to {spec}"));
                            vec![(span, json_string(&spec))]
                        }
                        Some(Err(why)) => {
                            pinned = Some(format!("not pinned: {why}"));
                            Vec::new()
                        }
                        Some(Ok(None)) | None => Vec::new(),
                    };
                    (
                        wrapped_entry_with(text, node, &entry.name, self.firewall, extra)
                            .map(|text| (text, None)),
                        "runs through mcpfw wrap",
                    )
                }
                Launch::Remote { .. } => (
                    self.route(client, &entry, text, node).map(|(text, route)| (text, Some(route))),
                    "through MCP Firewall's HTTP proxy, served by the daemon",
                ),
            };
            match rewritten {
                Ok((installed, route)) => {
                    let pinned = pinned.map(|p| format!("; {p}")).unwrap_or_default();
                    notes.push(format!("{label}: protected ({how}){pinned}"));
                    records.push(Record {
                        client: client.to_owned(),
                        file: file.to_owned(),
                        pointer: entry.pointer.clone(),
                        original: text[node.span.clone()].to_owned(),
                        installed: installed.clone(),
                        installed_ms: crate::record::now_ms(),
                        backup: None,
                        route,
                        command_text: None,
                    });
                    edits.push((node.span.clone(), installed));
                }
                Err(why) => notes.push(format!("{label}: left unprotected: {why}")),
            }
        }
        Ok((apply(text, edits), records, notes))
    }

    /// Install on a YAML file (Goose's, Continue's): each stdio entry is rewritten line by line
    /// ([`crate::yamlc::wrap`]), each remote entry's address replaced by its route in the HTTP
    /// proxy with the token in the path ([`crate::yamlc::route`]); every edit is checked by
    /// parsing the result. `--pin` does not edit YAML files yet (each stdio entry says so).
    fn plan_yaml(&self, client: &str, file: &Path, text: &str) -> Result<Plan> {
        let firewall = self.firewall.to_str().ok_or(InstallError::ProgramNotUtf8)?;
        let unpinned = |entry: &ServerEntry| match entry.launch {
            Launch::Stdio { .. } if self.pin.is_some() => {
                "; not pinned: --pin does not edit YAML files yet"
            }
            _ => "",
        };
        let mut notes = Vec::new();
        let mut records = Vec::new();
        let mut now = text.to_owned();
        for found in clients::found(client, file, text)? {
            let entry = &found.entry;
            let label = label(entry);
            if entry.wrapped || entry.bridged {
                notes.push(format!("{label}: already protected{}", unpinned(entry)));
                continue;
            }
            let (edited, route, command_text, how) = match &entry.launch {
                Launch::Stdio { command, .. } => {
                    match crate::yamlc::wrap(client, &now, &entry.name, &command[0], firewall) {
                        Ok((after, raw)) => (after, None, raw, "runs through mcpfw wrap"),
                        Err(why) => {
                            notes.push(format!("{label}: left unprotected: {why}"));
                            continue;
                        }
                    }
                }
                Launch::Remote { .. } => match self.route_yaml(client, &found, &now) {
                    Ok((after, route, raw)) => (
                        after,
                        Some(route),
                        raw,
                        "through MCP Firewall's HTTP proxy, served by the daemon",
                    ),
                    Err(why) => {
                        notes.push(format!("{label}: left unprotected: {why}"));
                        continue;
                    }
                },
            };
            let installed = clients::found(client, file, &edited)?
                .into_iter()
                .find(|f| f.entry.pointer == entry.pointer)
                .ok_or(InstallError::Vanished)?
                .current;
            notes.push(format!("{label}: protected ({how}){}", unpinned(entry)));
            records.push(Record {
                client: client.to_owned(),
                file: file.to_owned(),
                pointer: entry.pointer.clone(),
                original: found.current.clone(),
                installed,
                installed_ms: crate::record::now_ms(),
                backup: None,
                route,
                command_text: Some(command_text),
            });
            now = edited;
        }
        Ok((now, records, notes))
    }

    /// A remote entry of a YAML file pointed at its route in the HTTP proxy: the new text, the
    /// route's name and the address as it was written.
    fn route_yaml(
        &self,
        client: &str,
        found: &clients::Found,
        text: &str,
    ) -> Result<(String, String, String), EntryError> {
        let node = crate::jsonc::parse(&found.current)?;
        let (_, route) = self.register(client, &found.entry, &node)?;
        let url = remote::url_with_token(&route);
        let (after, raw) = crate::yamlc::route(client, text, &found.entry.name, &url)?;
        Ok((after, route.name, raw))
    }

    /// [`Self::plan_json`] for a TOML file (Codex CLI's), edited with [`crate::tomlc`]: each
    /// stdio entry's `command` and `args` are changed in place, everything else is kept.
    fn plan_toml(&self, client: &str, file: &Path, text: &str) -> Result<Plan> {
        let mut doc = crate::tomlc::parse(file, text)?;
        let firewall = self.firewall.to_str().ok_or(InstallError::ProgramNotUtf8)?;
        let mut records = Vec::new();
        let mut notes = Vec::new();
        for found in clients::found(client, file, text)? {
            let entry = &found.entry;
            let label = label(entry);
            if let Launch::Stdio { command, .. } = &entry.launch
                && let Some(warning) = squat_warning(command)
            {
                notes.push(format!("{label}: WARNING: {warning}"));
            }
            if entry.wrapped || entry.bridged {
                let unpinned = match (&entry.launch, self.pin) {
                    (Launch::Stdio { .. }, Some(_)) if entry.wrapped => {
                        "; not pinned: --pin edits a TOML entry only as it protects it \
                         (uninstall it first)"
                    }
                    _ => "",
                };
                notes.push(format!("{label}: already protected{unpinned}"));
                continue;
            }
            if let Launch::Remote { .. } = entry.launch {
                match self.route_toml(client, &found, &mut doc) {
                    Ok(route) => {
                        let installed = crate::tomlc::entry_value(&doc, &entry.pointer)
                            .ok_or(InstallError::Vanished)?;
                        notes.push(format!(
                            "{label}: protected (through MCP Firewall's HTTP proxy, served by \
                             the daemon)"
                        ));
                        records.push(Record {
                            client: client.to_owned(),
                            file: file.to_owned(),
                            pointer: entry.pointer.clone(),
                            original: found.current.clone(),
                            installed: crate::tomlc::value_text(&installed),
                            installed_ms: crate::record::now_ms(),
                            backup: None,
                            route: Some(route),
                            command_text: None,
                        });
                    }
                    Err(why) => notes.push(format!("{label}: left unprotected: {why}")),
                }
                continue;
            }
            let Some(table) = crate::tomlc::entry_mut(&mut doc, &entry.pointer) else {
                notes.push(format!("{label}: left unprotected: it is not a table"));
                continue;
            };
            let command_text = crate::tomlc::command_text(table);
            // `--pin`: the spec is pinned in its own argument first, then the entry wrapped.
            let mut pinned = String::new();
            let mut unpin = None;
            if let (Some(pinner), Launch::Stdio { command, env }) = (self.pin, &entry.launch) {
                let words = crate::tomlc::args(table).unwrap_or_default();
                let refs: Vec<Option<&str>> = words.iter().map(Option::as_deref).collect();
                match pin_word(&refs, command, env, pinner) {
                    Ok(Some((index, word))) => match crate::tomlc::set_arg(table, index, &word) {
                        Ok(()) => {
                            let shown = word.rsplit('=').next().unwrap_or(&word);
                            pinned = format!("; pinned to {shown}");
                            unpin = words[index].clone().map(|was| (index, was));
                        }
                        Err(why) => pinned = format!("; not pinned: {why}"),
                    },
                    Ok(None) => {}
                    Err(why) => pinned = format!("; not pinned: {why}"),
                }
            }
            let wrapped = crate::tomlc::wrap(table, &entry.name, firewall);
            if wrapped.is_err()
                && let Some((index, was)) = unpin
            {
                // Left unprotected: left unpinned too (nothing changes that uninstall could
                // not put back).
                let _ = crate::tomlc::set_arg(table, index, &was);
            }
            match wrapped {
                Ok(()) => {
                    let installed = crate::tomlc::entry_value(&doc, &entry.pointer)
                        .ok_or(InstallError::Vanished)?;
                    notes.push(format!("{label}: protected (runs through mcpfw wrap){pinned}"));
                    records.push(Record {
                        client: client.to_owned(),
                        file: file.to_owned(),
                        pointer: entry.pointer.clone(),
                        original: found.current.clone(),
                        installed: crate::tomlc::value_text(&installed),
                        installed_ms: crate::record::now_ms(),
                        backup: None,
                        route: None,
                        command_text,
                    });
                }
                Err(why) => notes.push(format!("{label}: left unprotected: {why}")),
            }
        }
        let after = if records.is_empty() { text.to_owned() } else { doc.to_string() };
        Ok((after, records, notes))
    }

    /// A remote entry pointed at its route in the HTTP proxy (registered there, except in a
    /// dry run, which shows a placeholder route).
    fn route(
        &self,
        client: &str,
        entry: &ServerEntry,
        text: &str,
        node: &Node,
    ) -> Result<(String, String), EntryError> {
        if client == "claude-desktop" {
            return Err(EntryError::RemoteNotRouted(
                "Claude Desktop does not start remote entries from this file (use `mcpfw wrap \
                 --name NAME --url URL` as a stdio entry)",
            ));
        }
        let (router, route) = self.register(client, entry, node)?;
        if client == "continue" {
            // Its documented headers are YAML's `requestOptions`, not a JSON `headers` member:
            // the token goes in the route's path.
            let text = remote::routed_address(text, node, &remote::url_with_token(&route))?;
            return Ok((text, route.name));
        }
        let text = remote::routed_entry(
            text,
            node,
            clients::url_key(client),
            router.token_header(),
            &route,
        )?;
        Ok((text, route.name))
    }

    /// The route of a remote entry (`node`: its value) in the HTTP proxy: registered there,
    /// except in a dry run, which shows a placeholder route.
    fn register(
        &self,
        client: &str,
        entry: &ServerEntry,
        node: &Node,
    ) -> Result<(&dyn remote::Router, remote::Route), EntryError> {
        let router = self.router.ok_or(EntryError::NoProxy)?;
        let upstream = remote::upstream(node, clients::url_key(client))?;
        let route = if self.dry_run {
            let name = remote::route_name(&entry.name);
            let end = if upstream.legacy_sse { "sse" } else { "mcp" };
            remote::Route {
                url: format!("http://127.0.0.1:<port>/s/{name}/{end}"),
                name,
                token: "<token>".to_owned(),
            }
        } else {
            router
                .register(client, &entry.name, &upstream)
                .map_err(|e| EntryError::RouteRefused(crate::text::error_chain(&e)))?
        };
        Ok((router, route))
    }

    /// A remote entry of a TOML file (Codex CLI's `url`) pointed at its route in the HTTP
    /// proxy, the token in its `http_headers`; the route's name.
    fn route_toml(
        &self,
        client: &str,
        found: &clients::Found,
        doc: &mut toml_edit::DocumentMut,
    ) -> Result<String, EntryError> {
        let node = crate::jsonc::parse(&found.current)?;
        let Some(table) = crate::tomlc::entry_mut(doc, &found.entry.pointer) else {
            return Err(EntryError::NotATable);
        };
        crate::tomlc::check_routable(table)?;
        let (router, route) = self.register(client, &found.entry, &node)?;
        crate::tomlc::route(table, &route.url, router.token_header(), &route.token)?;
        Ok(route.name)
    }
}

/// Puts back every entry install rewrote in the selected clients' files, where it is still as
/// install left it.
pub fn uninstall(
    paths: &Paths,
    selected: &[&'static str],
    dry_run: bool,
    router: Option<&dyn remote::Router>,
) -> Result<Outcome> {
    let _lock = if dry_run { None } else { Some(files::lock(paths)?) };
    let mut manifest = Manifest::load(paths)?;
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    for record in &manifest.records {
        let key = (record.client.clone(), record.file.clone());
        if selected.contains(&record.client.as_str()) && !files.contains(&key) {
            files.push(key);
        }
    }
    let mut outcome = Outcome::default();
    for (client, file) in files {
        match uninstall_file(paths, &mut manifest, &client, &file, dry_run, router) {
            Ok(done) => outcome.files.push(done),
            Err(e) => outcome.errors.push(crate::text::error_chain(&e)),
        }
    }
    Ok(outcome)
}

fn uninstall_file(
    paths: &Paths,
    manifest: &mut Manifest,
    client: &str,
    file: &Path,
    dry_run: bool,
    router: Option<&dyn remote::Router>,
) -> Result<FileOutcome> {
    for attempt in 1..=ATTEMPTS {
        let records: Vec<Record> =
            manifest.records.iter().filter(|r| r.file == file).cloned().collect();
        let mut done =
            FileOutcome { client: client.to_owned(), file: file.to_owned(), ..Default::default() };
        let Some(text) = clients::read_config(file)? else {
            done.notes.push("the file is gone; nothing to restore".to_owned());
            if !dry_run {
                manifest.records.retain(|r| r.file != file);
                manifest.save(paths)?;
            }
            return Ok(done);
        };
        let (after, settled) = if clients::is_yaml(file) {
            restore_yaml(file, &text, &records, &mut done.notes)?
        } else if clients::is_toml(client) {
            restore_toml(file, &text, &records, &mut done.notes)?
        } else {
            restore_json(file, &text, &records, &mut done.notes)?
        };
        done.after = after;
        done.before = text;
        if dry_run {
            return Ok(done);
        }
        if done.changed() {
            let backup = files::backup(paths, client, file, done.before.as_bytes())?;
            match files::replace(file, done.before.as_bytes(), done.after.as_bytes()) {
                Ok(()) => done.backup = Some(backup),
                Err(FileError::Changed(_)) if attempt < ATTEMPTS => continue,
                Err(e) => return Err(e.into()),
            }
        }
        // The file first: after a crash between the two writes, the records name entries that
        // already hold their original text, which the next uninstall recognises.
        for pointer in &settled {
            manifest.remove(file, pointer);
            // A route is removed from the proxy once no installed entry uses it.
            let route =
                records.iter().find(|r| &r.pointer == pointer).and_then(|r| r.route.clone());
            if let (Some(router), Some(route)) = (router, route)
                && !manifest.records.iter().any(|r| r.route.as_ref() == Some(&route))
                && let Err(e) = router.unregister(client, &route)
            {
                done.notes.push(format!(
                    "the HTTP proxy's route {route} stays: {}",
                    crate::text::error_chain(&e)
                ));
            }
        }
        manifest.save(paths)?;
        return Ok(done);
    }
    Err(InstallError::KeepsChanging { file: file.to_owned() })
}

/// What uninstall does to a JSON file: its new text, and the entries settled (restored, gone
/// or already as before); one note per entry.
fn restore_json(
    file: &Path,
    text: &str,
    records: &[Record],
    notes: &mut Vec<String>,
) -> Result<(String, Vec<Vec<String>>)> {
    let doc = clients::parse_config(file, text)?;
    let mut edits = Vec::new();
    let mut settled = Vec::new();
    for record in records {
        let label = label_of(&record.pointer);
        let Some(node) = doc.at(&record.pointer) else {
            notes.push(format!("{label}: no longer in the file; nothing to restore"));
            settled.push(record.pointer.clone());
            continue;
        };
        let current = &text[node.span.clone()];
        let holds = record.holds(current);
        let original = (holds == Holds::Installed)
            .then(|| crate::jsonc::parse(&record.original).ok())
            .flatten();
        if holds == Holds::InstalledText {
            notes.push(format!("{label}: restored"));
            edits.push((node.span.clone(), record.original.clone()));
            settled.push(record.pointer.clone());
        } else if let Some(original) = original {
            // Re-serialized since install: the original value, in the file's layout now.
            notes.push(format!("{label}: restored"));
            edits.extend(restore::revert(text, node, &record.original, &original));
            settled.push(record.pointer.clone());
        } else if holds == Holds::Original {
            notes.push(format!("{label}: already as it was before install"));
            settled.push(record.pointer.clone());
        } else {
            notes.push(record.changed_note(&label));
        }
    }
    Ok((apply(text, edits), settled))
}

/// [`restore_json`] for a YAML file (Goose's, Continue's): each entry still holding the value
/// install wrote gets its original program and `args` back line by line
/// ([`crate::yamlc::unwrap`]).
fn restore_yaml(
    file: &Path,
    text: &str,
    records: &[Record],
    notes: &mut Vec<String>,
) -> Result<(String, Vec<Vec<String>>)> {
    let mut now = text.to_owned();
    let mut settled = Vec::new();
    for record in records {
        let label = label_of(&record.pointer);
        let found = clients::found(&record.client, file, &now)?;
        let Some(current) = found.iter().find(|f| f.entry.pointer == record.pointer) else {
            notes.push(format!("{label}: no longer in the file; nothing to restore"));
            settled.push(record.pointer.clone());
            continue;
        };
        let original = crate::jsonc::value_of(&record.original);
        let restored = match (record.holds(&current.current), &original) {
            (Holds::Original, _) => {
                notes.push(format!("{label}: already as it was before install"));
                settled.push(record.pointer.clone());
                continue;
            }
            (Holds::InstalledText | Holds::Installed, Some(original)) if record.route.is_some() => {
                crate::yamlc::unroute(
                    &record.client,
                    &now,
                    record.name(),
                    original,
                    record.command_text.as_deref(),
                )
            }
            (Holds::InstalledText | Holds::Installed, Some(original)) => crate::yamlc::unwrap(
                &record.client,
                &now,
                record.name(),
                original,
                record.command_text.as_deref(),
            ),
            _ => None,
        };
        match restored {
            Some(after) => {
                now = after;
                notes.push(format!("{label}: restored"));
                settled.push(record.pointer.clone());
            }
            None => {
                notes.push(record.changed_note(&label));
            }
        }
    }
    Ok((now, settled))
}

/// [`restore_json`] for a TOML file (Codex CLI's): each entry still holding the value install
/// wrote gets its original value back in place ([`crate::tomlc::revert`]).
fn restore_toml(
    file: &Path,
    text: &str,
    records: &[Record],
    notes: &mut Vec<String>,
) -> Result<(String, Vec<Vec<String>>)> {
    let mut doc = crate::tomlc::parse(file, text)?;
    let mut settled = Vec::new();
    let mut edited = false;
    for record in records {
        let label = label_of(&record.pointer);
        let Some(current) = crate::tomlc::entry_value(&doc, &record.pointer) else {
            notes.push(format!("{label}: no longer in the file; nothing to restore"));
            settled.push(record.pointer.clone());
            continue;
        };
        let holds = record.holds(&crate::tomlc::value_text(&current));
        let original = crate::jsonc::value_of(&record.original);
        match (holds, original.as_ref().and_then(|o| o.as_object())) {
            (Holds::InstalledText | Holds::Installed, Some(original)) => {
                if let Some(entry) = crate::tomlc::entry_mut(&mut doc, &record.pointer) {
                    crate::tomlc::revert(entry, original, record.command_text.as_deref());
                    edited = true;
                    notes.push(format!("{label}: restored"));
                    settled.push(record.pointer.clone());
                }
            }
            (Holds::Original, _) => {
                notes.push(format!("{label}: already as it was before install"));
                settled.push(record.pointer.clone());
            }
            _ => {
                notes.push(record.changed_note(&label));
            }
        }
    }
    Ok((if edited { doc.to_string() } else { text.to_owned() }, settled))
}

/// How well one entry is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Protection {
    /// A stdio entry that runs through `mcpfw wrap`.
    Wrapped,
    /// A remote entry routed through MCP Firewall's HTTP proxy.
    Bridged,
    /// Not routed through MCP Firewall.
    Unprotected,
    /// Install rewrote it, and it was edited since.
    Changed,
}

/// One entry's protection, as `mcpfw status` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct EntryStatus {
    pub client: String,
    pub file: PathBuf,
    pub server: String,
    /// `projects.<dir>` entries of Claude Code: the project.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    pub state: Protection,
    pub detail: String,
    /// A wrapped entry's package pin (what it ran when trusted, and any change waiting), when
    /// the caller looked it up in the history (see [`with_packages`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package: Option<crate::store::wire::ServerPackage>,
}

/// Gives each wrapped entry the package pinned under its name (`mcpfw wrap --name` is the
/// entry's name when `mcpfw install` wrapped it).
pub fn with_packages(entries: &mut [EntryStatus], pins: &[crate::store::packages::PackagePin]) {
    for entry in entries.iter_mut().filter(|e| e.state == Protection::Wrapped) {
        entry.package = pins.iter().find(|p| p.server == entry.server).map(Into::into);
    }
}

/// The protection of every entry of the selected clients; files that cannot be read are
/// reported as errors.
pub fn status(
    paths: &Paths,
    places: &Places,
    selected: &[&'static str],
) -> Result<(Vec<EntryStatus>, Vec<String>)> {
    let manifest = Manifest::load(paths)?;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for client in selected {
        // The client's files here, and those install changed elsewhere (another project).
        let mut files = clients::config_files(client, places)?;
        for record in manifest.records.iter().filter(|r| r.client == *client) {
            if !files.contains(&record.file) {
                files.push(record.file.clone());
            }
        }
        for file in files {
            let text = match clients::read_config(&file) {
                Ok(Some(text)) => text,
                Ok(None) => continue,
                Err(e) => {
                    errors.push(crate::text::error_chain(&e));
                    continue;
                }
            };
            let found = match clients::found(client, &file, &text) {
                Ok(found) => found,
                Err(e) => {
                    errors.push(crate::text::error_chain(&e));
                    continue;
                }
            };
            for clients::Found { entry, current, .. } in found {
                let (state, detail) =
                    protection(&entry, Some(&current), manifest.find(&file, &entry.pointer));
                out.push(EntryStatus {
                    client: client.to_string(),
                    file: file.clone(),
                    server: entry.name.clone(),
                    project: project_of(&entry.pointer),
                    state,
                    detail,
                    package: None,
                });
            }
        }
    }
    Ok((out, errors))
}

/// An entry's protection, given its current text and its install record.
pub fn protection(
    entry: &ServerEntry,
    current: Option<&str>,
    record: Option<&Record>,
) -> (Protection, String) {
    if let (Some(record), Some(current)) = (record, current)
        && record.holds(current) == Holds::Other
    {
        return (Protection::Changed, "edited since mcpfw install rewrote it".to_owned());
    }
    match &entry.launch {
        Launch::Stdio { command, .. } if entry.wrapped => {
            (Protection::Wrapped, format!("mcpfw wrap -- {}", command.join(" ")))
        }
        Launch::Stdio { command, .. } => (Protection::Unprotected, command.join(" ")),
        Launch::Remote { url } if entry.bridged => (Protection::Bridged, url.clone()),
        Launch::Remote { url } => (Protection::Unprotected, url.clone()),
    }
}

/// `projects.<dir>.mcpServers.<name>`: the project folder.
fn project_of(pointer: &[String]) -> Option<String> {
    (pointer.len() == 4 && pointer[0] == "projects").then(|| pointer[1].clone())
}

fn label(entry: &ServerEntry) -> String {
    label_of(&entry.pointer)
}

fn label_of(pointer: &[String]) -> String {
    let name = pointer.last().map_or("?", String::as_str);
    match project_of(pointer) {
        Some(project) => format!("{name} (project {project})"),
        None => name.to_owned(),
    }
}

pub(crate) use crate::jsonc::apply;

fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

/// The text of a stdio entry rewritten to run through `mcpfw wrap`: `command` becomes
/// `firewall`, and `wrap --name NAME -- <command>` goes in front of the original arguments
/// (inserted after the array's `[`, so the arguments keep their layout and comments).
/// Everything else in the entry stays byte-for-byte. Refused (with the reason) when the entry
/// is not one this can rewrite faithfully.
pub fn wrapped_entry(
    text: &str,
    entry: &Node,
    name: &str,
    firewall: &Path,
) -> Result<String, EntryError> {
    wrapped_entry_with(text, entry, name, firewall, Vec::new())
}

/// [`wrapped_entry`] with `extra` edits inside the entry (spans in `text`), such as a pinned
/// package spec.
fn wrapped_entry_with(
    text: &str,
    entry: &Node,
    name: &str,
    firewall: &Path,
    extra: Vec<(Range<usize>, String)>,
) -> Result<String, EntryError> {
    // Zed's older form: `{"command": {"path": …, "args": […], "env": {…}}}`; the nested
    // object is rewritten the same way, with `path` as its program.
    if let Some(nested) =
        entry.member("command").filter(|c| matches!(c.value.kind, Kind::Object(_)))
    {
        let inner = wrapped_object(text, &nested.value, "path", name, firewall, extra)?;
        let start = entry.span.start;
        let span = nested.value.span.start - start..nested.value.span.end - start;
        return Ok(apply(&text[entry.span.clone()], vec![(span, inner)]));
    }
    wrapped_object(text, entry, "command", name, firewall, extra)
}

/// [`wrapped_entry_with`] on an object whose program is its member `program_key`.
fn wrapped_object(
    text: &str,
    entry: &Node,
    program_key: &str,
    name: &str,
    firewall: &Path,
    extra: Vec<(Range<usize>, String)>,
) -> Result<String, EntryError> {
    let command = entry.member(program_key).ok_or(EntryError::NoCommand)?;
    let program = command.value.as_str().ok_or(EntryError::CommandNotString)?;
    if program.trim().is_empty() {
        return Err(EntryError::EmptyCommand);
    }
    let firewall = firewall.to_str().ok_or(EntryError::ProgramNotUtf8)?;
    let prefix = ["wrap", "--name", name, "--", program]
        .iter()
        .map(|s| json_string(s))
        .collect::<Vec<_>>()
        .join(", ");
    let mut edits = vec![(command.value.span.clone(), json_string(firewall))];
    match entry.member("args") {
        None => edits.push((
            command.value.span.end..command.value.span.end,
            format!(", \"args\": [{prefix}]"),
        )),
        Some(args) => match &args.value.kind {
            Kind::Array(items) if items.iter().all(|i| i.as_str().is_some()) => {
                let open = args.value.span.start + 1;
                if items.is_empty() {
                    edits.push((args.value.span.clone(), format!("[{prefix}]")));
                } else {
                    let space =
                        if text[open..].starts_with(char::is_whitespace) { "" } else { " " };
                    edits.push((open..open, format!("{prefix},{space}")));
                }
            }
            _ => return Err(EntryError::ArgsNotStrings),
        },
    }
    edits.extend(
        extra
            .into_iter()
            .filter(|(span, _)| span.start >= entry.span.start && span.end <= entry.span.end),
    );
    let start = entry.span.start;
    let relative =
        edits.into_iter().map(|(span, t)| (span.start - start..span.end - start, t)).collect();
    Ok(apply(&text[entry.span.clone()], relative))
}

/// `--pin` for an entry protected earlier: its install record with the spec pinned inside the
/// wrapped entry, and the spec. Uninstall still puts back the text from before the first
/// install (the record keeps it); an entry wrapped by hand gets a record whose original is
/// its wrapped text now. An entry edited since install wrote it is left alone.
fn pin_wrapped(
    node: &Node,
    current: &str,
    command: &[String],
    env: &std::collections::BTreeMap<String, String>,
    pinner: &dyn Pinner,
    record: Option<Record>,
) -> Result<Option<(Record, String)>, EntryError> {
    let Some((span, spec)) = pin_edit(node, command, env, pinner)? else { return Ok(None) };
    let start = node.span.start;
    let mut installed = current.to_owned();
    installed.replace_range(span.start - start..span.end - start, &json_string(&spec));
    let shown = spec.rsplit('=').next().unwrap_or(&spec).to_owned();
    let record = match record {
        Some(record) => match record.holds(current) {
            Holds::InstalledText | Holds::Installed => Record { installed, ..record },
            Holds::Original | Holds::Other => {
                return Err(EntryError::EditedSinceInstall);
            }
        },
        None => Record {
            client: String::new(),
            file: PathBuf::new(),
            pointer: Vec::new(),
            original: current.to_owned(),
            installed,
            installed_ms: 0,
            backup: None,
            route: None,
            command_text: None,
        },
    };
    Ok(Some((Record { installed_ms: crate::record::now_ms(), ..record }, shown)))
}

/// The warning for a stdio entry whose package name imitates a well-known one.
fn squat_warning(command: &[String]) -> Option<String> {
    let (program, args) = command.split_first()?;
    let package = mcpfw_core::package::parse_command(program, args)?;
    let squat = mcpfw_core::package::squat::check(package.ecosystem, &package.name)?;
    Some(format!(
        "its package `{}` looks like the well-known `{}` ({}); check the name. MCP Firewall \
         asks you before its first start",
        package.name,
        squat.imitates,
        squat.trick.as_str()
    ))
}

/// For `--pin`: the span of the `args` item that holds an unpinned package spec, and the spec
/// pinned to the version in use. `Ok(None)`: nothing to pin (not a package launcher, or
/// already one exact version).
fn pin_edit(
    entry: &Node,
    command: &[String],
    env: &std::collections::BTreeMap<String, String>,
    pinner: &dyn Pinner,
) -> Result<Option<(Range<usize>, String)>, EntryError> {
    let items = match entry.member("args").map(|a| &a.value.kind) {
        Some(Kind::Array(items)) => items,
        _ => return Err(EntryError::PackageNotInArgs),
    };
    let words: Vec<Option<&str>> = items.iter().map(|i| i.as_str()).collect();
    Ok(pin_word(&words, command, env, pinner)?.map(|(i, word)| (items[i].span.clone(), word)))
}

/// [`pin_edit`] over the entry's arguments (`None` for one that is not a string): the index of
/// the one that holds the unpinned spec, and what it becomes.
fn pin_word(
    words: &[Option<&str>],
    command: &[String],
    env: &std::collections::BTreeMap<String, String>,
    pinner: &dyn Pinner,
) -> Result<Option<(usize, String)>, EntryError> {
    use mcpfw_core::package::{Ecosystem, parse_command};
    let Some((program, args)) = command.split_first() else { return Ok(None) };
    let Some(package) = parse_command(program, args) else { return Ok(None) };
    if package.pinned {
        return Ok(None);
    }
    let plain = |spec: &str| match package.ecosystem {
        Ecosystem::Npm => {
            matches!(package.launcher.as_str(), "npx" | "npm exec" | "pnpm dlx" | "bunx")
        }
        // `uvx pkg@1.2.3`, `pipx run pkg==1.2.3`; a spec with extras or an operator is left as
        // written.
        Ecosystem::PyPi => {
            matches!(package.launcher.as_str(), "uvx" | "uv tool run" | "pipx run")
                && spec.chars().all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c))
        }
        _ => false,
    };
    if !plain(&package.spec) {
        return Err(EntryError::LauncherNotPinned(package.launcher.clone()));
    }
    let index = words
        .iter()
        .position(|i| {
            i.is_some_and(|s| {
                s == package.spec
                    || s.strip_prefix("--package=")
                        .or_else(|| s.strip_prefix("--from="))
                        .or_else(|| s.strip_prefix("--spec="))
                        == Some(package.spec.as_str())
            })
        })
        .ok_or(EntryError::PackageNotOwnArg)?;
    let version = pinner.version(command, env).map_err(EntryError::Version)?;
    // pipx takes a requirement (`pkg==1.2.3`), the others `pkg@1.2.3`.
    let at = if package.launcher == "pipx run" { "==" } else { "@" };
    let pinned = format!("{}{at}{version}", package.name);
    let word = words[index].unwrap_or_default();
    let replacement = match word.split_once('=') {
        Some((option, _)) if word.starts_with("--") => format!("{option}={pinned}"),
        _ => pinned,
    };
    Ok(Some((index, replacement)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrap(text: &str) -> String {
        let doc = crate::jsonc::parse(text).unwrap();
        wrapped_entry(text, &doc, "fs", Path::new("/opt/mcpfw")).unwrap()
    }

    /// The version a pin would use, given here (the program's resolver reads npm's cache).
    struct Fixed(Result<String, String>);
    impl Pinner for Fixed {
        fn version(
            &self,
            _: &[String],
            _: &std::collections::BTreeMap<String, String>,
        ) -> Result<String, String> {
            self.0.clone()
        }
    }

    fn pin(text: &str, version: Result<&str, &str>) -> Result<String, EntryError> {
        let doc = crate::jsonc::parse(text).unwrap();
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
        let command: Vec<String> = std::iter::once(value["command"].as_str().unwrap().to_owned())
            .chain(value["args"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_owned()))
            .collect();
        let pinner = Fixed(version.map(str::to_owned).map_err(str::to_owned));
        let extra = pin_edit(&doc, &command, &Default::default(), &pinner)?
            .map(|(span, spec)| vec![(span, json_string(&spec))])
            .unwrap_or_default();
        wrapped_entry_with(text, &doc, "s", Path::new("/m"), extra)
    }

    #[test]
    fn pin_inside_a_wrapped_entry_keeps_the_first_original_and_leaves_an_edited_entry_alone() {
        let original = r#"{"command": "npx", "args": ["-y", "@a/srv"]}"#;
        let wrapped =
            r#"{"command": "/m", "args": ["wrap", "--name", "s", "--", "npx", "-y", "@a/srv"]}"#;
        let doc = crate::jsonc::parse(wrapped).unwrap();
        let command: Vec<String> = ["npx", "-y", "@a/srv"].map(String::from).to_vec();
        let pinner = Fixed(Ok("1.2.3".to_owned()));
        let record = Record {
            client: "cursor".into(),
            file: "/f.json".into(),
            pointer: vec!["mcpServers".into(), "s".into()],
            original: original.into(),
            installed: wrapped.into(),
            installed_ms: 1,
            backup: None,
            route: None,
            command_text: None,
        };
        let pin = |record: Option<Record>| {
            pin_wrapped(&doc, wrapped, &command, &Default::default(), &pinner, record)
        };
        let (pinned, spec) = pin(Some(record.clone())).unwrap().unwrap();
        assert_eq!(spec, "@a/srv@1.2.3");
        assert_eq!(
            pinned.installed,
            r#"{"command": "/m", "args": ["wrap", "--name", "s", "--", "npx", "-y", "@a/srv@1.2.3"]}"#
        );
        assert_eq!((pinned.original.as_str(), &pinned.pointer), (original, &record.pointer));
        // Wrapped by hand: uninstall would put back the wrapped, unpinned text.
        let (pinned, _) = pin(None).unwrap().unwrap();
        assert_eq!(pinned.original, wrapped);
        // Edited since install wrote it: left alone.
        let installed =
            r#"{"command": "/m", "args": ["wrap", "--name", "s", "--", "npx", "-y", "@b/x"]}"#;
        let edited = Record { installed: installed.into(), ..record };
        let why = pin(Some(edited)).unwrap_err();
        assert_eq!(why, EntryError::EditedSinceInstall);
        assert!(why.to_string().contains("edited since"), "{why}");
    }

    #[test]
    fn pin_rewrites_only_an_unpinned_spec_in_its_own_args_item() {
        assert_eq!(
            pin(r#"{"command": "npx", "args": ["-y", "@a/srv"]}"#, Ok("1.2.3")).unwrap(),
            r#"{"command": "/m", "args": ["wrap", "--name", "s", "--", "npx", "-y", "@a/srv@1.2.3"]}"#
        );
        assert_eq!(
            pin(r#"{"command":"npm","args":["exec","--package=srv@^1","--","srv"]}"#, Ok("1.4.0"))
                .unwrap(),
            r#"{"command":"/m","args":["wrap", "--name", "s", "--", "npm", "exec","--package=srv@1.4.0","--","srv"]}"#
        );
        assert_eq!(
            pin(r#"{"command": "uvx", "args": ["mcp-server-time"]}"#, Ok("0.6.2")).unwrap(),
            r#"{"command": "/m", "args": ["wrap", "--name", "s", "--", "uvx", "mcp-server-time@0.6.2"]}"#
        );
        let exact = r#"{"command": "npx", "args": ["-y", "srv@1.0.0"]}"#;
        assert_eq!(pin(exact, Ok("9.9.9")).unwrap(), pin(exact, Err("unused")).unwrap());
        assert_eq!(
            pin(r#"{"command": "npx", "args": ["-y", "srv"]}"#, Err("not known")),
            Err(EntryError::Version("not known".to_owned()))
        );
        assert_eq!(
            pin(r#"{"command": "pnpm", "args": ["dlx", "srv"]}"#, Ok("1.0.0")).unwrap(),
            r#"{"command": "/m", "args": ["wrap", "--name", "s", "--", "pnpm", "dlx", "srv@1.0.0"]}"#
        );
        assert_eq!(
            pin(r#"{"command": "pipx", "args": ["run", "--spec=Srv", "srv"]}"#, Ok("0.2")).unwrap(),
            r#"{"command": "/m", "args": ["wrap", "--name", "s", "--", "pipx", "run", "--spec=srv==0.2", "srv"]}"#
        );
        assert_eq!(
            pin(r#"{"command": "bunx", "args": ["srv"]}"#, Ok("1.0.0")).unwrap(),
            r#"{"command": "/m", "args": ["wrap", "--name", "s", "--", "bunx", "srv@1.0.0"]}"#
        );
        assert!(
            pin(r#"{"command": "docker", "args": ["run", "-i", "img"]}"#, Ok("1.0.0"))
                .unwrap_err()
                .to_string()
                .contains("docker")
        );
        assert!(
            pin(r#"{"command": "pipx", "args": ["run", "srv>=1"]}"#, Ok("1.0.0"))
                .unwrap_err()
                .to_string()
                .contains("pipx run")
        );
    }

    #[test]
    fn a_stdio_entry_is_wrapped_keeping_its_other_keys_and_layout() {
        assert_eq!(
            wrap("{\"command\": \"npx\", \"args\": [\"-y\", \"srv\"], \"env\": {\"K\": \"v\"}}"),
            "{\"command\": \"/opt/mcpfw\", \"args\": [\"wrap\", \"--name\", \"fs\", \"--\", \"npx\", \"-y\", \"srv\"], \"env\": {\"K\": \"v\"}}"
        );
        assert_eq!(
            wrap(
                "{\n  \"command\": \"uvx\", // git\n  \"args\": [\n    \"mcp-server-git\"\n  ]\n}"
            ),
            "{\n  \"command\": \"/opt/mcpfw\", // git\n  \"args\": [\"wrap\", \"--name\", \"fs\", \"--\", \"uvx\",\n    \"mcp-server-git\"\n  ]\n}"
        );
        assert_eq!(
            wrap("{\"command\": \"srv\"}"),
            "{\"command\": \"/opt/mcpfw\", \"args\": [\"wrap\", \"--name\", \"fs\", \"--\", \"srv\"]}"
        );
        assert_eq!(
            wrap("{\"args\": [], \"command\": \"a \\\"b\\\"\"}"),
            "{\"args\": [\"wrap\", \"--name\", \"fs\", \"--\", \"a \\\"b\\\"\"], \"command\": \"/opt/mcpfw\"}"
        );
    }

    /// A stand-in for the HTTP proxy's registry that remembers its routes.
    #[derive(Default)]
    struct Routes(std::sync::Mutex<Vec<(String, String, String)>>);

    impl remote::Router for Routes {
        fn token_header(&self) -> &str {
            remote::TOKEN_HEADER
        }
        fn register(
            &self,
            client: &str,
            name: &str,
            upstream: &remote::Upstream,
        ) -> Result<remote::Route, remote::RegistryError> {
            let mut routes = self.0.lock().unwrap();
            routes.push((client.into(), name.into(), upstream.url.clone()));
            Ok(remote::Route {
                name: name.into(),
                url: format!("http://127.0.0.1:4000/s/{name}/mcp"),
                token: format!("token-{}", routes.len()),
            })
        }
        fn unregister(&self, client: &str, name: &str) -> Result<(), remote::RegistryError> {
            self.0.lock().unwrap().retain(|(c, n, _)| !(c == client && n == name));
            Ok(())
        }
    }

    #[test]
    fn remote_entries_are_routed_through_the_proxy_and_restored_with_their_routes_removed() {
        let home = tempfile::tempdir().unwrap();
        let places = Places::under(home.path(), home.path());
        let paths = Paths::under(&home.path().join("fw"));
        std::fs::create_dir_all(home.path().join(".codeium/windsurf")).unwrap();
        let file = home.path().join(".codeium/windsurf/mcp_config.json");
        let original = "{\"mcpServers\": {\n  \"docs\": {\"serverUrl\": \"https://docs.example/mcp\", \"headers\": {\"K\": \"v\"}},\n  \"old\": {\"type\": \"sse\", \"url\": \"https://o/sse\"},\n  \"var\": {\"url\": \"${env:BASE}/mcp\"}\n}}\n";
        std::fs::write(&file, original).unwrap();
        let routes = Routes::default();
        let install = Install {
            paths: &paths,
            places: &places,
            clients: &["windsurf"],
            firewall: Path::new("/opt/mcpfw"),
            dry_run: false,
            router: Some(&routes),
            pin: None,
        };
        let outcome = install.run().unwrap();
        assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
        assert_eq!(
            *routes.0.lock().unwrap(),
            [
                ("windsurf".into(), "docs".into(), "https://docs.example/mcp".into()),
                ("windsurf".into(), "old".into(), "https://o/sse".into())
            ]
        );
        let entries = clients::servers("windsurf", &places).unwrap();
        assert!(entries[0].bridged, "{entries:?}");
        assert!(entries[1].bridged, "legacy SSE too");
        assert!(!entries[2].bridged, "an address with variables is left as it is");
        let (status, _) = status(&paths, &places, &["windsurf"]).unwrap();
        assert_eq!(status[0].state, Protection::Bridged);
        let value: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(
            value["mcpServers"]["docs"]["headers"],
            serde_json::json!({"X-MCPFW-Token": "token-1", "K": "v"})
        );
        // Again: nothing changes, nothing more is registered.
        let again = install.run().unwrap();
        assert!(again.files.iter().all(|f| !f.changed()));
        assert_eq!(routes.0.lock().unwrap().len(), 2);

        let outcome = uninstall(&paths, &["windsurf"], false, Some(&routes)).unwrap();
        assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), original);
        assert!(routes.0.lock().unwrap().is_empty(), "the routes are removed");
    }

    #[test]
    fn pin_in_a_toml_file_pins_the_spec_as_it_wraps_and_uninstall_puts_the_bytes_back() {
        let home = tempfile::tempdir().unwrap();
        let places = Places::under(home.path(), home.path());
        let paths = Paths::under(&home.path().join("fw"));
        std::fs::create_dir_all(home.path().join(".codex")).unwrap();
        let file = home.path().join(".codex/config.toml");
        let original = "model = \"m\"\n\n# my servers\n[mcp_servers.memory]\ncommand = \"npx\"\n\
                        args = [\"-y\",   \"srv\"]  # unpinned\n\n[mcp_servers.time]\n\
                        command = 'uvx'\nargs = [\n  \"mcp-server-time\",\n]\n\n\
                        [mcp_servers.odd]\ncommand = \"npx\"\nargs = [\"-y\", 3]\n";
        std::fs::write(&file, original).unwrap();
        let pinner = Fixed(Ok("1.2.3".into()));
        let install = Install {
            paths: &paths,
            places: &places,
            clients: &["codex"],
            firewall: Path::new("/m/mcpfw"),
            dry_run: false,
            router: None,
            pin: Some(&pinner),
        };
        let outcome = install.run().unwrap();
        let notes: Vec<&String> = outcome.files.iter().flat_map(|f| &f.notes).collect();
        let note = |server: &str| notes.iter().find(|n| n.starts_with(server)).unwrap().as_str();
        assert!(note("memory").ends_with("(runs through mcpfw wrap); pinned to srv@1.2.3"));
        assert!(note("time").ends_with("pinned to mcp-server-time@1.2.3"), "{notes:?}");
        assert!(note("odd").contains("left unprotected"), "{notes:?}");
        let after = std::fs::read_to_string(&file).unwrap();
        assert!(
            after.contains(
                "args = [\"wrap\", \"--name\", \"memory\", \"--\", \"npx\", \"-y\",   \"srv@1.2.3\"]  # unpinned"
            ),
            "{after}"
        );
        assert!(after.contains("\"mcp-server-time@1.2.3\",\n]"), "{after}");
        assert!(
            after.contains("[mcp_servers.odd]\ncommand = \"npx\"\nargs = [\"-y\", 3]"),
            "{after}"
        );
        // Protected already: not pinned again, and said why.
        let again = install.run().unwrap();
        let notes: Vec<&String> = again.files.iter().flat_map(|f| &f.notes).collect();
        assert!(
            notes.iter().any(|n| n.contains("memory: already protected; not pinned")),
            "{notes:?}"
        );
        let outcome = uninstall(&paths, &["codex"], false, None).unwrap();
        assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), original, "byte-exact round trip");
    }

    #[test]
    fn a_server_named_twice_is_wrapped_once_where_json_readers_see_it() {
        let home = tempfile::tempdir().unwrap();
        let places = Places::under(home.path(), home.path());
        let paths = Paths::under(&home.path().join("fw"));
        std::fs::create_dir_all(home.path().join(".cursor")).unwrap();
        let file = home.path().join(".cursor/mcp.json");
        let text = r#"{"mcpServers": {"a": {"command": "one"}, "a": {"command": "two"}}}"#;
        std::fs::write(&file, text).unwrap();
        let install = Install {
            paths: &paths,
            places: &places,
            clients: &["cursor"],
            firewall: Path::new("/m/mcpfw"),
            dry_run: false,
            router: None,
            pin: None,
        };
        install.run().unwrap();
        let after = std::fs::read_to_string(&file).unwrap();
        assert_eq!(
            after,
            r#"{"mcpServers": {"a": {"command": "one"}, "a": {"command": "/m/mcpfw", "args": ["wrap", "--name", "a", "--", "two"]}}}"#
        );
        uninstall(&paths, &["cursor"], false, None).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
    }

    #[test]
    fn entries_that_cannot_be_rewritten_faithfully_are_refused() {
        for text in [
            "{\"command\": 3}",
            "{\"command\": \"x\", \"args\": \"-y\"}",
            "{\"command\": \"x\", \"args\": [1]}",
            "{\"command\": \" \"}",
        ] {
            let doc = crate::jsonc::parse(text).unwrap();
            assert!(wrapped_entry(text, &doc, "n", Path::new("/m")).is_err(), "{text}");
        }
    }
}
