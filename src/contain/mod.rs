//! Containment: every server `mcpfw wrap` starts runs in a box drawn from what the firewall
//! already knows about it — its roots, the program and runtime it runs, the caches it needs,
//! the sensitive locations of [`crate::sandbox`] and MCP Firewall's own folders.
//!
//! The [`Profile`] is OS-neutral: folders to read, folders to write, things to hide entirely,
//! a private temp folder and the hosts its network may reach (through the egress proxy). The
//! Linux back-end (`launcher`) turns it into namespaces, mounts, Landlock and seccomp; macOS
//! and Windows back-ends are designed in `docs/containment.md`.
//!
//! The shim never applies anything to itself: it re-executes its own binary as a hidden
//! launcher (`mcpfw __box`), gives it the [`Plan`] in an environment variable, and reads back,
//! on a pipe, a [`Report`] of what was actually applied and what was missing. A missing
//! protection is never silent: it is named on stderr, in the history and in
//! `mcpfw sandbox show`; `mode = "require"` refuses to start the server instead.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::paths::Paths;
use crate::sandbox::{Anchor, SENSITIVE_LOCATIONS};

pub mod later;
#[cfg(target_os = "linux")]
pub mod launcher;
#[cfg(target_os = "linux")]
mod rules;
#[cfg(target_os = "linux")]
pub mod shim;
#[cfg(target_os = "linux")]
pub mod sys;
pub mod unboxed;

/// The hidden subcommand that runs the launcher (`mcpfw __box`).
pub const LAUNCHER_COMMAND: &str = "__box";
/// The environment variable that carries the [`Plan`] (JSON) to the launcher.
pub const PLAN_ENV: &str = "MCPFW_BOX_PLAN";
pub use mcpfw_core::containment::{HISTORY_METHOD, Mode, SandboxSettings, peer_outside_box};
/// The JSON-RPC error code the shim answers with when `require` refuses to start the server.
pub const REFUSED_CODE: i32 = -32010;

/// `require` refused to start the server: the JSON-RPC error the client's first request is
/// answered with (its message is also said on stderr). Containment decides it; the transport
/// carries it out (`transport::stdio::refuse_before_start`), so containment never names the
/// transport.
#[derive(Debug, Clone, PartialEq)]
pub struct StartRefusal {
    pub code: i32,
    pub message: String,
    pub data: serde_json::Value,
}

/// Test switches: each makes one mechanism look unavailable, so tests can prove the degraded
/// paths on a machine that has everything.
pub const TEST_NO_USERNS: &str = "MCPFW_TEST_NO_USERNS";
pub const TEST_LANDLOCK_ABI: &str = "MCPFW_TEST_LANDLOCK_ABI";
pub const TEST_NO_SECCOMP: &str = "MCPFW_TEST_NO_SECCOMP";
/// A Unix socket of the test's own that the box's network is relayed to instead of the
/// egress proxy (to prove the relay byte for byte).
pub const TEST_EGRESS_SOCKET: &str = "MCPFW_TEST_EGRESS_SOCKET";

/// The box of one server, OS-neutral. Paths are absolute; only existing ones are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub server: String,
    pub mode: Mode,
    /// Read and execute, recursively: system folders, the runtime, the program's package.
    pub read: Vec<PathBuf>,
    /// Read and write, recursively (no execute): the roots, the caches, extra write paths.
    pub write: Vec<PathBuf>,
    /// Device files read and written (`/dev/null`, `/dev/urandom`…).
    pub devices: Vec<PathBuf>,
    /// Hidden entirely even where a read or write grant contains them: MCP Firewall's own
    /// folders and the sensitive locations.
    pub deny: Vec<PathBuf>,
    /// The private temp folder (`TMPDIR`), read and write.
    pub temp: Option<PathBuf>,
    /// Hosts the egress proxy may let the server reach without asking.
    pub allow_hosts: Vec<String>,
}

