//! The history replicated to PostgreSQL, and every machine's chain verified there.
//!
//! # What PostgreSQL holds
//!
//! `mcpfw_events`: every event of every machine, with the row's chain hash (the local HMAC
//! chain's, see `chain.rs`) and an Ed25519 signature by the machine's key ([`Machine`]) over
//! the row as PostgreSQL holds it; unique on `(machine_id, history, event_id)`. `history` names
//! one local chain (a machine whose database was moved aside starts a new chain, whose event
//! ids start again at 1). `mcpfw_chains`: one row per machine and chain — host name, public
//! key, the first and last event id replicated, the last row's hash, and a signature over them
//! (the head), so rows removed at the end are noticed too.
//!
//! Why signatures and not the HMAC chain alone: the chain key is secret to each machine, so a
//! verifier holding only the database could not recompute it. A signature can be checked by
//! anyone with the public key, and cannot be made without the machine's private key. What is
//! still trusted: the public key stored beside the rows. Someone who can write the database can
//! replace a machine's key and re-sign everything; compare the fingerprint `mcpfw log --verify
//! --postgres` prints with the one the machine itself shows (`mcpfw status`).
//!
//! # How replication runs
//!
//! The local SQLite file stays the source of truth. A [`Replicator`] (in the daemon and in each
//! shim; one per machine at a time, by an exclusive lock on `<data>/replication.lock`) reads
//! the events after a persisted cursor (`replication_cursor`, per target) in batches of
//! [`BATCH`], inserts each batch and moves the head in one PostgreSQL transaction (`ON CONFLICT
//! DO NOTHING`), and only then moves the cursor. A failure anywhere leaves the cursor where it
//! was, so the batch is sent again later; a batch that was committed but not acknowledged is
//! skipped by the unique key. Nothing waits for it: the relay writes to SQLite only.

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ring::signature::{ED25519, UnparsedPublicKey};
use sha2::{Digest, Sha256};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Postgres, QueryBuilder};
use tokio::sync::watch;

use crate::chain::{self, EVENT_COLUMNS, EventRow};
use crate::machine::{Machine, MachineError, fingerprint};
use crate::{ChainKey, Store};
use mcpfw_core::record::now_ms;

/// Events per PostgreSQL transaction (26 parameters each; PostgreSQL allows 65,535).
pub const BATCH: i64 = 500;

/// How often a replicator looks for new events when it has caught up.
pub const IDLE: Duration = Duration::from_millis(500);

/// The waits after a failure, the last repeated while PostgreSQL stays unreachable.
const BACKOFF: [Duration; 4] = [
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
];

/// How often a process that does not hold the replication lock tries to take it.
const LOCK_RETRY: Duration = Duration::from_secs(2);

/// What went wrong with PostgreSQL or the local side of replication.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error(
        "`{url}` is not a PostgreSQL address ({detail}); expected postgres://USER@HOST:PORT/DATABASE"
    )]
    Url { url: String, detail: String },
    #[error("PostgreSQL {target}: {source}")]
    Db { target: String, source: sqlx::Error },
    /// The local history cannot be read (its whole chain of causes is in the message).
    #[error("the local history: {}", mcpfw_core::text::error_chain(.0))]
    Local(crate::StoreError),
    #[error("cannot start the replicator thread: {0}")]
    Thread(std::io::Error),
    #[error(transparent)]
    Machine(#[from] MachineError),
    #[error(
        "PostgreSQL {target} has this machine ({machine}) registered with another public key \
         ({theirs}, this machine's is {ours}); replication stopped. Someone else uses this \
         machine id, or the machine's identity file was replaced"
    )]
    KeyMismatch { target: String, machine: String, theirs: String, ours: String },
    #[error(
        "PostgreSQL {target} holds a different event {seq} for this machine's history than the \
         local one: the local history was restored from an older copy, or the rows were edited. \
         Replication stopped; run `mcpfw log --verify --postgres …`"
    )]
    Diverged { target: String, seq: i64 },
    #[error("the last pass did not finish in time")]
    Timeout,
}

