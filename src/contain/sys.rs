//! The system calls of the Linux box, and the only `unsafe` code of containment.
//!
//! Why `unsafe` is needed here: namespaces, mounts, `fork`, `waitpid`, the loopback ioctl,
//! capability bits and the `pre_exec` hook have no safe wrapper in std, and the hook runs in
//! the child between `fork` and `exec`, where only async-signal-safe system calls are allowed.
//! Everything the hook uses (strings, the Landlock ruleset's descriptor, the BPF programs) is
//! prepared before the fork; the hook itself only issues raw system calls and never allocates.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

fn check(rc: libc::c_int) -> io::Result<libc::c_int> {
    if rc < 0 { Err(io::Error::last_os_error()) } else { Ok(rc) }
}

fn cstring(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| io::ErrorKind::InvalidInput.into())
}

/// Enters new user, mount, PID and network namespaces, mapping the current user to root inside
/// (the launcher needs the namespace's capabilities to mount and configure `lo`; the server
/// gets none of them, see [`confine`], and sees the user's own ids again through a nested user
/// namespace, see [`UserIds`]). Returns the user's ids as they were outside. The calling
/// process must be single-threaded.
pub fn enter_namespaces() -> io::Result<UserIds> {
    // SAFETY: getuid/getgid have no preconditions.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    // SAFETY: unshare(2) with valid flags; the launcher has started no thread yet.
    check(unsafe { libc::unshare(libc::CLONE_NEWUSER) })?;
    std::fs::write("/proc/self/setgroups", "deny")?;
    std::fs::write("/proc/self/uid_map", format!("0 {uid} 1"))?;
    std::fs::write("/proc/self/gid_map", format!("0 {gid} 1"))?;
    // SAFETY: as above.
    check(unsafe { libc::unshare(libc::CLONE_NEWNS | libc::CLONE_NEWPID | libc::CLONE_NEWNET) })?;
    Ok(UserIds::new(uid, gid))
}

/// The user's own uid and gid, for the server's nested user namespace: the launcher's
/// namespace maps the user to root (0), and the server's maps 0 of its parent back to the
/// user's ids, so the server (`id`, `os.getuid()`, file ownership) sees the user it runs as,
/// as under bubblewrap. The map lines are prepared here, before the fork: the child writes
/// them with raw system calls only.
#[derive(Debug, Clone)]
pub struct UserIds {
    pub uid: u32,
    pub gid: u32,
    uid_map: Vec<u8>,
    gid_map: Vec<u8>,
}

impl UserIds {
    pub fn new(uid: u32, gid: u32) -> Self {
        Self {
            uid,
            gid,
            uid_map: format!("{uid} 0 1").into_bytes(),
            gid_map: format!("{gid} 0 1").into_bytes(),
        }
    }
}

/// Makes every mount private to this namespace, so nothing done here reaches the host.
pub fn make_mounts_private() -> io::Result<()> {
    let root = c"/";
    // SAFETY: valid C strings; null fs type and data are allowed for a propagation change.
    check(unsafe {
        libc::mount(
            std::ptr::null(),
            root.as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        )
    })
    .map(drop)
}

/// Mounts a fresh procfs (of this PID namespace) on /proc.
pub fn mount_proc() -> io::Result<()> {
    // SAFETY: valid C strings.
    check(unsafe {
        libc::mount(
            c"proc".as_ptr(),
            c"/proc".as_ptr(),
            c"proc".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            std::ptr::null(),
        )
    })
    .map(drop)
}

/// Hides a folder under an empty, read-only tmpfs.
pub fn mask_dir(target: &Path) -> io::Result<()> {
    let target = cstring(target)?;
    // SAFETY: valid C strings.
    check(unsafe {
        libc::mount(
            c"tmpfs".as_ptr(),
            target.as_ptr(),
            c"tmpfs".as_ptr(),
            libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            c"mode=0,size=4k".as_ptr().cast(),
        )
    })
    .map(drop)
}

