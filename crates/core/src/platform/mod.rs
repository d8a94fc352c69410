//! The operating system behind one small interface: every call of the core (and of the crates
//! built on it) that differs between Linux, macOS and Windows is made here, so the logic that
//! uses it reads the same everywhere. `unix.rs` serves Linux and macOS, `windows.rs` Windows;
//! each call says what it does where. docs/platforms.md says what has been run on which system.

use std::fs::{DirBuilder, File, OpenOptions};
use std::path::Path;

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as imp;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as imp;

/// The effective user id of this process.
#[cfg(unix)]
pub fn euid() -> u32 {
    imp::euid()
}

/// Whether this process runs as root (Unix: effective uid 0). Windows: always `false` (an
/// elevated administrator is not detected).
pub fn is_root() -> bool {
    imp::is_root()
}

/// Lowers this thread's scheduling priority, so that on a busy machine the relay threads run
/// first and background work (the result scanner, hashing a server's files) catches up in
/// between. Threads started from here inherit it. Never for a thread that something waits on.
/// Linux: nice 10; Windows: below normal; elsewhere a no-op.
pub fn lower_priority() {
    imp::lower_priority()
}

/// Gives memory the allocator holds but no longer uses back to the system. After a large
/// message has passed, glibc keeps its freed buffers (it raises its thresholds for large
/// blocks after the first one is freed, so the next one is fast): with 20 servers each
/// keeping a few MiB that way, the firewall used more than its budget while idle. Called by
/// background work when it goes idle after a large message, never on the relay's path.
/// Linux with glibc: `malloc_trim(0)`; elsewhere a no-op.
pub fn release_free_memory() {
    imp::release_free_memory()
}

/// A pipe's buffer when nobody asked for more (Linux).
const PIPE_DEFAULT: usize = 64 * 1024;
/// The pipe to a client once a result larger than [`PIPE_DEFAULT`] has passed. Through a
/// 64 KiB pipe a 1 MiB result reaches the client sixteen pipe-fulls at a time, each waiting
/// for the client to wake and drain the last: with a client that reads in small steps, the
/// firewall's hop made such a result take about twice the direct pipe's time, and with this
/// pipe about the same time. The pages are only taken while a result is in the pipe, but the
/// kernel counts the size against the user's budget for pipes (64 MiB by default, which
/// every program of the user shares), so only servers that send large results get it, and
/// 256 KiB rather than 1 MiB (which measured about the same).
const LARGE_PIPE: usize = 256 * 1024;

/// The pipe a relay writes to its client, widened to [`LARGE_PIPE`] before the first message
/// larger than [`PIPE_DEFAULT`] (tried once).
#[derive(Default)]
pub struct PipeToClient {
    widened: std::sync::atomic::AtomicBool,
}

impl PipeToClient {
    /// Called before `len` bytes are written to `file`.
    pub fn before_write(&self, file: &std::fs::File, len: usize) {
        if len > PIPE_DEFAULT && !self.widened.swap(true, std::sync::atomic::Ordering::Relaxed) {
            let size = widen_pipe(file, LARGE_PIPE);
            tracing::debug!(?size, "the pipe to the client is widened for large results");
        }
    }
}

/// Gives the pipe `file` writes to a buffer of at least `bytes`, so that a large message
/// goes into it in one write instead of one pipe-full at a time, each waiting for the reader
/// to wake and drain it. Returns the pipe's size afterwards, or `None` when `file` is not a
/// pipe or the system has no such setting. A refusal (the user's pipes are at
/// `/proc/sys/fs/pipe-user-pages-soft`, or `bytes` is over `pipe-max-size`) leaves the size as
/// it was: this is speed, not a protection. Linux: `F_SETPIPE_SZ`; elsewhere a no-op.
pub fn widen_pipe(file: &std::fs::File, bytes: usize) -> Option<usize> {
    imp::widen_pipe(file, bytes)
}

/// The id of this process's parent, where the system keeps one (`None` on Windows, which
/// records no parent that stays true once the parent has gone).
pub fn parent_pid() -> Option<u32> {
    imp::parent_pid()
}