impl Profile {
    /// What the box grants, for telling the box's denials from the server's other errors.
    pub fn grants(&self) -> mcpfw_core::containment::Grants {
        let mut write = self.write.clone();
        write.extend(self.devices.iter().cloned());
        write.extend(self.temp.iter().cloned());
        mcpfw_core::containment::Grants {
            read: self.read.clone(),
            write,
            hidden: self.deny.clone(),
        }
    }
}

/// What the launcher gets from the shim.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub profile: Profile,
    /// The Unix socket the box's network is relayed to (the egress proxy).
    pub egress_socket: Option<PathBuf>,
    /// The write end of the pipe the [`Report`] goes to.
    pub report_fd: i32,
    /// Mechanisms made unavailable on purpose (tests).
    pub knobs: Knobs,
}

/// Mechanisms a test made unavailable.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Knobs {
    pub no_userns: bool,
    /// Pretend the kernel's Landlock ABI is at most this (0: no Landlock).
    pub landlock_abi: Option<u8>,
    pub no_seccomp: bool,
}

impl Knobs {
    /// The switches set in this process's environment.
    pub fn from_env() -> Self {
        let on = |name: &str| test_switch(name).is_some_and(|v| !v.is_empty() && v != "0");
        Self {
            no_userns: on(TEST_NO_USERNS),
            landlock_abi: test_switch(TEST_LANDLOCK_ABI)
                .and_then(|v| v.to_str().and_then(|v| v.trim().parse().ok())),
            no_seccomp: on(TEST_NO_SECCOMP),
        }
    }
}

/// A test switch's value. Only debug builds (the ones the tests run) read them: in a release
/// build, whoever sets the shim's environment cannot weaken the box with them.
pub fn test_switch(name: &str) -> Option<std::ffi::OsString> {
    if cfg!(debug_assertions) { std::env::var_os(name) } else { None }
}

/// What the launcher applied, and what it could not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// User, PID, mount and network namespaces.
    pub namespaces: bool,
    /// The Landlock ABI in effect (0: none).
    pub landlock_abi: u8,
    pub seccomp: bool,
    /// The loopback port the server's proxy variables point at, if its network is relayed.
    pub proxy_port: Option<u16>,
    /// Each missing protection, named exactly with what it leaves open.
    pub missing: Vec<String>,
    /// Facts worth knowing that are not missing protections.
    pub notes: Vec<String>,
    /// `require` refused to start the server.
    pub refused: bool,
    /// The launcher failed before it could report anything else.
    pub error: Option<String>,
    /// Microseconds from the launcher's start to the server's start in the box, as the shim
    /// measured them (what the box adds before the server runs).
    #[serde(default)]
    pub setup_us: Option<u64>,
}

impl Report {
    /// One line for the history and the log.
    pub fn summary(&self) -> String {
        let mut parts = vec![format!(
            "namespaces {}, Landlock ABI {}, seccomp {}",
            if self.namespaces { "on" } else { "off" },
            self.landlock_abi,
            if self.seccomp { "on" } else { "off" }
        )];
        if !self.missing.is_empty() {
            parts.push(format!("missing: {}", self.missing.join("; ")));
        }
        if let Some(error) = &self.error {
            parts.push(format!("error: {error}"));
        }
        parts.join("; ")
    }
}

/// Inputs of [`infer`].
pub struct Inputs<'a> {
    pub server: &'a str,
    pub program: &'a Path,
    pub script: Option<&'a Path>,
    /// The server's arguments.
    pub args: &'a [std::ffi::OsString],
    pub roots: &'a [PathBuf],
    pub settings: &'a SandboxSettings,
    pub home: Option<&'a Path>,
    pub paths: &'a Paths,
    pub temp: Option<PathBuf>,
}

/// System folders programs need to run, read-only.
const SYSTEM_READ: &[&str] = &[
    "/usr",
    "/lib",
    "/lib64",
    "/lib32",
    "/libx32",
    "/bin",
    "/sbin",
    "/etc",
    "/opt",
    "/nix",
    "/snap",
    "/proc",
    "/sys/fs/cgroup",
    "/sys/devices/system/cpu",
];

