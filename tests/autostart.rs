//! The daemon hosted by an app that can start at login (as the desktop app hosts it): the
//! dashboard's Settings read and change the host's switch through `daemon::Options::autostart`.
//! The host here keeps its state in a real file, as the autostart plugin keeps a login entry
//! (a `.desktop` file on Linux).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use mcpfw::api::settings::{Autostart, AutostartError};
use mcpfw::daemon;
use mcpfw::paths::Paths;
use serde_json::Value;

/// Starting at login is "on" while the entry file exists.
#[derive(Debug)]
struct LoginEntry {
    file: PathBuf,
}

impl Autostart for LoginEntry {
    fn enabled(&self) -> Result<bool, AutostartError> {
        Ok(self.file.exists())
    }

    fn set(&self, on: bool) -> Result<bool, AutostartError> {
        let done = if on {
            std::fs::write(&self.file, "[Desktop Entry]\nExec=mcpfw-desktop --minimized\n")
        } else {
            std::fs::remove_file(&self.file)
        };
        done.map_err(|e| {
            AutostartError::new(format!("cannot change {}: {e}", self.file.display()))
        })?;
        self.enabled()
    }
}

fn request(url: &str, token: &str, method: &str, body: &str) -> (u16, Value) {
    let address = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        stream,
        "{method} /api/v1/settings HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}")))
}

#[test]
fn the_dashboard_turns_the_hosts_start_at_login_on_and_off() {
    let home = tempfile::tempdir().unwrap();
    let free_port =
        std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    // SAFETY: the only test of this binary sets these before any other thread starts. The
    // daemon's watch over the clients' files looks below this HOME, not the real one.
    unsafe {
        std::env::set_var("MCPFW_KEYRING", "off");
        std::env::set_var("MCPFW_PROXY_PORT", free_port.to_string());
        std::env::set_var("HOME", home.path());
        std::env::remove_var("XDG_CONFIG_HOME");
    }
    let paths = Paths::under(home.path());
    let autostart_dir = home.path().join("autostart");
    std::fs::create_dir_all(&autostart_dir).unwrap();
    let entry = autostart_dir.join("mcpfw-desktop.desktop");
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let options = daemon::Options {
        timeout: None,
        http_port: 0,
        notify: false,
        ui_dir: home.path().join("no-ui"),
        autostart: Some(Arc::new(LoginEntry { file: entry.clone() })),
    };
    let hosted = daemon::start(&paths, options, runtime.handle()).unwrap();
    let url = hosted.url().to_owned();
    let token = std::fs::read_to_string(paths.config.join("approver.token")).unwrap();
    let token = token.trim();

    let (status, s) = request(&url, token, "GET", "");
    assert_eq!(status, 200, "{s}");
    assert_eq!(
        (s["autostart"].as_bool(), s["autostart_available"].as_bool()),
        (Some(false), Some(true))
    );
    // Neither --timeout nor policy.toml: the default; --no-notify: off for this run.
    assert_eq!(
        (s["approval_timeout_s"].as_u64(), s["approval_timeout_source"].as_str()),
        (Some(120), Some("default"))
    );
    assert_eq!(
        (s["notifications"].as_bool(), s["notifications_source"].as_str()),
        (Some(false), Some("flag"))
    );

    let (status, s) = request(&url, token, "PUT", r#"{"autostart": true}"#);
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["autostart"], true);
    assert!(entry.is_file(), "the login entry was written");
    assert!(!paths.config.join("policy.toml").exists(), "autostart is not a policy.toml setting");
    let (_, s) = request(&url, token, "GET", "");
    assert_eq!(s["autostart"], true);

    let (status, s) = request(&url, token, "PUT", r#"{"autostart": false, "notifications": true}"#);
    assert_eq!(status, 200, "{s}");
    assert_eq!((s["autostart"].as_bool(), s["notifications"].as_bool()), (Some(false), Some(true)));
    assert_eq!(s["notifications_source"], "policy");
    assert!(!entry.exists(), "the login entry was removed");

    // The host cannot change it: the error names the setting, and the file is left alone.
    std::fs::remove_dir(&autostart_dir).unwrap();
    let (status, s) = request(&url, token, "PUT", r#"{"autostart": true}"#);
    assert_eq!(status, 500, "{s}");
    let message = s["fields"]["autostart"].as_str().unwrap();
    assert!(
        message.contains("cannot change starting at login")
            && message.contains("mcpfw-desktop.desktop"),
        "{message}"
    );
    hosted.stop();
}