/// A PostgreSQL database to replicate to or verify. (`Debug` shows the address without its
/// password.)
#[derive(Clone)]
pub struct Target {
    options: PgConnectOptions,
    label: String,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Target").field(&self.label).finish()
    }
}

impl Target {
    /// Parses a `postgres://` URL (libpq's form; `?sslmode=require` and the like are honoured).
    pub fn parse(url: &str) -> Result<Target, PgError> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(PgError::Url {
                url: redact(url),
                detail: "the scheme must be postgres:// or postgresql://".into(),
            });
        }
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| PgError::Url { url: redact(url), detail: e.to_string() })?
            .log_statements(tracing::log::LevelFilter::Trace)
            .application_name("mcpfw");
        let label = format!(
            "postgres://{}@{}:{}/{}",
            options.get_username(),
            options.get_host(),
            options.get_port(),
            options.get_database().unwrap_or(options.get_username())
        );
        Ok(Target { options, label })
    }

    /// The address without its password: how logs and the cursor name it.
    pub fn label(&self) -> &str {
        &self.label
    }

    fn pool(&self) -> PgPool {
        PgPoolOptions::new()
            .max_connections(1)
            // An unreachable server is reported (and retried) after this long.
            .acquire_timeout(Duration::from_secs(2))
            .connect_lazy_with(self.options.clone())
    }

    fn db(&self) -> impl Fn(sqlx::Error) -> PgError + '_ {
        move |source| PgError::Db { target: self.label.clone(), source }
    }
}

/// A URL with its password replaced by `***`, for error messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.find(':') {
                Some(colon) => {
                    format!("{}{}:***{}", &url[..scheme + 3], &userinfo[..colon], &url[at..])
                }
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// The tables, created if missing (under an advisory lock: two machines starting at once).
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS mcpfw_chains (
    machine_id TEXT        NOT NULL,
    history    TEXT        NOT NULL,
    hostname   TEXT        NOT NULL,
    public_key BYTEA       NOT NULL,
    start_seq  BIGINT      NOT NULL,
    head_seq   BIGINT      NOT NULL,
    head_hash  BYTEA       NOT NULL,
    head_sig   BYTEA       NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (machine_id, history)
);
CREATE TABLE IF NOT EXISTS mcpfw_events (
    machine_id       TEXT   NOT NULL,
    history          TEXT   NOT NULL,
    event_id         BIGINT NOT NULL,
    ts_ms            BIGINT NOT NULL,
    server           TEXT   NOT NULL,
    session          TEXT   NOT NULL,
    direction        TEXT   NOT NULL,
    kind             TEXT   NOT NULL,
    method           TEXT,
    rpc_id           TEXT,
    tool             TEXT,
    category         TEXT,
    era              TEXT   NOT NULL,
    protocol_version TEXT,
    verdict          TEXT   NOT NULL,
    decided_by       TEXT,
    reason           TEXT,
    latency_us       BIGINT,
    cancels          TEXT,
    args_digest      TEXT,
    args_redacted    TEXT,
    result_status    TEXT,
    findings         TEXT   NOT NULL,
    bytes            BIGINT NOT NULL,
    hash             BYTEA  NOT NULL,
    sig              BYTEA  NOT NULL,
    PRIMARY KEY (machine_id, history, event_id)
);
CREATE INDEX IF NOT EXISTS mcpfw_events_by_time ON mcpfw_events (ts_ms);
CREATE INDEX IF NOT EXISTS mcpfw_events_by_verdict ON mcpfw_events (verdict, ts_ms);
";

/// An arbitrary constant naming MCP Firewall's schema lock.
const SCHEMA_LOCK: i64 = 0x6d63_7066_7701;

