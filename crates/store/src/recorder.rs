//! [`StoreRecorder`]: the [`Recorder`] that writes to the history from the synchronous relay.
//!
//! The relay threads should not wait for the disk, so [`Recorder::record`] only puts the event
//! on a queue. One background thread (a current-thread tokio runtime owning the
//! [`Store`]) takes everything queued, up to [`MAX_BATCH`] events, and appends it in one
//! transaction. When a batch is small and nobody is waiting for it, the writer lingers up to
//! [`LINGER`] for more, so a steady trickle still makes few transactions; a batch that someone
//! waits for ([`Recorder::record_durable`], [`Recorder::flush`]) is written at once. While it
//! lingers, events do not wake it one by one: a message someone waits for, a full batch or
//! the end of the linger does, and it takes everything queued meanwhile.
//!
//! Nothing accepted is dropped silently: a batch that cannot be written (disk full, the
//! database locked beyond the busy timeout) is retried with backoff, and only then given up
//! with a `tracing::error!` that says how many events were lost; waiters get the error. The
//! queue is bounded ([`QUEUE_CAPACITY`] messages, a few MiB at most): when traffic outruns the
//! disk, the relay waits for room instead of memory growing without limit — nothing is lost,
//! the flood is slowed to what the history can keep. A relay that waits is woken once the
//! writer has taken a batch off the queue, not for each event it takes. A warning is logged
//! when that happens.
//! `record` must therefore be called from plain threads, not from inside an async runtime.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::mpsc;

use super::{ChainKey, Store, StoreError};
use mcpfw_core::package::{Identity, PackageTrust};
use mcpfw_core::policy::file::RuleSpec;
use mcpfw_core::record::{Event, RecordError, Recorder};
use mcpfw_core::text::error_chain;

/// The most events written in one transaction.
pub const MAX_BATCH: usize = 512;

/// How long the writer waits for more events when a batch is small and nobody waits for it.
pub const LINGER: Duration = Duration::from_millis(5);

/// The waits before retrying a batch that could not be written.
const RETRY_BACKOFF: [Duration; 4] = [
    Duration::from_millis(50),
    Duration::from_millis(200),
    Duration::from_millis(800),
    Duration::from_millis(2000),
];

/// The most messages waiting for the writer; beyond it `record` waits (backpressure).
pub const QUEUE_CAPACITY: usize = 1024;

/// The queue length above which the first "falling behind" warning is logged.
const QUEUE_WARN_FIRST: usize = QUEUE_CAPACITY;

/// What the relay and the writer tell each other beyond the queue itself: the writer is
/// woken early from its linger only by a message someone waits for (`urgent`), not by every
/// event; and a relay that found the queue full sleeps until the writer has taken a whole
/// batch off it (`room`), not woken once per event the writer takes.
#[derive(Default)]
struct Signals {
    urgent: tokio::sync::Notify,
    /// How many batches the writer has taken off the queue.
    taken: std::sync::Mutex<u64>,
    room: std::sync::Condvar,
}

