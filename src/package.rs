//! What a server command actually runs, resolved from the package managers' own records on
//! this machine — never by running the package: npm's `npx` cache (the folder `npx` installs a
//! spec into, and its `package-lock.json`'s `version` and `integrity`), `pnpm dlx`'s cache
//! (its `pnpm-lock.yaml`), `bunx`'s (its `bun.lock`), uv's installed tools and `uvx`'s and
//! `pipx run`'s cached environments (uv's, under pipx's uv backend; the `.dist-info` folder
//! and its `RECORD`), `docker`/`podman image inspect`, or a file's SHA-256. The parsing and
//! comparing is the core's (`mcpfw_core::package`).
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

use mcpfw_core::finding::Finding;
use mcpfw_core::package::{
    Ecosystem, Identity, PackageRef, PackageTrust, osv, parse_command, split_python_spec,
};
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

/// What [`identify`] finds, without reading a file's contents: what the checks before a
/// server starts need (a package's name and version for its advisories and the typosquat
/// check; a file has neither, so its digest is left out).
pub fn identify_before_start(
    program: &Path,
    args: &[String],
    script: Option<&Path>,
    context: &Context,
) -> Identity {
    match parse_command(&program.to_string_lossy(), args) {
        Some(package) => resolve(&package, context),
        None => {
            let path = script.unwrap_or(program);
            Identity { integrity: None, ..file_identity_of(path, path.display().to_string()) }
        }
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
    match sha256_file(path) {
        Ok(hex) => Identity {
            integrity: Some(format!("sha256:{hex}")),
            ..file_identity_of(path, path.display().to_string())
        },
        Err(e) => file_identity_of(path, format!("{} could not be read: {e}", path.display())),
    }
}

/// A file's identity without its digest.
fn file_identity_of(path: &Path, source: String) -> Identity {
    Identity {
        ecosystem: Ecosystem::File,
        name: path.display().to_string(),
        requested: None,
        resolved: None,
        integrity: None,
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
        (Ecosystem::Npm, "pnpm dlx") => pnpm_dlx(package, context),
        (Ecosystem::Npm, "bunx") => bunx(package, context),
        (Ecosystem::PyPi, "uvx" | "uv tool run") => uv_tool(package, context)
            .or_else(|tool| uvx_environment(package, context, &tool, "uvx")?),
        (Ecosystem::PyPi, "pipx run") => pipx_run(package, context),
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
    let (dist_info, version) = dist_info(&tools.join(&package.name), &package.name)
        .ok_or_else(|| format!("not installed as a uv tool ({})", tools.display()))?;
    if package.pinned && package.requested.as_deref() != Some(version.as_str()) {
        return Err(format!("the installed tool is {version}, not the version asked for"));
    }
    let record = record_sha256(&dist_info);
    Ok((version, record, dist_info.display().to_string()))
}

/// uv's cache folder: `UV_CACHE_DIR`, else `uv` in `XDG_CACHE_HOME` or `~/.cache`.
fn uv_cache(context: &Context) -> Option<PathBuf> {
    context
        .var("UV_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| context.var("XDG_CACHE_HOME").map(|d| Path::new(d).join("uv")))
        .or_else(|| context.home.as_ref().map(|h| h.join(".cache/uv")))
}

/// The throw-away environment `uvx` made for a package that is not an installed tool: uv keeps
/// it in its cache (`environments-v2/<key>/<link>` pointing at the environment) and runs it
/// again for the same request. The version is that environment's; when environments holding
/// different versions could be meant (an unpinned request), none is guessed (an error).
/// `Ok(Err(why))` when the cache holds nothing for it (`tool`: why the installed tools did not
/// either; `launcher`: whose cache it is called in the reason).
fn uvx_environment(package: &PackageRef, context: &Context, tool: &str, launcher: &str) -> Lookup {
    let Some(cache) = uv_cache(context) else {
        return Ok(Err(format!("{tool}; uv's cache folder is unknown (no HOME)")));
    };
    let environments = cache.join("environments-v2");
    let mut found: Vec<(String, PathBuf)> = Vec::new();
    for key in std::fs::read_dir(&environments).into_iter().flatten().flatten() {
        for link in std::fs::read_dir(key.path()).into_iter().flatten().flatten() {
            if let Some((dist_info, version)) = dist_info(&link.path(), &package.name)
                && (!package.pinned || package.requested.as_deref() == Some(version.as_str()))
            {
                found.push((version, dist_info));
            }
        }
    }
    found.sort();
    found.dedup_by(|a, b| a.0 == b.0);
    match found.as_slice() {
        [] => Ok(Err(format!(
            "{tool}; not in {launcher}'s cache either ({})",
            environments.display()
        ))),
        [(version, dist_info)] => {
            Ok(Ok((version.clone(), record_sha256(dist_info), dist_info.display().to_string())))
        }
        several => Err(format!(
            "{launcher}'s cache holds several versions of {} ({}); the one that runs is not known",
            package.name,
            several.iter().map(|(v, _)| v.as_str()).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// The `.dist-info` folder of project `name` (normalised) in the Python environment at `env`,
/// and the version its name carries.
fn dist_info(env: &Path, name: &str) -> Option<(PathBuf, String)> {
    let unix = std::fs::read_dir(env.join("lib"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|python| python.path().join("site-packages"));
    let windows = std::iter::once(env.join("Lib").join("site-packages"));
    unix.chain(windows)
        .flat_map(|site| std::fs::read_dir(site).into_iter().flatten().flatten())
        .find_map(|entry| {
            let file = entry.file_name();
            let (project, version) = file.to_str()?.strip_suffix(".dist-info")?.rsplit_once('-')?;
            (mcpfw_core::package::normalize_python_name(project) == name && !version.is_empty())
                .then(|| (entry.path(), version.to_owned()))
        })
}

/// The SHA-256 of a `.dist-info` folder's `RECORD`: every installed file's hash, so the
/// content as installed.
fn record_sha256(dist_info: &Path) -> Option<String> {
    sha256_file(&dist_info.join("RECORD")).ok().map(|h| format!("record-sha256:{h}"))
}

/// How long pipx reuses a `pipx run` environment before it builds a new one.
const PIPX_RUN_DAYS: u64 = 14;

/// pipx's folder of `pipx run` environments: `$PIPX_HOME/.cache`, else `pipx` in the
/// platform's cache folder (as pipx ≥ 1.3 places it).
fn pipx_cache(context: &Context) -> Option<PathBuf> {
    if let Some(home) = context.var("PIPX_HOME") {
        return Some(Path::new(home).join(".cache"));
    }
    if cfg!(windows) {
        return context.var("LOCALAPPDATA").map(|d| Path::new(d).join("pipx/pipx/Cache"));
    }
    if cfg!(target_os = "macos") {
        return context.home.as_ref().map(|h| h.join("Library/Caches/pipx"));
    }
    context
        .var("XDG_CACHE_HOME")
        .filter(|d| Path::new(d).is_absolute())
        .map(|d| Path::new(d).join("pipx"))
        .or_else(|| context.home.as_ref().map(|h| h.join(".cache/pipx")))
}

/// What one place holds for a package: `Ok(Err(why))` when it holds nothing for it, an error
/// when what it holds cannot be pinned (several versions, another version than asked for).
type Lookup = Result<Result<(String, Option<String>, String), String>, String>;

/// The backend `pipx run` uses (pipx 1.18 and later), as pipx decides it: `--backend`, else
/// `PIPX_DEFAULT_BACKEND`, else uv when pipx finds a uv at least as new as it needs (the one
/// beside pipx, as pipx's `uv` extra installs it, else one on `PATH`), else pip.
struct PipxBackend {
    uv: bool,
    /// Named by the command or the environment (not found by looking for uv).
    named: bool,
    /// How it was decided, for the identity's source.
    why: String,
}

/// The oldest uv pipx uses as its backend.
const PIPX_MIN_UV: [u64; 3] = [0, 9, 17];

fn pipx_backend(package: &PackageRef, context: &Context) -> Result<PipxBackend, String> {
    let named = |value: &str, why: String| match value.trim() {
        "uv" => Ok(PipxBackend { uv: true, named: true, why }),
        "pip" => Ok(PipxBackend { uv: false, named: true, why }),
        other => Err(format!("pipx refuses the unknown backend `{other}` ({why})")),
    };
    if let Some(backend) = package.backend.as_deref() {
        return named(backend, format!("--backend {backend}"));
    }
    if let Some(backend) = context.var("PIPX_DEFAULT_BACKEND").filter(|b| !b.trim().is_empty()) {
        return named(backend, format!("PIPX_DEFAULT_BACKEND={backend}"));
    }
    let Some(uv) = uv_beside_pipx(package, context) else {
        let why = "no uv beside pipx or on PATH".to_owned();
        return Ok(PipxBackend { uv: false, named: false, why });
    };
    match uv_version(&uv) {
        Some(version) if version >= PIPX_MIN_UV => {
            let why = format!("uv {} at {}", dotted(&version), uv.display());
            Ok(PipxBackend { uv: true, named: false, why })
        }
        version => {
            let why = format!(
                "uv at {} is {}, older than pipx needs",
                uv.display(),
                version.map_or("of an unknown version".to_owned(), |v| dotted(&v))
            );
            Ok(PipxBackend { uv: false, named: false, why })
        }
    }
}

fn dotted(version: &[u64; 3]) -> String {
    version.map(|n| n.to_string()).join(".")
}

/// The uv pipx would use: the one in the folder of pipx's own scripts (where pipx's `uv` extra
/// puts it; pipx's link followed), else the first on `PATH`.
fn uv_beside_pipx(package: &PackageRef, context: &Context) -> Option<PathBuf> {
    let exe = if cfg!(windows) { "uv.exe" } else { "uv" };
    let path = context.var("PATH").map(std::ffi::OsString::from);
    let pipx = crate::launch::resolve(
        &[std::ffi::OsString::from(&package.program)],
        path.as_deref(),
        context.home.as_deref(),
    )
    .ok()
    .map(|r| r.program);
    let beside = pipx.into_iter().flat_map(|pipx| {
        let real = std::fs::canonicalize(&pipx).ok();
        [Some(pipx), real].into_iter().flatten().filter_map(|p| Some(p.parent()?.join(exe)))
    });
    let on_path = path.iter().flat_map(std::env::split_paths).map(|dir| dir.join(exe));
    beside.chain(on_path).find(|uv| mcpfw_core::platform::private::executable(uv))
}

/// What `uv --version` says (`uv 0.13.9 …`), asked with a deadline of 2 seconds; remembered
/// for each uv.
fn uv_version(uv: &Path) -> Option<[u64; 3]> {
    static SEEN: Mutex<BTreeMap<PathBuf, Option<[u64; 3]>>> = Mutex::new(BTreeMap::new());
    if let Some(known) = SEEN.lock().unwrap_or_else(|p| p.into_inner()).get(uv) {
        return *known;
    }
    let out = output_within(std::process::Command::new(uv).arg("--version"), 2);
    let version = out.as_deref().and_then(|out| {
        let word = out.strip_prefix("uv ")?.split_whitespace().next()?;
        let mut parts = word.split(['.', '-', '+']).map(|n| n.parse::<u64>().ok());
        Some([parts.next()??, parts.next()??, parts.next().flatten().unwrap_or(0)])
    });
    SEEN.lock().unwrap_or_else(|p| p.into_inner()).insert(uv.to_owned(), version);
    version
}

/// A command's standard output (its first 64 KiB), if it ends within `seconds`.
fn output_within(command: &mut std::process::Command, seconds: u64) -> Option<String> {
    let mut child = command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let mut out = String::new();
    use std::io::Read;
    child.stdout.take()?.take(64 * 1024).read_to_string(&mut out).ok()?;
    Some(out)
}

/// What `pipx run` runs: the environment of the backend pipx uses. Under its uv backend pipx
/// hands the run to `uv tool run` (see [`PackageRef::uv_run`]), so uv's installed tool or
/// throw-away environment is read first, as for `uvx`; otherwise the environment pipx keeps in
/// its own cache. When pipx found its backend itself (no `--backend`, no
/// `PIPX_DEFAULT_BACKEND`), a place that holds nothing for the package is followed by the
/// other. The source says whose environment was read and which backend pipx uses.
fn pipx_run(package: &PackageRef, context: &Context) -> Resolution {
    let backend = pipx_backend(package, context)?;
    let kind = if backend.uv { "uv" } else { "pip" };
    let label = |found: (String, Option<String>, String), whose: &str| {
        let (version, integrity, source) = found;
        (version, integrity, format!("{source} ({whose}; pipx's {kind} backend: {})", backend.why))
    };
    let hands_to_uv = backend.uv && package.uv_run;
    type Place = fn(&PackageRef, &Context) -> Lookup;
    let (first, second): (Place, Place) =
        if hands_to_uv { (uv_run, pipx_environment) } else { (pipx_environment, uv_run) };
    let whose = |uv: bool| if uv { "uv's environment" } else { "pipx's environment" };
    let said = |why: String| format!("{why}; pipx's {kind} backend: {}", backend.why);
    let absent = match first(package, context).map_err(said)? {
        Ok(found) => return Ok(label(found, whose(hands_to_uv))),
        Err(absent) => absent,
    };
    if backend.named {
        return Err(said(absent));
    }
    match second(package, context).map_err(|e| said(format!("{absent}; {e}")))? {
        Ok(found) => Ok(label(found, &format!("{}, as {absent}", whose(!hands_to_uv)))),
        Err(also) => Err(said(format!("{absent}; {also}"))),
    }
}

/// What `uv tool run`, as pipx runs it, would run: the installed tool or uv's throw-away
/// environment.
fn uv_run(package: &PackageRef, context: &Context) -> Lookup {
    match uv_tool(package, context) {
        Ok(found) => Ok(Ok(found)),
        Err(tool) => uvx_environment(package, context, &tool, "uv"),
    }
}

/// The environment `pipx run SPEC` made and reuses: a folder of pipx's cache whose
/// `pipx_metadata.json` names the spec. pipx names the folder after the spec, the Python, pip's
/// arguments and the backend; several folders for the same spec that hold different versions
/// are ambiguous, and reported so. An environment pipx marked expired, or older than pipx keeps
/// one, is rebuilt at the next run: what that runs is not known yet.
fn pipx_environment(package: &PackageRef, context: &Context) -> Lookup {
    let Some(cache) = pipx_cache(context) else {
        return Ok(Err("pipx's cache folder is unknown (no HOME)".to_owned()));
    };
    let not_yet = || format!("not in pipx's cache yet ({})", cache.display());
    let Ok(venvs) = std::fs::read_dir(&cache) else { return Ok(Err(not_yet())) };
    let mut found: Vec<(String, Option<String>, PathBuf)> = Vec::new();
    for venv in venvs.flatten().map(|e| e.path()) {
        let Ok(text) = std::fs::read_to_string(venv.join("pipx_metadata.json")) else {
            continue;
        };
        let Ok(metadata) = serde_json::from_str::<Value>(&text) else { continue };
        // pipx writes the spec down normalised (`PyCowSay` → `pycowsay`).
        let spec = metadata.pointer("/main_package/package_or_url").and_then(Value::as_str);
        if spec.and_then(split_python_spec) != split_python_spec(&package.spec) {
            continue;
        }
        if venv.join("pipx_expired_venv").exists() || older_than_days(&venv, PIPX_RUN_DAYS) {
            continue;
        }
        let (dist_info, version) = dist_info(&venv, &package.name).ok_or_else(|| {
            format!("pipx's environment {} does not hold {}", venv.display(), package.name)
        })?;
        found.push((version, record_sha256(&dist_info), dist_info));
    }
    let Some((version, record, dist_info)) = found.first().cloned() else {
        return Ok(Err(not_yet()));
    };
    if found.iter().any(|(v, r, _)| (v, r) != (&version, &record)) {
        return Err(format!(
            "pipx keeps {} environments for {} holding different versions",
            found.len(),
            package.spec
        ));
    }
    if package.pinned && package.requested.as_deref() != Some(version.as_str()) {
        return Err(format!("pipx's environment holds {version}, not the version asked for"));
    }
    Ok(Ok((version, record, dist_info.display().to_string())))
}

/// Whether `path`'s status last changed more than `days` ago (pipx's measure: `st_ctime`).
fn older_than_days(path: &Path, days: u64) -> bool {
    let Ok(metadata) = std::fs::metadata(path) else { return true };
    #[cfg(unix)]
    let changed = {
        use std::os::unix::fs::MetadataExt;
        std::time::UNIX_EPOCH
            + Duration::from_secs(u64::try_from(metadata.ctime()).unwrap_or_default())
    };
    #[cfg(not(unix))]
    let Ok(changed) = metadata.modified() else { return true };
    changed.elapsed().is_ok_and(|age| age > Duration::from_secs(days * 24 * 3600))
}

/// pnpm's cache folder: `--cache-dir`, `pnpm_config_cache_dir` (pnpm 11 and later) or
/// `npm_config_cache_dir` (pnpm 10 and earlier), else `pnpm` in the platform's cache folder.
fn pnpm_cache(package: &PackageRef, context: &Context) -> Option<PathBuf> {
    if let Some(dir) = package
        .cache
        .as_deref()
        .or_else(|| context.var("pnpm_config_cache_dir"))
        .or_else(|| context.var("npm_config_cache_dir"))
    {
        return Some(PathBuf::from(dir));
    }
    if cfg!(windows) {
        return context.var("LOCALAPPDATA").map(|d| Path::new(d).join("pnpm-cache"));
    }
    if cfg!(target_os = "macos") {
        return context.home.as_ref().map(|h| h.join("Library/Caches/pnpm"));
    }
    context
        .var("XDG_CACHE_HOME")
        .map(|d| Path::new(d).join("pnpm"))
        .or_else(|| context.home.as_ref().map(|h| h.join(".cache/pnpm")))
}

/// What `pnpm dlx` installed for the package: pnpm resolves the spec at the registry first and
/// names a folder of `<cache>/dlx/` after the result; its `pkg` link points at the install,
/// whose `pnpm-lock.yaml` holds the version and `integrity`. Among the installs of the package
/// that fit the spec, the one linked last is what ran last.
fn pnpm_dlx(package: &PackageRef, context: &Context) -> Resolution {
    let cache = pnpm_cache(package, context).ok_or("pnpm's cache folder is unknown (no HOME)")?;
    let dlx = cache.join("dlx");
    let not_yet = || format!("not in pnpm dlx's cache yet ({})", dlx.display());
    let wanted = |version: &str| match package.requested.as_deref() {
        None => true,
        Some(exact) if package.pinned => version == exact,
        Some(range) => match (semver::VersionReq::parse(range), semver::Version::parse(version)) {
            (Ok(range), Ok(version)) => range.matches(&version),
            // A dist-tag (`latest`, `next`): any version may be it.
            (Err(_), _) => true,
            (Ok(_), Err(_)) => false,
        },
    };
    let mut best: Option<(std::time::SystemTime, String, Option<String>, PathBuf)> = None;
    for key in std::fs::read_dir(&dlx).map_err(|_| not_yet())?.flatten() {
        let link = key.path().join("pkg");
        let Ok(meta) = std::fs::symlink_metadata(&link) else { continue };
        let (Ok(linked), Ok(install)) = (meta.modified(), std::fs::canonicalize(&link)) else {
            continue;
        };
        let lock_path = install.join("pnpm-lock.yaml");
        let Ok(text) = std::fs::read_to_string(&lock_path) else { continue };
        let Some((version, integrity)) = pnpm_lock_entry(&text, &package.name) else { continue };
        if wanted(&version) && best.as_ref().is_none_or(|(at, ..)| linked > *at) {
            best = Some((linked, version, integrity, lock_path));
        }
    }
    let (_, version, integrity, lock_path) = best.ok_or_else(not_yet)?;
    Ok((version, integrity, lock_path.display().to_string()))
}

/// bun's cache folder: `BUN_INSTALL_CACHE_DIR`, else `$BUN_INSTALL/install/cache`, else
/// `.bun/install/cache` in `XDG_CACHE_HOME` or the home folder.
fn bun_cache(context: &Context) -> Option<PathBuf> {
    if let Some(dir) = context.var("BUN_INSTALL_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = context.var("BUN_INSTALL") {
        return Some(Path::new(dir).join("install/cache"));
    }
    context
        .var("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| context.home.clone())
        .map(|base| base.join(".bun/install/cache"))
}

/// What `bunx` installed: bun names a folder of `<cache>/.bunx-<uid>/` after the package and
/// the version asked for (`latest` when none), and its `bun.lock` holds the version and
/// `integrity` the registry gave.
fn bunx(package: &PackageRef, context: &Context) -> Resolution {
    let cache = bun_cache(context).ok_or("bun's cache folder is unknown (no HOME)")?;
    #[cfg(unix)]
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    #[cfg(not(unix))]
    let uid = 0;
    let folder = format!("{}@{}", package.name, package.requested.as_deref().unwrap_or("latest"));
    let lock_path = cache.join(format!(".bunx-{uid}")).join(folder).join("bun.lock");
    let text = std::fs::read_to_string(&lock_path)
        .map_err(|_| format!("not in bunx's cache yet ({})", lock_path.display()))?;
    let (version, integrity) = bun_lock_entry(&text, &package.name)
        .ok_or_else(|| format!("{} does not name {}", lock_path.display(), package.name))?;
    Ok((version, integrity, lock_path.display().to_string()))
}

/// The version and `integrity` a `bun.lock` (JSON with trailing commas) holds for `name`:
/// `"packages": {"<name>": ["<name>@<version>", "", {…}, "<integrity>"]}`.
fn bun_lock_entry(text: &str, name: &str) -> Option<(String, Option<String>)> {
    let lock = crate::jsonc::value_of(text)?;
    let entry = lock.get("packages")?.get(name)?.as_array()?;
    let version = entry.first()?.as_str()?.strip_prefix(name)?.strip_prefix('@')?;
    if version.is_empty() {
        return None;
    }
    let integrity = entry
        .iter()
        .skip(1)
        .filter_map(Value::as_str)
        .find(|s| s.starts_with("sha512-") || s.starts_with("sha256-") || s.starts_with("sha1-"))
        .map(str::to_owned);
    Some((version.to_owned(), integrity))
}

/// The version and `integrity` a `pnpm-lock.yaml` holds for the project's dependency `name`.
fn pnpm_lock_entry(text: &str, name: &str) -> Option<(String, Option<String>)> {
    // The lockfile is the project's, which may be anyone's (a cloned repository): a file
    // nested thousands of levels deep would overflow yaml-rust2's recursion, so it is not read.
    if mcpfw_daemon::yamlc::deeper_than(text, 256).is_some() {
        return None;
    }
    let docs = yaml_rust2::YamlLoader::load_from_str(text).ok()?;
    let lock = docs.first()?;
    let version = lock["importers"]["."]["dependencies"][name]["version"].as_str()?;
    // `1.2.3(peer@4.5.6)`: the peers a version was resolved with are not part of it.
    let version = version.split('(').next().unwrap_or(version);
    semver::Version::parse(version).ok()?;
    let packages = &lock["packages"];
    let integrity = [format!("{name}@{version}"), format!("/{name}@{version}")]
        .iter()
        .find_map(|key| packages[key.as_str()]["resolution"]["integrity"].as_str())
        .map(str::to_owned);
    Some((version.to_owned(), integrity))
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
            let findings: Vec<Finding> = hits
                .iter()
                .map(|h| h.finding(&identity.name, identity.resolved.as_deref()))
                .collect();
            for finding in &findings {
                tracing::warn!(server = %self.server, "{}", finding.evidence.as_deref().unwrap_or_default());
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
pub fn package_event(server: &str, session: &str, findings: &[Finding]) -> Event {
    let reason =
        findings.iter().filter_map(|f| f.evidence.as_deref()).collect::<Vec<_>>().join("; ");
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
    event.findings = findings.to_vec();
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
    /// Asked once the server has answered `initialize`, on the identity check's own thread:
    /// the server runs, so its launcher has installed the package, which is resolved (hashed)
    /// here first, so the first tool list does not wait for it on the relay thread.
    fn check_identity(
        &self,
        server: &str,
        identity: &Value,
    ) -> Option<Result<Option<Value>, RecordError>> {
        if server == self.server {
            self.identity();
        }
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
        let withhold = |reason: &dyn Fn(&str) -> String, finding: &dyn Fn(&str) -> Finding| {
            Some(Ok(tools
                .iter()
                .map(|(name, _)| Trust::Withheld {
                    reason: reason(name),
                    finding: Box::new(finding(name)),
                })
                .collect()))
        };
        if let Some(why) = malicious {
            return withhold(&|_| why.clone(), &|tool| {
                Finding::package_malicious_tool(tool, &identity.name)
            });
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
            &|tool| Finding::package_changed_tool(tool, &pinned, &now),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::{bun_lock_entry, pnpm_lock_entry};

    #[test]
    fn a_bun_lock_gives_the_version_and_integrity_and_a_strange_one_gives_nothing() {
        let lock = r#"{
  "lockfileVersion": 2,
  "packages": {
    "@scope/srv": ["@scope/srv@1.2.3", "", { "bin": { "srv": "x.js" } }, "sha512-abc=="],
    "other": ["other@", "", {}, "sha512-x"],
  },
}"#;
        assert_eq!(
            bun_lock_entry(lock, "@scope/srv"),
            Some(("1.2.3".into(), Some("sha512-abc==".into())))
        );
        assert_eq!(bun_lock_entry(lock, "other"), None, "no version");
        assert_eq!(bun_lock_entry(lock, "missing"), None);
        assert_eq!(bun_lock_entry("not json", "@scope/srv"), None);
        let renamed = lock.replace("[\"@scope/srv@1.2.3\"", "[\"@evil/srv@1.2.3\"");
        assert_eq!(bun_lock_entry(&renamed, "@scope/srv"), None, "another package's entry");
    }

    #[test]
    fn a_pnpm_lock_gives_the_version_and_integrity_and_a_hostile_one_gives_nothing() {
        let lock = "lockfileVersion: '9.0'\n\nimporters:\n\n  .:\n    dependencies:\n      \
                    '@modelcontextprotocol/server-memory':\n        specifier: ^2025.8.4\n        \
                    version: 2025.8.4(zod@3.25.76)\n\npackages:\n\n  \
                    '@modelcontextprotocol/server-memory@2025.8.4':\n    resolution: \
                    {integrity: sha512-AAAA}\n";
        assert_eq!(
            pnpm_lock_entry(lock, "@modelcontextprotocol/server-memory"),
            Some(("2025.8.4".to_owned(), Some("sha512-AAAA".to_owned())))
        );
        // Nested far deeper than the parser's recursion can take: refused, not a crash.
        let deep = format!("importers: {}{}\n", "[".repeat(200_000), "]".repeat(200_000));
        assert_eq!(pnpm_lock_entry(&deep, "x"), None);
        let indented: String = (0..3_000).map(|i| format!("{}a{i}:\n", " ".repeat(i))).collect();
        assert_eq!(pnpm_lock_entry(&indented, "x"), None);
    }
}
