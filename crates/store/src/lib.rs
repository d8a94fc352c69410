//! The decision history: every [`Event`] kept in SQLite, in a tamper-evident hash chain.
//!
//! # What is stored
//!
//! One database file, [`db_path`] (`<data>/mcpfw.db`), shared by every MCP Firewall process of
//! one user: `events` (one row per message or refusal), `servers` and `tools` (every distinct
//! tool definition each server has announced), `rules` (rules added at run time) and the chain's
//! bookkeeping (`chain_meta`, `chain_head`, `chain_anchor`). The schema is in `migrations/`.
//!
//! # The chain
//!
//! Each event gets the next sequence number `seq` and
//! `hash = HMAC-SHA256(key, previous hash || canonical encoding of the row)`. The encoding,
//! documented in `chain.rs`, is a compact JSON array in a fixed order: a format tag,
//! `seq`, then every field (`null` when absent); row 1's previous hash is 32 zero bytes. The key ([`ChainKey`]) lives outside the database (OS keyring or a private file; see
//! [`keys`]), so someone who can write the database but not read the key cannot produce valid
//! hashes. [`Store::verify`] recomputes the chain and names what it finds:
//!
//! - an edited row (any column, including its hash): "row N was modified";
//! - a row moved to another position (seq is part of the MAC): "row N was modified";
//! - a deleted row in the middle: "row N is missing (seq gap after N-1)";
//! - deleted rows at the end: "the last K rows were removed". The head (`chain_head`: the last
//!   seq and hash) carries its own MAC, so it cannot be moved back to hide the deletion.
//!
//! [`Store::prune`] deletes old rows and records an *anchor* (the last deleted seq and its
//! hash, with a MAC); verification then starts at the newest anchor. Anchors are MACed too, so
//! deleting more old rows and forging an anchor is detected.
//!
//! Limits, stated plainly: an attacker who can write the database can still delete *all* of it
//! (every table), or put back an older copy of the whole file (or of the head and the rows after
//! it) taken earlier; detecting that needs state outside the file. And anyone who can read the
//! key can rewrite everything.
//!
//! # Durability and concurrency
//!
//! The database runs in WAL mode with `synchronous=NORMAL`. In WAL mode a commit is an append to
//! the write-ahead log, so once [`Store::append`] returns, the events survive a crash of *this or
//! any other process* (the OS has the bytes); NORMAL only skips the `fsync` on each commit, so
//! an OS crash or power cut can lose the last transactions committed since the previous
//! checkpoint — never corrupt the database or the chain (head and rows change in one
//! transaction). That trade keeps a commit at tens of microseconds instead of a disk flush.
//!
//! Many processes (`mcpfw wrap` for each server, the daemon, the CLI) write the same file. Every
//! write transaction starts with `BEGIN IMMEDIATE`, taking SQLite's write lock before it reads
//! the head, so concurrent writers queue behind each other (up to the busy timeout, 10 s)
//! instead of failing with `SQLITE_BUSY` halfway; readers are never blocked in WAL mode.

pub mod advisories;
mod chain;
pub mod keys;
pub mod machine;
pub mod packages;
pub mod pins;
pub mod postgres;
pub mod recorder;
pub mod wire;

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Connection, QueryBuilder, Sqlite};

use chain::{ChainMac, EVENT_COLUMNS, EventRow, Link};
use mcpfw_core::classify::Category;
use mcpfw_core::paths::Paths;
use mcpfw_core::record::{DecidedBy, Event, EventKind, ResultStatus, UnknownName, Verdict, now_ms};

pub use keys::{ChainKey, KeyError, KeySource, KeyringError, load_or_create_chain_key};
pub use recorder::{RulesReader, StoreRecorder};

/// How long a writer waits for another process's write transaction before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How many events one INSERT statement carries (23 parameters each; SQLite allows 32,766).
const INSERT_ROWS: usize = 64;

/// The embedded migrations (`migrations/` at the crate root).
static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!();

/// The history database of one instance: `<data>/mcpfw.db`.
pub fn db_path(paths: &Paths) -> PathBuf {
    paths.data.join("mcpfw.db")
}

/// The file whose change tells running shims that the database rules changed: written after
/// every rule is added, replaced or removed (beside the database `db`).
pub fn rules_stamp(db: &Path) -> PathBuf {
    db.with_extension("rules-changed")
}

/// The history's chain is broken: the database was changed behind MCP Firewall's back.
///
/// [`Store::append`] and [`Store::prune`] refuse to continue such a chain (continuing it would
/// re-sign the damage and hide it); [`Store::verify`] describes all problems.
#[derive(Debug, thiserror::Error)]
#[error(
    "the history in {path} has been tampered with: {problem}. MCP Firewall will not add to or \
     prune it, so the evidence is kept; move the file aside (and keep it to investigate) to \
     start a new history"
)]
pub struct ChainBroken {
    /// The database file.
    pub path: PathBuf,
    /// What is wrong.
    pub problem: String,
}

/// The decision history: a handle to the database (cheap to clone; clones share one pool).
#[derive(Clone)]
pub struct Store {
    pool: SqlitePool,
    mac: Arc<ChainMac>,
    path: Arc<PathBuf>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

/// Which events [`Store::query`] returns. All conditions must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFilter {
    /// Exactly this server.
    pub server: Option<String>,
    /// Exactly this tool.
    pub tool: Option<String>,
    /// Exactly this verdict (`allow`, `deny`, `ask`, `reject`, `drop`).
    pub verdict: Option<String>,
    /// Exactly this category.
    pub category: Option<String>,
    /// `decided_by` starts with this (`rule:`, `rule:db:12`, `guard:`), case-sensitive.
    pub decided_by: Option<String>,
    /// At or after this time (ms since the epoch).
    pub since_ms: Option<u64>,
    /// Before this time (exclusive).
    pub until_ms: Option<u64>,
    /// Contained in the method, tool, reason or redacted arguments (ASCII case-insensitive).
    pub text: Option<String>,
    /// Only rows with a smaller seq: pass the last seq of a page to get the next (newest first).
    pub before_seq: Option<i64>,
    /// Only rows with a larger seq: the same for oldest-first pages.
    pub after_seq: Option<i64>,
    /// At most this many rows; 0 means no limit.
    pub limit: u32,
    /// Oldest first instead of newest first.
    pub ascending: bool,
    /// Only what a person reviewing the history wants to see: tool-call requests and
    /// approvals, anything that was not allowed, every event with a detector finding (a
    /// poisoned tool list, an injection in a result), and changes to the clients'
    /// configuration files.
    pub decisions_only: bool,
}

impl Default for EventFilter {
    fn default() -> Self {
        Self {
            server: None,
            tool: None,
            verdict: None,
            category: None,
            decided_by: None,
            since_ms: None,
            until_ms: None,
            text: None,
            before_seq: None,
            after_seq: None,
            limit: 100,
            ascending: false,
            decisions_only: false,
        }
    }
}

