//! The chain key: the secret that makes the history tamper-evident.
//!
//! Every row of the history carries an HMAC made with this key (see the [module docs](super)).
//! Whoever can read the key can rewrite the history undetected, so it is kept apart from the
//! database: in the OS keyring when there is one, else in a file readable only by the user.
//!
//! Where the key lives, in order:
//!
//! 1. `chain.key` in the config folder, if it exists. A key that was once put in a file stays
//!    there, even when a keyring becomes available later: moving it silently would be harmless,
//!    but *replacing* it would make the existing history unverifiable, and a half-done move is
//!    exactly that.
//! 2. The OS keyring (service [`keyring_service`], user `chain-key`), unless
//!    `MCPFW_KEYRING=off`. When the key is created there, a marker file `chain.key.keyring` is
//!    written next to where the file would be, so that a keyring that is locked or missing on
//!    a later start is reported as an error instead of quietly starting a second key.
//! 3. Otherwise a new `chain.key` file (0600, 64 hex digits), with a warning that says why.
//!
//! Creation is serialised between processes with a lock file (`chain.key.lock`), so ten
//! `mcpfw wrap` processes started at once agree on one key.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use sha2::{Digest, Sha256};

use mcpfw_core::paths::{Paths, PathsError};

/// Why the history's chain key cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the operating system's random generator failed: {0}")]
    Random(getrandom::Error),
    /// The config folder cannot be created.
    #[error(transparent)]
    Folder(#[from] PathsError),
    /// A file of the key's (the key file, the keyring marker, the lock file) cannot be read or
    /// written; `what` says which and what was done.
    #[error("{what}")]
    File {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// The key file does not hold a key.
    #[error(
        "the chain key file {} is damaged (expected 64 hex digits); restore it from a backup, or \
         move it and the history database aside to start a new history",
        path.display()
    )]
    DamagedFile { path: PathBuf },
    /// Another process made the key file and it was gone before it could be read.
    #[error("the chain key file {} vanished", path.display())]
    Vanished { path: PathBuf },
    /// The marker that says the key is in the keyring cannot be read.
    #[error(
        "{} is damaged (it should name the keyring service and the key's fingerprint); it \
         records that the history's chain key is in the OS keyring",
        path.display()
    )]
    DamagedMarker { path: PathBuf },
    /// The key is in the keyring but the keyring is turned off.
    #[error(
        "{KEYRING_ENV}=off, but the history's chain key is in the OS keyring (service \"{service}\", \
         see {}); unset {KEYRING_ENV} so it can be read, or the existing history cannot be \
         verified",
        marker.display(),
        KEYRING_ENV = KEYRING_ENV
    )]
    KeyringOff { service: String, marker: PathBuf },
    /// The keyring holds another key than the one the history was written with.
    #[error(
        "the OS keyring holds a chain key (fingerprint {found}) that is not the one this history \
         was written with (fingerprint {expected}, see {}); restore the original key in the \
         keyring, or move {} and the history database aside to start over",
        marker.display(),
        marker.display()
    )]
    OtherKeyInKeyring { found: String, expected: String, marker: PathBuf },
    /// The key was in the keyring and is gone.
    #[error(
        "the history's chain key (fingerprint {fingerprint}) is no longer in the OS keyring \
         (service \"{service}\", user \"{KEYRING_USER}\"); restore it, or move {} and the history \
         database aside to start a new, unverifiable-with-the-old-key history",
        marker.display(),
        KEYRING_USER = KEYRING_USER
    )]
    LostFromKeyring { fingerprint: String, service: String, marker: PathBuf },
    /// The key is in the keyring, which cannot be used now.
    #[error(
        "the history's chain key is in the OS keyring (service \"{service}\"), which cannot be \
         used now: {reason}; unlock or start the keyring and try again"
    )]
    KeyringUnavailable { service: String, reason: KeyringError },
}

/// Why the OS keyring cannot be used (said in messages as the reason a file is used instead).
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("cannot start a thread for the keyring: {0}")]
    Thread(std::io::Error),
    #[error("the keyring library panicked")]
    Panicked,
    #[error("the keyring is locked or refused access ({0})")]
    Locked(Box<dyn std::error::Error + Send + Sync>),
    #[error("the keyring is not available ({0})")]
    Unavailable(Box<dyn std::error::Error + Send + Sync>),
    #[error("the keyring failed ({0})")]
    Failed(keyring::Error),
    #[error("the keyring did not keep the secret it was given")]
    NotKept,
    #[error(
        "the keyring entry (service \"{service}\", user \"{KEYRING_USER}\") does not hold a chain \
         key (expected 64 hex digits)",
        KEYRING_USER = KEYRING_USER
    )]
    NotAKey { service: String },
}

