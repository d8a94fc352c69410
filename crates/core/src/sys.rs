//! The few operating-system calls the core makes, each wrapped once with why it is sound.

/// The effective user id of this process.
#[cfg(unix)]
pub fn euid() -> u32 {
    // SAFETY: geteuid(2) takes no arguments, touches no memory and cannot fail.
    unsafe { libc::geteuid() }
}

/// Lowers this thread's scheduling priority, so that on a busy machine the relay threads run
/// first and background work (the result scanner, hashing a server's files) catches up in
/// between. Threads started from here inherit it. Never for a thread that something waits
/// on. Linux only: elsewhere a no-op.
pub fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority(2) on the calling thread (who = 0) with a valid nice value; it touches
    // no memory. Failure only leaves the default priority.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 10);
    }
}
