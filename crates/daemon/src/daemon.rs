//! `mcpfw daemon`: the approval broker behind a Unix socket (a named pipe on Windows).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use crate::approval::broker::{ApprovalBroker, Decided};
use crate::approval::{FromDaemon, ToDaemon, api_file, socket_path};
use crate::paths::Paths;

/// The longest line the daemon reads from a peer.
const MAX_LINE: usize = 1024 * 1024;

/// Why the daemon cannot start or run.
#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// Another daemon answers on the socket.
    #[error(transparent)]
    AlreadyRunning(#[from] AlreadyRunning),
    /// The runtime folder cannot be created.
    #[error(transparent)]
    Folder(#[from] crate::paths::PathsError),
    #[error(transparent)]
    Token(#[from] crate::approval::token::TokenError),
    /// The history's chain key cannot be had.
    #[error(transparent)]
    Key(#[from] crate::store::KeyError),
    /// The socket or the HTTP API's port cannot be listened on (`on` says which).
    #[error("cannot listen on {on}")]
    Listen {
        on: String,
        #[source]
        source: std::io::Error,
    },
    /// `api.json` cannot be written.
    #[error("cannot create {}", path.display())]
    ApiFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The runtime, a listener's address, or the wait for the stop signal failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Writes a file readable by the owner only (replacing any old one).
fn write_private(path: &std::path::Path, text: &str) -> Result<(), DaemonError> {
    crate::store::keys::write_private_file(path, text.as_bytes())
        .map_err(|source| DaemonError::ApiFile { path: path.to_owned(), source })
}

/// How `mcpfw daemon` (or the desktop app hosting it) runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// `--timeout`: how long a call waits for a decision before it is refused, for this run
    /// (`None`: `approval_timeout_s` in policy.toml, else the default). Changing the timeout on
    /// the dashboard replaces it.
    pub timeout: Option<Duration>,
    /// Port of the loopback HTTP API (0: any free port).
    pub http_port: u16,
    /// `false` (`--no-notify`): no desktop notifications until they are turned on on the
    /// dashboard; `true`: as `notifications` in policy.toml says.
    pub notify: bool,
    /// The built dashboard served at `/`.
    pub ui_dir: PathBuf,
    /// The host's start-at-login switch (the desktop app's; `None` for `mcpfw daemon`).
    pub autostart: Option<Arc<dyn crate::api::settings::Autostart>>,
}

/// Another daemon (`mcpfw daemon`, or the desktop app) already answers on the socket.
#[derive(Debug, thiserror::Error)]
#[error("MCP Firewall is already running ({})", socket.display())]
pub struct AlreadyRunning {
    pub socket: PathBuf,
}

/// A running daemon: the broker, the socket and the HTTP API, served by tasks on the runtime it
/// was started on. [`Daemon::stop`] ends them and removes the socket and `api.json`; dropping
/// the runtime ends them too (and every waiting call is then refused by its shim).
pub struct Daemon {
    broker: Arc<ApprovalBroker>,
    token: Arc<String>,
    url: String,
    socket: PathBuf,
    api_file: PathBuf,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// Stopped (after a last bounded pass) when the daemon is dropped.
    _replicator: Option<crate::store::postgres::Replicator>,
    /// OpenTelemetry export of the HTTP proxy's events, when configured.
    telemetry: Option<Arc<crate::telemetry::OtlpRecorder>>,
}

/// Starts the daemon's tasks on `runtime` and returns once the socket and the HTTP API listen.
///
/// Blocking: it reads the approver token and the history's key (the OS keyring is a D-Bus round
/// trip) on the calling thread, which must not be one of the runtime's. `http_port` 0 picks a
/// free port; the address is written to `api.json` in the runtime folder. Fails with
/// [`AlreadyRunning`] when another daemon answers on the socket.
pub fn start(
    paths: &Paths,
    options: Options,
    runtime: &tokio::runtime::Handle,
) -> Result<Daemon, DaemonError> {
    let Options { timeout, http_port, notify, ui_dir, autostart } = options;
    let startup = crate::api::settings::startup(paths, timeout, notify);
    let timeout = startup.timeout;
    Paths::ensure(&paths.runtime)?;
    let socket = socket_path(paths);
    if mcpfw_core::platform::channel::connect(&socket).is_ok() {
        return Err(AlreadyRunning { socket }.into());
    }
    let token = Arc::new(crate::approval::token::load_or_create(paths)?.0);
    // The keyring is read here, on a plain thread, before anything runs on the runtime.
    let key = crate::store::load_or_create_chain_key(paths)?.0;
    let db = crate::store::db_path(paths);
    // Replication to PostgreSQL on a thread of its own (one process per machine replicates at a
    // time; the daemon, being long-lived, usually holds the lock). Lives as long as the process.
    let inputs = crate::compose::PolicyInputs::with_rules(paths, Vec::new());
    let replicator = crate::compose::replicator(paths, inputs.postgres_url(), key.clone());
    // OpenTelemetry export of the proxy's traffic, if configured (a thread of its own).
    let telemetry = crate::compose::telemetry(&inputs, crate::telemetry::Transport::Tcp);
    // The HTTP proxy records on a writer thread of its own, started here off the runtime.
    let proxy_recorder = match crate::store::StoreRecorder::start(&db, key.clone()) {
        Ok(recorder) => {
            let mut recorders: Vec<Box<dyn crate::record::Recorder>> = vec![Box::new(recorder)];
            if let Some(telemetry) = &telemetry {
                recorders.push(Box::new(telemetry.clone()));
            }
            Some(Arc::new(crate::record::Fanout(recorders)) as Arc<dyn crate::record::Recorder>)
        }
        Err(e) => {
            tracing::error!(
                "the HTTP proxy is not served: the history cannot be opened: {}",
                crate::text::error_chain(&e)
            );
            None
        }
    };
    let _ = std::fs::remove_file(&socket); // a stale socket from a daemon that died
    let paths = paths.clone();
    runtime.block_on(async move {
        let mut listener = crate::platform::Listener::bind(&socket)
            .map_err(|source| DaemonError::Listen { on: socket.display().to_string(), source })?;
        tracing::info!(socket = %socket.display(), timeout_s = timeout.as_secs(), "approval daemon listening");
        let broker = Arc::new(ApprovalBroker::new(timeout));
        let settings =
            Arc::new(crate::api::settings::Live::new(broker.clone(), &startup, autostart));
        // Always following the broker: notifications can be turned on from the dashboard.
        crate::approval::notify::spawn(broker.subscribe(), settings.notifications());
        let http = tokio::net::TcpListener::bind(("127.0.0.1", http_port))
            .await
            .map_err(|source| DaemonError::Listen { on: format!("127.0.0.1:{http_port}"), source })?;
        let url = format!("http://{}", http.local_addr()?);
        let api_file = api_file(&paths);
        write_private(&api_file, &serde_json::json!({ "url": url }).to_string())?;
        let store = match crate::store::Store::open(&db, key).await {
            Ok(store) => Some(store),
            Err(e) => {
                tracing::error!("the history is not available in the API: {}", crate::text::error_chain(&e));
                None
            }
        };
        // Servers added to, or protected entries changed in, the clients' files are reported.
        crate::install::watch::spawn(paths.clone(), broker.clone(), store.clone());
        let proxy_store = store.clone();
        let mut tasks = Vec::new();
        // The organisation policy, fetched now and on its schedule; shims and the proxy read
        // the last good one from the cache, so nothing waits for this.
        tasks.push(crate::org::spawn_refresh(paths.clone()));
        if let Some(store) = store.clone() {
            // The retention setting, applied once a day (each `mcpfw wrap` applies it at start).
            tasks.push(tokio::spawn(crate::api::settings::keep_pruning(paths.clone(), store)));
        }
        let config = crate::api::router::HttpApi {
            broker: broker.clone(),
            token: token.clone(),
            store,
            paths: paths.clone(),
            ui_dir,
            settings,
        };
        tasks.push(tokio::spawn(async move {
            if let Err(e) = crate::api::router::serve(http, config).await {
                tracing::error!("the HTTP API stopped: {e}");
            }
        }));
        if let (Some(recorder), Some(store)) = (proxy_recorder, proxy_store)
            && let Some(task) = start_proxy(&paths, recorder, store, timeout).await
        {
            tasks.push(task);
        }
        {
            let broker = broker.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    broker.expire().await;
                }
            }));
        }
        {
            let (broker, token) = (broker.clone(), token.clone());
            tasks.push(tokio::spawn(async move {
                loop {
                    match listener.accept().await {
                        Ok((stream, pid)) => {
                            let (broker, token) = (broker.clone(), token.clone());
                            tokio::spawn(async move {
                                if let Err(e) = serve(stream, pid, broker, token).await {
                                    tracing::warn!("approval connection: {}", crate::text::error_chain(&e));
                                }
                            });
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                            tracing::warn!("approval connection: {e}");
                        }
                        Err(e) => {
                            // Out of descriptors, say: wait instead of spinning.
                            tracing::warn!("cannot accept an approval connection: {e}");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                    }
                }
            }));
        }
        Ok(Daemon {
            broker,
            token,
            url,
            socket,
            api_file,
            tasks,
            _replicator: replicator,
            telemetry,
        })
    })
}

