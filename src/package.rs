//! What a server command actually runs, resolved from the package managers' own records on
//! this machine — never by running the package: npm's `npx` cache (the folder `npx` installs a
//! spec into, and its `package-lock.json`'s `version` and `integrity`), uv's installed tools,
//! `docker`/`podman image inspect`, or a file's SHA-256. The parsing and comparing is the
//! core's (`mcpfw_core::package`).
//!
//! [`PackageGate`] is the [`Recorder`] wrapper `mcpfw wrap` puts in front of the history: when
//! the server lists its tools (by then the launcher has installed what it runs), it resolves
//! the package, checks it against the server's package pin, and withholds every tool while a
//! change waits for review.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use mcpfw_core::package::{Ecosystem, Identity, PackageRef, PackageTrust, osv, parse_command};
use mcpfw_core::record::{Event, RecordError, Recorder, Trust};

/// The JSON-RPC error code the shim answers with when it refuses to start a known-malicious
/// package.
pub const MALICIOUS_CODE: i32 = -32011;

/// The JSON-RPC error code the shim answers with when a likely typosquat was not allowed to
/// start (refused, or nobody answered).
pub const SQUAT_CODE: i32 = -32012;

/// The approval request's tool name for starting a package whose name imitates a well-known
/// one (as `egress.connect` is for a connection).
pub const SQUAT_TOOL: &str = "package.start";

/// What the person decided about a likely typosquat's first start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SquatDecision {
    /// It may start (the person allowed it, or protection was paused).
    Start { by: mcpfw_core::record::DecidedBy, reason: String },
    /// It must not start: the reason, for the client and the history, says how to fix it.
    Refuse { by: mcpfw_core::record::DecidedBy, reason: String },
}

/// Asks the person (through the daemon, as for any other ask) whether server `server` may
/// start `identity`, whose name imitates a well-known package. Nobody to ask, no answer in
/// time, or a refusal: it does not start (whatever `unattended` says: an imitation of a
/// well-known server is not run on nobody's word).
pub fn ask_before_squat(
    approver: Option<&mcpfw_core::pipeline::ApproverConfig>,
    server: &str,
    session: &str,
    identity: &Identity,
    squat: &mcpfw_core::package::squat::Squat,
) -> SquatDecision {
    use mcpfw_core::approval::{ApprovalRequest, Outcome};
    use mcpfw_core::record::DecidedBy;
    let name = &identity.name;
    let imitates = &squat.imitates;
    let edits = match squat.distance {
        0 => String::new(),
        1 => ", 1 edit".to_owned(),
        n => format!(", {n} edits"),
    };
    let evidence = format!(
        "its package `{name}` looks like the well-known `{imitates}` ({}{edits})",
        squat.trick.as_str()
    );
    let arguments = json!({
        "ecosystem": identity.ecosystem.as_str(),
        "package": name,
        "requested": identity.requested,
        "imitates": imitates,
        "trick": squat.trick,
    })
    .to_string();
    let request = ApprovalRequest {
        server: server.to_owned(),
        session: session.to_owned(),
        tool: SQUAT_TOOL.to_owned(),
        category: mcpfw_core::classify::Category::Exec.as_str().to_owned(),
        reason: format!(
            "{server} is about to start for the first time, and {evidence}: check the name \
             letter by letter"
        ),
        args_digest: Some(hex::encode(Sha256::digest(arguments.as_bytes()))),
        arguments: Some(arguments),
        preview: vec![
            format!(
                "package: {} {name}{}",
                identity.ecosystem.as_str(),
                identity
                    .requested
                    .as_deref()
                    .map_or(String::new(), |r| format!(" (asked for {r})"))
            ),
            format!("imitates: {imitates} ({}{edits})", squat.trick.as_str()),
            "allowing starts it now, and pins the package it runs for this server: it is not \
             asked again"
                .to_owned(),
        ],
        confirm: Some(format!("Start `{name}` for {server}, though it looks like `{imitates}`?")),
        organisation: None,
    };
    let fix = format!(
        "If `{name}` is the package you meant, start the server again while MCP Firewall's \
         daemon or desktop app runs and allow it when asked (it is then pinned and not asked \
         again); otherwise correct the name in your client's configuration (`{imitates}`)."
    );
    let refused = |why: String, by: DecidedBy| SquatDecision::Refuse {
        by,
        reason: format!(
            "MCP Firewall did not start server `{server}`: {evidence}, and {why}. {fix}"
        ),
    };
    let answer = match approver {
        Some(approver) => mcpfw_core::approval::client::ask_approver(
            approver,
            request,
            &std::sync::atomic::AtomicBool::new(false),
            |_| {},
        ),
        None => {
            Err(mcpfw_core::approval::client::Unreachable::NotRunning("none configured".into()))
        }
    };
    match answer {
        Ok(a) if a.outcome == Outcome::Allowed => SquatDecision::Start {
            by: DecidedBy::User,
            reason: format!("{server}: {evidence}; you allowed it to start"),
        },
        Ok(a) if a.outcome == Outcome::Paused => SquatDecision::Start {
            by: DecidedBy::Paused,
            reason: format!(
                "{server}: {evidence}; started without asking because protection was paused"
            ),
        },
        Ok(a) if a.outcome == Outcome::Denied => {
            refused("you refused to start it".to_owned(), DecidedBy::User)
        }
        Ok(a) => refused(format!("nobody allowed it ({})", a.note), DecidedBy::Firewall),
        Err(unreachable) => {
            refused(format!("nobody could be asked ({unreachable})"), DecidedBy::Firewall)
        }
    }
}