impl Signals {
    fn taken(&self) -> u64 {
        *self.taken.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Called by the writer once it has taken what was queued.
    fn took_batch(&self) {
        *self.taken.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.room.notify_all();
    }

    /// Waits until the writer takes another batch than `seen`, or `limit` passes.
    fn wait_for_room(&self, seen: u64, limit: Duration) {
        let taken = self.taken.lock().unwrap_or_else(|p| p.into_inner());
        let _ = self.room.wait_timeout_while(taken, limit, |taken| *taken == seen);
    }
}

/// How long a relay waits for room before it looks again on its own (the writer tells it
/// sooner; this only bounds a missed wake-up).
const ROOM_WAIT: Duration = Duration::from_millis(20);

/// What the writer thread says of a batch, to every caller that waits for it (as text: one
/// error is told to many, and the [`Recorder`] interface carries text).
type Done = std_mpsc::SyncSender<Result<(), String>>;

/// Why the history writer cannot be started or asked.
#[derive(Debug, thiserror::Error)]
pub enum WriterError {
    #[error("cannot start the history writer's runtime")]
    Runtime(#[source] std::io::Error),
    #[error("cannot start the history writer thread")]
    Thread(#[source] std::io::Error),
    #[error("the history writer thread stopped while opening the database")]
    StoppedOpening,
    /// Its queue is full; ask again later.
    #[error("the history writer is busy")]
    Busy,
    #[error("the history writer has stopped")]
    Stopped,
    #[error("the history writer stopped before answering")]
    NoAnswer,
    /// The database could not be opened or read.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The caller's set-up (see [`StoreRecorder::start_with`]) failed.
    #[error(transparent)]
    Setup(Box<dyn std::error::Error + Send + Sync>),
}

enum Message {
    Event(Event),
    /// An event whose sender waits until its batch is committed.
    Durable(Event, Done),
    /// Answered once everything queued before it is committed (or given up).
    Flush(Done),
    /// A server's tool definitions from a `tools/list` result: (server, [(name, definition)]).
    Tools(String, std::sync::Arc<[(String, String)]>),
    /// Check tools against their pins and answer at once.
    CheckTools(String, Vec<(String, String)>, PinAnswer),
    /// Check a server's identity and answer at once.
    CheckIdentity(String, serde_json::Value, IdentityAnswer),
    /// Check a server's package against its pin and answer at once.
    CheckPackage(String, Box<Identity>, PackageAnswer),
    /// Read the database rules and answer at once.
    Rules(RulesAnswer),
}

type RulesAnswer = std_mpsc::SyncSender<Result<Vec<(i64, RuleSpec)>, StoreError>>;

type PackageAnswer = std_mpsc::SyncSender<Result<PackageTrust, String>>;

type IdentityAnswer = std_mpsc::SyncSender<Result<Option<serde_json::Value>, String>>;

type PinAnswer = std_mpsc::SyncSender<Result<Vec<mcpfw_core::record::Trust>, String>>;

/// Writes events to the history from a background thread; see the [module docs](self).
///
/// Dropping it writes everything still queued and waits for the writer thread to finish.
pub struct StoreRecorder {
    sender: Option<mpsc::Sender<Message>>,
    signals: Arc<Signals>,
    writer: Option<JoinHandle<()>>,
    queued: Arc<AtomicUsize>,
    /// The next queue length that triggers a warning.
    warn_at: AtomicUsize,
}

impl std::fmt::Debug for StoreRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreRecorder")
            .field("queued", &self.queued.load(Ordering::Relaxed))
            .finish()
    }
}

impl StoreRecorder {
    /// Opens the history at `store_path` with `key` on a new writer thread; returns once the
    /// database is open (or why it could not be opened).
    pub fn start(store_path: &Path, key: ChainKey) -> Result<StoreRecorder, WriterError> {
        Self::start_with(store_path, key, |_| async { Ok::<_, StoreError>(()) })
            .map(|(recorder, ())| recorder)
    }

