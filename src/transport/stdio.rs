//! The stdio shim behind `mcpfw wrap`: the firewall stands where the client expects the server.
//!
//! One thread per direction reads frames in order, runs them through the pipeline and writes
//! them on; there is never a thread or task per message, so nothing is reordered. Blocking I/O on
//! dedicated threads is deliberate: the client's stdin/stdout are inherited descriptors that an
//! async runtime could only read through its blocking pool, with a thread hop per read.
//!
//! Lifecycle: the server's stderr passes straight through; when the server exits, the shim exits
//! with its code; when the client closes stdin, the server gets EOF, then SIGTERM after a grace
//! period, then SIGKILL. The server runs in its own process group so that the whole tree (`npx`
//! and the `node` it starts) is signalled, and it is always reaped. What these are on each
//! system (a job object and Ctrl+Break on Windows) is `crate::platform`'s.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::jsonrpc::{Frame, LineReader};
use crate::launch::ResolvedCommand;
use crate::pipeline::{Action, Pipeline, Settled};
use crate::platform::{self, ServerGroup, Signal};
use crate::session::Direction;

/// How the shim treats the server process.
#[derive(Debug, Clone)]
pub struct ShimOptions {
    /// Time the server gets after stdin EOF before SIGTERM, and after SIGTERM before SIGKILL.
    pub grace: Duration,
    /// The box the server runs in (`None`: unconfined).
    #[cfg(target_os = "linux")]
    pub containment: Option<crate::contain::shim::Boxing>,
}

impl Default for ShimOptions {
    fn default() -> Self {
        Self {
            grace: Duration::from_secs(2),
            #[cfg(target_os = "linux")]
            containment: None,
        }
    }
}

/// Things the supervisor reacts to.
#[derive(Debug)]
enum Lifecycle {
    ClientClosed,
    ClientGone,
    ServerClosedStdout,
    ServerExited(io::Result<ExitStatus>),
    Signal(Signal),
}

/// The client's side of the conversation: where replies to the client are written.
type ClientSink = Arc<Mutex<BufWriter<File>>>;