type Result<T, E = KeyError> = std::result::Result<T, E>;

/// The error for a key file that cannot be read or written.
fn file_error(what: String) -> impl FnOnce(std::io::Error) -> KeyError {
    move |source| KeyError::File { what, source }
}

/// The environment variable that keeps the chain key out of the OS keyring when set to `off`
/// (for tests and headless machines).
pub const KEYRING_ENV: &str = "MCPFW_KEYRING";

/// The keyring user (account) name under which the chain key is stored.
pub const KEYRING_USER: &str = "chain-key";

/// The secret that authenticates the history's hash chain: 32 bytes.
///
/// `Debug` shows only a fingerprint; the bytes are wiped when the value is dropped.
#[derive(Clone)]
pub struct ChainKey([u8; 32]);

impl ChainKey {
    /// A key made of these bytes (tests, and keys read from storage).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A new random key from the operating system's generator.
    pub fn generate() -> Result<Self> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(KeyError::Random)?;
        Ok(Self(bytes))
    }

    /// A short, non-secret name for the key (16 hex digits of a hash of it), to tell keys apart
    /// in messages and to check that the history is opened with the key it was written with.
    pub fn fingerprint(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(b"mcpfw-chain-key-fingerprint-v1");
        hasher.update(self.0);
        hex::encode(&hasher.finalize()[..8])
    }

    pub(crate) fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    fn from_hex(text: &str) -> Option<Self> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut bytes).ok()?;
        Some(Self(bytes))
    }
}

impl std::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChainKey(fingerprint {})", self.fingerprint())
    }
}

impl Drop for ChainKey {
    fn drop(&mut self) {
        for byte in &mut self.0 {
            // SAFETY: `byte` is a valid, aligned, exclusive reference into our own array.
            unsafe { std::ptr::write_volatile(byte, 0) };
        }
        std::sync::atomic::compiler_fence(Ordering::SeqCst);
    }
}

/// Where the chain key was found (or created).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// The OS keyring (Secret Service on Linux).
    Keyring,
    /// A file readable only by the user.
    File(PathBuf),
}

/// The file that holds the chain key when the keyring is not used: `<config>/chain.key`.
pub fn key_file_path(paths: &Paths) -> PathBuf {
    paths.config.join("chain.key")
}

/// The marker that says the key was created in the keyring: `<config>/chain.key.keyring`.
fn keyring_marker_path(paths: &Paths) -> PathBuf {
    paths.config.join("chain.key.keyring")
}

/// The keyring service name for this instance: `mcpfw` for the platform's default folders,
/// else `mcpfw:<12 hex digits of a hash of the config folder>`, so that instances isolated with
/// `MCPFW_HOME` (tests, side-by-side installs) never share or overwrite each other's key.
pub fn keyring_service(paths: &Paths) -> String {
    let default = std::env::var_os(mcpfw_core::paths::HOME_ENV).is_none_or(|home| home.is_empty())
        && Paths::platform().is_ok_and(|platform| platform == *paths);
    if default {
        return "mcpfw".to_owned();
    }
    let digest = Sha256::digest(paths.config.as_os_str().as_encoded_bytes());
    format!("mcpfw:{}", &hex::encode(digest)[..12])
}

/// Whether `MCPFW_KEYRING` turns the keyring off (`off`, `0`, `false` or `no`).
pub fn keyring_disabled() -> bool {
    std::env::var(KEYRING_ENV).is_ok_and(|value| {
        matches!(value.trim().to_ascii_lowercase().as_str(), "off" | "0" | "false" | "no")
    })
}

