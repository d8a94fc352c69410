//! The policy engine: classification, guards, rules and defaults combined into one decision.
//!
//! The semantics, in one paragraph (docs/policy.md repeats it): a tool call is classified into a
//! category. Every user rule (from `policy.toml` and from the database) whose server, tool,
//! categories and argument conditions match is collected; the most restrictive action among
//! them wins (deny > ask > allow), and if none matches, the category's default applies. Then
//! the built-in guards — path outside the server's roots, credential or MCP Firewall files,
//! persistence files and MCP configs, secrets in the arguments, network hosts outside the
//! egress allow-list, rate limits, unresolvable paths — can only make that stricter, unless a
//! matching `allow` rule names the guard in `lift`. Any error while deciding is a deny.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use globset::{Glob, GlobBuilder, GlobMatcher, GlobSet, GlobSetBuilder};
use regex::Regex;
use serde_json::Value;

use super::file::{Action, Guard, PolicyError, PolicyFile, RuleSpec, Unattended};
use crate::classify::{self, Category, Classification, ToolInfo};
use crate::record::DecidedBy;
use crate::sandbox::windows::WinPath;
use crate::sandbox::{Flavour, PathSandbox, Sensitivity};
use crate::secrets;

mod connect;
pub use connect::ConnectionRules;

/// At most this many path arguments are resolved per call; more make the call ask.
const MAX_PATHS: usize = 64;

/// A tool call as the engine sees it.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    pub tool: &'a str,
    pub tool_info: Option<&'a ToolInfo>,
    pub arguments: Option<&'a Value>,
    /// SHA-256 (hex) of the raw arguments.
    pub args_digest: Option<&'a str>,
    /// Roots the client announced in `roots/list`, as filesystem paths.
    pub client_roots: &'a [PathBuf],
}

/// One guard that fired, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardHit {
    pub guard: Guard,
    pub action: Action,
    pub reason: String,
}

/// The engine's answer for one call.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision {
    pub action: Action,
    pub category: Category,
    pub decided_by: DecidedBy,
    /// What the user reads: what the call would do and why it is (not) allowed.
    pub reason: String,
    pub classification: Option<Classification>,
    pub guards: Vec<GuardHit>,
    /// Secrets found in the arguments.
    pub secrets: Vec<secrets::SecretFinding>,
    /// The path arguments, resolved.
    pub paths: Vec<crate::sandbox::PathAssessment>,
}

impl Decision {
    fn error(reason: String) -> Self {
        Self {
            action: Action::Deny,
            category: Category::Unknown,
            decided_by: DecidedBy::Firewall,
            reason,
            classification: None,
            guards: Vec::new(),
            secrets: Vec::new(),
            paths: Vec::new(),
        }
    }
}

/// A rule ready to match.
#[derive(Debug)]
struct CompiledRule {
    id: String,
    spec: RuleSpec,
    args: Vec<(String, Regex)>,
    paths_within: Option<Vec<PathSpec>>,
    hosts_in: Option<GlobSet>,
}

#[derive(Debug, Clone)]
enum PathSpec {
    Roots,
    Dir(PathBuf),
}

#[derive(Debug)]
struct CompiledLimit {
    tool: GlobMatcher,
    category: Vec<Category>,
    per_minute: u32,
}

/// Where the engine finds the user's home and the firewall's own folders.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    pub home: Option<PathBuf>,
    pub firewall_dirs: Vec<PathBuf>,
    /// The server's working directory (it inherits the shim's): relative paths resolve here.
    pub cwd: Option<PathBuf>,
}

/// The compiled policy for one server.
pub struct PolicyEngine {
    server: String,
    /// A broken policy file makes every call a deny that names the error.
    broken: Option<String>,
    unattended: Unattended,
    defaults: super::file::Defaults,
    rules: Vec<CompiledRule>,
    /// All rules' tool patterns, in rule order, to find candidates in one pass.
    tool_globs: GlobSet,
    egress: GlobSet,
    /// The egress allow-list as written (for the egress proxy: which hosts are named exactly).
    egress_patterns: Vec<String>,
    limits: Vec<CompiledLimit>,
    recent: Mutex<HashMap<usize, VecDeque<Instant>>>,
    server_roots: Vec<PathBuf>,
    env: Environment,
    /// The sandbox for the current client roots (rebuilt when they change).
    sandbox: Mutex<(Vec<PathBuf>, std::sync::Arc<PathSandbox>)>,
    /// The organisation policy's rules, a floor under everything local.
    org: Option<OrgFloor>,
}

/// The organisation policy's rules, compiled for this server.
#[derive(Debug)]
struct OrgFloor {
    version: u64,
    /// `the organisation policy (version N)`.
    name: String,
    rules: Vec<CompiledRule>,
    tools: GlobSet,
}

impl std::fmt::Debug for PolicyEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyEngine")
            .field("server", &self.server)
            .field("rules", &self.rules.len())
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

