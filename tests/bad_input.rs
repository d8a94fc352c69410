//! Bad input from either side gets a clear JSON-RPC error, is never forwarded, and the
//! connection survives. Allowed traffic passes byte-exact, whatever its formatting.

mod common;

use std::time::Duration;

use common::{Home, Shim, everything, python, support, tool_text};
use serde_json::{Value, json};

/// `mcpfw wrap <args> -- tap.py --log DIR -- server`: the tap records what reaches the server.
fn shim_with_tap(
    home: &Home,
    wrap_args: &[&str],
    server: Vec<String>,
) -> (Shim, tempfile::TempDir) {
    let taps = tempfile::tempdir().unwrap();
    let mut cmd = vec![
        python().display().to_string(),
        support("tap.py").display().to_string(),
        "--log".into(),
        taps.path().display().to_string(),
        "--".into(),
    ];
    cmd.extend(server);
    (Shim::start(home, wrap_args, &cmd), taps)
}

fn reached_server(taps: &tempfile::TempDir) -> Vec<u8> {
    std::fs::read(taps.path().join("c2s.bin")).unwrap_or_default()
}

/// Every byte the server wrote to its stdout (the tap logs a chunk before it forwards it, so
/// whatever the client has received is already here).
fn server_sent(taps: &tempfile::TempDir) -> Vec<u8> {
    std::fs::read(taps.path().join("s2c.bin")).unwrap_or_default()
}

/// The fault server (`tests/support/fault_server.py`): it writes JSON with Python's spacing and
/// `\u` escapes, which any re-serialisation on the way would change.
fn fault_server() -> Vec<String> {
    vec![python().display().to_string(), support("fault_server.py").display().to_string()]
}

/// The raw line (with its newline) that answers this id, as the client received it.
fn raw_response(shim: &mut Shim, id: &Value) -> Vec<u8> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while let Some(left) = deadline.checked_duration_since(std::time::Instant::now()) {
        let Some(line) = shim.recv_raw(left) else { break };
        let v: Value = serde_json::from_slice(&line).unwrap();
        let answers = match &v {
            Value::Array(members) => members.iter().any(|m| m.get("id") == Some(id)),
            _ => v.get("id") == Some(id) && v.get("method").is_none(),
        };
        if answers {
            return line;
        }
    }
    panic!("no response with id {id} reached the client; stderr: {}", shim.stderr_text());
}

/// The line the client received is, byte for byte, a whole line the server wrote.
fn assert_server_line(taps: &tempfile::TempDir, received: &[u8]) {
    let sent = server_sent(taps);
    let whole_line = sent.split_inclusive(|&b| b == b'\n').any(|line| line == received);
    assert!(
        whole_line,
        "the client received a line the server never wrote:\n{}\nthe server wrote:\n{}",
        String::from_utf8_lossy(received),
        String::from_utf8_lossy(&sent)
    );
}

/// The next line that is not the server's own notification or request.
fn next_answer(shim: &mut Shim) -> Value {
    loop {
        let line = shim.recv_raw(Duration::from_secs(10)).expect("an answer");
        let v: Value = serde_json::from_slice(&line).unwrap();
        if v.get("method").is_none() {
            return v;
        }
    }
}

