//! Stage 4, *approve*: a person decides the calls the policy says to ask about.
//!
//! `mcpfw daemon` owns an approval broker (in the `mcpfw-daemon` crate) and listens on a Unix socket (mode 0600,
//! same-user peers only) in the runtime folder. A shim that holds a call sends it there as an
//! [`ApprovalRequest`] and waits; approvers (`mcpfw pending`, `mcpfw approve`, `mcpfw deny`)
//! list and decide pending calls on the same socket, but only with the approver token — which
//! lives in MCP Firewall's config folder and is never in a wrapped server's environment — so a
//! shim's connection cannot decide anything. When the daemon cannot be reached, or stops, or
//! nobody answers in time, the call is refused: approval fails closed.

//!
//! This module holds what both sides share: the wire messages ([`ToDaemon`], [`FromDaemon`]),
//! the preview a person sees ([`preview`]) and the shims' and approvers' client ([`client`]).

pub mod client;
pub mod flows;

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::paths::Paths;

/// Compares a presented secret with the expected one in time that does not depend on where
/// they differ.
pub fn same_secret(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len()
        && given.iter().zip(expected).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// How long a call waits for a person by default.
pub const DEFAULT_TIMEOUT_SECS: u64 = 120;

/// The daemon's socket.
pub fn socket_path(paths: &Paths) -> PathBuf {
    paths.runtime.join(crate::paths::SOCKET_NAME)
}

/// Where the daemon writes its HTTP API's address (0600), for the dashboard and CLI.
pub fn api_file(paths: &Paths) -> PathBuf {
    paths.runtime.join("api.json")
}

/// The approver token's file (0600), when the OS keyring is not used (see [`token`]).
pub fn token_path(paths: &Paths) -> PathBuf {
    paths.config.join("approver.token")
}

/// A held call, as the person deciding sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRequest {
    pub server: String,
    pub session: String,
    pub tool: String,
    pub category: String,
    /// What the call would do and why it needs approval.
    pub reason: String,
    /// The arguments with secrets redacted (JSON).
    pub arguments: Option<String>,
    pub args_digest: Option<String>,
    /// The exact effect, line by line (paths with sizes, a diff, hosts and payload size, …).
    #[serde(default)]
    pub preview: Vec<String>,
    /// For deletes, network sends and configuration changes: the fact a second, separate
    /// confirmation restates. Approving such a call takes two steps.
    #[serde(default)]
    pub confirm: Option<String>,
    /// The organisation policy's version when it is what asks (docs/teams.md): a pause does
    /// not skip such a call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organisation: Option<u64>,
}

/// What happened to a held call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Allowed,
    Denied,
    TimedOut,
    Withdrawn,
    /// Allowed without asking: a person had paused protection (see [`PauseState`]).
    Paused,
}

/// Protection paused by a person: while it lasts, calls that would wait for approval run
/// without asking (each is still recorded, as `decided_by: paused`). Refusals by rules, guards
/// and detectors stay in force, and calls already waiting keep waiting. A pause lives in the
/// daemon's memory only: it ends when its time is up, when someone resumes, or when the daemon
/// stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PauseState {
    /// When it began (ms since the Unix epoch).
    pub since_ms: u64,
    /// When it ends by itself (ms since the Unix epoch); `None`: when someone resumes or the
    /// daemon stops.
    pub until_ms: Option<u64>,
}

/// The longest pause with an end time, in minutes (a day).
pub const MAX_PAUSE_MINUTES: u64 = 24 * 60;

/// How long an approval holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// This call only.
    #[default]
    Once,
    /// Identical calls for the rest of this connection (this `mcpfw wrap` process); nothing is
    /// kept after it ends.
    Session,
    /// Identical calls (same server, tool and arguments) for an hour.
    Hour,
    /// Identical calls from now on (a rule in the database, visible in `mcpfw rules list`).
    Always,
}

/// The database rule a person's "hour" or "always" decision on `request` makes, and when it
/// expires (ms since the epoch): exactly this call (server, tool and argument digest). An allow
/// lifts the guards, since a person has looked at this very call. `None` for the other scopes,
/// or for a call without an argument digest. Both approvers write it: `mcpfw approve` and the
/// HTTP API (the dashboard and the desktop popups).
pub fn decision_rule(
    request: &ApprovalRequest,
    allow: bool,
    scope: Scope,
) -> Option<(crate::policy::file::RuleSpec, Option<u64>)> {
    use crate::policy::file::{Action, Conditions, Guard, RuleSpec};
    let expires = match scope {
        Scope::Once | Scope::Session => return None,
        Scope::Hour => Some(crate::record::now_ms() + 3_600_000),
        Scope::Always => None,
    };
    let digest = request.args_digest.clone()?;
    let spec = RuleSpec {
        id: None,
        server: glob_escape(&request.server),
        tool: glob_escape(&request.tool),
        category: Vec::new(),
        action: if allow { Action::Allow } else { Action::Deny },
        reason: Some(format!("you {} this call", if allow { "approved" } else { "refused" })),
        when: Conditions { args_digest: Some(digest), ..Conditions::default() },
        lift: if allow {
            vec![
                Guard::OutsideRoots,
                Guard::SensitivePath,
                Guard::PersistencePath,
                Guard::Secrets,
                Guard::Egress,
                Guard::Rate,
            ]
        } else {
            Vec::new()
        },
    };
    Some((spec, expires))
}

