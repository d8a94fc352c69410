//! Moving bytes both ways between the server's connection and the destination, counting them.
//!
//! One thread per direction with a large buffer: each direction ends on its own (a half-close
//! is passed on as a shutdown of the other side's writing half), so request bodies and
//! server-sent streams both work.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::os::unix::net::UnixStream;

/// The buffer per direction: large enough that a bulk download costs few system calls.
const BUFFER: usize = 256 * 1024;

/// How long the server's side may stay silent once the destination has finished sending.
const LINGER: std::time::Duration = std::time::Duration::from_secs(60);

/// Bytes moved each way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// From the server to the destination.
    pub up: u64,
    /// From the destination to the server.
    pub down: u64,
}

/// Relays until both directions have ended. `client` is the server's side; `first_up` is sent
/// to the destination before anything else (a rewritten request head and what followed it).
pub fn relay(client: UnixStream, remote: TcpStream, first_up: &[u8]) -> Counts {
    let _ = remote.set_nodelay(true);
    let mut counts = Counts::default();
    let mut remote_w = match remote.try_clone() {
        Ok(r) => r,
        Err(_) => return counts,
    };
    if !first_up.is_empty() {
        if remote_w.write_all(first_up).is_err() {
            return counts;
        }
        counts.up += first_up.len() as u64;
    }
    let (client_r, remote_r) = match (client.try_clone(), remote.try_clone()) {
        (Ok(c), Ok(r)) => (c, r),
        _ => return counts,
    };
    let down = std::thread::Builder::new().name("egress-down".into()).spawn(move || {
        let mut client_w = client;
        let ended = pump(remote_r, &mut client_w, |w| w.shutdown(Shutdown::Write));
        // The destination is done; a client that never closes its side must not keep the
        // other thread forever: reads from it now end after a quiet minute.
        let _ = client_w.set_read_timeout(Some(LINGER));
        ended
    });
    let up = pump(client_r, &mut remote_w, |w| w.shutdown(Shutdown::Write));
    counts.up += up.0;
    if up.1.is_err() {
        // The destination stopped taking data: end the other direction too.
        let _ = remote.shutdown(Shutdown::Both);
    }
    match down {
        Ok(handle) => {
            let (n, _) = handle.join().unwrap_or((0, Ok(())));
            counts.down += n;
        }
        Err(_) => {
            let _ = remote.shutdown(Shutdown::Both);
        }
    }
    counts
}

/// Copies `from` into `to` until end of file or an error, then shuts `to`'s writing half.
/// Returns the bytes copied and how it ended.
fn pump<R: Read, W: Write>(
    mut from: R,
    to: &mut W,
    shutdown: impl FnOnce(&W) -> io::Result<()>,
) -> (u64, io::Result<()>) {
    let mut buf = vec![0u8; BUFFER];
    let mut total = 0u64;
    let ended = loop {
        match from.read(&mut buf) {
            Ok(0) => break Ok(()),
            Ok(n) => {
                if let Err(e) = to.write_all(&buf[..n]) {
                    break Err(e);
                }
                total += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => break Err(e),
        }
    };
    let _ = shutdown(to);
    (total, ended)
}
