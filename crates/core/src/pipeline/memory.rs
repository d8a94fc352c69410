//! Approval memory: what a person decided for longer than once ("for this session", "for an
//! hour") — an approval or a refusal — by tool and argument digest. Consulted only for calls
//! the policy would ask about, so it can spare a prompt but never allow what a rule refuses;
//! an identical call (same tool, same arguments) is the only one it covers.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::approval::Scope;

/// One remembered decision: allowed or refused, for which scope, until when (`None`: this
/// connection).
type Remembered = (bool, Scope, Option<Instant>);

#[derive(Default)]
pub(super) struct ApprovalMemory(Mutex<HashMap<(String, String), Remembered>>);

impl ApprovalMemory {
    /// What the person decided on identical calls (`tool`, argument digest), while it holds:
    /// approved (`true`) or refused, and for which scope.
    pub fn recall(&self, key: &(String, String)) -> Option<(bool, Scope)> {
        let mut decided = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match decided.get(key) {
            Some((allowed, scope, None)) => Some((*allowed, *scope)),
            Some((allowed, scope, Some(until))) if Instant::now() < *until => {
                Some((*allowed, *scope))
            }
            Some(_) => {
                decided.remove(key);
                None
            }
            None => None,
        }
    }

    /// Remembers a decision given for `scope` (nothing for `Once`).
    pub fn remember(&self, tool: &str, digest: &str, allowed: bool, scope: Scope) {
        let until = match scope {
            Scope::Once => return,
            Scope::Hour => Some(Instant::now() + Duration::from_secs(3600)),
            // "Always" is also a rule in the database; here it spares this connection a lookup.
            Scope::Session | Scope::Always => None,
        };
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((tool.to_owned(), digest.to_owned()), (allowed, scope, until));
    }
}

/// Words for how long a decision holds, for reasons: "for this session".
pub(super) fn scope_words(scope: Scope) -> &'static str {
    match scope {
        Scope::Once => "once",
        Scope::Session => "for this session",
        Scope::Hour => "for an hour",
        Scope::Always => "from now on",
    }
}
