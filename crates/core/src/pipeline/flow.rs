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

use std::sync::{Arc, Mutex};

use crate::approval::SessionTaint;
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
}

impl FlowGuard {
    /// Tightens `ruling` for a send after private data and outside content met in this
    /// connection or, through `shared` (asked only when this connection alone does not tell),
    /// anywhere in its client session: under every server the same client process runs.
    pub fn check(&self, ruling: &mut Ruling, shared: impl FnOnce() -> Option<SessionTaint>) {
        if !ruling.flow.sends_out || matches!(ruling.verdict, Verdict::Deny { .. }) {
            return;
        }
        let (mut private, mut external) = {
            let taint = self.0.lock().unwrap_or_else(|p| p.into_inner());
            (taint.private.clone(), taint.external.clone())
        };
        if private.is_none() || external.is_none() {
            let shared = shared().unwrap_or_default();
            private = private.or_else(|| shared.private.map(|o| o.describe()));
            external = external.or_else(|| shared.external.map(|o| o.describe()));
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

/// Whether a recorded finding is an instruction aimed at the model (not merely hidden text or
/// a secret).
pub(super) fn is_injection(finding: &serde_json::Value) -> bool {
    matches!(
        finding["kind"].as_str(),
        Some(
            "model-directive"
                | "injected-instruction"
                | "forged-turn"
                | "fake-error"
                | "concealment"
                | "exfiltration"
                | "credential-access"
                | "cross-tool-instruction"
        )
    )
}
