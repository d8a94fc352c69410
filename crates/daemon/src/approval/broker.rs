//! The approval broker: pending calls, their deadlines, and who is waiting for each.
//!
//! Identical calls (same server, tool and argument digest) that wait at the same time are
//! coalesced: they share one pending entry, so a person is asked once, and every waiter gets the
//! answer. A waiter that withdraws (its client cancelled) leaves the others waiting.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{Mutex, broadcast, oneshot};

use super::client::client_alive;
use super::{
    Answer, ApprovalRequest, ClientSession, Intake, MAX_PAUSE_MINUTES, Outcome, PauseState,
    Pending, Scope, SessionTaint,
};

struct Held {
    request: ApprovalRequest,
    since: Instant,
    deadline: Instant,
    /// Everyone waiting for this decision, by waiter number.
    waiters: Vec<(u64, oneshot::Sender<Answer>)>,
    /// For a two-step call: when the first step was taken, the moment the second is armed.
    armed_at: Option<Instant>,
}

impl Held {
    fn answer_all(self, id: u64, outcome: Outcome, scope: Scope, note: &str) {
        for (_, waiter) in self.waiters {
            let _ = waiter.send(Answer { id, outcome, scope, note: note.to_owned() });
        }
    }
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

/// A place in the queue: the pending call's id, this waiter's number, and where the answer
/// arrives.
pub struct Ticket {
    pub id: u64,
    pub waiter: u64,
    pub answer: oneshot::Receiver<Answer>,
    /// How long until the call is refused unless someone decides (`None`: already answered,
    /// as while protection is paused).
    pub expires_in: Option<Duration>,
}

/// Pending approvals, shared by every connection of the daemon.
pub struct ApprovalBroker {
    /// How long a new call waits, in milliseconds (changed live by [`ApprovalBroker::set_timeout`]).
    timeout_ms: AtomicU64,
    state: Mutex<State>,
    /// Live events for approvers (the HTTP API's event stream): JSON objects.
    events: broadcast::Sender<serde_json::Value>,
    /// What each client session took in across its servers (the toxic flow), in memory only.
    flows: std::sync::Mutex<mcpfw_core::approval::flows::SessionFlows>,
}

struct State {
    next_id: u64,
    next_waiter: u64,
    held: BTreeMap<u64, Held>,
    pause: Option<Pause>,
}

/// A pause in effect: what approvers see, and its end on the monotonic clock.
struct Pause {
    state: PauseState,
    until: Option<Instant>,
}

impl Pause {
    fn over(&self, now: Instant) -> bool {
        self.until.is_some_and(|until| until <= now)
    }
}

/// Why a pause was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPause(pub String);

impl std::fmt::Display for BadPause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl ApprovalBroker {
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout_ms: AtomicU64::new(timeout.as_millis() as u64),
            state: Mutex::new(State {
                next_id: 1,
                next_waiter: 1,
                held: BTreeMap::new(),
                pause: None,
            }),
            events: broadcast::channel(256).0,
            flows: Default::default(),
        }
    }

    /// Remembers what a call of `client`'s session took in (a shim's report).
    pub fn took(
        &self,
        client: ClientSession,
        private: Option<Intake>,
        external: Option<Intake>,
        fragments: Vec<String>,
    ) {
        // Bounded: each remembered text is clipped.
        let clip = |i: Intake| Intake {
            server: crate::text::floor(&i.server, 200).to_owned(),
            tool: crate::text::floor(&i.tool, 200).to_owned(),
            what: crate::text::floor(&i.what, 600).to_owned(),
        };
        let mut flows = self.flows.lock().unwrap_or_else(|p| p.into_inner());
        let fragments = fragments.into_iter().filter(|h| h.len() <= 64).collect();
        flows.took(
            client,
            private.map(clip),
            external.map(clip),
            fragments,
            Instant::now(),
            client_alive,
        );
    }

    /// What `client`'s session took in across its servers (asked by a shim before a send).
    /// `fragments`: hashes of what the send carries; the answer's `carried` names where one
    /// of them was read.
    pub fn taint(&self, client: &ClientSession, fragments: &[String]) -> SessionTaint {
        let mut flows = self.flows.lock().unwrap_or_else(|p| p.into_inner());
        flows.taint(client, fragments, Instant::now(), client_alive)
    }

    /// How long a call that starts waiting now waits for a decision.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms.load(Ordering::Relaxed))
    }

    /// Changes how long calls wait from now on (calls already waiting keep their deadline).
    pub fn set_timeout(&self, timeout: Duration) {
        self.timeout_ms.store(timeout.as_millis() as u64, Ordering::Relaxed);
    }

    /// Live events: `{"event":"pending","call":…}` when a call starts waiting, and
    /// `{"event":"settled","id":…,"outcome":…}` when it is decided, times out or is withdrawn.
    pub fn subscribe(&self) -> broadcast::Receiver<serde_json::Value> {
        self.events.subscribe()
    }

    /// Passes a shim's notice (something was withheld) to the live event stream.
    pub fn notice(&self, server: &str, tool: &str, reason: &str) {
        let clip = |s: &str, n: usize| crate::text::floor(s, n).to_owned();
        let _ = self.events.send(serde_json::json!({"event": "withheld",
            "server": clip(server, 200), "tool": clip(tool, 200), "reason": clip(reason, 1000)}));
    }

    /// Puts an event of another part of the daemon (e.g. a configuration change) on the live
    /// event stream.
    pub fn announce(&self, event: serde_json::Value) {
        let _ = self.events.send(event);
    }

    fn settled(&self, id: u64, outcome: Outcome) {
        let _ =
            self.events.send(serde_json::json!({"event": "settled", "id": id, "outcome": outcome}));
    }

    /// Pauses protection for `minutes` (1..=[`MAX_PAUSE_MINUTES`]), or until resumed when
    /// `None`; a new pause replaces one in effect. Calls already waiting keep waiting.
    pub async fn pause(&self, minutes: Option<u64>) -> Result<PauseState, BadPause> {
        if let Some(m) = minutes
            && !(1..=MAX_PAUSE_MINUTES).contains(&m)
        {
            return Err(BadPause(format!(
                "a pause lasts 1 to {MAX_PAUSE_MINUTES} minutes (or until you resume), not {m}"
            )));
        }
        let now_ms = crate::record::now_ms();
        let length = minutes.map(|m| Duration::from_secs(m * 60));
        let pause = Pause {
            state: PauseState {
                since_ms: now_ms,
                until_ms: length.map(|d| now_ms + d.as_millis() as u64),
            },
            until: length.map(|d| Instant::now() + d),
        };
        let state = pause.state;
        self.state.lock().await.pause = Some(pause);
        tracing::warn!(minutes = ?minutes, "protection paused: calls that would ask run without asking");
        self.pause_changed(Some(state), "paused");
        Ok(state)
    }

    /// Ends a pause; says whether one was in effect.
    pub async fn resume(&self) -> bool {
        let was = self.state.lock().await.pause.take().is_some();
        if was {
            tracing::info!("protection resumed");
            self.pause_changed(None, "resumed");
        }
        was
    }

    /// The pause in effect, if any (one whose time is up is ended here).
    pub async fn pause_state(&self) -> Option<PauseState> {
        let mut state = self.state.lock().await;
        self.end_pause_if_over(&mut state, Instant::now());
        state.pause.as_ref().map(|p| p.state)
    }

    fn end_pause_if_over(&self, state: &mut State, now: Instant) {
        if state.pause.as_ref().is_some_and(|p| p.over(now)) {
            state.pause = None;
            tracing::info!("the pause is over: protection resumed");
            self.pause_changed(None, "expired");
        }
    }

    fn pause_changed(&self, pause: Option<PauseState>, how: &str) {
        let _ = self.events.send(serde_json::json!({"event": "pause", "pause": pause, "how": how}));
    }

    /// Queues a call, or joins an identical one already waiting. A timeout answers `TimedOut`.
    /// While protection is paused, the call is answered `Paused` at once and not queued, unless
    /// the organisation policy is what asks (it is asked even then).
    pub async fn ask(&self, request: ApprovalRequest) -> Ticket {
        let (tx, rx) = oneshot::channel();
        let mut state = self.state.lock().await;
        let waiter = state.next_waiter;
        state.next_waiter += 1;
        self.end_pause_if_over(&mut state, Instant::now());
        if state.pause.is_some() && request.organisation.is_none() {
            let id = state.next_id;
            state.next_id += 1;
            drop(state);
            let _ = tx.send(Answer {
                id,
                outcome: Outcome::Paused,
                scope: Scope::Once,
                note: String::new(),
            });
            let _ = self.events.send(serde_json::json!({"event": "passed_paused", "id": id,
                "server": request.server, "tool": request.tool, "category": request.category}));
            return Ticket { id, waiter, answer: rx, expires_in: None };
        }
        let same = |held: &&mut Held| {
            request.args_digest.is_some()
                && held.request.args_digest == request.args_digest
                && held.request.server == request.server
                && held.request.tool == request.tool
        };
        if let Some((id, held)) = state.held.iter_mut().find(|(_, held)| same(held)) {
            held.waiters.push((waiter, tx));
            let expires_in = held.deadline.saturating_duration_since(Instant::now());
            return Ticket { id: *id, waiter, answer: rx, expires_in: Some(expires_in) };
        }
        let id = state.next_id;
        state.next_id += 1;
        let now = Instant::now();
        let timeout = self.timeout();
        let call = Pending {
            id,
            request: request.clone(),
            waiting_ms: 0,
            expires_in_ms: timeout.as_millis() as u64,
            callers: 1,
        };
        state.held.insert(
            id,
            Held {
                request,
                since: now,
                deadline: now + timeout,
                waiters: vec![(waiter, tx)],
                armed_at: None,
            },
        );
        let _ = self.events.send(serde_json::json!({"event": "pending", "call": call}));
        Ticket { id, waiter, answer: rx, expires_in: Some(timeout) }
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
                    return Decided::NotArmed { fact, wait: CONFIRM_DELAY };
                }
                (Some(armed_at), true) if now < armed_at => {
                    return Decided::NotArmed { fact, wait: armed_at - now };
                }
                (Some(_), true) => {}
            }
        }
        let Some(held) = state.held.remove(&id) else {
            return Decided::Unknown;
        };
        drop(state);
        if allow {
            held.answer_all(id, Outcome::Allowed, scope, "");
            self.settled(id, Outcome::Allowed);
        } else {
            held.answer_all(id, Outcome::Denied, scope, "you refused this call in MCP Firewall");
            self.settled(id, Outcome::Denied);
        }
        Decided::Done
    }

    /// One waiter's client gave up: it is answered `Withdrawn`; the call stays pending while
    /// others still wait for it.
    pub async fn withdraw(&self, id: u64, waiter: u64) {
        let mut state = self.state.lock().await;
        let Some(held) = state.held.get_mut(&id) else {
            return;
        };
        if let Some(i) = held.waiters.iter().position(|(w, _)| *w == waiter) {
            let (_, tx) = held.waiters.remove(i);
            let _ = tx.send(Answer {
                id,
                outcome: Outcome::Withdrawn,
                scope: Scope::Once,
                note: "the client cancelled the call".to_owned(),
            });
        }
        if held.waiters.is_empty() {
            state.held.remove(&id);
            self.settled(id, Outcome::Withdrawn);
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
                callers: held.waiters.len(),
            })
            .collect()
    }

    /// Answers every call past its deadline with `TimedOut`. Called periodically.
    pub async fn expire(&self) {
        let now = Instant::now();
        let mut state = self.state.lock().await;
        self.end_pause_if_over(&mut state, now);
        let expired: Vec<u64> =
            state.held.iter().filter(|(_, h)| h.deadline <= now).map(|(id, _)| *id).collect();
        for id in expired {
            if let Some(held) = state.held.remove(&id) {
                let waited = held.deadline.saturating_duration_since(held.since);
                let note = format!("nobody approved it within {} s", waited.as_secs());
                held.answer_all(id, Outcome::TimedOut, Scope::Once, &note);
                self.settled(id, Outcome::TimedOut);
            }
        }
    }

    /// Withdraws every waiter of a shim connection that went away.
    pub async fn withdraw_all(&self, tickets: &[(u64, u64)]) {
        for (id, waiter) in tickets {
            self.withdraw(*id, *waiter).await;
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
            organisation: None,
        }
    }

    #[test]
    fn a_client_sessions_flow_is_kept_while_its_process_runs() {
        let broker = ApprovalBroker::new(Duration::from_secs(5));
        let me = mcpfw_core::approval::client::client_session().expect("a parent process");
        let read = Intake {
            server: "files".into(),
            tool: "read_text_file".into(),
            what: format!("read from {}", "x".repeat(5000)),
        };
        broker.took(me, Some(read), None, vec!["ab".repeat(16)]);
        let taint = broker.taint(&me, &["ab".repeat(16)]);
        assert!(taint.carried.is_some(), "a fragment read earlier");
        let private = taint.private.expect("remembered");
        assert!(private.describe().starts_with("read from xxx"));
        assert!(private.intake.what.len() <= 600, "clipped");
        assert!(taint.external.is_none());
        // A pid whose process has another start time is another (gone) session.
        let gone = ClientSession { start: me.start + 1, ..me };
        broker.took(gone, Some(private.intake.clone()), None, Vec::new());
        assert_eq!(broker.taint(&gone, &[]), SessionTaint::default());
    }

    #[tokio::test]
    async fn a_decision_reaches_the_waiter_once() {
        let broker = ApprovalBroker::new(Duration::from_secs(60));
        let Ticket { id, answer: rx, .. } = broker.ask(request("delete_file")).await;
        assert_eq!(broker.pending().await.len(), 1);
        assert_eq!(broker.decide(id, true, Scope::Once, false).await, Decided::Done);
        assert_eq!(broker.decide(id, false, Scope::Once, false).await, Decided::Unknown);
        assert_eq!(rx.await.unwrap().outcome, Outcome::Allowed);
        assert!(broker.pending().await.is_empty());
    }

    #[tokio::test]
    async fn two_step_calls_need_a_separate_delayed_confirmation() {
        let broker = ApprovalBroker::new(Duration::from_secs(60));
        let mut r = request("delete_file");
        r.confirm = Some("Delete 3 files under /p?".into());
        let Ticket { id, answer: mut rx, .. } = broker.ask(r).await;
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
        assert!(rx.try_recv().is_err(), "one approve must not pass a two-step call");
        tokio::time::sleep(CONFIRM_DELAY).await;
        assert_eq!(broker.decide(id, true, Scope::Once, true).await, Decided::Done);
        assert_eq!(rx.await.unwrap().outcome, Outcome::Allowed);
        // Refusing takes one step.
        let mut r = request("delete_file");
        r.confirm = Some("Delete?".into());
        let Ticket { id, answer: rx, .. } = broker.ask(r).await;
        assert_eq!(broker.decide(id, false, Scope::Once, false).await, Decided::Done);
        assert_eq!(rx.await.unwrap().outcome, Outcome::Denied);
    }

    #[tokio::test]
    async fn deadlines_and_withdrawals_answer_too() {
        let broker = ApprovalBroker::new(Duration::from_millis(10));
        let late = broker.ask(request("a")).await;
        let gone = broker.ask(request("b")).await;
        broker.withdraw(gone.id, gone.waiter).await;
        assert_eq!(gone.answer.await.unwrap().outcome, Outcome::Withdrawn);
        tokio::time::sleep(Duration::from_millis(20)).await;
        broker.expire().await;
        assert_eq!(late.answer.await.unwrap().outcome, Outcome::TimedOut);
    }

    #[tokio::test]
    async fn a_pause_lets_new_asks_through_until_it_ends() {
        let broker = ApprovalBroker::new(Duration::from_secs(60));
        let mut events = broker.subscribe();
        let waiting = broker.ask(request("before")).await;
        assert!(broker.pause(Some(0)).await.is_err(), "a zero-minute pause is refused");
        assert!(broker.pause(Some(MAX_PAUSE_MINUTES + 1)).await.is_err());
        let state = broker.pause(Some(5)).await.unwrap();
        assert_eq!(state.until_ms.unwrap() - state.since_ms, 5 * 60_000);
        assert_eq!(broker.pause_state().await, Some(state));
        // A new ask passes at once and is not listed as pending …
        let passed = broker.ask(request("during")).await;
        let answer = passed.answer.await.unwrap();
        assert_eq!((answer.outcome, answer.scope), (Outcome::Paused, Scope::Once));
        // … while the call that waited before the pause still waits.
        let pending = broker.pending().await;
        assert_eq!((pending.len(), pending[0].id), (1, waiting.id));
        assert!(broker.resume().await);
        assert!(!broker.resume().await, "nothing to resume twice");
        assert_eq!(broker.pause_state().await, None);
        let after = broker.ask(request("after")).await;
        assert_eq!(broker.pending().await.len(), 2, "asks wait again after resuming");
        drop(after);
        let mut seen = Vec::new();
        while let Ok(event) = events.try_recv() {
            seen.push(event["event"].as_str().unwrap_or_default().to_owned());
        }
        assert_eq!(seen, ["pending", "pause", "passed_paused", "pause", "pending"]);
    }

    #[tokio::test]
    async fn the_organisation_policys_asks_are_asked_during_a_pause() {
        let broker = ApprovalBroker::new(Duration::from_secs(60));
        broker.pause(None).await.unwrap();
        let floor = broker.ask(ApprovalRequest { organisation: Some(3), ..request("org") }).await;
        let pending = broker.pending().await;
        assert_eq!((pending.len(), pending[0].id), (1, floor.id));
        assert_eq!(broker.decide(floor.id, true, Scope::Once, false).await, Decided::Done);
        assert_eq!(floor.answer.await.unwrap().outcome, Outcome::Allowed);
    }

    #[tokio::test]
    async fn a_pause_ends_by_itself() {
        let broker = ApprovalBroker::new(Duration::from_secs(60));
        broker.pause(Some(1)).await.unwrap();
        // Move the end into the past rather than waiting a minute.
        broker.state.lock().await.pause.as_mut().unwrap().until = Some(Instant::now());
        let mut events = broker.subscribe();
        broker.expire().await;
        assert_eq!(broker.pause_state().await, None);
        assert_eq!(events.try_recv().unwrap()["how"], "expired");
        let ticket = broker.ask(request("x")).await;
        assert_eq!(broker.pending().await[0].id, ticket.id, "asks wait again");
    }

    #[tokio::test]
    async fn identical_pending_calls_are_asked_once() {
        let broker = ApprovalBroker::new(Duration::from_secs(60));
        let mut r = request("delete_file");
        r.args_digest = Some("abc".into());
        let first = broker.ask(r.clone()).await;
        let second = broker.ask(r.clone()).await;
        let third = broker.ask(r.clone()).await;
        assert_eq!((first.id, second.id), (third.id, third.id), "one pending entry");
        let pending = broker.pending().await;
        assert_eq!((pending.len(), pending[0].callers), (1, 3));
        // One caller cancelling leaves the others waiting.
        broker.withdraw(third.id, third.waiter).await;
        assert_eq!(third.answer.await.unwrap().outcome, Outcome::Withdrawn);
        assert_eq!(broker.pending().await[0].callers, 2);
        // Different arguments are a different question.
        let mut other = r.clone();
        other.args_digest = Some("xyz".into());
        assert_ne!(broker.ask(other).await.id, first.id);
        assert_eq!(broker.decide(first.id, true, Scope::Once, false).await, Decided::Done);
        assert_eq!(first.answer.await.unwrap().outcome, Outcome::Allowed);
        assert_eq!(second.answer.await.unwrap().outcome, Outcome::Allowed);
    }
}
