//! Effects: what a stage wants done beyond the frame at hand — telling the person about a
//! withheld tool, hashing the server's files — returned as values and carried out by an
//! [`Effects`] runner, so that no stage touches a socket or a file itself and the stages can be
//! tested without processes (a test collects the effects instead of running them).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::approval::{ClientSession, Intake, SessionTaint};

use crate::record::{Event, EventKind, Recorder};

/// Something a stage asks to be done off the relay's critical path.
#[derive(Debug)]
pub enum Effect {
    /// Tell the person, through the approval daemon at `socket`, that `tool` is withheld.
    Notice { socket: PathBuf, server: String, tool: String, reason: String },
    /// Compare the server's identity with the one it was first seen with.
    CheckIdentity(Box<IdentityCheck>),
    /// Tell the daemon (at the first of `sockets` that answers) what a call of `client`'s
    /// session took in (its shared data-flow state).
    Took {
        sockets: Vec<PathBuf>,
        client: ClientSession,
        private: Option<Intake>,
        external: Option<Intake>,
        /// Hashes of distinctive fragments of the private data read.
        fragments: Vec<String>,
    },
}

/// Carries out effects. The pipeline calls it after the stages have run, in the relay thread:
/// an implementation must not block (the default hands each effect to a thread).
pub trait Effects: Send + Sync {
    fn carry_out(&self, effect: Effect);

    /// What `client`'s session has taken in across its servers, from the daemon (at the first
    /// of `sockets` that answers);
    /// `None` when that cannot be told quickly. Asked only before a call that sends data out,
    /// on the relay thread: an implementation must answer within a short time.
    /// `fragments`: hashes of what the send carries (see `approval::flows::fragments`).
    fn session_taint(
        &self,
        sockets: &[PathBuf],
        client: ClientSession,
        fragments: &[String],
    ) -> Option<SessionTaint> {
        let _ = (sockets, client, fragments);
        None
    }
}

/// How long a send waits for the daemon to say what its client session took in.
pub const TAINT_TIMEOUT: Duration = Duration::from_millis(300);

/// The runner for real connections: a notice is sent on a short-lived thread, an identity
/// check hashes the server's files on a low-priority thread.
#[derive(Debug, Default, Clone, Copy)]
pub struct Background;

impl Effects for Background {
    fn carry_out(&self, effect: Effect) {
        match effect {
            Effect::Notice { socket, server, tool, reason } => {
                crate::approval::client::notice(&socket, &server, &tool, &reason);
            }
            Effect::CheckIdentity(check) => {
                let spawned =
                    std::thread::Builder::new().name("mcpfw-identity".into()).spawn(move || {
                        crate::platform::lower_priority();
                        check.run();
                    });
                if let Err(e) = spawned {
                    tracing::warn!("the server's identity is not checked: {e}");
                }
            }
            Effect::Took { sockets, client, private, external, fragments } => {
                crate::approval::client::report_took(sockets, client, private, external, fragments);
            }
        }
    }

    fn session_taint(
        &self,
        sockets: &[PathBuf],
        client: ClientSession,
        fragments: &[String],
    ) -> Option<SessionTaint> {
        crate::approval::client::session_taint(sockets, client, fragments, TAINT_TIMEOUT)
    }
}

/// The server's identity — what it calls itself, its program and script with their SHA-256 —
/// to be compared with the one it was first seen with; a change is recorded as a flagged
/// `detection` event.
pub struct IdentityCheck {
    pub server: String,
    /// `serverInfo` from the server's `initialize` (or `server/discover`) answer.
    pub info: serde_json::Value,
    pub program: PathBuf,
    pub script: Option<PathBuf>,
    /// The event recorded when the identity changed (filled in by [`IdentityCheck::run`]).
    pub event: Event,
    pub recorder: Arc<dyn Recorder>,
}

impl std::fmt::Debug for IdentityCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityCheck")
            .field("server", &self.server)
            .field("program", &self.program)
            .field("script", &self.script)
            .finish_non_exhaustive()
    }
}

impl IdentityCheck {
    /// Hashes the files (this takes a moment: never on the relay thread), asks the recorder
    /// for the identity first seen, and records a detection when it differs.
    pub fn run(self) {
        let IdentityCheck { server, info, program, script, mut event, recorder } = self;
        let identity = serde_json::json!({
            "name": info.get("name"),
            "program": program.display().to_string(),
            "program_sha256": sha256_file(&program),
            "script": script.as_ref().map(|s| s.display().to_string()),
            "script_sha256": script.as_deref().and_then(sha256_file),
        });
        let Some(Ok(Some(previous))) = recorder.check_identity(&server, &identity) else {
            return;
        };
        let changed: Vec<String> = ["name", "program", "program_sha256", "script", "script_sha256"]
            .iter()
            .filter(|k| previous.get(**k) != identity.get(**k))
            .map(|k| format!("{k}: {} → {}", previous[*k], identity[*k]))
            .collect();
        event.kind = EventKind::Detection;
        event.ts_ms = crate::record::now_ms();
        event.reason = Some(format!(
            "server `{server}` is not the one first seen under this name ({}): an update, or a \
             different server",
            changed.join("; ")
        ));
        event.findings = vec![crate::finding::Finding::at(
            crate::finding::FindingKind::ServerChanged,
            crate::detect::Severity::Flag,
            format!("server {server}"),
            changed.join("; "),
        )];
        recorder.record(event);
    }
}

/// The SHA-256 (hex) of a file's first 512 MiB; `None` when it cannot be read.
fn sha256_file(path: &std::path::Path) -> Option<String> {
    use sha2::Digest;
    use std::io::Read;
    let file = std::fs::File::open(path).ok()?;
    let mut reader = std::io::BufReader::with_capacity(1 << 16, file.take(512 << 20));
    let mut hasher = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(_) => return None,
        }
    }
    Some(hex::encode(hasher.finalize()))
}