/// Hides a file behind a read-only bind of /dev/null (it reads as empty and cannot be written).
pub fn mask_file(target: &Path) -> io::Result<()> {
    let target = cstring(target)?;
    // SAFETY: valid C strings.
    unsafe {
        check(libc::mount(
            c"/dev/null".as_ptr(),
            target.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND,
            std::ptr::null(),
        ))?;
        // A bind keeps the source's locked flags (nodev, nosuid…); the remount must repeat them.
        let mut stat: libc::statvfs = std::mem::zeroed();
        check(libc::statvfs(target.as_ptr(), &mut stat))?;
        let locked =
            stat.f_flag & (libc::ST_NOSUID | libc::ST_NODEV | libc::ST_NOEXEC | libc::ST_NOATIME);
        let mut flags = libc::MS_BIND | libc::MS_REMOUNT | libc::MS_RDONLY;
        for (st, ms) in [
            (libc::ST_NOSUID, libc::MS_NOSUID),
            (libc::ST_NODEV, libc::MS_NODEV),
            (libc::ST_NOEXEC, libc::MS_NOEXEC),
            (libc::ST_NOATIME, libc::MS_NOATIME),
        ] {
            if locked & st != 0 {
                flags |= ms;
            }
        }
        check(libc::mount(
            std::ptr::null(),
            target.as_ptr(),
            std::ptr::null(),
            flags,
            std::ptr::null(),
        ))
        .map(drop)
    }
}

#[repr(C)]
struct IfReq {
    name: [libc::c_char; libc::IFNAMSIZ],
    flags: libc::c_short,
    _pad: [u8; 22],
}

/// Brings the network namespace's loopback interface up.
pub fn loopback_up() -> io::Result<()> {
    const SIOCGIFFLAGS: libc::c_ulong = 0x8913;
    const SIOCSIFFLAGS: libc::c_ulong = 0x8914;
    // SAFETY: a plain socket for the ioctl, closed by OwnedFd.
    let fd =
        check(unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: fd was just returned by socket(2) and is owned here only.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut req = IfReq { name: [0; libc::IFNAMSIZ], flags: 0, _pad: [0; 22] };
    for (i, b) in b"lo".iter().enumerate() {
        req.name[i] = *b as libc::c_char;
    }
    // SAFETY: req is a valid, properly sized ifreq for these ioctls.
    unsafe {
        check(libc::ioctl(fd.as_raw_fd(), SIOCGIFFLAGS, &mut req))?;
        req.flags |= libc::IFF_UP as libc::c_short;
        check(libc::ioctl(fd.as_raw_fd(), SIOCSIFFLAGS, &req))?;
    }
    Ok(())
}

/// Forks. `Ok(None)` in the child, `Ok(Some(pid))` in the parent. Call only while this process
/// has a single thread.
pub fn fork() -> io::Result<Option<libc::pid_t>> {
    // SAFETY: the launcher forks before it starts any thread.
    let pid = check(unsafe { libc::fork() })?;
    Ok(if pid == 0 { None } else { Some(pid) })
}

/// Waits for any child; `(pid, exit code as a shell reports it)`.
pub fn wait_any() -> io::Result<(libc::pid_t, i32)> {
    let mut status = 0;
    loop {
        // SAFETY: status is a valid out pointer.
        let pid = unsafe { libc::waitpid(-1, &mut status, 0) };
        if pid < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        let code = if libc::WIFEXITED(status) {
            libc::WEXITSTATUS(status)
        } else if libc::WIFSIGNALED(status) {
            128 + libc::WTERMSIG(status)
        } else {
            continue;
        };
        return Ok((pid, code));
    }
}

/// Holds (`true`) or releases (`false`) the signals a launcher forwards, for this thread and the
/// threads it starts next. A signal that arrives while held stays pending and is delivered on
/// release, so none is lost before its forwarder knows where to send it (the box's init, as
/// PID 1 of its namespace, would otherwise drop a signal it has no handler for yet). A child
/// started by `Command` begins with an empty mask (the standard library resets it).
pub fn hold_signals(hold: bool, signals: &[i32]) {
    // SAFETY: sigset_t is plain data initialised by sigemptyset; pthread_sigmask reads it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &signal in signals {
            libc::sigaddset(&mut set, signal);
        }
        let how = if hold { libc::SIG_BLOCK } else { libc::SIG_UNBLOCK };
        libc::pthread_sigmask(how, &set, std::ptr::null_mut());
    }
}