/// One event as stored, with its position and hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredEvent {
    /// The position in the chain (1, 2, …; never reused).
    pub seq: i64,
    pub ts_ms: u64,
    pub server: String,
    pub session: String,
    pub direction: String,
    pub kind: EventKind,
    pub method: Option<String>,
    /// The JSON-RPC id, as its raw JSON text.
    pub rpc_id: Option<String>,
    pub tool: Option<String>,
    pub category: Option<Category>,
    pub era: String,
    pub protocol_version: Option<String>,
    pub verdict: Verdict,
    pub decided_by: Option<DecidedBy>,
    pub reason: Option<String>,
    pub latency_us: Option<u64>,
    pub cancels: Option<String>,
    pub args_digest: Option<String>,
    pub args_redacted: Option<String>,
    pub result_status: Option<ResultStatus>,
    /// The findings as stored: a JSON array, as text ([`mcpfw_core::finding::to_text`]; the
    /// chain hashes this text, so it is kept as read).
    pub findings: String,
    pub bytes: u64,
    /// The row's chain hash, hex.
    pub hash: String,
}

impl TryFrom<EventRow> for StoredEvent {
    type Error = StoreError;

    /// A stored row as typed values. A name this version does not know (a row written by a newer
    /// version, or edited by hand) is an error naming the row; `mcpfw log --verify` says more.
    fn try_from(row: EventRow) -> Result<Self> {
        let unsigned = |v: i64| u64::try_from(v).unwrap_or(0);
        let seq = row.seq;
        let named = |name: UnknownName| StoreError::UnknownInRow { seq, name };
        let category =
            match row.category.as_deref() {
                None => None,
                Some(text) => Some(Category::parse(text).ok_or_else(|| {
                    named(UnknownName { what: "category", value: text.to_owned() })
                })?),
            };
        Ok(Self {
            seq,
            ts_ms: unsigned(row.ts_ms),
            server: row.server,
            session: row.session,
            direction: row.direction,
            kind: row.kind.parse().map_err(named)?,
            method: row.method,
            rpc_id: row.rpc_id,
            tool: row.tool,
            category,
            era: row.era,
            protocol_version: row.protocol_version,
            verdict: row.verdict.parse().map_err(named)?,
            decided_by: row.decided_by.as_deref().map(str::parse).transpose().map_err(named)?,
            reason: row.reason,
            latency_us: row.latency_us.map(unsigned),
            cancels: row.cancels,
            args_digest: row.args_digest,
            args_redacted: row.args_redacted,
            result_status: row
                .result_status
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(named)?,
            findings: row.findings,
            bytes: unsigned(row.bytes),
            hash: hex::encode(&row.hash),
        })
    }
}

/// The outcome of [`Store::verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Rows whose hash was recomputed.
    pub checked: u64,
    /// Whether the chain is intact from the anchor to the head.
    pub ok: bool,
    /// The first problem found, e.g. "row 1234 was modified (…)", "row 17 is missing (seq gap
    /// after 16)", "the last 3 rows were removed"; followed by how many more there are.
    pub problem: Option<String>,
    /// Every problem found (at most 100), in chain order.
    pub problems: Vec<String>,
}

/// What [`Store::record_tool`] learned about a tool definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "seen")]
pub enum ToolSeen {
    /// The first definition ever seen for this server and tool name.
    First,
    /// The same definition as the last one seen.
    Same,
    /// A definition different from the last one seen (new, or an older one coming back).
    Changed {
        /// SHA-256 (hex) of the definition seen before this one.
        previous_sha256: String,
    },
}

/// A rule added at run time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredRule {
    /// Never reused; decisions name it as `db:<id>`.
    pub id: i64,
    /// The rule, as JSON text.
    pub rule_json: String,
    /// Who added it: `approval`, `cli`, …
    pub origin: String,
    pub created_ms: u64,
    /// When it stops applying; `None` for never.
    pub expires_ms: Option<u64>,
}

/// Whether a SQLite error is a lock conflict worth retrying (`SQLITE_BUSY`, `SQLITE_LOCKED`).
pub(crate) fn is_busy(error: &sqlx::Error) -> bool {
    primary_code(error).is_some_and(|code| code == 5 || code == 6)
}

/// The primary SQLite result code of a database error (extended codes reduced to their base).
fn primary_code(error: &sqlx::Error) -> Option<i32> {
    let code = error.as_database_error()?.code()?;
    code.parse::<i32>().ok().map(|code| code & 0xff)
}

/// Whether an INSERT failed because a row with that `seq` exists (SQLITE_CONSTRAINT_PRIMARYKEY).
fn is_primary_key_conflict(error: &sqlx::Error) -> bool {
    error.as_database_error().and_then(|e| e.code()).is_some_and(|code| code == "1555")
}

/// The database file is damaged or is not a SQLite database (`SQLITE_CORRUPT`,
/// `SQLITE_NOTADB`): [`Store::open`] sets it aside and starts a new history.
#[derive(Debug, thiserror::Error)]
#[error("the history database {} is damaged or is not an MCP Firewall database ({detail})", path.display())]
pub struct Damaged {
    /// The database file.
    pub path: PathBuf,
    /// SQLite's words.
    pub detail: String,
}

/// What can go wrong with the history database. The messages name the file and, where there
/// is one, what to do; the underlying error is the [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file is damaged or is not a SQLite database.
    #[error(transparent)]
    Damaged(#[from] Damaged),
    /// The file is damaged and could not be moved aside to start a new history.
    #[error("{damaged}")]
    DamagedKept {
        damaged: Box<Damaged>,
        #[source]
        source: Box<MoveAside>,
    },
    /// The chain was tampered with; it is not continued.
    #[error(transparent)]
    ChainBroken(#[from] ChainBroken),
    /// Another process held the database longer than the busy timeout.
    #[error(
        "cannot {doing} the history database {} (another process held the database longer than \
         {} s)",
        path.display(),
        BUSY_TIMEOUT.as_secs()
    )]
    Locked {
        doing: &'static str,
        path: PathBuf,
        #[source]
        source: sqlx::Error,
    },
    /// Any other failure of the database (a full disk, an I/O error, a read-only file).
    #[error("cannot {doing} the history database {}", path.display())]
    Database {
        doing: &'static str,
        path: PathBuf,
        #[source]
        source: sqlx::Error,
    },
    /// The file cannot be created.
    #[error("cannot create the history database {}", path.display())]
    Create {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Its folder cannot be created.
    #[error(transparent)]
    Folder(#[from] mcpfw_core::paths::PathsError),
    /// The file system does not let SQLite use write-ahead logging.
    #[error(
        "the history database {} cannot use write-ahead logging (journal mode stays {mode:?}); \
         is it on a network file system? Put MCP Firewall's data folder on a local disk (or set \
         MCPFW_HOME)",
        path.display()
    )]
    NoWal { path: PathBuf, mode: String },
    /// The schema was written by a newer version.
    #[error(
        "the history database {} was written by a newer version of MCP Firewall (it has \
         migration {version}, which this version does not know); upgrade MCP Firewall",
        path.display()
    )]
    NewerSchema { path: PathBuf, version: i64 },
    /// The chain format is newer than this version understands.
    #[error(
        "the history database {} uses chain format {format}, newer than this version of MCP \
         Firewall understands ({known}); upgrade MCP Firewall",
        path.display()
    )]
    NewerFormat { path: PathBuf, format: i64, known: i64 },
    /// This version's schema cannot be applied.
    #[error("cannot update the history database {} to this version's schema", path.display())]
    Migrate {
        path: PathBuf,
        #[source]
        source: sqlx::migrate::MigrateError,
    },
    /// The history was written with another chain key.
    #[error(
        "the history database {} was written with a different chain key (fingerprint {stored}; \
         the key loaded now is {loaded}), so its entries cannot be verified and new ones would \
         not join its chain. Restore the original key (the OS keyring entry or the chain.key \
         file in the config folder), or move the database aside to start a new history",
        path.display()
    )]
    OtherKey { path: PathBuf, stored: String, loaded: String },
    /// Text given to be stored as JSON (a rule, a tool definition) is not JSON.
    #[error("{what} is not valid JSON")]
    NotJson {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    /// A stored row names something this version does not know (written by a newer version,
    /// or edited by hand).
    #[error("history row {seq}: {name}")]
    UnknownInRow { seq: i64, name: UnknownName },
    /// A rule kept in the database cannot be read as a rule.
    #[error("database rule {id} cannot be read: {error}")]
    UnreadableRule { id: i64, error: serde_json::Error },
}

