//! Writing the clients' files safely: atomic replacement that keeps the file's permissions
//! (and writes through a symlink to its target), backups of the original bytes, and the check
//! that nobody changed the file between reading and replacing it.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::paths::{Paths, PathsError};

/// Why a file cannot be written (a client's configuration file, a backup, the install lock).
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file changed between reading and replacing it: read it again.
    #[error(transparent)]
    Changed(#[from] Changed),
    /// Reading, writing, locking or replacing failed; `what` says which file and what was done.
    #[error("{what}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// A folder cannot be created.
    #[error(transparent)]
    Folder(#[from] PathsError),
    /// The path has no folder to write the file in.
    #[error("{} has no folder", path.display())]
    NoFolder { path: PathBuf },
}

type Result<T, E = FileError> = std::result::Result<T, E>;

/// The error for an I/O failure, saying what was being done.
fn io(what: String) -> impl FnOnce(std::io::Error) -> FileError {
    move |source| FileError::Io { what, source }
}

/// The folder of MCP Firewall's install state (manifest, backups): `<data>/install`.
pub fn install_dir(paths: &Paths) -> PathBuf {
    paths.data.join("install")
}

/// Held while install or uninstall runs, so that two of them (the command line and the
/// dashboard, say) never interleave their edits of the manifest.
pub struct Lock {
    _file: std::fs::File,
}

/// Waits for and takes the install lock (`<data>/install/lock`).
pub fn lock(paths: &Paths) -> Result<Lock> {
    let dir = install_dir(paths);
    Paths::ensure(&dir)?;
    let path = dir.join("lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io(format!("cannot open {}", path.display())))?;
    mcpfw_core::platform::lock_exclusive(&file)
        .map_err(io(format!("cannot lock {}", path.display())))?;
    Ok(Lock { _file: file })
}

/// Keeps a copy of `bytes` (a file's content before a change) below `<data>/install/backups`,
/// readable by the user only, and returns where.
pub fn backup(paths: &Paths, client: &str, file: &Path, bytes: &[u8]) -> Result<PathBuf> {
    let dir = install_dir(paths).join("backups");
    Paths::ensure(&dir)?;
    let name = file.file_name().map_or_else(|| "config".into(), |n| n.to_string_lossy());
    let stamp = crate::record::now_ms();
    let mut n = 0u32;
    loop {
        let path = dir.join(format!("{stamp}-{client}-{n}-{name}"));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        mcpfw_core::platform::private::file(&mut options);
        match options.open(&path) {
            Ok(mut out) => {
                out.write_all(bytes)
                    .and_then(|()| out.sync_all())
                    .map_err(io(format!("cannot write the backup {}", path.display())))?;
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
            Err(e) => {
                return Err(io(format!("cannot write the backup {}", path.display()))(e));
            }
        }
    }
}

/// Replaces the content of `file` with `after`, provided it still holds `before` (else the
/// client changed it meanwhile, and the caller should read it again).
///
/// The new content goes to a temporary file in the same folder, synced, given the old file's
/// permissions, then renamed over it: a reader sees the old or the new file, never half of one.
/// A symlinked file (dotfile managers) is replaced at its target, so the link stays.
pub fn replace(file: &Path, before: &[u8], after: &[u8]) -> Result<()> {
    let target =
        std::fs::canonicalize(file).map_err(io(format!("cannot resolve {}", file.display())))?;
    let permissions = std::fs::metadata(&target)
        .map_err(io(format!("cannot read {}", target.display())))?
        .permissions();
    let dir = target.parent().ok_or_else(|| FileError::NoFolder { path: target.clone() })?;
    let name = target.file_name().map_or_else(|| "config".into(), |n| n.to_string_lossy());
    let temp = dir.join(format!(".{name}.mcpfw-{}.tmp", std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let mut out = std::fs::File::create(&temp)?;
        out.write_all(after)?;
        out.set_permissions(permissions)?;
        out.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(io(format!("cannot write next to {}", target.display()))(e));
    }
    let current = std::fs::read(&target).unwrap_or_default();
    if current != before {
        let _ = std::fs::remove_file(&temp);
        return Err(Changed(file.to_owned()).into());
    }
    if let Err(e) = std::fs::rename(&temp, &target) {
        let _ = std::fs::remove_file(&temp);
        return Err(io(format!("cannot replace {}", target.display()))(e));
    }
    if let Ok(dir) = std::fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// A file changed between reading and replacing it.
#[derive(Debug, thiserror::Error)]
#[error("{} changed while it was being edited (its program wrote it meanwhile)", .0.display())]
pub struct Changed(pub PathBuf);

/// Writes a file of MCP Firewall's own atomically, readable by the user only.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().ok_or_else(|| FileError::NoFolder { path: path.to_owned() })?;
    Paths::ensure(dir)?;
    let temp = path.with_extension(format!("tmp{}", std::process::id()));
    crate::store::keys::write_private_file(&temp, bytes)
        .and_then(|()| std::fs::rename(&temp, path))
        .map_err(io(format!("cannot write {}", path.display())))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn replacing_keeps_permissions_and_symlinks_and_refuses_a_file_changed_meanwhile() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        std::fs::write(&real, "{}").unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        replace(&link, b"{}", b"{\"a\": 1}").unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(&real).unwrap(), b"{\"a\": 1}");
        assert_eq!(std::fs::metadata(&real).unwrap().permissions().mode() & 0o777, 0o640);
        let error = replace(&real, b"{}", b"[]").unwrap_err();
        assert!(matches!(error, FileError::Changed(_)), "{error}");
        assert_eq!(std::fs::read(&real).unwrap(), b"{\"a\": 1}");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2, "no temporary file left");
    }
}
