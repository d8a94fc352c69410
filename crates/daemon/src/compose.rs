//! The composition root: the one place where a server's policy and pipeline are built.
//!
//! Every way a server is reached — `mcpfw wrap` (stdio), `mcpfw wrap --url` (the bridge), the
//! HTTP proxy — and every dry run that replays decisions (`mcpfw rules test`, the API's rule
//! trial) builds its policy engine from [`PolicyInputs`], so each gets the same policy file,
//! database rules, roots and settings; and each connection's pipeline comes from [`pipeline`].

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use crate::paths::Paths;
use crate::pipeline::{ApproverConfig, Limits, Pipeline};
use crate::policy::engine::{Environment, PolicyEngine};
use crate::policy::file::{PolicyError, PolicyFile, RuleSpec, policy_path};
use crate::policy::org::Organisation;
use crate::policy::{FirewallPolicy, Policy, Ruling};
use crate::record::Recorder;
use crate::store::Store;
use mcpfw_core::containment::SandboxSettings;

/// What a server's policy is built from, read once: `policy.toml` (or its error), the rules
/// kept in the database, and the user's environment (home, MCP Firewall's own folders).
#[derive(Debug, Clone)]
pub struct PolicyInputs {
    /// The parsed policy file. An error is kept, not dropped: an engine built from it refuses
    /// every tool call and says why (fail closed).
    pub file: Result<PolicyFile, PolicyError>,
    pub db_rules: Vec<(i64, RuleSpec)>,
    pub env: Environment,
    /// The organisation policy in force (the cached last good bundle), a floor under the rest.
    pub org: Option<Organisation>,
}

impl PolicyInputs {
    /// Reads `policy.toml` and the database rules. A broken policy file is reported once, here.
    pub async fn load(paths: &Paths, store: &Store) -> Result<Self, crate::store::StoreError> {
        let db_rules = store.policy_rules().await?;
        Ok(Self::with_rules(paths, db_rules))
    }

    /// Reads `policy.toml`, with database rules the caller already holds.
    pub fn with_rules(paths: &Paths, db_rules: Vec<(i64, RuleSpec)>) -> Self {
        let file = PolicyFile::load(&policy_path(paths));
        if let Err(e) = &file {
            tracing::error!(
                "{e}; every tool call will be refused until it is fixed (`mcpfw policy check`)"
            );
        }
        let org = crate::org::cached(paths, file.as_ref().ok());
        Self { file, db_rules, env: Environment::for_paths(paths), org }
    }

    /// A server's roots: those given for it (`--root`), then the existing folders among its
    /// arguments (`inferred`) unless `[settings] infer_roots = false`. The roots of
    /// `[servers.NAME]` in policy.toml are added by the engine itself.
    pub fn roots(&self, given: &[PathBuf], inferred: Vec<PathBuf>) -> Vec<PathBuf> {
        let mut roots: Vec<PathBuf> = given.iter().map(|r| absolute(r)).collect();
        if self.file.as_ref().is_ok_and(|p| p.settings.infer_roots) {
            roots.extend(inferred);
        }
        roots
    }

    /// Days of history to keep (0: forever), from the settings.
    pub fn retention_days(&self) -> u32 {
        self.file.as_ref().map_or(0, |p| p.settings.retention_days)
    }

    /// Where the history is replicated: `MCPFW_HISTORY_POSTGRES`, else `[history] postgres`.
    pub fn postgres_url(&self) -> Option<String> {
        std::env::var("MCPFW_HISTORY_POSTGRES")
            .ok()
            .filter(|url| !url.trim().is_empty())
            .or_else(|| self.file.as_ref().ok().and_then(|p| p.history.postgres.clone()))
    }

    /// `[telemetry]` from policy.toml (the defaults when the file has an error).
    pub fn telemetry_settings(&self) -> crate::telemetry::TelemetrySettings {
        self.file.as_ref().map(|p| p.telemetry.clone()).unwrap_or_default()
    }

    /// The policy engine for `server` with these roots, under the organisation's floor.
    pub fn engine(&self, server: &str, roots: Vec<PathBuf>) -> PolicyEngine {
        PolicyEngine::new(server, self.file.clone(), self.db_rules.clone(), roots, self.env.clone())
            .with_organisation(self.org.as_ref())
    }