    /// Like [`StoreRecorder::start`], and runs `setup` on the opened store (on the writer's
    /// runtime, before any event is written) — so a caller that needs the database at start-up
    /// does not open it a second time. Returns what `setup` returned.
    pub fn start_with<R, E, F, Fut>(
        store_path: &Path,
        key: ChainKey,
        setup: F,
    ) -> Result<(StoreRecorder, R), WriterError>
    where
        R: Send + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
        F: FnOnce(Store) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<R, E>>,
    {
        let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let (opened_tx, opened_rx) = std_mpsc::sync_channel::<Result<R, WriterError>>(1);
        let queued = Arc::new(AtomicUsize::new(0));
        let path = store_path.to_owned();
        let writer_queued = queued.clone();
        let signals = Arc::new(Signals::default());
        let writer_signals = signals.clone();
        let writer = std::thread::Builder::new()
            .name("mcpfw-store-writer".into())
            .spawn(move || {
                // The normal priority, unlike the result scanner: the shim's start-up waits for
                // this thread to open the history and load the policy, and a tool list waits
                // for its pin check here. At a lower priority a machine busy with other work
                // starved both (a tool list's median round trip went from 13–20 ms to
                // 13–120 ms on a loaded 2-core machine). A flood cannot take the relay's place
                // either way: the queue is bounded and the relay waits for room.
                let runtime =
                    match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                        Ok(runtime) => runtime,
                        Err(e) => {
                            let _ = opened_tx.send(Err(WriterError::Runtime(e)));
                            return;
                        }
                    };
                runtime.block_on(async move {
                    let store = match Store::open(&path, key).await {
                        Ok(store) => store,
                        Err(e) => {
                            let _ = opened_tx.send(Err(e.into()));
                            return;
                        }
                    };
                    match setup(store.clone()).await {
                        Ok(value) => {
                            let _ = opened_tx.send(Ok(value));
                        }
                        Err(e) => {
                            let _ = opened_tx.send(Err(WriterError::Setup(e.into())));
                            store.close().await;
                            return;
                        }
                    }
                    write_loop(&store, receiver, &writer_queued, &writer_signals).await;
                    store.close().await;
                });
            })
            .map_err(WriterError::Thread)?;
        match opened_rx.recv() {
            Ok(Ok(value)) => Ok((
                StoreRecorder {
                    sender: Some(sender),
                    signals,
                    writer: Some(writer),
                    queued,
                    warn_at: AtomicUsize::new(QUEUE_WARN_FIRST),
                },
                value,
            )),
            Ok(Err(e)) => {
                let _ = writer.join();
                Err(e)
            }
            Err(_) => {
                let _ = writer.join();
                Err(WriterError::StoppedOpening)
            }
        }
    }

    /// A handle that reads the database rules through this writer (for a policy that reloads
    /// while the server runs), or `None` once the writer stopped.
    pub fn rules_reader(&self) -> Option<RulesReader> {
        self.sender.clone().map(|sender| RulesReader { sender, signals: self.signals.clone() })
    }

    /// Events accepted but not yet committed.
    pub fn queued(&self) -> usize {
        self.queued.load(Ordering::Relaxed)
    }

    /// Queues a message; gives it back (boxed: the failure path only) if the writer stopped.
    fn send(&self, message: Message) -> Result<(), Box<Message>> {
        let Some(sender) = &self.sender else {
            return Err(Box::new(message));
        };
        let events = usize::from(matches!(message, Message::Event(_) | Message::Durable(..)));
        let queued = self.queued.fetch_add(events, Ordering::Relaxed) + events;
        let warn_at = self.warn_at.load(Ordering::Relaxed);
        if queued >= warn_at
            && self
                .warn_at
                .compare_exchange(warn_at, warn_at * 10, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                queued,
                "the history writer is falling behind: {queued} events are waiting to be written"
            );
        }
        // Only what someone waits for, or the event that makes a full batch, cuts the writer's
        // linger short.
        let urgent = !matches!(message, Message::Event(_) | Message::Tools(..))
            || (queued >= MAX_BATCH && queued - events < MAX_BATCH);
        let mut message = message;
        let sent = loop {
            let seen = self.signals.taken();
            match sender.try_send(message) {
                Ok(()) => break Ok(()),
                // Full: wait for room. Never lose, never grow without bound.
                Err(mpsc::error::TrySendError::Full(back)) => {
                    message = back;
                    wait_here(|| self.signals.wait_for_room(seen, ROOM_WAIT));
                }
                Err(mpsc::error::TrySendError::Closed(back)) => break Err(Box::new(back)),
            }
        };
        if urgent && sent.is_ok() {
            self.signals.urgent.notify_one();
        }
        sent.inspect_err(|_| {
            self.queued.fetch_sub(events, Ordering::Relaxed);
        })
    }

    /// Sends a message with a completion handle and waits for the answer.
    fn send_and_wait(
        &self,
        make: impl FnOnce(Done) -> Message,
    ) -> Result<Result<(), String>, Box<Message>> {
        let (done_tx, done_rx) = std_mpsc::sync_channel(1);
        self.send(make(done_tx))?;
        Ok(wait_here(|| done_rx.recv())
            .unwrap_or_else(|_| Err("the history writer stopped before answering".to_owned())))
    }
}

