//! What `mcpfw install` changed, so that `mcpfw uninstall` can put it back: for each entry, its
//! exact text before and after (for a TOML or YAML file, its value as JSON text, and its
//! `command` as written). Kept in `<data>/install/manifest.json` (mode 0600).
//!
//! An entry is recognised by its value, not its text: a client that re-serializes its file
//! (Claude Code rewrites `~/.claude.json` with each `args` element on its own line) or a person
//! who re-indents it or reorders keys leaves the entry as install wrote it. Uninstalling
//! replaces an entry only while its value is still what install wrote; an entry the user
//! edited since is left alone (and reported), and everything outside the recorded entries is
//! never touched, so the user's other edits survive.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::files;
use crate::paths::Paths;

/// Why the install manifest cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// It is not a manifest (damaged, or edited by hand).
    #[error(
        "{} cannot be read; restore the configuration files from the backups next to it",
        path.display()
    )]
    Damaged {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot read {}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Unwritable(#[from] files::FileError),
    /// A record holds what JSON cannot (a path that is not UTF-8).
    #[error("the install manifest cannot be written: {0}")]
    Unserializable(serde_json::Error),
}

type Result<T, E = ManifestError> = std::result::Result<T, E>;

/// One entry rewritten by install.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub client: String,
    /// The configuration file, as found (not resolved through symlinks).
    pub file: PathBuf,
    /// The object keys leading to the entry (see [`crate::clients::ServerEntry::pointer`]).
    pub pointer: Vec<String>,
    /// The entry's text before install (byte-exact).
    pub original: String,
    /// The entry's text as install wrote it.
    pub installed: String,
    /// When (ms since the epoch).
    pub installed_ms: u64,
    /// The copy of the whole file taken before this change.
    #[serde(default)]
    pub backup: Option<PathBuf>,
    /// For a remote entry pointed at the HTTP proxy: the route's name (removed on uninstall
    /// when no other entry uses it).
    #[serde(default)]
    pub route: Option<String>,
    /// For an entry of a TOML or YAML file: its `command` (Goose: `cmd`) as it was written
    /// (quoting included; for a remote YAML entry, its address), put back by uninstall; `original` and `installed` hold the entry's
    /// value as JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_text: Option<String>,
}

/// What an entry holds now, compared with its install record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holds {
    /// Exactly the text install wrote.
    InstalledText,
    /// The value install wrote, in other words (re-indented, keys reordered, …).
    Installed,
    /// The value it had before install.
    Original,
    /// Something else: edited since install.
    Other,
}

impl Record {
    /// What uninstall says of an entry edited since install: left alone, and where the
    /// original is.
    pub fn changed_note(&self, label: &str) -> String {
        let backup = self
            .backup
            .as_ref()
            .map_or(String::new(), |b| format!("; the original is in {}", b.display()));
        format!("{label}: changed since install, left as it is (edit it by hand{backup})")
    }

    pub fn name(&self) -> &str {
        self.pointer.last().map_or("", String::as_str)
    }

    /// What `current`, the entry's text in the file now, holds.
    pub fn holds(&self, current: &str) -> Holds {
        use crate::jsonc::{same_value, value_of};
        if current == self.installed {
            return Holds::InstalledText;
        }
        if current == self.original {
            return Holds::Original;
        }
        let Some(now) = value_of(current) else { return Holds::Other };
        if value_of(&self.installed).is_some_and(|v| same_value(&v, &now)) {
            Holds::Installed
        } else if value_of(&self.original).is_some_and(|v| same_value(&v, &now)) {
            Holds::Original
        } else {
            Holds::Other
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    pub records: Vec<Record>,
}

/// `<data>/install/manifest.json`.
pub fn manifest_path(paths: &Paths) -> PathBuf {
    files::install_dir(paths).join("manifest.json")
}

impl Manifest {
    /// The manifest, or an empty one when nothing was installed yet.
    pub fn load(paths: &Paths) -> Result<Self> {
        let path = manifest_path(paths);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|source| ManifestError::Damaged { path, source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(source) => Err(ManifestError::Unreadable { path, source }),
        }
    }

    pub fn save(&self, paths: &Paths) -> Result<()> {
        let mut text = serde_json::to_vec_pretty(&Manifest { version: 1, ..self.clone() })
            .map_err(ManifestError::Unserializable)?;
        text.push(b'\n');
        Ok(files::write_private(&manifest_path(paths), &text)?)
    }

    /// The record of the entry at `pointer` in `file`.
    pub fn find(&self, file: &Path, pointer: &[String]) -> Option<&Record> {
        self.records.iter().find(|r| r.file == file && r.pointer == pointer)
    }

    /// Adds `record`, replacing any older record of the same entry.
    pub fn put(&mut self, record: Record) {
        self.records.retain(|r| !(r.file == record.file && r.pointer == record.pointer));
        self.records.push(record);
    }

    /// Drops the record of the entry at `pointer` in `file`.
    pub fn remove(&mut self, file: &Path, pointer: &[String]) {
        self.records.retain(|r| !(r.file == file && r.pointer == pointer));
    }
}