/// Loads the chain key, creating it on first use; see the [module docs](self) for the order.
///
/// **Blocking: call it from a plain thread** (at start-up, or through
/// `tokio::task::spawn_blocking`), not from async code: a D-Bus round trip to the keyring can
/// take seconds. keyring's Secret Service backend runs its own executor (`block_on` on a private
/// tokio runtime), which panics or deadlocks when called on a thread that is inside a tokio
/// runtime; so every keyring call is made on a short-lived helper thread of this function's own,
/// and calling it from a runtime thread is therefore safe, merely blocking.
///
/// Keyring failures (no D-Bus session, no Secret Service, a locked collection) are errors, never
/// panics; they make the key go to a file, with a `tracing::warn!` that says so and why. If the
/// key was created in the keyring earlier and the keyring is unavailable now, or no longer holds
/// it, this returns an error instead: starting a second key would leave the history unverifiable.
pub fn load_or_create_chain_key(paths: &Paths) -> Result<(ChainKey, KeySource)> {
    Paths::ensure(&paths.config)?;
    let _lock = CreationLock::acquire(&paths.config.join("chain.key.lock"))?;

    let file = key_file_path(paths);
    if let Some(key) = read_key_file(&file)? {
        tracing::info!(
            file = %file.display(),
            fingerprint = %key.fingerprint(),
            "the history's chain key is in a file (kept there so the history stays verifiable)"
        );
        return Ok((key, KeySource::File(file)));
    }

    let marker_path = keyring_marker_path(paths);
    let marker = read_marker(&marker_path)?;
    let service = keyring_service(paths);

    if keyring_disabled() {
        if let Some(marker) = marker {
            return Err(KeyError::KeyringOff { service: marker.service, marker: marker_path });
        }
        let key = create_key_file(&file)?;
        warn_key_in_file(&file, &format!("{KEYRING_ENV}=off is set"));
        return Ok((key, KeySource::File(file)));
    }

    match keyring_get(&service) {
        Ok(Some(key)) => {
            match &marker {
                Some(marker) if marker.fingerprint != key.fingerprint() => {
                    return Err(KeyError::OtherKeyInKeyring {
                        found: key.fingerprint(),
                        expected: marker.fingerprint.clone(),
                        marker: marker_path,
                    });
                }
                Some(_) => {}
                None => write_marker(&marker_path, &service, &key)?,
            }
            Ok((key, KeySource::Keyring))
        }
        Ok(None) => {
            if let Some(marker) = marker {
                return Err(KeyError::LostFromKeyring {
                    fingerprint: marker.fingerprint,
                    service: marker.service,
                    marker: marker_path,
                });
            }
            let key = ChainKey::generate()?;
            match keyring_store(&service, &key) {
                Ok(()) => {
                    write_marker(&marker_path, &service, &key)?;
                    tracing::info!(
                        service = %service,
                        fingerprint = %key.fingerprint(),
                        "created the history's chain key in the OS keyring"
                    );
                    Ok((key, KeySource::Keyring))
                }
                Err(reason) => {
                    let key = create_key_file(&file)?;
                    warn_key_in_file(&file, &reason.to_string());
                    Ok((key, KeySource::File(file)))
                }
            }
        }
        Err(reason) => {
            if let Some(marker) = marker {
                return Err(KeyError::KeyringUnavailable { service: marker.service, reason });
            }
            let key = create_key_file(&file)?;
            warn_key_in_file(&file, &reason.to_string());
            Ok((key, KeySource::File(file)))
        }
    }
}

fn warn_key_in_file(file: &Path, reason: &str) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            file = %file.display(),
            "the history's chain key is stored in a file readable only by you, not in the OS \
             keyring, because {reason}; anyone who can read this file can rewrite the history \
             undetected"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The keyring, always called on a helper thread (see `load_or_create_chain_key`).

/// Runs `f` on a fresh plain thread and waits for it.
fn on_plain_thread<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, KeyringError> {
    std::thread::Builder::new()
        .name("mcpfw-keyring".into())
        .spawn(f)
        .map_err(KeyringError::Thread)?
        .join()
        .map_err(|_| KeyringError::Panicked)
}

/// The key stored in the keyring: `Ok(None)` when there is none, `Err(why)` when the keyring
/// cannot be used.
fn keyring_get(service: &str) -> Result<Option<ChainKey>, KeyringError> {
    match keyring_read(service, KEYRING_USER)? {
        None => Ok(None),
        Some(text) => ChainKey::from_hex(&text)
            .map(Some)
            .ok_or_else(|| KeyringError::NotAKey { service: service.to_owned() }),
    }
}

fn keyring_store(service: &str, key: &ChainKey) -> Result<(), KeyringError> {
    keyring_write(service, KEYRING_USER, &key.to_hex())
}

