//! Requests for input from a server, through `mcpfw wrap`, with the real reference server
//! (`server-everything`'s `trigger-url-elicitation` and `trigger-elicitation-request`): a link
//! that hides its site is declined without asking, every link is shown in MCP Firewall's window
//! first (with what it really opens), a plain form passes — and each is in the history.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{Background, Home, Shim, everything, mcpfw, socket_daemon};
use serde_json::{Value, json};

/// The links are arguments of the demonstration tool, so their hosts are allowed destinations:
/// what is tested is the server's request for input, not the call.
const RULES: &str = "[egress]\nallow_hosts = [\"accounts.example.com\", \"xn--pypal-4ve.com\", \"evil.example\"]\n\n[[rules]]\nid = \"demo-tools\"\ntool = \"trigger-*\"\naction = \"allow\"\nreason = \"the reference server's demonstration tools\"\n";

struct Setup {
    home: Home,
    /// Stopped when the setup is dropped.
    _daemon: Option<Background>,
}

impl Setup {
    /// Without an approval daemon: asks follow `unattended = "allow"`.
    fn unattended() -> Self {
        let home = Home::new();
        home.policy(&format!("[settings]\ninfer_roots = false\nunattended = \"allow\"\n\n{RULES}"));
        Self { home, _daemon: None }
    }

    /// With an approval daemon, as a person at the desktop.
    fn attended() -> Self {
        let home = Home::new();
        home.policy(&format!("[settings]\ninfer_roots = false\n\n{RULES}"));
        let daemon = socket_daemon(&home);
        Self { home, _daemon: Some(daemon) }
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::new(mcpfw());
        cmd.env("MCPFW_HOME", self.home.path()).env("MCPFW_KEYRING", "off");
        cmd
    }

    /// The reference server, wrapped, after a handshake that offers forms and links.
    fn everything(&self) -> Shim {
        let mut cmd = self.cmd();
        cmd.args(["wrap", "--name", "everything", "--"]).args(everything());
        let mut shim = Shim::spawn_raw(cmd);
        shim.request(
            0,
            "initialize",
            json!({"protocolVersion": "2025-11-25",
                   "capabilities": {"elicitation": {"form": {}, "url": {}}},
                   "clientInfo": {"name": "mcpfw-tests", "version": "1"}}),
        );
        shim.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        shim
    }

    fn wait_pending(&self) -> Value {
        let mut pending = self.home.wait_pending(Duration::from_secs(20), |p| !p.is_empty());
        pending.pop().expect("a pending call")
    }

    fn run(&self, args: &[&str]) {
        let out = self.cmd().args(args).output().unwrap();
        assert!(out.status.success(), "mcpfw {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// Reads the shim's output until the response to `id`: the server's requests that reached the
/// client on the way (answered with `answer`), and the response.
fn until_response(shim: &mut Shim, id: i64, answer: &Value) -> (Vec<Value>, Value) {
    let mut asked = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let Some(line) = shim.recv_raw(left) else { break };
        let v: Value = serde_json::from_slice(&line).unwrap();
        if v["method"] == "elicitation/create" {
            shim.send(&json!({"jsonrpc": "2.0", "id": v["id"], "result": answer}));
            asked.push(v);
        } else if v["id"] == json!(id) && v.get("method").is_none() {
            return (asked, v);
        }
    }
    panic!("no response to {id}; stderr: {}", shim.stderr_text());
}

fn text(response: &Value) -> String {
    response["result"]["content"][0]["text"].as_str().unwrap_or_default().to_owned()
}

fn call(shim: &mut Shim, id: i64, tool: &str, arguments: Value) {
    shim.send(&json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                      "params": {"name": tool, "arguments": arguments}}));
}

#[test]
fn a_link_that_hides_its_site_is_declined_without_asking() {
    let s = Setup::unattended();
    let mut shim = s.everything();
    call(
        &mut shim,
        1,
        "trigger-url-elicitation",
        json!({"url": "https://accounts.google.com@evil.example/login", "message": "Sign in to Google again"}),
    );
    let (asked, response) = until_response(&mut shim, 1, &json!({"action": "accept"}));
    assert!(asked.is_empty(), "the link reached the client: {asked:?}");
    assert!(text(&response).contains("declined"), "{response}");
    let events = s.home.wait_events("the refusal", |e| {
        e.iter().any(|e| e["method"] == "elicitation/create" && e["verdict"] == "deny")
    });
    let refused = events.iter().find(|e| e["method"] == "elicitation/create").unwrap();
    let reason = refused["reason"].as_str().unwrap();
    assert!(reason.contains("hides where it goes"), "{reason}");
    assert!(reason.contains("`evil.example`"), "{reason}");
}

