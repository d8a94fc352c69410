//! What the daemon does differently on each operating system, behind one small interface:
//! the approval channel's listener and its peer check, and desktop notifications. The calls
//! the core already wraps (private files, locks, the channel's client end) are
//! `mcpfw_core::platform`'s. docs/platforms.md says what has been run where.

use std::path::Path;

#[cfg(unix)]
mod unix;
#[cfg(unix)]
use unix as imp;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as imp;

/// One connection to the approval channel.
pub use imp::Stream;

/// The approval channel's listener: a Unix socket of mode 0600 at the socket path (Linux,
/// macOS), or the named pipe that stands for it (Windows: created as the first instance of its
/// name, so a pipe someone else created first makes the daemon fail rather than share it, and
/// refusing remote clients).
pub struct Listener(imp::Listener);

impl Listener {
    /// Listens at `socket` (a stale socket file must have been removed first).
    pub fn bind(socket: &Path) -> std::io::Result<Self> {
        imp::Listener::bind(socket).map(Self)
    }

    /// The next connection, with the process id of its peer once the peer is known to run as
    /// this user (Unix: the socket's peer credentials; Windows: the pipe client's process and
    /// its token's user SID). A connection from another user is an error, and is closed.
    pub async fn accept(&mut self) -> std::io::Result<(Stream, Option<i32>)> {
        let stream = self.0.accept().await?;
        let pid = imp::same_user_peer(&stream)?;
        Ok((stream, pid))
    }
}

/// Waits until the process is asked to stop: SIGINT or SIGTERM (Unix); Ctrl+C, Ctrl+Break,
/// the console window closing, logoff or shutdown (Windows).
pub async fn stop_requested() -> std::io::Result<()> {
    imp::stop_requested().await
}

/// Desktop notifications through notify-rust: freedesktop notifications over D-Bus (Linux),
/// toasts (Windows), the notification centre (macOS).
pub mod notify {
    use notify_rust::Notification;

    /// A notification on screen. Closing it takes it down on Linux; Windows keeps its toasts
    /// in the action centre and notify-rust cannot withdraw one there, so closing does nothing.
    pub struct Shown(super::imp::Shown);

    impl Shown {
        pub fn close(self) {
            super::imp::close(self.0)
        }
    }

    /// Shows `notification`.
    pub fn show(notification: &Notification) -> notify_rust::error::Result<Shown> {
        super::imp::show(notification).map(Shown)
    }

    /// Marks `notification` as needing attention now (a critical urgency where the system has
    /// one: Linux and Windows).
    pub fn urgent(notification: &mut Notification, urgent: bool) -> &mut Notification {
        super::imp::urgent(notification, urgent)
    }
}
