//! Windows. Compiled and linted for `x86_64-pc-windows-gnu`; what has run where is in
//! docs/platforms.md.

use std::path::Path;

use mcpfw_core::platform::channel;
use notify_rust::{Notification, Urgency};
use tokio::net::windows::named_pipe::{NamedPipeServer, ServerOptions};

pub type Stream = NamedPipeServer;

/// The pipe's name and the instance that waits for the next client.
pub struct Listener {
    name: String,
    next: NamedPipeServer,
}

impl Listener {
    pub fn bind(socket: &Path) -> std::io::Result<Self> {
        let name = channel::pipe_name(socket);
        let next = ServerOptions::new()
            .first_pipe_instance(true)
            .reject_remote_clients(true)
            .create(&name)?;
        Ok(Self { name, next })
    }

    pub async fn accept(&mut self) -> std::io::Result<Stream> {
        let connected = self.next.connect().await;
        // A new instance waits for the next client, whatever became of this one (an instance
        // whose client failed to connect is not waited on again).
        let next = ServerOptions::new().reject_remote_clients(true).create(&self.name)?;
        let this = std::mem::replace(&mut self.next, next);
        connected.map(|()| this)
    }
}

pub fn same_user_peer(stream: &Stream) -> std::io::Result<Option<i32>> {
    let pid = channel::pipe_client_pid(stream)?;
    if !channel::same_user(pid)? {
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!("refused a connection from another user (process {pid})"),
        ));
    }
    Ok(i32::try_from(pid).ok())
}

pub async fn stop_requested() -> std::io::Result<()> {
    use tokio::signal::windows;
    let (mut brk, mut close) = (windows::ctrl_break()?, windows::ctrl_close()?);
    let (mut logoff, mut shutdown) = (windows::ctrl_logoff()?, windows::ctrl_shutdown()?);
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = brk.recv() => {}
        _ = close.recv() => {}
        _ = logoff.recv() => {}
        _ = shutdown.recv() => {}
    }
    Ok(())
}

/// A toast: nothing of it is kept.
pub struct Shown;

pub fn show(notification: &Notification) -> notify_rust::error::Result<Shown> {
    notification.show().map(|()| Shown)
}

pub fn close(_shown: Shown) {}

pub fn urgent(notification: &mut Notification, urgent: bool) -> &mut Notification {
    notification.urgency(if urgent { Urgency::Critical } else { Urgency::Normal })
}
