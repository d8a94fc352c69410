//! The HTTP proxy and the stdio→HTTP bridge against the real `server-everything` in Streamable
//! HTTP mode, driven by the real Python `mcp` client; and the attacks a web page or another
//! local program could try on the proxy's listener.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Background, Home, free_port, mcpfw, npm_server, python, support, wait_listening};
use serde_json::Value;

/// A real server-everything over Streamable HTTP, a daemon whose proxy serves it as
/// `everything`, and a client token.
struct Setup {
    home: Home,
    upstream_port: u16,
    proxy_port: u16,
    token: String,
    /// The servers and the daemon, stopped when the setup is dropped.
    children: Vec<Background>,
}

impl Setup {
    /// Nobody is there to approve: every call of the everything server is allowed by a rule.
    fn new() -> Self {
        Self::with_policy(ALLOW_ALL)
    }

    fn with_policy(policy: &str) -> Self {
        let home = Home::new();
        home.policy(policy);
        let upstream_port = free_port();
        let mut server = Command::new(npm_server("mcp-server-everything"));
        server.arg("streamableHttp").env("PORT", upstream_port.to_string());
        let server = Background::start(server);
        let mut setup = Self {
            home,
            upstream_port,
            proxy_port: free_port(),
            token: String::new(),
            children: vec![server],
        };
        let added = setup.run(&[
            "proxy",
            "add",
            "everything",
            &format!("http://127.0.0.1:{upstream_port}/mcp"),
            "--client",
            "test",
        ]);
        setup.token = added
            .split("X-MCPFW-Token: ")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .expect("a token in `mcpfw proxy add`'s output")
            .to_owned();
        let mut daemon = setup.cmd();
        daemon.args(["daemon", "--no-notify"]);
        setup.children.push(Background::start(daemon));
        wait_listening(upstream_port, "server-everything");
        wait_listening(setup.proxy_port, "the proxy");
        setup
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::new(mcpfw());
        cmd.env("MCPFW_HOME", self.home.path())
            .env("MCPFW_KEYRING", "off")
            .env("MCPFW_PROXY_PORT", self.proxy_port.to_string());
        cmd
    }

    fn run(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().unwrap();
        assert!(out.status.success(), "mcpfw {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn route(&self) -> String {
        format!("http://127.0.0.1:{}/s/everything/mcp", self.proxy_port)
    }

    fn direct(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.upstream_port)
    }

    /// One raw HTTP/1.1 exchange with the proxy: (status, headers, body).
    fn raw(&self, request: &str) -> (u16, String, String) {
        raw(self.proxy_port, request.as_bytes())
    }

    /// A well-formed POST of `body` to the route, with `extra` header lines.
    fn post(&self, body: &str, extra: &str) -> (u16, String, String) {
        let port = self.proxy_port;
        self.raw(&format!(
            "POST /s/everything/mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
             Accept: application/json, text/event-stream\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ))
    }

    /// The real Python client adds two numbers through the proxy.
    fn assert_a_client_is_served(&self) {
        let value = scenario(&[
            "--url".into(),
            self.route(),
            "--header".into(),
            self.token_header().trim().to_owned(),
            "--".into(),
        ]);
        assert_eq!(value["sum"]["text"], "The sum of 2 and 3 is 5.");
    }

    fn token_header(&self) -> String {
        format!("X-MCPFW-Token: {}\r\n", self.token)
    }

    /// A 2026-07-28 (stateless) Python server over HTTP, served by the proxy as `modern`.
    fn add_modern(&mut self) {
        let port = free_port();
        let mut server = Command::new(python());
        server.arg(support("modern_server.py")).args(["--http", &port.to_string()]);
        self.children.push(Background::start(server));
        wait_listening(port, "the stateless server");
        self.run(&[
            "proxy",
            "add",
            "modern",
            &format!("http://127.0.0.1:{port}/mcp"),
            "--client",
            "test",
        ]);
    }