#[test]
fn a_plain_form_reaches_the_client_and_is_recorded() {
    let s = Setup::unattended();
    let mut shim = s.everything();
    call(&mut shim, 1, "trigger-elicitation-request", json!({}));
    let answer = json!({"action": "accept", "content": {"name": "Ada", "check": true, "email": "ada@example.com"}});
    let (asked, response) = until_response(&mut shim, 1, &answer);
    assert_eq!(asked.len(), 1, "{response}");
    assert!(response.get("result").is_some(), "{response}");
    let events = s.home.wait_events("the form", |e| {
        e.iter().any(|e| e["method"] == "elicitation/create" && e["kind"] == "request")
    });
    let form = events
        .iter()
        .find(|e| e["method"] == "elicitation/create" && e["kind"] == "request")
        .unwrap();
    assert_eq!(form["verdict"], "allow");
    let reason = form["reason"].as_str().unwrap();
    assert!(reason.starts_with("everything asks you for "), "{reason}");
    assert!(reason.contains("email"), "{reason}");
}

#[test]
fn links_are_shown_in_the_firewall_window_first() {
    let s = Setup::attended();
    let mut shim = s.everything();

    // A plain link: shown with the site it opens; approved, it reaches the client.
    call(
        &mut shim,
        1,
        "trigger-url-elicitation",
        json!({"url": "https://accounts.example.com/verify"}),
    );
    let pending = s.wait_pending();
    let request = &pending["request"];
    assert_eq!(request["category"], "input", "{pending}");
    assert_eq!(request["server"], "everything");
    let preview: Vec<&str> =
        request["preview"].as_array().unwrap().iter().map(|l| l.as_str().unwrap()).collect();
    assert!(preview.contains(&"It opens a page of: example.com"), "{preview:?}");
    assert!(preview.contains(&"Check: nothing doubtful found in the link"), "{preview:?}");
    s.run(&["approve", &pending["id"].to_string()]);
    let (asked, response) = until_response(&mut shim, 1, &json!({"action": "accept"}));
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0]["params"]["url"], "https://accounts.example.com/verify");
    assert!(text(&response).contains("completed"), "{response}");

    // A look-alike name over plain http: shown with its doubts; denied, the server hears
    // `decline` and the client never sees the link.
    call(&mut shim, 2, "trigger-url-elicitation", json!({"url": "http://xn--pypal-4ve.com/login"}));
    let pending = s.wait_pending();
    let preview = pending["request"]["preview"].to_string();
    assert!(preview.contains("not encrypted"), "{preview}");
    assert!(preview.contains("outside the Latin alphabet"), "{preview}");
    s.run(&["deny", &pending["id"].to_string()]);
    let (asked, response) = until_response(&mut shim, 2, &json!({"action": "accept"}));
    assert!(asked.is_empty(), "{asked:?}");
    assert!(text(&response).contains("declined"), "{response}");
}

/// The other way a server sends the person to a link: a `-32042` error ("URL elicitation
/// required") naming links for the client to open (the reference server names its own site).
/// It is shown in MCP Firewall's window first; declined, the client's call is refused with the
/// reason and the link never reaches the client.
#[test]
fn a_link_in_a_url_elicitation_required_error_is_shown_first_too() {
    let s = Setup::attended();
    let mut shim = s.everything();
    call(
        &mut shim,
        1,
        "trigger-url-elicitation",
        json!({"url": "https://accounts.example.com/verify", "errorPath": true}),
    );
    let pending = s.wait_pending();
    let preview = pending["request"]["preview"].to_string();
    assert!(preview.contains("It opens a page of: modelcontextprotocol.io"), "{pending}");
    s.run(&["deny", &pending["id"].to_string()]);
    let (asked, response) = until_response(&mut shim, 1, &json!({"action": "accept"}));
    assert!(asked.is_empty(), "{asked:?}");
    assert!(response.get("error").is_none(), "the server's error reached the client: {response}");
    assert_eq!(response["result"]["isError"], true, "{response}");
    assert!(
        text(&response).contains("everything asks you to open modelcontextprotocol.io"),
        "{response}"
    );
    assert!(!response.to_string().contains("https://modelcontextprotocol.io"), "{response}");
}
