//! PLACEHOLDER — replaced on merge by the egress proxy of branch h-egress.
//!
//! The box (`src/contain`) relays every TCP connection of a wrapped server to the Unix socket
//! this module serves. Until the real proxy lands, the socket refuses every connection (it is
//! accepted and closed at once): a boxed server has no network at all, which fails closed.

/// What the egress proxy needs to know about one wrapped server.
pub struct EgressSettings {
    pub server: String,
    pub allow_hosts: Vec<String>,
}

/// Serves the egress proxy for one server on `socket` until the process ends.
pub fn serve(socket: &std::path::Path, settings: EgressSettings) -> std::io::Result<()> {
    let _ = (&settings.server, &settings.allow_hosts);
    let _ = std::fs::remove_file(socket);
    let listener = std::os::unix::net::UnixListener::bind(socket)?;
    for stream in listener.incoming() {
        drop(stream); // refused: closed at once
    }
    Ok(())
}
