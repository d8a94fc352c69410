//! The egress proxy: the only way out to the network for a wrapped server in its box.
//!
//! The box gives the server no network; a forwarder inside it listens on 127.0.0.1 (the server
//! gets `HTTP_PROXY`/`HTTPS_PROXY`/`ALL_PROXY` pointing there) and relays each TCP connection
//! byte for byte to a Unix socket on the host. This module listens on that socket: each
//! connection is one HTTP proxy request — `CONNECT host:port` (a tunnel) or a plain-HTTP request
//! with an absolute URI — and each new host and port is decided like a tool call
//! ([`decide`]): the rules (as the pseudo-tool [`TOOL`]), the allow-lists, the package
//! registries during the launch phase, what a person already said this session, else a person
//! is asked through the daemon (unattended: the `unattended` setting, default deny). Local
//! destinations (loopback, private, link-local, the metadata service), by literal or by what a
//! name resolves to, are reached only when named exactly ([`local`]). Every connection is
//! recorded: a refusal durably before the server hears of it, an allowed connection with its
//! byte counts when it closes.
//!
//! Threads, not async, like the shim: an accept loop, a thread per connection reading the
//! request head (bounded in size and time), then two threads relaying.

mod decide;
pub mod head;
pub mod local;
pub mod registry;
mod relay;
pub mod upstream;

