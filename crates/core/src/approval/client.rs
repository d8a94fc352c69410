//! The two clients of the daemon's socket: a shim holding a call ([`ask`]) and an approver
//! ([`list`], [`decide`]). Blocking std I/O: shims have no async runtime.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::platform::channel::{self, DaemonStream};

use super::{Answer, ApprovalRequest, FromDaemon, Outcome, PauseState, Pending, Scope, ToDaemon};

/// How often a waiting shim reports that it is still waiting.
pub const WAITING_TICK: Duration = Duration::from_secs(5);

/// How long past the daemon's deadline a shim still waits for the daemon's own answer.
const ANSWER_MARGIN: Duration = Duration::from_secs(5);

/// Why a held call could not be put to a person.
#[derive(Debug, thiserror::Error)]
pub enum Unreachable {
    #[error("MCP Firewall is not running (no approver at {0})")]
    NotRunning(String),
    #[error("MCP Firewall stopped before anyone decided")]
    Stopped,
    #[error("the approval channel failed: {0}")]
    Broken(String),
}

fn send(stream: &mut DaemonStream, message: &ToDaemon) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(message).map_err(std::io::Error::other)?;
    line.push(b'\n');
    stream.write_all(&line)
}

/// Tells the daemon at `socket` that something was withheld from the client, on a thread of
/// its own (best effort: without a daemon, nobody is told but the history).
pub fn notice(socket: &Path, server: &str, tool: &str, reason: &str) {
    let socket = socket.to_owned();
    let message = ToDaemon::Notice {
        server: server.to_owned(),
        tool: tool.to_owned(),
        reason: reason.to_owned(),
    };
    let _ = std::thread::Builder::new().name("mcpfw-notice".into()).spawn(move || {
        if let Ok(mut stream) = channel::connect(&socket) {
            let _ = send(&mut stream, &message);
        }
    });
}

/// The client session of this process: its parent, skipping intermediate shells (`sh`,
/// `bash`, `dash`), by pid and start time. `None` where `/proc` cannot tell (not Linux, or the
/// parent is gone).
pub fn client_session() -> Option<super::ClientSession> {
    let mut pid = crate::platform::parent_pid()?;
    for _ in 0..8 {
        let stat = proc_stat(pid)?;
        if !matches!(stat.comm.as_str(), "sh" | "bash" | "dash") || stat.ppid <= 1 {
            return Some(super::ClientSession { pid, start: stat.start });
        }
        pid = stat.ppid;
    }
    None
}

/// The client session of the process at the other end of a loopback TCP connection (the HTTP
/// proxy's): the process whose socket has local address `peer` and remote address `local`,
/// found in `/proc/net/tcp{,6}` and among this user's processes' descriptors. So a client that
/// runs one server over stdio and another through the proxy is one session. `None` where
/// `/proc` cannot tell (not Linux, another user's process, the connection already closed).
pub fn client_session_of_peer(
    peer: std::net::SocketAddr,
    local: std::net::SocketAddr,
) -> Option<super::ClientSession> {
    let table = if peer.is_ipv4() { "/proc/net/tcp" } else { "/proc/net/tcp6" };
    let text = std::fs::read_to_string(table).ok()?;
    let inode = socket_inode(&text, peer, local)?;
    let wanted = format!("socket:[{inode}]");
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else { continue };
        let owns = fds.flatten().any(|fd| {
            std::fs::read_link(fd.path()).is_ok_and(|target| target.as_os_str() == wanted.as_str())
        });
        if owns {
            let stat = proc_stat(pid)?;
            return Some(super::ClientSession { pid, start: stat.start });
        }
    }
    None
}

/// The inode of the socket whose local address is `peer` and remote address `local`, in the
/// text of `/proc/net/tcp` or `/proc/net/tcp6`.
fn socket_inode(
    table: &str,
    peer: std::net::SocketAddr,
    local: std::net::SocketAddr,
) -> Option<u64> {
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_ascii_whitespace().collect();
        let (ours, theirs, inode) = (fields.get(1)?, fields.get(2)?, fields.get(9)?);
        (proc_net_addr(ours)? == peer && proc_net_addr(theirs)? == local)
            .then(|| inode.parse().ok())
            .flatten()
    })
}