/// Sends `signal` to a process (or a process group, with a negative pid).
pub fn kill(pid: libc::pid_t, signal: i32) {
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// Orphans of the server are reparented to this process, which reaps them.
pub fn become_subreaper() -> io::Result<()> {
    // SAFETY: prctl with integer arguments.
    check(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) }).map(drop)
}

/// This process dies with its parent.
pub fn die_with_parent() -> io::Result<()> {
    // SAFETY: prctl with integer arguments.
    check(unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) }).map(drop)
}

/// No core dumps, and `/proc/<pid>` of this process owned by root (not readable by the box).
pub fn not_dumpable() {
    // SAFETY: prctl with integer arguments.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

/// The Landlock ABI the kernel offers (0: none).
pub fn landlock_abi() -> u8 {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    // SAFETY: the version query takes a null attribute and size 0.
    let abi = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<u8>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    u8::try_from(abi).unwrap_or(0)
}

/// Whether the kernel has seccomp filters.
pub fn seccomp_available() -> bool {
    // SAFETY: prctl with integer arguments. EINVAL means no seccomp in the kernel.
    unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0, 0, 0, 0) >= 0 }
}

/// A pipe whose two ends close on exec.
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: fds is a valid array of two.
    check(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: both were just created and are owned here only.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Lets `fd` survive the exec of `cmd` (the report pipe of the launcher).
pub fn keep_on_exec(cmd: &mut Command, fd: RawFd) {
    // SAFETY: fcntl on a descriptor number is async-signal-safe.
    unsafe {
        cmd.pre_exec(move || check(libc::fcntl(fd, libc::F_SETFD, 0)).map(drop));
    }
}

/// Takes ownership of an inherited descriptor and makes it close on exec.
pub fn adopt_fd(fd: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_GETFD only inspects the descriptor.
    check(unsafe { libc::fcntl(fd, libc::F_GETFD) })?;
    // SAFETY: the launcher was given this descriptor to own; nothing else in it uses it.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: as above.
    check(unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) })?;
    Ok(owned)
}

/// Opens a folder as a path-only descriptor (to reach a socket in it after it is hidden).
pub fn open_dir_path(dir: &Path) -> io::Result<OwnedFd> {
    let dir = cstring(dir)?;
    // SAFETY: valid C string.
    let fd = check(unsafe {
        libc::open(dir.as_ptr(), libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC)
    })?;
    // SAFETY: just opened, owned here only.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// What the server's child process applies to itself between fork and exec.
pub struct Confinement {
    /// In the box's namespaces: the user's ids, seen again through a nested user namespace.
    pub user: Option<UserIds>,
    /// The Landlock ruleset to restrict to.
    pub ruleset: Option<OwnedFd>,
    /// seccomp programs, installed in order.
    pub filters: Vec<Vec<libc::sock_filter>>,
}

/// Writes `data` to the file at `path` with raw system calls (for the `pre_exec` hook).
///
/// # Safety
/// Only async-signal-safe calls; `path` must be a valid C string.
unsafe fn write_proc(path: &std::ffi::CStr, data: &[u8]) -> io::Result<()> {
    // SAFETY: valid C string; the descriptor is closed below on every path.
    unsafe {
        let fd = check(libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC))?;
        let written = libc::write(fd, data.as_ptr().cast(), data.len());
        let error = io::Error::last_os_error();
        libc::close(fd);
        if written != data.len() as isize {
            return Err(if written < 0 { error } else { io::ErrorKind::WriteZero.into() });
        }
    }
    Ok(())
}

