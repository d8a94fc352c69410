//! Windows. Compiled and linted for `x86_64-pc-windows-gnu`; what has run where is in
//! docs/platforms.md.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{Read, Write};
use std::os::windows::io::AsRawHandle;
use std::path::Path;
use std::time::{Duration, Instant};

use sha2::Digest;
use windows_sys::Win32::Foundation::{
    CloseHandle, ERROR_BROKEN_PIPE, ERROR_LOCK_VIOLATION, ERROR_PIPE_BUSY, HANDLE,
};
use windows_sys::Win32::Security::{
    EqualSid, GetTokenInformation, TOKEN_QUERY, TOKEN_USER, TokenUser,
};
use windows_sys::Win32::Storage::FileSystem::{
    LOCKFILE_EXCLUSIVE_LOCK, LOCKFILE_FAIL_IMMEDIATELY, LockFileEx,
};
use windows_sys::Win32::System::IO::OVERLAPPED;
use windows_sys::Win32::System::Pipes::{
    GetNamedPipeClientProcessId, GetNamedPipeServerProcessId, PeekNamedPipe,
};
use windows_sys::Win32::System::Threading::{
    GetCurrentProcess, GetCurrentThread, OpenProcess, OpenProcessToken,
    PROCESS_QUERY_LIMITED_INFORMATION, SetThreadPriority, THREAD_PRIORITY_BELOW_NORMAL,
};

pub fn is_root() -> bool {
    false
}

/// The Windows heap gives large blocks back on its own.
pub fn release_free_memory() {}

pub fn widen_pipe(_file: &File, _bytes: usize) -> Option<usize> {
    None
}

pub fn lower_priority() {
    // SAFETY: GetCurrentThread returns a pseudo-handle that needs no closing; SetThreadPriority
    // touches no memory. Failure only leaves the default priority.
    unsafe {
        SetThreadPriority(GetCurrentThread(), THREAD_PRIORITY_BELOW_NORMAL);
    }
}

pub fn parent_pid() -> Option<u32> {
    None
}

pub fn hostname() -> String {
    std::env::var("COMPUTERNAME").ok().filter(|n| !n.is_empty()).unwrap_or_else(|| "unknown".into())
}

pub fn private_file(options: &mut OpenOptions) -> &mut OpenOptions {
    options
}

pub fn private_dir(builder: &mut DirBuilder) -> &mut DirBuilder {
    builder
}

pub fn open_to_others(_path: &Path) -> bool {
    false
}

pub fn restrict(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

pub fn executable(path: &Path) -> bool {
    path.is_file()
}

pub fn lock_exclusive(file: &File, wait: bool) -> std::io::Result<bool> {
    let flags = if wait {
        LOCKFILE_EXCLUSIVE_LOCK
    } else {
        LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY
    };
    // SAFETY: an all-zero OVERLAPPED (offset 0) is valid; the handle is the caller's open file,
    // and a synchronous handle makes LockFileEx return only once the lock is taken or refused.
    let ok = unsafe {
        let mut overlapped: OVERLAPPED = std::mem::zeroed();
        LockFileEx(file.as_raw_handle() as HANDLE, flags, 0, u32::MAX, u32::MAX, &mut overlapped)
    };
    if ok != 0 {
        return Ok(true);
    }
    let error = std::io::Error::last_os_error();
    if !wait && error.raw_os_error() == Some(ERROR_LOCK_VIOLATION as i32) {
        return Ok(false);
    }
    Err(error)
}

pub fn stdio_files() -> std::io::Result<(File, File)> {
    use std::os::windows::io::AsHandle;
    let stdin = File::from(std::io::stdin().as_handle().try_clone_to_owned()?);
    let stdout = File::from(std::io::stdout().as_handle().try_clone_to_owned()?);
    Ok((stdin, stdout))
}

/// How often a read with nothing to read looks again.
const POLL: Duration = Duration::from_millis(10);

pub fn pipe_name(path: &Path) -> String {
    let digest = sha2::Sha256::digest(path.as_os_str().as_encoded_bytes());
    format!(r"\\.\pipe\mcpfw-{}", hex::encode(&digest[..16]))
}

/// A client end of the daemon's named pipe (a synchronous handle). Reads look at the pipe with
/// `PeekNamedPipe` before reading, so a read never blocks past its timeout and never holds the
/// handle while the same thread writes.
#[derive(Debug)]
pub struct DaemonStream {
    file: File,
    read_timeout: Option<Duration>,
}

impl DaemonStream {
    pub fn set_read_timeout(&mut self, timeout: Option<Duration>) -> std::io::Result<()> {
        self.read_timeout = timeout;
        Ok(())
    }

    pub fn set_write_timeout(&mut self, _timeout: Option<Duration>) -> std::io::Result<()> {
        Ok(())
    }

    pub fn try_clone(&self) -> std::io::Result<Self> {
        Ok(Self { file: self.file.try_clone()?, read_timeout: self.read_timeout })
    }

    /// Bytes waiting in the pipe; `None` once the daemon closed its end.
    fn available(&self) -> std::io::Result<Option<u32>> {
        let mut available = 0u32;
        // SAFETY: a null buffer of size 0 only asks for the counts; `available` is valid for
        // the call; the handle is this stream's open pipe.
        let ok = unsafe {
            PeekNamedPipe(
                self.file.as_raw_handle() as HANDLE,
                std::ptr::null_mut(),
                0,
                std::ptr::null_mut(),
                &mut available,
                std::ptr::null_mut(),
            )
        };
        if ok != 0 {
            return Ok(Some(available));
        }
        let error = std::io::Error::last_os_error();
        if error.raw_os_error() == Some(ERROR_BROKEN_PIPE as i32) {
            return Ok(None);
        }
        Err(error)
    }
}

impl Read for DaemonStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let started = Instant::now();
        loop {
            match self.available()? {
                None => return Ok(0),
                Some(0) => {}
                Some(n) => {
                    let n = buf.len().min(n as usize);
                    return self.file.read(&mut buf[..n]);
                }
            }
            if self.read_timeout.is_some_and(|t| started.elapsed() >= t) {
                return Err(std::io::ErrorKind::TimedOut.into());
            }
            std::thread::sleep(POLL);
        }
    }
}