/// Waits for the writer. Recorders are called from the relay's plain threads, and from the HTTP
/// proxy's async tasks: there a wait (a full queue, a refusal being committed) must hand the
/// runtime worker's other tasks over first — and `blocking_send` would panic on a worker.
fn wait_here<T>(wait: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(wait)
        }
        _ => wait(),
    }
}

/// Reads the database rules through a [`StoreRecorder`]'s writer (see
/// [`StoreRecorder::rules_reader`]).
#[derive(Clone)]
pub struct RulesReader {
    sender: mpsc::Sender<Message>,
    signals: Arc<Signals>,
}

impl RulesReader {
    /// The rules as the policy engine takes them. Waits for the writer's answer; never waits
    /// for room in its queue (a full queue is an error: ask again later).
    pub fn policy_rules(&self) -> Result<Vec<(i64, RuleSpec)>, WriterError> {
        let (tx, rx) = std_mpsc::sync_channel(1);
        self.sender.try_send(Message::Rules(tx)).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => WriterError::Busy,
            mpsc::error::TrySendError::Closed(_) => WriterError::Stopped,
        })?;
        self.signals.urgent.notify_one();
        match wait_here(|| rx.recv()) {
            Ok(answer) => Ok(answer?),
            Err(_) => Err(WriterError::NoAnswer),
        }
    }
}

impl Recorder for StoreRecorder {
    fn record(&self, event: Event) {
        if let Err(message) = self.send(Message::Event(event))
            && let Message::Event(event) | Message::Durable(event, _) = *message
        {
            tracing::error!(
                server = %event.server,
                ts_ms = event.ts_ms,
                verdict = event.verdict.as_str(),
                "an event was not recorded: the history writer has stopped"
            );
        }
    }

    fn record_durable(&self, event: Event) -> Result<(), RecordError> {
        match self.send_and_wait(|done| Message::Durable(event, done)) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(why)) => Err(RecordError(why)),
            Err(_) => Err(RecordError("the history writer has stopped".to_owned())),
        }
    }

    fn flush(&self) {
        let _ = self.send_and_wait(Message::Flush);
    }

    fn tools_listed(&self, server: &str, tools: &[(String, String)]) {
        if self.send(Message::Tools(server.to_owned(), tools.into())).is_err() {
            tracing::error!(
                server,
                "tool definitions were not recorded: the history writer has stopped"
            );
        }
    }

    fn check_tools(
        &self,
        server: &str,
        tools: &[(String, String)],
    ) -> Option<Result<Vec<mcpfw_core::record::Trust>, RecordError>> {
        let (tx, rx) = std_mpsc::sync_channel(1);
        let message = Message::CheckTools(server.to_owned(), tools.to_vec(), tx);
        if self.send(message).is_err() {
            return Some(Err(RecordError("the history writer has stopped".to_owned())));
        }
        Some(match wait_here(|| rx.recv()) {
            Ok(answer) => answer.map_err(RecordError),
            Err(_) => Err(RecordError("the history writer stopped before answering".to_owned())),
        })
    }

    fn check_identity(
        &self,
        server: &str,
        identity: &serde_json::Value,
    ) -> Option<Result<Option<serde_json::Value>, RecordError>> {
        let (tx, rx) = std_mpsc::sync_channel(1);
        let message = Message::CheckIdentity(server.to_owned(), identity.clone(), tx);
        if self.send(message).is_err() {
            return Some(Err(RecordError("the history writer has stopped".to_owned())));
        }
        Some(match wait_here(|| rx.recv()) {
            Ok(answer) => answer.map_err(RecordError),
            Err(_) => Err(RecordError("the history writer stopped before answering".to_owned())),
        })
    }

    fn check_package(
        &self,
        server: &str,
        package: &Identity,
    ) -> Option<Result<PackageTrust, RecordError>> {
        let (tx, rx) = std_mpsc::sync_channel(1);
        let message = Message::CheckPackage(server.to_owned(), Box::new(package.clone()), tx);
        if self.send(message).is_err() {
            return Some(Err(RecordError("the history writer has stopped".to_owned())));
        }
        Some(match wait_here(|| rx.recv()) {
            Ok(answer) => answer.map_err(RecordError),
            Err(_) => Err(RecordError("the history writer stopped before answering".to_owned())),
        })
    }
}

