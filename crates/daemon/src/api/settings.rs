//! The settings a person changes on the dashboard: `GET /api/v1/settings` (what is in effect)
//! and `PUT /api/v1/settings` (a partial object of `approval_timeout_s`, `unattended`,
//! `retention_days`, `notifications`, `autostart`).
//!
//! The first four are kept under `[settings]` in `policy.toml`, edited in place (toml_edit):
//! the person's comments, order and layout stay, only the values change. A file that does not
//! pass `mcpfw policy check` is never written (the person may be in the middle of editing it);
//! the write is atomic and keeps the file's permissions and symlink (see
//! [`crate::install::files::replace`]).
//!
//! What a change does at once: the approval timeout applies to calls that start waiting from
//! now on ([`ApprovalBroker::set_timeout`]); notifications stop or resume; a shorter retention
//! prunes the history now (and the daemon prunes once a day). `unattended` is read by each
//! `mcpfw wrap` when it starts, so it applies to servers started afterwards. `autostart` is
//! the desktop app's own switch ([`Autostart`]); `mcpfw daemon` has none.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::refuse;
use crate::approval::broker::ApprovalBroker;
use crate::paths::Paths;
use crate::policy::file::{
    MAX_RETENTION_DAYS, PolicyFile, TIMEOUT_RANGE, Unattended, retention_message, timeout_message,
};
use crate::store::Store;

/// The host's "start at login" switch: the desktop app gives one to the daemon it hosts.
pub trait Autostart: Send + Sync + std::fmt::Debug {
    /// Whether the app starts at login.
    fn enabled(&self) -> Result<bool, AutostartError>;
    /// Turns starting at login on or off; the state afterwards.
    fn set(&self, on: bool) -> Result<bool, AutostartError>;
}

/// Why the host's start-at-login switch cannot be read or changed: the host's own error.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct AutostartError(pub Box<dyn std::error::Error + Send + Sync>);

impl AutostartError {
    pub fn new(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self(error.into())
    }
}

/// Why a setting has the value it has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A command-line option of `mcpfw daemon` (or the desktop app), for this run.
    Flag,
    /// `policy.toml` (or a change on the dashboard, which is saved there).
    Policy,
    /// Neither: the built-in value.
    Default,
}

/// The settings the daemon starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Startup {
    pub timeout: Duration,
    pub timeout_source: Source,
    pub notifications: bool,
    pub notifications_source: Source,
}

/// The daemon's starting settings: `--timeout` over `approval_timeout_s` over the default, and
/// `--no-notify` (`notify_flag` false) over `notifications`. A policy.toml with an error gives
/// the defaults (and says so in the log; every tool call is refused until it is fixed anyway).
pub fn startup(paths: &Paths, timeout_flag: Option<Duration>, notify_flag: bool) -> Startup {
    let settings = match PolicyFile::load(&crate::policy::file::policy_path(paths)) {
        Ok(policy) => policy.settings,
        Err(e) => {
            tracing::warn!("the daemon uses the default settings: {e}");
            Default::default()
        }
    };
    let (timeout, timeout_source) = match (timeout_flag, settings.approval_timeout_s) {
        (Some(flag), _) => (flag, Source::Flag),
        (None, Some(secs)) => (Duration::from_secs(secs), Source::Policy),
        (None, None) => {
            (Duration::from_secs(crate::approval::DEFAULT_TIMEOUT_SECS), Source::Default)
        }
    };
    // The organisation policy bounds how long any call waits (docs/teams.md).
    let policy = PolicyFile::load(&crate::policy::file::policy_path(paths)).ok();
    let timeout = match crate::org::cached(paths, policy.as_ref()) {
        Some(org) => {
            let (secs, refused) = org.approval_timeout(timeout.as_secs());
            if let Some(message) = refused {
                tracing::warn!("{message}");
            }
            Duration::from_secs(secs)
        }
        None => timeout,
    };
    let (notifications, notifications_source) =
        if !notify_flag { (false, Source::Flag) } else { (settings.notifications, Source::Policy) };
    Startup { timeout, timeout_source, notifications, notifications_source }
}