impl Write for DaemonStream {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

pub fn connect(path: &Path) -> std::io::Result<DaemonStream> {
    let name = pipe_name(path);
    let mut tries = 0;
    loop {
        match OpenOptions::new().read(true).write(true).open(&name) {
            Ok(file) => return Ok(DaemonStream { file, read_timeout: None }),
            // Every instance is taken for the moment: the daemon makes a new one per client.
            Err(e) if e.raw_os_error() == Some(ERROR_PIPE_BUSY as i32) && tries < 20 => {
                tries += 1;
                std::thread::sleep(POLL);
            }
            Err(e) => return Err(e),
        }
    }
}

pub fn owned_by_me(path: &Path) -> bool {
    let Ok(stream) = connect(path) else { return false };
    let mut pid = 0u32;
    // SAFETY: `pid` is valid for the call; the handle is the stream's open pipe.
    let ok =
        unsafe { GetNamedPipeServerProcessId(stream.file.as_raw_handle() as HANDLE, &mut pid) };
    ok != 0 && same_user(pid).unwrap_or(false)
}

pub fn pipe_client_pid(pipe: &impl AsRawHandle) -> std::io::Result<u32> {
    let mut pid = 0u32;
    // SAFETY: `pid` is valid for the call; the handle is the caller's open pipe.
    if unsafe { GetNamedPipeClientProcessId(pipe.as_raw_handle() as HANDLE, &mut pid) } == 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(pid)
}

/// A handle closed when dropped.
struct Owned(HANDLE);

impl Drop for Owned {
    fn drop(&mut self) {
        // SAFETY: the handle was opened by this module and is closed once.
        unsafe {
            CloseHandle(self.0);
        }
    }
}

/// The user SID of `process`'s token, as bytes (a SID is a self-describing byte string).
fn token_user(process: HANDLE) -> std::io::Result<Vec<u8>> {
    let mut token: HANDLE = std::ptr::null_mut();
    // SAFETY: `token` is valid for the call; `process` is an open process handle.
    if unsafe { OpenProcessToken(process, TOKEN_QUERY, &mut token) } == 0 {
        return Err(std::io::Error::last_os_error());
    }
    let token = Owned(token);
    let mut buffer = vec![0u64; 64]; // 512 bytes, aligned for TOKEN_USER
    let mut needed = 0u32;
    // SAFETY: the buffer is valid and aligned for its byte length; `needed` is valid.
    let ok = unsafe {
        GetTokenInformation(
            token.0,
            TokenUser,
            buffer.as_mut_ptr().cast(),
            (buffer.len() * 8) as u32,
            &mut needed,
        )
    };
    if ok == 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: on success the buffer starts with a TOKEN_USER whose SID points into the buffer.
    let sid = unsafe { (*buffer.as_ptr().cast::<TOKEN_USER>()).User.Sid };
    // A SID is 8 bytes plus 4 per sub-authority (its second byte counts them).
    // SAFETY: the SID lies in the buffer, which the call filled.
    let count = unsafe { *sid.cast::<u8>().add(1) } as usize;
    let len = 8 + 4 * count;
    // SAFETY: as above; `len` is the SID's own length.
    Ok(unsafe { std::slice::from_raw_parts(sid.cast::<u8>(), len) }.to_vec())
}

pub fn same_user(pid: u32) -> std::io::Result<bool> {
    // SAFETY: OpenProcess takes no pointers; the handle is closed by `Owned`.
    let process = unsafe { OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, 0, pid) };
    if process.is_null() {
        return Err(std::io::Error::last_os_error());
    }
    let process = Owned(process);
    // SAFETY: GetCurrentProcess returns a pseudo-handle that needs no closing.
    let mut ours = token_user(unsafe { GetCurrentProcess() })?;
    let mut theirs = token_user(process.0)?;
    // SAFETY: both buffers hold whole SIDs.
    Ok(unsafe { EqualSid(ours.as_mut_ptr().cast(), theirs.as_mut_ptr().cast()) } != 0)
}