async fn ensure_schema(pool: &PgPool, target: &Target) -> Result<(), PgError> {
    let db = target.db();
    let mut tx = pool.begin().await.map_err(&db)?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(SCHEMA_LOCK)
        .execute(&mut *tx)
        .await
        .map_err(&db)?;
    sqlx::raw_sql(SCHEMA).execute(&mut *tx).await.map_err(&db)?;
    tx.commit().await.map_err(&db)
}

/// PostgreSQL text cannot hold NUL: it is replaced by U+FFFD in what is sent (and signed).
fn pg_text(text: &mut String) {
    if text.contains('\0') {
        *text = text.replace('\0', "\u{fffd}");
    }
}

fn for_postgres(mut row: EventRow) -> EventRow {
    for text in [
        &mut row.server,
        &mut row.session,
        &mut row.direction,
        &mut row.kind,
        &mut row.era,
        &mut row.verdict,
        &mut row.findings,
    ] {
        pg_text(text);
    }
    for text in [
        &mut row.method,
        &mut row.rpc_id,
        &mut row.tool,
        &mut row.category,
        &mut row.protocol_version,
        &mut row.decided_by,
        &mut row.reason,
        &mut row.cancels,
        &mut row.args_digest,
        &mut row.args_redacted,
        &mut row.result_status,
    ]
    .into_iter()
    .flatten()
    {
        pg_text(text);
    }
    row
}

/// What a row's signature covers: the machine, the chain, the canonical encoding (which holds
/// the event id) and the chain hash.
fn event_message(machine: &str, history: &str, row: &EventRow) -> Vec<u8> {
    let mut message = format!("mcpfw-pg-event-v1\0{machine}\0{history}\0").into_bytes();
    message.extend_from_slice(&row.canonical());
    message.extend_from_slice(&row.hash);
    message
}

/// What a chain head's signature covers.
fn head_message(machine: &str, history: &str, start: i64, head: i64, hash: &[u8]) -> Vec<u8> {
    let mut message = format!("mcpfw-pg-head-v1\0{machine}\0{history}\0").into_bytes();
    message.extend_from_slice(&start.to_be_bytes());
    message.extend_from_slice(&head.to_be_bytes());
    message.extend_from_slice(hash);
    message
}

impl Store {
    /// The name of this database's chain: 16 hex characters from the key's fingerprint and the
    /// chain's creation time (a history started anew gets a new name).
    pub async fn history_id(&self) -> crate::Result<String> {
        let (fingerprint, created): (String, i64) =
            sqlx::query_as("SELECT key_fingerprint, created_ms FROM chain_meta WHERE id = 1")
                .fetch_one(&self.pool)
                .await
                .map_err(|e| self.db_error("read", e))?;
        let digest = Sha256::digest(format!("mcpfw-history-v1\0{fingerprint}\0{created}"));
        Ok(hex::encode(&digest[..8]))
    }

    async fn rows_after(&self, seq: i64, limit: i64) -> crate::Result<Vec<EventRow>> {
        sqlx::query_as(&format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2"
        ))
        .bind(seq)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.db_error("read", e))
    }

    /// The last event replicated to `target` (0 for none).
    pub async fn replication_cursor(&self, target: &str) -> crate::Result<i64> {
        let seq: Option<i64> =
            sqlx::query_scalar("SELECT seq FROM replication_cursor WHERE target = ?")
                .bind(target)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| self.db_error("read", e))?;
        Ok(seq.unwrap_or(0))
    }

    async fn set_replication_cursor(&self, target: &str, seq: i64) -> crate::Result<()> {
        sqlx::query(
            "INSERT INTO replication_cursor (target, seq, updated_ms) VALUES (?1, ?2, ?3) \
             ON CONFLICT (target) DO UPDATE SET seq = ?2, updated_ms = ?3",
        )
        .bind(target)
        .bind(seq)
        .bind(chain::to_i64(now_ms()))
        .execute(&self.pool)
        .await
        .map_err(|e| self.db_error("write to", e))?;
        Ok(())
    }

    /// The newest seq in the history (0 when empty).
    pub async fn last_seq(&self) -> crate::Result<i64> {
        let seq: Option<i64> = sqlx::query_scalar("SELECT max(seq) FROM events")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| self.db_error("read", e))?;
        Ok(seq.unwrap_or(0))
    }
}