/// Serves the HTTP proxy on its loopback port; `None` (and the reason logged) when it cannot.
async fn start_proxy(
    paths: &Paths,
    recorder: Arc<dyn crate::record::Recorder>,
    store: crate::store::Store,
    timeout: Duration,
) -> Option<tokio::task::JoinHandle<()>> {
    use crate::proxy::registry;
    let port = match registry::load(paths).and_then(|r| registry::port(&r)) {
        Ok(port) => port,
        Err(e) => {
            tracing::error!("the HTTP proxy is not served: {}", crate::text::error_chain(&e));
            return None;
        }
    };
    let listener = match tokio::net::TcpListener::bind(("127.0.0.1", port)).await {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!(
                "the HTTP proxy is not served: cannot listen on 127.0.0.1:{port}: {e} (set \
                 another port with {})",
                registry::PORT_ENV
            );
            return None;
        }
    };
    tracing::info!(port, "HTTP proxy listening");
    let config = crate::proxy::ProxyConfig {
        paths: paths.clone(),
        store,
        recorder,
        approver: crate::pipeline::ApproverConfig {
            socket: socket_path(paths),
            fallbacks: Vec::new(),
            timeout,
        },
        limits: crate::proxy::server::ProxyLimits::default(),
    };
    Some(tokio::spawn(async move {
        if let Err(e) = crate::proxy::serve(listener, config).await {
            tracing::error!("the HTTP proxy stopped: {}", crate::text::error_chain(&e));
        }
    }))
}