/// The settings of a running daemon that change without a restart.
pub struct Live {
    broker: Arc<ApprovalBroker>,
    notifications: Arc<AtomicBool>,
    /// Where the timeout and the notifications setting come from.
    sources: std::sync::Mutex<(Source, Source)>,
    autostart: Option<Arc<dyn Autostart>>,
    /// One change of policy.toml at a time.
    writing: tokio::sync::Mutex<()>,
}

impl Live {
    pub fn new(
        broker: Arc<ApprovalBroker>,
        startup: &Startup,
        autostart: Option<Arc<dyn Autostart>>,
    ) -> Self {
        Self {
            broker,
            notifications: Arc::new(AtomicBool::new(startup.notifications)),
            sources: std::sync::Mutex::new((startup.timeout_source, startup.notifications_source)),
            autostart,
            writing: tokio::sync::Mutex::new(()),
        }
    }

    /// Whether desktop notifications are on (shared with [`crate::approval::notify::spawn`]).
    pub fn notifications(&self) -> Arc<AtomicBool> {
        self.notifications.clone()
    }

    fn sources(&self) -> (Source, Source) {
        *self.sources.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The host's start-at-login state: `None` without a host, else its answer.
    async fn autostart_state(&self) -> Option<Result<bool, AutostartError>> {
        let host = self.autostart.clone()?;
        Some(
            tokio::task::spawn_blocking(move || host.enabled())
                .await
                .unwrap_or_else(|e| Err(AutostartError::new(e))),
        )
    }

    /// The settings in effect, as `GET /api/v1/settings` answers.
    pub async fn describe(&self, paths: &Paths, ui_dir: &Path) -> Value {
        let policy_path = crate::policy::file::policy_path(paths);
        let (policy, error) = match PolicyFile::load(&policy_path) {
            Ok(policy) => (policy, None),
            Err(e) => (PolicyFile::default(), Some(e.to_string())),
        };
        let (timeout_source, notifications_source) = self.sources();
        let (autostart, autostart_error) = match self.autostart_state().await {
            None => (Value::Null, None),
            Some(Ok(on)) => (json!(on), None),
            Some(Err(e)) => (Value::Null, Some(e.to_string())),
        };
        json!({
            "approval_timeout_s": self.broker.timeout().as_secs(),
            "approval_timeout_source": timeout_source,
            "unattended": policy.settings.unattended,
            "infer_roots": policy.settings.infer_roots,
            "retention_days": policy.settings.retention_days,
            "notifications": self.notifications.load(Ordering::Relaxed),
            "notifications_source": notifications_source,
            "autostart": autostart,
            "autostart_available": self.autostart.is_some(),
            "autostart_error": autostart_error,
            "limits": {
                "approval_timeout_s": [TIMEOUT_RANGE.start(), TIMEOUT_RANGE.end()],
                "retention_days": [0, MAX_RETENTION_DAYS],
            },
            "defaults": policy.defaults,
            "egress_allow_hosts": policy.egress.allow_hosts,
            "editable": true,
            "policy_path": policy_path,
            "policy_error": error,
            "history_path": crate::store::db_path(paths),
            "ui_dir": ui_dir,
            "version": crate::VERSION,
        })
    }
}

/// `GET /api/v1/settings`.
pub async fn get(live: &Live, paths: &Paths, ui_dir: &Path) -> Response {
    Json(live.describe(paths, ui_dir).await).into_response()
}

/// A change asked for, every field checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Change {
    pub approval_timeout_s: Option<u64>,
    pub unattended: Option<Unattended>,
    pub retention_days: Option<u32>,
    pub notifications: Option<bool>,
    pub autostart: Option<bool>,
}

/// The settings `PUT /api/v1/settings` takes.
pub const EDITABLE: [&str; 5] =
    ["approval_timeout_s", "unattended", "retention_days", "notifications", "autostart"];