fn glob(pattern: &str) -> Result<Glob, globset::Error> {
    GlobBuilder::new(pattern).literal_separator(false).build()
}

/// Expands `~` and `~/…` against `home`.
pub fn expand_home(path: &str, home: Option<&Path>) -> PathBuf {
    match (path.strip_prefix('~'), home) {
        (Some(""), Some(home)) => home.to_path_buf(),
        (Some(rest), Some(home)) if rest.starts_with('/') => home.join(&rest[1..]),
        _ => PathBuf::from(path),
    }
}

impl Environment {
    /// This process's view: `$HOME`, MCP Firewall's own folders, and the working directory
    /// (which a wrapped server inherits).
    pub fn for_paths(paths: &crate::paths::Paths) -> Self {
        Self {
            home: std::env::var_os("HOME").map(PathBuf::from),
            firewall_dirs: vec![
                paths.config.clone(),
                paths.data.clone(),
                paths.logs.clone(),
                paths.runtime.clone(),
            ],
            cwd: std::env::current_dir().ok(),
        }
    }
}

impl PolicyEngine {
    /// Compiles the policy for `server`. `policy` is the parsed `policy.toml` (or its error);
    /// `db_rules` the rules stored in the database, by id; `extra_roots` roots given on the
    /// command line or inferred from the server's arguments.
    pub fn new(
        server: &str,
        policy: Result<PolicyFile, PolicyError>,
        db_rules: Vec<(i64, RuleSpec)>,
        extra_roots: Vec<PathBuf>,
        env: Environment,
    ) -> Self {
        let (policy, broken) = match policy {
            Ok(policy) => (policy, None),
            Err(e) => (
                PolicyFile::default(),
                Some(format!(
                    "MCP Firewall's policy file has an error, so every tool call is refused until it is fixed: {e} \
                     (check it with `mcpfw policy check`)"
                )),
            ),
        };
        let home = env.home.clone();
        let mut server_roots = extra_roots;
        if let Some(settings) = policy.servers.get(server) {
            server_roots.extend(settings.roots.iter().map(|r| expand_home(r, home.as_deref())));
        }
        let mut engine = Self {
            server: server.to_owned(),
            broken,
            unattended: policy.settings.unattended,
            defaults: policy.defaults.clone(),
            rules: Vec::new(),
            tool_globs: GlobSet::empty(),
            egress: GlobSet::empty(),
            egress_patterns: Vec::new(),
            limits: Vec::new(),
            recent: Mutex::new(HashMap::new()),
            sandbox: Mutex::new((
                Vec::new(),
                std::sync::Arc::new(PathSandbox::new(
                    &server_roots,
                    home.clone(),
                    &env.firewall_dirs,
                )),
            )),
            server_roots,
            env,
            org: None,
        };
        if let Err(e) = engine.compile(&policy, db_rules) {
            engine.broken = Some(format!(
                "MCP Firewall's policy could not be compiled, so every tool call is refused: {e}"
            ));
        }
        engine
    }

