//! Linux and macOS.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use notify_rust::Notification;

pub type Stream = tokio::net::UnixStream;

pub struct Listener(tokio::net::UnixListener);

impl Listener {
    pub fn bind(socket: &Path) -> std::io::Result<Self> {
        let listener = tokio::net::UnixListener::bind(socket)?;
        std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))?;
        Ok(Self(listener))
    }

    pub async fn accept(&mut self) -> std::io::Result<Stream> {
        Ok(self.0.accept().await?.0)
    }
}

pub fn same_user_peer(stream: &Stream) -> std::io::Result<Option<i32>> {
    let peer = stream.peer_cred()?;
    // SAFETY: getuid(2) has no preconditions.
    if peer.uid() != unsafe { libc::getuid() } {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!("refused a connection from another user (uid {})", peer.uid()),
        ));
    }
    Ok(peer.pid())
}

pub async fn stop_requested() -> std::io::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    Ok(())
}

#[cfg(not(target_os = "macos"))]
pub type Shown = notify_rust::NotificationHandle;
/// A notification centre entry: nothing of it is kept.
#[cfg(target_os = "macos")]
pub struct Shown;

#[cfg(not(target_os = "macos"))]
pub fn show(notification: &Notification) -> notify_rust::error::Result<Shown> {
    notification.show()
}

#[cfg(target_os = "macos")]
pub fn show(notification: &Notification) -> notify_rust::error::Result<Shown> {
    notification.show().map(|_| Shown)
}

#[cfg(not(target_os = "macos"))]
pub fn close(shown: Shown) {
    shown.close()
}

#[cfg(target_os = "macos")]
pub fn close(_shown: Shown) {}

#[cfg(not(target_os = "macos"))]
pub fn urgent(notification: &mut Notification, urgent: bool) -> &mut Notification {
    use notify_rust::Urgency;
    notification.urgency(if urgent { Urgency::Critical } else { Urgency::Normal })
}

#[cfg(target_os = "macos")]
pub fn urgent(notification: &mut Notification, _urgent: bool) -> &mut Notification {
    notification
}
