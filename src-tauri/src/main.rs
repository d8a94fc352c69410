//! MCP Firewall desktop app.
//!
//! A thin Tauri shell around the `mcpfw` core library: it hosts the approval daemon in-process
//! (the same code as `mcpfw daemon`: the broker's socket, the loopback HTTP API, desktop
//! notifications), shows the dashboard, a tray icon with the number of waiting calls, and one
//! small always-on-top approval window per call that waits.
//!
//! Every window shows pages the in-process daemon serves from its own loopback origin, signed in
//! with a one-time code minted in this process (see `windows.rs`): the approver token never
//! reaches web content, and no webview is granted any Tauri IPC command.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod popups;
mod tray;
mod windows;

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, Result};
use mcpfw_core::paths::Paths;
use mcpfw_daemon::daemon::{self, Daemon};
use tauri::{Manager, RunEvent, WindowEvent};
use tauri_plugin_autostart::ManagerExt;

/// The daemon hosted by this app, and the runtime its tasks run on.
pub struct Hosted {
    pub daemon: Daemon,
    pub runtime: tokio::runtime::Runtime,
}

/// What the app is doing: protecting (the daemon runs here) or showing why it cannot.
#[derive(Default)]
pub struct AppState {
    pub hosted: Mutex<Option<Hosted>>,
}

impl AppState {
    /// Whether the daemon runs in this process (so closing windows must not quit).
    fn hosting(&self) -> bool {
        self.hosted.lock().map(|h| h.is_some()).unwrap_or(false)
    }
}

/// Where the dashboard's built files are: `MCPFW_UI_DIR`, then the copy bundled as a resource
/// (`ui/` next to the app's resources), then the daemon's own default.
fn ui_dir(app: &tauri::App) -> PathBuf {
    if let Some(dir) = std::env::var_os("MCPFW_UI_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    app.path()
        .resource_dir()
        .ok()
        .map(|dir| dir.join("ui"))
        .filter(|dir| dir.join("index.html").is_file())
        .unwrap_or_else(mcpfw_daemon::api::ui::default_ui_dir)
}

/// How long a call waits for a decision: `--timeout SECONDS` (as `mcpfw daemon --timeout`; none:
/// policy.toml's `approval_timeout_s`, else the default).
fn timeout_arg(args: &[String]) -> Result<Option<Duration>, String> {
    let Some(i) = args.iter().position(|a| a == "--timeout") else {
        return Ok(None);
    };
    match args.get(i + 1).and_then(|v| v.parse::<u64>().ok()) {
        Some(secs) if secs >= 1 => Ok(Some(Duration::from_secs(secs))),
        _ => Err("--timeout needs a whole number of seconds (1 or more)".into()),
    }
}

/// The app's "Start at login" (the tray's check item), which the dashboard's Settings page
/// shows and changes through the daemon.
struct AppAutostart(tauri::AppHandle);

impl std::fmt::Debug for AppAutostart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AppAutostart")
    }
}

use mcpfw_daemon::api::settings::AutostartError;

impl mcpfw_daemon::api::settings::Autostart for AppAutostart {
    fn enabled(&self) -> Result<bool, AutostartError> {
        self.0.autolaunch().is_enabled().map_err(AutostartError::new)
    }

    fn set(&self, on: bool) -> Result<bool, AutostartError> {
        let autolaunch = self.0.autolaunch();
        if on {
            tray::ensure_autostart_dir();
        }
        let changed = if on { autolaunch.enable() } else { autolaunch.disable() };
        let now = autolaunch.is_enabled().map_err(AutostartError::new)?;
        // The tray's check mark follows what really happened.
        tray::show_autostart(&self.0, now);
        changed.map_err(AutostartError::new)?;
        tracing::info!(enabled = now, "start at login (from the dashboard)");
        Ok(now)
    }
}

/// Starts the daemon on a runtime of its own.
fn host(app: &tauri::App, paths: &Paths, timeout: Option<Duration>) -> Result<Hosted> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("mcpfw-daemon")
        .enable_all()
        .build()
        .context("cannot start the daemon's runtime")?;
    let options = daemon::Options {
        timeout,
        http_port: 0,
        notify: true,
        ui_dir: ui_dir(app),
        autostart: Some(std::sync::Arc::new(AppAutostart(app.handle().clone()))),
    };
    let daemon = daemon::start(paths, options, runtime.handle())?;
    Ok(Hosted { daemon, runtime })
}