/// Where a command runs: its environment (the client's entry's, over the process's) and home.
#[derive(Debug, Clone, Default)]
pub struct Context {
    pub env: BTreeMap<String, String>,
    pub home: Option<PathBuf>,
}

impl Context {
    /// The process's own environment and home (what `mcpfw wrap` runs with).
    pub fn current() -> Self {
        Context {
            env: std::env::vars().collect(),
            home: std::env::var_os("HOME").map(PathBuf::from),
        }
    }

    /// The process's environment with an entry's `env` over it (what a client would start).
    pub fn with_env(env: &BTreeMap<String, String>) -> Self {
        let mut context = Self::current();
        context.env.extend(env.iter().map(|(k, v)| (k.clone(), v.clone())));
        context
    }

    fn var(&self, name: &str) -> Option<&str> {
        self.env.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }
}

/// The identity of what `program args…` runs: the package a launcher fetches, or else the
/// file itself (`script`, the file an interpreter runs, when there is one).
pub fn identify(
    program: &Path,
    args: &[String],
    script: Option<&Path>,
    context: &Context,
) -> Identity {
    match parse_command(&program.to_string_lossy(), args) {
        Some(package) => resolve(&package, context),
        None => file_identity(script.unwrap_or(program)),
    }
}

/// The script an interpreter runs: its first argument that is an existing file (`python
/// server.py`, `node dist/index.js`), if any before the first option's value; absolute.
pub fn script_of<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Option<PathBuf> {
    args.iter()
        .take(3)
        .map(|a| Path::new(a.as_ref()))
        .find(|p| p.is_file())
        .map(|p| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()))
}

/// A file known by its SHA-256.
pub fn file_identity(path: &Path) -> Identity {
    let (integrity, source) = match sha256_file(path) {
        Ok(hex) => (Some(format!("sha256:{hex}")), path.display().to_string()),
        Err(e) => (None, format!("{} could not be read: {e}", path.display())),
    };
    Identity {
        ecosystem: Ecosystem::File,
        name: path.display().to_string(),
        requested: None,
        resolved: None,
        integrity,
        pinned: true,
        source,
    }
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(hex::encode(hasher.finalize()))
}

/// The version (and content hash) a launcher's package resolves to on this machine.
pub fn resolve(package: &PackageRef, context: &Context) -> Identity {
    let mut identity = Identity {
        ecosystem: package.ecosystem,
        name: package.name.clone(),
        requested: Some(package.spec.clone()),
        resolved: None,
        integrity: None,
        pinned: package.pinned,
        source: String::new(),
    };
    let found = match (package.ecosystem, package.launcher.as_str()) {
        (Ecosystem::Npm, "npx" | "npm exec") => npx_cache(package, context),
        (Ecosystem::PyPi, "uvx" | "uv tool run") => uv_tool(package, context),
        (Ecosystem::Image, launcher) => image_digest(launcher, &package.spec),
        _ => Err(format!("{} keeps no record MCP Firewall reads", package.launcher)),
    };
    match found {
        Ok((version, integrity, source)) => {
            identity.resolved = Some(version);
            identity.integrity = integrity;
            identity.source = source;
        }
        // A launcher whose records are not read: an exact version in the command is what runs.
        Err(why) if package.pinned && package.ecosystem != Ecosystem::Image => {
            identity.resolved = package.requested.clone();
            identity.source = format!("the version the command pins ({why})");
        }
        Err(why) => identity.source = why,
    }
    identity
}

