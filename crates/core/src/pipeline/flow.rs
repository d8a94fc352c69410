//! The toxic-flow guard: remembers the first call of a session that read private data and the
//! first that took in content from outside; a later call that sends data out is asked about
//! (even when a rule allows it), naming both. It runs right after the policy, so it can only
//! tighten a decision, never loosen one.
//!
//! The connection's own memory is always there; with a client session and a daemon, what each
//! call takes in is also reported to the daemon (an effect, fire and forget), which keeps one
//! state per client session across all its servers, and a send asks the daemon what the
//! session took in elsewhere (with a short timeout; without an answer, this connection's
//! memory alone decides, as without a daemon).
//!
//! **Data that crosses:** the result of a call that read private data is cut into distinctive
//! fragments (lines of 24 characters or more), kept as hashes here and in the daemon; a send
//! whose arguments carry one is refused, not asked, naming where the data was read.

use std::sync::{Arc, Mutex};

use std::collections::HashMap;
use std::time::Instant;

use crate::approval::flows::SessionFlows;
use crate::approval::{ClientSession, Intake, SessionTaint};
use crate::policy::{Flow, Ruling, Verdict};
use crate::record::DecidedBy;

#[derive(Default, Clone)]
pub(super) struct FlowGuard(Arc<Mutex<Taint>>);

/// The first call of a session that read private data, and the first that took in content
/// from outside.
#[derive(Debug, Default)]
struct Taint {
    private: Option<String>,
    external: Option<String>,
    /// Fragments of the private data this connection's calls read (hashes), kept like the
    /// daemon keeps a client session's, under one placeholder session.
    read: SessionFlows,
    /// Calls that read private data and wait for their result (by request id; bounded).
    expected: HashMap<String, Intake>,
}

/// The placeholder client session under which a connection keeps its own fragments.
const HERE: ClientSession = ClientSession { pid: 0, start: 0 };

/// The most calls that read private data waiting for their results at once.
const MAX_EXPECTED: usize = 64;

impl FlowGuard {
    /// Tightens `ruling` for a send after private data and outside content met in this
    /// connection or, through `shared` (asked only when this connection alone does not tell),
    /// anywhere in its client session: under every server the same client process runs.
    ///
    /// A send whose arguments carry a fragment of private data read earlier (`outbound`: the
    /// hashes of its fragments) is refused outright, naming where the data came from.
    pub fn check(
        &self,
        ruling: &mut Ruling,
        outbound: &[String],
        shared: impl FnOnce(&[String]) -> Option<SessionTaint>,
    ) {
        if !ruling.flow.sends_out || matches!(ruling.verdict, Verdict::Deny { .. }) {
            return;
        }
        let (mut private, mut external, mut carried) = {
            let mut taint = self.0.lock().unwrap_or_else(|p| p.into_inner());
            let carried = (!outbound.is_empty())
                .then(|| taint.read.taint(&HERE, outbound, Instant::now(), |_| true).carried)
                .flatten();
            (taint.private.clone(), taint.external.clone(), carried.map(|o| o.describe()))
        };
        if carried.is_none() && (!outbound.is_empty() || private.is_none() || external.is_none()) {
            let shared = shared(outbound).unwrap_or_default();
            carried = shared.carried.map(|o| o.describe());
            private = private.or_else(|| shared.private.map(|o| o.describe()));
            external = external.or_else(|| shared.external.map(|o| o.describe()));
        }
        if let Some(origin) = carried {
            ruling.verdict = Verdict::Deny {
                reason: format!(
                    "MCP Firewall refused a network send that carries private data: its \
                     arguments hold data {origin}"
                ),
            };
            ruling.decided_by = Some(DecidedBy::Guard("data-crossing".to_owned()));
            return;
        }
        let (Some(private), Some(external)) = (private, external) else {
            return;
        };
        let context = format!(
            "this session read private data ({private}) and took in content from outside \
             ({external}), so a send now could be an injected instruction leaking that data"
        );
        match &mut ruling.verdict {
            Verdict::Allow => {
                ruling.verdict = Verdict::Ask {
                    reason: format!("a network send: {context}"),
                    unattended: ruling.flow.unattended,
                };
                ruling.decided_by = Some(DecidedBy::Guard("toxic-flow".to_owned()));
                ruling
                    .preview
                    .lines
                    .push(format!("Earlier in this session: {private}; {external}."));
                ruling.preview.confirm.get_or_insert_with(|| {
                    "Send data out after this session read private data?".to_owned()
                });
            }
            Verdict::Ask { reason, .. } => reason.push_str(&format!("; also, {context}")),
            Verdict::Deny { .. } => {}
        }
    }

    /// Remembers what a call that runs reads (the first of each kind).
    pub fn took(&self, flow: &Flow) {
        if flow.private.is_none() && flow.external.is_none() {
            return;
        }
        let mut taint = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if taint.private.is_none() {
            taint.private.clone_from(&flow.private);
        }
        if taint.external.is_none() {
            taint.external.clone_from(&flow.external);
        }
    }

    /// The call `id` reads private data: its result's fragments are to be remembered.
    pub fn expect(&self, id: String, intake: Intake) {
        let mut taint = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if taint.expected.len() >= MAX_EXPECTED {
            taint.expected.clear();
        }
        taint.expected.insert(id, intake);
    }

    /// What the call answered by result `id` read, if it read private data.
    pub fn private_result(&self, id: &str) -> Option<Intake> {
        let mut taint = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if taint.expected.is_empty() {
            return None;
        }
        taint.expected.remove(id)
    }

    /// Remembers the fragments of private data a call read.
    pub fn remember(&self, intake: Intake, fragments: Vec<String>) {
        let mut taint = self.0.lock().unwrap_or_else(|p| p.into_inner());
        taint.read.took(HERE, Some(intake), None, fragments, Instant::now(), |_| true);
    }

    /// A result of `tool` carried injected instructions: outside content, if none came before.
    pub fn injected(&self, tool: &Option<String>) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).external.get_or_insert_with(|| {
            format!(
                "the result of `{}` carried injected instructions",
                tool.as_deref().unwrap_or("?")
            )
        });
    }
}
