//! `policy.toml`: the rules a person reads and edits, with line-and-column errors.
//!
//! ```toml
//! [settings]
//! unattended = "deny"            # what an `ask` becomes when nobody can be asked
//! approval_timeout_s = 120       # how long a call waits for a person (10 to 3600)
//! retention_days = 90            # days of history kept (0: forever)
//! notifications = true           # desktop notifications for waiting calls
//!
//! [defaults]                     # per category; these are the built-in values
//! read = "allow"
//! write = "allow"                # inside the server's roots (paths outside ask)
//! delete = "ask"
//! network-send = "ask"
//! config-change = "ask"
//! exec = "ask"
//! unknown = "ask"
//!
//! [telemetry]                    # OpenTelemetry export (docs/teams.md); off unless set
//! endpoint = "http://collector:4318"
//! protocol = "http/protobuf"     # or "grpc"
//! include_content = false        # arguments (redacted) in spans and logs
//!
//! [egress]
//! allow_hosts = ["api.github.com", "*.example.com"]
//!
//! [servers.files]
//! roots = ["~/work"]
//!
//! [[rules]]
//! id = "no-git-push"
//! server = "*"                   # glob (default "*")
//! tool = "git_*"                 # glob (default "*")
//! category = ["exec"]            # any of (default: any)
//! action = "deny"                # allow | deny | ask
//! reason = "pushes are reviewed by hand"
//! when.args.command = "^git push" # regex on a named argument
//! when.paths_within = ["@roots"] # every path argument inside these (`@roots`: the server's roots)
//! when.hosts_in = ["github.com"] # every host argument in this list (globs allowed)
//! lift = []                      # built-in guards an `allow` of this rule lifts
//!
//! [[limits]]
//! server = "*"
//! category = ["delete"]
//! per_minute = 10                # more than this escalates to `ask`
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::classify::Category;
use crate::paths::Paths;

/// Where `policy.toml` lives.
pub fn policy_path(paths: &Paths) -> std::path::PathBuf {
    paths.config.join("policy.toml")
}

/// An action a rule or default takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    // Ordered from least to most restrictive: combining takes the maximum.
    Allow,
    Ask,
    Deny,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Ask => "ask",
            Action::Deny => "deny",
        }
    }
}

/// What `ask` resolves to when no approver is running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unattended {
    #[default]
    Deny,
    Allow,
}

/// The built-in guards that only ever make a decision stricter. A rule that allows may lift
/// some of them for the calls it matches (`lift`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Guard {
    /// A path argument outside the server's roots.
    OutsideRoots,
    /// A credential location, or MCP Firewall's own files.
    SensitivePath,
    /// Shell start-up files, autostart entries, crontabs, MCP client configs.
    PersistencePath,
    /// A secret (key, token, password) in the arguments.
    Secrets,
    /// A network destination outside the egress allow-list.
    Egress,
    /// More calls than a `[[limits]]` entry permits.
    Rate,
    /// A path that could not be resolved safely.
    UnresolvablePath,
    /// A path that climbs out of the roots with `..` (refused: an attack, not a risk).
    Traversal,
    /// A credential in an argument the tool does not declare or has no business with.
    SmuggledCredential,
    /// A reverse shell or download-and-run written to a file that runs code later.
    PersistencePayload,
    /// Command separators or substitution in a host, a file name or a command fragment.
    ShellInjection,
}

impl Guard {
    pub fn as_str(self) -> &'static str {
        match self {
            Guard::OutsideRoots => "outside-roots",
            Guard::SensitivePath => "sensitive-path",
            Guard::PersistencePath => "persistence-path",
            Guard::Secrets => "secrets",
            Guard::Egress => "egress",
            Guard::Rate => "rate",
            Guard::UnresolvablePath => "unresolvable-path",
            Guard::Traversal => "traversal",
            Guard::SmuggledCredential => "smuggled-credential",
            Guard::PersistencePayload => "persistence-payload",
            Guard::ShellInjection => "shell-injection",
        }
    }
}

/// One rule as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default = "any")]
    pub server: String,
    #[serde(default = "any")]
    pub tool: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub category: Vec<Category>,
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Conditions::is_empty")]
    pub when: Conditions,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lift: Vec<Guard>,
}