/// A name matched literally by a rule's glob.
fn glob_escape(name: &str) -> String {
    name.chars()
        .flat_map(|c| match c {
            '*' | '?' | '[' | ']' | '{' | '}' => vec!['[', c, ']'],
            c => vec![c],
        })
        .collect()
}

/// The daemon's answer to a shim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    pub id: u64,
    pub outcome: Outcome,
    pub scope: Scope,
    /// Said to the client when the call is refused.
    pub note: String,
}

/// One pending call as approvers list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub id: u64,
    pub request: ApprovalRequest,
    pub waiting_ms: u64,
    pub expires_in_ms: u64,
    /// How many identical calls wait for this one decision.
    #[serde(default)]
    pub callers: usize,
}

/// A client session: the client process that started a shim (its parent, skipping the shells
/// in between), by pid *and* start time, so that a reused pid is a new session and two windows
/// of one client (two processes) are two sessions. The daemon keeps one data-flow state per
/// client session across every server that client runs (see [`ToDaemon::Took`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ClientSession {
    pub pid: u32,
    /// The process's start time (`/proc/PID/stat` field 22, clock ticks since boot).
    pub start: u64,
}

/// What one call took in, for its client session's data flow: `what` it read, by which
/// server's tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intake {
    pub server: String,
    pub tool: String,
    /// What was taken in, as a phrase: "read from ~/.ssh/id_rsa", "read https://…".
    pub what: String,
}

/// An intake as the daemon remembers it: with how long ago it was reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Origin {
    pub intake: Intake,
    pub ago_ms: u64,
}

impl Origin {
    /// "read from ~/.ssh/id_rsa by files.read_text_file 40 s ago".
    pub fn describe(&self) -> String {
        let Intake { server, tool, what } = &self.intake;
        format!("{what} by {server}.{tool} {} s ago", self.ago_ms / 1000)
    }
}

/// What a client session has taken in so far, across all its servers: the first private read
/// and the first outside content.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionTaint {
    pub private: Option<Origin>,
    pub external: Option<Origin>,
    /// Where the data came from that one of the asked-about fragments carries.
    #[serde(default)]
    pub carried: Option<Origin>,
}

/// Messages to the daemon, one JSON object per line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ToDaemon {
    /// From a shim: hold this call until someone decides. The daemon answers `Queued`, then
    /// `Decided` on the same connection.
    Ask { request: ApprovalRequest },
    /// From a shim: the client cancelled; forget the pending call.
    Withdraw { id: u64 },
    /// From a shim: something was withheld from the client (a poisoned or changed tool); the
    /// daemon tells the person (a desktop notification, the dashboard's live feed). No answer.
    Notice { server: String, tool: String, reason: String },
    /// From a shim: a call of `client`'s session read private data or took in outside
    /// content. No answer.
    Took {
        client: ClientSession,
        #[serde(default)]
        private: Option<Intake>,
        #[serde(default)]
        external: Option<Intake>,
        /// Hashes of distinctive fragments of the private data (see [`flows::fragments`]).
        #[serde(default)]
        fragments: Vec<String>,
    },
    /// From a shim, before a call that sends data out: what `client`'s session has taken in.
    /// Answered with `Taint`.
    Taint {
        client: ClientSession,
        /// Hashes of the fragments an outbound call carries: the answer's `carried` names
        /// where one of them was read.
        #[serde(default)]
        fragments: Vec<String>,
    },
    /// From an approver: the pending calls.
    List { token: String },
    /// From an approver: decide one.
    /// For a two-step call, an approval without `confirm` is the first step; the second
    /// (`confirm: true`) is accepted only after a short delay.
    Decide {
        token: String,
        id: u64,
        allow: bool,
        scope: Scope,
        #[serde(default)]
        confirm: bool,
    },
    /// From an approver: pause protection for `minutes` (1..=[`MAX_PAUSE_MINUTES`]), or until
    /// resumed when `None`. Answered with `Paused`.
    Pause { token: String, minutes: Option<u64> },
    /// From an approver: end a pause. Answered with `Paused`.
    Resume { token: String },
    /// From an approver: is protection paused? Answered with `Paused`.
    PauseStatus { token: String },
}

/// Messages from the daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum FromDaemon {
    Queued {
        id: u64,
        /// How long the daemon lets the call wait (its timeout can change while it runs); the
        /// shim waits that long, plus a little, instead of its own guess.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expires_in_ms: Option<u64>,
    },
    Decided {
        answer: Answer,
    },
    Pending {
        calls: Vec<Pending>,
    },
    Done,
    /// The first step of a two-step approval was taken; confirm `fact` after `armed_in_ms`.
    Confirm {
        fact: String,
        armed_in_ms: u64,
    },
    Error {
        message: String,
    },
    /// What a client session has taken in (the answer to `Taint`).
    Taint {
        taint: SessionTaint,
    },
    /// Whether protection is paused now.
    Paused {
        pause: Option<PauseState>,
    },
}

/// Where and how long held calls wait for a person.
#[derive(Debug, Clone)]
pub struct ApproverConfig {
    pub socket: PathBuf,
    /// Tried in order when nothing listens at `socket`, and used only when owned by this user:
    /// the default places of a daemon the user started, for a shim whose client dropped its
    /// environment ([`crate::paths::Paths::default_sockets`]).
    pub fallbacks: Vec<PathBuf>,
    pub timeout: Duration,
}

impl ApproverConfig {
    /// The daemon's socket, then its fallbacks (each used only when owned by this user).
    pub fn sockets(&self) -> Vec<PathBuf> {
        std::iter::once(&self.socket).chain(&self.fallbacks).cloned().collect()
    }
}