/// An address as `/proc/net/tcp{,6}` writes it: the IP as hex 32-bit words in the kernel's
/// (little-endian) byte order, then `:` and the port in hex.
fn proc_net_addr(field: &str) -> Option<std::net::SocketAddr> {
    let (ip, port) = field.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let mut bytes = Vec::with_capacity(16);
    for word in 0..ip.len() / 8 {
        let w = u32::from_str_radix(ip.get(word * 8..word * 8 + 8)?, 16).ok()?;
        bytes.extend_from_slice(&w.to_le_bytes());
    }
    let ip = match bytes.len() {
        4 => std::net::IpAddr::from(<[u8; 4]>::try_from(bytes).ok()?),
        16 => {
            let v6 = std::net::Ipv6Addr::from(<[u8; 16]>::try_from(bytes).ok()?);
            // An IPv4 peer on a dual-stack listener shows as ::ffff:a.b.c.d.
            v6.to_ipv4_mapped().map_or(std::net::IpAddr::V6(v6), std::net::IpAddr::V4)
        }
        _ => return None,
    };
    Some(std::net::SocketAddr::new(ip, port))
}

/// Whether the client session's process still runs (the same pid with the same start time).
pub fn client_alive(client: &super::ClientSession) -> bool {
    proc_stat(client.pid).is_some_and(|s| s.start == client.start)
}

struct ProcStat {
    comm: String,
    ppid: u32,
    start: u64,
}

/// `/proc/PID/stat`: the command name (field 2), the parent (field 4) and the start time
/// (field 22). The name is in parentheses and may itself hold spaces and parentheses, so the
/// fields after it are counted from its last `)`.
fn proc_stat(pid: u32) -> Option<ProcStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&text)
}

fn parse_stat(text: &str) -> Option<ProcStat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_owned();
    let rest: Vec<&str> = text.get(close + 1..)?.split_ascii_whitespace().collect();
    // `rest[0]` is field 3 (the state): field N is `rest[N - 3]`.
    Some(ProcStat { comm, ppid: rest.get(1)?.parse().ok()?, start: rest.get(19)?.parse().ok()? })
}

/// A connection to the daemon at the first of `sockets` that answers (after the first, only
/// sockets owned by this user: a fallback is never someone else's).
fn connect_daemon(sockets: &[PathBuf]) -> Option<DaemonStream> {
    sockets.iter().enumerate().find_map(|(i, socket)| {
        (i == 0 || owned_socket(socket)).then(|| channel::connect(socket).ok()).flatten()
    })
}

/// Tells the daemon (at the first of `sockets` that answers) what a call of `client`'s session
/// took in, on a thread of its own (fire and forget: without a daemon, only this connection
/// remembers it).
pub fn report_took(
    sockets: Vec<PathBuf>,
    client: super::ClientSession,
    private: Option<super::Intake>,
    external: Option<super::Intake>,
    fragments: Vec<String>,
) {
    let message = ToDaemon::Took { client, private, external, fragments };
    let _ = std::thread::Builder::new().name("mcpfw-took".into()).spawn(move || {
        if let Some(mut stream) = connect_daemon(&sockets) {
            let _ = send(&mut stream, &message);
        }
    });
}

/// What `client`'s session has taken in, across its servers, as the daemon (at the first of
/// `sockets` that answers) knows it; `None` when it cannot tell within `timeout` (no daemon,
/// or a slow one).
pub fn session_taint(
    sockets: &[PathBuf],
    client: super::ClientSession,
    fragments: &[String],
    timeout: Duration,
) -> Option<super::SessionTaint> {
    let mut stream = connect_daemon(sockets)?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    stream.set_write_timeout(Some(timeout)).ok()?;
    send(&mut stream, &ToDaemon::Taint { client, fragments: fragments.to_vec() }).ok()?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).ok()?;
    match serde_json::from_str(line.trim_end()).ok()? {
        FromDaemon::Taint { taint } => Some(taint),
        _ => None,
    }
}