impl RuleSpec {
    /// Checks a rule for the database the way the engine will read it, with errors that name the
    /// problem: the patterns compile, argument conditions are valid regexes, and only an allow rule
    /// lifts guards. `mcpfw rules add` and the HTTP API both use it.
    pub fn check_for_database(&self) -> Result<(), RuleError> {
        let spec = self;
        if spec.id.is_some() {
            return Err(RuleError::HasId);
        }
        for (what, pattern) in [("server", &spec.server), ("tool", &spec.tool)] {
            globset::Glob::new(pattern).map_err(|error| RuleError::Glob {
                what,
                pattern: pattern.clone(),
                error,
            })?;
        }
        for (name, re) in &spec.when.args {
            regex::Regex::new(re)
                .map_err(|error| RuleError::Regex { name: name.clone(), error })?;
        }
        for host in spec.when.hosts_in.iter().flatten() {
            globset::Glob::new(host).map_err(|error| RuleError::Glob {
                what: "host",
                pattern: host.clone(),
                error,
            })?;
        }
        if !spec.lift.is_empty() && spec.action != Action::Allow {
            return Err(RuleError::LiftNeedsAllow);
        }
        Ok(())
    }
}

/// Why a rule cannot be added to the database.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("a database rule gets its number when it is added; leave `id` out")]
    HasId,
    #[error("the {what} pattern `{pattern}` is not a valid glob: {error}")]
    Glob { what: &'static str, pattern: String, error: globset::Error },
    #[error("bad regex for `{name}`: {error}")]
    Regex { name: String, error: regex::Error },
    #[error("only an allow rule can lift guards (`lift`, `--lift`)")]
    LiftNeedsAllow,
}

fn any() -> String {
    "*".to_owned()
}

/// Argument conditions; all that are given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    /// Regex per named argument (a top-level name, or a JSON pointer starting with `/`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub args: BTreeMap<String, String>,
    /// Every path argument resolves inside one of these (`@roots` = the server's roots).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths_within: Option<Vec<String>>,
    /// Every host the call talks to is in this list (globs such as `*.example.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hosts_in: Option<Vec<String>>,
    /// The SHA-256 of the arguments (hex), for rules made from one approved call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args_digest: Option<String>,
}

impl Conditions {
    pub fn is_empty(&self) -> bool {
        self.args.is_empty()
            && self.paths_within.is_none()
            && self.hosts_in.is_none()
            && self.args_digest.is_none()
    }
}

/// A rate limit: more than `per_minute` matching calls in a minute escalate to `ask`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSpec {
    #[serde(default = "any")]
    pub server: String,
    #[serde(default = "any")]
    pub tool: String,
    #[serde(default)]
    pub category: Vec<Category>,
    pub per_minute: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default)]
    pub unattended: Unattended,
    /// Infer a stdio server's roots from the existing folders among its arguments.
    #[serde(default = "yes")]
    pub infer_roots: bool,
    /// Days of history kept; 0 keeps everything (at most [`MAX_RETENTION_DAYS`]).
    #[serde(default = "default_retention")]
    pub retention_days: u32,
    /// Seconds a call waits for a person before it is refused (within [`TIMEOUT_RANGE`];
    /// `mcpfw daemon --timeout` overrides it; absent: the approval daemon's default, 120 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval_timeout_s: Option<u64>,
    /// Whether the daemon announces waiting calls with desktop notifications
    /// (`mcpfw daemon --no-notify` turns them off until changed on the dashboard).
    #[serde(default = "yes")]
    pub notifications: bool,
}

/// The approval timeouts `[settings] approval_timeout_s` accepts, in seconds.
pub const TIMEOUT_RANGE: std::ops::RangeInclusive<u64> = 10..=3600;

/// The longest `[settings] retention_days` (about a hundred years).
pub const MAX_RETENTION_DAYS: u32 = 36_500;

fn yes() -> bool {
    true
}

fn default_retention() -> u32 {
    90
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            unattended: Unattended::Deny,
            infer_roots: true,
            retention_days: default_retention(),
            approval_timeout_s: None,
            notifications: true,
        }
    }
}

impl Settings {
    /// The bounds of each setting: the first one out of range, as (key, message).
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if let Some(secs) = self.approval_timeout_s
            && !TIMEOUT_RANGE.contains(&secs)
        {
            return Err(("approval_timeout_s", timeout_message(secs)));
        }
        if self.retention_days > MAX_RETENTION_DAYS {
            return Err(("retention_days", retention_message(self.retention_days)));
        }
        Ok(())
    }
}

