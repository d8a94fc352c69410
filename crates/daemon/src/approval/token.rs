//! The approver token: the secret that lets a person's tools (`mcpfw approve`, the dashboard,
//! the desktop app) decide approvals and use the HTTP API.
//!
//! It is kept where a wrapped server is least likely to stumble on it: in the OS keyring
//! (service [`keyring_service`], user [`KEYRING_USER`]) unless `MCPFW_KEYRING=off`, else in
//! `<config>/approver.token` (mode 0600) with a warning that says why. Unlike the history's chain
//! key, the token can be replaced at any time (the daemon makes a new one when none can be read),
//! so a keyring that comes and goes costs nothing but a new token.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::paths::{Paths, PathsError};

/// Why the approver token cannot be read or made.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("cannot read the approver token from {}: {error}", file.display())]
    Read { file: PathBuf, error: std::io::Error },
    #[error("no randomness for the approver token: {0}")]
    Random(getrandom::Error),
    /// The config folder cannot be created.
    #[error(transparent)]
    Folder(#[from] PathsError),
    #[error("cannot create {}: {error}", file.display())]
    Create { file: PathBuf, error: std::io::Error },
}

type Result<T, E = TokenError> = std::result::Result<T, E>;
use crate::store::keys::{keyring_disabled, keyring_read, keyring_service, keyring_write};

/// The keyring user (account) name under which the approver token is stored.
pub const KEYRING_USER: &str = "approver-token";

/// Where the token was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    Keyring,
    File(PathBuf),
}

/// The token, if the daemon has made one: the keyring first, then the file.
/// Blocking (a D-Bus round trip); safe on any thread.
pub fn read(paths: &Paths) -> Result<Option<(String, TokenSource)>> {
    if !keyring_disabled() {
        match keyring_read(&keyring_service(paths), KEYRING_USER) {
            Ok(Some(token)) if valid(&token) => return Ok(Some((token, TokenSource::Keyring))),
            Ok(_) => {}
            Err(reason) => tracing::debug!(%reason, "the approver token is not in the keyring"),
        }
    }
    let file = super::token_path(paths);
    match std::fs::read_to_string(&file) {
        Ok(text) if valid(text.trim()) => {
            Ok(Some((text.trim().to_owned(), TokenSource::File(file))))
        }
        Ok(_) => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(TokenError::Read { file, error }),
    }
}

/// The token, created on first use (by the daemon).
pub fn load_or_create(paths: &Paths) -> Result<(String, TokenSource)> {
    if let Some(found) = read(paths)? {
        return Ok(found);
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(TokenError::Random)?;
    let token = hex::encode(bytes);
    let reason = if keyring_disabled() {
        format!("{}=off is set", crate::store::keys::KEYRING_ENV)
    } else {
        match keyring_write(&keyring_service(paths), KEYRING_USER, &token) {
            Ok(()) => return Ok((token, TokenSource::Keyring)),
            Err(reason) => reason.to_string(),
        }
    };
    Paths::ensure(&paths.config)?;
    let file = super::token_path(paths);
    crate::store::keys::write_private_file(&file, format!("{token}\n").as_bytes())
        .map_err(|error| TokenError::Create { file: file.clone(), error })?;
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        tracing::warn!(
            file = %file.display(),
            "the approver token is stored in a file readable only by you, not in the OS keyring, \
             because {reason}"
        );
    }
    Ok((token, TokenSource::File(file)))
}

/// A token is 64 hex digits; anything else is not ours.
fn valid(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// 32 random bytes as hex: login codes and session ids.
pub(crate) fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    // Without randomness nothing secret can be issued: an empty string never matches anything
    // (see `api/auth.rs`), so sign-in fails instead of handing out a guessable value.
    if getrandom::fill(&mut bytes).is_err() {
        return String::new();
    }
    hex::encode(bytes)
}