impl StoreError {
    /// Another process held the database too long: trying again later may succeed.
    pub fn is_locked(&self) -> bool {
        matches!(self, StoreError::Locked { .. })
    }
}

/// A damaged database (or its `-wal` or `-shm` file) could not be moved aside.
#[derive(Debug, thiserror::Error)]
#[error("{}", match to {
    None => format!("cannot move the damaged history database {} aside", from.display()),
    Some(to) => format!("cannot move {} aside to {}", from.display(), to.display()),
})]
pub struct MoveAside {
    pub from: PathBuf,
    /// Where it was to go (named for the `-wal` and `-shm` files).
    pub to: Option<PathBuf>,
    #[source]
    pub source: std::io::Error,
}

/// The store's results.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The error for a database problem while opening `path`, naming the file and what to do.
fn open_error(path: &Path, error: sqlx::Error) -> StoreError {
    match primary_code(&error) {
        Some(11 | 26) => Damaged { path: path.to_owned(), detail: error.to_string() }.into(),
        _ => StoreError::Database { doing: "open", path: path.to_owned(), source: error },
    }
}

/// Under a file-size limit (`ulimit -f`, RLIMIT_FSIZE) the kernel sends SIGXFSZ when the
/// history grows past it, and that signal ends the process: the shim would die mid-session.
/// With a handler installed, the write fails with EFBIG instead and is handled like a full
/// disk. A handler, unlike an ignored signal, is reset when the shim starts its server, so the
/// server keeps the default behaviour.
fn survive_file_size_limit() {
    #[cfg(unix)]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
            if let Err(e) = signal_hook::flag::register(libc::SIGXFSZ, flag) {
                tracing::warn!(
                    "cannot handle SIGXFSZ ({e}); a file-size limit would end the process"
                );
            }
        });
    }
}

/// Moves a damaged database (and its `-wal` and `-shm` files) to `<name>.corrupt-<UTC time>`,
/// keeping it for investigation or recovery, and returns where it went (`None` when it was gone
/// already).
fn set_aside(db: &Path) -> Result<Option<PathBuf>, MoveAside> {
    let stamp: String = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
        .to_string()
        .chars()
        .filter(|c| !matches!(c, '-' | ':'))
        .collect();
    let name = db.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut backup = db.with_file_name(format!("{name}.corrupt-{stamp}"));
    let mut n = 1;
    while backup.exists() {
        n += 1;
        backup = db.with_file_name(format!("{name}.corrupt-{stamp}-{n}"));
    }
    match std::fs::rename(db, &backup) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(MoveAside { from: db.to_owned(), to: None, source }),
    }
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", db.display()));
        if side.exists() {
            let to = PathBuf::from(format!("{}{suffix}", backup.display()));
            if let Err(source) = std::fs::rename(&side, &to) {
                return Err(MoveAside { from: side, to: Some(to), source });
            }
        }
    }
    Ok(Some(backup))
}

/// Creates `path` as an empty private file (0600) if it does not exist; SQLite creates the
/// `-wal` and `-shm` files with the same permissions as the database.
///
/// An existing file is not opened: closing any descriptor of a database file drops every POSIX
/// lock this process holds on it, including those of SQLite connections already open here (the
/// daemon opens the history twice: for its API and for the HTTP proxy's writer). Opening and
/// closing the file beside them corrupted the database under concurrent writes.
fn create_private_file(path: &Path) -> Result<()> {
    // (Another process closing its connection would also take itself for the last user and
    // delete the live WAL, losing what this process writes next.)
    if std::fs::symlink_metadata(path).is_ok() {
        return Ok(());
    }
    let mut options = OpenOptions::new();
    options.read(true).write(true).create_new(true);
    mcpfw_core::platform::private::file(&mut options);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(StoreError::Create { path: path.to_owned(), source }),
    }
}

/// The error for a rule given as text that is not JSON.
fn not_a_rule(source: serde_json::Error) -> StoreError {
    StoreError::NotJson { what: "the rule".to_owned(), source }
}

/// Escapes `text` for a `LIKE … ESCAPE '\'` pattern.
fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A `GLOB` pattern matching strings that start with `prefix` (case-sensitive; SQLite turns it
/// into an index range).
fn glob_prefix(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 4);
    for c in prefix.chars() {
        match c {
            '*' | '?' | '[' => {
                out.push('[');
                out.push(c);
                out.push(']');
            }
            _ => out.push(c),
        }
    }
    out.push('*');
    out
}

impl Store {
    /// Opens (creating if needed) the history database at `db`, to be written with `key`.
    ///
    /// Creates the parent folder (0700) and the file (0600), switches the database to WAL,
    /// applies the migrations, and checks that the history was written with this key (a history
    /// written with another key is refused: the two chains would mix). A file that is damaged
    /// or not a database at all is moved aside to `<name>.corrupt-<UTC time>` (never deleted),
    /// with a warning that says where, and a new history is started in its place: the firewall
    /// keeps recording instead of refusing to run.
    pub async fn open(db: &Path, key: ChainKey) -> Result<Store> {
        survive_file_size_limit();
        match Self::open_once(db, &key).await {
            Err(StoreError::Damaged(damaged)) => {
                // Another MCP Firewall process that found it damaged at the same moment may
                // have moved it already (`None`): then its new history is used.
                let backup = match set_aside(db) {
                    Ok(backup) => backup,
                    Err(source) => {
                        return Err(StoreError::DamagedKept {
                            damaged: Box::new(damaged),
                            source: Box::new(source),
                        });
                    }
                };
                if let Some(backup) = backup {
                    tracing::warn!(
                        database = %db.display(),
                        backup = %backup.display(),
                        "{damaged}; it was moved to {} (kept, not deleted) and a new history was \
                         started",
                        backup.display()
                    );
                }
                Self::open_once(db, &key).await
            }
            other => other,
        }
    }