impl Change {
    /// Reads a partial settings object; the errors by field (each message names its field).
    pub fn parse(
        body: &Map<String, Value>,
        autostart_available: bool,
    ) -> Result<Self, BTreeMap<String, String>> {
        let mut change = Change::default();
        let mut errors = BTreeMap::new();
        for (key, value) in body {
            let problem = match key.as_str() {
                "approval_timeout_s" => {
                    match value.as_u64().filter(|s| TIMEOUT_RANGE.contains(s)) {
                        Some(secs) => {
                            change.approval_timeout_s = Some(secs);
                            None
                        }
                        None => Some(timeout_message(value)),
                    }
                }
                "unattended" => match value.as_str() {
                    Some("deny") => {
                        change.unattended = Some(Unattended::Deny);
                        None
                    }
                    Some("allow") => {
                        change.unattended = Some(Unattended::Allow);
                        None
                    }
                    _ => Some(format!("unattended must be \"deny\" or \"allow\" (not {value})")),
                },
                "retention_days" => {
                    match value.as_u64().filter(|d| *d <= u64::from(MAX_RETENTION_DAYS)) {
                        Some(days) => {
                            change.retention_days = Some(days as u32);
                            None
                        }
                        None => Some(retention_message(value)),
                    }
                }
                "notifications" => match value.as_bool() {
                    Some(on) => {
                        change.notifications = Some(on);
                        None
                    }
                    None => Some(format!("notifications must be true or false (not {value})")),
                },
                "autostart" => match value.as_bool() {
                    Some(_) if !autostart_available => Some(
                        "autostart: only the desktop app can start at login; `mcpfw daemon` is \
                         started by you (or by your own service manager)"
                            .to_owned(),
                    ),
                    Some(on) => {
                        change.autostart = Some(on);
                        None
                    }
                    None => Some(format!("autostart must be true or false (not {value})")),
                },
                other => Some(format!(
                    "{other} is not a setting that can be changed here (these can: {}); other \
                     settings are edited in policy.toml",
                    EDITABLE.join(", ")
                )),
            };
            if let Some(problem) = problem {
                errors.insert(key.clone(), problem);
            }
        }
        if errors.is_empty() { Ok(change) } else { Err(errors) }
    }

    /// Whether anything goes to policy.toml.
    fn touches_file(&self) -> bool {
        self.approval_timeout_s.is_some()
            || self.unattended.is_some()
            || self.retention_days.is_some()
            || self.notifications.is_some()
    }
}

/// Why policy.toml was not changed.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// The file as it is does not pass `mcpfw policy check`.
    #[error(
        "policy.toml has an error, so nothing was saved: {0}. Fix the file (`mcpfw policy \
         check` checks it), then save again."
    )]
    Broken(crate::policy::file::PolicyError),
    /// It changed between reading and replacing it.
    #[error("{0} changed while the settings were being saved; reload the page and try again")]
    Changed(String),
    #[error("{0}")]
    Io(String),
}

/// `text` (a policy.toml) with the change's values under `[settings]`, everything else as it
/// was. Refuses text that does not pass the policy check.
pub fn edit_policy(text: &str, file: &str, change: &Change) -> Result<String, SaveError> {
    PolicyFile::parse(text, file)
        .and_then(|policy| policy.validate(text, file))
        .map_err(SaveError::Broken)?;
    let mut doc: toml_edit::DocumentMut =
        text.parse().map_err(|e: toml_edit::TomlError| SaveError::Io(e.to_string()))?;
    let settings = doc.entry("settings").or_insert_with(toml_edit::table);
    let Some(table) = settings.as_table_like_mut() else {
        // The policy check above accepts only a table here.
        return Err(SaveError::Io("[settings] is not a table".into()));
    };
    if let Some(secs) = change.approval_timeout_s {
        set(table, "approval_timeout_s", toml_edit::Value::from(secs as i64));
    }
    if let Some(unattended) = change.unattended {
        let word = match unattended {
            Unattended::Deny => "deny",
            Unattended::Allow => "allow",
        };
        set(table, "unattended", toml_edit::Value::from(word));
    }
    if let Some(days) = change.retention_days {
        set(table, "retention_days", toml_edit::Value::from(i64::from(days)));
    }
    if let Some(on) = change.notifications {
        set(table, "notifications", toml_edit::Value::from(on));
    }
    let edited = doc.to_string();
    // What is written must read back as a valid policy with the new values.
    PolicyFile::parse(&edited, file)
        .and_then(|policy| policy.validate(&edited, file))
        .map_err(|e| SaveError::Io(format!("the edited policy would not be valid: {e}")))?;
    Ok(edited)
}