/// One replication pass: everything after the cursor, batch by batch. Returns the rows sent.
pub async fn replicate_once(
    store: &Store,
    machine: &Machine,
    target: &Target,
) -> Result<u64, PgError> {
    let pool = target.pool();
    let result = Session::new(store, machine, target, &pool).await;
    let result = match result {
        Ok(mut session) => session.pass().await,
        Err(e) => Err(e),
    };
    pool.close().await;
    result
}

/// A replicator's view of one target: the schema is there and the chain row is known.
struct Session<'a> {
    store: &'a Store,
    machine: &'a Machine,
    target: &'a Target,
    pool: &'a PgPool,
    history: String,
}

impl<'a> Session<'a> {
    async fn new(
        store: &'a Store,
        machine: &'a Machine,
        target: &'a Target,
        pool: &'a PgPool,
    ) -> Result<Session<'a>, PgError> {
        ensure_schema(pool, target).await?;
        let history = store.history_id().await.map_err(PgError::Local)?;
        Ok(Session { store, machine, target, pool, history })
    }

    /// The chain row's start and head, after checking its key is this machine's.
    async fn chain_row(&self) -> Result<Option<(i64, i64)>, PgError> {
        let row: Option<(i64, i64, Vec<u8>)> = sqlx::query_as(
            "SELECT start_seq, head_seq, public_key FROM mcpfw_chains \
             WHERE machine_id = $1 AND history = $2",
        )
        .bind(&self.machine.id)
        .bind(&self.history)
        .fetch_optional(self.pool)
        .await
        .map_err(self.target.db())?;
        match row {
            Some((_, _, key)) if key != self.machine.public_key() => Err(PgError::KeyMismatch {
                target: self.target.label.clone(),
                machine: self.machine.id.clone(),
                theirs: fingerprint(&key),
                ours: self.machine.fingerprint(),
            }),
            Some((start, head, _)) => Ok(Some((start, head))),
            None => Ok(None),
        }
    }

    async fn pass(&mut self) -> Result<u64, PgError> {
        let label = self.target.label.as_str();
        let local = self.store.replication_cursor(label).await.map_err(PgError::Local)?;
        let chain_row = self.chain_row().await?;
        // PostgreSQL restored from an older backup (or emptied) is filled again from its head.
        let mut cursor = local.min(chain_row.map_or(0, |(_, head)| head));
        let mut start = chain_row.map(|(start, _)| start);
        let mut sent = 0u64;
        loop {
            let rows = self.store.rows_after(cursor, BATCH).await.map_err(PgError::Local)?;
            let Some(first) = rows.first().map(|r| r.seq) else { break };
            if first != cursor + 1 && cursor != 0 {
                tracing::warn!(
                    target = label,
                    "events {} to {} were pruned from the local history before they were \
                     replicated; verification in PostgreSQL will report the gap",
                    cursor + 1,
                    first - 1
                );
            }
            let start_seq = *start.get_or_insert(first);
            let last = self.send(start_seq, rows).await?;
            sent += u64::try_from(last - cursor).unwrap_or(0);
            self.store.set_replication_cursor(label, last).await.map_err(PgError::Local)?;
            cursor = last;
        }
        Ok(sent)
    }

    /// Sends one batch and moves the head, in one transaction; returns the batch's last seq.
    async fn send(&self, start: i64, rows: Vec<EventRow>) -> Result<i64, PgError> {
        let db = self.target.db();
        let (machine, history) = (&self.machine.id, &self.history);
        let rows: Vec<(EventRow, Vec<u8>)> = rows
            .into_iter()
            .map(for_postgres)
            .map(|row| {
                let sig = self.machine.sign(&event_message(machine, history, &row));
                (row, sig)
            })
            .collect();
        let (Some((first, _)), Some((last, _))) = (rows.first(), rows.last()) else {
            return Ok(start);
        };
        let (first, last_seq, last_hash) = (first.seq, last.seq, last.hash.clone());
        let mut insert = QueryBuilder::<Postgres>::new(
            "INSERT INTO mcpfw_events (machine_id, history, event_id, ts_ms, server, session, \
             direction, kind, method, rpc_id, tool, category, era, protocol_version, verdict, \
             decided_by, reason, latency_us, cancels, args_digest, args_redacted, \
             result_status, findings, bytes, hash, sig) ",
        );
        insert.push_values(&rows, |mut b, (row, sig)| {
            b.push_bind(machine)
                .push_bind(history)
                .push_bind(row.seq)
                .push_bind(row.ts_ms)
                .push_bind(&row.server)
                .push_bind(&row.session)
                .push_bind(&row.direction)
                .push_bind(&row.kind)
                .push_bind(&row.method)
                .push_bind(&row.rpc_id)
                .push_bind(&row.tool)
                .push_bind(&row.category)
                .push_bind(&row.era)
                .push_bind(&row.protocol_version)
                .push_bind(&row.verdict)
                .push_bind(&row.decided_by)
                .push_bind(&row.reason)
                .push_bind(row.latency_us)
                .push_bind(&row.cancels)
                .push_bind(&row.args_digest)
                .push_bind(&row.args_redacted)
                .push_bind(&row.result_status)
                .push_bind(&row.findings)
                .push_bind(row.bytes)
                .push_bind(&row.hash)
                .push_bind(sig);
        });
        insert.push(" ON CONFLICT DO NOTHING");
        let mut tx = self.pool.begin().await.map_err(&db)?;
        let inserted = insert.build().execute(&mut *tx).await.map_err(&db)?.rows_affected();
        if inserted < rows.len() as u64 {
            // Rows already there: sent before without the acknowledgement reaching us (fine),
            // or a different history under the same name (not fine: stop and say so).
            let stored: Vec<(i64, Vec<u8>)> = sqlx::query_as(
                "SELECT event_id, hash FROM mcpfw_events WHERE machine_id = $1 AND history = $2 \
                 AND event_id BETWEEN $3 AND $4",
            )
            .bind(machine)
            .bind(history)
            .bind(first)
            .bind(last_seq)
            .fetch_all(&mut *tx)
            .await
            .map_err(&db)?;
            for (seq, hash) in stored {
                if let Some((row, _)) = rows.iter().find(|(row, _)| row.seq == seq)
                    && row.hash != hash
                {
                    return Err(PgError::Diverged { target: self.target.label.clone(), seq });
                }
            }
        }
        let head_sig =
            self.machine.sign(&head_message(machine, history, start, last_seq, &last_hash));
        sqlx::query(
            "INSERT INTO mcpfw_chains (machine_id, history, hostname, public_key, start_seq, \
             head_seq, head_hash, head_sig) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (machine_id, history) DO UPDATE SET hostname = excluded.hostname, \
             head_seq = excluded.head_seq, head_hash = excluded.head_hash, \
             head_sig = excluded.head_sig, updated_at = now() \
             WHERE mcpfw_chains.head_seq < excluded.head_seq",
        )
        .bind(machine)
        .bind(history)
        .bind(&self.machine.hostname)
        .bind(self.machine.public_key())
        .bind(start)
        .bind(last_seq)
        .bind(&last_hash)
        .bind(&head_sig)
        .execute(&mut *tx)
        .await
        .map_err(&db)?;
        tx.commit().await.map_err(&db)?;
        Ok(last_seq)
    }
}