    async fn open_once(db: &Path, key: &ChainKey) -> Result<Store> {
        if let Some(parent) = db.parent().filter(|p| !p.as_os_str().is_empty()) {
            Paths::ensure(parent)?;
        }
        create_private_file(db)?;
        let options = SqliteConnectOptions::new()
            .filename(db)
            .create_if_missing(false)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(true)
            // Per connection (not stored in the file): see the module docs.
            .synchronous(SqliteSynchronous::Normal)
            // 1 MiB of page cache per connection: the shim's memory budget is small, and the
            // hot pages (the chain head, the ends of the indexes) are few.
            .pragma("cache_size", "-1024")
            .optimize_on_close(true, 400);
        let mac = ChainMac::new(key);

        // The database is prepared on the pool's first connection: a separate set-up
        // connection (a thread, the file opened, the schema parsed) cost every shim's start-up
        // about a millisecond. (The pool still opens a second one at the next pair of queries:
        // sqlx returns a released connection on a task of its own.)
        let pool = SqlitePoolOptions::new().max_connections(2).connect_lazy_with(options);
        let prepared = async {
            let mut conn = pool.acquire().await.map_err(|e| open_error(db, e))?;
            prepare(&mut conn, db, key).await
        }
        .await;
        if let Err(e) = prepared {
            pool.close().await;
            return Err(e);
        }
        Ok(Store { pool, mac: Arc::new(mac), path: Arc::new(db.to_owned()) })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Closes every connection (letting SQLite checkpoint the WAL and remove it) and returns
    /// once they are closed. Other clones stop working.
    pub async fn close(&self) {
        // sqlx 0.8's `Pool::close` closes the idle connections and waits for checked-out ones,
        // but a connection whose return to the pool is still a pending task can land in the idle
        // list just after that (and would then be closed only later, by its worker thread,
        // holding the database meanwhile). So: close again until no connection is left.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            self.pool.close().await;
            if self.pool.size() == 0 || std::time::Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    fn db_error(&self, doing: &'static str, source: sqlx::Error) -> StoreError {
        let path = self.path.to_path_buf();
        if is_busy(&source) {
            StoreError::Locked { doing, path, source }
        } else {
            StoreError::Database { doing, path, source }
        }
    }

    fn broken(&self, problem: impl Into<String>) -> StoreError {
        ChainBroken { path: self.path.to_path_buf(), problem: problem.into() }.into()
    }

    /// Appends `events` to the chain in one transaction.
    ///
    /// The transaction takes the write lock first (`BEGIN IMMEDIATE`), then reads and checks the
    /// head, hashes and inserts each event, and moves the head. When this returns `Ok`, every
    /// event is committed; on error, none is. A chain whose head was tampered with is not
    /// continued ([`ChainBroken`]).
    pub async fn append(&self, events: &[Event]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut conn = self.pool.acquire().await.map_err(|e| self.db_error("write to", e))?;
        let appended = self.append_on(&mut conn, events).await;
        if let Err(e) = &appended
            && !matches!(e, StoreError::ChainBroken(_))
        {
            // After a failed write (a full disk, an I/O error) SQLite may already have rolled
            // the transaction back itself; sqlx then still counts it as open and would refuse
            // every later transaction on this connection, so the history would never recover.
            // Discard the connection; the pool opens a fresh one. (A broken chain is refused
            // before anything is written: that connection is fine.)
            conn.close_on_drop();
        }
        appended
    }

    async fn append_on(&self, conn: &mut SqliteConnection, events: &[Event]) -> Result<()> {
        let mut tx =
            conn.begin_with("BEGIN IMMEDIATE").await.map_err(|e| self.db_error("write to", e))?;
        let mut last = self.head_for_write(&mut tx).await?;

        // Hash every row first, then insert them several per statement: each statement is a
        // round trip to sqlx's connection thread, which costs more than SQLite's own work.
        let mut rows = Vec::with_capacity(events.len());
        for event in events {
            let mut row = EventRow::from_event(last.seq + 1, event);
            row.hash = self.mac.event(&last.hash, &row).to_vec();
            last = Link { seq: row.seq, hash: row.hash.clone() };
            rows.push(row);
        }
        for chunk in rows.chunks(INSERT_ROWS) {
            let mut insert =
                QueryBuilder::<Sqlite>::new(format!("INSERT INTO events ({EVENT_COLUMNS}) "));
            insert.push_values(chunk, |mut values, row| {
                values
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
                    .push_bind(&row.hash);
            });
            if let Err(e) = insert.build().execute(&mut *tx).await {
                if is_primary_key_conflict(&e) {
                    // The head says these seqs are free but a row holds one: rows were
                    // inserted by hand.
                    return Err(self.broken(format!(
                        "rows exist beyond the chain head (row {} or later was added outside \
                         MCP Firewall)",
                        chunk[0].seq
                    )));
                }
                return Err(self.db_error("write to", e));
            }
        }
        sqlx::query(
            "INSERT INTO chain_head (id, seq, hash, mac) VALUES (1, ?1, ?2, ?3) \
             ON CONFLICT (id) DO UPDATE SET seq = ?1, hash = ?2, mac = ?3",
        )
        .bind(last.seq)
        .bind(&last.hash)
        .bind(&self.mac.head(last.seq, &last.hash)[..])
        .execute(&mut *tx)
        .await
        .map_err(|e| self.db_error("write to", e))?;
        tx.commit().await.map_err(|e| self.db_error("commit to", e))
    }

    /// The head to continue from, checked: its MAC must hold, and it may only be absent when
    /// nothing was ever written.
    async fn head_for_write(&self, conn: &mut SqliteConnection) -> Result<Link> {
        let head = chain::read_head(conn).await.map_err(|e| self.db_error("read", e))?;
        match head {
            Some(head) if self.mac.head(head.seq, &head.hash)[..] == head.mac[..] => {
                Ok(head.link())
            }
            Some(_) => Err(self.broken("the chain head was modified")),
            None => {
                let used: bool = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM events) OR EXISTS (SELECT 1 FROM chain_anchor)",
                )
                .fetch_one(&mut *conn)
                .await
                .map_err(|e| self.db_error("read", e))?;
                if used {
                    Err(self.broken("the chain head is missing"))
                } else {
                    Ok(Link::genesis())
                }
            }
        }
    }

    /// The newest prune anchor, checked (genesis when nothing was pruned).
    async fn checked_anchor(&self, conn: &mut SqliteConnection) -> Result<(Link, Option<String>)> {
        let anchor = chain::read_anchor(conn).await.map_err(|e| self.db_error("read", e))?;
        Ok(match anchor {
            None => (Link::genesis(), None),
            Some(a) => {
                let problem = (self.mac.anchor(a.seq, &a.hash)[..] != a.mac[..])
                    .then(|| format!("the prune anchor at row {} was modified", a.seq));
                (a.link(), problem)
            }
        })
    }