/// [`ask`] at the approver's socket, else at the first of its fallbacks where a daemon of this
/// user listens. When none answers, the error names every socket looked at.
pub fn ask_approver(
    approver: &super::ApproverConfig,
    request: ApprovalRequest,
    withdrawn: &AtomicBool,
    mut waiting: impl FnMut(Duration),
) -> Result<Answer, Unreachable> {
    let deadline = approver.timeout + ANSWER_MARGIN;
    let mut looked: Vec<String> = Vec::new();
    for (i, socket) in std::iter::once(&approver.socket).chain(&approver.fallbacks).enumerate() {
        let shown = socket.display().to_string();
        if looked.contains(&shown) {
            continue;
        }
        if i > 0 && !owned_socket(socket) {
            looked.push(shown);
            continue;
        }
        match ask(socket, request.clone(), withdrawn, deadline, &mut waiting) {
            Err(Unreachable::NotRunning(_)) => looked.push(shown),
            other => return other,
        }
    }
    Err(Unreachable::NotRunning(looked.join(" or ")))
}

/// Whether `socket` is a socket owned by this user (a fallback is never someone else's).
fn owned_socket(socket: &Path) -> bool {
    channel::owned_by_me(socket)
}

/// Puts `request` to the daemon at `socket` and waits for the answer. `withdrawn` is polled
/// while waiting: once set, the call is withdrawn. Gives up (refusing) at `deadline`.
pub fn ask(
    socket: &Path,
    request: ApprovalRequest,
    withdrawn: &AtomicBool,
    deadline: Duration,
    mut waiting: impl FnMut(Duration),
) -> Result<Answer, Unreachable> {
    let mut stream = channel::connect(socket)
        .map_err(|_| Unreachable::NotRunning(socket.display().to_string()))?;
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .map_err(|e| Unreachable::Broken(e.to_string()))?;
    send(&mut stream, &ToDaemon::Ask { request }).map_err(|_| Unreachable::Stopped)?;
    let mut reader =
        BufReader::new(stream.try_clone().map_err(|e| Unreachable::Broken(e.to_string()))?);
    let started = Instant::now();
    let mut give_up = started + deadline;
    let mut next_tick = started + WAITING_TICK;
    let mut id = None;
    let mut sent_withdraw = false;
    let mut line = String::new();
    loop {
        if let (Some(id), true, false) = (id, withdrawn.load(Ordering::Relaxed), sent_withdraw) {
            sent_withdraw = true;
            let _ = send(&mut stream, &ToDaemon::Withdraw { id });
        }
        if id.is_some() && Instant::now() >= next_tick {
            waiting(started.elapsed());
            next_tick += WAITING_TICK;
        }
        if Instant::now() >= give_up {
            return Ok(Answer {
                id: id.unwrap_or(0),
                outcome: Outcome::TimedOut,
                scope: Scope::Once,
                note: format!(
                    "nobody approved it within {} s",
                    give_up.saturating_duration_since(started).as_secs()
                ),
            });
        }
        match reader.read_line(&mut line) {
            Ok(0) => return Err(Unreachable::Stopped),
            Ok(_) => {
                let message: FromDaemon = serde_json::from_str(line.trim_end())
                    .map_err(|e| Unreachable::Broken(e.to_string()))?;
                line.clear();
                match message {
                    FromDaemon::Queued { id: queued, expires_in_ms } => {
                        id = Some(queued);
                        // The daemon's own deadline (its timeout may have been changed since
                        // this shim started), with a margin for its answer to arrive.
                        if let Some(ms) = expires_in_ms {
                            give_up = Instant::now() + Duration::from_millis(ms) + ANSWER_MARGIN;
                        }
                    }
                    FromDaemon::Decided { answer } => return Ok(answer),
                    FromDaemon::Error { message } => return Err(Unreachable::Broken(message)),
                    _ => {}
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return Err(Unreachable::Stopped),
        }
    }
}

/// Why a request to the approval daemon failed.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error(
        "MCP Firewall is not running (nothing listens at {}); start it with `mcpfw daemon`",
        socket.display()
    )]
    NotRunning { socket: PathBuf, source: std::io::Error },
    #[error("cannot talk to MCP Firewall: {0}")]
    Io(#[from] std::io::Error),
    #[error("MCP Firewall closed the connection without answering")]
    Closed,
    #[error("MCP Firewall's answer cannot be read: {0}")]
    Unreadable(#[from] serde_json::Error),
    /// The daemon refused the request and said why.
    #[error("{0}")]
    Refused(String),
    #[error("unexpected answer from MCP Firewall: {0}")]
    Unexpected(String),
}

impl RequestError {
    fn from_answer(answer: FromDaemon) -> Self {
        match answer {
            FromDaemon::Error { message } => Self::Refused(message),
            other => Self::Unexpected(format!("{other:?}")),
        }
    }
}

fn approver_request(socket: &Path, message: &ToDaemon) -> Result<FromDaemon, RequestError> {
    let mut stream = channel::connect(socket)
        .map_err(|source| RequestError::NotRunning { socket: socket.to_path_buf(), source })?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    send(&mut stream, message)?;
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line)?;
    if line.is_empty() {
        return Err(RequestError::Closed);
    }
    Ok(serde_json::from_str(line.trim_end())?)
}