/// What replication needs: where to, and the local history (its file and key, its data folder
/// for the machine identity and the lock).
#[derive(Clone)]
pub struct ReplicatorConfig {
    pub target: Target,
    pub data: PathBuf,
    pub db: PathBuf,
    pub key: ChainKey,
}

/// Replication in the background: a thread of its own (its own runtime and connections), so
/// the relay never waits for PostgreSQL. See the [module docs](self).
pub struct Replicator {
    stop: watch::Sender<Option<Instant>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Replicator {
    /// Starts replicating. Fails only when the machine identity cannot be read or created;
    /// PostgreSQL being unreachable is waited out in the background.
    pub fn start(config: ReplicatorConfig) -> Result<Replicator, PgError> {
        let machine = Arc::new(Machine::load_or_create(&config.data)?);
        let (stop, stopped) = watch::channel(None);
        let thread = std::thread::Builder::new()
            .name("mcpfw-replicator".into())
            .spawn(move || {
                mcpfw_core::platform::lower_priority();
                match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(runtime) => runtime.block_on(run(config, machine, stopped)),
                    Err(e) => tracing::error!("cannot start the replicator's runtime: {e}"),
                }
            })
            .map_err(PgError::Thread)?;
        Ok(Replicator { stop, thread: Some(thread) })
    }