    /// Events matching `filter`, newest first unless `filter.ascending`.
    pub async fn query(&self, filter: &EventFilter) -> Result<Vec<StoredEvent>> {
        let mut sql = QueryBuilder::<Sqlite>::new(format!("SELECT {EVENT_COLUMNS} FROM events"));
        let mut first = true;
        let mut and = |sql: &mut QueryBuilder<Sqlite>| {
            sql.push(if std::mem::take(&mut first) { " WHERE " } else { " AND " });
        };
        for (column, value) in [
            ("server", &filter.server),
            ("tool", &filter.tool),
            ("verdict", &filter.verdict),
            ("category", &filter.category),
        ] {
            if let Some(value) = value {
                and(&mut sql);
                sql.push(column).push(" = ").push_bind(value.clone());
            }
        }
        if let Some(prefix) = &filter.decided_by {
            and(&mut sql);
            sql.push("decided_by GLOB ").push_bind(glob_prefix(prefix));
        }
        if let Some(since) = filter.since_ms {
            and(&mut sql);
            sql.push("ts_ms >= ").push_bind(chain::to_i64(since));
        }
        if let Some(until) = filter.until_ms {
            and(&mut sql);
            sql.push("ts_ms < ").push_bind(chain::to_i64(until));
        }
        if let Some(text) = &filter.text {
            let pattern = format!("%{}%", like_escape(text));
            and(&mut sql);
            sql.push("(");
            for (i, column) in ["method", "tool", "reason", "args_redacted"].into_iter().enumerate()
            {
                if i > 0 {
                    sql.push(" OR ");
                }
                sql.push(column).push(" LIKE ").push_bind(pattern.clone()).push(" ESCAPE '\\'");
            }
            sql.push(")");
        }
        if filter.decisions_only {
            and(&mut sql);
            sql.push(
                "((method = 'tools/call' AND kind IN ('request', 'approval')) OR verdict <> 'allow' \
                 OR kind = 'config_change' OR findings <> '[]')",
            );
        }
        if let Some(before) = filter.before_seq {
            and(&mut sql);
            sql.push("seq < ").push_bind(before);
        }
        if let Some(after) = filter.after_seq {
            and(&mut sql);
            sql.push("seq > ").push_bind(after);
        }
        // `+seq` orders the same but tells SQLite not to walk the table in seq order: see
        // `few_rows_in_time_range`.
        let seq = if self.few_rows_in_time_range(filter).await? { "+seq" } else { "seq" };
        sql.push(format!(" ORDER BY {seq} {}", if filter.ascending { "ASC" } else { "DESC" }));
        if filter.limit > 0 {
            sql.push(" LIMIT ").push_bind(i64::from(filter.limit));
        }
        let rows: Vec<EventRow> = sql
            .build_query_as()
            .fetch_all(&self.pool)
            .await
            .map_err(|e| self.db_error("read", e))?;
        rows.into_iter().map(StoredEvent::try_from).collect()
    }