/// Starts the server and relays between this process's stdin/stdout and the server until the
/// server exits. Returns the exit code the shim should exit with.
pub fn run(
    pipeline: Arc<Pipeline>,
    command: &ResolvedCommand,
    options: &ShimOptions,
) -> Result<i32> {
    let (client_in, client_out) =
        mcpfw_core::platform::stdio_files().context("cannot use stdin and stdout")?;
    // Signals are caught before the server exists: a client's SIGTERM that arrives while the
    // server starts waits in the channel and is passed on, instead of ending the shim outright
    // and leaving the server without the shutdown it was asked for.
    let (events, lifecycle) = mpsc::channel();
    forward_signals(events.clone())?;
    #[cfg(target_os = "linux")]
    let spawned = Instant::now();
    let (mut child, started) = spawn(command, options)?;
    #[cfg(target_os = "linux")]
    if let (Some(boxing), Some(started)) = (&options.containment, started) {
        use crate::contain::shim;
        let mut report = shim::read_report(started, Duration::from_secs(10));
        report.setup_us = u64::try_from(spawned.elapsed().as_micros()).ok();
        shim::announce(&pipeline, boxing, &report);
        if report.refused {
            let _ = child.wait();
            pipeline.flush();
            return Ok(refuse(&pipeline, &shim::client_refusal(&pipeline, &report)));
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = started;
    let server_in = child.stdin.take().context("the server's stdin is not a pipe")?;
    let server_out = child.stdout.take().context("the server's stdout is not a pipe")?;
    let pid = child.id();
    let group = ServerGroup::adopt(&child);
    tracing::info!(server = pipeline.server(), pid, program = %command.program.display(), "server started");

    let client_sink: ClientSink =
        Arc::new(Mutex::new(BufWriter::with_capacity(64 * 1024, client_out)));
    // Written by the client's relay, by approval threads, and by the server's relay when it
    // declines a server's request for input for the person.
    let server_sink: ServerSink =
        Arc::new(Mutex::new(Some(BufWriter::with_capacity(64 * 1024, server_in))));
    let limit = pipeline.limits().max_message_bytes;

    let to_server = {
        let (pipeline, sink, events) = (pipeline.clone(), client_sink.clone(), events.clone());
        let server = server_sink.clone();
        thread::Builder::new().name("client-to-server".into()).spawn(move || {
            let reader = LineReader::new(client_in, limit);
            let outcome = relay_client_to_server(&pipeline, reader, server, &sink);
            let _ = events.send(outcome);
        })?
    };
    // The server's first message ends its package manager's phase: the registries the egress
    // proxy allowed while the package was fetched are no longer allowed by default.
    #[cfg(target_os = "linux")]
    let egress = options.containment.as_ref().and_then(|boxing| boxing.egress.clone());
    #[cfg(target_os = "linux")]
    let first_message: Option<Box<dyn FnOnce() + Send>> =
        egress.clone().map(|e| Box::new(move || e.end_launch_phase()) as Box<dyn FnOnce() + Send>);
    #[cfg(not(target_os = "linux"))]
    let first_message: Option<Box<dyn FnOnce() + Send>> = None;
    let to_client = {
        let (pipeline, sink, events) = (pipeline.clone(), client_sink.clone(), events.clone());
        let server = server_sink.clone();
        thread::Builder::new().name("server-to-client".into()).spawn(move || {
            let reader = LineReader::new(server_out, limit);
            let outcome = relay_server_to_client(&pipeline, reader, &sink, &server, first_message);
            let _ = events.send(outcome);
        })?
    };
    {
        let events = events.clone();
        thread::Builder::new().name("server-wait".into()).spawn(move || {
            let _ = events.send(Lifecycle::ServerExited(child.wait()));
        })?;
    }
    drop(events);

    let status = supervise(&group, &lifecycle, options.grace);
    // Let the server's last words reach the client, but never wait on a grandchild that keeps
    // the pipe open after the server itself is gone.
    let drained = Instant::now() + Duration::from_secs(2);
    while !to_client.is_finished() && Instant::now() < drained {
        thread::sleep(Duration::from_millis(5));
    }
    if let Ok(mut sink) = client_sink.lock() {
        let _ = sink.flush();
    }
    drop(to_server); // may be blocked reading the client's stdin; the process exit ends it
    group.signal(platform::TERM); // leftovers in the server's process group
    // Calls still waiting for approval can no longer run: withdraw them, and give their
    // threads a moment to record the outcome before the process ends.
    pipeline.withdraw_held();
    let settled = Instant::now() + Duration::from_secs(2);
    while APPROVALS_IN_FLIGHT.load(Ordering::Acquire) > 0 && Instant::now() < settled {
        thread::sleep(Duration::from_millis(10));
    }
    if APPROVALS_IN_FLIGHT.load(Ordering::Acquire) > 0 {
        tracing::warn!("calls waiting for approval were not settled before the shim ended");
    }
    // The server's connections end with it, and are recorded before the history is flushed.
    #[cfg(target_os = "linux")]
    if let Some(egress) = egress {
        egress.shutdown();
    }
    pipeline.flush();
    Ok(platform::exit_code(status))
}

#[cfg(target_os = "linux")]
type Started = Option<crate::contain::shim::Started>;
#[cfg(not(target_os = "linux"))]
type Started = Option<()>;

fn spawn(command: &ResolvedCommand, options: &ShimOptions) -> Result<(Child, Started)> {
    #[cfg(target_os = "linux")]
    let (mut cmd, started) = match &options.containment {
        Some(boxing) => {
            let (cmd, started) = boxing.command(&command.program, &command.args)?;
            (cmd, Some(started))
        }
        None => (Command::new(&command.program), None),
    };
    #[cfg(not(target_os = "linux"))]
    let (mut cmd, started) = (Command::new(&command.program), None);
    let _ = options;
    if started.is_none() {
        cmd.args(&command.args);
    }
    cmd.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::inherit());
    // The server gets nothing of the firewall's own configuration or secrets.
    for (key, _) in std::env::vars_os() {
        if key.to_str().is_some_and(|k| k.starts_with("MCPFW_")) {
            cmd.env_remove(key);
        }
    }
    if let Some(dir) = &command.prepend_path {
        let mut paths = vec![dir.clone()];
        paths.extend(std::env::var_os("PATH").iter().flat_map(std::env::split_paths));
        cmd.env("PATH", std::env::join_paths(paths).context("PATH holds an invalid entry")?);
    }
    #[cfg(target_os = "linux")]
    if let Some(started) = &started {
        // Removed with the rest of MCPFW_* above; the launcher needs it (and removes it).
        cmd.env(crate::contain::PLAN_ENV, started.plan());
    }
    ServerGroup::prepare(&mut cmd);
    let child = cmd
        .spawn()
        .with_context(|| format!("cannot start the server `{}`", command.program.display()))?;
    Ok((child, started))
}

/// The server's stdin, shared with the threads that forward approved calls. `None` once the
/// client has gone and the server was sent EOF.
type ServerSink = Arc<Mutex<Option<BufWriter<std::process::ChildStdin>>>>;

fn relay_client_to_server(
    pipeline: &Arc<Pipeline>,
    mut reader: LineReader<File>,
    server: ServerSink,
    client: &ClientSink,
) -> Lifecycle {
    loop {
        let written = match reader.next_frame() {
            Ok(None) => break,
            Ok(Some(frame)) => match pipeline.process(Direction::ClientToServer, &frame) {
                Action::Forward => match frame {
                    Frame::Line(line) => to_server(&server, line, true),
                    Frame::Oversized { .. } => Ok(()), // never forwarded; process() refuses it
                },
                Action::AnswerClient(answer) => {
                    if answer_client(client, &answer).is_err() {
                        return Lifecycle::ClientGone;
                    }
                    Ok(())
                }
                Action::Hold(held) => {
                    settle_off_thread(pipeline.clone(), *held, server.clone(), client.clone());
                    Ok(())
                }
                Action::AnswerServer(line) => to_server(&server, &line, true),
                Action::Drop => Ok(()),
            },
            Err(e) => {
                tracing::warn!(error = %e, "reading from the client failed");
                break;
            }
        };
        let flushed = written.and_then(|()| {
            if reader.has_buffered() {
                return Ok(());
            }
            match server.lock().unwrap_or_else(|p| p.into_inner()).as_mut() {
                Some(sink) => sink.flush(),
                None => Ok(()),
            }
        });
        if let Err(e) = flushed {
            // The server closed its stdin or died; its exit ends the session.
            tracing::warn!(error = %e, "the server stopped reading its input");
            return Lifecycle::ServerClosedStdout;
        }
    }
    pipeline.withdraw_held(); // the client is gone: nobody waits for its pending calls
    if let Some(mut server) = server.lock().unwrap_or_else(|p| p.into_inner()).take() {
        let _ = server.flush();
        // Dropped here: EOF for the server, the polite way to ask it to finish.
    }
    Lifecycle::ClientClosed
}

/// Writes one line to the server; flushes unless more input is already waiting (`more`).
fn to_server(server: &ServerSink, line: &[u8], more: bool) -> io::Result<()> {
    let mut guard = server.lock().unwrap_or_else(|p| p.into_inner());
    let Some(sink) = guard.as_mut() else {
        return Ok(());
    };
    write_line(sink, line)?;
    if more { Ok(()) } else { sink.flush() }
}

/// Approval threads that have not finished (settled, recorded and answered) yet.
static APPROVALS_IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

/// Asks the approver on a thread of its own (the relay goes on meanwhile), then forwards the
/// call or answers the client.
fn settle_off_thread(
    pipeline: Arc<Pipeline>,
    held: crate::pipeline::HeldCall,
    server: ServerSink,
    client: ClientSink,
) {
    APPROVALS_IN_FLIGHT.fetch_add(1, Ordering::AcqRel);
    let spawned = thread::Builder::new().name("approval".into()).spawn(move || {
        struct Done;
        impl Drop for Done {
            fn drop(&mut self) {
                APPROVALS_IN_FLIGHT.fetch_sub(1, Ordering::AcqRel);
            }
        }
        let _done = Done;
        // While a person decides, progress under the call's token keeps the client waiting
        // (clients time out after 60 s without it).
        let token = held.progress_token.clone();
        let progress_client = client.clone();
        let progress = move |waited: Duration| {
            if let Some(token) = &token {
                let line = super::waiting_progress(token, waited);
                let _ = answer_client(&progress_client, &line);
            }
        };
        match super::wait_for_person(&pipeline, held, progress) {
            Settled::Forward(line) => {
                if let Err(e) = to_server(&server, &line, false) {
                    tracing::warn!(error = %e, "an approved call could not be forwarded");
                }
            }
            Settled::AnswerClient(line) | Settled::ForwardToClient(line) => {
                let _ = answer_client(&client, &line);
            }
            Settled::AnswerServer(line) => {
                if let Err(e) = to_server(&server, &line, false) {
                    tracing::warn!(error = %e, "a declined request for input could not be answered");
                }
            }
            Settled::Nothing => {}
        }
    });
    if let Err(e) = spawned {
        APPROVALS_IN_FLIGHT.fetch_sub(1, Ordering::AcqRel);
        tracing::error!(error = %e, "cannot start an approval thread; the call stays unanswered");
    }
}

fn relay_server_to_client(
    pipeline: &Arc<Pipeline>,
    mut reader: LineReader<std::process::ChildStdout>,
    client: &ClientSink,
    server: &ServerSink,
    mut first_message: Option<Box<dyn FnOnce() + Send>>,
) -> Lifecycle {
    let pipe = mcpfw_core::platform::PipeToClient::default();
    loop {
        let frame = reader.next_frame();
        if let (Ok(Some(_)), Some(first)) = (&frame, first_message.take()) {
            first();
        }
        let written = match frame {
            Ok(None) => break,
            Err(e) => {
                tracing::warn!(error = %e, "reading from the server failed");
                break;
            }
            Ok(Some(frame)) => match pipeline.process(Direction::ServerToClient, &frame) {
                Action::Forward => match frame {
                    Frame::Line(line) => {
                        let mut sink = client.lock().unwrap_or_else(|p| p.into_inner());
                        pipe.before_write(sink.get_ref(), line.len());
                        write_line(&mut *sink, line)
                    }
                    Frame::Oversized { .. } => Ok(()),
                },
                Action::AnswerClient(answer) => answer_client(client, &answer),
                // A server's request for input, declined for the person.
                Action::AnswerServer(line) => {
                    if let Err(e) = to_server(server, &line, false) {
                        tracing::warn!(error = %e, "a declined request for input could not be answered");
                    }
                    Ok(())
                }
                // A request for input a person looks at first (the relay goes on meanwhile).
                Action::Hold(held) => {
                    settle_off_thread(pipeline.clone(), *held, server.clone(), client.clone());
                    Ok(())
                }
                Action::Drop => Ok(()),
            },
        };
        let flushed = written.and_then(|()| {
            if reader.has_buffered() {
                Ok(())
            } else {
                client.lock().unwrap_or_else(|p| p.into_inner()).flush()
            }
        });
        if flushed.is_err() {
            return Lifecycle::ClientGone;
        }
    }
    if let Ok(mut sink) = client.lock() {
        let _ = sink.flush();
    }
    Lifecycle::ServerClosedStdout
}

/// Writes `line` and its newline; a line larger than the buffer goes out in one `writev` with its
/// newline instead of two writes.
fn write_line(out: &mut impl Write, line: &[u8]) -> io::Result<()> {
    if line.len() < 16 * 1024 {
        out.write_all(line)?;
        return out.write_all(b"\n");
    }
    let mut slices = [io::IoSlice::new(line), io::IoSlice::new(b"\n")];
    let mut slices = &mut slices[..];
    while !slices.is_empty() {
        match out.write_vectored(slices) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => io::IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn answer_client(client: &ClientSink, answer: &[u8]) -> io::Result<()> {
    let mut sink = client.lock().unwrap_or_else(|p| p.into_inner());
    write_line(&mut *sink, answer)?;
    sink.flush()
}

fn forward_signals(events: mpsc::Sender<Lifecycle>) -> Result<()> {
    platform::catch_stop_requests(move |signal| events.send(Lifecycle::Signal(signal)).is_ok())
        .context("cannot install signal handlers")
}

/// Waits for the server to exit, ending it politely and then firmly when the client is gone.
fn supervise(
    group: &ServerGroup,
    lifecycle: &mpsc::Receiver<Lifecycle>,
    grace: Duration,
) -> Option<ExitStatus> {
    use platform::{KILL, QUIT, TERM};
    // The next escalation step and when it is due.
    let mut escalation: Option<(Instant, Signal)> = None;
    // Schedules `signal` unless an escalation is already due (a SIGKILL plan replaces a SIGTERM one).
    let escalate_from =
        |now: Instant, signal: Signal, escalation: &mut Option<(Instant, Signal)>| {
            if escalation.is_none_or(|(_, next)| signal == KILL && next == TERM) {
                *escalation = Some((now + grace, signal));
            }
        };
    loop {
        let event = match escalation {
            None => lifecycle.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some((due, _)) => lifecycle.recv_timeout(due.saturating_duration_since(Instant::now())),
        };
        let now = Instant::now();
        match event {
            Ok(Lifecycle::ServerExited(status)) => {
                return match status {
                    Ok(status) => {
                        tracing::info!(?status, "server exited");
                        Some(status)
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "cannot wait for the server");
                        None
                    }
                };
            }
            Ok(Lifecycle::ClientClosed | Lifecycle::ClientGone) => {
                tracing::info!("client disconnected; the server has received EOF");
                escalate_from(now, TERM, &mut escalation);
            }
            Ok(Lifecycle::ServerClosedStdout) => escalate_from(now, TERM, &mut escalation),
            Ok(Lifecycle::Signal(signal)) => {
                tracing::info!(signal, "forwarding signal to the server");
                group.signal(signal);
                if signal != QUIT {
                    escalate_from(now, KILL, &mut escalation);
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                if let Some((_, signal)) = escalation.take() {
                    tracing::warn!(signal, "the server did not exit in time; signalling it");
                    group.signal(signal);
                    if signal == TERM {
                        escalation = Some((now + grace, KILL));
                    }
                }
            }
            Err(RecvTimeoutError::Disconnected) => return None,
        }
    }
}

/// Containment refused to start the server: carried out as [`refuse_before_start`] says.
pub fn refuse(pipeline: &Pipeline, refusal: &crate::contain::StartRefusal) -> i32 {
    refuse_before_start(pipeline, refusal.code, &refusal.message, refusal.data.clone())
}

/// The server is not started: answers the client's first request with the error `code` and
/// `message` (and `data`), says it on stderr, and returns the shim's exit code.
pub fn refuse_before_start(
    pipeline: &Pipeline,
    code: i32,
    message: &str,
    data: serde_json::Value,
) -> i32 {
    let stdin = std::io::stdin();
    let mut reader = LineReader::new(stdin.lock(), pipeline.limits().max_message_bytes);
    let id = loop {
        match reader.next_frame() {
            Ok(Some(Frame::Line(line))) => {
                if let Ok(crate::jsonrpc::Decoded::Single(message)) = crate::jsonrpc::decode(line)
                    && let Some(id) = message.id()
                    && message.method().is_some()
                {
                    break Some(id.as_raw().to_owned());
                }
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => break None,
        }
    };
    if let Some(id) = id {
        let answer = serde_json::json!({
            "jsonrpc": "2.0",
            "id": serde_json::from_str::<serde_json::Value>(&id).unwrap_or(serde_json::Value::Null),
            "error": {"code": code, "message": message, "data": data},
        });
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{answer}");
        let _ = out.flush();
    }
    eprintln!("mcpfw: {message}");
    1
}
