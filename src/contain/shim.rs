//! The shim's side of the box: starting the launcher, reading its report, and telling the
//! person (stderr, the history, `mcpfw sandbox show`) and the client (when `require` refuses).

use std::io::Read;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::unboxed::warn_if_root;
pub use super::unboxed::{announce_off, client_refusal, refuse_unboxable};
use super::{
    Effective, Knobs, LAUNCHER_COMMAND, Mode, Plan, Profile, Report, SandboxSettings, sys,
};
use crate::paths::Paths;
use crate::pipeline::Pipeline;
use crate::record::Verdict;

/// How `mcpfw wrap` boxes its server.
#[derive(Debug, Clone)]
pub struct Boxing {
    pub profile: Profile,
    pub egress_socket: Option<PathBuf>,
    pub knobs: Knobs,
    pub paths: Paths,
    /// This shim's egress proxy (`None` when a test gives its own socket).
    pub egress: Option<Arc<EgressControl>>,
}

/// The shim's hold on its egress proxy: the launch phase ends with the server's first message,
/// and the proxy is shut down (open connections ended and recorded) before the shim exits.
pub struct EgressControl {
    handle: std::sync::Mutex<Option<crate::egress::EgressHandle>>,
}

impl std::fmt::Debug for EgressControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EgressControl")
    }
}

impl EgressControl {
    /// The server spoke: the package manager's phase is over, its registries are no longer
    /// allowed by default.
    pub fn end_launch_phase(&self) {
        if let Some(handle) = self.handle.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            handle.end_launch_phase();
        }
    }

    /// Ends the proxy's connections, records them, and removes its socket.
    pub fn shutdown(&self) {
        let handle = self.handle.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(handle) = handle {
            let socket = handle.socket().to_path_buf();
            handle.shutdown(Duration::from_secs(1));
            let _ = std::fs::remove_file(socket);
        }
    }
}

/// What a boxed server's egress proxy is built from: the shim's history, policy, approver and
/// session, so that connections are decided and recorded like its calls.
pub struct EgressWiring {
    pub recorder: Arc<dyn crate::record::Recorder>,
    /// The policy in force, asked at each new connection.
    pub engine: crate::egress::PolicySource,
    pub approver: crate::pipeline::ApproverConfig,
    pub session: String,
}

/// The launcher started; its report is on the way.
pub struct Started {
    read: OwnedFd,
    write: Option<OwnedFd>,
    plan: String,
}

impl Started {
    /// The plan, for [`PLAN_ENV`] in the launcher's environment.
    pub fn plan(&self) -> &str {
        &self.plan
    }
}

impl Boxing {
    /// The command that runs `program args` in the box: this binary as the launcher.
    pub fn command(
        &self,
        program: &Path,
        args: &[std::ffi::OsString],
    ) -> Result<(Command, Started)> {
        let exe =
            std::env::current_exe().context("cannot find the mcpfw program to build the box")?;
        let (read, write) = sys::pipe().context("cannot create the box's report pipe")?;
        let plan = Plan {
            profile: self.profile.clone(),
            egress_socket: self.egress_socket.clone(),
            report_fd: write.as_raw_fd(),
            knobs: self.knobs.clone(),
        };
        let mut cmd = Command::new(exe);
        cmd.arg(LAUNCHER_COMMAND).arg("--").arg(program).args(args);
        let plan = serde_json::to_string(&plan)?;
        sys::keep_on_exec(&mut cmd, write.as_raw_fd());
        Ok((cmd, Started { read, write: Some(write), plan }))
    }
}

