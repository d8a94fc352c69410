//! The daemon's loopback HTTP API: refused without the token, from another Host (DNS
//! rebinding) or Origin (CSRF), with non-JSON bodies; no CORS headers; approvals and a live
//! event stream for a real server's call.

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
        let home = Home::new();
        home.policy("[settings]\ninfer_roots = false\n");
        let child = Command::new(mcpfw())
            .args(["daemon", "--timeout", "30"])
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
    let mut next_event = || -> Value {
        loop {
            let mut line = String::new();
            assert!(events.read_line(&mut line).unwrap() > 0, "event stream closed");
            if let Some(data) = line.trim_end().strip_prefix("data: ")
                && data.starts_with('{')
                && data != "{}"
            {
                return serde_json::from_str(data).unwrap();
            }
        }
    };

    let work = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(mcpfw());
    cmd.env("MCPFW_HOME", d.home.path())
        .env("MCPFW_KEYRING", "off")
        .args(["wrap", "--name", "files", "--root"])
        .arg(work.path())
        .arg("--")
        .arg(npm_server("mcp-server-filesystem"))
        .arg(work.path().parent().unwrap());
    let mut shim = Shim::spawn_raw(cmd);
    shim.initialize();
    let target = outside.path().join("via-api.txt");
    let sent = Instant::now();
    shim.send(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "write_file", "arguments": {"path": target, "content": "ok"}}}));
    let pending = next_event();
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
    let settled = next_event();
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