impl Daemon {
    /// The pending calls and their live events (`pending`, `settled`).
    pub fn broker(&self) -> &Arc<ApprovalBroker> {
        &self.broker
    }

    /// The HTTP API's base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The approval socket.
    pub fn socket(&self) -> &std::path::Path {
        &self.socket
    }

    /// What mints one-time sign-in links for this daemon's dashboard (cheap to clone and move
    /// into tasks).
    pub fn sign_in(&self) -> SignIn {
        SignIn { url: self.url.clone(), token: self.token.clone() }
    }

    /// Stops listening, ends the daemon's tasks and removes the socket and `api.json`.
    /// Connections already accepted end when the runtime is dropped.
    pub fn stop(self) {
        for task in &self.tasks {
            task.abort();
        }
        let _ = std::fs::remove_file(&self.socket);
        let _ = std::fs::remove_file(&self.api_file);
        // The proxy's last events go to the collector, for a short while.
        if let Some(telemetry) = &self.telemetry {
            telemetry.finish(crate::compose::TELEMETRY_FINISH);
        }
    }
}

/// Mints one-time sign-in links (`<url>/login?code=…`, valid once for 60 s) by presenting the
/// approver token to the daemon's API over loopback; the token itself never leaves this process.
#[derive(Clone)]
pub struct SignIn {
    url: String,
    token: Arc<String>,
}

