//! `mcpfw __box -- PROGRAM ARGS…`: the launcher that builds the box and runs the server in it.
//!
//! The shim starts it with the [`Plan`] in [`PLAN_ENV`]. With user namespaces it enters new
//! user, mount, PID and network namespaces and forks the box's init (PID 1), which mounts a
//! fresh /proc, hides the denied paths, brings `lo` up, relays the box's TCP to the egress
//! socket, starts the server confined (a nested user namespace where it has the user's own uid
//! and gid again, Landlock, seccomp, no capabilities, no new privileges) and reaps everything
//! until the server exits; when init ends, the kernel ends every process left in the box. Without user namespaces the launcher does the same minus the namespaces and
//! names what that leaves open. Either way the [`Report`] goes to the shim on a pipe before the
//! server has answered anything.

use std::ffi::OsString;
use std::io::Write;
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Command;

use super::rules::{self, NetConfinement};
use super::sys;
use super::{Mode, PLAN_ENV, Plan, Report};

/// Exit code when the launcher refuses or fails before the server starts.
pub const REFUSED_EXIT: i32 = 70;

/// Runs the launcher; `argv` is everything after `__box`. Returns the exit code.
/// Must be called before the process starts any thread.
pub fn main(argv: Vec<OsString>) -> i32 {
    // Signals wait until a forwarder is in place (see `forward_signals`).
    sys::hold_signals(true, &FORWARDED);
    let command: Vec<OsString> =
        argv.into_iter().skip_while(|a| a != "--").skip(1).collect::<Vec<_>>();
    let plan: Plan = match std::env::var(PLAN_ENV)
        .map_err(anyhow::Error::from)
        .and_then(|text| serde_json::from_str(&text).map_err(anyhow::Error::from))
    {
        Ok(plan) => plan,
        Err(e) => {
            eprintln!("mcpfw __box: no usable plan ({e}); this command is run by `mcpfw wrap`");
            return REFUSED_EXIT;
        }
    };
    let mut out = match sys::adopt_fd(plan.report_fd) {
        Ok(fd) => Some(std::fs::File::from(fd)),
        Err(_) => None,
    };
    if command.is_empty() {
        return fail(&mut out, "no server command given".into());
    }
    let mut report = Report::default();
    // The egress socket's folder, opened before any mount hides it.
    let egress = match &plan.egress_socket {
        Some(socket) => match (socket.parent(), socket.file_name()) {
            (Some(dir), Some(name)) => match sys::open_dir_path(dir) {
                Ok(fd) => Some((fd, PathBuf::from(name))),
                Err(e) => return fail(&mut out, format!("cannot open {}: {e}", dir.display())),
            },
            _ => return fail(&mut out, format!("bad egress socket {}", socket.display())),
        },
        None => None,
    };
    let user = if plan.knobs.no_userns {
        report.missing.push(userns_missing("turned off for this test (MCPFW_TEST_NO_USERNS)"));
        None
    } else {
        match sys::enter_namespaces() {
            Ok(user) => Some(user),
            Err(e) => {
                report.missing.push(userns_missing(&userns_reason(&e)));
                None
            }
        }
    };
    report.namespaces = user.is_some();
    if report.namespaces {
        // The outer launcher only waits for the box's init and passes its exit code on.
        match sys::fork() {
            Ok(Some(init)) => {
                drop(out.take());
                return outer(init);
            }
            Ok(None) => {}
            Err(e) => return fail(&mut out, format!("cannot start the box's init: {e}")),
        }
        let _ = sys::die_with_parent();
    } else if let Err(e) = sys::become_subreaper() {
        report.notes.push(format!("cannot reap the server's orphans: {e}"));
    }
    sys::not_dumpable();
    match inside(&plan, &command, egress, user, &mut report, &mut out) {
        Ok(code) => code,
        Err(e) => fail(&mut out, format!("{e:#}")),
    }
}

fn userns_missing(reason: &str) -> String {
    format!(
        "user namespaces ({reason}): no private PID, mount or network namespace — the server \
         can see your other processes, MCP Firewall's folders are hidden by Landlock only, and \
         its network is held by Landlock's TCP rules and seccomp only"
    )
}

fn userns_reason(e: &std::io::Error) -> String {
    let apparmor =
        std::fs::read_to_string("/proc/sys/kernel/apparmor_restrict_unprivileged_userns")
            .is_ok_and(|v| v.trim() == "1");
    if apparmor {
        format!("refused by AppArmor's restriction on unprivileged user namespaces: {e}")
    } else {
        format!("unavailable: {e}")
    }
}

