//! Linux and macOS.

use std::fs::{DirBuilder, File, OpenOptions};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, FileTypeExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

pub fn euid() -> u32 {
    // SAFETY: geteuid(2) takes no arguments, touches no memory and cannot fail.
    unsafe { libc::geteuid() }
}

pub fn is_root() -> bool {
    euid() == 0
}

pub fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority(2) on the calling thread (who = 0) with a valid nice value; it touches
    // no memory. Failure only leaves the default priority.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}

pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim(3) only walks the allocator's own free lists; it takes no pointers.
    unsafe {
        libc::malloc_trim(0);
    }
}

pub fn widen_pipe(file: &File, bytes: usize) -> Option<usize> {
    #[cfg(target_os = "linux")]
    {
        let wanted = libc::c_int::try_from(bytes).ok()?;
        // SAFETY: fcntl(2) on a descriptor `file` owns, with an integer argument; it touches
        // no memory. It fails (-1) on anything but a pipe.
        let now = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETPIPE_SZ) };
        if now < 0 {
            return None;
        }
        if now >= wanted {
            return usize::try_from(now).ok();
        }
        // SAFETY: as above.
        let set = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETPIPE_SZ, wanted) };
        usize::try_from(if set < 0 { now } else { set }).ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (file, bytes);
        None
    }
}

pub fn parent_pid() -> Option<u32> {
    Some(std::os::unix::process::parent_id())
}

pub fn hostname() -> String {
    let mut buffer = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
    let rc = unsafe { libc::gethostname(buffer.as_mut_ptr().cast(), buffer.len()) };
    if rc != 0 {
        return "unknown".into();
    }
    let end = buffer.iter().position(|&b| b == 0).unwrap_or(buffer.len());
    String::from_utf8_lossy(&buffer[..end]).into_owned()
}

pub fn private_file(options: &mut OpenOptions) -> &mut OpenOptions {
    options.mode(0o600)
}

pub fn private_dir(builder: &mut DirBuilder) -> &mut DirBuilder {
    builder.mode(0o700)
}

pub fn open_to_others(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|meta| meta.permissions().mode() & 0o077 != 0)
}

pub fn restrict(path: &Path) -> std::io::Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

pub fn executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

pub fn lock_exclusive(file: &File, wait: bool) -> std::io::Result<bool> {
    let operation = if wait { libc::LOCK_EX } else { libc::LOCK_EX | libc::LOCK_NB };
    loop {
        // SAFETY: flock on a descriptor the caller owns; no memory is passed. The lock is
        // released when the file is closed.
        if unsafe { libc::flock(file.as_raw_fd(), operation) } == 0 {
            return Ok(true);
        }
        let error = std::io::Error::last_os_error();
        match error.kind() {
            std::io::ErrorKind::Interrupted => {}
            std::io::ErrorKind::WouldBlock if !wait => return Ok(false),
            _ => return Err(error),
        }
    }
}

pub fn stdio_files() -> std::io::Result<(File, File)> {
    use std::os::fd::AsFd;
    let stdin = File::from(std::io::stdin().as_fd().try_clone_to_owned()?);
    let stdout = File::from(std::io::stdout().as_fd().try_clone_to_owned()?);
    Ok((stdin, stdout))
}

pub type DaemonStream = std::os::unix::net::UnixStream;

pub fn connect(path: &Path) -> std::io::Result<DaemonStream> {
    DaemonStream::connect(path)
}

pub fn owned_by_me(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket() && m.uid() == euid())
}