    /// `[servers.NAME.sandbox]` for `server`, with the organisation's containment floor: a
    /// weaker local `mode` is refused (and said so on stderr and in the log). A broken policy
    /// file gives the defaults (the box stays on, fail closed).
    pub fn sandbox(&self, server: &str) -> SandboxSettings {
        let mut sandbox = self
            .file
            .as_ref()
            .ok()
            .and_then(|p| p.servers.get(server))
            .map(|s| s.sandbox.clone())
            .unwrap_or_default();
        if let Some(org) = &self.org {
            let (mode, refused) = org.sandbox_mode(server, sandbox.mode);
            if let Some(message) = refused {
                tracing::warn!("{message}");
            }
            sandbox.mode = mode;
        }
        sandbox
    }
}

/// Builds a server's engine again from the files and the database rules as they are now.
pub type Rebuild = Box<dyn Fn() -> Result<PolicyEngine, RebuildError> + Send + Sync>;

/// Why a server's policy could not be built again (the rules in force stay).
#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    /// The database rules could not be read through the history writer.
    #[error(transparent)]
    Rules(#[from] crate::store::recorder::WriterError),
    /// The history writer has stopped: the database rules cannot be read.
    #[error("the history writer has stopped")]
    NoWriter,
}

/// How often a [`LivePolicy`] looks at its files, at most.
const LIVE_CHECK_MS: u64 = 500;

/// A server's policy that follows its sources while the server runs: `policy.toml`, the
/// organisation policy's cached bundle and the database rules' stamp
/// ([`crate::store::rules_stamp`]). Before deciding a call it looks at their modification
/// times (at most every half second) and, when one changed, rebuilds the engine right there,
/// so the call is decided by the new rules. A rebuild that fails keeps the engine in force and
/// says why; a policy file that no longer parses gives an engine that refuses every call (fail
/// closed), as at start.
pub struct LivePolicy {
    current: RwLock<Arc<FirewallPolicy>>,
    watched: Vec<PathBuf>,
    stamps: Mutex<Vec<Option<SystemTime>>>,
    /// Milliseconds since the policy was made at which the files were last looked at.
    checked_ms: AtomicU64,
    born: std::time::Instant,
    rebuild: Rebuild,
}

impl LivePolicy {
    pub fn new(engine: PolicyEngine, watched: Vec<PathBuf>, rebuild: Rebuild) -> Self {
        let stamps = Mutex::new(modified(&watched));
        Self {
            current: RwLock::new(Arc::new(FirewallPolicy::new(engine))),
            watched,
            stamps,
            checked_ms: AtomicU64::new(0),
            born: std::time::Instant::now(),
            rebuild,
        }
    }

    /// The files a server's policy is built from, for [`LivePolicy::new`].
    pub fn sources(paths: &Paths) -> Vec<PathBuf> {
        vec![
            policy_path(paths),
            crate::org::cache_path(paths),
            crate::store::rules_stamp(&crate::store::db_path(paths)),
        ]
    }

    fn refresh(&self) {
        let now = self.born.elapsed().as_millis() as u64;
        let last = self.checked_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last) < LIVE_CHECK_MS
            || self
                .checked_ms
                .compare_exchange(last, now.max(1), Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        let seen = modified(&self.watched);
        let mut stamps = self.stamps.lock().unwrap_or_else(PoisonError::into_inner);
        if *stamps == seen {
            return;
        }
        *stamps = seen;
        match (self.rebuild)() {
            Ok(engine) => {
                tracing::info!(
                    server = %engine.server(),
                    rules = engine.rule_count(),
                    organisation = ?engine.organisation_version(),
                    "the policy changed; it applies from this call on"
                );
                let engine = Arc::new(FirewallPolicy::new(engine));
                *self.current.write().unwrap_or_else(PoisonError::into_inner) = engine;
            }
            Err(e) => tracing::warn!(
                "the policy changed but could not be read again ({}); the rules in force stay \
                 until the next change",
                crate::text::error_chain(&e)
            ),
        }
    }
}