/// Writes a failure report and returns the refusal exit code.
fn fail(out: &mut Option<std::fs::File>, error: String) -> i32 {
    eprintln!("mcpfw: the server's box could not be built: {error}");
    let report = Report { error: Some(error), refused: true, ..Report::default() };
    send(out, &report);
    REFUSED_EXIT
}

fn send(out: &mut Option<std::fs::File>, report: &Report) {
    if let Some(mut file) = out.take() {
        let mut line = serde_json::to_vec(report).unwrap_or_default();
        line.push(b'\n');
        let _ = file.write_all(&line);
    }
}

/// The launcher outside the PID namespace: forwards signals to init, returns init's exit code.
fn outer(init: libc::pid_t) -> i32 {
    forward_signals(init);
    loop {
        match sys::wait_any() {
            Ok((pid, code)) if pid == init => return code,
            Ok(_) => {}
            Err(_) => return REFUSED_EXIT,
        }
    }
}

/// The signals passed on to the box: the shim's own forwarding of a client's SIGTERM & co.
const FORWARDED: [i32; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

/// Passes the signals in [`FORWARDED`] on to `to`, then releases those held since start-up: one
/// that arrived while the box was being built reaches the server as soon as it exists.
fn forward_signals(to: libc::pid_t) {
    if let Ok(mut signals) = signal_hook::iterator::Signals::new(FORWARDED) {
        let _ = std::thread::Builder::new().name("box-signals".into()).spawn(move || {
            for signal in signals.forever() {
                sys::kill(to, signal);
            }
        });
    }
    sys::hold_signals(false, &FORWARDED);
}

/// Inside the box (init, or the launcher itself without namespaces): everything else.
fn inside(
    plan: &Plan,
    command: &[OsString],
    egress: Option<(OwnedFd, PathBuf)>,
    user: Option<sys::UserIds>,
    report: &mut Report,
    out: &mut Option<std::fs::File>,
) -> anyhow::Result<i32> {
    let profile = &plan.profile;
    let mut hidden = Vec::new();
    if report.namespaces {
        sys::make_mounts_private()?;
        sys::mount_proc().map_err(|e| anyhow::anyhow!("cannot mount the box's /proc: {e}"))?;
        for path in profile
            .deny
            .iter()
            .chain(RUNTIME_SOCKETS.iter().map(PathBuf::from).collect::<Vec<_>>().iter())
        {
            let masked = if path.is_dir() {
                sys::mask_dir(path)
            } else if path.exists() {
                sys::mask_file(path)
            } else {
                continue;
            };
            match masked {
                Ok(()) => hidden.push(path.clone()),
                Err(e) => report.notes.push(format!(
                    "cannot hide {} with a mount ({e}); Landlock grants are cut around it",
                    path.display()
                )),
            }
        }
        sys::loopback_up().map_err(|e| anyhow::anyhow!("cannot bring up the box's lo: {e}"))?;
    }

    // The network: a loopback listener relayed byte for byte to the egress socket.
    let listener = match &egress {
        Some(_) => Some(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?),
        None => None,
    };
    let port = listener.as_ref().map(|l| l.local_addr().map(|a| a.port())).transpose()?;
    report.proxy_port = port;

    let kernel_abi = sys::landlock_abi();
    let abi = match plan.knobs.landlock_abi {
        Some(cap) => kernel_abi.min(cap),
        None => kernel_abi,
    };
    if abi < kernel_abi {
        report.notes.push(format!(
            "Landlock ABI lowered from {kernel_abi} to {abi} for this test (MCPFW_TEST_LANDLOCK_ABI)"
        ));
    }
    let net =
        if report.namespaces { NetConfinement::Namespace } else { NetConfinement::OnlyPort(port) };
    if !report.namespaces && egress.is_some() {
        report.notes.push(
            "the server's network is relayed from a host-loopback port that Landlock lets it \
             connect to; weaker than a network namespace: any TCP destination on that port \
             number is reachable, and UDP is refused by seccomp only"
                .to_owned(),
        );
    }
    let landlock = rules::landlock(profile, abi, &hidden, &net, report.namespaces)?;
    report.landlock_abi = landlock.abi;
    report.missing.extend(landlock.missing);
    report.notes.extend(landlock.notes);

    let seccomp_on = !plan.knobs.no_seccomp && sys::seccomp_available();
    let filters = if seccomp_on {
        rules::seccomp(report.namespaces)?
    } else {
        let why = if plan.knobs.no_seccomp {
            "turned off for this test (MCPFW_TEST_NO_SECCOMP)"
        } else {
            "not available in this kernel"
        };
        report.missing.push(format!(
            "seccomp ({why}): ptrace, mount, keyctl, bpf, perf_event_open, module loading, \
             io_uring, new namespaces and raw sockets are not refused"
        ));
        Vec::new()
    };
    report.seccomp = seccomp_on;

    if profile.mode == Mode::Require && !report.missing.is_empty() {
        report.refused = true;
        send(out, report);
        return Ok(REFUSED_EXIT);
    }

    if let (Some(listener), Some((dir, name))) = (listener, egress) {
        let target = PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd())).join(name);
        std::thread::Builder::new().name("box-relay".into()).spawn(move || {
            let _dir = dir; // keeps the path-only descriptor the target goes through
            relay(listener, target)
        })?;
    }

    let mut cmd = Command::new(&command[0]);
    cmd.args(&command[1..]).env_remove(PLAN_ENV).process_group(0);
    if let Some(temp) = &profile.temp {
        for var in ["TMPDIR", "TMP", "TEMP"] {
            cmd.env(var, temp);
        }
    }
    if let Some(port) = port {
        let proxy = format!("http://127.0.0.1:{port}");
        for var in [
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "http_proxy",
            "https_proxy",
            "all_proxy",
            "npm_config_proxy",
            "npm_config_https_proxy",
        ] {
            cmd.env(var, &proxy);
        }
        cmd.env("NODE_USE_ENV_PROXY", "1").env_remove("NO_PROXY").env_remove("no_proxy");
    }
    // In the namespaces, the server sees the user's own uid and gid (a nested user namespace
    // of its own), not the root the launcher is in here.
    sys::confine(&mut cmd, sys::Confinement { user, ruleset: landlock.ruleset, filters });
    let child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => {
            // ENOSPC from unshare: a limit on user namespaces (the server's nested one).
            let hint = if report.namespaces && e.raw_os_error() == Some(libc::ENOSPC) {
                " (the kernel's limit on user namespaces refused the server's own, nested one: \
                 see /proc/sys/user/max_user_namespaces)"
            } else {
                ""
            };
            report.error = Some(format!(
                "cannot start the server `{}`: {e}{hint}",
                command[0].to_string_lossy()
            ));
            report.refused = true;
            send(out, report);
            return Ok(127);
        }
    };
    drop(cmd); // closes the ruleset descriptor in this process
    send(out, report);
    let server = child.id() as libc::pid_t;
    forward_signals(-server);
    loop {
        let (pid, code) = sys::wait_any()?;
        if pid == server {
            if !report.namespaces {
                sys::kill(-server, libc::SIGKILL); // what is left of its process group
            }
            return Ok(code);
        }
    }
}