/// Reads the launcher's report (it comes right after the server is started).
pub fn read_report(mut started: Started, timeout: Duration) -> Report {
    drop(started.write.take()); // only the launcher holds the write end now
    let mut file = std::fs::File::from(started.read);
    let deadline = Instant::now() + timeout;
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        let mut poll = libc::pollfd { fd: file.as_raw_fd(), events: libc::POLLIN, revents: 0 };
        // A poll on our own pipe: no unsafe needed beyond the libc call's contract.
        if poll_one(&mut poll, left) == 0 {
            break;
        }
        match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => {
                bytes.extend_from_slice(&chunk[..n]);
                if bytes.contains(&b'\n') || bytes.len() > 1 << 20 {
                    break;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    serde_json::from_slice(line).unwrap_or_else(|_| Report {
        refused: true,
        error: Some(if bytes.is_empty() {
            "the box's launcher ended without a report".into()
        } else {
            "the box's launcher sent an unreadable report".into()
        }),
        ..Report::default()
    })
}

fn poll_one(poll: &mut libc::pollfd, timeout: Duration) -> i32 {
    let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    sys::poll(poll, ms)
}

/// Names what the box lacks (stderr, once per start), records the box in the history and keeps
/// the effective profile for `mcpfw sandbox show`.
pub fn announce(pipeline: &Pipeline, boxing: &Boxing, report: &Report) {
    let server = pipeline.server();
    for missing in &report.missing {
        tracing::warn!(server, "the server's box lacks {missing}");
    }
    if let Some(error) = &report.error {
        tracing::error!(server, "the server's box: {error}");
    }
    for note in &report.notes {
        tracing::info!(server, "the server's box: {note}");
    }
    warn_if_root();
    let mode = boxing.profile.mode.as_str();
    let verdict = if report.refused { Verdict::Deny } else { Verdict::Allow };
    let what = if report.refused { "refused to start the server" } else { "started the server" };
    pipeline.record_containment(verdict, format!("sandbox {mode}: {what}; {}", report.summary()));
    super::save_effective(
        &boxing.paths,
        &Effective {
            profile: boxing.profile.clone(),
            report: report.clone(),
            started_ms: crate::record::now_ms(),
        },
    );
}

/// The box `mcpfw wrap` prepared for one server. Dropping it removes the private temp folder.
pub struct Prepared {
    /// The box, unless the policy turns it off or the server runs in a container.
    pub boxing: Option<Boxing>,
    /// The profile the server would have had, when it runs without the box.
    pub off: Option<Profile>,
    /// Why it runs without the box when the policy did not say so: the container runtime
    /// (`docker`, `podman`, …) that starts it outside this process tree.
    pub container: Option<String>,
    /// `mode = "require"` for a server the box cannot hold: refuse to start it.
    pub refuse: bool,
    temp: Option<PathBuf>,
}

/// The container runtimes whose CLI starts the server in a container that their daemon (or a
/// runtime outside this process tree) runs. The box cannot reach into it, and boxing the CLI
/// would only cut it off from the runtime's socket.
const CONTAINER_RUNTIMES: [&str; 4] = ["docker", "podman", "nerdctl", "finch"];

/// The container runtime `program` is, if it is one.
pub fn container_runtime(program: &Path) -> Option<String> {
    let name = program.file_name()?.to_string_lossy().into_owned();
    CONTAINER_RUNTIMES.contains(&name.as_str()).then_some(name)
}

/// What the history and stderr say about a server that runs without the box.
pub fn off_reason(prepared: &Prepared) -> String {
    match &prepared.container {
        Some(runtime) => format!(
            "the server runs in a container that {runtime} starts outside MCP Firewall's \
             process tree, so the box cannot confine it (the container's own isolation applies)"
        ),
        None => "sandbox off for this server (policy.toml)".to_owned(),
    }
}

impl Drop for Prepared {
    fn drop(&mut self) {
        if let Some(temp) = &self.temp {
            let _ = std::fs::remove_dir_all(temp);
        }
    }
}

/// Draws the box of server `server`: its roots (the same the policy engine checks paths
/// against: `--root`, the inferred ones unless `infer_roots = false`, policy.toml's), its
/// program, `[servers.NAME.sandbox]` (`settings`, from the policy.toml the pipeline was built
/// from); creates its private temp folder and, unless the box is off, starts its egress proxy.
#[allow(clippy::too_many_arguments)]
pub fn prepare(
    paths: &Paths,
    server: &str,
    program: &Path,
    script: Option<&Path>,
    args: &[std::ffi::OsString],
    roots: &[PathBuf],
    settings: &SandboxSettings,
    wiring: EgressWiring,
) -> Result<Prepared> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let settings = settings.clone();
    let roots = roots.to_vec();
    // MCP Firewall's folders exist before the box is drawn, so that each is hidden (one made
    // later inside a root would be visible to the server).
    for dir in [&paths.config, &paths.data, &paths.logs, &paths.runtime] {
        Paths::ensure(dir)?;
    }
    if let Some(home) = &home {
        create_caches(program, home);
    }
    let temp = if settings.mode == Mode::Off { None } else { Some(private_temp(server)?) };
    let profile = super::infer(&super::Inputs {
        server,
        program,
        script,
        args,
        roots: &roots,
        settings: &settings,
        home: home.as_deref(),
        paths,
        temp: temp.clone(),
    });
    if settings.mode == Mode::Off {
        return Ok(Prepared {
            boxing: None,
            off: Some(profile),
            container: None,
            refuse: false,
            temp,
        });
    }
    if let Some(runtime) = container_runtime(program) {
        let refuse = settings.mode == Mode::Require;
        return Ok(Prepared {
            boxing: None,
            off: Some(profile),
            container: Some(runtime),
            refuse,
            temp,
        });
    }
    let (egress_socket, egress) = match super::test_switch(super::TEST_EGRESS_SOCKET) {
        Some(socket) if !socket.is_empty() => (Some(PathBuf::from(socket)), None),
        _ => {
            let (socket, control) =
                start_egress(paths, server, program, args, &settings.allow_hosts, wiring)?;
            (Some(socket), Some(Arc::new(control)))
        }
    };
    let boxing =
        Boxing { profile, egress_socket, knobs: Knobs::from_env(), paths: paths.clone(), egress };
    Ok(Prepared { boxing: Some(boxing), off: None, container: None, refuse: false, temp })
}

/// A package manager's cache is writable in the box only if it exists when the box is drawn:
/// the one the program needs is created first (`npx` → `~/.npm`, `uvx` → `~/.cache/uv`…).
fn create_caches(program: &Path, home: &Path) {
    let name = program.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let caches: &[&str] = match name.as_str() {
        "npx" | "npm" | "node" | "pnpm" | "pnpx" => &[".npm"],
        "uv" | "uvx" => &[".cache/uv", ".local/share/uv"],
        "pip" | "pip3" | "pipx" => &[".cache/pip"],
        _ => &[],
    };
    for cache in caches {
        let dir = home.join(cache);
        if !dir.exists()
            && let Err(e) = Paths::ensure(&dir)
        {
            tracing::warn!(error = %e, "cannot create {} for the server's box", dir.display());
        }
    }
}

/// Removes the temp folders of shims that ended without removing theirs (killed): those
/// whose process is gone, owned by this user.
fn remove_stale_temps() {
    use std::os::unix::fs::MetadataExt;
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    let own = sys::uid();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name
            .strip_prefix("mcpfw-box-")
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let ours = entry.metadata().is_ok_and(|m| m.uid() == own && m.is_dir());
        if ours && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// A fresh 0700 folder for the server's temporary files.
fn private_temp(server: &str) -> Result<PathBuf> {
    let name: String = server
        .chars()
        .take(40)
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
        .collect();
    remove_stale_temps();
    let dir = std::env::temp_dir().join(format!("mcpfw-box-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir); // a leftover of an earlier process with this pid
    let mut builder = std::fs::DirBuilder::new();
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(&dir)
        .with_context(|| format!("cannot create the server's temp folder {}", dir.display()))?;
    Ok(dir)
}

/// The egress proxy of this shim on a socket in a private folder of the runtime folder: the
/// shim's rules, allow-lists and approver decide each destination, its history records each
/// connection, and a package manager's registries are allowed while it fetches the package.
fn start_egress(
    paths: &Paths,
    server: &str,
    program: &Path,
    args: &[std::ffi::OsString],
    allow_hosts: &[String],
    wiring: EgressWiring,
) -> Result<(PathBuf, EgressControl)> {
    use std::os::unix::fs::PermissionsExt;
    let dir = paths.runtime.join("egress");
    Paths::ensure(&dir)?;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("cannot make {} private", dir.display()))?;
    let socket = dir.join(format!("{}.sock", std::process::id()));
    let mut settings =
        crate::egress::EgressSettings::new(server, wiring.recorder).with_policy(wiring.engine);
    settings.session = wiring.session;
    settings.approver = Some(wiring.approver);
    settings.allow_hosts = allow_hosts.to_vec();
    settings.launch_hosts = crate::egress::registry::launch_hosts(
        program,
        args,
        &crate::egress::registry::Sources::process(),
    );
    let handle = crate::egress::start(&socket, settings)
        .with_context(|| format!("cannot start the egress proxy on {}", socket.display()))?;
    Ok((socket, EgressControl { handle: std::sync::Mutex::new(Some(handle)) }))
}
