//! Windows. Compiled and linted for `x86_64-pc-windows-gnu`; what has run where is in
//! docs/platforms.md.

use std::os::windows::io::AsRawHandle;
use std::os::windows::process::CommandExt;
use std::process::{Child, Command, ExitStatus};
use std::sync::Mutex;
use std::sync::mpsc;

use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
use windows_sys::Win32::System::Console::{
    CTRL_BREAK_EVENT, GenerateConsoleCtrlEvent, SetConsoleCtrlHandler,
};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION, JobObjectExtendedLimitInformation,
    SetInformationJobObject, TerminateJobObject,
};
use windows_sys::Win32::System::Threading::CREATE_NEW_PROCESS_GROUP;

use super::Signal;

// Windows has no signals; these numbers only name what the shim asks for (as on Unix).
pub const TERM: Signal = 15;
pub const KILL: Signal = 9;
pub const QUIT: Signal = 3;

pub fn prepare(command: &mut Command) {
    command.creation_flags(CREATE_NEW_PROCESS_GROUP);
}

/// The server's process id (its console process group's id) and its job object.
pub struct Group {
    pid: u32,
    job: Option<Job>,
}

/// A job object, closed (ending what is still in it) when dropped.
struct Job(HANDLE);

// SAFETY: a job handle may be used and closed from any thread.
unsafe impl Send for Job {}
// SAFETY: the calls made with it (TerminateJobObject) are safe from several threads at once.
unsafe impl Sync for Job {}

impl Drop for Job {
    fn drop(&mut self) {
        // SAFETY: the handle was made by `Job::for_child` and is closed once; with
        // KILL_ON_JOB_CLOSE this ends whatever of the server's tree is left.
        unsafe {
            CloseHandle(self.0);
        }
    }
}

impl Job {
    fn for_child(child: &Child) -> std::io::Result<Self> {
        // SAFETY: no security attributes and no name: an anonymous job object.
        let handle = unsafe { CreateJobObjectW(std::ptr::null(), std::ptr::null()) };
        if handle.is_null() {
            return Err(std::io::Error::last_os_error());
        }
        let job = Self(handle);
        // SAFETY: an all-zero JOBOBJECT_EXTENDED_LIMIT_INFORMATION is valid (no limits).
        let mut limits: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = unsafe { std::mem::zeroed() };
        limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        // SAFETY: the pointer and size describe `limits`, which outlives the call.
        let ok = unsafe {
            SetInformationJobObject(
                job.0,
                JobObjectExtendedLimitInformation,
                std::ptr::from_ref(&limits).cast(),
                size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
            )
        };
        if ok == 0 {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: both handles are open: the job above and the child's process handle.
        if unsafe { AssignProcessToJobObject(job.0, child.as_raw_handle() as HANDLE) } == 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(job)
    }
}

impl Group {
    pub fn adopt(child: &Child) -> Self {
        let job = Job::for_child(child)
            .inspect_err(|e| {
                tracing::warn!(
                    "the server is not in a job object ({e}): what it starts may outlive it"
                )
            })
            .ok();
        Self { pid: child.id(), job }
    }

    pub fn signal(&self, signal: Signal) {
        if signal == KILL {
            if let Some(job) = &self.job {
                // SAFETY: the job handle is open for as long as `self`.
                unsafe {
                    TerminateJobObject(job.0, 1);
                }
            }
            return;
        }
        // SAFETY: no pointers; a process group that is gone makes the call fail, nothing more.
        unsafe {
            GenerateConsoleCtrlEvent(CTRL_BREAK_EVENT, self.pid);
        }
    }
}

/// Where the console control handler sends what it receives.
static STOP_REQUESTS: Mutex<Option<mpsc::Sender<Signal>>> = Mutex::new(None);

/// Runs on a thread the system starts for each console control event (not in a signal
/// context): hands the event over and says it was handled.
unsafe extern "system" fn on_control(_event: u32) -> windows_sys::core::BOOL {
    let sender = STOP_REQUESTS.lock().unwrap_or_else(|p| p.into_inner()).clone();
    match sender {
        Some(sender) => i32::from(sender.send(TERM).is_ok()),
        None => 0,
    }
}

pub fn catch_stop_requests(
    mut forward: impl FnMut(Signal) -> bool + Send + 'static,
) -> std::io::Result<()> {
    let (sender, requests) = mpsc::channel();
    *STOP_REQUESTS.lock().unwrap_or_else(|p| p.into_inner()) = Some(sender);
    // SAFETY: `on_control` has the signature the system calls and lives as long as the program.
    if unsafe { SetConsoleCtrlHandler(Some(on_control), 1) } == 0 {
        return Err(std::io::Error::last_os_error());
    }
    std::thread::Builder::new().name("signals".into()).spawn(move || {
        for signal in requests {
            if !forward(signal) {
                break;
            }
        }
    })?;
    Ok(())
}

pub fn exit_code(status: Option<ExitStatus>) -> i32 {
    status.and_then(|s| s.code()).unwrap_or(1)
}