/// Devices a program may read and write.
const DEVICES: &[&str] =
    &["/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"];

/// Package caches (below the home) a runtime or package manager writes.
const CACHES: &[&str] = &[
    ".npm",
    ".cache/uv",
    ".cache/pip",
    ".cache/pypoetry",
    ".local/share/uv",
    ".cache/node",
    ".cache/node-gyp",
    ".local/share/pnpm",
    ".bun/install/cache",
];

/// Runtime installations (below the home) read when they exist.
const RUNTIMES: &[&str] = &[".nvm", ".volta", ".fnm", ".pyenv", ".local/bin", ".bun/bin", ".deno"];

/// The profile of one server: what it already needs, plus what policy.toml adds.
pub fn infer(inputs: &Inputs<'_>) -> Profile {
    let Inputs { server, program, script, args, roots, settings, home, paths, temp } = inputs;
    let expand = |p: &str| crate::policy::engine::expand_home(p, *home);
    let mut read: Vec<PathBuf> = SYSTEM_READ.iter().map(PathBuf::from).collect();
    read.extend(runtime_of(program));
    if let Some(script) = script {
        read.extend(runtime_of(script));
        if let Some(dir) = script.parent() {
            read.push(dir.to_path_buf());
        }
    }
    // Files named among the arguments are meant for the server: each is readable, and one
    // that is a program (a wrapper's `-- node_modules/.bin/server`) brings its runtime.
    for arg in args.iter().map(Path::new).filter(|a| a.is_absolute() && a.is_file()) {
        read.push(arg.to_path_buf());
        if is_program(arg) {
            read.extend(runtime_of(arg));
        }
    }
    if let Some(home) = home {
        read.extend(RUNTIMES.iter().map(|r| home.join(r)));
    }
    read.extend(settings.read.iter().map(|p| expand(p)));

    let mut write: Vec<PathBuf> = roots.to_vec();
    if let Some(home) = home {
        write.extend(CACHES.iter().map(|c| home.join(c)));
    }
    write.extend(settings.write.iter().map(|p| expand(p)));

    let devices = DEVICES.iter().map(PathBuf::from).collect();
    let read = outermost(existing(read));
    let write = outermost(existing(write));
    // A sensitive location granted by name in policy.toml (`mcpfw sandbox allow … --force`) is
    // what the person asked for: it is not hidden. Only the exact location: a grant above it
    // (the home) or inside it does not uncover it.
    let explicit =
        existing(settings.read.iter().chain(&settings.write).map(|p| expand(p)).collect());
    let deny = denied(&read, &write, &explicit, *home, paths);
    Profile {
        server: server.to_string(),
        mode: settings.mode,
        read,
        write,
        devices: existing(devices),
        deny,
        temp: temp.clone(),
        allow_hosts: settings.allow_hosts.clone(),
    }
}

/// What running `program` needs to read: its own folder tree up to the package it belongs to,
/// the interpreter of its `#!` line and that interpreter's installation prefix.
fn runtime_of(program: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let add_install = |path: &Path, found: &mut Vec<PathBuf>| {
        for candidate in [path.to_path_buf(), canonical(path)] {
            // A virtual environment (pyvenv.cfg) or a package tree (the outermost
            // node_modules) is read whole; otherwise the installation prefix (`…/bin/x` → `…`).
            if let Some(venv) = candidate.ancestors().find(|a| a.join("pyvenv.cfg").is_file()) {
                found.push(venv.to_path_buf());
            }
            if let Some(modules) = candidate
                .ancestors()
                .filter(|a| a.file_name().is_some_and(|n| n == "node_modules"))
                .last()
            {
                found.push(modules.to_path_buf());
            }
            if let Some(bin) = candidate.parent()
                && bin.file_name().is_some_and(|n| n == "bin")
                && let Some(prefix) = bin.parent()
                && prefix != Path::new("/")
            {
                found.push(prefix.to_path_buf());
            } else if let Some(dir) = candidate.parent() {
                found.push(dir.to_path_buf());
            }
        }
    };
    add_install(program, &mut found);
    if let Some(interpreter) = shebang_interpreter(&canonical(program)) {
        add_install(&interpreter, &mut found);
    }
    found
}