    fn compile(
        &mut self,
        policy: &PolicyFile,
        db_rules: Vec<(i64, RuleSpec)>,
    ) -> Result<(), CompileError> {
        let file_rules = policy.rules.iter().enumerate().map(|(i, spec)| {
            (
                format!("file:{}", spec.id.clone().unwrap_or_else(|| (i + 1).to_string())),
                spec.clone(),
            )
        });
        let db = db_rules.into_iter().map(|(id, spec)| (format!("db:{id}"), spec));
        let mut tool_globs = GlobSetBuilder::new();
        for (id, spec) in file_rules.chain(db) {
            if let Some(rule) = self.compile_rule(id, spec)? {
                let tool = glob(&rule.spec.tool).map_err(|error| CompileError::Pattern {
                    rule: rule.id.clone(),
                    what: "tool",
                    error,
                })?;
                tool_globs.add(tool);
                self.rules.push(rule);
            }
        }
        self.tool_globs = tool_globs.build().map_err(CompileError::Set)?;
        let mut hosts = policy.egress.allow_hosts.clone();
        if let Some(settings) = policy.servers.get(&self.server) {
            hosts.extend(settings.allow_hosts.iter().cloned());
        }
        self.egress = host_set(&hosts)?;
        self.egress_patterns = hosts;
        for limit in &policy.limits {
            let pattern = |what: &'static str, text: &str| {
                glob(text).map_err(|error| CompileError::Pattern {
                    rule: format!("limits ({})", limit.tool),
                    what,
                    error,
                })
            };
            if !pattern("server", &limit.server)?.compile_matcher().is_match(&self.server) {
                continue;
            }
            self.limits.push(CompiledLimit {
                tool: pattern("tool", &limit.tool)?.compile_matcher(),
                category: limit.category.clone(),
                per_minute: limit.per_minute,
            });
        }
        Ok(())
    }

    /// One rule ready to match, or `None` when it is for other servers (this process serves
    /// one server; other servers' rules never apply).
    fn compile_rule(
        &self,
        id: String,
        spec: RuleSpec,
    ) -> Result<Option<CompiledRule>, CompileError> {
        let server_glob = glob(&spec.server).map_err(|error| CompileError::Pattern {
            rule: id.clone(),
            what: "server",
            error,
        })?;
        if !server_glob.compile_matcher().is_match(&self.server) {
            return Ok(None);
        }
        glob(&spec.tool).map_err(|error| CompileError::Pattern {
            rule: id.clone(),
            what: "tool",
            error,
        })?;
        let args =
            spec.when
                .args
                .iter()
                .map(|(name, re)| {
                    Regex::new(re).map(|re| (name.clone(), re)).map_err(|error| {
                        CompileError::Regex { rule: id.clone(), name: name.clone(), error }
                    })
                })
                .collect::<Result<_, _>>()?;
        let paths_within = spec.when.paths_within.as_ref().map(|dirs| {
            dirs.iter()
                .map(|d| match d.as_str() {
                    "@roots" => PathSpec::Roots,
                    other => {
                        let p = expand_home(other, self.env.home.as_deref());
                        PathSpec::Dir(std::fs::canonicalize(&p).unwrap_or(p))
                    }
                })
                .collect()
        });
        let hosts_in = match &spec.when.hosts_in {
            None => None,
            Some(hosts) => Some(
                host_set(hosts)
                    .map_err(|e| CompileError::InRule { rule: id.clone(), error: Box::new(e) })?,
            ),
        };
        Ok(Some(CompiledRule { id, spec, args, paths_within, hosts_in }))
    }

    /// Adds the organisation policy as a floor (docs/teams.md): its rules are matched after
    /// everything local and win whenever they are at least as strict (so an organisation deny
    /// or ask is never loosened by a local rule, a database rule or a remembered approval), its
    /// egress allow-list adds to this one, and its `unattended = "deny"` overrides a local
    /// `allow`. A bundle that does not compile refuses every call (fail closed).
    pub fn with_organisation(mut self, org: Option<&super::org::Organisation>) -> Self {
        let Some(org) = org else { return self };
        let bundle = &org.bundle;
        if bundle.settings.unattended == Some(Unattended::Deny) {
            self.unattended = Unattended::Deny;
        }
        let compiled =
            (|| -> Result<OrgFloor, CompileError> {
                let mut rules = Vec::new();
                let mut tools = GlobSetBuilder::new();
                for (i, spec) in bundle.rules.iter().enumerate() {
                    let id = spec.id.clone().unwrap_or_else(|| (i + 1).to_string());
                    if let Some(rule) = self.compile_rule(id, spec.clone())? {
                        let tool = glob(&rule.spec.tool).map_err(|error| {
                            CompileError::Pattern { rule: rule.id.clone(), what: "tool", error }
                        })?;
                        tools.add(tool);
                        rules.push(rule);
                    }
                }
                let tools = tools.build().map_err(CompileError::Set)?;
                Ok(OrgFloor { version: bundle.version, name: org.name(), rules, tools })
            })();
        let hosts = bundle.egress.allow_hosts.iter().filter(|h| !self.egress_patterns.contains(h));
        let mut patterns = self.egress_patterns.clone();
        patterns.extend(hosts.cloned());
        match (compiled, host_set(&patterns)) {
            (Ok(floor), Ok(egress)) => {
                self.org = Some(floor);
                self.egress = egress;
                self.egress_patterns = patterns;
            }
            (Err(e), _) | (_, Err(e)) => {
                self.broken = Some(format!(
                    "{} could not be compiled, so every tool call is refused: {e}",
                    org.name()
                ));
            }
        }
        self
    }

    /// The organisation policy's version, when one is enforced.
    pub fn organisation_version(&self) -> Option<u64> {
        self.org.as_ref().map(|o| o.version)
    }

    /// The server these rules are compiled for.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// The roots this server is confined to (before the client announces any).
    pub fn server_roots(&self) -> &[PathBuf] {
        &self.server_roots
    }

    /// What `ask` becomes when nobody can be asked.
    pub fn unattended(&self) -> Unattended {
        self.unattended
    }

    /// What an ask of `decision` becomes when nobody can be asked: the organisation's asks are
    /// refused then, whatever the local setting says.
    pub fn unattended_for(&self, decision: &Decision) -> Unattended {
        match decision.decided_by {
            DecidedBy::Organisation { .. } => Unattended::Deny,
            _ => self.unattended,
        }
    }

    /// How many rules apply to this server.
    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// Decides one tool call. Never panics; any failure is a deny with the reason.
    pub fn decide(&self, call: &Call<'_>) -> Decision {
        if let Some(broken) = &self.broken {
            return Decision::error(broken.clone());
        }
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.decide_inner(call))) {
            Ok(decision) => decision,
            Err(_) => Decision::error(format!(
                "MCP Firewall hit an internal error while deciding on `{}`, so the call is refused",
                call.tool
            )),
        }
    }

    fn sandbox_for(&self, client_roots: &[PathBuf]) -> std::sync::Arc<PathSandbox> {
        let mut cached = self.sandbox.lock().unwrap_or_else(|p| p.into_inner());
        if cached.0 != client_roots {
            let mut roots = self.server_roots.clone();
            roots.extend(client_roots.iter().cloned());
            let sandbox = PathSandbox::new(&roots, self.env.home.clone(), &self.env.firewall_dirs);
            *cached = (client_roots.to_vec(), std::sync::Arc::new(sandbox));
        }
        cached.1.clone()
    }

    fn decide_inner(&self, call: &Call<'_>) -> Decision {
        let classification = classify::classify(call.tool, call.tool_info, call.arguments);
        let mut category = classification.category;
        let sandbox = self.sandbox_for(call.client_roots);
        let roots = sandbox.roots().to_vec();
        let base_dir = self.env.cwd.clone().or_else(|| roots.first().cloned());
        let mut guards: Vec<GuardHit> = Vec::new();
        let mut resolved = Vec::new();

        if classification.paths.len() > MAX_PATHS {
            guards.push(GuardHit {
                guard: Guard::UnresolvablePath,
                action: Action::Ask,
                reason: format!(
                    "the call names {} paths, more than MCP Firewall checks one by one",
                    classification.paths.len()
                ),
            });
        }
        for arg in classification.paths.iter().take(MAX_PATHS) {
            let a = sandbox.assess(&arg.value, base_dir.as_deref());
            let shown = a.resolved.as_ref().map_or(arg.value.clone(), |p| p.display().to_string());
            if let Some(error) = &a.error {
                guards.push(GuardHit {
                    guard: Guard::UnresolvablePath,
                    action: Action::Deny,
                    reason: format!("the path `{}` cannot be checked safely: {error}", arg.value),
                });
                continue;
            }
            match a.sensitivity {
                Some(Sensitivity::Credential) => guards.push(GuardHit {
                    guard: Guard::SensitivePath,
                    action: Action::Deny,
                    reason: format!("{shown} is a credential location"),
                }),
                Some(Sensitivity::Firewall) => guards.push(GuardHit {
                    guard: Guard::SensitivePath,
                    action: Action::Deny,
                    reason: format!("{shown} belongs to MCP Firewall itself"),
                }),
                Some(kind @ (Sensitivity::Persistence | Sensitivity::McpConfig)) => {
                    // Changing such a file changes what runs later: a configuration change.
                    if matches!(category, Category::Write | Category::Delete) {
                        category = Category::ConfigChange;
                    }
                    let what = if kind == Sensitivity::McpConfig {
                        "an MCP client's configuration"
                    } else {
                        "a start-up, autostart or scheduled-task file"
                    };
                    guards.push(GuardHit {
                        guard: Guard::PersistencePath,
                        action: Action::Ask,
                        reason: format!("{shown} is {what}"),
                    });
                }
                None => {}
            }
            if !roots.is_empty() && !a.inside_roots && a.sensitivity.is_none() {
                let list =
                    roots.iter().map(|r| r.display().to_string()).collect::<Vec<_>>().join(", ");
                let mut reason = format!("{shown} is outside this server's roots ({list})");
                if let Some(note) = a.notes.first() {
                    reason.push_str(&format!("; {note}"));
                }
                guards.push(GuardHit { guard: Guard::OutsideRoots, action: Action::Ask, reason });
            }
            resolved.push(a);
        }

        let secrets = call.arguments.map(secrets::scan).unwrap_or_default();
        if !secrets.is_empty() {
            let kinds: Vec<&str> = secrets.iter().map(|s| s.kind).collect();
            // Sent, run or given to an unknown tool, a secret is refused, unless it sits where
            // credentials belong (an Authorization header, a tool about tokens): then it asks.
            let risky =
                matches!(category, Category::NetworkSend | Category::Exec | Category::Unknown);
            let action = if risky && !secrets.iter().all(|s| super::attacks::belongs(call, s)) {
                Action::Deny
            } else {
                Action::Ask
            };
            guards.push(GuardHit {
                guard: Guard::Secrets,
                action,
                reason: format!("the arguments carry a secret ({})", dedup(kinds).join(", ")),
            });
        }

        if category == Category::NetworkSend
            || !classification.urls.is_empty() && category.risk() >= 1
        {
            let outside: Vec<&String> =
                classification.hosts.iter().filter(|h| !self.egress.is_match(h.as_str())).collect();
            if !outside.is_empty() {
                let list = outside.iter().map(|h| h.as_str()).collect::<Vec<_>>().join(", ");
                guards.push(GuardHit {
                    guard: Guard::Egress,
                    action: Action::Ask,
                    reason: format!("it sends data to {list}, outside the egress allow-list"),
                });
            }
        }

        if let Some(hit) = self.rate(call.tool, category) {
            guards.push(hit);
        }
        // Blatant attacks go first, so that their evidence is the reason given.
        let attacks = super::attacks::refusals(&super::attacks::Evidence {
            call,
            category,
            classification: &classification,
            paths: &resolved,
            secrets: &secrets,
        });
        guards.splice(0..0, attacks);

        // User rules: the most restrictive matching rule wins; otherwise the default.
        let mut matched: Option<&CompiledRule> = None;
        let mut lifted: Vec<Guard> = Vec::new();
        for index in self.tool_globs.matches(call.tool) {
            let rule = &self.rules[index];
            if !self.rule_matches(rule, category, call, &classification, &resolved, &roots) {
                continue;
            }
            if rule.spec.action == Action::Allow {
                lifted.extend(rule.spec.lift.iter().copied());
            }
            if matched.is_none_or(|m| rule.spec.action > m.spec.action) {
                matched = Some(rule);
            }
        }
        let (mut action, mut decided_by, mut reason) = match matched {
            Some(rule) => (
                rule.spec.action,
                DecidedBy::Rule(rule.id.clone()),
                rule.spec.reason.clone().unwrap_or_else(|| {
                    format!("rule {} says {}", rule.id, rule.spec.action.as_str())
                }),
            ),
            None => {
                let action = self.defaults.for_category(category);
                (
                    action,
                    DecidedBy::Default,
                    format!("{} calls {} by default", category.as_str(), verb(action)),
                )
            }
        };
        if action != Action::Allow {
            lifted.clear(); // lifting only widens an allow
        }
        for hit in guards.iter().filter(|g| !lifted.contains(&g.guard)) {
            if hit.action > action {
                action = hit.action;
                decided_by = DecidedBy::Guard(hit.guard.as_str().to_owned());
                reason = hit.reason.clone();
            }
        }
        // The organisation's floor: its strictest matching rule wins when it is at least as
        // strict as everything local (so the decision names the organisation).
        if let Some(org) = &self.org {
            let mut strictest: Option<&CompiledRule> = None;
            for index in org.tools.matches(call.tool) {
                let rule = &org.rules[index];
                if self.rule_matches(rule, category, call, &classification, &resolved, &roots)
                    && strictest.is_none_or(|m| rule.spec.action > m.spec.action)
                {
                    strictest = Some(rule);
                }
            }
            if let Some(rule) = strictest.filter(|r| r.spec.action >= action) {
                action = rule.spec.action;
                decided_by =
                    DecidedBy::Organisation { version: org.version, rule: rule.id.clone() };
                let why = rule.spec.reason.clone().unwrap_or_else(|| {
                    format!("its rule {} says {}", rule.id, rule.spec.action.as_str())
                });
                reason = format!("{} (rule {}): {why}", org.name, rule.id);
            }
        }
        let what = describe(call.tool, category, &resolved, &classification);
        Decision {
            action,
            category,
            decided_by,
            reason: format!("{what}: {reason}"),
            classification: Some(classification),
            guards,
            secrets,
            paths: resolved,
        }
    }

    fn rule_matches(
        &self,
        rule: &CompiledRule,
        category: Category,
        call: &Call<'_>,
        classification: &Classification,
        resolved: &[crate::sandbox::PathAssessment],
        roots: &[PathBuf],
    ) -> bool {
        if !rule.spec.category.is_empty() && !rule.spec.category.contains(&category) {
            return false;
        }
        if let Some(digest) = &rule.spec.when.args_digest
            && call.args_digest != Some(digest.as_str())
        {
            return false;
        }
        for (name, re) in &rule.args {
            let value = call.arguments.and_then(|args| {
                if name.starts_with('/') { args.pointer(name) } else { args.get(name) }
            });
            let text = match value {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => return false,
            };
            if !re.is_match(&text) {
                return false;
            }
        }
        if let Some(specs) = &rule.paths_within {
            let inside = |path: &Path| {
                specs.iter().any(|spec| match spec {
                    PathSpec::Roots => roots.iter().any(|r| within(path, r)),
                    PathSpec::Dir(dir) => within(path, dir),
                })
            };
            if resolved.len() != classification.paths.len().min(MAX_PATHS)
                || !resolved.iter().all(|a| a.resolved.as_deref().is_some_and(inside))
            {
                return false;
            }
        }
        if let Some(hosts) = &rule.hosts_in
            && !classification.hosts.iter().all(|h| hosts.is_match(h.as_str()))
        {
            return false;
        }
        true
    }

    fn rate(&self, tool: &str, category: Category) -> Option<GuardHit> {
        if self.limits.is_empty() {
            return None;
        }
        let now = Instant::now();
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        let mut hit = None;
        for (i, limit) in self.limits.iter().enumerate() {
            if !limit.tool.is_match(tool)
                || (!limit.category.is_empty() && !limit.category.contains(&category))
            {
                continue;
            }
            let window = recent.entry(i).or_default();
            while window.front().is_some_and(|t| now.duration_since(*t) > Duration::from_secs(60)) {
                window.pop_front();
            }
            window.push_back(now);
            if window.len() > limit.per_minute as usize {
                hit = Some(GuardHit {
                    guard: Guard::Rate,
                    action: Action::Ask,
                    reason: format!(
                        "this is call {} in a minute; the limit for such calls is {} a minute",
                        window.len(),
                        limit.per_minute
                    ),
                });
            }
        }
        hit
    }
}

