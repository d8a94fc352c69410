//! The daemon's loopback HTTP API: refused without the token, from another Host (DNS
//! rebinding) or Origin (CSRF), with non-JSON bodies; no CORS headers; approvals and a live
//! event stream for a real server's call.
// Unix suite: it uses Unix sockets, signals, file modes or symlinks directly (docs/platforms.md).
#![cfg(unix)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Home, Shim, mcpfw, npm_server};
use serde_json::{Value, json};

struct Daemon {
    home: Home,
    child: Child,
    port: u16,
    token: String,
}

impl Daemon {
    fn start() -> Self {
        Self::start_with(&[])
    }

    /// A daemon with extra command-line arguments (e.g. `--ui-dir`).
    fn start_with(extra: &[&str]) -> Self {
        Self::start_exactly(
            "[settings]\ninfer_roots = false\n",
            &[&["--timeout", "30"], extra].concat(),
        )
    }

    /// A daemon with this policy.toml and these arguments only.
    fn start_exactly(policy: &str, args: &[&str]) -> Self {
        let home = Home::new();
        home.policy(policy);
        let child = Command::new(mcpfw())
            .arg("daemon")
            .args(args)
            .env("MCPFW_HOME", home.path())
            .env("MCPFW_KEYRING", "off")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let api = home.path().join("run/api.json");
        let deadline = Instant::now() + Duration::from_secs(10);
        let url = loop {
            if let Ok(text) = std::fs::read_to_string(&api)
                && let Ok(v) = serde_json::from_str::<Value>(&text)
            {
                break v["url"].as_str().unwrap().to_owned();
            }
            assert!(Instant::now() < deadline, "no api.json");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert!(url.starts_with("http://127.0.0.1:"), "bound to loopback only: {url}");
        let port = url.rsplit(':').next().unwrap().parse().unwrap();
        let token = std::fs::read_to_string(home.path().join("config/approver.token")).unwrap();
        Self { home, child, port, token: token.trim().to_owned() }
    }

    /// One HTTP/1.1 request; returns (status, lower-cased head, body).
    fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: &str,
    ) -> (u16, String, String) {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut text = format!(
            "{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            text.push_str(&format!("{name}: {value}\r\n"));
        }
        text.push_str("\r\n");
        text.push_str(body);
        stream.write_all(text.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
        let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
        (status, head.to_ascii_lowercase(), body.to_owned())
    }

    /// The real filesystem server behind `mcpfw wrap`, rooted at `work`, initialized.
    fn filesystem_shim(&self, work: &std::path::Path) -> Shim {
        // The server's box widened to the temp area it is given, so that only approvals stand
        // between a call and the files (the box is tested in tests/containment.rs).
        let policy = self.home.path().join("config/policy.toml");
        let mut text = std::fs::read_to_string(&policy).unwrap_or_default();
        if !text.contains("[servers.files.sandbox]") {
            let tmp = work.parent().unwrap().display().to_string();
            text.push_str(&format!("\n[servers.files.sandbox]\nwrite = [{tmp:?}]\n"));
            std::fs::create_dir_all(policy.parent().unwrap()).unwrap();
            std::fs::write(&policy, text).unwrap();
        }
        let mut cmd = Command::new(mcpfw());
        cmd.env("MCPFW_HOME", self.home.path())
            .env("MCPFW_KEYRING", "off")
            .args(["wrap", "--name", "files", "--root"])
            .arg(work)
            .arg("--")
            .arg(npm_server("mcp-server-filesystem"))
            .arg(work.parent().unwrap());
        let mut shim = Shim::spawn_raw(cmd);
        shim.initialize();
        shim
    }

    fn good(&self) -> Vec<(&'static str, String)> {
        vec![
            ("Host", format!("127.0.0.1:{}", self.port)),
            ("Authorization", format!("Bearer {}", self.token)),
        ]
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn with(
    mut headers: Vec<(&'static str, String)>,
    name: &'static str,
    value: &str,
) -> Vec<(&'static str, String)> {
    headers.retain(|(n, _)| *n != name);
    headers.push((name, value.to_owned()));
    headers
}

#[test]
fn the_api_refuses_missing_tokens_foreign_hosts_and_origins_and_non_json_bodies() {
    let d = Daemon::start();
    let (status, head, body) = d.request("GET", "/api/v1/pending", &d.good(), "");
    assert_eq!((status, body.as_str()), (200, "[]"));
    assert!(!head.contains("access-control-allow"), "{head}");

    let no_token: Vec<_> = d.good().into_iter().filter(|(n, _)| *n != "Authorization").collect();
    assert_eq!(d.request("GET", "/api/v1/pending", &no_token, "").0, 401);
    let wrong = with(d.good(), "Authorization", "Bearer 0000");
    assert_eq!(d.request("GET", "/api/v1/pending", &wrong, "").0, 401);

    // DNS rebinding: the right token behind another name or port is still refused.
    for host in ["evil.example.com", &format!("evil.example.com:{}", d.port), "127.0.0.1:1"] {
        let (status, head, _) =
            d.request("GET", "/api/v1/pending", &with(d.good(), "Host", host), "");
        assert_eq!(status, 403, "Host {host}");
        assert!(!head.contains("access-control-allow"));
    }
    assert_eq!(
        d.request(
            "GET",
            "/api/v1/pending",
            &with(d.good(), "Host", &format!("localhost:{}", d.port)),
            ""
        )
        .0,
        200
    );

    // CSRF: a page elsewhere cannot call it, our own origin can.
    let evil = with(d.good(), "Origin", "http://evil.example");
    assert_eq!(d.request("GET", "/api/v1/pending", &evil, "").0, 403);
    let own = with(d.good(), "Origin", &format!("http://127.0.0.1:{}", d.port));
    assert_eq!(d.request("GET", "/api/v1/pending", &own, "").0, 200);
    let (status, head, _) = d.request("OPTIONS", "/api/v1/pending", &evil, "");
    assert!(status >= 400 && !head.contains("access-control-allow"), "{status} {head}");

    // Bodies that a cross-site form could send are refused before they are read.
    for content_type in
        ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
    {
        let h = with(d.good(), "Content-Type", content_type);
        let (status, _, _) = d.request("POST", "/api/v1/pending/1/decide", &h, r#"{"allow":true}"#);
        assert_eq!(status, 415, "{content_type}");
    }
    let json_headers = with(d.good(), "Content-Type", "application/json");
    assert_eq!(
        d.request("POST", "/api/v1/pending/99/decide", &json_headers, r#"{"allow":true}"#).0,
        404
    );
}

#[test]
fn a_call_is_approved_through_the_api_and_its_events_stream_live() {
    let d = Daemon::start();
    // Subscribe to the event stream first.
    let mut sse = TcpStream::connect(("127.0.0.1", d.port)).unwrap();
    sse.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(sse, "GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: Bearer {}\r\nAccept: text/event-stream\r\n\r\n", d.port, d.token).unwrap();
    let mut events = BufReader::new(sse);
    // Recorded calls arrive on the same stream (`"event": "call"`); they are kept aside here.
    let mut calls: Vec<Value> = Vec::new();
    // With `skip_calls`, returns the next approval event; otherwise the next event of any kind.
    let mut next_event = |calls: &mut Vec<Value>, skip_calls: bool| -> Value {
        loop {
            let mut line = String::new();
            assert!(events.read_line(&mut line).unwrap() > 0, "event stream closed");
            if let Some(data) = line.trim_end().strip_prefix("data: ")
                && data.starts_with('{')
                && data != "{}"
            {
                let event: Value = serde_json::from_str(data).unwrap();
                if event["event"] == "call" {
                    calls.push(event.clone());
                    if skip_calls {
                        continue;
                    }
                }
                return event;
            }
        }
    };

    let work = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let mut shim = d.filesystem_shim(work.path());
    let target = outside.path().join("via-api.txt");
    let sent = Instant::now();
    shim.send(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "write_file", "arguments": {"path": target, "content": "ok"}}}));
    let pending = next_event(&mut calls, true);
    let latency = sent.elapsed();
    assert_eq!(pending["event"], "pending", "{pending}");
    assert_eq!(pending["call"]["request"]["tool"], "write_file");
    assert!(
        latency < Duration::from_millis(500),
        "the approval reached the event stream after {latency:?}"
    );
    let id = pending["call"]["id"].as_u64().unwrap();

    let headers = with(d.good(), "Content-Type", "application/json");
    let (status, _, body) = d.request(
        "POST",
        &format!("/api/v1/pending/{id}/decide"),
        &headers,
        r#"{"allow":true,"scope":"once"}"#,
    );
    assert_eq!((status, body.contains("done")), (200, true), "{body}");
    let settled = next_event(&mut calls, true);
    assert_eq!(
        (settled["event"].as_str(), settled["outcome"].as_str()),
        (Some("settled"), Some("allowed")),
        "{settled}"
    );
    let result = shim.response(&json!(1));
    assert_ne!(result["result"]["isError"], true, "{result}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "ok");
    // The history is readable through the API too, in `mcpfw log --json`'s shape.
    shim.close_stdin();
    shim.wait_exit(Duration::from_secs(10)).expect("the shim exits");
    // The recorded calls reach the stream too (once the shim has written them), in the
    // history's shape.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !calls
        .iter()
        .any(|c| c["call"]["tool"] == "write_file" && c["call"]["kind"] == "approval")
    {
        assert!(Instant::now() < deadline, "no recorded call on the stream: {calls:?}");
        let other = next_event(&mut calls, false);
        assert_eq!(other["event"], "call", "{other}");
    }

    let (status, _, body) =
        d.request("GET", "/api/v1/history?tool=write_file&limit=10", &d.good(), "");
    assert_eq!(status, 200, "{body}");
    let events: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert!(
        events.iter().any(|e| e["kind"] == "approval"
            && e["verdict"] == "allow"
            && e["decided_by"] == "user"),
        "{body}"
    );
    assert!(events.iter().any(|e| e["kind"] == "request" && e["verdict"] == "ask"), "{body}");
    let (status, _, body) = d.request("GET", "/api/v1/history/verify", &d.good(), "");
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap()["ok"], true, "{body}");
    let (status, _, _) = d.request("GET", "/api/v1/history?bogus=1", &d.good(), "");
    assert_eq!(status, 400, "unknown filters are refused");
}

impl Daemon {
    fn json_headers(&self) -> Vec<(&'static str, String)> {
        with(self.good(), "Content-Type", "application/json")
    }

    /// A GET with the token; (status, parsed body).
    fn get(&self, path: &str) -> (u16, Value) {
        let (status, _, body) = self.request("GET", path, &self.good(), "");
        (status, serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}")))
    }

    /// A JSON POST with the token; (status, parsed body).
    fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let (status, _, text) = self.request("POST", path, &self.json_headers(), &body.to_string());
        (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")))
    }

    /// Signs a browser in: a code from the API, exchanged at /login; the session cookie.
    fn sign_in(&self) -> String {
        let (status, code) = self.post("/api/v1/login-codes", &json!({}));
        assert_eq!(status, 200, "{code}");
        let path = code["path"].as_str().unwrap().to_owned();
        let browser = vec![("Host", format!("127.0.0.1:{}", self.port))];
        let (status, head, _) = self.request("GET", &path, &browser, "");
        assert_eq!(status, 303, "{head}");
        assert!(head.contains("\r\nlocation: /\r\n"), "{head}");
        let cookie = head
            .lines()
            .find_map(|l| l.strip_prefix("set-cookie: "))
            .unwrap_or_else(|| panic!("no cookie: {head}"))
            .to_owned();
        for attribute in ["httponly", "samesite=strict", "path=/"] {
            assert!(cookie.contains(attribute), "{cookie}");
        }
        cookie.split(';').next().unwrap().to_owned()
    }
}

/// Headers of a signed-in browser on the dashboard's own page.
fn browser(d: &Daemon, cookie: &str) -> Vec<(&'static str, String)> {
    vec![
        ("Host", format!("127.0.0.1:{}", d.port)),
        ("Cookie", cookie.to_owned()),
        ("Origin", format!("http://127.0.0.1:{}", d.port)),
    ]
}

#[test]
fn a_one_time_code_signs_a_browser_in_and_the_cookie_keeps_the_other_checks() {
    let d = Daemon::start();
    let (status, code) = d.post("/api/v1/login-codes", &json!({}));
    assert_eq!(status, 200);
    assert_eq!(code["expires_in_ms"], 60_000);
    let code_path = code["path"].as_str().unwrap().to_owned();
    assert!(code_path.starts_with("/login?code=") && code_path.len() > 40, "{code_path}");
    // The token is not in the link, and the link works once.
    assert!(!code_path.contains(&d.token));
    let plain = vec![("Host", format!("127.0.0.1:{}", d.port))];
    let (status, head, _) = d.request("GET", &code_path, &plain, "");
    assert_eq!(status, 303, "{head}");
    let (status, _, page) = d.request("GET", &code_path, &plain, "");
    assert_eq!(status, 403);
    assert!(page.contains("mcpfw dashboard"), "the page says how to get a new link: {page}");
    assert_eq!(d.request("GET", "/login?code=0123", &plain, "").0, 403);
    assert_eq!(d.request("GET", "/login", &plain, "").0, 403);

    let cookie = d.sign_in();
    let b = browser(&d, &cookie);
    let (status, _, body) = d.request("GET", "/api/v1/pending", &b, "");
    assert_eq!((status, body.as_str()), (200, "[]"));
    // Without the cookie, or with a made-up one, the API says how to sign in.
    let (status, _, body) = d.request("GET", "/api/v1/pending", &plain, "");
    assert_eq!(status, 401);
    assert!(body.contains("mcpfw dashboard"), "{body}");
    let forged = with(b.clone(), "Cookie", "mcpfw_session=00");
    assert_eq!(d.request("GET", "/api/v1/pending", &forged, "").0, 401);
    // The cookie does not lift the Origin, Host and JSON-body checks (the CSRF defence).
    let evil = with(b.clone(), "Origin", "http://evil.example");
    assert_eq!(d.request("GET", "/api/v1/pending", &evil, "").0, 403);
    let null_origin = with(b.clone(), "Origin", "null");
    assert_eq!(d.request("GET", "/api/v1/pending", &null_origin, "").0, 403);
    let rebound = with(b.clone(), "Host", &format!("evil.example:{}", d.port));
    assert_eq!(d.request("GET", "/api/v1/pending", &rebound, "").0, 403);
    let form = with(b.clone(), "Content-Type", "application/x-www-form-urlencoded");
    assert_eq!(d.request("POST", "/api/v1/rules", &form, "rule=x").0, 415);
    // A browser session cannot mint more sign-in links.
    let as_json = with(b.clone(), "Content-Type", "application/json");
    assert_eq!(d.request("POST", "/api/v1/login-codes", &as_json, "{}").0, 403);
    // Signing out ends the session.
    let (status, head, _) = d.request("POST", "/api/v1/logout", &as_json, "{}");
    assert_eq!(status, 200);
    assert!(head.contains("max-age=0"), "{head}");
    assert_eq!(d.request("GET", "/api/v1/pending", &b, "").0, 401);
}

#[test]
fn mcpfw_dashboard_prints_a_working_link_and_says_when_the_daemon_is_not_running() {
    let d = Daemon::start();
    let out = Command::new(mcpfw())
        .args(["dashboard", "--print"])
        .env("MCPFW_HOME", d.home.path())
        .env("MCPFW_KEYRING", "off")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let url = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let prefix = format!("http://127.0.0.1:{}/login?code=", d.port);
    assert!(url.starts_with(&prefix), "{url}");
    let path = url.strip_prefix(&format!("http://127.0.0.1:{}", d.port)).unwrap();
    let (status, head, _) =
        d.request("GET", path, &[("Host", format!("127.0.0.1:{}", d.port))], "");
    assert_eq!(status, 303, "{head}");

    let nobody = Home::new();
    let out = Command::new(mcpfw())
        .args(["dashboard", "--print"])
        .env("MCPFW_HOME", nobody.path())
        .env("MCPFW_KEYRING", "off")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not running") && err.contains("mcpfw daemon"), "{err}");
}

#[test]
fn the_dashboard_is_served_with_strict_headers_and_a_clear_page_when_it_is_not_built() {
    let ui = tempfile::tempdir().unwrap();
    std::fs::write(ui.path().join("index.html"), "<!doctype html><title>dash</title>").unwrap();
    std::fs::create_dir(ui.path().join("assets")).unwrap();
    std::fs::write(ui.path().join("assets/app.js"), "console.log(1)").unwrap();
    std::fs::write(ui.path().join(".secret"), "hidden").unwrap();
    let d = Daemon::start_with(&["--ui-dir", ui.path().to_str().unwrap()]);
    let plain = vec![("Host", format!("127.0.0.1:{}", d.port))];
    let (status, head, body) = d.request("GET", "/", &plain, "");
    assert_eq!(status, 200, "{head}");
    assert!(body.contains("<title>dash</title>"));
    assert!(head.contains("content-type: text/html"), "{head}");
    for expected in [
        "content-security-policy: default-src 'none'; script-src 'self'",
        "frame-ancestors 'none'",
        "x-content-type-options: nosniff",
        "referrer-policy: no-referrer",
        "x-frame-options: deny",
    ] {
        assert!(head.contains(expected), "{expected} missing in {head}");
    }
    assert!(!head.contains("access-control-allow"), "{head}");
    assert!(!body.contains(&d.token));
    let (status, head, body) = d.request("GET", "/assets/app.js", &plain, "");
    assert_eq!((status, body.as_str()), (200, "console.log(1)"));
    assert!(head.contains("content-type: text/javascript"), "{head}");
    // Nothing outside the folder, nothing hidden, and still only on the loopback name.
    for path in ["/.secret", "/../config/approver.token", "/assets/%2e%2e/%2e%2e/x", "/nope.js"] {
        let (status, _, body) = d.request("GET", path, &plain, "");
        assert_eq!(status, 404, "{path}: {body}");
        assert!(!body.contains("hidden") && !body.contains(&d.token), "{path}");
    }
    let (status, _, _) = d.request("GET", "/", &[("Host", format!("evil.example:{}", d.port))], "");
    assert_eq!(status, 403);
    // An unknown API path is a JSON 404 (authenticated), not the page.
    let (status, _, body) = d.request("GET", "/api/v1/nope", &d.good(), "");
    assert_eq!(status, 404);
    assert!(body.contains("\"error\""), "{body}");

    let missing = Daemon::start_with(&["--ui-dir", "/nonexistent/mcpfw-ui"]);
    let plain = vec![("Host", format!("127.0.0.1:{}", missing.port))];
    let (status, head, body) = missing.request("GET", "/", &plain, "");
    assert_eq!(status, 503);
    assert!(head.contains("content-security-policy"), "{head}");
    assert!(body.contains("not built") && body.contains("npm run build"), "{body}");
}

/// Runs the real filesystem server behind `mcpfw wrap` in `d`'s home and makes some calls:
/// three reads and one listing inside the root (allowed), and one read of a credential
/// location (refused by a guard).
fn seed_calls(d: &Daemon) -> tempfile::TempDir {
    let work = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("a.txt"), "alpha").unwrap();
    let mut cmd = Command::new(mcpfw());
    cmd.env("MCPFW_HOME", d.home.path())
        .env("MCPFW_KEYRING", "off")
        .args(["wrap", "--name", "files", "--root"])
        .arg(work.path())
        .arg("--")
        .arg(npm_server("mcp-server-filesystem"))
        .arg(work.path());
    let mut shim = Shim::spawn_raw(cmd);
    shim.initialize();
    shim.request(1, "tools/list", json!({}));
    for id in 2..5 {
        let read = shim.call_tool(id, "read_text_file", json!({"path": work.path().join("a.txt")}));
        assert_ne!(read["result"]["isError"], true, "{read}");
    }
    shim.call_tool(5, "list_directory", json!({"path": work.path()}));
    let key = d.home.path().join("config/approver.token");
    let refused = shim.call_tool(6, "read_text_file", json!({"path": key}));
    assert_eq!(refused["result"]["isError"], true, "{refused}");
    shim.close_stdin();
    shim.wait_exit(Duration::from_secs(10)).expect("the shim exits");
    work
}

#[test]
fn rules_are_checked_like_the_cli_added_listed_tried_on_the_history_and_removed() {
    let d = Daemon::start();
    let _work = seed_calls(&d);

    // Bad rules get a 400 that names the problem.
    for (rule, expected) in [
        (json!({"rule": {"action": "maybe"}}), "unknown variant `maybe`"),
        (json!({"rule": {"action": "deny", "when": {"args": {"path": "("}}}}), "bad regex"),
        (json!({"rule": {"action": "deny", "lift": ["outside-roots"]}}), "only an allow rule"),
        (json!({"rule": {"action": "deny", "category": ["teleport"]}}), "teleport"),
        (json!({"rule": {"action": "deny", "tool": "[x"}}), "not a valid glob"),
        (json!({"rule": {"action": "deny"}, "expires": "soon"}), "not a duration"),
        (json!({"rule": {"action": "deny", "colour": "red"}}), "unknown field"),
        (json!({"action": "deny"}), "unknown field"),
    ] {
        let (status, body) = d.post("/api/v1/rules", &rule);
        assert_eq!(status, 400, "{rule} -> {body}");
        let error = body["error"].as_str().unwrap();
        assert!(error.contains(expected), "{rule}: {error}");
    }
    assert_eq!(d.get("/api/v1/rules").1["rules"], json!([]));

    // A dry run: a deny on read_text_file would have refused the three reads that were allowed
    // (the fourth read was already refused by a guard).
    let rule = json!({"rule": {"action": "deny", "server": "files", "tool": "read_text_file",
        "reason": "no reading"}});
    let (status, dry) = d.post("/api/v1/rules/dry-run", &rule);
    assert_eq!(status, 200, "{dry}");
    assert_eq!(dry["scanned"], 5, "{dry}");
    assert_eq!(dry["matched"], 4, "{dry}");
    assert_eq!(dry["changed"], 3, "{dry}");
    assert_eq!(dry["complete"], true);
    let changes = dry["changes"].as_array().unwrap();
    assert!(changes.contains(&json!({"from": "allow", "to": "deny", "count": 3})), "{dry}");
    assert!(changes.contains(&json!({"from": "deny", "to": "deny", "count": 1})), "{dry}");
    assert_eq!(dry["examples"][0]["tool"], "read_text_file");
    // A rule for another server matches nothing; nothing was added by trying.
    let other = json!({"rule": {"action": "deny", "server": "mail"}});
    assert_eq!(d.post("/api/v1/rules/dry-run", &other).1["matched"], 0);
    assert_eq!(d.get("/api/v1/rules").1["rules"], json!([]));

    let (status, added) = d.post("/api/v1/rules", &json!({"rule": rule["rule"], "expires": "7d"}));
    assert_eq!(status, 201, "{added}");
    assert_eq!(added["id"], "db:1");
    let (_, listed) = d.get("/api/v1/rules");
    let rules = listed["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 1, "{listed}");
    assert_eq!(rules[0]["origin"], "dashboard");
    assert_eq!(rules[0]["rule"]["tool"], "read_text_file");
    assert!(rules[0]["expires_ms"].as_u64().unwrap() > rules[0]["created_ms"].as_u64().unwrap());
    // The CLI sees the same rule.
    let out = Command::new(mcpfw())
        .args(["rules", "list"])
        .env("MCPFW_HOME", d.home.path())
        .env("MCPFW_KEYRING", "off")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("db:1") && text.contains("no reading"), "{text}");

    // Editing replaces the rule under a new number, in one step; a bad edit changes nothing.
    let edited = json!({"rule": {"action": "ask", "server": "files", "tool": "read_text_file",
        "reason": "reads are asked"}});
    let (status, _, body) =
        d.request("PUT", "/api/v1/rules/db:1", &d.json_headers(), &edited.to_string());
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"id\":\"db:2\"") && body.contains("\"replaced\":\"db:1\""), "{body}");
    let bad = json!({"rule": {"action": "ask", "when": {"args": {"path": "("}}}});
    let (status, _, _) =
        d.request("PUT", "/api/v1/rules/db:2", &d.json_headers(), &bad.to_string());
    assert_eq!(status, 400);
    let (status, _, _) =
        d.request("PUT", "/api/v1/rules/db:1", &d.json_headers(), &edited.to_string());
    assert_eq!(status, 404, "the old number is gone");
    let (_, listed) = d.get("/api/v1/rules");
    let rules = listed["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 1, "{listed}");
    assert_eq!(
        (rules[0]["id"].as_str(), rules[0]["rule"]["reason"].as_str()),
        (Some("db:2"), Some("reads are asked"))
    );

    let (status, _, body) = d.request("DELETE", "/api/v1/rules/db:2", &d.good(), "");
    assert_eq!(status, 200, "{body}");
    assert_eq!(d.request("DELETE", "/api/v1/rules/2", &d.good(), "").0, 404);
    let (status, _, body) = d.request("DELETE", "/api/v1/rules/file:x", &d.good(), "");
    assert_eq!(status, 400);
    assert!(body.contains("policy.toml"), "{body}");
    assert_eq!(d.get("/api/v1/rules").1["rules"], json!([]));
}

#[test]
fn servers_stats_and_settings_describe_what_was_seen() {
    let d = Daemon::start();
    let before = common_now_ms();
    let _work = seed_calls(&d);

    let (status, servers) = d.get("/api/v1/servers");
    assert_eq!(status, 200, "{servers}");
    let files = servers.as_array().unwrap().iter().find(|s| s["name"] == "files").unwrap();
    assert!(files["origin"].as_str().unwrap().contains("mcp-server-filesystem"), "{files}");
    let tools = files["tools"].as_array().unwrap();
    let read = tools.iter().find(|t| t["name"] == "read_text_file").expect("read_text_file");
    assert_eq!(read["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(read["versions"], 1);
    assert!(read["description"].as_str().unwrap().to_lowercase().contains("read"));
    // Listed once, so pinned as first seen.
    assert_eq!(read["pin"]["status"], "trusted", "{read}");
    assert_eq!(read["pin"]["digest"].as_str().unwrap().len(), 64);
    assert!(read["pin"]["diff"].is_null());
    assert!(read["first_seen_ms"].as_u64().unwrap() >= before);
    // Its package (the program's file, pinned by its hash when it listed its tools), with no
    // change waiting: deciding about a change is refused, and says why.
    let package = &files["package"];
    assert_eq!((&package["ecosystem"], &package["status"]), (&json!("file"), &json!("trusted")));
    assert!(package["name"].as_str().unwrap().contains("server-filesystem"), "{package}");
    assert!(package["integrity"].as_str().unwrap().starts_with("sha256:"), "{package}");
    assert!(package["change"].is_null(), "{package}");
    let (status, body) =
        d.post("/api/v1/servers/files/package/trust", &json!({"digest": "0123456789ab"}));
    assert_eq!(status, 409, "{body}");
    assert!(body["error"].as_str().unwrap().contains("no change waiting"), "{body}");
    let (status, body) =
        d.post("/api/v1/servers/nobody/package/block", &json!({"digest": "0123456789ab"}));
    assert_eq!(status, 404, "{body}");
    let (status, body) = d.post("/api/v1/servers/files/package/trust", &json!({"digest": "01"}));
    assert_eq!(status, 400, "{body}");
    let (status, body) = d.post("/api/v1/servers/files/package/trust", &json!({"sha": "x"}));
    assert_eq!(status, 400, "{body}");

    let (status, stats) =
        d.get(&format!("/api/v1/stats?since_ms={}&bucket_ms=60000", before - 60_000));
    assert_eq!(status, 200, "{stats}");
    let mut totals = std::collections::BTreeMap::<String, u64>::new();
    for bucket in stats["buckets"].as_array().unwrap() {
        for (verdict, n) in bucket["counts"].as_object().unwrap() {
            *totals.entry(verdict.clone()).or_default() += n.as_u64().unwrap();
        }
    }
    assert_eq!(totals.get("allow"), Some(&4), "{stats}");
    assert_eq!(totals.get("deny"), Some(&1), "{stats}");
    for bad in ["bucket_ms=0", "since_ms=10&until_ms=5", "since_ms=0&bucket_ms=1", "x=1"] {
        let (status, body) = d.get(&format!("/api/v1/stats?{bad}"));
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body["error"].is_string());
    }

    let (status, settings) = d.get("/api/v1/settings");
    assert_eq!(status, 200);
    assert_eq!(settings["approval_timeout_s"], 30);
    assert_eq!(settings["unattended"], "deny");
    assert_eq!(settings["infer_roots"], false);
    assert_eq!(settings["defaults"]["delete"], "ask");
}

fn common_now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
}

#[test]
fn the_first_history_page_is_fast_with_a_million_events() {
    let d = Daemon::start();
    // The daemon has created the schema; a million rows go straight into it (their hashes are
    // not a valid chain: this measures reading only).
    let db = d.home.path().join("data/mcpfw.db");
    let seeded = Instant::now();
    let sql = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000) \
        INSERT INTO events (seq, ts_ms, server, session, direction, kind, method, rpc_id, tool, \
        category, era, protocol_version, verdict, decided_by, reason, latency_us, cancels, \
        args_digest, args_redacted, result_status, findings, bytes, hash) \
        SELECT i, 1700000000000 + i * 1000, 'srv' || (i % 7), 's', 'client_to_server', 'request', \
        'tools/call', i, 'tool' || (i % 50), 'read', 'handshake', NULL, \
        CASE WHEN i % 10 = 0 THEN 'deny' ELSE 'allow' END, 'default', 'why', NULL, NULL, NULL, \
        '{\"path\":\"/w/' || i || '\"}', NULL, '[]', 100, x'00' FROM n;";
    assert_eq!(d.get("/api/v1/history").0, 200, "the daemon has opened the history");
    let out = Command::new("sqlite3")
        .args(["-cmd", ".timeout 10000"])
        .arg(&db)
        .arg(sql)
        .output()
        .expect("the sqlite3 command (scripts/test installs it)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    eprintln!("seeded 1,000,000 events in {:?}", seeded.elapsed());
    for (what, path) in [
        ("first page", "/api/v1/history?limit=100"),
        ("a server's denials", "/api/v1/history?server=srv3&verdict=deny&limit=100"),
        ("a tool", "/api/v1/history?tool=tool7&limit=100"),
        ("next page", "/api/v1/history?before_seq=500000&limit=100"),
    ] {
        time_first_page(&d, what, path);
    }
    // The chart of the History page: a day of calls (86,400 of them here) in 48 buckets.
    let day_end = 1_700_000_000_000u64 + 1_000_000 * 1000;
    let started = Instant::now();
    let (status, stats) = d.get(&format!(
        "/api/v1/stats?since_ms={}&until_ms={day_end}&bucket_ms=1800000",
        day_end - 86_400_000
    ));
    let took = started.elapsed();
    assert_eq!(status, 200, "{stats}");
    let total: u64 = stats["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["counts"].as_object().unwrap().values())
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(total, 86_400);
    eprintln!("a day's chart: {took:?}");
    assert!(took < Duration::from_millis(1000), "the chart took {took:?}");
}

/// Asks for a page of the history twice (the first request warms SQLite's cache; the user's
/// first page is the second) and checks that it comes within 200 ms.
fn time_first_page(d: &Daemon, what: &str, path: &str) {
    d.request("GET", path, &d.good(), "");
    let started = Instant::now();
    let (status, _, body) = d.request("GET", path, &d.good(), "");
    let took = started.elapsed();
    assert_eq!(status, 200);
    let events: Vec<Value> = serde_json::from_str(&body).unwrap();
    assert_eq!(events.len(), 100, "{what}");
    eprintln!("{what}: {took:?}");
    assert!(took < Duration::from_millis(200), "{what} took {took:?}");
}

impl Daemon {
    /// A JSON PUT with the token; (status, parsed body).
    fn put(&self, path: &str, body: &str) -> (u16, Value) {
        let (status, _, text) = self.request("PUT", path, &self.json_headers(), body);
        (status, serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")))
    }

    fn policy_path(&self) -> std::path::PathBuf {
        self.home.path().join("config/policy.toml")
    }
}

/// A policy.toml as a person writes it: comments, blank lines, their own order.
const COMMENTED_POLICY: &str = "# My firewall.\n\n[settings]\n# Nobody at the desk: refuse.\nunattended = \"deny\"   # the safe choice\ninfer_roots = false\n\n[defaults]\nexec = \"deny\" # never run commands\n";

#[test]
fn settings_are_checked_saved_in_place_with_comments_and_reported() {
    let d = Daemon::start();
    std::fs::write(d.policy_path(), COMMENTED_POLICY).unwrap();
    let (status, s) = d.get("/api/v1/settings");
    assert_eq!(status, 200, "{s}");
    assert_eq!(s["editable"], true);
    assert_eq!(
        (s["approval_timeout_s"].as_u64(), s["approval_timeout_source"].as_str()),
        (Some(30), Some("flag"))
    );
    assert_eq!(
        (s["notifications"].as_bool(), s["notifications_source"].as_str()),
        (Some(true), Some("policy"))
    );
    assert_eq!(s["retention_days"], 90);
    // `mcpfw daemon` cannot start at login; only the desktop app can.
    assert_eq!((s["autostart"].is_null(), s["autostart_available"].as_bool()), (true, Some(false)));
    assert_eq!(s["limits"]["approval_timeout_s"], json!([10, 3600]));

    // Every bad value is refused with a message naming its field, and nothing is written.
    for (body, field, expected) in [
        (r#"{"approval_timeout_s": 5}"#, "approval_timeout_s", "from 10 to 3600"),
        (r#"{"approval_timeout_s": 3601}"#, "approval_timeout_s", "from 10 to 3600"),
        (r#"{"approval_timeout_s": "60"}"#, "approval_timeout_s", "whole number"),
        (r#"{"unattended": "maybe"}"#, "unattended", "\"deny\" or \"allow\""),
        (r#"{"retention_days": -1}"#, "retention_days", "from 0"),
        (r#"{"retention_days": 100000}"#, "retention_days", "36500"),
        (r#"{"notifications": "yes"}"#, "notifications", "true or false"),
        (r#"{"autostart": true}"#, "autostart", "only the desktop app can start at login"),
        (r#"{"infer_roots": true}"#, "infer_roots", "policy.toml"),
    ] {
        let (status, answer) = d.put("/api/v1/settings", body);
        assert_eq!(status, 422, "{body} -> {answer}");
        let message = answer["fields"][field].as_str().unwrap_or_else(|| panic!("{answer}"));
        assert!(message.contains(field) && message.contains(expected), "{body}: {message}");
        assert!(answer["error"].as_str().unwrap().contains(expected), "{answer}");
    }
    // One bad field refuses the whole change.
    let (status, _) = d.put("/api/v1/settings", r#"{"retention_days": 7, "unattended": "x"}"#);
    assert_eq!(status, 422);
    for body in ["[]", "7", "{"] {
        assert_eq!(d.put("/api/v1/settings", body).0, 400, "{body}");
    }
    assert_eq!(std::fs::read_to_string(d.policy_path()).unwrap(), COMMENTED_POLICY);

    // A change is saved in place: the values change, the comments and layout stay.
    let (status, answer) = d.put(
        "/api/v1/settings",
        r#"{"approval_timeout_s": 300, "unattended": "allow", "retention_days": 0, "notifications": false}"#,
    );
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        std::fs::read_to_string(d.policy_path()).unwrap(),
        "# My firewall.\n\n[settings]\n# Nobody at the desk: refuse.\nunattended = \"allow\"   # the safe choice\ninfer_roots = false\napproval_timeout_s = 300\nretention_days = 0\nnotifications = false\n\n[defaults]\nexec = \"deny\" # never run commands\n"
    );
    assert_eq!(answer["approval_timeout_s"], 300);
    let (_, s) = d.get("/api/v1/settings");
    assert_eq!(
        (s["approval_timeout_s"].as_u64(), s["approval_timeout_source"].as_str()),
        (Some(300), Some("policy"))
    );
    assert_eq!((s["unattended"].as_str(), s["retention_days"].as_u64()), (Some("allow"), Some(0)));
    assert_eq!(s["notifications"], false);
    assert_eq!(s["infer_roots"], false);
    assert!(s["policy_error"].is_null(), "{s}");
    // The CLI reads the same file.
    let out = Command::new(mcpfw())
        .args(["policy", "check"])
        .env("MCPFW_HOME", d.home.path())
        .env("MCPFW_KEYRING", "off")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("allowed when nobody can approve"));

    // A file the person is in the middle of editing is never written.
    let broken = "[settings]\nunattended = \"deny\"\n[[rules]]\naction = \"maybe\"\n";
    std::fs::write(d.policy_path(), broken).unwrap();
    let (status, answer) = d.put("/api/v1/settings", r#"{"retention_days": 7}"#);
    assert_eq!(status, 409, "{answer}");
    let error = answer["policy_error"].as_str().unwrap();
    assert!(error.contains("policy.toml:4:10:") && error.contains("maybe"), "{error}");
    assert!(answer["error"].as_str().unwrap().contains("nothing was saved"), "{answer}");
    assert_eq!(std::fs::read_to_string(d.policy_path()).unwrap(), broken);
    let (_, s) = d.get("/api/v1/settings");
    assert!(s["policy_error"].as_str().unwrap().contains("policy.toml:4:10:"), "{s}");

    // Without a policy.toml, one is made with just the setting.
    std::fs::remove_file(d.policy_path()).unwrap();
    assert_eq!(d.put("/api/v1/settings", r#"{"retention_days": 7}"#).0, 200);
    assert_eq!(
        std::fs::read_to_string(d.policy_path()).unwrap(),
        "[settings]\nretention_days = 7\n"
    );
}

#[test]
fn changing_settings_takes_the_approvers_authority() {
    let d = Daemon::start();
    let body = r#"{"retention_days": 30}"#;
    let no_token: Vec<_> =
        d.json_headers().into_iter().filter(|(n, _)| *n != "Authorization").collect();
    assert_eq!(d.request("PUT", "/api/v1/settings", &no_token, body).0, 401);
    let wrong = with(d.json_headers(), "Authorization", "Bearer 0000");
    assert_eq!(d.request("PUT", "/api/v1/settings", &wrong, body).0, 401);
    // A client's proxy token uses servers; it never changes the firewall's settings.
    let paths = mcpfw::paths::Paths::under(d.home.path());
    let route =
        mcpfw::proxy::registry::register(&paths, "cursor", "docs", "https://example.com/mcp")
            .unwrap();
    let client = with(d.json_headers(), "Authorization", &format!("Bearer {}", route.token));
    assert_eq!(d.request("PUT", "/api/v1/settings", &client, body).0, 401);
    let client = with(d.json_headers(), mcpfw::proxy::registry::TOKEN_HEADER, &route.token);
    let client: Vec<_> = client.into_iter().filter(|(n, _)| *n != "Authorization").collect();
    assert_eq!(d.request("PUT", "/api/v1/settings", &client, body).0, 401);
    // Cross-site: another Origin, or a form's content type, is refused before anything is read.
    let evil = with(d.json_headers(), "Origin", "http://evil.example");
    assert_eq!(d.request("PUT", "/api/v1/settings", &evil, body).0, 403);
    let form = with(d.good(), "Content-Type", "text/plain");
    assert_eq!(d.request("PUT", "/api/v1/settings", &form, body).0, 415);
    assert_eq!(
        std::fs::read_to_string(d.policy_path()).unwrap(),
        "[settings]\ninfer_roots = false\n",
        "nothing was written"
    );
    // A signed-in browser on the dashboard's own page can.
    let cookie = d.sign_in();
    let browser = with(browser(&d, &cookie), "Content-Type", "application/json");
    let (status, _, answer) = d.request("PUT", "/api/v1/settings", &browser, body);
    assert_eq!(status, 200, "{answer}");
    assert!(std::fs::read_to_string(d.policy_path()).unwrap().contains("retention_days = 30"));
}

#[test]
fn a_new_approval_timeout_applies_to_the_next_call_at_once() {
    let d = Daemon::start();
    let (status, answer) = d.put("/api/v1/settings", r#"{"approval_timeout_s": 10}"#);
    assert_eq!(status, 200, "{answer}");
    // The daemon tells a shim how long it will wait (so a shim started earlier, with another
    // idea of the timeout, waits as long as the daemon does).
    {
        use std::os::unix::net::UnixStream;
        let mut socket = UnixStream::connect(d.home.path().join("run/mcpfw.sock")).unwrap();
        let ask = json!({"op": "ask", "request": {"server": "s", "session": "x", "tool": "t",
            "category": "exec", "reason": "r", "arguments": null, "args_digest": null}});
        writeln!(socket, "{ask}").unwrap();
        let mut line = String::new();
        BufReader::new(&socket).read_line(&mut line).unwrap();
        let queued: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(queued["op"], "queued", "{queued}");
        let ms = queued["expires_in_ms"].as_u64().unwrap();
        assert!((9_000..=10_000).contains(&ms), "{queued}");
    }

    // A real call that asks is refused by the new timeout.
    let work = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let mut shim = d.filesystem_shim(work.path());
    let target = outside.path().join("late.txt");
    let sent = Instant::now();
    let answer = shim.call_tool(2, "write_file", json!({"path": target, "content": "too late"}));
    let waited = sent.elapsed();
    assert_eq!(answer["result"]["isError"], true, "{answer}");
    assert!(answer.to_string().contains("within 10 s"), "{answer}");
    assert!(
        waited >= Duration::from_secs(9) && waited < Duration::from_secs(25),
        "refused after {waited:?}"
    );
    assert!(!target.exists());
    assert_eq!(d.get("/api/v1/pending").1, json!([]), "nothing waits any more");
}

#[test]
fn the_daemon_starts_with_policy_tomls_timeout_unless_told_otherwise() {
    let d = Daemon::start_exactly("[settings]\napproval_timeout_s = 45\n", &["--no-notify"]);
    let (_, s) = d.get("/api/v1/settings");
    assert_eq!(
        (s["approval_timeout_s"].as_u64(), s["approval_timeout_source"].as_str()),
        (Some(45), Some("policy"))
    );
    assert_eq!(
        (s["notifications"].as_bool(), s["notifications_source"].as_str()),
        (Some(false), Some("flag"))
    );
    drop(d);
    // A broken file: the defaults, and the error said.
    let d = Daemon::start_exactly("[settings]\napproval_timeout_s = 5\n", &[]);
    let (_, s) = d.get("/api/v1/settings");
    assert_eq!(
        (s["approval_timeout_s"].as_u64(), s["approval_timeout_source"].as_str()),
        (Some(120), Some("default"))
    );
    assert!(s["policy_error"].as_str().unwrap().contains("policy.toml:2:1:"), "{s}");
}