/// Pathname Unix sockets that Landlock (before ABI 9) cannot keep a process from connecting
/// to, hidden with the rest: the session bus, the user's runtime folder, X11.
const RUNTIME_SOCKETS: &[&str] = &["/run", "/var/run", "/tmp/.X11-unix", "/tmp/.ICE-unix"];

/// Accepts the box's TCP connections and relays each, byte for byte, to the egress socket.
fn relay(listener: TcpListener, target: PathBuf) {
    for stream in listener.incoming() {
        let Ok(tcp) = stream else { continue };
        let target = target.clone();
        let _ = std::thread::Builder::new().name("box-conn".into()).spawn(move || {
            let Ok(unix) = UnixStream::connect(&target) else { return };
            pump(tcp, unix);
        });
    }
}

fn pump(tcp: TcpStream, unix: UnixStream) {
    let (Ok(mut tcp_r), Ok(mut unix_w)) = (tcp.try_clone(), unix.try_clone()) else { return };
    let up = std::thread::Builder::new().name("box-up".into()).spawn(move || {
        let _ = std::io::copy(&mut tcp_r, &mut unix_w);
        let _ = unix_w.shutdown(std::net::Shutdown::Write);
    });
    let (mut unix_r, mut tcp_w) = (unix, tcp);
    let _ = std::io::copy(&mut unix_r, &mut tcp_w);
    let _ = tcp_w.shutdown(std::net::Shutdown::Write);
    if let Ok(up) = up {
        let _ = up.join();
    }
}