/// Waits until the server has received bytes ending with `tail`.
fn wait_reached(taps: &tempfile::TempDir, tail: &[u8]) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !reached_server(taps).ends_with(tail) {
        assert!(
            std::time::Instant::now() < deadline,
            "the server never received {:?}\nit got: {}",
            String::from_utf8_lossy(tail),
            String::from_utf8_lossy(&reached_server(taps))
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn error_of(response: &Value) -> (i64, String) {
    let error = &response["error"];
    (
        error["code"].as_i64().unwrap_or_else(|| panic!("not an error: {response}")),
        error["message"].as_str().unwrap().to_owned(),
    )
}

#[test]
fn each_malformed_client_message_gets_its_error_and_is_not_forwarded() {
    let home = Home::permissive();
    let (mut shim, taps) = shim_with_tap(&home, &["--max-message-bytes", "262144"], everything());
    shim.initialize();

    let deep = format!(
        r#"{{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{{"name":"echo","arguments":{{"message":{}1{}}}}}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let big = format!(
        r#"{{"method":"tools/call","params":{{"name":"echo","arguments":{{"message":"{}"}}}},"jsonrpc":"2.0","id":10}}"#,
        "a".repeat(300_000)
    );
    let cases: Vec<(Vec<u8>, i64, Value, &str)> = vec![
        (b"{not json".to_vec(), -32700, Value::Null, "not valid JSON"),
        (b"42".to_vec(), -32600, Value::Null, "must be an object"),
        (b"[]".to_vec(), -32600, Value::Null, "empty batch"),
        (
            b"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"message\":\"\xff\"}}}".to_vec(),
            -32700,
            json!(7),
            "not valid UTF-8",
        ),
        (br#"{"id":8,"method":"tools/list"}"#.to_vec(), -32600, json!(8), "\"jsonrpc\" must be \"2.0\""),
        (br#"{"jsonrpc":"2.0","id":"x","id":"y","method":"tools/list"}"#.to_vec(), -32600, Value::Null, "duplicate field"),
        (deep.into_bytes(), -32600, json!(9), "nests deeper"),
        (big.into_bytes(), -32600, json!(10), "--max-message-bytes"),
    ];
    for (line, code, id, needle) in &cases {
        let mut framed = line.clone();
        framed.push(b'\n');
        shim.send_raw(&framed);
        let answer = next_answer(&mut shim);
        let (got_code, message) = error_of(&answer);
        let shown = String::from_utf8_lossy(&line[..line.len().min(60)]).into_owned();
        assert_eq!(got_code, *code, "code for {shown}: {answer}");
        assert_eq!(answer["id"], *id, "id for {shown}");
        assert!(message.contains(needle), "message for {shown}: {message}");
    }
    // The connection survives, and the server saw none of the bad lines.
    let echo = shim.call_tool(11, "echo", json!({"message": "still here"}));
    assert_eq!(tool_text(&echo), "Echo: still here");
    let seen = String::from_utf8_lossy(&reached_server(&taps)).into_owned();
    assert_eq!(
        seen.lines().count(),
        3,
        "only initialize, initialized and the echo reach the server:\n{seen}"
    );
    let events = home.wait_events("refusals", |e| {
        e.iter().filter(|e| e["verdict"] == "reject").count() == cases.len()
    });
    assert!(
        events
            .iter()
            .filter(|e| e["verdict"] == "reject")
            .all(|e| e["direction"] == "client_to_server")
    );
}

#[test]
fn allowed_messages_pass_byte_exact_in_both_directions() {
    // Unusual but valid formatting: spaces, key order, escapes, non-ASCII, CRLF.
    let odd: &[u8] = "{ \"params\" : { \"arguments\" : { \"message\" : \"caf\\u00e9 ☕ \\\"q\\\" \\/ \" } , \"name\" : \"echo\" } , \"id\" : \"odd-1\" , \"method\" : \"tools\\/call\" , \"jsonrpc\" : \"2.0\" }\r\n".as_bytes();

    // A real server: client → server, the odd line reaches it as sent; server → client, its
    // answer reaches the client as the server wrote it.
    let home = Home::permissive();
    let (mut shim, taps) = shim_with_tap(&home, &[], everything());
    shim.initialize();
    shim.send_raw(odd);
    let received = raw_response(&mut shim, &json!("odd-1"));
    let reply: Value = serde_json::from_slice(&received).unwrap();
    assert_eq!(tool_text(&reply), "Echo: café ☕ \"q\" / ");
    assert_server_line(&taps, &received);
    wait_reached(&taps, odd);

    // A server with odd formatting of its own (a space after every separator, `\u` escapes):
    // server → client keeps every byte of it too.
    let home = Home::permissive();
    let (mut shim, taps) = shim_with_tap(&home, &[], fault_server());
    shim.initialize();
    shim.send_raw(odd);
    let received = raw_response(&mut shim, &json!("odd-1"));
    let text = String::from_utf8_lossy(&received).into_owned();
    assert!(
        text.starts_with(r#"{"jsonrpc": "2.0", "id": "odd-1", "result": {"#)
            && text.contains(r"caf\\u00e9 \\u2615"),
        "the client received the fault server's answer with its spacing and escapes: {text}"
    );
    assert_server_line(&taps, &received);
    wait_reached(&taps, odd);
}

#[test]
fn batches_are_relayed_whole_and_byte_exact() {
    let home = Home::permissive();
    let (mut shim, taps) = shim_with_tap(&home, &[], everything());
    shim.initialize();
    let batch = b"[{\"jsonrpc\":\"2.0\",\"id\":20,\"method\":\"ping\"}, {\"jsonrpc\":\"2.0\",\"method\":\"notifications/roots/list_changed\"}]\n";
    shim.send_raw(batch);
    // Whatever the 2025-11-25 server makes of a batch (this one answers nothing), the firewall
    // relayed it unchanged and recorded each member.
    wait_reached(&taps, batch);
    let events = home.wait_events("batch members", |e| {
        e.iter().any(|e| e["id"] == "20" && e["method"] == "ping")
    });
    assert!(events.iter().any(|e| e["method"] == "notifications/roots/list_changed"));

    // A server that answers the batch with a batch: the answer reaches the client whole and
    // byte-exact (Python's spacing kept), and is recorded as the answer to the ping.
    let home = Home::permissive();
    let (mut shim, taps) = shim_with_tap(&home, &[], fault_server());
    shim.initialize();
    shim.send_raw(batch);
    wait_reached(&taps, batch);
    let received = raw_response(&mut shim, &json!(20));
    assert_eq!(
        String::from_utf8_lossy(&received),
        "[{\"jsonrpc\": \"2.0\", \"id\": 20, \"result\": {}}]\n"
    );
    assert_server_line(&taps, &received);
    home.wait_events("the batch's answer", |e| {
        e.iter().any(|e| {
            e["id"] == "20" && e["direction"] == "server_to_client" && e["method"] == "ping"
        })
    });
}

#[test]
fn malformed_and_oversized_server_output_never_reaches_the_client() {
    let home = Home::permissive();
    let server =
        vec![python().display().to_string(), support("fault_server.py").display().to_string()];
    let mut shim = Shim::start(&home, &[], &server);
    shim.initialize();
    // A log line on stdout is dropped; the valid result after it arrives.
    let reply = shim.call_tool(1, "garbage", json!({}));
    assert_eq!(tool_text(&reply), "after garbage");
    // A response that is not UTF-8 is replaced by an error for the request it answers.
    let reply = shim.call_tool(2, "bad-utf8", json!({}));
    let (code, message) = error_of(&reply);
    assert_eq!(code, -32002);
    assert!(message.contains("could not pass on the server's response"), "{message}");
    let events = home.wait_events("the dropped log line and the refused response", |e| {
        e.iter().any(|e| e["verdict"] == "drop")
            && e.iter().any(|e| {
                e["verdict"] == "reject" && e["direction"] == "server_to_client" && e["id"] == "2"
            })
    });
    assert!(events.iter().all(|e| e["direction"] == "client_to_server"
        || e["verdict"] != "allow"
        || e["kind"] != "invalid"));

    // A real server's result over the limit: the client gets an error for that id, not a hang.
    let home = Home::permissive();
    let mut shim = Shim::start(&home, &["--max-message-bytes", "2048"], &everything());
    shim.initialize();
    let reply = shim.call_tool(5, "get-tiny-image", json!({}));
    let (code, message) = error_of(&reply);
    assert_eq!(code, -32002, "{reply}");
    assert!(message.contains("exceeds MCP Firewall's limit of 2048 bytes"), "{message}");
    let echo = shim.call_tool(6, "echo", json!({"message": "next"}));
    assert_eq!(tool_text(&echo), "Echo: next");
}
