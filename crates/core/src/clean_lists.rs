//! Tool lists the detector found clean, remembered across processes.
//!
//! A server lists the same tools every time it starts, and the first screening of a list in a
//! process is its most expensive one: the detector builds its trigger automaton and the
//! regexes the list's text needs (about 15 ms for 100 tools), and the client waits for it. So a
//! list on which the detector found nothing to record, withhold or rewrite is remembered by its
//! key, and the same list from the same build of the detector is passed without being read
//! again. The key is SHA-256 over the detector's build ([`DETECTOR_BUILD`]) and every tool as
//! listed, in order: the detector reads a list as a whole (a tool's finding can depend on its
//! siblings), so a hit means exactly "the detector would find nothing". Lists with any finding
//! are never remembered; they are read every time.
//!
//! The file is a run of 32-byte keys in the data folder (owner-only, like the database: a
//! process that can write it can write the policy too). An unreadable or damaged file is
//! treated as empty: the list is read, which is only slower.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use sha2::{Digest, Sha256};

/// This build of the detector: a fingerprint of this crate's sources and of the lock file
/// (`build.rs`).
pub const DETECTOR_BUILD: &str = env!("MCPFW_DETECTOR_BUILD");

/// The file's name in the data folder.
pub const FILE: &str = "clean-tool-lists";

/// Past this size the file starts over (32,768 lists): keys of old builds and of lists no
/// server sends any more would otherwise pile up.
const MAX_BYTES: u64 = 1 << 20;

/// One list's key.
pub type Key = [u8; 32];

/// The clean lists known to this process, loaded from the file at the first lookup.
pub struct CleanLists {
    path: Option<PathBuf>,
    known: OnceLock<Mutex<HashSet<Key>>>,
}

impl CleanLists {
    /// Lists remembered in `path`.
    pub fn at(path: PathBuf) -> Self {
        Self { path: Some(path), known: OnceLock::new() }
    }

    /// Nothing remembered: every list is read.
    pub fn none() -> Self {
        Self { path: None, known: OnceLock::new() }
    }

    /// The key of a list of tools (name, definition as listed).
    pub fn key(tools: &[(String, String)]) -> Key {
        let mut hash = Sha256::new();
        hash.update(DETECTOR_BUILD.as_bytes());
        for (name, definition) in tools {
            for part in [name, definition] {
                hash.update((part.len() as u64).to_le_bytes());
                hash.update(part.as_bytes());
            }
        }
        hash.finalize().into()
    }

    /// Whether the list with this key was found clean before.
    pub fn contains(&self, key: &Key) -> bool {
        self.path.is_some() && self.known().lock().unwrap_or_else(|p| p.into_inner()).contains(key)
    }

    /// Remembers a list the detector found clean.
    pub fn remember(&self, key: Key) {
        let Some(path) = &self.path else { return };
        if !self.known().lock().unwrap_or_else(|p| p.into_inner()).insert(key) {
            return;
        }
        // A file of whole keys is appended to; a full one, or one with a torn key (whatever
        // came after it would be read misaligned), starts over.
        let start_over =
            std::fs::metadata(path).is_ok_and(|m| m.len() >= MAX_BYTES || m.len() % 32 != 0);
        let mut options = std::fs::OpenOptions::new();
        options.create(true);
        if start_over {
            options.write(true).truncate(true);
        } else {
            options.append(true);
        }
        crate::platform::private::file(&mut options);
        // One write of 32 bytes to a file opened for appending: processes that remember
        // lists at the same time do not interleave their keys.
        if let Err(e) = options.open(path).and_then(|mut f| f.write_all(&key)) {
            tracing::debug!(path = %path.display(), "a clean tool list was not remembered: {e}");
        }
    }

    fn known(&self) -> &Mutex<HashSet<Key>> {
        self.known.get_or_init(|| {
            let bytes = self.path.as_ref().and_then(|p| std::fs::read(p).ok()).unwrap_or_default();
            Mutex::new(
                bytes.chunks_exact(32).map(|k| k.try_into().expect("chunks of 32 bytes")).collect(),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(description: &str) -> Vec<(String, String)> {
        vec![(
            "echo".to_owned(),
            format!(r#"{{"name":"echo","description":"{description}","inputSchema":{{}}}}"#),
        )]
    }

    #[test]
    fn a_list_remembered_by_one_process_is_known_to_the_next_and_no_other_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        let clean = list("Echoes its input.");
        let first = CleanLists::at(path.clone());
        assert!(!first.contains(&CleanLists::key(&clean)));
        first.remember(CleanLists::key(&clean));
        let next = CleanLists::at(path.clone());
        assert!(next.contains(&CleanLists::key(&clean)));
        // Another definition, another name or another order is another list.
        assert!(!next.contains(&CleanLists::key(&list("Echoes its input!"))));
        let mut two = clean.clone();
        two.push(("other".to_owned(), clean[0].1.clone()));
        let mut swapped = two.clone();
        swapped.reverse();
        assert_ne!(CleanLists::key(&two), CleanLists::key(&swapped));
        // A damaged file (a torn key) loses nothing but the torn key, and the next list
        // remembered starts the file over, aligned.
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"torn").unwrap();
        let after = CleanLists::at(path.clone());
        assert!(after.contains(&CleanLists::key(&clean)));
        after.remember(CleanLists::key(&two));
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 32);
        assert!(CleanLists::at(path.clone()).contains(&CleanLists::key(&two)));
        // Nothing remembered without a file.
        let none = CleanLists::none();
        none.remember(CleanLists::key(&clean));
        assert!(!none.contains(&CleanLists::key(&clean)));
    }
}
