//! This machine's identity for a shared history: a stable id generated once, the host's name,
//! and an Ed25519 key that signs what the machine replicates (`postgres.rs` uses it).
//!
//! Kept in `<data>/machine.json` (0600): `{"id": "<32 hex>", "ed25519_pkcs8": "<hex>"}`. The
//! file is created once, without ever replacing one that exists (two processes starting at the
//! same moment agree on whichever was linked first), so the id stays the same for the life of
//! the data folder.

use std::io::Write;
use std::path::{Path, PathBuf};

use ring::rand::SystemRandom;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Why the machine identity could not be read or created.
#[derive(Debug, thiserror::Error)]
pub enum MachineError {
    #[error("cannot read or write the machine identity {}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("the machine identity {} is damaged ({detail}); move it aside to create a new one (the machine then appears as a new one in the shared history)", path.display())]
    Damaged { path: PathBuf, detail: String },
}

/// This machine: its id, its host name and its signing key.
pub struct Machine {
    /// 32 lowercase hex characters, generated once.
    pub id: String,
    /// The host's name now (it may change; the id does not).
    pub hostname: String,
    key: Ed25519KeyPair,
}

impl std::fmt::Debug for Machine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Machine")
            .field("id", &self.id)
            .field("hostname", &self.hostname)
            .field("key", &self.fingerprint())
            .finish()
    }
}

#[derive(Serialize, Deserialize)]
struct Stored {
    id: String,
    ed25519_pkcs8: String,
}

/// Where the identity is kept.
pub fn machine_path(data: &Path) -> PathBuf {
    data.join("machine.json")
}

impl Machine {
    /// Reads `<data>/machine.json`, creating it first if there is none.
    pub fn load_or_create(data: &Path) -> Result<Machine, MachineError> {
        let path = machine_path(data);
        let io = |source| MachineError::Io { path: path.clone(), source };
        if !path.exists() {
            std::fs::create_dir_all(data).map_err(io)?;
            create(&path).map_err(io)?;
        }
        let text = std::fs::read_to_string(&path).map_err(io)?;
        let damaged = |detail: String| MachineError::Damaged { path: path.clone(), detail };
        let stored: Stored = serde_json::from_str(&text).map_err(|e| damaged(e.to_string()))?;
        if stored.id.len() != 32 || !stored.id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(damaged("the id is not 32 hex characters".into()));
        }
        let pkcs8 = hex::decode(&stored.ed25519_pkcs8).map_err(|e| damaged(e.to_string()))?;
        let key = Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|e| damaged(e.to_string()))?;
        Ok(Machine { id: stored.id, hostname: hostname(), key })
    }

    /// The public half of the signing key (32 bytes).
    pub fn public_key(&self) -> &[u8] {
        self.key.public_key().as_ref()
    }

    /// A short name of the public key, to compare with what a verifier prints.
    pub fn fingerprint(&self) -> String {
        fingerprint(self.public_key())
    }

    pub(crate) fn sign(&self, message: &[u8]) -> Vec<u8> {
        self.key.sign(message).as_ref().to_vec()
    }
}

/// The first 16 hex characters of SHA-256 of a public key.
pub fn fingerprint(public_key: &[u8]) -> String {
    hex::encode(&Sha256::digest(public_key)[..8])
}

/// Writes a new identity beside `path` and links it into place unless one appeared meanwhile.
fn create(path: &Path) -> std::io::Result<()> {
    let rng = SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng)
        .map_err(|_| std::io::Error::other("the system's random source failed"))?;
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).map_err(|e| std::io::Error::other(e.to_string()))?;
    let stored = Stored { id: hex::encode(id), ed25519_pkcs8: hex::encode(pkcs8.as_ref()) };
    let text = serde_json::to_string(&stored).map_err(std::io::Error::other)?;
    let temp = path.with_extension(format!("json.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    mcpfw_core::platform::private::file(&mut options);
    let mut file = options.open(&temp)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    drop(file);
    // A hard link never replaces an existing file: the first process to get here wins.
    let linked = std::fs::hard_link(&temp, path);
    let _ = std::fs::remove_file(&temp);
    match linked {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
        _ => Ok(()),
    }
}

/// The host's name, or `unknown`.
fn hostname() -> String {
    mcpfw_core::platform::hostname()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_and_stable() {
        let dir = tempfile::tempdir().unwrap();
        let first = Machine::load_or_create(dir.path()).unwrap();
        let again = Machine::load_or_create(dir.path()).unwrap();
        assert_eq!(first.id, again.id);
        assert_eq!(first.public_key(), again.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(machine_path(dir.path())).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let other = tempfile::tempdir().unwrap();
        assert_ne!(Machine::load_or_create(other.path()).unwrap().id, first.id);
        std::fs::write(machine_path(other.path()), "{\"id\":\"x\"}").unwrap();
        let e = Machine::load_or_create(other.path()).unwrap_err().to_string();
        assert!(e.contains("damaged"), "{e}");
    }
}