/// Sets `key` to `value`, keeping the spacing and comment around an old value.
fn set(table: &mut dyn toml_edit::TableLike, key: &str, mut value: toml_edit::Value) {
    if let Some(old) = table.get_mut(key).and_then(|item| item.as_value_mut()) {
        *value.decor_mut() = old.decor().clone();
        *old = value;
    } else {
        table.insert(key, toml_edit::Item::Value(value));
    }
}

/// Writes the change to policy.toml (read, edited in place, replaced atomically).
fn save(paths: &Paths, change: &Change) -> Result<(), SaveError> {
    save_with(paths, |text, file| edit_policy(text, file, change))
}

/// Edits policy.toml with `edit` (given the text and the file's name): read, edited in place,
/// replaced atomically (refused when it changed meanwhile).
pub fn save_with(
    paths: &Paths,
    edit: impl FnOnce(&str, &str) -> Result<String, SaveError>,
) -> Result<(), SaveError> {
    let path = crate::policy::file::policy_path(paths);
    let file = path.display().to_string();
    let before = match std::fs::read(&path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(SaveError::Io(format!("cannot read {file}: {e}"))),
    };
    let text = match &before {
        Some(bytes) => std::str::from_utf8(bytes).map_err(|_| {
            SaveError::Broken(crate::policy::file::PolicyError {
                file: file.clone(),
                line: 0,
                column: 0,
                message: "the file is not UTF-8 text".into(),
            })
        })?,
        None => "",
    };
    let after = edit(text, &file)?;
    match &before {
        Some(before) => {
            crate::install::files::replace(&path, before, after.as_bytes()).map_err(|e| match e {
                crate::install::FileError::Changed(_) => SaveError::Changed(file.clone()),
                e => SaveError::Io(crate::text::error_chain(&e)),
            })
        }
        None => crate::install::files::write_private(&path, after.as_bytes())
            .map_err(|e| SaveError::Io(crate::text::error_chain(&e))),
    }
}

/// `text` (a policy.toml) with `path` added to `read` (`write: false`) or `write` under
/// `[servers.SERVER.sandbox]`, everything else as it was (comments, order, layout). `Ok(None)`
/// when the grant is already there. Refuses text that does not pass the policy check.
pub fn edit_sandbox_grant(
    text: &str,
    file: &str,
    server: &str,
    write: bool,
    path: &str,
) -> Result<Option<String>, SaveError> {
    PolicyFile::parse(text, file)
        .and_then(|policy| policy.validate(text, file))
        .map_err(SaveError::Broken)?;
    let mut doc: toml_edit::DocumentMut =
        text.parse().map_err(|e: toml_edit::TomlError| SaveError::Io(e.to_string()))?;
    let implicit = || {
        let mut table = toml_edit::Table::new();
        table.set_implicit(true);
        toml_edit::Item::Table(table)
    };
    let not_table = |what: &str| SaveError::Io(format!("{what} in {file} is not a table"));
    // Comments at the end of the file stay at the end: a new table goes after them.
    let trailing = doc.trailing().as_str().unwrap_or_default().to_owned();
    let new_table =
        doc.get("servers").and_then(|s| s.get(server)).and_then(|s| s.get("sandbox")).is_none();
    let servers = doc
        .entry("servers")
        .or_insert_with(implicit)
        .as_table_like_mut()
        .ok_or_else(|| not_table("`servers`"))?;
    let entry = servers
        .entry(server)
        .or_insert_with(implicit)
        .as_table_like_mut()
        .ok_or_else(|| not_table(&format!("`servers.{server}`")))?;
    let sandbox = entry
        .entry("sandbox")
        .or_insert_with(toml_edit::table)
        .as_table_like_mut()
        .ok_or_else(|| not_table(&format!("`servers.{server}.sandbox`")))?;
    let key = if write { "write" } else { "read" };
    let list = sandbox
        .entry(key)
        .or_insert_with(|| toml_edit::Item::Value(toml_edit::Value::Array(Default::default())))
        .as_array_mut()
        .ok_or_else(|| {
            SaveError::Io(format!("`servers.{server}.sandbox.{key}` in {file} is not a list"))
        })?;
    if list.iter().any(|v| v.as_str() == Some(path)) {
        return Ok(None);
    }
    list.push(path);
    if new_table
        && !trailing.trim().is_empty()
        && let Some(table) = doc["servers"][server]["sandbox"].as_table_mut()
    {
        table.decor_mut().set_prefix(format!("{trailing}\n"));
        doc.set_trailing("");
    }
    let edited = doc.to_string();
    PolicyFile::parse(&edited, file)
        .and_then(|policy| policy.validate(&edited, file))
        .map_err(|e| SaveError::Io(format!("the edited policy would not be valid: {e}")))?;
    Ok(Some(edited))
}