    /// Whether `filter` is only a time range (with perhaps text and seq bounds) that holds few
    /// rows. SQLite's default plan for such a filter walks the whole table newest first,
    /// checking each row's time: fast when the range holds many recent rows, a full scan when
    /// it holds fewer than the limit (126 ms per million rows). A capped count on the time index
    /// tells the two apart; for a small range, reading it through the time index and sorting the
    /// few rows is cheap.
    async fn few_rows_in_time_range(&self, filter: &EventFilter) -> Result<bool> {
        const FEW: i64 = 2000;
        let time_only = filter.server.is_none()
            && filter.tool.is_none()
            && filter.verdict.is_none()
            && filter.category.is_none()
            && filter.decided_by.is_none()
            && (filter.since_ms.is_some() || filter.until_ms.is_some());
        if !time_only {
            return Ok(false);
        }
        let rows: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM (SELECT 1 FROM events WHERE ts_ms >= ?1 AND ts_ms < ?2 \
             LIMIT ?3)",
        )
        .bind(filter.since_ms.map_or(i64::MIN, chain::to_i64))
        .bind(filter.until_ms.map_or(i64::MAX, chain::to_i64))
        .bind(FEW + 1)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| self.db_error("read", e))?;
        Ok(rows <= FEW)
    }

    /// Recomputes the chain from the newest prune anchor to the head, in one consistent snapshot
    /// (writers carry on meanwhile). Reads every remaining row: about a second per million.
    pub async fn verify(&self) -> Result<VerifyReport> {
        let mut tx = self.pool.begin().await.map_err(|e| self.db_error("read", e))?;
        let (start, anchor_problem) = self.checked_anchor(&mut tx).await?;
        let anchored = start.seq > 0;
        let head = chain::read_head(&mut tx).await.map_err(|e| self.db_error("read", e))?;
        let walk = chain::walk(&mut tx, &self.mac, start.clone(), None)
            .await
            .map_err(|e| self.db_error("read", e))?;
        drop(tx);

        let mut problems: Vec<String> = anchor_problem.into_iter().collect();
        problems.extend(walk.problems);
        match head {
            None if walk.checked > 0 || anchored => {
                problems.push("the chain head is missing".into())
            }
            None => {}
            Some(head) if self.mac.head(head.seq, &head.hash)[..] != head.mac[..] => {
                problems.push("the chain head was modified".into());
            }
            Some(head) if walk.last.seq < head.seq => {
                let removed = head.seq - walk.last.seq;
                problems.push(if removed == 1 {
                    format!("the last row was removed (row {} is missing)", head.seq)
                } else {
                    format!(
                        "the last {removed} rows were removed (rows {} to {} are missing)",
                        walk.last.seq + 1,
                        head.seq
                    )
                });
            }
            Some(head) if walk.last.seq > head.seq => {
                problems.push(if walk.last.seq == head.seq + 1 {
                    format!(
                        "row {} was added after the chain head (outside MCP Firewall)",
                        walk.last.seq
                    )
                } else {
                    format!(
                        "rows {} to {} were added after the chain head (outside MCP Firewall)",
                        head.seq + 1,
                        walk.last.seq
                    )
                })
            }
            Some(head) if walk.last.hash != head.hash => problems
                .push(format!("row {} does not match the chain head (it was replaced)", head.seq)),
            Some(_) => {}
        }
        problems.truncate(100);
        let problem = problems.first().map(|first| match problems.len() {
            1 => first.clone(),
            n => format!("{first} (and {} more problems)", n - 1),
        });
        Ok(VerifyReport { checked: walk.checked, ok: problems.is_empty(), problem, problems })
    }

    /// The retention setting: deletes history older than `retention_days` (0 keeps
    /// everything) with [`Store::prune`]; how many events went.
    pub async fn apply_retention(&self, retention_days: u32) -> Result<u64> {
        if retention_days == 0 {
            return Ok(0);
        }
        let cutoff =
            mcpfw_core::record::now_ms().saturating_sub(u64::from(retention_days) * 86_400_000);
        let pruned = self.prune(cutoff).await?;
        if pruned > 0 {
            tracing::info!(pruned, retention_days, "old history pruned");
        }
        Ok(pruned)
    }

    /// Deletes events older than `before_ms` and returns how many were deleted.
    ///
    /// Only a contiguous run from the start of the chain is deleted: the rows before the first
    /// row at or after the cutoff (clocks of different processes can disagree a little, so a
    /// slightly old row after a newer one is kept). The part to delete is verified first — a
    /// tampered part is not deleted ([`ChainBroken`]), so pruning never destroys evidence — and
    /// an anchor (its last seq and hash, with a MAC) is recorded in the same transaction, so
    /// [`Store::verify`] keeps working and keeps detecting changes to what remains. Large
    /// prunes are done in transactions of 20,000 rows so that writers are never held up long.
    pub async fn prune(&self, before_ms: u64) -> Result<u64> {
        const CHUNK: i64 = 20_000;
        let cutoff = chain::to_i64(before_ms);
        let mut deleted = 0u64;
        loop {
            let mut tx = self
                .pool
                .begin_with("BEGIN IMMEDIATE")
                .await
                .map_err(|e| self.db_error("write to", e))?;
            let (start, anchor_problem) = self.checked_anchor(&mut tx).await?;
            if let Some(problem) = anchor_problem {
                return Err(self.broken(problem));
            }
            let Some(head) =
                chain::read_head(&mut tx).await.map_err(|e| self.db_error("read", e))?
            else {
                return Ok(deleted);
            };
            let first_kept: Option<i64> = sqlx::query_scalar(
                "SELECT seq FROM events WHERE seq > ?1 AND ts_ms >= ?2 ORDER BY seq LIMIT 1",
            )
            .bind(start.seq)
            .bind(cutoff)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| self.db_error("read", e))?;
            let last_old = first_kept.map_or(head.seq, |seq| seq - 1);
            let last_removed = last_old.min(start.seq + CHUNK);
            if last_removed <= start.seq {
                return Ok(deleted);
            }
            let walk = chain::walk(&mut tx, &self.mac, start.clone(), Some(last_removed))
                .await
                .map_err(|e| self.db_error("read", e))?;
            if let Some(problem) = walk.problems.into_iter().next() {
                return Err(self.broken(problem));
            }
            if walk.last.seq != last_removed {
                return Err(self.broken(chain::missing(
                    walk.last.seq + 1,
                    last_removed,
                    walk.last.seq,
                )));
            }
            sqlx::query(
                "INSERT INTO chain_anchor (seq, hash, mac, pruned_before_ms, created_ms) \
                 VALUES (?, ?, ?, ?, ?)",
            )
            .bind(walk.last.seq)
            .bind(&walk.last.hash)
            .bind(&self.mac.anchor(walk.last.seq, &walk.last.hash)[..])
            .bind(cutoff)
            .bind(chain::to_i64(now_ms()))
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db_error("write to", e))?;
            let removed = sqlx::query("DELETE FROM events WHERE seq <= ?")
                .bind(last_removed)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.db_error("write to", e))?
                .rows_affected();
            tx.commit().await.map_err(|e| self.db_error("commit to", e))?;
            deleted += removed;
            // Give the freed pages back to the file system (the database uses incremental
            // auto-vacuum); failing to is harmless.
            if let Err(e) = sqlx::query("PRAGMA incremental_vacuum").execute(&self.pool).await {
                tracing::debug!("incremental vacuum after pruning failed: {e}");
            }
            if last_removed == last_old {
                return Ok(deleted);
            }
        }
    }

    /// Records that server `name` runs `origin` (its command line or URL), seen at `now_ms`.
    pub async fn upsert_server(&self, name: &str, origin: &str, now_ms: u64) -> Result<()> {
        let now = chain::to_i64(now_ms);
        sqlx::query(
            "INSERT INTO servers (name, origin, first_seen_ms, last_seen_ms) VALUES (?1, ?2, ?3, ?3) \
             ON CONFLICT (name) DO UPDATE SET origin = ?2, \
             last_seen_ms = max(last_seen_ms, ?3)",
        )
        .bind(name)
        .bind(origin)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(|e| self.db_error("write to", e))?;
        Ok(())
    }

    /// Records that server `server` announced tool `name` with this definition (JSON text) at
    /// `now_ms`; the definition is stored with its SHA-256. Says whether the definition is the
    /// first for this tool, the same as last time, or a change (a tool that rewrites its
    /// description after approval is the "rug pull" to watch for).
    pub async fn record_tool(
        &self,
        server: &str,
        name: &str,
        definition_json: &str,
        now_ms: u64,
    ) -> Result<ToolSeen> {
        serde_json::from_str::<serde::de::IgnoredAny>(definition_json).map_err(|source| {
            StoreError::NotJson {
                what: format!("the definition of tool {name:?} of server {server:?}"),
                source,
            }
        })?;
        let sha256 = hex::encode(Sha256::digest(definition_json.as_bytes()));
        let now = chain::to_i64(now_ms);
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| self.db_error("write to", e))?;
        self.tools_server(&mut tx, server, now).await?;
        let previous: Option<String> = sqlx::query_scalar(
            "SELECT definition_sha256 FROM tools WHERE server = ? AND name = ? \
             ORDER BY last_seen_ms DESC, id DESC LIMIT 1",
        )
        .bind(server)
        .bind(name)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| self.db_error("read", e))?;
        self.insert_tool(&mut tx, server, name, definition_json, &sha256, now).await?;
        tx.commit().await.map_err(|e| self.db_error("commit to", e))?;
        Ok(match previous {
            None => ToolSeen::First,
            Some(previous) if previous == sha256 => ToolSeen::Same,
            Some(previous_sha256) => ToolSeen::Changed { previous_sha256 },
        })
    }

    /// Records a server's listed tools (name, definition JSON) as seen at `now_ms`, as
    /// [`Store::record_tool`] does, in one transaction for the whole list. A definition that is
    /// not JSON is not recorded (and logged); the others are.
    pub async fn record_tools(
        &self,
        server: &str,
        tools: &[(String, String)],
        now_ms: u64,
    ) -> Result<()> {
        let now = chain::to_i64(now_ms);
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| self.db_error("write to", e))?;
        self.tools_server(&mut tx, server, now).await?;
        for (name, definition_json) in tools {
            if serde_json::from_str::<serde::de::IgnoredAny>(definition_json).is_err() {
                tracing::error!(
                    server,
                    tool = %name,
                    "a tool definition was not recorded: it is not valid JSON"
                );
                continue;
            }
            let sha256 = hex::encode(Sha256::digest(definition_json.as_bytes()));
            self.insert_tool(&mut tx, server, name, definition_json, &sha256, now).await?;
        }
        tx.commit().await.map_err(|e| self.db_error("commit to", e))?;
        Ok(())
    }

    /// The server a tool list came from, registered if it is new (a list can arrive before
    /// the server's registration is written).
    async fn tools_server(
        &self,
        tx: &mut sqlx::SqliteConnection,
        server: &str,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO servers (name, origin, first_seen_ms, last_seen_ms) \
             VALUES (?1, NULL, ?2, ?2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(server)
        .bind(now)
        .execute(tx)
        .await
        .map_err(|e| self.db_error("write to", e))?;
        Ok(())
    }

    /// One tool definition as seen at `now`: a new row for a new definition, else its
    /// `last_seen_ms` moved on.
    async fn insert_tool(
        &self,
        tx: &mut sqlx::SqliteConnection,
        server: &str,
        name: &str,
        definition_json: &str,
        sha256: &str,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO tools (server, name, definition, definition_sha256, first_seen_ms, \
             last_seen_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?5) \
             ON CONFLICT (server, name, definition_sha256) \
             DO UPDATE SET last_seen_ms = max(last_seen_ms, ?5)",
        )
        .bind(server)
        .bind(name)
        .bind(definition_json)
        .bind(sha256)
        .bind(now)
        .execute(tx)
        .await
        .map_err(|e| self.db_error("write to", e))?;
        Ok(())
    }

    /// Adds a rule (JSON text) and returns its id, which is never reused.
    pub async fn add_rule(
        &self,
        rule_json: &str,
        origin: &str,
        expires_ms: Option<u64>,
    ) -> Result<i64> {
        serde_json::from_str::<serde::de::IgnoredAny>(rule_json).map_err(not_a_rule)?;
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| self.db_error("write to", e))?;
        let id = self.insert_rule(&mut tx, rule_json, origin, expires_ms).await?;
        tx.commit().await.map_err(|e| self.db_error("commit to", e))?;
        self.rules_changed();
        Ok(id)
    }

    /// Replaces rule `id` with a new rule in one transaction: the old one is removed and the new
    /// one gets a new id (ids are never reused, so the history keeps naming what decided).
    /// `None` if there was no rule `id`.
    pub async fn replace_rule(
        &self,
        id: i64,
        rule_json: &str,
        origin: &str,
        expires_ms: Option<u64>,
    ) -> Result<Option<i64>> {
        serde_json::from_str::<serde::de::IgnoredAny>(rule_json).map_err(not_a_rule)?;
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| self.db_error("write to", e))?;
        let removed = sqlx::query("DELETE FROM rules WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db_error("write to", e))?
            .rows_affected();
        if removed == 0 {
            return Ok(None); // dropping the transaction rolls it back
        }
        let new_id = self.insert_rule(&mut tx, rule_json, origin, expires_ms).await?;
        tx.commit().await.map_err(|e| self.db_error("commit to", e))?;
        self.rules_changed();
        Ok(Some(new_id))
    }

    async fn insert_rule(
        &self,
        tx: &mut sqlx::Transaction<'_, Sqlite>,
        rule_json: &str,
        origin: &str,
        expires_ms: Option<u64>,
    ) -> Result<i64> {
        let created = chain::to_i64(now_ms());
        let expires = expires_ms.map(chain::to_i64);
        let id = sqlx::query(
            "INSERT INTO rules (rule, origin, created_ms, expires_ms, mac) VALUES (?, ?, ?, ?, x'')",
        )
        .bind(rule_json)
        .bind(origin)
        .bind(created)
        .bind(expires)
        .execute(&mut **tx)
        .await
        .map_err(|e| self.db_error("write to", e))?
        .last_insert_rowid();
        sqlx::query("UPDATE rules SET mac = ? WHERE id = ?")
            .bind(&self.mac.rule(id, rule_json, origin, created, expires)[..])
            .bind(id)
            .execute(&mut **tx)
            .await
            .map_err(|e| self.db_error("write to", e))?;
        Ok(id)
    }

    /// The rules kept in the database, as the policy engine takes them. A rule that cannot be
    /// read is an error (the caller refuses rather than dropping a rule).
    pub async fn policy_rules(&self) -> Result<Vec<(i64, mcpfw_core::policy::file::RuleSpec)>> {
        let mut rules = Vec::new();
        for stored in self.list_rules().await? {
            match serde_json::from_str(&stored.rule_json) {
                Ok(spec) => rules.push((stored.id, spec)),
                Err(error) => return Err(StoreError::UnreadableRule { id: stored.id, error }),
            }
        }
        Ok(rules)
    }

    /// The rules in force (not expired), oldest first. A rule whose MAC does not match (added
    /// or edited behind MCP Firewall's back) is left out and reported with `tracing::error!`.
    pub async fn list_rules(&self) -> Result<Vec<StoredRule>> {
        #[derive(sqlx::FromRow)]
        struct RuleRow {
            id: i64,
            rule: String,
            origin: String,
            created_ms: i64,
            expires_ms: Option<i64>,
            mac: Vec<u8>,
        }
        let rows: Vec<RuleRow> = sqlx::query_as(
            "SELECT id, rule, origin, created_ms, expires_ms, mac FROM rules \
             WHERE expires_ms IS NULL OR expires_ms > ? ORDER BY id",
        )
        .bind(chain::to_i64(now_ms()))
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.db_error("read", e))?;
        let unsigned = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok(rows
            .into_iter()
            .filter(|r| {
                let expected = self.mac.rule(r.id, &r.rule, &r.origin, r.created_ms, r.expires_ms);
                let genuine = expected[..] == r.mac[..];
                if !genuine {
                    tracing::error!(
                        rule = r.id,
                        database = %self.path.display(),
                        "ignoring rule {} of the history database: it was added or changed \
                         outside MCP Firewall",
                        r.id
                    );
                }
                genuine
            })
            .map(|r| StoredRule {
                id: r.id,
                rule_json: r.rule,
                origin: r.origin,
                created_ms: unsigned(r.created_ms),
                expires_ms: r.expires_ms.map(unsigned),
            })
            .collect())
    }

    /// Removes a rule; `false` if there was none with this id.
    pub async fn remove_rule(&self, id: i64) -> Result<bool> {
        let removed = sqlx::query("DELETE FROM rules WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(|e| self.db_error("write to", e))?
            .rows_affected();
        if removed > 0 {
            self.rules_changed();
        }
        Ok(removed > 0)
    }

    /// Tells running shims that the rules changed ([`rules_stamp`]). A stamp that cannot be
    /// written is said: those shims keep their rules until they start again.
    fn rules_changed(&self) {
        let stamp = rules_stamp(&self.path);
        if let Err(e) = std::fs::write(&stamp, now_ms().to_string()) {
            tracing::warn!(
                "cannot write {}: {e}; servers already running keep the rules they started with",
                stamp.display()
            );
        }
    }
}