    /// A Python server of the legacy HTTP+SSE transport; returns its event stream's URL.
    fn start_legacy(&mut self) -> String {
        let port = free_port();
        let mut server = Command::new(python());
        server.arg(support("modern_server.py")).args(["--sse", &port.to_string()]);
        self.children.push(Background::start(server));
        wait_listening(port, "the legacy server");
        format!("http://127.0.0.1:{port}/sse")
    }

    fn pid(&self, i: usize) -> u32 {
        self.children[i].id()
    }
}

fn raw(port: u16, request: &[u8]) -> (u16, String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    stream.write_all(request).unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_owned())
}

const ALLOW_ALL: &str =
    "[[rules]]\nid = \"all\"\naction = \"allow\"\nserver = \"*\"\ntool = \"*\"\n";

const INITIALIZE: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;

/// The client scenario's observations (what a user of the client would see), as JSON.
///
/// Over HTTP, server-everything announces the tools it adds for a client's capabilities
/// (`notifications/tools/list_changed`) on the standalone GET stream, and only if that stream is
/// already open when it does: a race inside the server, direct or not. That count is left out.
fn scenario(args: &[String]) -> Value {
    let mut value = scenario_raw(args);
    if let Some(notifications) = value["notifications"].as_object_mut() {
        notifications.remove("notifications/tools/list_changed");
    }
    value
}

fn scenario_raw(args: &[String]) -> Value {
    client("everything", args)
}

fn client(scenario: &str, args: &[String]) -> Value {
    let out = Command::new(python())
        .arg(support("client.py"))
        .args(["--scenario", scenario, "--timeout", "30"])
        .args(args)
        .output()
        .unwrap();
    client_report(&out)
}