impl Drop for StoreRecorder {
    fn drop(&mut self) {
        // Closing the queue lets the writer drain it, commit and stop.
        drop(self.sender.take());
        if let Some(writer) = self.writer.take()
            && writer.join().is_err()
        {
            tracing::error!("the history writer thread panicked; recent events may be missing");
        }
    }
}

/// Takes batches off the queue and appends them until the queue is closed and empty.
async fn write_loop(
    store: &Store,
    mut receiver: mpsc::Receiver<Message>,
    queued: &AtomicUsize,
    signals: &Signals,
) {
    let mut events = Vec::with_capacity(MAX_BATCH);
    let mut waiters: Vec<Done> = Vec::new();
    // After a batch is given up, later batches get one attempt each until one succeeds, so a
    // database that stays unwritable does not hold every batch (and `drop`) for the full backoff.
    let mut healthy = true;
    let mut tools = Vec::new();
    let mut checks = Vec::new();
    while let Some(first) = receiver.recv().await {
        let mut flushes: Vec<Done> = Vec::new();
        let mut q = Queues {
            events: &mut events,
            waiters: &mut waiters,
            flushes: &mut flushes,
            tools: &mut tools,
            checks: &mut checks,
        };
        q.take(first);
        // Everything already queued, up to a full batch.
        while q.events.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(message) => q.take(message),
                Err(_) => break,
            }
        }
        // A small batch nobody waits for: linger briefly for more. The writer sleeps through
        // it rather than waking for each event: a message someone waits for, a queue that
        // fills up, or the end of the linger wakes it, and it takes what came meanwhile.
        if q.nobody_waits() && q.events.len() < MAX_BATCH {
            let deadline = tokio::time::Instant::now() + LINGER;
            while q.events.len() < MAX_BATCH && q.nobody_waits() {
                let woken = tokio::select! {
                    () = signals.urgent.notified() => true,
                    () = tokio::time::sleep_until(deadline) => false,
                };
                let mut closed = false;
                while q.events.len() < MAX_BATCH {
                    match receiver.try_recv() {
                        Ok(message) => q.take(message),
                        Err(mpsc::error::TryRecvError::Empty) => break,
                        Err(mpsc::error::TryRecvError::Disconnected) => {
                            closed = true;
                            break;
                        }
                    }
                }
                if !woken || closed {
                    break;
                }
            }
        }
        // What waited for room may go on: the queue has room for a batch again.
        signals.took_batch();

        let outcome = if events.is_empty() {
            Ok(())
        } else {
            let outcome = write_batch(store, &events, healthy).await;
            healthy = outcome.is_ok();
            queued.fetch_sub(events.len(), Ordering::Relaxed);
            events.clear();
            outcome
        };
        for waiter in waiters.drain(..) {
            let _ = waiter.send(outcome.clone());
        }
        let now = mcpfw_core::record::now_ms();
        // Questions first: a relay thread waits for each answer (a tool list is held until its
        // pins are checked), while the tool definitions below are only kept.
        for check in checks.drain(..) {
            match check {
                Check::Tools(server, listed, answer) => {
                    let checked = store.check_tools(&server, &listed, now).await;
                    let _ = answer.send(checked.map_err(|e| error_chain(&e)));
                }
                Check::Identity(server, identity, answer) => {
                    let checked = store.check_identity(&server, &identity).await;
                    let _ = answer.send(checked.map_err(|e| error_chain(&e)));
                }
                Check::Package(server, package, answer) => {
                    let checked = store.check_package(&server, &package, now).await;
                    let _ = answer.send(checked.map_err(|e| error_chain(&e)));
                }
                Check::Rules(answer) => {
                    let rules = store.policy_rules().await;
                    let _ = answer.send(rules);
                }
            }
        }
        for (server, listed) in tools.drain(..) {
            // One transaction per list (not one per tool).
            if let Err(e) = store.record_tools(&server, &listed, now).await {
                tracing::error!(
                    %server,
                    "the listed tool definitions were not recorded: {}",
                    error_chain(&e)
                );
            }
        }
        for flush in flushes {
            let _ = flush.send(Ok(()));
        }
    }
}