/// A server as the dashboard lists it: when it was seen and every tool it has described.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerSummary {
    pub name: String,
    /// The command line (stdio) or URL (HTTP), once known.
    pub origin: Option<String>,
    pub first_seen_ms: u64,
    pub last_seen_ms: u64,
    /// Its tools by name, each with every distinct definition seen (newest first).
    pub tools: Vec<ToolSummary>,
}

/// One tool of a server, with its definitions over time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToolSummary {
    pub name: String,
    pub first_seen_ms: u64,
    pub last_seen_ms: u64,
    /// Every distinct definition, the one seen last first.
    pub definitions: Vec<ToolDefinition>,
}

/// One distinct definition of a tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ToolDefinition {
    /// SHA-256 of the definition as sent (hex).
    pub sha256: String,
    /// The definition (JSON text).
    pub definition: String,
    pub first_seen_ms: u64,
    pub last_seen_ms: u64,
}

/// How many tool calls got one verdict in one time bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerdictCount {
    /// The start of the bucket (ms since the epoch).
    pub bucket_ms: u64,
    pub verdict: String,
    pub count: u64,
}

impl Store {
    /// Every server seen and the tools it described, servers by name, tools by name.
    pub async fn servers_overview(&self) -> Result<Vec<ServerSummary>> {
        let unsigned = |v: i64| u64::try_from(v).unwrap_or(0);
        let servers: Vec<(String, Option<String>, i64, i64)> = sqlx::query_as(
            "SELECT name, origin, first_seen_ms, last_seen_ms FROM servers ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.db_error("read", e))?;
        let tools: Vec<(String, String, String, String, i64, i64)> = sqlx::query_as(
            "SELECT server, name, definition_sha256, definition, first_seen_ms, last_seen_ms \
             FROM tools ORDER BY server, name, last_seen_ms DESC, id DESC",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.db_error("read", e))?;
        let mut out: Vec<ServerSummary> = servers
            .into_iter()
            .map(|(name, origin, first, last)| ServerSummary {
                name,
                origin,
                first_seen_ms: unsigned(first),
                last_seen_ms: unsigned(last),
                tools: Vec::new(),
            })
            .collect();
        for (server, name, sha256, definition, first, last) in tools {
            let Some(entry) = out.iter_mut().find(|s| s.name == server) else { continue };
            let definition = ToolDefinition {
                sha256,
                definition,
                first_seen_ms: unsigned(first),
                last_seen_ms: unsigned(last),
            };
            match entry.tools.last_mut().filter(|t| t.name == name) {
                Some(tool) => {
                    tool.first_seen_ms = tool.first_seen_ms.min(definition.first_seen_ms);
                    tool.last_seen_ms = tool.last_seen_ms.max(definition.last_seen_ms);
                    tool.definitions.push(definition);
                }
                None => entry.tools.push(ToolSummary {
                    name,
                    first_seen_ms: definition.first_seen_ms,
                    last_seen_ms: definition.last_seen_ms,
                    definitions: vec![definition],
                }),
            }
        }
        Ok(out)
    }

    /// Tool calls (requests) in `[since_ms, until_ms)` counted per `bucket_ms`-wide bucket
    /// (aligned to `since_ms`) and verdict, oldest bucket first. Reads the time index's range.
    pub async fn call_counts(
        &self,
        since_ms: u64,
        until_ms: u64,
        bucket_ms: u64,
    ) -> Result<Vec<VerdictCount>> {
        let bucket = chain::to_i64(bucket_ms.max(1));
        let since = chain::to_i64(since_ms);
        let rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT (ts_ms - ?1) / ?3 AS b, verdict, count(*) FROM events \
             WHERE ts_ms >= ?1 AND ts_ms < ?2 AND kind = 'request' AND method = 'tools/call' \
             GROUP BY b, verdict ORDER BY b, verdict",
        )
        .bind(since)
        .bind(chain::to_i64(until_ms))
        .bind(bucket)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.db_error("read", e))?;
        Ok(rows
            .into_iter()
            .map(|(b, verdict, count)| VerdictCount {
                bucket_ms: u64::try_from(since + b * bucket).unwrap_or(0),
                verdict,
                count: u64::try_from(count).unwrap_or(0),
            })
            .collect())
    }
}

