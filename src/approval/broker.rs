//! The approval broker: pending calls, their deadlines, and who is waiting for each.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, oneshot};

use super::{Answer, ApprovalRequest, Outcome, Pending, Scope};

struct Held {
    request: ApprovalRequest,
    since: Instant,
    deadline: Instant,
    reply: oneshot::Sender<Answer>,
    /// For a two-step call: when the first step was taken, the moment the second is armed.
    armed_at: Option<Instant>,
}

/// How long after the first step of a two-step approval the second is accepted, so that one
/// double click (or one hurried command) cannot pass both.
pub const CONFIRM_DELAY: Duration = Duration::from_millis(1000);

/// What an approver's decision did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decided {
    /// The call was answered.
    Done,
    /// First step of a two-step approval taken: confirm `fact` (from `armed_in` on).
    NeedsConfirmation { fact: String, armed_in: Duration },
    /// A confirmation came too early (or without a first step).
    NotArmed { fact: String, wait: Duration },
    /// No such pending call.
    Unknown,
}

/// Pending approvals, shared by every connection of the daemon.
pub struct ApprovalBroker {
    timeout: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    held: BTreeMap<u64, Held>,
}

impl ApprovalBroker {
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            state: Mutex::new(State {
                next_id: 1,
                held: BTreeMap::new(),
            }),
        }
    }

    /// Queues a call; the receiver gets its answer (a timeout answers `TimedOut`).
    pub async fn ask(&self, request: ApprovalRequest) -> (u64, oneshot::Receiver<Answer>) {
        let (tx, rx) = oneshot::channel();
        let mut state = self.state.lock().await;
        let id = state.next_id;
        state.next_id += 1;
        let now = Instant::now();
        state.held.insert(
            id,
            Held {
                request,
                since: now,
                deadline: now + self.timeout,
                reply: tx,
                armed_at: None,
            },
        );
        (id, rx)
    }

    /// Answers a pending call. A call with a `confirm` fact is approved in two steps: the
    /// first approval (without `confirm`) only arms the second, which must come at least
    /// [`CONFIRM_DELAY`] later. Refusing is always one step.
    pub async fn decide(&self, id: u64, allow: bool, scope: Scope, confirm: bool) -> Decided {
        let mut state = self.state.lock().await;
        let now = Instant::now();
        if allow
            && let Some(held) = state.held.get_mut(&id)
            && let Some(fact) = held.request.confirm.clone()
        {
            match (held.armed_at, confirm) {
                (_, false) => {
                    let armed_at = *held.armed_at.get_or_insert(now + CONFIRM_DELAY);
                    return Decided::NeedsConfirmation {
                        fact,
                        armed_in: armed_at.saturating_duration_since(now),
                    };
                }
                (None, true) => {
                    return Decided::NotArmed {
                        fact,
                        wait: CONFIRM_DELAY,
                    };
                }
                (Some(armed_at), true) if now < armed_at => {
                    return Decided::NotArmed {
                        fact,
                        wait: armed_at - now,
                    };
                }
                (Some(_), true) => {}
            }
        }
        let held = state.held.remove(&id);
        drop(state);
        match held {
            Some(held) => {
                let outcome = if allow {
                    Outcome::Allowed
                } else {
                    Outcome::Denied
                };
                let note = if allow {
                    String::new()
                } else {
                    "you refused this call in MCP Firewall".to_owned()
                };
                let _ = held.reply.send(Answer {
                    id,
                    outcome,
                    scope,
                    note,
                });
                Decided::Done
            }
            None => Decided::Unknown,
        }
    }

    /// Forgets a call whose client gave up.
    pub async fn withdraw(&self, id: u64) {
        if let Some(held) = self.state.lock().await.held.remove(&id) {
            let _ = held.reply.send(Answer {
                id,
                outcome: Outcome::Withdrawn,
                scope: Scope::Once,
                note: "the client cancelled the call".to_owned(),
            });
        }
    }

    /// The pending calls, oldest first.
    pub async fn pending(&self) -> Vec<Pending> {
        let now = Instant::now();
        self.state
            .lock()
            .await
            .held
            .iter()
            .map(|(id, held)| Pending {
                id: *id,
                request: held.request.clone(),
                waiting_ms: now.duration_since(held.since).as_millis() as u64,
                expires_in_ms: held.deadline.saturating_duration_since(now).as_millis() as u64,
            })
            .collect()
    }

    /// Answers every call past its deadline with `TimedOut`. Called periodically.
    pub async fn expire(&self) {
        let now = Instant::now();
        let mut state = self.state.lock().await;
        let expired: Vec<u64> = state
            .held
            .iter()
            .filter(|(_, h)| h.deadline <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in expired {
            if let Some(held) = state.held.remove(&id) {
                let secs = self.timeout.as_secs();
                let _ = held.reply.send(Answer {
                    id,
                    outcome: Outcome::TimedOut,
                    scope: Scope::Once,
                    note: format!("nobody approved it within {secs} s"),
                });
            }
        }
    }

    /// Withdraws every call of a shim connection that went away.
    pub async fn withdraw_all(&self, ids: &[u64]) {
        for id in ids {
            self.withdraw(*id).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(tool: &str) -> ApprovalRequest {
        ApprovalRequest {
            server: "files".into(),
            session: "s".into(),
            tool: tool.into(),
            category: "delete".into(),
            reason: "r".into(),
            arguments: None,
            args_digest: None,
            preview: Vec::new(),
            confirm: None,
        }
    }

    #[tokio::test]
    async fn a_decision_reaches_the_waiter_once() {
        let broker = ApprovalBroker::new(Duration::from_secs(60));
        let (id, rx) = broker.ask(request("delete_file")).await;
        assert_eq!(broker.pending().await.len(), 1);
        assert_eq!(
            broker.decide(id, true, Scope::Once, false).await,
            Decided::Done
        );
        assert_eq!(
            broker.decide(id, false, Scope::Once, false).await,
            Decided::Unknown
        );
        assert_eq!(rx.await.unwrap().outcome, Outcome::Allowed);
        assert!(broker.pending().await.is_empty());
    }

    #[tokio::test]
    async fn two_step_calls_need_a_separate_delayed_confirmation() {
        let broker = ApprovalBroker::new(Duration::from_secs(60));
        let mut r = request("delete_file");
        r.confirm = Some("Delete 3 files under /p?".into());
        let (id, mut rx) = broker.ask(r).await;
        // Confirming without a first step, or too soon after it, does nothing.
        assert!(matches!(
            broker.decide(id, true, Scope::Once, true).await,
            Decided::NotArmed { .. }
        ));
        let first = broker.decide(id, true, Scope::Once, false).await;
        assert!(
            matches!(&first, Decided::NeedsConfirmation { fact, .. } if fact == "Delete 3 files under /p?")
        );
        assert!(matches!(
            broker.decide(id, true, Scope::Once, true).await,
            Decided::NotArmed { .. }
        ));
        assert!(
            rx.try_recv().is_err(),
            "one approve must not pass a two-step call"
        );
        tokio::time::sleep(CONFIRM_DELAY).await;
        assert_eq!(
            broker.decide(id, true, Scope::Once, true).await,
            Decided::Done
        );
        assert_eq!(rx.await.unwrap().outcome, Outcome::Allowed);
        // Refusing takes one step.
        let mut r = request("delete_file");
        r.confirm = Some("Delete?".into());
        let (id, rx) = broker.ask(r).await;
        assert_eq!(
            broker.decide(id, false, Scope::Once, false).await,
            Decided::Done
        );
        assert_eq!(rx.await.unwrap().outcome, Outcome::Denied);
    }

    #[tokio::test]
    async fn deadlines_and_withdrawals_answer_too() {
        let broker = ApprovalBroker::new(Duration::from_millis(10));
        let (_, late) = broker.ask(request("a")).await;
        let (gone_id, gone) = broker.ask(request("b")).await;
        broker.withdraw(gone_id).await;
        assert_eq!(gone.await.unwrap().outcome, Outcome::Withdrawn);
        tokio::time::sleep(Duration::from_millis(20)).await;
        broker.expire().await;
        assert_eq!(late.await.unwrap().outcome, Outcome::TimedOut);
    }
}
