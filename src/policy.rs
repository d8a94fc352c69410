//! Stage 3, *decide*: what happens to a message the firewall understood.
//!
//! A [`Policy`] sees the inspection of one message and returns a [`Verdict`]. It must be cheap
//! (it runs on every message) and must never fail open: an implementation that cannot reach a
//! conclusion returns `Deny`.

use crate::session::Inspection;

/// The outcome of the decide stage for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Forward the message unchanged.
    Allow,
    /// Do not forward; answer the sender with this reason.
    Deny { reason: String },
}

impl Verdict {
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Deny { .. } => "deny",
        }
    }
}

/// Decides each message. Implementations are shared by both relay directions.
pub trait Policy: Send + Sync {
    fn decide(&self, inspection: &Inspection) -> Verdict;
}

/// Allows everything that decoded correctly. The pipeline's placeholder until rules exist.
#[derive(Debug, Default, Clone, Copy)]
pub struct AllowAll;

impl Policy for AllowAll {
    fn decide(&self, _: &Inspection) -> Verdict {
        Verdict::Allow
    }
}