/// One-time set-up on a dedicated connection: WAL, migrations, the key check. Each step is
/// retried while another process is doing the same (first start of many `mcpfw wrap` at once).
async fn prepare(conn: &mut SqliteConnection, db: &Path, key: &ChainKey) -> Result<()> {
    let fresh: i64 = sqlx::query_scalar("PRAGMA page_count")
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| open_error(db, e))?;
    if fresh == 0 {
        // Only takes effect before the first table is created: lets `prune` shrink the file.
        sqlx::query("PRAGMA auto_vacuum = INCREMENTAL")
            .execute(&mut *conn)
            .await
            .map_err(|e| open_error(db, e))?;
    }

    // Switching to WAL needs an exclusive lock that the busy timeout does not wait for.
    let mut attempt = 0u32;
    loop {
        match sqlx::query_scalar::<_, String>("PRAGMA journal_mode = WAL")
            .fetch_one(&mut *conn)
            .await
        {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => break,
            Ok(mode) => return Err(StoreError::NoWal { path: db.to_owned(), mode }),
            Err(e) if is_busy(&e) && attempt < 200 => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            Err(e) => return Err(open_error(db, e)),
        }
    }

    // sqlx does not lock SQLite migrations across processes: two first starts can both try to
    // apply the same migration. Each migration is one transaction, so the loser fails without
    // a trace and finds it applied on the next attempt.
    let mut attempt = 0u32;
    loop {
        match MIGRATOR.run(&mut *conn).await {
            Ok(()) => break,
            Err(sqlx::migrate::MigrateError::VersionMissing(version)) => {
                return Err(StoreError::NewerSchema { path: db.to_owned(), version });
            }
            Err(
                sqlx::migrate::MigrateError::Execute(e)
                | sqlx::migrate::MigrateError::ExecuteMigration(e, _),
            ) if primary_code(&e).is_some_and(|code| code == 11 || code == 26) => {
                return Err(open_error(db, e));
            }
            Err(e) if attempt < 20 => {
                attempt += 1;
                tracing::debug!("migrating {} (attempt {attempt}): {e}", db.display());
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(source) => {
                return Err(StoreError::Migrate { path: db.to_owned(), source });
            }
        }
    }

    let fingerprint = key.fingerprint();
    sqlx::query(
        "INSERT INTO chain_meta (id, format, key_fingerprint, created_ms) VALUES (1, ?, ?, ?) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(chain::FORMAT)
    .bind(&fingerprint)
    .bind(chain::to_i64(now_ms()))
    .execute(&mut *conn)
    .await
    .map_err(|e| open_error(db, e))?;
    let (format, stored): (i64, String) =
        sqlx::query_as("SELECT format, key_fingerprint FROM chain_meta WHERE id = 1")
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| open_error(db, e))?;
    if format > chain::FORMAT {
        return Err(StoreError::NewerFormat { path: db.to_owned(), format, known: chain::FORMAT });
    }
    if stored != fingerprint {
        return Err(StoreError::OtherKey { path: db.to_owned(), stored, loaded: fingerprint });
    }
    Ok(())
}