/// Installs the hook that confines the server in the child, just before exec, in this order:
/// a nested user namespace mapping the user's own ids (in the box's namespaces; before
/// seccomp, which refuses `unshare`, and before Landlock, which would refuse writing the maps);
/// no capabilities (dropped from the bounding and ambient sets, also not regained at exec as
/// root: `SECBIT_NOROOT`, locked); death with the launcher; no new privileges; Landlock; then
/// seccomp (last, so that it does not refuse the calls above).
pub fn confine(cmd: &mut Command, confinement: Confinement) {
    const PR_CAPBSET_DROP: libc::c_int = 24;
    const PR_SET_SECUREBITS: libc::c_int = 28;
    const PR_CAP_AMBIENT: libc::c_int = 47;
    const PR_CAP_AMBIENT_CLEAR_ALL: libc::c_ulong = 4;
    // NOROOT, NO_SETUID_FIXUP, KEEP_CAPS and NO_CAP_AMBIENT_RAISE, each locked.
    const SECUREBITS: libc::c_ulong = 0b1110_1111;
    const LANDLOCK_RESTRICT_SELF: libc::c_long = libc::SYS_landlock_restrict_self;
    let ruleset = confinement.ruleset.as_ref().map(AsRawFd::as_raw_fd);
    // The filters and the ruleset must outlive the hook: the closure owns them.
    let keep = confinement;
    // SAFETY: the hook only issues raw system calls on values prepared above.
    unsafe {
        cmd.pre_exec(move || {
            let confinement = &keep;
            if let Some(user) = &confinement.user {
                // The box's init is not dumpable, and a forked copy of it owns its /proc files
                // as root, which the maps could not be written through once this process is
                // in its own namespace; exec makes the server dumpable again anyway.
                check(libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0))?;
                check(libc::unshare(libc::CLONE_NEWUSER))?;
                write_proc(c"/proc/self/setgroups", b"deny")?;
                write_proc(c"/proc/self/uid_map", &user.uid_map)?;
                write_proc(c"/proc/self/gid_map", &user.gid_map)?;
            }
            libc::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
            let mut cap = 0;
            while cap < 64 {
                libc::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
                cap += 1;
            }
            // Only possible with CAP_SETPCAP; without it (no namespace, not root) the process
            // has no capabilities to lose. In a namespace of its own, or as root, it must
            // succeed.
            if libc::prctl(PR_SET_SECUREBITS, SECUREBITS, 0, 0, 0) != 0
                && (libc::geteuid() == 0 || confinement.user.is_some())
            {
                return Err(io::Error::last_os_error());
            }
            check(libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0))?;
            check(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))?;
            if let Some(fd) = ruleset
                && libc::syscall(LANDLOCK_RESTRICT_SELF, fd, 0u32) != 0
            {
                return Err(io::Error::last_os_error());
            }
            for filter in &confinement.filters {
                let program = libc::sock_fprog {
                    len: filter.len() as u16,
                    filter: filter.as_ptr().cast_mut(),
                };
                let rc = libc::syscall(
                    libc::SYS_seccomp,
                    libc::SECCOMP_SET_MODE_FILTER,
                    0u32,
                    &program as *const libc::sock_fprog,
                );
                if rc != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

/// The namespace (`user`, `pid`, `net`) a process is in, by inode, as `/proc` shows it.
pub fn namespace_of(pid: Option<libc::pid_t>, kind: &str) -> io::Result<std::path::PathBuf> {
    let base = match pid {
        Some(pid) => format!("/proc/{pid}/ns/{kind}"),
        None => format!("/proc/self/ns/{kind}"),
    };
    std::fs::read_link(base)
}

/// Waits up to `ms` for `fd` to be readable; true when it is (or has hung up).
pub fn poll(fd: &mut libc::pollfd, ms: i32) -> i32 {
    loop {
        // SAFETY: fd points to one valid pollfd.
        let rc = unsafe { libc::poll(fd, 1, ms) };
        if rc < 0 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        }
        return rc.max(0);
    }
}

/// This process's user id.
pub fn uid() -> u32 {
    // SAFETY: getuid(2) has no preconditions.
    unsafe { libc::getuid() }
}