/// Whether a file is a program: executable, or a script with a `#!` line.
fn is_program(path: &Path) -> bool {
    mcpfw_core::platform::private::executable(path) || shebang_interpreter(path).is_some()
}

/// The interpreter a script's `#!` line runs (`#!/usr/bin/env node` → `node` on PATH).
fn shebang_interpreter(script: &Path) -> Option<PathBuf> {
    use std::io::Read;
    let mut head = [0u8; 256];
    let n = std::fs::File::open(script).ok()?.read(&mut head).ok()?;
    let line = head[..n].strip_prefix(b"#!")?;
    let line = std::str::from_utf8(line.split(|b| *b == b'\n').next()?).ok()?;
    let mut words = line.split_whitespace();
    let first = PathBuf::from(words.next()?);
    if first.file_name().is_some_and(|n| n == "env") {
        let name = words.find(|w| !w.starts_with('-'))?;
        let path = std::env::var_os("PATH")?;
        std::env::split_paths(&path)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
            .map(|p| canonical(&p))
    } else {
        Some(canonical(&first))
    }
}

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Absolute, existing paths, each once, canonical (Landlock follows symlinks to the object).
fn existing(paths: Vec<PathBuf>) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    for path in paths {
        if !path.is_absolute() {
            continue;
        }
        let Ok(real) = std::fs::canonicalize(&path) else { continue };
        if !out.contains(&real) {
            out.push(real);
        }
    }
    out
}

/// How many of [`denied`]'s candidates are MCP Firewall's own folders (they come first).
const FIREWALL_FOLDERS: usize = 4;

/// The paths not inside another of the list (a grant covers everything below it).
fn outermost(paths: Vec<PathBuf>) -> Vec<PathBuf> {
    paths.iter().filter(|p| !paths.iter().any(|q| q != *p && p.starts_with(q))).cloned().collect()
}

/// What is hidden: MCP Firewall's folders, and the sensitive locations that exist inside a
/// granted tree (nothing else is readable anyway).
fn denied(
    read: &[PathBuf],
    write: &[PathBuf],
    explicit: &[PathBuf],
    home: Option<&Path>,
    paths: &Paths,
) -> Vec<PathBuf> {
    let mut candidates: Vec<PathBuf> =
        vec![paths.config.clone(), paths.data.clone(), paths.logs.clone(), paths.runtime.clone()];
    candidates.extend(sensitive_locations(home).into_iter().map(|(_, path)| path));
    let granted = |p: &Path| read.iter().chain(write).any(|g| p.starts_with(g));
    let mut out = Vec::new();
    for (i, candidate) in candidates.into_iter().enumerate() {
        let Ok(real) = std::fs::canonicalize(&candidate) else { continue };
        // MCP Firewall's own folders are hidden even where nothing grants them (and whatever
        // grants them): Landlock (before ABI 9) does not stop a connect() to the daemon's
        // socket in the runtime one.
        let firewall = i < FIREWALL_FOLDERS;
        let hide = firewall || (granted(&real) && !explicit.contains(&real));
        if hide && !out.contains(&real) {
            out.push(real);
        }
    }
    out
}

/// The sensitive locations (home- and system-anchored) that exist on this machine, each with
/// its kind (`credential`, `persistence`…).
fn sensitive_locations(home: Option<&Path>) -> Vec<(&'static str, PathBuf)> {
    let mut out = Vec::new();
    for &(kind, anchor, pattern) in SENSITIVE_LOCATIONS {
        let base = match anchor {
            Anchor::Home => match home {
                Some(home) => home.to_path_buf(),
                None => continue,
            },
            Anchor::System => PathBuf::from("/"),
            Anchor::Anywhere => continue, // project files (`.git/hooks`): the protocol check's
        };
        out.extend(expand_pattern(&base, pattern).into_iter().map(|p| (kind.as_str(), p)));
    }
    out
}