impl SignIn {
    /// The API's base URL, `http://127.0.0.1:PORT`.
    pub fn origin(&self) -> &str {
        &self.url
    }

    /// A fresh one-time sign-in link.
    pub async fn link(&self) -> Result<String, SignInError> {
        let address = self.url.trim_start_matches("http://");
        let exchange = async {
            let mut stream = tokio::net::TcpStream::connect(address).await?;
            let request = format!(
                "POST /api/v1/login-codes HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
                 Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}",
                self.token
            );
            stream.write_all(request.as_bytes()).await?;
            let mut response = Vec::new();
            tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut response).await?;
            Ok::<_, std::io::Error>(response)
        };
        let response = tokio::time::timeout(Duration::from_secs(10), exchange)
            .await
            .map_err(|_| SignInError::Timeout)??;
        let response = String::from_utf8_lossy(&response);
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        if head.split_whitespace().nth(1) != Some("200") {
            let status = head.lines().next().unwrap_or("").to_owned();
            return Err(SignInError::Refused { status });
        }
        let answer: serde_json::Value = serde_json::from_str(body).map_err(SignInError::NotJson)?;
        let path = answer["path"].as_str().ok_or(SignInError::NoPath)?;
        Ok(format!("{}{path}", self.url))
    }
}

/// Why a sign-in link could not be had from the API.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("cannot reach the API")]
    Io(#[from] std::io::Error),
    #[error("the API did not answer within 10 s")]
    Timeout,
    #[error("the API refused to issue a sign-in code: {status}")]
    Refused { status: String },
    #[error("the API's answer is not JSON")]
    NotJson(#[source] serde_json::Error),
    #[error("the API's answer has no path")]
    NoPath,
}

/// Why an approval connection ended early.
#[derive(Debug, thiserror::Error)]
enum ConnectionError {
    #[error("refused a connection from inside a server's box: {why}")]
    FromBox { why: String },
    #[error("a request of {bytes} bytes is over the limit")]
    TooLong { bytes: usize },
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Runs `mcpfw daemon` until it is asked to stop (SIGINT/SIGTERM; on Windows Ctrl+C, the
/// console closing, logoff or shutdown).
pub fn run(paths: &Paths, options: Options) -> Result<i32, DaemonError> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let daemon = start(paths, options, runtime.handle())?;
    eprintln!("MCP Firewall is running; approvals on {}", daemon.socket().display());
    eprintln!("MCP Firewall's API is at {}", daemon.url());
    let waited = runtime.block_on(crate::platform::stop_requested());
    daemon.stop();
    drop(runtime);
    waited?;
    Ok(0)
}

/// One approval connection, whose peer `pid` runs as this user (the listener checked).
async fn serve(
    stream: crate::platform::Stream,
    pid: Option<i32>,
    broker: Arc<ApprovalBroker>,
    token: Arc<String>,
) -> Result<(), ConnectionError> {
    // Not from inside a server's box, whatever it managed to reach.
    if let Err(why) = mcpfw_core::containment::peer_outside_box(pid) {
        return Err(ConnectionError::FromBox { why });
    }
    let (read, mut write) = tokio::io::split(stream);
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<FromDaemon>();
    let writer = tokio::spawn(async move {
        while let Some(message) = out_rx.recv().await {
            let mut line = serde_json::to_vec(&message).unwrap_or_default();
            line.push(b'\n');
            if write.write_all(&line).await.is_err() {
                break;
            }
        }
    });
    let mut reader = BufReader::new(read);
    // The (call id, waiter) tickets this connection holds.
    let mut asked: Vec<(u64, u64)> = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        let n = reader.read_line(&mut line).await?;
        if n == 0 {
            break;
        }
        if line.len() > MAX_LINE {
            return Err(ConnectionError::TooLong { bytes: line.len() });
        }
        let message = match serde_json::from_str::<ToDaemon>(line.trim_end()) {
            Ok(message) => message,
            Err(e) => {
                let _ = out_tx.send(FromDaemon::Error { message: format!("bad request: {e}") });
                continue;
            }
        };
        match message {
            ToDaemon::Ask { request } => {
                tracing::warn!(server = %request.server, tool = %request.tool, "approval needed: {}", request.reason);
                let crate::approval::broker::Ticket { id, waiter, answer, expires_in } =
                    broker.ask(request).await;
                asked.push((id, waiter));
                let expires_in_ms = expires_in.map(|d| d.as_millis() as u64);
                let _ = out_tx.send(FromDaemon::Queued { id, expires_in_ms });
                let out = out_tx.clone();
                tokio::spawn(async move {
                    if let Ok(answer) = answer.await {
                        let _ = out.send(FromDaemon::Decided { answer });
                    }
                });
            }
            ToDaemon::Notice { server, tool, reason } => broker.notice(&server, &tool, &reason),
            ToDaemon::Took { client, private, external, fragments } => {
                broker.took(client, private, external, fragments)
            }
            ToDaemon::Taint { client, fragments } => {
                let taint = broker.taint(&client, &fragments);
                let _ = out_tx.send(FromDaemon::Taint { taint });
            }
            ToDaemon::Withdraw { id } => {
                for (_, waiter) in asked.iter().filter(|(asked_id, _)| *asked_id == id) {
                    broker.withdraw(id, *waiter).await;
                }
            }
            ToDaemon::List { token: given } => {
                let reply = if crate::approval::same_secret(given.as_bytes(), token.as_bytes()) {
                    FromDaemon::Pending { calls: broker.pending().await }
                } else {
                    FromDaemon::Error { message: "not authorised: wrong approver token".into() }
                };
                let _ = out_tx.send(reply);
            }
            ToDaemon::Decide { token: given, id, allow, scope, confirm } => {
                let reply = if !crate::approval::same_secret(given.as_bytes(), token.as_bytes()) {
                    FromDaemon::Error { message: "not authorised: wrong approver token".into() }
                } else {
                    match broker.decide(id, allow, scope, confirm).await {
                        Decided::Done => FromDaemon::Done,
                        Decided::NeedsConfirmation { fact, armed_in } => {
                            FromDaemon::Confirm { fact, armed_in_ms: armed_in.as_millis() as u64 }
                        }
                        Decided::NotArmed { fact, wait } => FromDaemon::Error {
                            message: format!(
                                "not confirmed: \"{fact}\" needs its first step, then a confirmation at least {} ms later",
                                wait.as_millis()
                            ),
                        },
                        Decided::Unknown => FromDaemon::Error {
                            message: format!(
                                "no pending call {id} (already decided, withdrawn or timed out)"
                            ),
                        },
                    }
                };
                let _ = out_tx.send(reply);
            }
            ToDaemon::Pause { token: given, .. }
            | ToDaemon::Resume { token: given }
            | ToDaemon::PauseStatus { token: given }
                if !crate::approval::same_secret(given.as_bytes(), token.as_bytes()) =>
            {
                let _ = out_tx.send(FromDaemon::Error {
                    message: "not authorised: wrong approver token".into(),
                });
            }
            ToDaemon::Pause { minutes, .. } => {
                let reply = match broker.pause(minutes).await {
                    Ok(pause) => FromDaemon::Paused { pause: Some(pause) },
                    Err(e) => FromDaemon::Error { message: e.to_string() },
                };
                let _ = out_tx.send(reply);
            }
            ToDaemon::Resume { .. } => {
                broker.resume().await;
                let _ = out_tx.send(FromDaemon::Paused { pause: None });
            }
            ToDaemon::PauseStatus { .. } => {
                let _ = out_tx.send(FromDaemon::Paused { pause: broker.pause_state().await });
            }
        }
    }
    // The shim went away: its pending calls are withdrawn.
    broker.withdraw_all(&asked).await;
    drop(out_tx);
    let _ = writer.await;
    Ok(())
}