use std::io::{self, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::pipeline::ApproverConfig;
use crate::policy::engine::PolicyEngine;
use crate::policy::file::Unattended;
use crate::record::{DecidedBy, Event, EventKind, Recorder, Verdict};
use crate::session::Direction;
use decide::{Basis, Decided, Decider, Hint};
use head::{Host, Request};
pub use registry::RegistryHost;
pub use upstream::Upstream;

/// The pseudo-tool a connection is presented to the rules as.
pub const TOOL: &str = "egress.connect";

/// The method recorded for a connection.
pub const METHOD: &str = "egress/connect";

/// How long the launch phase lasts at most when the server never speaks.
pub const DEFAULT_LAUNCH_LIMIT: Duration = Duration::from_secs(300);

/// Everything the egress proxy of one wrapped server needs.
pub struct EgressSettings {
    /// The server's name, as recorded and as rules name it.
    pub server: String,
    /// Hosts this server may reach without asking, beyond `policy.toml`'s (globs such as
    /// `*.example.com`; a local destination must be named without a wildcard).
    pub allow_hosts: Vec<String>,
    /// The session the connections are recorded under (the shim's, `Pipeline::session_id`).
    pub session: String,
    /// The server's policy in force: its rules and `[egress]`/`[servers.NAME]` allow-lists
    /// (asked for at each new connection, so a rule added while the server runs applies to
    /// its next connection). `None`: only `allow_hosts` and asking.
    pub engine: Option<PolicySource>,
    /// Where connections are recorded (the shim's recorder).
    pub recorder: Arc<dyn Recorder>,
    /// The approval daemon; `None`: nobody can be asked.
    pub approver: Option<ApproverConfig>,
    /// What a connection that would ask becomes when nobody can be asked (without an
    /// `engine`; with one, its setting in force).
    pub unattended: Unattended,
    /// Package registries allowed during the launch phase ([`registry::launch_hosts`]).
    pub launch_hosts: Vec<RegistryHost>,
    /// The launch phase ends at the latest this long after the proxy starts.
    pub launch_limit: Duration,
    /// The user's own proxy, which allowed connections go through.
    pub upstream: Upstream,
    /// At most this many connections at once; more are answered 503.
    pub max_connections: usize,
    /// How long connecting to a destination may take.
    pub connect_timeout: Duration,
}

impl EgressSettings {
    /// Settings with nothing allowed beyond asking, no approver, unattended deny, the upstream
    /// proxy from this process's environment, and a fresh session id.
    pub fn new(server: impl Into<String>, recorder: Arc<dyn Recorder>) -> Self {
        let mut id = [0u8; 8];
        let _ = getrandom::fill(&mut id);
        Self {
            server: server.into(),
            allow_hosts: Vec::new(),
            session: format!("egress-{}", hex::encode(id)),
            engine: None,
            recorder,
            approver: None,
            unattended: Unattended::Deny,
            launch_hosts: Vec::new(),
            launch_limit: DEFAULT_LAUNCH_LIMIT,
            upstream: Upstream::from_env(),
            max_connections: 256,
            connect_timeout: Duration::from_secs(10),
        }
    }

    /// Uses `engine`'s rules and allow-lists, and its unattended setting.
    pub fn with_engine(self, engine: PolicyEngine) -> Self {
        self.with_policy(fixed(engine))
    }

    /// Uses the policy `source` gives at each new connection (the pipeline's live policy).
    pub fn with_policy(mut self, source: PolicySource) -> Self {
        self.unattended = source().engine().unattended();
        self.engine = Some(source);
        self
    }

    /// The policy in force for a new connection.
    fn policy(&self) -> Option<Arc<crate::policy::FirewallPolicy>> {
        self.engine.as_ref().map(|source| source())
    }
}

/// Where the proxy gets the policy in force.
pub type PolicySource = Arc<dyn Fn() -> Arc<crate::policy::FirewallPolicy> + Send + Sync>;

/// A policy that never changes.
pub fn fixed(engine: PolicyEngine) -> PolicySource {
    let policy = Arc::new(crate::policy::FirewallPolicy::new(engine));
    Arc::new(move || policy.clone())
}

/// A running egress proxy. Dropping it stops accepting (connections already open finish).
pub struct EgressHandle {
    shared: Arc<Shared>,
    socket: PathBuf,
    accept: Option<JoinHandle<()>>,
}

struct Shared {
    settings: EgressSettings,
    decider: Decider,
    active: AtomicUsize,
    /// The destinations of the connections relaying now, to end them when the proxy stops.
    relaying: std::sync::Mutex<std::collections::HashMap<u64, (UnixStream, TcpStream)>>,
    next_id: std::sync::atomic::AtomicU64,
    stopping: AtomicBool,
}

impl EgressHandle {
    /// The server spoke (its first MCP message): package registries are no longer allowed by
    /// default.
    pub fn end_launch_phase(&self) {
        self.shared.decider.end_launch_phase();
    }

    /// The Unix socket the proxy listens on.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Connections being served now.
    pub fn active(&self) -> usize {
        self.shared.active.load(Ordering::Relaxed)
    }

    /// Stops accepting and removes the socket; connections already open finish on their own.
    pub fn stop(mut self) {
        self.stop_accepting();
    }

    /// Stops accepting, ends the connections still relaying (the server is going away), and
    /// waits up to `grace` for each to be recorded with its byte counts. For the shim's exit:
    /// call it before the history is flushed.
    pub fn shutdown(mut self, grace: Duration) {
        self.stop_accepting();
        for (client, remote) in
            self.shared.relaying.lock().unwrap_or_else(|p| p.into_inner()).values()
        {
            let _ = client.shutdown(std::net::Shutdown::Both);
            let _ = remote.shutdown(std::net::Shutdown::Both);
        }
        let deadline = Instant::now() + grace;
        while self.shared.active.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Blocks until the proxy stops (it stops only through [`EgressHandle::stop`] from
    /// elsewhere or a failing listener).
    pub fn wait(mut self) {
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }

    fn stop_accepting(&mut self) {
        if let Some(accept) = self.accept.take() {
            self.shared.stopping.store(true, Ordering::SeqCst);
            // Wake the accept loop.
            let _ = UnixStream::connect(&self.socket);
            let _ = accept.join();
            let _ = std::fs::remove_file(&self.socket);
        }
    }
}

impl Drop for EgressHandle {
    fn drop(&mut self) {
        self.stop_accepting();
    }
}

/// Starts the egress proxy on `socket` (created with mode 0600; a stale socket there is
/// replaced, any other file is an error) and returns at once.
pub fn start(socket: &Path, settings: EgressSettings) -> io::Result<EgressHandle> {
    if let Ok(meta) = std::fs::symlink_metadata(socket) {
        if meta.file_type().is_socket() {
            std::fs::remove_file(socket)?;
        } else {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists and is not a socket", socket.display()),
            ));
        }
    }
    let listener = UnixListener::bind(socket)?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))?;
    let decider = Decider::new(&settings)?;
    let shared = Arc::new(Shared {
        settings,
        decider,
        active: AtomicUsize::new(0),
        relaying: std::sync::Mutex::new(std::collections::HashMap::new()),
        next_id: std::sync::atomic::AtomicU64::new(0),
        stopping: AtomicBool::new(false),
    });
    let accept = {
        let shared = shared.clone();
        std::thread::Builder::new()
            .name("egress-accept".into())
            .spawn(move || accept_loop(listener, shared))?
    };
    tracing::info!(server = %shared.settings.server, socket = %socket.display(), "egress proxy listening");
    Ok(EgressHandle { shared, socket: socket.to_owned(), accept: Some(accept) })
}

