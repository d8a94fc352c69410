//! Held calls: the calls waiting for a person, by id, so that a client's cancellation (or its
//! disconnecting) withdraws them. Checked right after inspection, because a cancellation must
//! reach a waiting call even when the cancel message itself is refused later.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use crate::jsonrpc::Id;
use crate::session::Inspection;

#[derive(Default)]
pub(super) struct HeldCalls(Mutex<HashMap<Id, Arc<AtomicBool>>>);

impl HeldCalls {
    /// A `notifications/cancelled` for a held call withdraws it.
    pub fn cancel(&self, inspection: &Inspection) {
        if let Some(cancelled) = &inspection.cancels
            && let Some(flag) = self.0.lock().unwrap_or_else(|p| p.into_inner()).get(cancelled)
        {
            flag.store(true, Ordering::Relaxed);
        }
    }

    /// Holds the call `id`; the flag is set when it is withdrawn.
    pub fn hold(&self, id: Id) -> Arc<AtomicBool> {
        let withdrawn = Arc::new(AtomicBool::new(false));
        self.0.lock().unwrap_or_else(|p| p.into_inner()).insert(id, withdrawn.clone());
        withdrawn
    }

    /// The call `id` was settled.
    pub fn release(&self, id: &Id) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(id);
    }

    /// Withdraws every held call (the client disconnected).
    pub fn withdraw_all(&self) {
        for flag in self.0.lock().unwrap_or_else(|p| p.into_inner()).values() {
            flag.store(true, Ordering::Relaxed);
        }
    }
}