/// `path` is `dir` or inside it, as the host compares paths ([`within_as`]).
fn within(path: &Path, dir: &Path) -> bool {
    within_as(Flavour::HOST, path, dir)
}

/// `path` is `dir` or inside it. Both are absolute and normalised, so a byte prefix that ends
/// at a separator is component-wise containment (`/work-evil` is not inside `/work`), without
/// walking components on every rule. Absolute Windows paths compare as Windows compares them
/// (drive letters and names without case, `\\?\C:\` as `C:\`); others (`/work` in a rule) as
/// bytes.
fn within_as(flavour: Flavour, path: &Path, dir: &Path) -> bool {
    if flavour == Flavour::Windows {
        let read = |p: &Path| p.to_str().and_then(|p| WinPath::absolute(p).ok());
        if let (Some(p), Some(d)) = (read(path), read(dir)) {
            return p.starts_with(&d);
        }
    }
    let (p, d) = (path.as_os_str().as_encoded_bytes(), dir.as_os_str().as_encoded_bytes());
    let separator = |b: &u8| std::path::is_separator(char::from(*b));
    let d = match d.split_last() {
        Some((last, rest)) if !rest.is_empty() && separator(last) => rest,
        _ => d,
    };
    p.starts_with(d)
        && (p.len() == d.len() || separator(&p[d.len()]) || d.last().is_some_and(separator))
}