/// Runs the egress proxy on `socket` until it stops: [`start`], then wait.
pub fn serve(socket: &Path, settings: EgressSettings) -> io::Result<()> {
    start(socket, settings)?.wait();
    Ok(())
}

fn accept_loop(listener: UnixListener, shared: Arc<Shared>) {
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            break;
        }
        let mut stream = match stream {
            Ok(stream) => stream,
            Err(e) => {
                tracing::warn!(error = %e, "egress: accept failed");
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let active = shared.active.fetch_add(1, Ordering::SeqCst);
        if active >= shared.settings.max_connections {
            shared.active.fetch_sub(1, Ordering::SeqCst);
            let mut event = event(
                &shared,
                None,
                Verdict::Deny,
                &DecidedBy::Firewall,
                format!(
                    "too many connections at once (more than {})",
                    shared.settings.max_connections
                ),
            );
            event.kind = EventKind::Invalid;
            event.tool = None;
            shared.settings.recorder.record(event);
            let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
            let _ = answer(
                &mut stream,
                503,
                &format!(
                    "MCP Firewall's egress proxy already serves {} connections for this server; try again shortly.\n",
                    shared.settings.max_connections
                ),
            );
            continue;
        }
        let conn = shared.clone();
        let spawned = std::thread::Builder::new().name("egress-conn".into()).spawn(move || {
            handle(&conn, stream);
            conn.active.fetch_sub(1, Ordering::SeqCst);
        });
        if spawned.is_err() {
            shared.active.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// Writes a small HTTP answer and closes the writing side.
fn answer(stream: &mut UnixStream, status: u16, body: &str) -> io::Result<()> {
    let phrase = match status {
        400 => "Bad Request",
        403 => "Forbidden",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Error",
    };
    let mut allow = String::new();
    if status == 405 {
        allow.push_str("Allow: CONNECT, GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS\r\n");
    }
    let response = format!(
        "HTTP/1.1 {status} {phrase}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\nX-MCP-Firewall: {}\r\n{allow}\r\n{body}",
        body.len(),
        if status == 403 { "refused" } else { "error" },
    );
    stream.write_all(response.as_bytes())?;
    stream.flush()?;
    let _ = stream.shutdown(std::net::Shutdown::Write);
    Ok(())
}

/// The event for one connection (or refusal), with the fields every connection shares.
fn event(
    shared: &Shared,
    request: Option<&Request>,
    verdict: Verdict,
    by: &DecidedBy,
    reason: String,
) -> Event {
    let (args, digest) = match request {
        Some(r) => {
            let args = pseudo_args(r.host(), r.port());
            let digest = hex::encode(Sha256::digest(args.as_bytes()));
            (Some(args), Some(digest))
        }
        None => (None, None),
    };
    Event {
        ts_ms: crate::record::now_ms(),
        server: shared.settings.server.clone(),
        session: shared.settings.session.clone(),
        direction: Direction::ServerToClient,
        kind: EventKind::Request,
        method: Some(METHOD.to_owned()),
        id: None,
        tool: Some(TOOL.to_owned()),
        category: Some(crate::classify::Category::NetworkSend),
        era: "unknown",
        protocol_version: None,
        verdict,
        decided_by: Some(by.clone()),
        reason: Some(reason),
        latency_us: None,
        cancels: None,
        args_digest: digest,
        args_redacted: args,
        result_status: None,
        findings: Vec::new(),
        bytes: 0,
    }
}

/// The pseudo-call's arguments, exactly as digested (an "always" rule matches this text).
fn pseudo_args(host: &Host, port: u16) -> String {
    let host = serde_json::to_string(&host.text()).unwrap_or_default();
    format!("{{\"host\":{host},\"port\":{port}}}")
}

/// The recorded arguments of a finished connection.
fn recorded_args(request: &Request, up: u64, down: u64) -> String {
    let via = match request {
        Request::Connect { .. } => "CONNECT".to_owned(),
        Request::Http { method, .. } => method.clone(),
    };
    serde_json::json!({
        "host": request.host().text(),
        "port": request.port(),
        "request": via,
        "bytes_up": up,
        "bytes_down": down,
    })
    .to_string()
}

/// Records a refusal durably, then answers the server. A refusal that cannot be recorded is
/// still a refusal (nothing was let through), and the answer says the record failed.
fn refuse(
    shared: &Shared,
    stream: &mut UnixStream,
    request: Option<&Request>,
    status: u16,
    by: DecidedBy,
    body: String,
) {
    let mut event = event(shared, request, Verdict::Deny, &by, body.trim_end().to_owned());
    if request.is_none() {
        event.kind = EventKind::Invalid;
        event.tool = None;
    }
    let mut body = body;
    if let Err(e) = shared.settings.recorder.record_durable(event) {
        tracing::error!(error = %e, "egress: a refusal could not be recorded");
        body.push_str(&format!("(MCP Firewall could not record this refusal: {e})\n"));
    }
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let _ = answer(stream, status, &body);
}

/// Serves one connection from the server: reads its request, decides, connects, relays.
fn handle(shared: &Shared, mut stream: UnixStream) {
    let Ok(control) = stream.try_clone() else {
        return;
    };
    let read = head::read_head(&mut stream, &|t| control.set_read_timeout(t));
    let (raw_head, rest) = match read {
        Ok(Some(read)) => read,
        Ok(None) => return,
        Err(refusal) => {
            let body = format!(
                "MCP Firewall's egress proxy could not use this request: {}.\n",
                refusal.message
            );
            return refuse(shared, &mut stream, None, refusal.status, DecidedBy::Firewall, body);
        }
    };
    let request = match head::parse(&raw_head) {
        Ok(request) => request,
        Err(refusal) => {
            let body = format!(
                "MCP Firewall's egress proxy could not use this request: {}.\n",
                refusal.message
            );
            return refuse(shared, &mut stream, None, refusal.status, DecidedBy::Firewall, body);
        }
    };
    let _ = stream.set_read_timeout(None);
    let settings = &shared.settings;
    let host = request.host().clone();
    let port = request.port();
    let name = host.text();
    let authority = host.authority(port);
    let args = pseudo_args(&host, port);
    let digest = hex::encode(Sha256::digest(args.as_bytes()));
    let shown = match &request {
        Request::Connect { .. } => {
            format!("CONNECT {authority} (a tunnel; MCP Firewall does not see inside it)")
        }
        Request::Http { method, .. } => format!("{method} http://{authority}/… (plain HTTP)"),
    };

    let deciding = Arc::new(AtomicBool::new(true));
    let tunnel = matches!(request, Request::Connect { .. });
    let watch = || watch_hang_up(&stream, tunnel, &deciding);
    let decided = shared.decider.decide(settings, &watch, &host, port, &args, &digest, &shown);
    deciding.store(false, Ordering::Relaxed);
    let (by, reason, basis) = match decided {
        Decided::Deny { by, reason, hint } => {
            let body = decide::refusal_text(&settings.server, &name, &authority, &reason, hint);
            return refuse(shared, &mut stream, Some(&request), 403, by, body);
        }
        Decided::Allow { by, reason, basis } => (by, reason, basis),
    };
    if basis == Basis::Asked {
        // A person's decision is kept before it takes effect (fail closed).
        let mut approval = event(shared, Some(&request), Verdict::Allow, &by, reason.clone());
        approval.kind = EventKind::Approval;
        if let Err(e) = settings.recorder.record_durable(approval) {
            let body = format!(
                "MCP Firewall refused the connection from {} to {authority}: the approval could not be recorded ({e}).\n",
                settings.server
            );
            return refuse(shared, &mut stream, Some(&request), 403, DecidedBy::Firewall, body);
        }
    }

    // Resolve here (the server has no DNS of its own), and check every address: a name that
    // leads to a local address is refused unless named exactly (DNS rebinding).
    let addrs: io::Result<Vec<SocketAddr>> = match &host {
        Host::Ip(ip) => Ok(vec![SocketAddr::new(*ip, port)]),
        Host::Name(n) => (n.as_str(), port).to_socket_addrs().map(|a| a.collect()),
    };
    let proxy = settings.upstream.for_host(&name, tunnel).cloned();
    let addrs = match addrs {
        Ok(addrs) if !addrs.is_empty() => addrs,
        // Behind a corporate proxy, names may resolve only there.
        _ if proxy.is_some() => Vec::new(),
        Ok(_) | Err(_) => {
            let body = format!(
                "MCP Firewall allowed the connection from {} to {authority}, but {name} could not be resolved.\n",
                settings.server
            );
            finish_failed(shared, &request, &by, &reason, "cannot resolve");
            let _ = answer(&mut stream, 502, &body);
            return;
        }
    };
    let local = addrs.iter().find_map(|a| local::kind(a.ip()).map(|kind| (a.ip(), kind)));
    if let Some((ip, kind)) = local {
        let literal =
            matches!(host, Host::Ip(_)) || name == "localhost" || name.ends_with(".localhost");
        let permitted = match basis {
            Basis::Named => true,
            Basis::Person | Basis::Asked => literal,
            Basis::Broad => false,
        };
        if !permitted {
            let why = if literal {
                format!(
                    "{ip} is {kind}, and local destinations are reached only when named exactly"
                )
            } else {
                format!(
                    "{name} resolves to {ip}, which is {kind}; a name that leads to a local address is reached only when that name is in the allow-list"
                )
            };
            let body = decide::refusal_text(&settings.server, &name, &authority, &why, Hint::Local);
            return refuse(
                shared,
                &mut stream,
                Some(&request),
                403,
                DecidedBy::Guard("local-destination".into()),
                body,
            );
        }
    }

    // Connect: local destinations directly (an upstream proxy cannot reach them), others
    // through the user's proxy when there is one.
    let via = if local.is_some() { None } else { proxy };
    let started = Instant::now();
    let connected = match (&via, &request) {
        (Some(p), Request::Connect { .. }) => p.tunnel(&authority, settings.connect_timeout),
        (Some(p), Request::Http { .. }) => p.connect(settings.connect_timeout),
        (None, _) => connect_any(&addrs, settings.connect_timeout),
    };
    let remote = match connected {
        Ok(remote) => remote,
        Err(e) => {
            let status = if e.kind() == io::ErrorKind::TimedOut
                || started.elapsed() >= settings.connect_timeout
            {
                504
            } else {
                502
            };
            let body = format!(
                "MCP Firewall allowed the connection from {} to {authority}, but connecting failed: {e}.\n",
                settings.server
            );
            finish_failed(shared, &request, &by, &reason, &format!("connecting failed: {e}"));
            let _ = answer(&mut stream, status, &body);
            return;
        }
    };
    let first_up = match (&request, &via) {
        (Request::Connect { .. }, _) => {
            if stream.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").is_err() {
                return finish_failed(shared, &request, &by, &reason, "the server went away");
            }
            rest
        }
        (Request::Http { head, .. }, None) => [head.as_slice(), &rest].concat(),
        (Request::Http { absolute_head, .. }, Some(p)) => {
            let mut h = absolute_head.clone();
            if let Some(auth) = p.authorization_header() {
                // Before the blank line that ends the head.
                let at = h.len() - 2;
                h.splice(at..at, auth.into_bytes());
            }
            [h.as_slice(), &rest].concat()
        }
    };
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    if let (Ok(client), Ok(remote)) = (stream.try_clone(), remote.try_clone()) {
        shared.relaying.lock().unwrap_or_else(|p| p.into_inner()).insert(id, (client, remote));
    }
    if shared.stopping.load(Ordering::SeqCst) {
        // The proxy stopped while this connection was being decided: it carries nothing.
        let _ = remote.shutdown(std::net::Shutdown::Both);
    }
    let counts = relay::relay(stream, remote, &first_up);
    shared.relaying.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
    let mut done = event(shared, Some(&request), Verdict::Allow, &by, reason);
    done.args_redacted = Some(recorded_args(&request, counts.up, counts.down));
    done.bytes = counts.up + counts.down;
    done.latency_us = Some(started.elapsed().as_micros().try_into().unwrap_or(u64::MAX));
    settings.recorder.record(done);
}

/// While a connection waits for its decision, watches whether the server hangs up (for a tunnel,
/// also a half-close: nothing can be sent before the tunnel opens), and sets `withdrawn` so a
/// question put to a person is withdrawn.
fn watch_hang_up(stream: &UnixStream, tunnel: bool, deciding: &Arc<AtomicBool>) -> Arc<AtomicBool> {
    use std::os::fd::AsRawFd;
    let withdrawn = Arc::new(AtomicBool::new(false));
    let Ok(watched) = stream.try_clone() else { return withdrawn };
    let flag = withdrawn.clone();
    let deciding = deciding.clone();
    let events = if tunnel { libc::POLLRDHUP } else { 0 };
    let _ = std::thread::Builder::new().name("egress-watch".into()).spawn(move || {
        while deciding.load(Ordering::Relaxed) {
            let mut fd = libc::pollfd {
                fd: watched.as_raw_fd(),
                events: events | libc::POLLHUP,
                revents: 0,
            };
            // SAFETY: one valid pollfd, owned by this frame; `watched` keeps the descriptor open.
            let n = unsafe { libc::poll(&mut fd, 1, 200) };
            if n > 0 && fd.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLRDHUP) != 0 {
                flag.store(true, Ordering::Relaxed);
                return;
            }
            if n < 0 && std::io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                return;
            }
        }
    });
    withdrawn
}

/// Records an allowed connection that never carried anything.
fn finish_failed(shared: &Shared, request: &Request, by: &DecidedBy, reason: &str, what: &str) {
    let mut event = event(shared, Some(request), Verdict::Allow, by, format!("{reason}; {what}"));
    event.args_redacted = Some(recorded_args(request, 0, 0));
    shared.settings.recorder.record(event);
}

fn connect_any(addrs: &[SocketAddr], timeout: Duration) -> io::Result<TcpStream> {
    let mut last = io::Error::other("no address to connect to");
    for addr in addrs {
        match TcpStream::connect_timeout(addr, timeout) {
            Ok(stream) => return Ok(stream),
            Err(e) => last = e,
        }
    }
    Err(last)
}