type Resolution = Result<(String, Option<String>, String), String>;

/// npm's cache folder: `--cache`, `npm_config_cache`, else `~/.npm`.
fn npm_cache(package: &PackageRef, context: &Context) -> Option<PathBuf> {
    package
        .cache
        .as_deref()
        .or_else(|| context.var("npm_config_cache"))
        .or_else(|| context.var("NPM_CONFIG_CACHE"))
        .map(PathBuf::from)
        .or_else(|| context.home.as_ref().map(|h| h.join(".npm")))
}

/// The package in the folder `npx` installs its specs into: `<cache>/_npx/<key>/`.
fn npx_cache(package: &PackageRef, context: &Context) -> Resolution {
    let cache = npm_cache(package, context).ok_or("npm's cache folder is unknown (no HOME)")?;
    let dir = cache.join("_npx").join(mcpfw_core::package::npx_cache_key(&package.specs));
    let lock_path = dir.join("package-lock.json");
    let entry = format!("node_modules/{}", package.name);
    if let Ok(text) = std::fs::read_to_string(&lock_path) {
        let lock: Value = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not JSON: {e}", lock_path.display()))?;
        if let Some(node) = lock.get("packages").and_then(|p| p.get(&entry))
            && let Some(version) = node.get("version").and_then(Value::as_str)
        {
            let integrity = node.get("integrity").and_then(Value::as_str).map(str::to_owned);
            return Ok((version.to_owned(), integrity, lock_path.display().to_string()));
        }
    }
    let manifest = dir.join(&entry).join("package.json");
    match std::fs::read_to_string(&manifest) {
        Ok(text) => {
            let value: Value = serde_json::from_str(&text)
                .map_err(|e| format!("{} is not JSON: {e}", manifest.display()))?;
            let version = value
                .get("version")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{} has no version", manifest.display()))?;
            Ok((version.to_owned(), None, manifest.display().to_string()))
        }
        Err(_) => Err(format!("not in npx's cache yet ({})", dir.display())),
    }
}

/// A tool `uv tool install`ed: uvx runs it when the command asks for no other version.
fn uv_tool(package: &PackageRef, context: &Context) -> Resolution {
    let tools = context
        .var("UV_TOOL_DIR")
        .map(PathBuf::from)
        .or_else(|| context.var("XDG_DATA_HOME").map(|d| Path::new(d).join("uv/tools")))
        .or_else(|| context.home.as_ref().map(|h| h.join(".local/share/uv/tools")))
        .ok_or("uv's tool folder is unknown (no HOME)")?;
    let lib = tools.join(&package.name).join("lib");
    let prefix = format!("{}-", package.name.replace('-', "_"));
    let dist_info = std::fs::read_dir(&lib)
        .into_iter()
        .flatten()
        .flatten()
        .flat_map(|python| std::fs::read_dir(python.path().join("site-packages")).into_iter())
        .flatten()
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.to_ascii_lowercase().starts_with(&prefix) && n.ends_with(".dist-info")
            })
        })
        .ok_or_else(|| format!("not installed as a uv tool ({})", tools.display()))?;
    let file = dist_info.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    let version = file[prefix.len()..file.len() - ".dist-info".len()].to_owned();
    if package.pinned && package.requested.as_deref() != Some(version.as_str()) {
        return Err(format!("the installed tool is {version}, not the version asked for"));
    }
    let record = sha256_file(&dist_info.join("RECORD")).ok().map(|h| format!("record-sha256:{h}"));
    Ok((version, record, dist_info.display().to_string()))
}