/// `POST /api/v1/servers/{server}/sandbox/grants` with `{"path", "access": "read"|"write",
/// "confirm"}`: what `mcpfw sandbox allow SERVER --read|--write PATH` does, from the
/// dashboard's history (an "Allow this path for this server" action on a containment denial).
/// Write access takes two steps: without `confirm` the answer is `{"status": "confirm",
/// "fact"}` and nothing is written. MCP Firewall's folders and the sensitive locations are
/// refused (403): the dashboard has no `--force`; the command line does. The grant applies
/// from the server's next start (`message` says so).
pub async fn sandbox_grant(paths: &Paths, server: &str, body: &[u8]) -> Response {
    #[derive(serde::Deserialize)]
    struct Grant {
        path: String,
        access: String,
        #[serde(default)]
        confirm: bool,
    }
    let grant: Grant = match serde_json::from_slice(body) {
        Ok(grant) => grant,
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                &format!("the grant is {{\"path\", \"access\": \"read\"|\"write\"}}: {e}"),
            );
        }
    };
    let write = match grant.access.as_str() {
        "read" => false,
        "write" => true,
        other => {
            return refuse(
                StatusCode::BAD_REQUEST,
                &format!("access is \"read\" or \"write\", not {other:?}"),
            );
        }
    };
    if server.trim().is_empty() || !Path::new(&grant.path).is_absolute() {
        return refuse(StatusCode::BAD_REQUEST, "a server name and an absolute path are needed");
    }
    let firewall =
        [paths.config.clone(), paths.data.clone(), paths.logs.clone(), paths.runtime.clone()];
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let assessment =
        mcpfw_core::sandbox::PathSandbox::new(&[], home, &firewall).assess(&grant.path, None);
    if let Some(sensitivity) = assessment.sensitivity {
        let message = if sensitivity == mcpfw_core::sandbox::Sensitivity::Firewall {
            format!("{} is in MCP Firewall's own folders, which no server is given", grant.path)
        } else {
            format!(
                "{} is a sensitive location ({}); the dashboard does not grant those. If \
                 `{server}` must have it, use the command line: `mcpfw sandbox allow {server} \
                 --{} {}` (with --force where the box hides it)",
                grant.path,
                sensitivity.as_str(),
                grant.access,
                grant.path
            )
        };
        return refuse(StatusCode::FORBIDDEN, &message);
    }
    if write && !grant.confirm {
        return Json(json!({
            "status": "confirm",
            "fact": format!(
                "`{server}` will be able to create, change and delete files in {} from its next \
                 start.",
                grant.path
            ),
        }))
        .into_response();
    }
    let (paths, server, path) = (paths.clone(), server.to_owned(), grant.path.clone());
    let saved = tokio::task::spawn_blocking(move || {
        let mut added = false;
        save_with(&paths, |text, file| {
            let edited = edit_sandbox_grant(text, file, &server, write, &path)?;
            added = edited.is_some();
            Ok(edited.unwrap_or_else(|| text.to_owned()))
        })
        .map(|()| (added, server))
    })
    .await;
    match saved {
        Ok(Ok((added, server))) => Json(json!({
            "status": if added { "added" } else { "present" },
            "message": format!(
                "{} {} `{}` under [servers.{server}.sandbox] in policy.toml. It takes effect when \
                 `{server}` next starts (restart it from its client): the box of a running server \
                 cannot be widened.",
                grant.path,
                if added { "added to" } else { "is already in" },
                grant.access
            ),
        }))
        .into_response(),
        Ok(Err(e @ (SaveError::Broken(_) | SaveError::Changed(_)))) => {
            refuse(StatusCode::CONFLICT, &e.to_string())
        }
        Ok(Err(e)) => refuse(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        Err(e) => refuse(StatusCode::INTERNAL_SERVER_ERROR, &format!("the grant failed: {e}")),
    }
}

