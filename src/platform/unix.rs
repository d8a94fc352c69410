//! Linux and macOS.

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus};

use super::Signal;

pub const TERM: Signal = libc::SIGTERM;
pub const KILL: Signal = libc::SIGKILL;
pub const QUIT: Signal = libc::SIGQUIT;

pub fn prepare(command: &mut Command) {
    command.process_group(0);
}

pub struct Group(i32);

impl Group {
    pub fn adopt(child: &Child) -> Self {
        Self(child.id() as i32)
    }

    pub fn signal(&self, signal: Signal) {
        // SAFETY: kill(2) with a negative pid signals the process group made for the server;
        // it has no memory-safety preconditions.
        unsafe {
            libc::kill(-self.0, signal);
        }
    }
}

pub fn catch_stop_requests(
    mut forward: impl FnMut(Signal) -> bool + Send + 'static,
) -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP, SIGQUIT])?;
    std::thread::Builder::new().name("signals".into()).spawn(move || {
        for signal in signals.forever() {
            if !forward(signal) {
                break;
            }
        }
    })?;
    Ok(())
}

pub fn exit_code(status: Option<ExitStatus>) -> i32 {
    match status {
        Some(status) => status.code().or_else(|| status.signal().map(|s| 128 + s)).unwrap_or(1),
        None => 1,
    }
}