/// Why an approval timeout of `secs` is refused.
pub fn timeout_message(secs: impl std::fmt::Display) -> String {
    format!(
        "approval_timeout_s must be a whole number of seconds from {} to {} (not {secs})",
        TIMEOUT_RANGE.start(),
        TIMEOUT_RANGE.end()
    )
}

/// Why a retention of `days` is refused.
pub fn retention_message(days: impl std::fmt::Display) -> String {
    format!(
        "retention_days must be a whole number of days from 0 (keep everything) to \
         {MAX_RETENTION_DAYS} (not {days})"
    )
}

/// Per-category default actions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Defaults {
    #[serde(default = "allow")]
    pub read: Action,
    #[serde(default = "allow")]
    pub write: Action,
    #[serde(default = "ask")]
    pub delete: Action,
    #[serde(default = "ask")]
    pub network_send: Action,
    #[serde(default = "ask")]
    pub config_change: Action,
    #[serde(default = "ask")]
    pub exec: Action,
    #[serde(default = "ask")]
    pub unknown: Action,
}

fn allow() -> Action {
    Action::Allow
}

fn ask() -> Action {
    Action::Ask
}

impl Default for Defaults {
    fn default() -> Self {
        Self {
            read: Action::Allow,
            write: Action::Allow,
            delete: Action::Ask,
            network_send: Action::Ask,
            config_change: Action::Ask,
            exec: Action::Ask,
            unknown: Action::Ask,
        }
    }
}

impl Defaults {
    pub fn for_category(&self, category: Category) -> Action {
        match category {
            Category::Read => self.read,
            Category::Write => self.write,
            Category::Delete => self.delete,
            Category::NetworkSend => self.network_send,
            Category::ConfigChange => self.config_change,
            Category::Exec => self.exec,
            // Unknown can never be made laxer than ask.
            Category::Unknown => self.unknown.max(Action::Ask),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Egress {
    #[serde(default)]
    pub allow_hosts: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    #[serde(default)]
    pub roots: Vec<String>,
    #[serde(default)]
    pub allow_hosts: Vec<String>,
    /// The server's box (see `src/contain`): extra read and write paths, hosts, mode.
    #[serde(default)]
    pub sandbox: crate::containment::SandboxSettings,
}

/// `[history]`: where the history is replicated besides the local file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistorySettings {
    /// A PostgreSQL address (`postgres://USER@HOST:PORT/DATABASE`) every event is replicated
    /// to; `MCPFW_HISTORY_POSTGRES` overrides it. See docs/teams.md.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres: Option<String>,
}

/// `[organisation]`: where this machine's organisation policy comes from (docs/teams.md).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganisationSettings {
    /// An `https://` URL or a path of the bundle; its signature is the same plus `.minisig`.
    /// `MCPFW_ORG_POLICY` overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The organisation's minisign public key (`RW…`), pinned. `MCPFW_ORG_KEY` overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// How often the daemon fetches it (`1h`, `30m`; at least a minute; default an hour).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh: Option<String>,
}

/// The refresh interval `[organisation] refresh` gives, checked.
pub fn refresh_interval(text: Option<&str>) -> Result<std::time::Duration, String> {
    let Some(text) = text else { return Ok(std::time::Duration::from_secs(3600)) };
    let interval = humantime::parse_duration(text).map_err(|e| {
        format!("refresh = \"{text}\" is not a duration such as \"1h\" or \"30m\" ({e})")
    })?;
    if interval < std::time::Duration::from_secs(60) {
        return Err(format!("refresh = \"{text}\" is too often: at least \"1m\""));
    }
    Ok(interval)
}

/// `[telemetry]`: OpenTelemetry (OTLP) export of every call, decision and finding. Nothing is
/// exported unless an endpoint is set here or in `OTEL_EXPORTER_OTLP_ENDPOINT` (or the
/// signal-specific `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`/`…_LOGS_ENDPOINT`). See docs/teams.md.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelemetrySettings {
    /// The collector's base address, e.g. `http://collector:4318` (HTTP) or
    /// `http://collector:4317` (gRPC). `OTEL_EXPORTER_OTLP_ENDPOINT` overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// How spans and logs are sent; `OTEL_EXPORTER_OTLP_PROTOCOL` overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<OtlpProtocol>,
    /// Whether a call's arguments (with secrets redacted) are exported. Off by default: the
    /// hash of the arguments is always sent, their text only when this is on.
    #[serde(default)]
    pub include_content: bool,
}

