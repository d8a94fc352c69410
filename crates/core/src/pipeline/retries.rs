//! Retries of approved calls (2026-07-28 era). A stateless-era server may answer a call with
//! `input_required` (it needs, say, a form filled in); the client then sends the call again
//! with the answers and the server's `requestState`. That retry is the call the person already
//! approved, so it is not asked about again: an approved call's id is remembered until its
//! result, and an `input_required` result turns into a pass for exactly that `requestState`,
//! tool and argument digest, used once (the retry's own result can grant the next round).
//! Results are noted right after inspection, before anything can refuse them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::jsonrpc::Id;
use crate::session::{Direction, Inspection, Kind};

/// How long an approved call's `input_required` answer stays valid for the client's retry.
const RETRY_WINDOW: Duration = Duration::from_secs(600);
/// How many approved calls awaiting their result, or retries, are remembered at once.
const MAX_RETRIES: usize = 1024;

#[derive(Default)]
pub(super) struct RetryPasses(Mutex<Retries>);

#[derive(Default)]
struct Retries {
    /// Approved calls forwarded and awaiting their result: id → (tool, argument digest).
    awaiting: HashMap<Id, (String, String)>,
    /// `requestState` → (tool, argument digest, valid until).
    passes: HashMap<String, (String, String, Instant)>,
}

impl RetryPasses {
    /// An approved call `id` was forwarded: its result may grant a pass to its retry.
    pub fn forwarded(&self, id: Id, tool: String, digest: String) {
        let mut retries = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if retries.awaiting.len() >= MAX_RETRIES {
            retries.awaiting.clear();
        }
        retries.awaiting.insert(id, (tool, digest));
    }

    /// A server's result for an approved call; an `input_required` one grants a pass.
    pub fn note_result(&self, inspection: &Inspection) {
        if inspection.direction != Direction::ServerToClient || inspection.kind != Kind::Result {
            return;
        }
        let Some(id) = &inspection.id else { return };
        let mut retries = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if retries.awaiting.is_empty() {
            return;
        }
        let Some((tool, digest)) = retries.awaiting.remove(id) else { return };
        if let Some(state) = &inspection.input_required {
            let now = Instant::now();
            retries.passes.retain(|_, (_, _, until)| *until > now);
            if retries.passes.len() < MAX_RETRIES {
                retries.passes.insert(state.clone(), (tool, digest, now + RETRY_WINDOW));
            }
        }
    }

    /// Whether call `id` retries an approved one (its pass is used up); if so it is awaited
    /// in turn, since its result can grant the next round.
    pub fn retry(&self, id: &Id, state: &str, tool: &str, digest: &str) -> bool {
        let mut retries = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let valid = match retries.passes.remove(state) {
            Some((t, d, until)) => t == tool && d == digest && Instant::now() < until,
            None => false,
        };
        if valid {
            if retries.awaiting.len() >= MAX_RETRIES {
                retries.awaiting.clear();
            }
            retries.awaiting.insert(id.clone(), (tool.to_owned(), digest.to_owned()));
        }
        valid
    }
}