/// The secret stored in the OS keyring under (`service`, `user`): `Ok(None)` when there is
/// none, `Err(why)` when the keyring cannot be used. Safe to call from any thread (see
/// [`load_or_create_chain_key`]).
pub fn keyring_read(service: &str, user: &str) -> Result<Option<String>, KeyringError> {
    let (service, user) = (service.to_owned(), user.to_owned());
    on_plain_thread(move || {
        let entry = keyring::Entry::new(&service, &user).map_err(describe)?;
        match entry.get_password() {
            Ok(text) => Ok(Some(text)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(describe(e)),
        }
    })?
}

/// Stores a secret in the OS keyring, then reads it back through a new entry: a keyring that
/// does not persist (keyring's in-memory mock on platforms without a backend) must not be
/// trusted with it.
pub fn keyring_write(service: &str, user: &str, secret: &str) -> Result<(), KeyringError> {
    let (service, user, secret) = (service.to_owned(), user.to_owned(), secret.to_owned());
    on_plain_thread(move || {
        keyring::Entry::new(&service, &user)
            .and_then(|entry| entry.set_password(&secret))
            .map_err(describe)?;
        let stored = keyring::Entry::new(&service, &user)
            .and_then(|entry| entry.get_password())
            .map_err(describe)?;
        if stored == secret { Ok(()) } else { Err(KeyringError::NotKept) }
    })?
}

fn describe(error: keyring::Error) -> KeyringError {
    match error {
        keyring::Error::NoStorageAccess(e) => KeyringError::Locked(e),
        keyring::Error::PlatformFailure(e) => KeyringError::Unavailable(e),
        other => KeyringError::Failed(other),
    }
}

// ---------------------------------------------------------------------------------------------
// The key file and the keyring marker.

fn read_key_file(file: &Path) -> Result<Option<ChainKey>> {
    let text = match fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(file_error(format!(
                "cannot read the history's chain key from {}",
                file.display()
            ))(e));
        }
    };
    let key =
        ChainKey::from_hex(&text).ok_or_else(|| KeyError::DamagedFile { path: file.to_owned() })?;
    tighten_permissions(file);
    Ok(Some(key))
}

/// Makes a key file that others can read private again (it may have been copied carelessly).
fn tighten_permissions(file: &Path) {
    use mcpfw_core::platform::private;
    if private::open_to_others(file) {
        tracing::warn!(
            file = %file.display(),
            "the chain key file was readable by others; making it readable by you only"
        );
        if let Err(e) = private::restrict(file) {
            tracing::warn!(file = %file.display(), "cannot change its permissions: {e}");
        }
    }
}

/// Writes a new key to `file` atomically: a private temporary file is written and synced, then
/// hard-linked into place (which fails if the file appeared meanwhile; that key is used then).
fn create_key_file(file: &Path) -> Result<ChainKey> {
    let key = ChainKey::generate()?;
    let tmp = file.with_extension(format!("key.tmp{}", std::process::id()));
    write_private(&tmp, format!("{}\n", key.to_hex()).as_bytes())
        .map_err(file_error(format!("cannot write the chain key to {}", tmp.display())))?;
    let linked = fs::hard_link(&tmp, file);
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            sync_parent(file);
            Ok(key)
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => {
            read_key_file(file)?.ok_or_else(|| KeyError::Vanished { path: file.to_owned() })
        }
        Err(e) => Err(file_error(format!("cannot create {}", file.display()))(e)),
    }
}

/// Replaces `path` with a new file of mode 0600 holding `bytes`, synced to disk (a file left
/// with wider permissions by someone else is removed first, not reused).
pub fn write_private_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    write_private(path, bytes)
}

/// Creates (or truncates) `path` with mode 0600, writes `bytes` and syncs them to disk.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    mcpfw_core::platform::private::file(&mut options);
    let mut out = options.open(path)?;
    out.write_all(bytes)?;
    out.sync_all()
}

fn sync_parent(file: &Path) {
    if let Some(dir) = file.parent()
        && let Ok(dir) = File::open(dir)
    {
        let _ = dir.sync_all();
    }
}

struct Marker {
    service: String,
    fingerprint: String,
}

fn read_marker(path: &Path) -> Result<Option<Marker>> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(file_error(format!("cannot read {}", path.display()))(e)),
    };
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix('='))
            .map(|value| value.trim().to_owned())
    };
    match (field("service"), field("fingerprint")) {
        (Some(service), Some(fingerprint)) => Ok(Some(Marker { service, fingerprint })),
        _ => Err(KeyError::DamagedMarker { path: path.to_owned() }),
    }
}

fn write_marker(path: &Path, service: &str, key: &ChainKey) -> Result<()> {
    let text = format!(
        "# The chain key of MCP Firewall's history is in the OS keyring (user \"{KEYRING_USER}\").\n\
         service={service}\nfingerprint={}\n",
        key.fingerprint()
    );
    write_private(path, text.as_bytes())
        .map_err(file_error(format!("cannot write {}", path.display())))?;
    sync_parent(path);
    Ok(())
}

/// An exclusive `flock` on a lock file, held while the key is looked up or created.
struct CreationLock {
    _file: File,
}

impl CreationLock {
    fn acquire(path: &Path) -> Result<Self> {
        let mut options = OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        mcpfw_core::platform::private::file(&mut options);
        let file = options
            .open(path)
            .map_err(file_error(format!("cannot open the lock file {}", path.display())))?;
        mcpfw_core::platform::lock_exclusive(&file)
            .map_err(file_error(format!("cannot lock {}", path.display())))?;
        Ok(Self { _file: file })
    }
}