/// The OTLP wire protocols, named as `OTEL_EXPORTER_OTLP_PROTOCOL` names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OtlpProtocol {
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
    #[serde(rename = "grpc")]
    Grpc,
}

impl OtlpProtocol {
    /// The protocol named by `OTEL_EXPORTER_OTLP_PROTOCOL`'s value, or `None` (unsupported).
    pub fn from_env_value(value: &str) -> Option<Self> {
        match value.trim() {
            "http/protobuf" => Some(Self::HttpProtobuf),
            "grpc" => Some(Self::Grpc),
            _ => None,
        }
    }
}

/// The whole of `policy.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    #[serde(default)]
    pub settings: Settings,
    #[serde(default)]
    pub defaults: Defaults,
    #[serde(default)]
    pub egress: Egress,
    #[serde(default)]
    pub history: HistorySettings,
    #[serde(default)]
    pub organisation: OrganisationSettings,
    #[serde(default)]
    pub telemetry: TelemetrySettings,
    #[serde(default)]
    pub servers: BTreeMap<String, ServerSettings>,
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
    #[serde(default)]
    pub limits: Vec<LimitSpec>,
}

/// A policy file that cannot be used, with where the problem is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}:{column}: {message}")]
pub struct PolicyError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl PolicyFile {
    /// Parses policy text. `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Self, PolicyError> {
        toml::from_str::<PolicyFile>(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            let (line, column) = line_column(text, offset);
            PolicyError {
                file: file.to_owned(),
                line,
                column,
                message: e.message().trim().to_owned(),
            }
        })
    }

    /// Reads `path` once, parses it and compiles its patterns ([`PolicyFile::validate`]); a
    /// missing file is the built-in defaults.
    pub fn load(path: &Path) -> Result<Self, PolicyError> {
        let file = path.display().to_string();
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let policy = Self::parse(&text, &file)?;
                policy.validate(&text, &file)?;
                Ok(policy)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(PolicyError {
                file: path.display().to_string(),
                line: 0,
                column: 0,
                message: format!("cannot read the file: {e}"),
            }),
        }
    }
}

impl PolicyFile {
    /// Compiles every pattern (globs, regexes) the way the engine will, and reports the first
    /// that fails, with the line of its `[[rules]]`/`[[limits]]` entry in `text`.
    pub fn validate(&self, text: &str, file: &str) -> Result<(), PolicyError> {
        let at = |table: &str, index: usize, message: String| {
            let header = format!("[[{table}]]");
            let offset = text
                .match_indices(&header)
                .nth(index)
                .map(|(o, _)| o)
                .or_else(|| text.find(&format!("[{table}]")))
                .unwrap_or(0);
            let (line, column) = line_column(text, offset);
            PolicyError { file: file.to_owned(), line, column, message }
        };
        let glob =
            |p: &str| globset::GlobBuilder::new(p).literal_separator(false).build().map(|_| ());
        for (i, rule) in self.rules.iter().enumerate() {
            let name = rule.id.clone().unwrap_or_else(|| format!("#{}", i + 1));
            for (what, pattern) in [("server", &rule.server), ("tool", &rule.tool)] {
                glob(pattern).map_err(|e| {
                    at("rules", i, format!("rule {name}: bad {what} pattern `{pattern}`: {e}"))
                })?;
            }
            for (arg, re) in &rule.when.args {
                regex::Regex::new(re).map_err(|e| {
                    at("rules", i, format!("rule {name}: bad regex for argument `{arg}`: {e}"))
                })?;
            }
            for host in rule.when.hosts_in.iter().flatten() {
                glob(host).map_err(|e| {
                    at("rules", i, format!("rule {name}: bad host pattern `{host}`: {e}"))
                })?;
            }
        }
        for (i, limit) in self.limits.iter().enumerate() {
            for pattern in [&limit.server, &limit.tool] {
                glob(pattern)
                    .map_err(|e| at("limits", i, format!("bad pattern `{pattern}`: {e}")))?;
            }
        }
        for host in &self.egress.allow_hosts {
            glob(host).map_err(|e| at("egress", 0, format!("bad host pattern `{host}`: {e}")))?;
        }
        for (name, server) in &self.servers {
            let table = format!("servers.{name}.sandbox");
            for host in &server.sandbox.allow_hosts {
                glob(host).map_err(|e| at(&table, 0, format!("bad host pattern `{host}`: {e}")))?;
            }
            for path in server.sandbox.read.iter().chain(&server.sandbox.write) {
                if !(path.starts_with('/') || path == "~" || path.starts_with("~/")) {
                    return Err(at(
                        &table,
                        0,
                        format!("sandbox path `{path}` must be absolute or start with `~/`"),
                    ));
                }
            }
        }
        if let Err(message) = refresh_interval(self.organisation.refresh.as_deref()) {
            return Err(at("organisation", 0, message));
        }
        if let Some(key) = &self.organisation.public_key
            && let Err(e) = super::org::key_id(key)
        {
            return Err(at("organisation", 0, e.to_string()));
        }
        self.settings.check().map_err(|(key, message)| {
            // The key where a line starts with it (a comment may mention it too).
            let offset = text
                .match_indices(key)
                .find(|(o, _)| text[..*o].rsplit('\n').next().is_some_and(|l| l.trim().is_empty()))
                .map_or(0, |(o, _)| o);
            let (line, column) = line_column(text, offset);
            PolicyError { file: file.to_owned(), line, column, message }
        })?;
        Ok(())
    }
}