type ToolLists = Vec<(String, std::sync::Arc<[(String, String)]>)>;
/// A question for the store that someone waits for.
enum Check {
    Tools(String, Vec<(String, String)>, PinAnswer),
    Identity(String, serde_json::Value, IdentityAnswer),
    Package(String, Box<Identity>, PackageAnswer),
    Rules(RulesAnswer),
}

type PinChecks = Vec<Check>;

/// What one turn of the writer collected from the queue.
struct Queues<'a> {
    events: &'a mut Vec<Event>,
    waiters: &'a mut Vec<Done>,
    flushes: &'a mut Vec<Done>,
    tools: &'a mut ToolLists,
    checks: &'a mut PinChecks,
}

impl Queues<'_> {
    fn take(&mut self, message: Message) {
        match message {
            Message::Event(event) => self.events.push(event),
            Message::Durable(event, done) => {
                self.events.push(event);
                self.waiters.push(done);
            }
            Message::Flush(done) => self.flushes.push(done),
            Message::Tools(server, listed) => self.tools.push((server, listed)),
            Message::CheckTools(server, listed, answer) => {
                self.checks.push(Check::Tools(server, listed, answer))
            }
            Message::CheckIdentity(server, identity, answer) => {
                self.checks.push(Check::Identity(server, identity, answer))
            }
            Message::CheckPackage(server, package, answer) => {
                self.checks.push(Check::Package(server, package, answer))
            }
            Message::Rules(answer) => self.checks.push(Check::Rules(answer)),
        }
    }

    fn nobody_waits(&self) -> bool {
        self.waiters.is_empty() && self.flushes.is_empty() && self.checks.is_empty()
    }
}

/// Appends one batch, retrying (when `retry`) failures that may pass; gives up with an error
/// log. A broken chain is never retried: it does not mend itself.
async fn write_batch(store: &Store, events: &[Event], retry: bool) -> Result<(), String> {
    let retries = if retry { RETRY_BACKOFF.len() } else { 0 };
    let mut attempt = 0;
    loop {
        match store.append(events).await {
            Ok(()) => return Ok(()),
            Err(e) if !matches!(e, StoreError::ChainBroken(_)) && attempt < retries => {
                tracing::warn!(
                    events = events.len(),
                    "writing to the history failed, retrying in {:?}: {}",
                    RETRY_BACKOFF[attempt],
                    error_chain(&e)
                );
                tokio::time::sleep(RETRY_BACKOFF[attempt]).await;
                attempt += 1;
            }
            Err(e) => {
                let first = events.first().map_or(0, |e| e.ts_ms);
                let last = events.last().map_or(0, |e| e.ts_ms);
                tracing::error!(
                    events = events.len(),
                    first_ts_ms = first,
                    last_ts_ms = last,
                    database = %store.path().display(),
                    "{} events could not be recorded and are lost: {}",
                    events.len(),
                    error_chain(&e)
                );
                return Err(error_chain(&e));
            }
        }
    }
}