/// Why the box keeps a path from every server whatever policy.toml grants, if it does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kept {
    /// One of MCP Firewall's own folders (or inside one): never granted.
    Firewall(PathBuf),
    /// A sensitive location of this kind: granted only by its exact name, on purpose.
    Sensitive { kind: &'static str, location: PathBuf },
    /// Inside a sensitive location, which the box hides whole: granting it would not show it.
    InsideSensitive { kind: &'static str, location: PathBuf },
}

/// Whether the box keeps `path` (absolute) from servers: MCP Firewall's folders, a sensitive
/// location, or a path inside one. Compared both as given and with symlinks resolved.
pub fn kept_from_servers(path: &Path, home: Option<&Path>, paths: &Paths) -> Option<Kept> {
    let forms = [path.to_path_buf(), canonical(path)];
    for dir in [&paths.config, &paths.data, &paths.logs, &paths.runtime] {
        for form in &forms {
            if form.starts_with(dir) || form.starts_with(canonical(dir)) {
                return Some(Kept::Firewall(dir.clone()));
            }
        }
    }
    for (kind, location) in sensitive_locations(home) {
        for location in [location.clone(), canonical(&location)] {
            if forms.contains(&location) {
                return Some(Kept::Sensitive { kind, location });
            }
            if forms.iter().any(|f| f.starts_with(&location)) {
                return Some(Kept::InsideSensitive { kind, location });
            }
        }
    }
    None
}

/// The existing paths a sensitive pattern names (`.config/google-chrome*` lists its folder).
fn expand_pattern(base: &Path, pattern: &str) -> Vec<PathBuf> {
    let mut current = vec![base.to_path_buf()];
    for component in pattern.split('/') {
        let mut next = Vec::new();
        for dir in &current {
            match component.strip_suffix('*') {
                Some(prefix) => {
                    let Ok(entries) = std::fs::read_dir(dir) else { continue };
                    for entry in entries.flatten() {
                        if entry.file_name().to_string_lossy().starts_with(prefix) {
                            next.push(entry.path());
                        }
                    }
                }
                None => next.push(dir.join(component)),
            }
        }
        current = next;
    }
    current
}

/// Whether a tree granted to the server contains a path it must not see.
pub fn contains_denied(granted: &Path, deny: &[PathBuf]) -> bool {
    deny.iter().any(|d| d.starts_with(granted))
}

/// Where the last start of each server wrote its effective profile and report.
pub fn profile_dir(paths: &Paths) -> PathBuf {
    paths.data.join("sandbox")
}

/// The effective profile and report of a server's last start, as `mcpfw sandbox show` prints.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Effective {
    pub profile: Profile,
    pub report: Report,
    pub started_ms: u64,
}

/// Keeps `effective` for `mcpfw sandbox show` (best effort: a failure is logged, not fatal).
pub fn save_effective(paths: &Paths, effective: &Effective) {
    let dir = profile_dir(paths);
    let name: String = effective
        .profile
        .server
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "-_.@".contains(c) { c } else { '_' })
        .collect();
    let saved = Paths::ensure(&dir).map_err(anyhow::Error::from).and_then(|()| {
        let text = serde_json::to_vec_pretty(effective)?;
        std::fs::write(dir.join(format!("{name}.json")), text)?;
        Ok(())
    });
    if let Err(e) = saved {
        tracing::warn!(error = %e, "cannot keep the server's sandbox profile for `mcpfw sandbox show`");
    }
}