/// 1-based line and column (in characters) of a byte offset.
pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn an_empty_file_is_the_documented_defaults() {
        let p = PolicyFile::parse("", "policy.toml").unwrap();
        assert_eq!(p.defaults.for_category(Category::Read), Action::Allow);
        assert_eq!(p.defaults.for_category(Category::Write), Action::Allow);
        for c in [
            Category::Delete,
            Category::NetworkSend,
            Category::ConfigChange,
            Category::Exec,
            Category::Unknown,
        ] {
            assert_eq!(p.defaults.for_category(c), Action::Ask, "{c:?}");
        }
        assert_eq!(p.settings.unattended, Unattended::Deny);
    }

    /// The first TOML example in a module's documentation (`doc`: its source).
    pub(crate) fn doc_example(doc: &str) -> String {
        doc.lines()
            .skip_while(|l| !l.starts_with("//! ```toml"))
            .skip(1)
            .take_while(|l| !l.starts_with("//! ```"))
            .map(|l| l.trim_start_matches("//!").strip_prefix(' ').unwrap_or("").to_owned() + "\n")
            .collect()
    }

    #[test]
    fn the_documented_example_parses() {
        let example = doc_example(include_str!("file.rs"));
        let p = PolicyFile::parse(&example, "example").unwrap();
        assert_eq!(p.rules[0].id.as_deref(), Some("no-git-push"));
        assert_eq!(p.rules[0].when.args["command"], "^git push");
        assert_eq!(p.limits[0].per_minute, 10);
        assert_eq!(p.servers["files"].roots, ["~/work"]);
    }

    #[test]
    fn settings_out_of_bounds_are_errors_at_their_line() {
        let check = |text: &str| {
            let p = PolicyFile::parse(text, "policy.toml")?;
            p.validate(text, "policy.toml").map(|()| p)
        };
        let p = check("[settings]\napproval_timeout_s = 60\nnotifications = false\n").unwrap();
        assert_eq!((p.settings.approval_timeout_s, p.settings.notifications), (Some(60), false));
        let e = check("[settings]\n# approval_timeout_s is short\napproval_timeout_s = 5\n")
            .unwrap_err();
        assert_eq!((e.line, e.column), (3, 1), "{e}");
        assert!(e.message.contains("from 10 to 3600"), "{e}");
        let e = check("[settings]\nretention_days = 99999\n").unwrap_err();
        assert!(e.message.contains("retention_days"), "{e}");
        assert!(check("[settings]\nretention_days = 0\n").is_ok());
    }

    #[test]
    fn errors_name_line_and_column() {
        let text =
            "[settings]\nunattended = \"deny\"\n\n[[rules]]\ntool = \"x\"\naction = \"maybe\"\n";
        let e = PolicyFile::parse(text, "policy.toml").unwrap_err();
        assert_eq!((e.line, e.column), (6, 10), "{e}");
        assert!(e.to_string().starts_with("policy.toml:6:10:"), "{e}");
        let e = PolicyFile::parse("[[rules]]\naction = \"deny\"\ntols = \"x\"\n", "p").unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        assert!(e.message.contains("tols"), "{e}");
    }
}
