//! The program's seam with the operating system: starting the server in a group of its own,
//! ending that group politely then firmly, the signals (console control events on Windows) a
//! shim passes on, and the exit code. `unix.rs` serves Linux and macOS, `windows.rs` Windows;
//! docs/platforms.md says what has been run where. The calls shared with the other crates
//! (private files, locks, the daemon's channel) are `mcpfw_core::platform`'s.

use std::process::{Child, Command, ExitStatus};

/// The daemon's channel, as the core reaches it (re-exported for the program's tests).
pub use mcpfw_core::platform::channel;

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as imp;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as imp;

/// A request that reaches the server's group: the signal numbers of Unix. On Windows, which
/// has no signals, `TERM` (and anything the shim passes on) is a Ctrl+Break event to the
/// server's console process group and `KILL` terminates its job object.
pub type Signal = i32;
/// Asks the server to finish (SIGTERM).
pub const TERM: Signal = imp::TERM;
/// Ends the server at once (SIGKILL).
pub const KILL: Signal = imp::KILL;
/// Passed on without a firm end scheduled after it (SIGQUIT: the server may dump its state).
pub const QUIT: Signal = imp::QUIT;

/// The server and everything it starts, as one unit the shim can signal (Unix: the process
/// group the server leads; Windows: a job object that also ends the whole tree if the shim
/// itself dies, and a console process group for Ctrl+Break).
pub struct ServerGroup(imp::Group);

impl ServerGroup {
    /// Makes `command` start its process as the leader of a new group (before `spawn`).
    pub fn prepare(command: &mut Command) {
        imp::prepare(command)
    }

    /// The group of the server `child` leads (after `spawn`). Windows: the job object is
    /// made and the server put in it; a failure is named in the log, and then only the server
    /// itself (not what it started) can be ended.
    pub fn adopt(child: &Child) -> Self {
        Self(imp::Group::adopt(child))
    }

    /// Sends `signal` to the whole group (best effort: a group already gone is not an error).
    pub fn signal(&self, signal: Signal) {
        self.0.signal(signal)
    }
}

/// Calls `forward` on a thread of its own with every request to stop that reaches this
/// process — SIGINT, SIGTERM, SIGHUP and SIGQUIT (Unix); Ctrl+C, Ctrl+Break and the console
/// closing, logoff and shutdown (Windows, each as `TERM`) — until `forward` returns false.
pub fn catch_stop_requests(
    forward: impl FnMut(Signal) -> bool + Send + 'static,
) -> std::io::Result<()> {
    imp::catch_stop_requests(forward)
}

/// The code the shim exits with for the server's status: its own exit code, or 128 plus the
/// signal that ended it (Unix), else 1.
pub fn exit_code(status: Option<ExitStatus>) -> i32 {
    imp::exit_code(status)
}