/// The host's name, or `unknown`.
pub fn hostname() -> String {
    imp::hostname()
}

/// Files and folders only their owner may use.
///
/// Unix: mode 0600 (files) and 0700 (folders). Windows: the file inherits its folder's
/// access list, which in the user's profile (where every MCP Firewall path lies) grants the
/// user, SYSTEM and Administrators only; no explicit list is set.
pub mod private {
    use super::*;

    /// Makes `options` create files readable and writable by their owner only.
    pub fn file(options: &mut OpenOptions) -> &mut OpenOptions {
        imp::private_file(options)
    }

    /// Makes `builder` create folders that only their owner can enter.
    pub fn dir(builder: &mut DirBuilder) -> &mut DirBuilder {
        imp::private_dir(builder)
    }

    /// Whether `path` is open to others than its owner (Unix: any group or other bit; Windows:
    /// never reported, see above).
    pub fn open_to_others(path: &Path) -> bool {
        imp::open_to_others(path)
    }

    /// Takes `path` back to its owner only (Unix: mode 0600; Windows: nothing to do).
    pub fn restrict(path: &Path) -> std::io::Result<()> {
        imp::restrict(path)
    }

    /// Whether `path` is marked runnable (Unix: an execute bit; Windows: any file, the
    /// extension decides).
    pub fn executable(path: &Path) -> bool {
        imp::executable(path)
    }
}

/// This process's standard input and output as files of their own (duplicated handles or
/// descriptors), read and written without std's buffering and locks.
pub fn stdio_files() -> std::io::Result<(File, File)> {
    imp::stdio_files()
}

/// An exclusive lock on the whole of `file`, waiting for it (Unix: `flock`; Windows:
/// `LockFileEx`). Released when the file is closed.
pub fn lock_exclusive(file: &File) -> std::io::Result<()> {
    imp::lock_exclusive(file, true).map(|_| ())
}

/// An exclusive lock on the whole of `file` if nobody holds one (`false` when someone does).
pub fn try_lock_exclusive(file: &File) -> std::io::Result<bool> {
    imp::lock_exclusive(file, false)
}

/// The daemon's local channel: a Unix socket (Linux, macOS) or a named pipe (Windows) reached
/// by the path of the socket. On Windows the path names the pipe `\\.\pipe\mcpfw-<digest of the
/// path>` ([`pipe_name`]), so every process that agrees on the path agrees on the pipe.
pub mod channel {
    use std::path::Path;

    /// A connected stream to the daemon: `Read`, `Write`, `try_clone`, `set_read_timeout` and
    /// `set_write_timeout` as `UnixStream` has them. On Windows reads wait in steps of 10 ms
    /// (the pipe is polled, so a read timeout needs no second thread) and writes have no
    /// timeout (the messages are short lines the pipe's buffer takes whole).
    pub use super::imp::DaemonStream;

    /// Connects to the daemon listening at `path`.
    pub fn connect(path: &Path) -> std::io::Result<DaemonStream> {
        super::imp::connect(path)
    }

    /// Whether a daemon of this user listens at `path` (a fallback is never someone else's):
    /// Unix, a socket file this user owns; Windows, a pipe whose server process runs as this
    /// user.
    pub fn owned_by_me(path: &Path) -> bool {
        super::imp::owned_by_me(path)
    }

    /// The named pipe that stands for the socket path `path`.
    #[cfg(windows)]
    pub fn pipe_name(path: &Path) -> String {
        super::imp::pipe_name(path)
    }

    /// Whether the process `pid` runs as the same user as this process (its token's user SID).
    #[cfg(windows)]
    pub fn same_user(pid: u32) -> std::io::Result<bool> {
        super::imp::same_user(pid)
    }

    /// The process id of the client at the other end of the server end of a named pipe.
    #[cfg(windows)]
    pub fn pipe_client_pid(pipe: &impl std::os::windows::io::AsRawHandle) -> std::io::Result<u32> {
        super::imp::pipe_client_pid(pipe)
    }
}