/// The pending calls.
pub fn list(socket: &Path, token: &str) -> Result<Vec<Pending>, RequestError> {
    match approver_request(socket, &ToDaemon::List { token: token.to_owned() })? {
        FromDaemon::Pending { calls } => Ok(calls),
        other => Err(RequestError::from_answer(other)),
    }
}

/// Decides one pending call.
/// What a decision did: answered the call, or took the first of two steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecideOutcome {
    Done,
    /// Confirm `fact` with a second decision (after `armed_in_ms`).
    Confirm {
        fact: String,
        armed_in_ms: u64,
    },
}

/// Decides one pending call (`confirm`: the second step of a two-step approval).
pub fn decide(
    socket: &Path,
    token: &str,
    id: u64,
    allow: bool,
    scope: Scope,
    confirm: bool,
) -> Result<DecideOutcome, RequestError> {
    match approver_request(
        socket,
        &ToDaemon::Decide { token: token.to_owned(), id, allow, scope, confirm },
    )? {
        FromDaemon::Done => Ok(DecideOutcome::Done),
        FromDaemon::Confirm { fact, armed_in_ms } => {
            Ok(DecideOutcome::Confirm { fact, armed_in_ms })
        }
        other => Err(RequestError::from_answer(other)),
    }
}

/// Pauses protection (`Some(minutes)`, or until resumed), resumes it (`Resume`), or asks
/// whether it is paused (`PauseStatus`); the answer is the pause in effect afterwards.
pub fn pause_request(
    socket: &Path,
    message: &ToDaemon,
) -> Result<Option<PauseState>, RequestError> {
    match approver_request(socket, message)? {
        FromDaemon::Paused { pause } => Ok(pause),
        other => Err(RequestError::from_answer(other)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_peer_of_a_loopback_connection_is_this_process() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let local = listener.local_addr().unwrap();
        let client = std::net::TcpStream::connect(local).unwrap();
        let (_server_side, peer) = listener.accept().unwrap();
        assert_eq!(client.local_addr().unwrap(), peer);
        let me = client_session_of_peer(peer, local).expect("found in /proc");
        assert_eq!(me.pid, std::process::id());
        // An address nobody holds.
        let nobody = "127.0.0.1:1".parse().unwrap();
        assert_eq!(client_session_of_peer(nobody, local), None);
    }

    #[test]
    fn proc_net_addresses_parse() {
        assert_eq!(proc_net_addr("0100007F:1F90"), Some("127.0.0.1:8080".parse().unwrap()));
        assert_eq!(
            proc_net_addr("00000000000000000000000001000000:0050"),
            Some("[::1]:80".parse().unwrap())
        );
        assert_eq!(
            proc_net_addr("0000000000000000FFFF00000100007F:0050"),
            Some("127.0.0.1:80".parse().unwrap())
        );
        for bad in ["", "zz:1", "0100007F", "0100007F:zz", "0100:0050"] {
            assert_eq!(proc_net_addr(bad), None, "{bad}");
        }
    }

    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_last_parenthesis() {
        let line = "4242 (my (odd) client) S 17 4242 4242 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0                     987654 1000 10";
        let stat = parse_stat(line).unwrap();
        assert_eq!(stat.comm, "my (odd) client");
        assert_eq!(stat.ppid, 17);
        assert_eq!(stat.start, 987654);
        assert!(parse_stat("12 (x) S").is_none());
        assert!(parse_stat("garbage").is_none());
    }

    #[test]
    fn this_process_has_a_client_session_that_is_alive() {
        let client = client_session().expect("a parent on Linux");
        assert!(client_alive(&client));
        assert!(!client_alive(&crate::approval::ClientSession {
            start: client.start + 1,
            ..client
        }));
    }
}