/// A client script's one-line JSON report, which must say `"ok": true`.
fn client_report(out: &std::process::Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let value: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{e}: {stdout}\n{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(value["ok"], true, "{value}\n{}", String::from_utf8_lossy(&out.stderr));
    value
}

/// The TypeScript SDK client's scenario (`tests/support/ts_client.mjs`) with these arguments.
fn ts_client(args: &[String]) -> Value {
    let out = Command::new(npm_server("node"))
        .arg(support("ts_client.mjs"))
        .args(args)
        .arg("--")
        .output()
        .unwrap();
    client_report(&out)
}

#[test]
fn the_typescript_client_sees_the_same_through_the_proxy_as_direct() {
    let s = Setup::new();
    let direct = ts_client(&["--url".into(), s.direct()]);
    let proxied = ts_client(&[
        "--url".into(),
        s.route(),
        "--header".into(),
        format!("X-MCPFW-Token: {}", s.token),
    ]);
    assert_eq!(proxied, direct);
    assert_eq!(proxied["sum"]["text"], "The sum of 2 and 3 is 5.");
    let events = s.home.wait_events("the TypeScript client's proxied calls", |events| {
        events.iter().any(|e| e["tool"] == "get-tiny-image" && e["direction"] == "server_to_client")
    });
    assert!(events.iter().any(|e| e["method"] == "prompts/get"), "the prompt was recorded");
}

#[test]
fn the_python_client_sees_the_same_through_the_proxy_as_direct() {
    let s = Setup::new();
    let direct = scenario(&["--url".into(), s.direct(), "--".into()]);
    let proxied = scenario(&[
        "--url".into(),
        s.route(),
        "--header".into(),
        format!("X-MCPFW-Token: {}", s.token),
        "--".into(),
    ]);
    assert_eq!(proxied, direct);
    // Tools, a streamed progress call, sampling and elicitation went through, and were recorded.
    assert_eq!(proxied["progress"]["values"].as_array().map(Vec::len), Some(3), "{proxied}");
    let events = s.home.wait_events("the proxied calls", |events| {
        events.iter().any(|e| {
            e["tool"] == "trigger-long-running-operation" && e["direction"] == "server_to_client"
        })
    });
    for tool in ["echo", "get-sum", "trigger-long-running-operation", "trigger-sampling-request"] {
        assert!(
            events.iter().any(|e| e["server"] == "everything"
                && e["tool"] == tool
                && e["kind"] == "request"),
            "no recorded call of {tool}"
        );
    }
    assert!(events.iter().any(|e| e["method"] == "resources/read"));
    assert!(events.iter().any(|e| e["method"] == "prompts/get"));
}

#[test]
fn the_stdio_bridge_reaches_an_http_server_through_the_pipeline() {
    let s = Setup::new();
    let direct = scenario(&["--url".into(), s.direct(), "--".into()]);
    let mcpfw = mcpfw().display().to_string();
    let home = s.home.path().display().to_string();
    let bridged = scenario(&[
        "--".into(),
        "env".into(),
        format!("MCPFW_HOME={home}"),
        "MCPFW_KEYRING=off".into(),
        mcpfw,
        "wrap".into(),
        "--name".into(),
        "remote".into(),
        "--url".into(),
        s.direct(),
    ]);
    assert_eq!(bridged, direct);
    let events = s.home.wait_events("the bridged calls", |events| {
        events.iter().any(|e| e["server"] == "remote" && e["tool"] == "echo")
    });
    assert!(events.iter().any(|e| e["server"] == "remote" && e["tool"] == "get-sum"));
}

#[test]
fn a_refused_call_never_reaches_the_http_server() {
    let s = Setup::with_policy(&format!(
        "{ALLOW_ALL}\n[[rules]]\nid = \"no-echo\"\naction = \"deny\"\nserver = \"everything\"\ntool = \"echo\"\nreason = \"echo is off limits\"\n"
    ));
    let (status, head, _) = s.post(INITIALIZE, &s.token_header());
    assert_eq!(status, 200, "{head}");
    let session = head
        .lines()
        .find_map(|l| l.strip_prefix("mcp-session-id: "))
        .expect("the proxy gives the client a session")
        .trim()
        .to_owned();
    let extra = format!(
        "{}Mcp-Session-Id: {session}\r\nMCP-Protocol-Version: 2025-11-25\r\n",
        s.token_header()
    );
    let (status, _, _) =
        s.post(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, &extra);
    assert_eq!(status, 202);
    let (status, head, body) = s.post(
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hi"}}}"#,
        &extra,
    );
    assert_eq!(status, 200, "{head}");
    let answer: Value = serde_json::from_str(body.trim()).unwrap();
    assert_eq!(answer["result"]["isError"], true, "{answer}");
    assert!(
        answer["result"]["content"][0]["text"].as_str().unwrap().contains("echo is off limits")
    );
    // Another tool of the same session still works, through the server's event stream.
    let (status, _, body) = s.post(
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"get-sum","arguments":{"a":1,"b":2}}}"#,
        &extra,
    );
    assert_eq!(status, 200);
    assert!(body.contains("The sum of 1 and 2 is 3"), "{body}");
    let events = s.home.wait_events("the refusal", |e| e.iter().any(|e| e["verdict"] == "deny"));
    assert!(events.iter().any(|e| e["tool"] == "echo" && e["verdict"] == "deny"));
    assert!(!events.iter().any(|e| e["tool"] == "echo" && e["direction"] == "server_to_client"));
}