impl LivePolicy {
    /// The policy in force now (after looking at the files, as a call would): for what decides
    /// beside the pipeline, such as the egress proxy's connections.
    pub fn current(&self) -> Arc<FirewallPolicy> {
        self.refresh();
        self.current.read().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// A [`LivePolicy`] shared between the pipeline and what decides beside it.
struct Shared(Arc<LivePolicy>);

impl Policy for Shared {
    fn decide(&self, inspection: &crate::session::Inspection) -> Ruling {
        self.0.decide(inspection)
    }
}

impl Policy for LivePolicy {
    fn decide(&self, inspection: &crate::session::Inspection) -> Ruling {
        // Only requests from the client reach the engine (the rest passes without a lookup).
        if inspection.direction == crate::session::Direction::ClientToServer
            && inspection.kind == crate::session::Kind::Request
        {
            self.refresh();
        }
        let current = self.current.read().unwrap_or_else(PoisonError::into_inner).clone();
        current.decide(inspection)
    }
}

/// Each file's modification time (`None`: missing or unreadable).
fn modified(files: &[PathBuf]) -> Vec<Option<SystemTime>> {
    files.iter().map(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok()).collect()
}

/// How a shim or the proxy reaches the daemon for approvals.
pub fn approver(paths: &Paths, timeout: Duration) -> ApproverConfig {
    ApproverConfig {
        socket: crate::approval::socket_path(paths),
        fallbacks: paths.default_sockets(),
        timeout,
    }
}

/// The pipeline for one connection to a server: the engine's decisions, the recorder, the
/// limits, the approver, and the other servers' tools (for shadowing and squatting checks).
pub fn pipeline(
    engine: PolicyEngine,
    recorder: Box<dyn Recorder>,
    limits: Limits,
    approver: ApproverConfig,
    neighbours: Vec<(String, String, String)>,
) -> Pipeline {
    let shown = describe(&engine, "policy loaded");
    let policy = Box::new(FirewallPolicy::new(engine));
    Pipeline::new(shown, policy, recorder, limits)
        .with_approver(approver)
        .with_neighbours(neighbours)
}

/// [`pipeline`] with a policy that follows its sources while the server runs ([`LivePolicy`]).
pub fn live_pipeline(
    policy: Arc<LivePolicy>,
    recorder: Box<dyn Recorder>,
    limits: Limits,
    approver: ApproverConfig,
    neighbours: Vec<(String, String, String)>,
) -> Pipeline {
    let current = policy.current.read().unwrap_or_else(PoisonError::into_inner).clone();
    let shown =
        describe(current.engine(), "policy loaded (it follows changes while the server runs)");
    Pipeline::new(shown, Box::new(Shared(policy)), recorder, limits)
        .with_approver(approver)
        .with_neighbours(neighbours)
}

/// Logs what a server's pipeline decides with; returns the server's name.
fn describe(engine: &PolicyEngine, what: &str) -> String {
    tracing::info!(
        server = %engine.server(),
        roots = ?engine.server_roots(),
        rules = engine.rule_count(),
        "{what}"
    );
    engine.server().to_owned()
}

/// Registers the server in the history (`origin`: its command line or URL). A shim also prunes
/// the history to the retention setting as it starts ([`PolicyInputs::retention_days`]); the
/// daemon, which hosts the proxy, prunes daily.
pub async fn register_server(
    store: &Store,
    name: &str,
    origin: &str,
) -> Result<(), crate::store::StoreError> {
    store.upsert_server(name, origin, crate::record::now_ms()).await?;
    Ok(())
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Starts replicating the history to PostgreSQL when `url` names a database (see
/// `mcpfw_store::postgres`); `None` when not configured, or (logged) when it cannot start.
pub fn replicator(
    paths: &Paths,
    url: Option<String>,
    key: crate::store::ChainKey,
) -> Option<crate::store::postgres::Replicator> {
    use crate::store::postgres::{Replicator, ReplicatorConfig, Target};
    let url = url?;
    let started = Target::parse(&url).and_then(|target| {
        Replicator::start(ReplicatorConfig {
            target,
            data: paths.data.clone(),
            db: crate::store::db_path(paths),
            key,
        })
    });
    match started {
        Ok(replicator) => Some(replicator),
        Err(e) => {
            tracing::error!("the history is not replicated to PostgreSQL: {e}");
            None
        }
    }
}

/// Starts OpenTelemetry export when `[telemetry]` or the `OTEL_EXPORTER_OTLP_*` environment
/// names a collector (see `crate::telemetry`); `None` when not configured, or (logged) when it
/// cannot start. `transport`: how this entry's clients reach it (`pipe` for `mcpfw wrap`,
/// `tcp` for the HTTP proxy).
pub fn telemetry(
    inputs: &PolicyInputs,
    transport: crate::telemetry::Transport,
) -> Option<std::sync::Arc<crate::telemetry::OtlpRecorder>> {
    use crate::telemetry::{ExportConfig, OtlpRecorder};
    let config = ExportConfig::resolve(
        &inputs.telemetry_settings(),
        |name| std::env::var(name).ok(),
        transport,
    );
    match config.and_then(|c| c.map(OtlpRecorder::start).transpose()) {
        Ok(recorder) => recorder.map(std::sync::Arc::new),
        Err(e) => {
            tracing::error!("nothing is exported to OpenTelemetry: {e}");
            None
        }
    }
}

/// How long a shim waits, as it exits, for its last events to reach the collector.
pub const TELEMETRY_FINISH: Duration = Duration::from_secs(2);