    /// Makes a last pass (for what was recorded until now), bounded by `within`, and stops.
    /// Whatever it could not send is sent by the next process that replicates.
    pub fn finish(mut self, within: Duration) {
        self.stop_within(within);
    }

    fn stop_within(&mut self, within: Duration) {
        let _ = self.stop.send(Some(Instant::now() + within));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Replicator {
    fn drop(&mut self) {
        self.stop_within(Duration::from_secs(2));
    }
}

/// An exclusive, non-blocking lock on `path` (kept while the file stays open).
fn try_lock(path: &Path) -> std::io::Result<Option<std::fs::File>> {
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(path)?;
    Ok(mcpfw_core::platform::try_lock_exclusive(&file)?.then_some(file))
}

/// Waits `wait`, or less if a stop is asked for.
async fn pause(stop: &mut watch::Receiver<Option<Instant>>, wait: Duration) {
    let _ = tokio::time::timeout(wait, stop.wait_for(Option::is_some)).await;
}

async fn run(
    config: ReplicatorConfig,
    machine: Arc<Machine>,
    mut stop: watch::Receiver<Option<Instant>>,
) {
    let lock_path = config.data.join("replication.lock");
    let _lock = loop {
        match try_lock(&lock_path) {
            Ok(Some(file)) => break file,
            Ok(None) => {}
            Err(e) => {
                tracing::error!(
                    "cannot take the replication lock {}: {e}; this process does not replicate",
                    lock_path.display()
                );
                return;
            }
        }
        // Another process of this machine replicates; its last pass covers what we recorded.
        if stop.borrow().is_some() {
            return;
        }
        pause(&mut stop, LOCK_RETRY).await;
    };
    let store = match Store::open(&config.db, config.key.clone()).await {
        Ok(store) => store,
        Err(e) => {
            tracing::error!(
                "replication to {} stopped: {}",
                config.target.label(),
                mcpfw_core::text::error_chain(&e)
            );
            return;
        }
    };
    let target = &config.target;
    tracing::info!(
        target = target.label(),
        machine = %machine.id,
        hostname = %machine.hostname,
        key = %machine.fingerprint(),
        "replicating the history to PostgreSQL"
    );
    let pool = target.pool();
    let mut session: Option<Session<'_>> = None;
    let mut failures = 0usize;
    loop {
        let deadline = *stop.borrow();
        let pass = async {
            if session.is_none() {
                session = Some(Session::new(&store, &machine, target, &pool).await?);
            }
            match session.as_mut() {
                Some(s) => s.pass().await,
                None => Ok(0),
            }
        };
        let result = match deadline {
            Some(at) => {
                tokio::time::timeout_at(at.into(), pass).await.unwrap_or(Err(PgError::Timeout))
            }
            None => {
                let mut pass = std::pin::pin!(pass);
                let mut watching = stop.clone();
                tokio::select! {
                    result = &mut pass => result,
                    Ok(at) = watching.wait_for(Option::is_some) => {
                        let at = (*at).unwrap_or_else(Instant::now);
                        tokio::time::timeout_at(at.into(), pass).await.unwrap_or(Err(PgError::Timeout))
                    }
                }
            }
        };
        let stopping = stop.borrow().is_some();
        match result {
            Ok(sent) => {
                if failures > 0 {
                    tracing::info!(target = target.label(), "replication resumed");
                }
                failures = 0;
                if sent > 0 {
                    tracing::debug!(target = target.label(), sent, "events replicated");
                }
            }
            Err(e @ (PgError::KeyMismatch { .. } | PgError::Diverged { .. })) => {
                tracing::error!("{e}");
                break;
            }
            Err(e) => {
                if failures == 0 && !stopping {
                    tracing::warn!(
                        "replication paused: {e}; the history is kept locally and sent when \
                         PostgreSQL answers again"
                    );
                } else if stopping {
                    tracing::info!(
                        "replication incomplete at exit ({e}); resumed by the next process"
                    );
                }
                failures += 1;
                session = None;
            }
        }
        if stopping || deadline.is_some() {
            break;
        }
        let wait =
            if failures == 0 { IDLE } else { BACKOFF[(failures - 1).min(BACKOFF.len() - 1)] };
        pause(&mut stop, wait).await;
    }
    drop(session);
    pool.close().await;
    store.close().await;
}

/// One machine's chain as PostgreSQL holds it, checked.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ChainReport {
    pub machine_id: String,
    pub hostname: String,
    pub history: String,
    /// The fingerprint of the public key the rows are checked with.
    pub key_fingerprint: String,
    pub start_seq: i64,
    pub head_seq: i64,
    /// Rows whose signature was checked.
    pub checked: u64,
    /// What is wrong, in order (empty: intact).
    pub problems: Vec<String>,
}

/// Every chain in PostgreSQL, checked; plus rows that belong to no registered chain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FleetReport {
    pub chains: Vec<ChainReport>,
    pub orphans: Vec<String>,
}