#[test]
fn the_listener_refuses_what_a_web_page_or_a_stranger_sends() {
    let s = Setup::new();
    let port = s.proxy_port;
    let token = s.token_header();
    let post = |host: &str, extra: &str, content_type: &str| {
        s.raw(&format!(
            "POST /s/everything/mcp HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n{extra}\
             Content-Length: {}\r\nConnection: close\r\n\r\n{INITIALIZE}",
            INITIALIZE.len()
        ))
    };
    let own = format!("127.0.0.1:{port}");
    // DNS rebinding: the page's name in Host.
    assert_eq!(post(&format!("evil.example.com:{port}"), &token, "application/json").0, 403);
    assert_eq!(post("localhost:1", &token, "application/json").0, 403);
    // A page on another origin, even with our Host.
    assert_eq!(
        post(&own, &format!("{token}Origin: http://evil.example.com\r\n"), "application/json").0,
        403
    );
    assert_eq!(post(&own, &format!("{token}Origin: null\r\n"), "application/json").0, 403);
    // No token, a wrong one, the approver token.
    assert_eq!(post(&own, "", "application/json").0, 401);
    assert_eq!(
        post(&own, &format!("X-MCPFW-Token: {}\r\n", "0".repeat(64)), "application/json").0,
        401
    );
    let approver = std::fs::read_to_string(s.home.path().join("config/approver.token")).unwrap();
    assert_eq!(
        post(&own, &format!("X-MCPFW-Token: {}\r\n", approver.trim()), "application/json").0,
        401
    );
    // A cross-site form or text/plain post (no preflight) is refused even with a token.
    assert_eq!(post(&own, &token, "text/plain").0, 415);
    assert_eq!(post(&own, &token, "application/x-www-form-urlencoded").0, 415);
    // An oversized body.
    let big = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{{\"x\":\"{}\"}}}}",
        "a".repeat(17 << 20)
    );
    let (status, _, _) = s.raw(&format!(
        "POST /s/everything/mcp HTTP/1.1\r\nHost: {own}\r\nContent-Type: application/json\r\n{token}Content-Length: {}\r\nConnection: close\r\n\r\n{big}",
        big.len()
    ));
    assert_eq!(status, 413);
    // Oversized headers, and too many of them.
    let (status, _, _) = s.raw(&format!(
        "GET /s/everything/mcp HTTP/1.1\r\nHost: {own}\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
        "a".repeat(1 << 20)
    ));
    assert_eq!(status, 431);
    let many: String = (0..2000).map(|i| format!("X-H{i}: v\r\n")).collect();
    let (status, _, _) = s.raw(&format!(
        "GET /s/everything/mcp HTTP/1.1\r\nHost: {own}\r\n{many}Connection: close\r\n\r\n"
    ));
    assert_eq!(status, 431);
    // A session that is not ours, and an unknown route.
    let (status, _, _) = s.post(
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
        &format!("{token}Mcp-Session-Id: made-up\r\n"),
    );
    assert_eq!(status, 404);
    let (status, _, _) = s.raw(&format!(
        "GET /s/nothing/mcp HTTP/1.1\r\nHost: {own}\r\n{token}Connection: close\r\n\r\n"
    ));
    assert_eq!(status, 404);
    // 2026-07-28 routing headers that disagree with the body.
    let (status, _, body) = s.post(
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"echo","arguments":{}}}"#,
        &format!("{token}Mcp-Method: tools/list\r\n"),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("-32020"), "{body}");
    // The upstream sends `Access-Control-Allow-Origin: *`; the proxy never passes CORS on.
    let (status, head, _) = s.post(INITIALIZE, &token);
    assert_eq!(status, 200, "{head}");
    assert!(!head.contains("access-control-"), "{head}");
    // After all that, a real client still works.
    let value = scenario(&[
        "--url".into(),
        s.route(),
        "--header".into(),
        token.trim().to_owned(),
        "--".into(),
    ]);
    assert_eq!(value["echo"]["text"], "Echo: hello firewall");
}

#[test]
fn a_session_belongs_to_the_client_that_opened_it() {
    let s = Setup::new();
    let added = s.run(&[
        "proxy",
        "add",
        "everything",
        &format!("http://127.0.0.1:{}/mcp", s.upstream_port),
        "--client",
        "other",
    ]);
    let other = added
        .split("X-MCPFW-Token: ")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    let (status, head, _) = s.post(INITIALIZE, &s.token_header());
    assert_eq!(status, 200);
    let session =
        head.lines().find_map(|l| l.strip_prefix("mcp-session-id: ")).unwrap().trim().to_owned();
    let list = r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#;
    let (status, _, _) =
        s.post(list, &format!("X-MCPFW-Token: {other}\r\nMcp-Session-Id: {session}\r\n"));
    assert_eq!(status, 404, "another client cannot use this session");
    let (status, _, body) =
        s.post(list, &format!("{}Mcp-Session-Id: {session}\r\n", s.token_header()));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"echo\""), "{body}");
}