/// The image's repository digest and ID, from `docker`/`podman image inspect` (a local query:
/// nothing is pulled or run). Waits at most 5 seconds.
fn image_digest(launcher: &str, image: &str) -> Resolution {
    let mut child = std::process::Command::new(launcher)
        .args(["image", "inspect", "--format", "{{json .RepoDigests}} {{.Id}}", image])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("{launcher} could not be asked: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{launcher} image inspect did not answer"));
            }
        }
    }
    let mut out = String::new();
    if let Some(stdout) = child.stdout.take() {
        use std::io::Read;
        let _ = stdout.take(64 * 1024).read_to_string(&mut out);
    }
    let (digests, id) = out.trim().rsplit_once(' ').ok_or("the image is not on this machine")?;
    let digests: Vec<String> = serde_json::from_str(digests).unwrap_or_default();
    let repo = mcpfw_core::package::split_image(image).map(|(r, _, _)| r).unwrap_or_default();
    let digest = digests
        .iter()
        .find(|d| d.split('@').next().is_some_and(|r| r.ends_with(&repo)))
        .or(digests.first())
        .and_then(|d| d.split_once('@'))
        .map(|(_, d)| d.to_owned());
    Ok((
        digest.unwrap_or_else(|| id.to_owned()),
        Some(id.to_owned()),
        format!("{launcher} image inspect"),
    ))
}

/// `mcpfw install --pin`'s versions: what the entry's package resolves to on this machine now.
pub struct CachePinner;

impl mcpfw_daemon::install::Pinner for CachePinner {
    fn version(
        &self,
        command: &[String],
        env: &BTreeMap<String, String>,
    ) -> Result<String, String> {
        let (program, args) = command.split_first().ok_or("the command is empty")?;
        let identity = identify(Path::new(program), args, None, &Context::with_env(env));
        match identity.resolved {
            Some(version) if identity.ecosystem != Ecosystem::Image => Ok(version),
            _ => Err(format!(
                "the version in use is not known ({}); start the server once, then pin it",
                identity.source
            )),
        }
    }
}

/// The history in front of which `mcpfw wrap` checks the server's package: see the
/// [module docs](self).
pub struct PackageGate<R> {
    inner: R,
    server: String,
    identify: Box<dyn Fn() -> Identity + Send + Sync>,
    /// The stored advisories for the package's name.
    advisories: Vec<osv::Record>,
    /// The connection's session, for the history events the gate records (set once the
    /// pipeline exists).
    session: Arc<OnceLock<String>>,
    /// The identity once it resolved (a launcher's records do not change under a running
    /// server), and why its tools are refused when a malicious-package record names its
    /// version.
    resolved: Mutex<Option<(Identity, Option<String>)>>,
}

impl<R: Recorder> PackageGate<R> {
    pub fn new(
        inner: R,
        server: &str,
        identify: impl Fn() -> Identity + Send + Sync + 'static,
        advisories: Vec<osv::Record>,
        session: Arc<OnceLock<String>>,
    ) -> Self {
        PackageGate {
            inner,
            server: server.to_owned(),
            identify: Box::new(identify),
            advisories,
            session,
            resolved: Mutex::new(None),
        }
    }

    /// The package's identity (resolved once), and the reason to refuse it if it is malicious.
    fn identity(&self) -> (Identity, Option<String>) {
        let mut resolved = self.resolved.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(known) = resolved.as_ref() {
            return known.clone();
        }
        let identity = (self.identify)();
        if !identity.is_resolved() {
            tracing::warn!(
                server = %self.server,
                "the package {} could not be resolved, so it is not pinned: {}",
                identity.name,
                identity.source
            );
            return (identity, None);
        }
        let hits = check_advisories(&self.advisories, &identity);
        let malicious =
            hits.iter().find(|h| h.malicious).map(|h| malicious_reason(&self.server, &identity, h));
        if !hits.is_empty() {
            let findings: Vec<Value> = hits
                .iter()
                .map(|h| h.finding(&identity.name, identity.resolved.as_deref()))
                .collect();
            for finding in &findings {
                tracing::warn!(server = %self.server, "{}", finding["evidence"].as_str().unwrap_or_default());
            }
            self.inner.record(package_event(
                &self.server,
                self.session.get().map_or("", String::as_str),
                &findings,
            ));
        }
        *resolved = Some((identity.clone(), malicious.clone()));
        (identity, malicious)
    }
}