impl FleetReport {
    pub fn ok(&self) -> bool {
        self.orphans.is_empty() && self.chains.iter().all(|c| c.problems.is_empty())
    }
}

#[derive(sqlx::FromRow)]
struct SignedRow {
    #[sqlx(flatten)]
    row: EventRow,
    sig: Vec<u8>,
}

/// Verifies every machine's chain in `target`: each row's signature, the sequence without
/// gaps from the signed start to the signed head, and the head itself.
pub async fn verify(target: &Target) -> Result<FleetReport, PgError> {
    let pool = target.pool();
    let result = verify_with(&pool, target).await;
    pool.close().await;
    result
}

async fn verify_with(pool: &PgPool, target: &Target) -> Result<FleetReport, PgError> {
    let db = target.db();
    let exists: Option<String> = sqlx::query_scalar("SELECT to_regclass('mcpfw_chains')::text")
        .fetch_one(pool)
        .await
        .map_err(&db)?;
    if exists.is_none() {
        return Ok(FleetReport { chains: Vec::new(), orphans: Vec::new() });
    }
    #[allow(clippy::type_complexity)]
    let chains: Vec<(String, String, String, Vec<u8>, i64, i64, Vec<u8>, Vec<u8>)> =
        sqlx::query_as(
            "SELECT machine_id, history, hostname, public_key, start_seq, head_seq, head_hash, \
             head_sig FROM mcpfw_chains ORDER BY hostname, machine_id, history",
        )
        .fetch_all(pool)
        .await
        .map_err(&db)?;
    let mut reports = Vec::new();
    for (machine, history, hostname, key, start, head, head_hash, head_sig) in chains {
        let public = UnparsedPublicKey::new(&ED25519, &key);
        let mut report = ChainReport {
            machine_id: machine.clone(),
            hostname,
            history: history.clone(),
            key_fingerprint: fingerprint(&key),
            start_seq: start,
            head_seq: head,
            checked: 0,
            problems: Vec::new(),
        };
        if public
            .verify(&head_message(&machine, &history, start, head, &head_hash), &head_sig)
            .is_err()
        {
            report.problems.push(
                "the chain's head (its first and last event and last hash) was modified".into(),
            );
        }
        // The local columns, `seq` being `event_id` here.
        let columns = EVENT_COLUMNS.replacen("seq", "event_id AS seq", 1);
        let sql = format!(
            "SELECT {columns}, sig FROM mcpfw_events \
             WHERE machine_id = $1 AND history = $2 AND event_id > $3 ORDER BY event_id LIMIT $4"
        );
        let mut last: Option<(i64, Vec<u8>)> = None;
        let mut after = i64::MIN;
        loop {
            let rows: Vec<SignedRow> = sqlx::query_as(&sql)
                .bind(&machine)
                .bind(&history)
                .bind(after)
                .bind(8192i64)
                .fetch_all(pool)
                .await
                .map_err(&db)?;
            let Some(end) = rows.last().map(|r| r.row.seq) else { break };
            for SignedRow { row, sig } in rows {
                let seq = row.seq;
                if seq < start {
                    report.problems.push(format!(
                        "row {seq} precedes the chain's signed start ({start}): added outside \
                         MCP Firewall"
                    ));
                } else if seq > head {
                    report.problems.push(format!(
                        "row {seq} is past the chain's signed head ({head}): added outside MCP \
                         Firewall"
                    ));
                } else {
                    let expected = last.as_ref().map_or(start, |(s, _)| s + 1);
                    if seq != expected {
                        report.problems.push(chain::missing(expected, seq - 1, expected - 1));
                    }
                    if public.verify(&event_message(&machine, &history, &row), &sig).is_err() {
                        report.problems.push(format!(
                            "row {seq} was modified (its contents no longer match the machine's \
                             signature)"
                        ));
                    }
                    last = Some((seq, row.hash));
                }
                report.checked += 1;
            }
            after = end;
        }
        match last {
            None if head >= start => {
                report.problems.push(format!("all its rows ({start} to {head}) were removed"))
            }
            Some((seq, _)) if seq < head => {
                report.problems.push(format!("the last {} rows were removed", head - seq))
            }
            Some((_, hash)) if hash != head_hash => {
                report.problems.push(format!("row {head}'s hash does not match the signed head"))
            }
            _ => {}
        }
        reports.push(report);
    }
    let orphans: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT e.machine_id, e.history, count(*) FROM mcpfw_events e \
         LEFT JOIN mcpfw_chains c USING (machine_id, history) \
         WHERE c.machine_id IS NULL GROUP BY e.machine_id, e.history ORDER BY 1, 2",
    )
    .fetch_all(pool)
    .await
    .map_err(&db)?;
    let orphans = orphans
        .into_iter()
        .map(|(machine, history, n)| {
            format!(
                "{n} rows of machine {machine} (history {history}) belong to no registered chain"
            )
        })
        .collect();
    Ok(FleetReport { chains: reports, orphans })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_named_without_their_password() {
        let t =
            Target::parse("postgres://audit:s3cret@db.example:6543/fleet?sslmode=require").unwrap();
        assert_eq!(t.label(), "postgres://audit@db.example:6543/fleet");
        let e = Target::parse("mysql://audit:s3cret@db/x").unwrap_err().to_string();
        assert!(!e.contains("s3cret"), "{e}");
        assert!(e.contains("postgres://"), "{e}");
        let t = Target::parse("postgresql://audit:s3cret@db/x").unwrap();
        assert!(!format!("{t:?}").contains("s3cret"));
    }
}
