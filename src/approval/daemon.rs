//! `mcpfw daemon`: the approval broker behind a Unix socket.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;

use super::broker::{ApprovalBroker, Decided};
use super::{FromDaemon, ToDaemon, api_file, socket_path};
use crate::paths::Paths;

/// The longest line the daemon reads from a peer.
const MAX_LINE: usize = 1024 * 1024;

/// Writes a file readable by the owner only (replacing any old one).
fn write_private(path: &std::path::Path, text: &str) -> Result<()> {
    crate::store::keys::write_private_file(path, text.as_bytes())
        .with_context(|| format!("cannot create {}", path.display()))
}

/// Runs the daemon until SIGINT/SIGTERM.
/// `http_port` 0 picks a free port; the address is written to `api.json` in the runtime folder.
/// How `mcpfw daemon` runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long a call waits for a decision before it is refused.
    pub timeout: Duration,
    /// Port of the loopback HTTP API (0: any free port).
    pub http_port: u16,
    /// Whether waiting calls are announced with desktop notifications.
    pub notify: bool,
    /// The built dashboard served at `/`.
    pub ui_dir: PathBuf,
}

pub fn run(paths: &Paths, options: Options) -> Result<i32> {
    let Options { timeout, http_port, notify, ui_dir } = options;
    let token = super::token::load_or_create(paths)?.0;
    // The keyring is read here, on a plain thread, before the runtime exists.
    let key = crate::store::load_or_create_chain_key(paths)?.0;
    let db = crate::store::db_path(paths);
    Paths::ensure(&paths.runtime)?;
    let socket = socket_path(paths);
    if std::os::unix::net::UnixStream::connect(&socket).is_ok() {
        bail!("MCP Firewall is already running ({})", socket.display());
    }
    let _ = std::fs::remove_file(&socket); // a stale socket from a daemon that died
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    runtime.block_on(async move {
        let listener = UnixListener::bind(&socket).with_context(|| format!("cannot listen on {}", socket.display()))?;
        std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600))?;
        tracing::info!(socket = %socket.display(), timeout_s = timeout.as_secs(), "approval daemon listening");
        eprintln!("MCP Firewall is running; approvals on {}", socket.display());
        let broker = Arc::new(ApprovalBroker::new(timeout));
        if notify {
            super::notify::spawn(broker.subscribe());
        }
        let token = Arc::new(token);
        let http = tokio::net::TcpListener::bind(("127.0.0.1", http_port))
            .await
            .with_context(|| format!("cannot listen on 127.0.0.1:{http_port}"))?;
        let url = format!("http://{}", http.local_addr()?);
        write_private(&api_file(paths), &serde_json::json!({ "url": url }).to_string())?;
        eprintln!("MCP Firewall's API is at {url}");
        let store = match crate::store::Store::open(&db, key).await {
            Ok(store) => Some(store),
            Err(e) => {
                tracing::error!("the history is not available in the API: {e:#}");
                None
            }
        };
        {
            let config = super::http::HttpApi {
                broker: broker.clone(),
                token: token.clone(),
                store,
                paths: paths.clone(),
                ui_dir,
                timeout,
            };
            tokio::spawn(async move {
                if let Err(e) = super::http::serve(http, config).await {
                    tracing::error!("the HTTP API stopped: {e}");
                }
            });
        }
        {
            let broker = broker.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    broker.expire().await;
                }
            });
        }
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let (stream, _) = accepted?;
                    let (broker, token) = (broker.clone(), token.clone());
                    tokio::spawn(async move {
                        if let Err(e) = serve(stream, broker, token).await {
                            tracing::warn!("approval connection: {e:#}");
                        }
                    });
                }
                _ = tokio::signal::ctrl_c() => break,
                _ = terminate.recv() => break,
            }
        }
        let _ = std::fs::remove_file(&socket);
        let _ = std::fs::remove_file(api_file(paths));
        Ok(0)
    })
}

async fn serve(stream: UnixStream, broker: Arc<ApprovalBroker>, token: Arc<String>) -> Result<()> {
    // Same user only (the socket is 0600 too).
    let peer = stream.peer_cred()?;
    // SAFETY: getuid(2) has no preconditions.
    if peer.uid() != unsafe { libc::getuid() } {
        bail!("refused a connection from another user (uid {})", peer.uid());
    }
    let (read, mut write) = stream.into_split();
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
            bail!("a request of {} bytes is over the limit", line.len());
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
                let super::broker::Ticket { id, waiter, answer } = broker.ask(request).await;
                asked.push((id, waiter));
                let _ = out_tx.send(FromDaemon::Queued { id });
                let out = out_tx.clone();
                tokio::spawn(async move {
                    if let Ok(answer) = answer.await {
                        let _ = out.send(FromDaemon::Decided { answer });
                    }
                });
            }
            ToDaemon::Withdraw { id } => {
                for (_, waiter) in asked.iter().filter(|(asked_id, _)| *asked_id == id) {
                    broker.withdraw(id, *waiter).await;
                }
            }
            ToDaemon::List { token: given } => {
                let reply = if super::same_secret(given.as_bytes(), token.as_bytes()) {
                    FromDaemon::Pending { calls: broker.pending().await }
                } else {
                    FromDaemon::Error { message: "not authorised: wrong approver token".into() }
                };
                let _ = out_tx.send(reply);
            }
            ToDaemon::Decide { token: given, id, allow, scope, confirm } => {
                let reply = if !super::same_secret(given.as_bytes(), token.as_bytes()) {
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
        }
    }
    // The shim went away: its pending calls are withdrawn.
    broker.withdraw_all(&asked).await;
    drop(out_tx);
    let _ = writer.await;
    Ok(())
}