fn host_set(hosts: &[String]) -> Result<GlobSet, CompileError> {
    let mut set = GlobSetBuilder::new();
    for host in hosts {
        set.add(
            GlobBuilder::new(&host.to_ascii_lowercase())
                .case_insensitive(true)
                .build()
                .map_err(|error| CompileError::Host { host: host.clone(), error })?,
        );
    }
    set.build().map_err(CompileError::Set)
}

/// Why a policy's rules cannot be compiled (the engine then refuses every call, saying this).
#[derive(Debug, thiserror::Error)]
enum CompileError {
    #[error("rule {rule}: bad {what} pattern: {error}")]
    Pattern { rule: String, what: &'static str, error: globset::Error },
    #[error("rule {rule}: bad regex for argument `{name}`: {error}")]
    Regex { rule: String, name: String, error: regex::Error },
    #[error("bad host pattern `{host}`: {error}")]
    Host { host: String, error: globset::Error },
    #[error("rule {rule}: {error}")]
    InRule { rule: String, error: Box<CompileError> },
    #[error("the patterns cannot be combined: {0}")]
    Set(globset::Error),
}

fn dedup(mut kinds: Vec<&str>) -> Vec<&str> {
    kinds.sort_unstable();
    kinds.dedup();
    kinds
}

fn verb(action: Action) -> &'static str {
    match action {
        Action::Allow => "are allowed",
        Action::Ask => "need your approval",
        Action::Deny => "are refused",
    }
}