/// The advisories among `records` that affect `identity`'s resolved version (or its name,
/// for a malicious-package record, when no version is known).
pub fn check_advisories(records: &[osv::Record], identity: &Identity) -> Vec<osv::Hit> {
    records
        .iter()
        .filter_map(|r| r.affects(identity.ecosystem, &identity.name, identity.resolved.as_deref()))
        .collect()
}

/// What the client is told when a known-malicious package is refused.
pub fn malicious_reason(server: &str, identity: &Identity, hit: &osv::Hit) -> String {
    let at = identity
        .resolved
        .as_deref()
        .map_or_else(|| identity.name.clone(), |v| format!("{}@{v}", identity.name));
    format!(
        "MCP Firewall refused to run server `{server}`: its package `{at}` is known to be \
         malicious ({}: {}). Remove it from your client's configuration.",
        hit.id, hit.summary
    )
}

/// A `detection` event in the history for findings about a server's package.
pub fn package_event(server: &str, session: &str, findings: &[Value]) -> Event {
    let reason =
        findings.iter().filter_map(|f| f["evidence"].as_str()).collect::<Vec<_>>().join("; ");
    let mut event = Event::refused(
        server,
        session,
        mcpfw_core::session::Direction::ServerToClient,
        mcpfw_core::record::Verdict::Allow,
        None,
        reason,
        0,
    );
    event.kind = mcpfw_core::record::EventKind::Detection;
    event.method = Some("firewall/package".to_owned());
    event.findings = Value::Array(findings.to_vec()).to_string();
    event
}

impl<R: Recorder> Recorder for PackageGate<R> {
    fn record(&self, event: Event) {
        self.inner.record(event)
    }
    fn record_durable(&self, event: Event) -> Result<(), RecordError> {
        self.inner.record_durable(event)
    }
    fn flush(&self) {
        self.inner.flush()
    }
    fn tools_listed(&self, server: &str, tools: &[(String, String)]) {
        self.inner.tools_listed(server, tools)
    }
    fn check_identity(
        &self,
        server: &str,
        identity: &Value,
    ) -> Option<Result<Option<Value>, RecordError>> {
        self.inner.check_identity(server, identity)
    }
    fn check_package(
        &self,
        server: &str,
        package: &Identity,
    ) -> Option<Result<PackageTrust, RecordError>> {
        self.inner.check_package(server, package)
    }

    /// The package first, then the tools' own pins: while the package differs from its pin (or
    /// is known to be malicious) every tool is withheld, and the tools' pins are left as they
    /// are, so trusting the package is the one review its change needs. A package check that
    /// fails withholds them too (fail closed).
    fn check_tools(
        &self,
        server: &str,
        tools: &[(String, String)],
    ) -> Option<Result<Vec<Trust>, RecordError>> {
        if server != self.server {
            return self.inner.check_tools(server, tools);
        }
        let (identity, malicious) = self.identity();
        let withhold = |reason: &dyn Fn(&str) -> String, finding: &dyn Fn(&str) -> Value| {
            Some(Ok(tools
                .iter()
                .map(|(name, _)| Trust::Withheld { reason: reason(name), finding: finding(name) })
                .collect()))
        };
        if let Some(why) = malicious {
            return withhold(
                &|_| why.clone(),
                &|tool| json!({"kind": "package-malicious", "severity": "block", "tool": tool, "package": identity.name}),
            );
        }
        let (pinned, now, blocked) = match self.inner.check_package(server, &identity) {
            None
            | Some(Ok(PackageTrust::New | PackageTrust::Pinned | PackageTrust::Unresolved)) => {
                return self.inner.check_tools(server, tools);
            }
            Some(Ok(PackageTrust::Changed { pinned, now, .. })) => (pinned, now, false),
            Some(Ok(PackageTrust::Blocked { pinned, now, .. })) => (pinned, now, true),
            Some(Err(e)) => {
                return Some(Err(RecordError(format!(
                    "the package could not be checked: {}",
                    e.0
                ))));
            }
        };
        let (pinned, now) = (pinned.label(), now.label());
        withhold(
            &|tool| mcpfw_core::package::withheld_reason(server, tool, &pinned, &now, blocked),
            &|tool| json!({"kind": "package-changed", "severity": "block", "tool": tool, "pinned": pinned, "now": now}),
        )
    }
}
