//! Approval memory: calls a person approved for longer than once ("for this session", "for an
//! hour"), by tool and argument digest. Consulted only for calls the policy would ask about,
//! so it can spare a prompt but never allow what a rule refuses.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::approval::Scope;

#[derive(Default)]
pub(super) struct ApprovalMemory(Mutex<HashMap<(String, String), Option<Instant>>>);

impl ApprovalMemory {
    /// Whether identical calls (`tool`, argument digest) were approved and the approval holds.
    pub fn recall(&self, key: &(String, String)) -> bool {
        let mut approved = self.0.lock().unwrap_or_else(|p| p.into_inner());
        match approved.get(key) {
            Some(None) => true,
            Some(Some(until)) if Instant::now() < *until => true,
            Some(Some(_)) => {
                approved.remove(key);
                false
            }
            None => false,
        }
    }

    /// Remembers an approval given for `scope` (nothing for `Once`).
    pub fn remember(&self, tool: &str, digest: &str, scope: Scope) {
        let until = match scope {
            Scope::Once => return,
            Scope::Hour => Some(Instant::now() + Duration::from_secs(3600)),
            // "Always" is also a rule in the database; here it spares this connection a lookup.
            Scope::Session | Scope::Always => None,
        };
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert((tool.to_owned(), digest.to_owned()), until);
    }
}