#[test]
fn a_thousand_idle_sessions_are_bounded_and_the_proxy_keeps_serving() {
    let s = Setup::new();
    let daemon = s.pid(1);
    for _ in 0..1000 {
        let (status, _, _) = s.post(INITIALIZE, &s.token_header());
        assert_eq!(status, 200);
    }
    let rss_kib: u64 = std::fs::read_to_string(format!("/proc/{daemon}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap();
    let threads = std::fs::read_dir(format!("/proc/{daemon}/task")).unwrap().count();
    assert!(rss_kib < 400 * 1024, "the daemon holds {rss_kib} KiB after 1,000 sessions");
    assert!(threads < 400, "the daemon runs {threads} threads after 1,000 sessions");
    s.assert_a_client_is_served();
}

#[test]
fn connections_that_never_finish_their_headers_are_cut_off_and_clients_are_still_served() {
    let s = Setup::new();
    let api: Value =
        serde_json::from_str(&std::fs::read_to_string(s.home.path().join("run/api.json")).unwrap())
            .unwrap();
    let api_port: u16 = api["url"].as_str().unwrap().rsplit(':').next().unwrap().parse().unwrap();
    // Hundreds of connections that start a request and never finish its headers (a
    // "slowloris"), on both listeners.
    let started = Instant::now();
    let mut slow = Vec::new();
    for (port, n) in [(s.proxy_port, 300), (api_port, 200)] {
        for _ in 0..n {
            let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
            c.write_all(
                format!("POST /s/everything/mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n").as_bytes(),
            )
            .unwrap();
            c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            slow.push(c);
        }
    }
    // Meanwhile a real client is served by the proxy.
    s.assert_a_client_is_served();
    // Every one of them is closed by the firewall once the header deadline passes.
    for c in &mut slow {
        let mut rest = Vec::new();
        let read = c.read_to_end(&mut rest);
        assert!(read.is_ok(), "a slow connection was not closed: {read:?}");
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(20), "closing the slow connections took {took:?}");
    // And the API answers again (401: no token here, but it is served).
    let (status, _, _) = raw(
        api_port,
        format!("GET /api/v1/pending HTTP/1.1\r\nHost: 127.0.0.1:{api_port}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    );
    assert_eq!(status, 401);
}

/// Runs the `dns-rebinding-protection` scenario of `@modelcontextprotocol/conformance` (it needs
/// Node 22, installed from npm next to it) against `url`: (passed, its checks).
fn conformance(url: &str) -> (bool, Value) {
    let peers = common::repo().join("tests/peers/node_modules");
    let out_dir = tempfile::tempdir().unwrap();
    let out = Command::new(peers.join(".bin/node"))
        .arg(peers.join("@modelcontextprotocol/conformance/dist/index.js"))
        .args(["server", "--url", url, "--scenario", "dns-rebinding-protection", "-o"])
        .arg(out_dir.path())
        .output()
        .unwrap();
    let results = std::fs::read_dir(out_dir.path()).unwrap().next().expect("a results folder");
    let checks = std::fs::read_to_string(results.unwrap().path().join("checks.json")).unwrap();
    (out.status.success(), serde_json::from_str(&checks).unwrap())
}

#[test]
fn the_conformance_dns_rebinding_scenario_passes_against_the_proxy() {
    let s = Setup::new();
    let (passed, checks) =
        conformance(&format!("http://127.0.0.1:{}/t/{}/s/everything/mcp", s.proxy_port, s.token));
    assert!(passed, "{checks:#}");
    let statuses: Vec<&str> =
        checks.as_array().unwrap().iter().filter_map(|c| c["status"].as_str()).collect();
    assert_eq!(statuses, ["SUCCESS", "SUCCESS"], "{checks:#}");
    // The same server without the proxy answers a rebound page (it binds every interface and
    // checks neither Host nor Origin): the scenario can fail, and does.
    let (passed, checks) = conformance(&s.direct());
    assert!(!passed, "{checks:#}");
}

#[test]
fn the_stateless_era_goes_through_the_proxy_too() {
    let mut s = Setup::with_policy(&format!(
        "{ALLOW_ALL}\n[[rules]]\nid = \"no-booking\"\naction = \"deny\"\nserver = \"modern\"\ntool = \"book_table\"\nreason = \"no bookings today\"\n"
    ));
    s.add_modern();
    let token = format!("X-MCPFW-Token: {}", s.token);
    let route = format!("http://127.0.0.1:{}/s/modern/mcp", s.proxy_port);
    let value =
        client("echo", &["--url".into(), route, "--header".into(), token.clone(), "--".into()]);
    assert_eq!(value["protocol_version"], "2026-07-28", "{value}");
    assert_eq!(value["echo"]["text"], "Echo: hello firewall");
    let events = s.home.wait_events("the stateless call", |events| {
        events.iter().any(|e| e["server"] == "modern" && e["tool"] == "echo")
    });
    let call = events.iter().find(|e| e["server"] == "modern" && e["tool"] == "echo").unwrap();
    assert_eq!(call["era"], "stateless", "{call}");
    // A refused stateless call: the tool result says why, with the era's resultType.
    let body = r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"book_table","arguments":{"restaurant":"Chez Nous"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#;
    let (status, _, answer) = raw(
        s.proxy_port,
        format!(
            "POST /s/modern/mcp HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\n\
             Accept: application/json, text/event-stream\r\n{token}\r\nMcp-Method: tools/call\r\nMcp-Name: book_table\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            s.proxy_port,
            body.len()
        )
        .as_bytes(),
    );
    assert_eq!(status, 200, "{answer}");
    let answer: Value = serde_json::from_str(answer.trim()).unwrap();
    assert_eq!(answer["result"]["isError"], true, "{answer}");
    assert_eq!(answer["result"]["resultType"], "complete", "{answer}");
    assert!(answer["result"]["content"][0]["text"].as_str().unwrap().contains("no bookings today"));
}

/// `mcpfw pending --json` of this setup.
fn pending(s: &Setup) -> Vec<Value> {
    s.run(&["pending", "--json"]).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn wait_pending(s: &Setup, n: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let now = pending(s);
        if now.len() == n {
            return now;
        }
        assert!(Instant::now() < deadline, "expected {n} pending, have {now:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Opens a session through the proxy; returns the extra header lines for later requests.
fn open_session(s: &Setup) -> String {
    open_session_with(s, INITIALIZE)
}

/// Opens a session with this `initialize` request.
fn open_session_with(s: &Setup, initialize: &str) -> String {
    let (status, head, _) = s.post(initialize, &s.token_header());
    assert_eq!(status, 200, "{head}");
    let session =
        head.lines().find_map(|l| l.strip_prefix("mcp-session-id: ")).unwrap().trim().to_owned();
    let extra = format!(
        "{}Mcp-Session-Id: {session}\r\nMCP-Protocol-Version: 2025-11-25\r\n",
        s.token_header()
    );
    let (status, _, _) =
        s.post(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, &extra);
    assert_eq!(status, 202);
    extra
}

const ASK_ECHO: &str = "\n[[rules]]\nid = \"ask-echo\"\naction = \"ask\"\nserver = \"everything\"\ntool = \"echo\"\nreason = \"echo needs a yes\"\n";

#[test]
fn a_call_that_asks_streams_progress_until_a_person_approves_it() {
    use std::io::BufRead;
    let s = Setup::with_policy(&format!("{ALLOW_ALL}{ASK_ECHO}"));
    let extra = open_session(&s);
    let body = r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","arguments":{"message":"approved"},"_meta":{"progressToken":"p5"}}}"#;
    let mut stream = TcpStream::connect(("127.0.0.1", s.proxy_port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        stream,
        "POST /s/everything/mcp HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        s.proxy_port,
        body.len()
    )
    .unwrap();
    let mut reader = std::io::BufReader::new(stream);
    let mut lines = Vec::new();
    let mut line = String::new();
    // Progress arrives while the call waits (one every 5 s).
    while !lines.iter().any(|l: &String| l.contains("notifications/progress")) {
        line.clear();
        assert!(reader.read_line(&mut line).unwrap() > 0, "the stream ended early: {lines:?}");
        lines.push(line.clone());
    }
    assert!(lines[0].contains("200"), "{lines:?}");
    assert!(
        lines.iter().any(|l| l.to_ascii_lowercase().contains("text/event-stream")),
        "{lines:?}"
    );
    assert!(lines.iter().any(|l| l.contains("\"progressToken\":\"p5\"")), "{lines:?}");
    let waiting = wait_pending(&s, 1);
    let id = waiting[0]["id"].to_string();
    s.run(&["approve", &id]);
    let mut rest = String::new();
    let _ = reader.read_to_string(&mut rest);
    assert!(rest.contains("Echo: approved"), "{rest}");
    assert!(rest.contains("\"id\":5"), "{rest}");
}

#[test]
fn a_client_that_goes_away_withdraws_its_waiting_call() {
    let s = Setup::with_policy(&format!("{ALLOW_ALL}{ASK_ECHO}"));
    let extra = open_session(&s);
    for accept in ["application/json, text/event-stream", "application/json"] {
        let body = r#"{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"echo","arguments":{"message":"never"},"_meta":{"progressToken":6}}}"#;
        let mut stream = TcpStream::connect(("127.0.0.1", s.proxy_port)).unwrap();
        write!(
            stream,
            "POST /s/everything/mcp HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\n\
             Accept: {accept}\r\n{extra}Content-Length: {}\r\n\r\n{body}",
            s.proxy_port,
            body.len()
        )
        .unwrap();
        wait_pending(&s, 1);
        drop(stream);
        // Withdrawn within a few seconds (the next progress tick notices at the latest).
        wait_pending(&s, 0);
    }
    let events = s.home.wait_events("the withdrawals", |events| {
        events.iter().filter(|e| e["tool"] == "echo" && e["decided_by"] == "user").count() >= 2
    });
    assert!(!events.iter().any(|e| e["tool"] == "echo" && e["direction"] == "server_to_client"));
}

#[test]
fn an_older_server_of_the_legacy_sse_transport_is_served_too() {
    let mut s = Setup::with_policy(&format!(
        "{ALLOW_ALL}\n[[rules]]\nid = \"no-echo\"\naction = \"deny\"\nserver = \"old-denied\"\ntool = \"echo\"\nreason = \"not from this one\"\n"
    ));
    let upstream = s.start_legacy();
    s.run(&["proxy", "add", "old", &upstream, "--sse", "--client", "test"]);
    s.run(&["proxy", "add", "old-denied", &upstream, "--sse", "--client", "test"]);
    let token = format!("X-MCPFW-Token: {}", s.token);
    let route = |name: &str| format!("http://127.0.0.1:{}/s/{name}/sse", s.proxy_port);
    for mode in ["legacy", "auto"] {
        let direct = client(
            "echo",
            &["--mode".into(), mode.into(), "--sse".into(), upstream.clone(), "--".into()],
        );
        let proxied = client(
            "echo",
            &[
                "--mode".into(),
                mode.into(),
                "--sse".into(),
                route("old"),
                "--header".into(),
                token.clone(),
                "--".into(),
            ],
        );
        assert_eq!(proxied, direct, "{mode}");
    }
    let events = s.home.wait_events("the legacy calls", |events| {
        events
            .iter()
            .filter(|e| e["server"] == "old" && e["tool"] == "echo" && e["kind"] == "request")
            .count()
            >= 2
    });
    assert!(events.iter().any(|e| e["server"] == "old" && e["era"] == "handshake"));
    // A refusal travels on the event stream, where this transport carries answers.
    let refused = client(
        "echo",
        &["--sse".into(), route("old-denied"), "--header".into(), token.clone(), "--".into()],
    );
    assert_eq!(refused["echo"]["is_error"], true, "{refused}");
    assert!(refused["echo"]["text"].as_str().unwrap().contains("not from this one"), "{refused}");
    // Without a token, or with a session that is not ours, nothing is posted.
    let (status, _, _) = s.raw(&format!(
        "GET /s/old/sse HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
        s.proxy_port
    ));
    assert_eq!(status, 401);
    let (status, _, _) = s.raw(&format!(
        "POST /s/old/messages?session=made-up HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: application/json\r\n{}Content-Length: 2\r\nConnection: close\r\n\r\n{{}}",
        s.proxy_port,
        s.token_header()
    ));
    assert_eq!(status, 404);
}

#[test]
fn a_legacy_sse_call_that_asks_waits_for_a_person_and_gets_their_answer() {
    let mut s = Setup::with_policy(
        "[[rules]]\nid = \"ask-echo\"\naction = \"ask\"\nserver = \"old\"\ntool = \"echo\"\nreason = \"echoes are checked\"\n",
    );
    let upstream = s.start_legacy();
    s.run(&["proxy", "add", "old", &upstream, "--sse", "--client", "test"]);
    let args = vec![
        "--sse".to_owned(),
        format!("http://127.0.0.1:{}/s/old/sse", s.proxy_port),
        "--header".into(),
        format!("X-MCPFW-Token: {}", s.token),
        "--".into(),
    ];
    for approve in [true, false] {
        let call = {
            let args = args.clone();
            std::thread::spawn(move || client("echo", &args))
        };
        let waiting = wait_pending(&s, 1);
        assert_eq!(waiting[0]["request"]["server"], "old");
        assert_eq!(waiting[0]["request"]["tool"], "echo");
        assert!(!call.is_finished(), "the call did not wait for a person");
        let id = waiting[0]["id"].to_string();
        s.run(&if approve { vec!["approve", &id] } else { vec!["deny", &id] });
        let answer = call.join().unwrap();
        if approve {
            assert_eq!(answer["echo"]["is_error"], false, "{answer}");
        } else {
            assert_eq!(answer["echo"]["is_error"], true, "{answer}");
            let text = answer["echo"]["text"].as_str().unwrap();
            assert!(text.contains("you refused this call"), "{answer}");
        }
    }
}

/// A server's request for input that the firewall declines is answered over HTTP too: the
/// server hears `decline` at once (its tool says so), and the client never sees the link.
#[test]
fn a_declined_request_for_input_is_answered_to_the_http_server() {
    let s =
        Setup::with_policy(&format!("[egress]\nallow_hosts = [\"evil.example\"]\n\n{ALLOW_ALL}"));
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{"elicitation":{"form":{},"url":{}}},"clientInfo":{"name":"t","version":"1"}}}"#;
    let extra = open_session_with(&s, init);
    let call = r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"trigger-url-elicitation","arguments":{"url":"https://accounts.google.com@evil.example/login"}}}"#;
    let started = Instant::now();
    let (status, _, body) = s.post(call, &extra);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("User declined to open the URL"), "{body}");
    assert!(!body.contains("elicitation/create"), "the request reached the client: {body}");
    assert!(started.elapsed() < Duration::from_secs(10), "the server waited for its timeout");
    let events = s.home.wait_events("the refusal", |e| {
        e.iter().any(|e| e["method"] == "elicitation/create" && e["verdict"] == "deny")
    });
    assert!(
        events
            .iter()
            .any(|e| e["reason"].as_str().is_some_and(|r| r.contains("hides where it goes")))
    );
}