/// A one-line description of what the call would do, for the user.
fn describe(
    tool: &str,
    category: Category,
    resolved: &[crate::sandbox::PathAssessment],
    classification: &Classification,
) -> String {
    let mut out = format!("`{tool}` ({})", category.as_str());
    let targets: Vec<String> = resolved
        .iter()
        .filter_map(|a| a.resolved.as_ref().map(|p| p.display().to_string()))
        .chain(classification.hosts.iter().cloned())
        .take(3)
        .collect();
    if !targets.is_empty() {
        out.push_str(" on ");
        out.push_str(&targets.join(", "));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn engine_with(policy: &str, roots: &[&Path]) -> PolicyEngine {
        let file = PolicyFile::parse(policy, "policy.toml").expect("test policy parses");
        PolicyEngine::new(
            "files",
            Ok(file),
            Vec::new(),
            roots.iter().map(|r| r.to_path_buf()).collect(),
            Environment::default(),
        )
    }

    fn decide(engine: &PolicyEngine, tool: &str, args: Value) -> Decision {
        engine.decide(&Call {
            tool,
            tool_info: None,
            arguments: Some(&args),
            args_digest: None,
            client_roots: &[],
        })
    }

    #[test]
    fn defaults_follow_the_category() {
        let e = engine_with("", &[]);
        assert_eq!(decide(&e, "read_file", json!({})).action, Action::Allow);
        assert_eq!(decide(&e, "write_note", json!({"text": "x"})).action, Action::Allow);
        for tool in
            ["delete_entities", "run_command", "send_email", "frobnicate", "update_settings"]
        {
            let d = decide(&e, tool, json!({}));
            assert_eq!(d.action, Action::Ask, "{tool}: {d:?}");
            assert_eq!(d.decided_by, DecidedBy::Default);
        }
    }

    #[test]
    fn the_most_restrictive_matching_rule_wins() {
        let e = engine_with(
            r#"
[[rules]]
id = "allow-all"
action = "allow"
[[rules]]
id = "ask-reads"
tool = "read_*"
action = "ask"
[[rules]]
id = "deny-secrets"
tool = "read_*"
action = "deny"
when.args.name = "secret"
"#,
            &[],
        );
        assert_eq!(
            decide(&e, "list_things", json!({})).decided_by,
            DecidedBy::Rule("file:allow-all".into())
        );
        let d = decide(&e, "read_file", json!({"name": "notes"}));
        assert_eq!(
            (d.action, d.decided_by),
            (Action::Ask, DecidedBy::Rule("file:ask-reads".into()))
        );
        let d = decide(&e, "read_file", json!({"name": "my-secret"}));
        assert_eq!(
            (d.action, d.decided_by),
            (Action::Deny, DecidedBy::Rule("file:deny-secrets".into()))
        );
        // A user rule beats the default: frobnicate is unknown (ask) but allow-all matches.
        assert_eq!(decide(&e, "frobnicate", json!({})).action, Action::Allow);
    }

    #[test]
    fn guards_only_tighten_unless_an_allow_rule_lifts_them() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let target = outside.path().join("x.txt").display().to_string();
        let strict = engine_with("[[rules]]\naction = \"allow\"\n", &[root.path()]);
        let d = decide(&strict, "write_file", json!({"path": target}));
        assert_eq!(
            (d.action, d.decided_by),
            (Action::Ask, DecidedBy::Guard("outside-roots".into()))
        );
        let lifted = engine_with(
            "[[rules]]\naction = \"allow\"\nlift = [\"outside-roots\"]\n",
            &[root.path()],
        );
        assert_eq!(decide(&lifted, "write_file", json!({"path": target})).action, Action::Allow);
        // Lifting never applies when the rule itself is not an allow.
        let ask = engine_with(
            "[[rules]]\naction = \"ask\"\nlift = [\"outside-roots\"]\n",
            &[root.path()],
        );
        assert_eq!(decide(&ask, "write_file", json!({"path": target})).action, Action::Ask);
    }

    #[test]
    fn network_sends_outside_the_egress_list_ask_and_secrets_in_them_are_refused() {
        let e = engine_with(
            "[egress]\nallow_hosts = [\"*.example.com\"]\n[defaults]\nnetwork-send = \"allow\"\n",
            &[],
        );
        let ok = decide(&e, "http_post", json!({"url": "https://api.example.com/x", "body": "hi"}));
        assert_eq!(ok.action, Action::Allow, "{ok:?}");
        let d = decide(&e, "http_post", json!({"url": "https://evil.test/x", "body": "hi"}));
        assert_eq!((d.action, d.decided_by.label()), (Action::Ask, "guard:egress".to_owned()));
        assert!(d.reason.contains("evil.test"), "{}", d.reason);
        let key = format!("ghp_{}", "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8");
        let d = decide(&e, "http_post", json!({"url": "https://api.example.com/x", "body": key}));
        assert_eq!(
            (d.action, d.decided_by.label()),
            (Action::Deny, "guard:secrets".to_owned()),
            "{d:?}"
        );
    }

    #[test]
    fn bursts_beyond_a_rate_limit_ask() {
        let e = engine_with(
            "[defaults]\ndelete = \"allow\"\n[[limits]]\ncategory = [\"delete\"]\nper_minute = 3\n",
            &[],
        );
        for _ in 0..3 {
            assert_eq!(decide(&e, "delete_entities", json!({})).action, Action::Allow);
        }
        let d = decide(&e, "delete_entities", json!({}));
        assert_eq!((d.action, d.decided_by.label()), (Action::Ask, "guard:rate".to_owned()));
        // Other categories are not counted.
        assert_eq!(decide(&e, "read_graph", json!({})).action, Action::Allow);
    }

    #[test]
    fn a_broken_policy_refuses_every_call_with_its_error() {
        let err = PolicyFile::parse("[[rules]]\naction = 1\n", "policy.toml").unwrap_err();
        let e =
            PolicyEngine::new("files", Err(err), Vec::new(), Vec::new(), Environment::default());
        let d = decide(&e, "read_file", json!({}));
        assert_eq!((d.action, d.decided_by), (Action::Deny, DecidedBy::Firewall));
        assert!(d.reason.contains("policy.toml:2"), "{}", d.reason);
        // A rule that compiles in toml but not as a regex is caught too.
        let e = engine_with("[[rules]]\naction = \"allow\"\nwhen.args.x = \"(\"\n", &[]);
        assert_eq!(decide(&e, "read_file", json!({})).action, Action::Deny);
    }

    fn organisation(text: &str) -> crate::policy::org::Organisation {
        let head =
            "version = 4\nissued = \"2026-01-01T00:00:00Z\"\nexpires = \"2027-01-01T00:00:00Z\"\n";
        crate::policy::org::Organisation {
            bundle: crate::policy::org::Organisation::parse(&format!("{head}{text}"), "org")
                .expect("test bundle parses"),
            issued_ms: 0,
            expires_ms: u64::MAX,
            key_id: "K".into(),
            source: "test".into(),
        }
    }

    #[test]
    fn the_organisation_floor_is_never_loosened_locally() {
        let org = organisation(
            "[[rules]]\nid = \"no-delete\"\ntool = \"delete_*\"\naction = \"deny\"\n\
             [[rules]]\nid = \"ask-exec\"\ncategory = [\"exec\"]\naction = \"ask\"\n\
             [egress]\nallow_hosts = [\"*.corp.example\"]\n",
        );
        let file = PolicyFile::parse(
            "[settings]\nunattended = \"allow\"\n[defaults]\nnetwork-send = \"allow\"\n\
             [[rules]]\nid = \"yes\"\naction = \"allow\"\nlift = [\"outside-roots\"]\n\
             [[rules]]\nid = \"no-run\"\ntool = \"run_*\"\naction = \"deny\"\n",
            "policy.toml",
        )
        .unwrap();
        // A database "always" rule for this very call, as an approval writes it.
        let always = RuleSpec {
            id: None,
            server: "*".into(),
            tool: "delete_file".into(),
            category: Vec::new(),
            action: Action::Allow,
            reason: Some("you approved this call".into()),
            when: Default::default(),
            lift: Vec::new(),
        };
        let e = PolicyEngine::new(
            "files",
            Ok(file),
            vec![(1, always)],
            Vec::new(),
            Environment::default(),
        )
        .with_organisation(Some(&org));
        assert_eq!(e.organisation_version(), Some(4));
        let d = decide(&e, "delete_file", json!({"path": "/tmp/x"}));
        assert_eq!(
            (d.action, d.decided_by.label()),
            (Action::Deny, "org:4:no-delete".to_owned()),
            "{d:?}"
        );
        assert!(
            d.reason.contains("the organisation policy (version 4) (rule no-delete)"),
            "{}",
            d.reason
        );
        let d = decide(&e, "execute_command", json!({"command": "make build"}));
        assert_eq!((d.action, d.decided_by.label()), (Action::Ask, "org:4:ask-exec".to_owned()));
        // An organisation ask is refused when nobody can be asked, whatever `unattended` says.
        assert_eq!(e.unattended_for(&d), Unattended::Deny);
        assert_eq!(e.unattended(), Unattended::Allow);
        // A stricter local rule still wins, and is named.
        let d = decide(&e, "run_command", json!({"command": "make build"}));
        assert_eq!((d.action, d.decided_by.label()), (Action::Deny, "rule:file:no-run".to_owned()));
        // The organisation's egress allow-list adds to the local one.
        let d = decide(&e, "http_post", json!({"url": "https://api.corp.example/x", "body": "hi"}));
        assert_eq!(d.action, Action::Allow, "{d:?}");
        let d = decide(&e, "http_post", json!({"url": "https://evil.test/x", "body": "hi"}));
        assert_eq!(d.decided_by.label(), "guard:egress");
        // Without the organisation the local allow stands.
        let plain = engine_with("[[rules]]\naction = \"allow\"\n", &[]);
        // (On Windows `/tmp/x` is on the current drive, which this engine without a folder
        // cannot know: it would be refused.)
        let path = if cfg!(windows) { r"C:\tmp\x" } else { "/tmp/x" };
        assert_eq!(decide(&plain, "delete_file", json!({"path": path})).action, Action::Allow);
    }

    #[test]
    fn within_is_component_wise() {
        let yes = [("/work", "/work"), ("/work/a", "/work"), ("/work/a", "/work/"), ("/x", "/")];
        let no =
            [("/work-evil", "/work"), ("/workX/a", "/work"), ("/wor", "/work"), ("/", "/work")];
        for (p, d) in yes {
            assert!(within(Path::new(p), Path::new(d)), "{p} in {d}");
        }
        for (p, d) in no {
            assert!(!within(Path::new(p), Path::new(d)), "{p} not in {d}");
        }
    }

    #[test]
    fn within_reads_windows_paths_as_windows_does() {
        let yes = [
            (r"C:\Work\a", r"c:\work"),
            (r"\\?\C:\Work\a", r"C:\Work\"),
            (r"C:\Work", r"C:\Work"),
            (r"c:/work/a", r"C:\"),
            (r"\\nas\Team\doc", r"\\NAS\team"),
        ];
        let no = [
            (r"C:\Work-evil", r"C:\Work"),
            (r"D:\Work\a", r"C:\Work"),
            (r"C:\Wor", r"C:\Work"),
            (r"\\nas\other", r"\\nas\team"),
            ("relative", r"C:\"),
            ("/work", r"C:\work"),
        ];
        for (p, d) in yes {
            assert!(within_as(Flavour::Windows, Path::new(p), Path::new(d)), "{p} in {d}");
        }
        for (p, d) in no {
            assert!(!within_as(Flavour::Windows, Path::new(p), Path::new(d)), "{p} not in {d}");
        }
    }
}