/// Every saved effective profile, by server name.
pub fn load_effective(paths: &Paths) -> Vec<Effective> {
    let Ok(entries) = std::fs::read_dir(profile_dir(paths)) else { return Vec::new() };
    let mut all: Vec<Effective> = entries
        .flatten()
        .filter_map(|e| std::fs::read(e.path()).ok())
        .filter_map(|bytes| serde_json::from_slice(&bytes).ok())
        .collect();
    all.sort_by(|a, b| a.profile.server.cmp(&b.profile.server));
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn firewall_folders_inside_a_root_are_denied() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("work");
        let paths = Paths::under(&root.join("fw"));
        for dir in [&paths.config, &paths.data, &paths.logs, &paths.runtime] {
            std::fs::create_dir_all(dir).unwrap();
        }
        let settings = SandboxSettings::default();
        let profile = infer(&Inputs {
            server: "s",
            program: Path::new("/bin/sh"),
            script: None,
            args: &[],
            roots: std::slice::from_ref(&root),
            settings: &settings,
            home: None,
            paths: &paths,
            temp: None,
        });
        let root = canonical(&root);
        assert!(profile.write.contains(&root));
        for dir in [&paths.config, &paths.data, &paths.logs, &paths.runtime] {
            assert!(profile.deny.contains(&canonical(dir)), "{} not denied", dir.display());
        }
        assert!(profile.read.contains(&PathBuf::from("/usr")));
    }

    #[test]
    fn sensitive_home_locations_under_a_granted_home_are_denied() {
        let t = tempfile::tempdir().unwrap();
        let home = t.path().join("home");
        std::fs::create_dir_all(home.join(".ssh")).unwrap();
        std::fs::create_dir_all(home.join(".config/google-chrome-beta")).unwrap();
        std::fs::write(home.join(".bashrc"), "").unwrap();
        let paths = Paths::under(&t.path().join("fw"));
        let settings = SandboxSettings { write: vec!["~".into()], ..Default::default() };
        let profile = infer(&Inputs {
            server: "s",
            program: Path::new("/bin/sh"),
            script: None,
            args: &[],
            roots: &[],
            settings: &settings,
            home: Some(&home),
            paths: &paths,
            temp: None,
        });
        let home = canonical(&home);
        for hidden in [".ssh", ".config/google-chrome-beta", ".bashrc"] {
            assert!(profile.deny.contains(&home.join(hidden)), "{hidden}: {:?}", profile.deny);
        }
    }

    #[test]
    fn a_sensitive_location_granted_by_name_is_not_hidden_and_the_firewalls_folders_always_are() {
        let t = tempfile::tempdir().unwrap();
        let home = t.path().join("home");
        std::fs::create_dir_all(home.join(".ssh")).unwrap();
        std::fs::create_dir_all(home.join(".aws")).unwrap();
        let paths = Paths::under(&home.join("fw"));
        for dir in [&paths.config, &paths.data, &paths.logs, &paths.runtime] {
            std::fs::create_dir_all(dir).unwrap();
        }
        let settings = SandboxSettings {
            write: vec!["~".into()],
            read: vec!["~/.ssh".into(), "~/fw/data".into()],
            ..Default::default()
        };
        let profile = infer(&Inputs {
            server: "s",
            program: Path::new("/bin/sh"),
            script: None,
            args: &[],
            roots: &[],
            settings: &settings,
            home: Some(&home),
            paths: &paths,
            temp: None,
        });
        let real = canonical(&home);
        assert!(!profile.deny.contains(&real.join(".ssh")), "{:?}", profile.deny);
        assert!(profile.deny.contains(&real.join(".aws")), "{:?}", profile.deny);
        assert!(profile.deny.contains(&real.join("fw/data")), "{:?}", profile.deny);

        let kept = |p: &str| kept_from_servers(&home.join(p), Some(&home), &paths);
        assert!(matches!(kept("fw/data/mcpfw.db"), Some(Kept::Firewall(_))));
        assert!(matches!(kept(".ssh"), Some(Kept::Sensitive { kind: "credential", .. })));
        assert!(matches!(kept(".ssh/id_rsa"), Some(Kept::InsideSensitive { .. })));
        assert_eq!(kept("work"), None);
    }
}