/// How often the daemon applies the retention setting (each `mcpfw wrap` does too, at start).
const PRUNE_EVERY: Duration = Duration::from_secs(24 * 60 * 60);

/// Prunes the history by policy.toml's `retention_days` once a day, for as long as it runs.
pub async fn keep_pruning(paths: Paths, store: Store) {
    loop {
        tokio::time::sleep(PRUNE_EVERY).await;
        let policy = PolicyFile::load(&crate::policy::file::policy_path(&paths));
        let Ok(policy) = policy else { continue };
        if let Err(e) = store.apply_retention(policy.settings.retention_days).await {
            tracing::warn!("cannot prune the history: {}", crate::text::error_chain(&e));
        }
    }
}

/// `PUT /api/v1/settings`: checks every field (422 with `fields`, each message naming its
/// field), saves to policy.toml (409 when the file has an error or changed meanwhile), then
/// applies the change; answers with the settings now in effect, `saved` and `pruned`.
pub async fn put(
    live: &Live,
    paths: &Paths,
    store: Option<&Store>,
    ui_dir: &Path,
    body: &[u8],
) -> Response {
    let body = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(body)) => body,
        Ok(_) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "the settings are a JSON object, e.g. {\"approval_timeout_s\": 300}",
            );
        }
        Err(e) => return refuse(StatusCode::BAD_REQUEST, &format!("invalid JSON: {e}")),
    };
    let change = match Change::parse(&body, live.autostart.is_some()) {
        Ok(change) => change,
        Err(fields) => {
            let error = fields.values().cloned().collect::<Vec<_>>().join("; ");
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({"error": error, "fields": fields})),
            )
                .into_response();
        }
    };
    // The organisation policy's bounds (docs/teams.md) are refused, not cut, here: the person
    // sees why.
    let floor = {
        let paths = paths.clone();
        tokio::task::spawn_blocking(move || {
            let policy = PolicyFile::load(&crate::policy::file::policy_path(&paths)).ok();
            crate::org::cached(&paths, policy.as_ref())
        })
        .await
        .ok()
        .flatten()
    };
    if let Some(org) = floor {
        let mut fields = BTreeMap::new();
        if let Some(secs) = change.approval_timeout_s
            && let (_, Some(why)) = org.approval_timeout(secs)
        {
            fields.insert("approval_timeout_s".to_owned(), why);
        }
        if change.unattended == Some(Unattended::Allow)
            && org.bundle.settings.unattended == Some(Unattended::Deny)
        {
            fields.insert(
                "unattended".to_owned(),
                format!("unattended = \"allow\" is refused: {} says \"deny\"", org.name()),
            );
        }
        if !fields.is_empty() {
            let error = fields.values().cloned().collect::<Vec<_>>().join("; ");
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({"error": error, "fields": fields})),
            )
                .into_response();
        }
    }
    let mut pruned = None;
    if change.touches_file() {
        let _one_at_a_time = live.writing.lock().await;
        let saved = {
            let (paths, change) = (paths.clone(), Change { autostart: None, ..change });
            tokio::task::spawn_blocking(move || save(&paths, &change))
                .await
                .unwrap_or_else(|e| Err(SaveError::Io(e.to_string())))
        };
        if let Err(e) = saved {
            let status = match e {
                SaveError::Broken(_) | SaveError::Changed(_) => StatusCode::CONFLICT,
                SaveError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
            };
            let policy_error = match &e {
                SaveError::Broken(e) => Some(e.to_string()),
                _ => None,
            };
            return (
                status,
                Json(json!({
                    "error": e.to_string(),
                    "policy_error": policy_error,
                    "policy_path": crate::policy::file::policy_path(paths),
                })),
            )
                .into_response();
        }
        {
            let mut sources = live.sources.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(secs) = change.approval_timeout_s {
                live.broker.set_timeout(Duration::from_secs(secs));
                sources.0 = Source::Policy;
            }
            if let Some(on) = change.notifications {
                live.notifications.store(on, Ordering::Relaxed);
                sources.1 = Source::Policy;
            }
        }
        tracing::info!(?change, "settings changed on the dashboard");
        if let (Some(days), Some(store)) = (change.retention_days, store) {
            match store.apply_retention(days).await {
                Ok(n) => pruned = Some(n),
                Err(e) => {
                    tracing::warn!("cannot prune the history: {}", crate::text::error_chain(&e))
                }
            }
        }
    }
    if let (Some(on), Some(host)) = (change.autostart, live.autostart.clone()) {
        let set = tokio::task::spawn_blocking(move || host.set(on))
            .await
            .unwrap_or_else(|e| Err(AutostartError::new(e)));
        if let Err(e) = set {
            let saved = if change.touches_file() { " (the other settings were saved)" } else { "" };
            let message = format!("autostart: cannot change starting at login: {e}{saved}");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({"error": message, "fields": {"autostart": message}})),
            )
                .into_response();
        }
    }
    let mut answer = live.describe(paths, ui_dir).await;
    answer["saved"] = json!(body.keys().collect::<Vec<_>>());
    answer["pruned"] = json!(pruned);
    Json(answer).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn grant(paths: &Paths, body: Value) -> (StatusCode, Value) {
        let response = sandbox_grant(paths, "files", body.to_string().as_bytes()).await;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn a_sandbox_grant_refuses_hidden_places_and_asks_twice_for_write_access() {
        let t = tempfile::tempdir().unwrap();
        let paths = Paths::under(t.path());
        let policy = crate::policy::file::policy_path(&paths);
        std::fs::create_dir_all(policy.parent().unwrap()).unwrap();
        std::fs::write(&policy, "# mine\n").unwrap();
        let data = paths.data.join("mcpfw.db").display().to_string();
        for path in [data.as_str(), "/etc/shadow"] {
            let (status, body) = grant(&paths, json!({"path": path, "access": "read"})).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
        }
        let (status, body) = grant(&paths, json!({"path": "/srv/out", "access": "write"})).await;
        assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("confirm")), "{body}");
        assert_eq!(std::fs::read_to_string(&policy).unwrap(), "# mine\n", "written at step 1");
        let (status, body) =
            grant(&paths, json!({"path": "/srv/out", "access": "write", "confirm": true})).await;
        assert_eq!((status, body["status"].as_str()), (StatusCode::OK, Some("added")), "{body}");
        assert!(body["message"].as_str().unwrap().contains("next starts"), "{body}");
        let text = std::fs::read_to_string(&policy).unwrap();
        assert_eq!(text, "# mine\n\n[servers.files.sandbox]\nwrite = [\"/srv/out\"]\n");
        let (status, _) = grant(&paths, json!({"path": "relative", "access": "read"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn a_sandbox_grant_is_added_in_place_keeping_comments() {
        let text = "# my policy\n[settings]\nunattended = \"allow\" # keep\n\n\
                    [servers.files]\nroots = [\"/srv\"]\n\n[servers.files.sandbox]\n\
                    read = [\"/a\"] # extra\n";
        let edited = edit_sandbox_grant(text, "p.toml", "files", false, "/b").unwrap().unwrap();
        assert!(edited.starts_with("# my policy\n[settings]\nunattended = \"allow\" # keep\n"));
        assert!(edited.contains("read = [\"/a\", \"/b\"] # extra"), "{edited}");
        // Already there: nothing to write.
        assert!(edit_sandbox_grant(&edited, "p.toml", "files", false, "/b").unwrap().is_none());
        // A server without a section gets `[servers.NAME.sandbox]` only.
        let edited = edit_sandbox_grant("", "p.toml", "my server", true, "~/out").unwrap().unwrap();
        assert_eq!(edited, "[servers.\"my server\".sandbox]\nwrite = [\"~/out\"]\n");
        let policy = PolicyFile::parse(&edited, "p.toml").unwrap();
        assert_eq!(policy.servers["my server"].sandbox.write, ["~/out"]);
        // A broken file is not touched.
        assert!(matches!(
            edit_sandbox_grant("[settings\n", "p.toml", "files", false, "/b"),
            Err(SaveError::Broken(_))
        ));
    }

    fn change(body: Value, autostart: bool) -> Result<Change, BTreeMap<String, String>> {
        Change::parse(body.as_object().unwrap(), autostart)
    }

    #[test]
    fn every_field_is_checked_and_each_error_names_its_field() {
        let ok = change(
            json!({"approval_timeout_s": 300, "unattended": "allow", "retention_days": 0,
                "notifications": false, "autostart": true}),
            true,
        )
        .unwrap();
        assert_eq!(ok.approval_timeout_s, Some(300));
        assert_eq!(ok.unattended, Some(Unattended::Allow));
        assert_eq!(
            (ok.retention_days, ok.notifications, ok.autostart),
            (Some(0), Some(false), Some(true))
        );
        let errors = change(
            json!({"approval_timeout_s": 5, "unattended": "maybe", "retention_days": -1,
                "notifications": "yes", "autostart": true, "colour": "red"}),
            false,
        )
        .unwrap_err();
        assert_eq!(errors.len(), 6, "{errors:?}");
        for (field, message) in &errors {
            assert!(message.contains(field.as_str()), "{field}: {message}");
        }
        assert!(errors["autostart"].contains("only the desktop app"), "{errors:?}");
        assert!(errors["approval_timeout_s"].contains("from 10 to 3600"), "{errors:?}");
        assert!(change(json!({"approval_timeout_s": 3601}), false).is_err());
        assert!(change(json!({"approval_timeout_s": 12.5}), false).is_err());
    }

    #[test]
    fn the_file_is_edited_in_place_and_keeps_its_comments() {
        let text = "# My policy.\n\n[settings]\nunattended = \"deny\"   # nobody around: refuse\n\
                    infer_roots = false\n\n[defaults]\nexec = \"deny\" # never\n";
        let edited = edit_policy(
            text,
            "policy.toml",
            &Change {
                unattended: Some(Unattended::Allow),
                approval_timeout_s: Some(300),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            edited,
            "# My policy.\n\n[settings]\nunattended = \"allow\"   # nobody around: refuse\n\
             infer_roots = false\napproval_timeout_s = 300\n\n[defaults]\nexec = \"deny\" # never\n"
        );
        // No [settings] yet, or no file at all: the table is added.
        let added = edit_policy(
            "[defaults]\nexec = \"deny\"\n",
            "p",
            &Change { retention_days: Some(7), ..Default::default() },
        )
        .unwrap();
        assert_eq!(added, "[defaults]\nexec = \"deny\"\n\n[settings]\nretention_days = 7\n");
        let new =
            edit_policy("", "p", &Change { notifications: Some(false), ..Default::default() })
                .unwrap();
        assert!(!PolicyFile::parse(&new, "p").unwrap().settings.notifications);
        // Inline and dotted tables are edited where they are.
        let dotted = edit_policy(
            "settings.unattended = \"deny\"\n",
            "p",
            &Change { unattended: Some(Unattended::Allow), ..Default::default() },
        )
        .unwrap();
        assert_eq!(dotted, "settings.unattended = \"allow\"\n");
    }

    #[test]
    fn a_file_with_an_error_is_never_rewritten() {
        let change = Change { retention_days: Some(7), ..Default::default() };
        for broken in ["[settings\nunattended = 1\n", "[[rules]]\naction = \"maybe\"\n"] {
            match edit_policy(broken, "policy.toml", &change) {
                Err(SaveError::Broken(e)) => assert!(e.to_string().starts_with("policy.toml:")),
                other => panic!("{broken}: {other:?}"),
            }
        }
    }
}