/// What the user reads when the daemon cannot run here.
fn start_failure(error: &anyhow::Error) -> (String, String) {
    if let Some(daemon::DaemonError::AlreadyRunning(running)) =
        error.downcast_ref::<daemon::DaemonError>()
    {
        return (
            "MCP Firewall is already running".into(),
            format!(
                "Another MCP Firewall (`mcpfw daemon`, or this app in another session) already \
                 answers approvals on {}. Calls keep being protected by it. Use `mcpfw dashboard` \
                 to open its dashboard, or stop it (Ctrl-C in its terminal) and start this app \
                 again to have approvals here.",
                running.socket.display()
            ),
        );
    }
    (
        "MCP Firewall could not start".into(),
        format!(
            "The approval service did not start, so calls that need your approval are refused \
             until it runs: {error:#}. Check the log in MCP Firewall's log folder (`mcpfw paths`) \
             and start the app again."
        ),
    )
}

fn setup(
    app: &mut tauri::App,
    paths: &Paths,
    hidden: bool,
    timeout: Option<Duration>,
) -> Result<()> {
    match host(app, paths, timeout) {
        Ok(hosted) => {
            let url = hosted.daemon.url().to_owned();
            let events = hosted.daemon.broker().subscribe();
            let sign_in = hosted.runtime.block_on(hosted.daemon.sign_in().link())?;
            windows::open_main(app.handle(), &url, &sign_in, !hidden)?;
            tray::build(app.handle(), paths)?;
            popups::spawn(app.handle().clone(), &hosted, events);
            *app.state::<AppState>().hosted.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(hosted);
            tracing::info!(api = %url, "the desktop app hosts the approval daemon");
        }
        Err(error) => {
            tracing::error!("the desktop app could not host the daemon: {error:#}");
            eprintln!("mcpfw-desktop: {error:#}");
            let (title, body) = start_failure(&error);
            windows::open_notice(app.handle(), &title, &body)?;
        }
    }
    Ok(())
}

fn main() {
    let paths = match Paths::from_env() {
        Ok(paths) => paths,
        Err(e) => {
            eprintln!("mcpfw-desktop: {e:#}");
            std::process::exit(1);
        }
    };
    let _log = mcpfw_daemon::logging::init(&paths).ok();
    // Launched at login (see the tray's "Start at login"): stay in the tray.
    let args: Vec<String> = std::env::args().collect();
    let hidden = args.iter().any(|a| a == windows::HIDDEN_ARG);
    let timeout = match timeout_arg(&args) {
        Ok(timeout) => timeout,
        Err(e) => {
            eprintln!("mcpfw-desktop: {e}");
            std::process::exit(2);
        }
    };
    let app = tauri::Builder::default()
        // First: a second launch only brings this one's window forward, then exits.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            windows::show_dashboard(app, "/live")
        }))
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            Some(vec![windows::HIDDEN_ARG]),
        ))
        .manage(AppState::default())
        .setup(move |app| {
            setup(app, &paths, hidden, timeout)
                .map_err(|e| -> Box<dyn std::error::Error> { e.into() })
        })
        .on_window_event(|window, event| {
            // The dashboard's window hides instead of closing: protection goes on in the tray.
            if let WindowEvent::CloseRequested { api, .. } = event
                && window.label() == windows::MAIN
                && window.state::<AppState>().hosting()
            {
                api.prevent_close();
                let _ = window.hide();
            }
        })
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("mcpfw-desktop: cannot start the desktop app: {e}");
            std::process::exit(1);
        }
    };
    app.run(|app, event| match event {
        // Closing the last window keeps the daemon running; only "Quit" (an explicit exit code)
        // ends it.
        RunEvent::ExitRequested { code: None, api, .. } if app.state::<AppState>().hosting() => {
            api.prevent_exit();
        }
        RunEvent::Exit => {
            let hosted = app.state::<AppState>().hosted.lock().ok().and_then(|mut h| h.take());
            if let Some(Hosted { daemon, runtime }) = hosted {
                daemon.stop();
                // Shims waiting on this daemon see their connection close and refuse their calls.
                runtime.shutdown_timeout(Duration::from_secs(2));
            }
        }
        _ => {}
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timeout_is_a_whole_number_of_seconds() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(timeout_arg(&args(&["app"])), Ok(None));
        assert_eq!(
            timeout_arg(&args(&["app", "--timeout", "5"])),
            Ok(Some(Duration::from_secs(5)))
        );
        for bad in
            [&["app", "--timeout"][..], &["app", "--timeout", "0"], &["app", "--timeout", "x"]]
        {
            assert!(timeout_arg(&args(bad)).is_err(), "{bad:?}");
        }
    }
}
