//! OpenTelemetry export end to end: real calls through `mcpfw wrap` in front of the real
//! `server-everything`, exported over OTLP/HTTP to a real receiver that decodes the protobuf
//! with the `opentelemetry-proto` package (tests/support/otlp_receiver.py): the MCP spans, the
//! `apply_guardrail` decisions and one log record per recorded event. And a collector that
//! never answers: calls go on at full speed and the shim says how many events it lost.
// Unix suite: it uses Unix sockets, signals, file modes or symlinks directly (docs/platforms.md).
#![cfg(unix)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{
    Background, Home, Shim, everything, free_port, mcpfw, npm_server, python, support,
    wait_listening,
};
use serde_json::{Value, json};

/// The receiver, listening; killed when dropped.
struct Receiver {
    child: Child,
    port: u16,
    out: tempfile::TempDir,
}

impl Receiver {
    fn start() -> Self {
        Self::start_with(&[])
    }

    fn start_with(flags: &[&str]) -> Self {
        let out = tempfile::tempdir().unwrap();
        let mut child = Command::new(python())
            .arg(support("otlp_receiver.py"))
            .arg(out.path())
            .args(flags)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start otlp_receiver.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line
            .trim()
            .strip_prefix("LISTENING ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the receiver did not start: {line:?}"));
        Self { child, port, out }
    }

    fn read(&self, file: &str) -> Vec<Value> {
        let errors = self.out.path().join("errors.txt");
        assert!(
            !errors.exists(),
            "the receiver could not decode: {}",
            std::fs::read_to_string(&errors).unwrap()
        );
        read_lines(&self.out.path().join(file))
    }

    /// Waits until a data point of metric `name` whose attributes include `attributes` arrived,
    /// and returns the latest such point (cumulative: the latest holds the totals).
    fn metric(&self, name: &str, attributes: &Value) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let points = self.read("metrics.jsonl");
            let matching = points.iter().rev().find(|p| {
                p["name"] == name
                    && attributes.as_object().unwrap().iter().all(|(k, v)| &p["attributes"][k] == v)
            });
            if let Some(point) = matching {
                return point.clone();
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for metric {name} with {attributes}:
{points:#?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until `pred` holds for the spans and logs received.
    fn wait(
        &self,
        what: &str,
        pred: impl Fn(&[Value], &[Value]) -> bool,
    ) -> (Vec<Value>, Vec<Value>) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (spans, logs) = (self.read("spans.jsonl"), self.read("logs.jsonl"));
            if pred(&spans, &logs) {
                return (spans, logs);
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}:\nspans {spans:#?}\nlogs {logs:#?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn read_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// `mcpfw wrap` around server-everything with this environment (no `OTEL_*` from the test's
/// own environment).
fn shim(home: &Home, env: &[(&str, String)]) -> Shim {
    let mut cmd = Command::new(mcpfw());
    cmd.args(["wrap", "--name", "everything", "--"]).args(everything());
    for (key, _) in std::env::vars() {
        if key.starts_with("OTEL_") {
            cmd.env_remove(key);
        }
    }
    for (key, value) in env {
        cmd.env(key, value);
    }
    let mut shim = Shim::spawn(cmd, home);
    shim.initialize();
    shim
}

fn attr<'a>(item: &'a Value, key: &str) -> &'a Value {
    &item["attributes"][key]
}

fn named<'a>(spans: &'a [Value], name: &str) -> Vec<&'a Value> {
    spans.iter().filter(|s| s["name"] == name).collect()
}

/// The guardrail span under `parent`.
fn guardrail<'a>(spans: &'a [Value], parent: &Value) -> &'a Value {
    spans
        .iter()
        .find(|s| s["name"] == "apply_guardrail mcpfw" && s["parent_span_id"] == parent["span_id"])
        .unwrap_or_else(|| panic!("no guardrail span under {parent:#}\n{spans:#?}"))
}

const POLICY: &str = r#"
[settings]
unattended = "deny"

[[rules]]
id = "echo-is-fine"
tool = "echo"
action = "allow"

[[rules]]
id = "no-sums"
tool = "get-sum"
action = "deny"
reason = "sums are done by hand here"
"#;

#[test]
fn calls_through_the_shim_reach_a_real_collector_as_mcp_spans_guardrails_and_logs() {
    let receiver = Receiver::start();
    let home = Home::new();
    home.policy(&format!(
        "{POLICY}\n[telemetry]\nendpoint = \"http://127.0.0.1:{}\"\ninclude_content = true\n",
        receiver.port
    ));
    let mut shim =
        shim(&home, &[("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=test".to_owned())]);
    let listed = shim.request(1, "tools/list", json!({}));
    assert!(listed["result"]["tools"].as_array().is_some_and(|t| !t.is_empty()), "{listed}");
    let allowed = shim.call_tool(2, "echo", json!({"message": "hello collector"}));
    assert!(allowed.get("result").is_some(), "echo was not allowed: {allowed}");
    // Refused by a rule; the arguments carry a secret, which must reach the collector
    // redacted even though content is included.
    let secret = "AKIAIOSFODNN7EXAMPLE";
    let refused = shim.call_tool(3, "get-sum", json!({"a": 1, "b": 2, "note": secret}));
    assert_eq!(refused["result"]["isError"], true, "{refused}");
    shim.close_stdin();
    assert!(shim.wait_exit(Duration::from_secs(15)).is_some(), "the shim did not exit");
    let recorded = home.events();

    let (spans, logs) = receiver.wait("the session's spans and one log per event", |s, l| {
        !named(s, "tools/call echo").is_empty()
            && !named(s, "tools/call get-sum").is_empty()
            && l.len() >= recorded.len()
    });

    // Every span comes from MCP Firewall's resource, with the environment's attributes.
    for span in &spans {
        assert_eq!(span["resource"]["service.name"], "mcpfw", "{span:#}");
        assert_eq!(span["resource"]["deployment.environment.name"], "test", "{span:#}");
    }

    // The allowed call: the MCP conventions, and an allow decision under it.
    let echo = named(&spans, "tools/call echo");
    assert_eq!(echo.len(), 1, "{spans:#?}");
    let echo = echo[0];
    assert_eq!(attr(echo, "mcp.method.name"), "tools/call");
    assert_eq!(attr(echo, "gen_ai.tool.name"), "echo");
    assert_eq!(attr(echo, "gen_ai.operation.name"), "execute_tool");
    assert_eq!(attr(echo, "jsonrpc.request.id"), "2");
    assert_eq!(attr(echo, "mcp.protocol.version"), "2025-11-25");
    assert_eq!(attr(echo, "network.transport"), "pipe");
    assert!(attr(echo, "mcp.session.id").as_str().is_some_and(|s| !s.is_empty()), "{echo:#}");
    assert!(attr(echo, "error.type").is_null(), "{echo:#}");
    assert_eq!(echo["kind"], 2, "a SERVER span: the firewall answers the client"); // SPAN_KIND_SERVER
    assert!(echo["end_ns"].as_u64() >= echo["start_ns"].as_u64(), "{echo:#}");
    assert!(
        attr(echo, "gen_ai.tool.call.arguments")
            .as_str()
            .is_some_and(|a| a.contains("hello collector")),
        "content is included when asked for: {echo:#}"
    );
    let allow = guardrail(&spans, echo);
    assert_eq!(allow["trace_id"], echo["trace_id"]);
    assert_eq!(attr(allow, "gen_ai.operation.name"), "apply_guardrail");
    assert_eq!(attr(allow, "gen_ai.security.decision.type"), "allow");
    assert_eq!(attr(allow, "gen_ai.security.target.type"), "tool_call");
    assert_eq!(attr(allow, "gen_ai.security.policy.id"), "rule:file:echo-is-fine");
    let digest = recorded
        .iter()
        .find(|e| e["tool"] == "echo" && e["kind"] == "request")
        .and_then(|e| e["args_digest"].as_str())
        .expect("the echo call is in the history with its digest");
    assert_eq!(
        attr(allow, "gen_ai.security.content.input.hash"),
        format!("sha256:{digest}").as_str()
    );

    // The refused call: the error the client got (a tool result with `isError`), and a deny
    // decision naming the rule.
    let sum = named(&spans, "tools/call get-sum");
    assert_eq!(sum.len(), 1, "{spans:#?}");
    let sum = sum[0];
    assert_eq!(attr(sum, "error.type"), "tool_error");
    assert_eq!(sum["status"]["code"], 2, "an error status: {sum:#}"); // STATUS_CODE_ERROR
    let deny = guardrail(&spans, sum);
    assert_eq!(attr(deny, "gen_ai.security.decision.type"), "deny");
    assert_eq!(attr(deny, "gen_ai.security.target.type"), "tool_call");
    assert_eq!(attr(deny, "gen_ai.security.policy.id"), "rule:file:no-sums");
    assert!(
        attr(deny, "gen_ai.security.decision.reason")
            .as_str()
            .is_some_and(|r| r.contains("sums are done by hand here")),
        "{deny:#}"
    );
    let exported = serde_json::to_string(&spans).unwrap() + &serde_json::to_string(&logs).unwrap();
    assert!(!exported.contains(secret), "a secret reached the collector");
    assert!(
        attr(deny, "gen_ai.security.content.input.value")
            .as_str()
            .is_some_and(|v| v.contains("[REDACTED:")),
        "the arguments are exported redacted: {deny:#}"
    );

    // The tool list: its own span, and the screening of the definitions.
    let list = named(&spans, "tools/list");
    assert_eq!(list.len(), 1, "{spans:#?}");
    let screened = guardrail(&spans, list[0]);
    assert_eq!(attr(screened, "gen_ai.security.target.type"), "tool_definition");
    assert_eq!(attr(screened, "gen_ai.security.decision.type"), "allow");

    // One log record per recorded event, the refusal a warning tied to its span.
    assert_eq!(logs.len(), recorded.len(), "logs {logs:#?}\nhistory {recorded:#?}");
    let refusal = logs
        .iter()
        .find(|l| attr(l, "gen_ai.tool.name") == "get-sum")
        .expect("a log record of the refused call");
    assert_eq!(refusal["event_name"], "mcpfw.message");
    assert_eq!(refusal["severity_text"], "WARN");
    assert_eq!(attr(refusal, "mcpfw.verdict"), "deny");
    assert_eq!(attr(refusal, "mcpfw.decided_by"), "rule:file:no-sums");
    assert_eq!(refusal["trace_id"], sum["trace_id"]);

    // Metrics, sent when the shim ended: the calls by verdict and rule, and how long the
    // server took, as cumulative series of this process.
    let allowed = receiver.metric(
        "mcpfw.calls",
        &json!({"gen_ai.tool.name": "echo", "mcpfw.verdict": "allow",
                "mcpfw.decided_by": "rule:file:echo-is-fine", "mcpfw.server": "everything"}),
    );
    assert_eq!(allowed["value"], 1, "{allowed:#}");
    assert_eq!(allowed["is_monotonic"], true, "{allowed:#}");
    assert_eq!(allowed["temporality"], 2, "cumulative: {allowed:#}"); // AGGREGATION_TEMPORALITY_CUMULATIVE
    let instance = allowed["resource"]["service.instance.id"].as_str().unwrap_or_default();
    assert_eq!(instance.len(), 32, "each process is its own series: {allowed:#}");
    assert_eq!(allowed["resource"]["deployment.environment.name"], "test");
    let refused = receiver.metric(
        "mcpfw.calls",
        &json!({"gen_ai.tool.name": "get-sum", "mcpfw.verdict": "deny",
                "mcpfw.decided_by": "rule:file:no-sums"}),
    );
    assert_eq!(refused["value"], 1, "{refused:#}");
    let took = receiver.metric(
        "mcp.client.operation.duration",
        &json!({"gen_ai.tool.name": "echo", "network.transport": "pipe"}),
    );
    assert_eq!(took["unit"], "s");
    assert_eq!(took["count"], 1, "{took:#}");
    assert!(took["sum"].as_f64().is_some_and(|s| s > 0.0 && s < 10.0), "{took:#}");
    assert_eq!(took["explicit_bounds"][0], 0.01, "the MCP conventions' buckets: {took:#}");
}

#[test]
fn content_stays_out_unless_asked_for() {
    let receiver = Receiver::start();
    let home = Home::new();
    home.policy(POLICY);
    // Configured by the standard variables alone (no [telemetry] in policy.toml).
    let mut shim = shim(
        &home,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://127.0.0.1:{}", receiver.port)),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()),
            ("OTEL_SERVICE_NAME", "firewall-under-test".to_owned()),
        ],
    );
    let allowed = shim.call_tool(2, "echo", json!({"message": "private words"}));
    assert!(allowed.get("result").is_some(), "{allowed}");
    shim.close_stdin();
    assert!(shim.wait_exit(Duration::from_secs(15)).is_some(), "the shim did not exit");
    let (spans, logs) =
        receiver.wait("the echo span", |s, _| !named(s, "tools/call echo").is_empty());
    let echo = named(&spans, "tools/call echo")[0];
    assert_eq!(echo["resource"]["service.name"], "firewall-under-test");
    assert!(attr(guardrail(&spans, echo), "gen_ai.security.content.input.hash").is_string());
    let exported = serde_json::to_string(&spans).unwrap() + &serde_json::to_string(&logs).unwrap();
    assert!(!exported.contains("private words"), "arguments were exported without include_content");
}

#[test]
fn grpc_export_reaches_a_real_grpc_collector() {
    let receiver = Receiver::start_with(&["--grpc"]);
    let home = Home::new();
    home.policy(&format!(
        "{POLICY}\n[telemetry]\nendpoint = \"http://127.0.0.1:{}\"\nprotocol = \"grpc\"\n",
        receiver.port
    ));
    let mut shim = shim(&home, &[("OTEL_METRIC_EXPORT_INTERVAL", "300".to_owned())]);
    let allowed = shim.call_tool(2, "echo", json!({"message": "over grpc"}));
    assert!(allowed.get("result").is_some(), "{allowed}");
    let refused = shim.call_tool(3, "get-sum", json!({"a": 1, "b": 2}));
    assert_eq!(refused["result"]["isError"], true, "{refused}");
    // Metrics arrive while the shim runs, every OTEL_METRIC_EXPORT_INTERVAL.
    let point = receiver
        .metric("mcpfw.calls", &json!({"gen_ai.tool.name": "get-sum", "mcpfw.verdict": "deny"}));
    assert_eq!(point["value"], 1, "{point:#}");
    assert!(shim.child.try_wait().unwrap().is_none(), "the metrics came before the shim ended");
    shim.close_stdin();
    assert!(shim.wait_exit(Duration::from_secs(15)).is_some(), "the shim did not exit");
    let recorded = home.events().len();
    let (spans, logs) = receiver.wait("both calls and every event", |s, l| {
        !named(s, "tools/call echo").is_empty()
            && !named(s, "tools/call get-sum").is_empty()
            && l.len() >= recorded
    });
    let echo = named(&spans, "tools/call echo")[0];
    assert_eq!(attr(guardrail(&spans, echo), "gen_ai.security.decision.type"), "allow");
    let sum = named(&spans, "tools/call get-sum")[0];
    assert_eq!(attr(sum, "error.type"), "tool_error");
    assert_eq!(attr(guardrail(&spans, sum), "gen_ai.security.decision.type"), "deny");
    assert_eq!(logs.len(), recorded);
}

#[test]
fn a_call_a_person_approves_has_its_guardrail_span_over_the_wait() {
    let receiver = Receiver::start();
    let home = Home::new();
    home.policy(&format!(
        "[[rules]]\nid = \"sums-are-asked\"\ntool = \"get-sum\"\naction = \"ask\"\n\n\
         [telemetry]\nendpoint = \"http://127.0.0.1:{}\"\n",
        receiver.port
    ));
    let cmd = |args: &[&str]| {
        let mut cmd = Command::new(mcpfw());
        cmd.args(args).env("MCPFW_HOME", home.path()).env("MCPFW_KEYRING", "off");
        cmd
    };
    let _daemon = Background::start(cmd(&["daemon", "--no-notify"]));
    let socket = home.path().join("run/mcpfw.sock");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        assert!(Instant::now() < deadline, "the daemon did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut shim = shim(&home, &[]);
    shim.send(&json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
                      "params": {"name": "get-sum", "arguments": {"a": 2, "b": 3}}}));
    let deadline = Instant::now() + Duration::from_secs(10);
    let pending = loop {
        let out = cmd(&["pending", "--json"]).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if let Some(line) = text.lines().next() {
            break serde_json::from_str::<Value>(line).unwrap();
        }
        assert!(Instant::now() < deadline, "the call never waited for a person");
        std::thread::sleep(Duration::from_millis(30));
    };
    std::thread::sleep(Duration::from_millis(50)); // a wait the span must cover
    let approved = cmd(&["approve", &pending["id"].to_string()]).output().unwrap();
    assert!(approved.status.success(), "{}", String::from_utf8_lossy(&approved.stderr));
    let answer = shim.response(&json!(5));
    assert!(answer["result"]["isError"] != true, "the approved call did not run: {answer}");
    shim.close_stdin();
    assert!(shim.wait_exit(Duration::from_secs(15)).is_some(), "the shim did not exit");
    let (spans, logs) =
        receiver.wait("the approved call", |s, _| !named(s, "tools/call get-sum").is_empty());
    let sum = named(&spans, "tools/call get-sum")[0];
    assert!(attr(sum, "error.type").is_null(), "{sum:#}");
    assert_eq!(attr(sum, "mcpfw.decided_by"), "user");
    let decision = guardrail(&spans, sum);
    assert_eq!(attr(decision, "gen_ai.security.decision.type"), "allow");
    assert_eq!(attr(decision, "gen_ai.security.policy.id"), "user");
    let waited = decision["end_ns"].as_u64().unwrap() - decision["start_ns"].as_u64().unwrap();
    assert!(waited >= 50_000_000, "the guardrail span covers the person's wait: {decision:#}");
    // The request (ask) and the approval are both in the logs, tied to the call's trace.
    let verdicts: Vec<&Value> = logs
        .iter()
        .filter(|l| attr(l, "gen_ai.tool.name") == "get-sum" && l["trace_id"] == sum["trace_id"])
        .map(|l| attr(l, "mcpfw.verdict"))
        .collect();
    assert!(verdicts.contains(&&json!("ask")) && verdicts.contains(&&json!("allow")), "{logs:#?}");
    // In the metrics: one prompt (a call that asked) and one approval by a person.
    let asked = receiver.metric(
        "mcpfw.calls",
        &json!({"gen_ai.tool.name": "get-sum", "mcpfw.verdict": "ask",
                "mcpfw.decided_by": "rule:file:sums-are-asked"}),
    );
    assert_eq!(asked["value"], 1, "{asked:#}");
    let approved = receiver.metric(
        "mcpfw.approvals",
        &json!({"gen_ai.tool.name": "get-sum", "mcpfw.verdict": "allow", "mcpfw.decided_by": "user"}),
    );
    assert_eq!(approved["value"], 1, "{approved:#}");
}

#[test]
fn findings_become_security_finding_events_on_their_guardrail_spans() {
    let receiver = Receiver::start();
    let home = Home::new();
    home.policy(&format!(
        "[settings]\nunattended = \"allow\"\n\n[telemetry]\nendpoint = \"http://127.0.0.1:{}\"\n",
        receiver.port
    ));
    let mut cmd = Command::new(mcpfw());
    cmd.args(["wrap", "--name", "toxic", "--"]).arg(python()).arg(support("toxic_server.py"));
    let mut shim = Shim::spawn(cmd, &home);
    shim.initialize();
    // Hidden text in the result: removed in the relay.
    let fortune = shim.call_tool(1, "fortune", json!({}));
    assert!(!fortune.to_string().contains("\\u001b"), "hidden text passed: {fortune}");
    // An injected instruction: found by the background scan, the result passed on.
    let page = shim.call_tool(2, "fetch", json!({"url": "https://example.com/recipes"}));
    assert!(page.get("result").is_some(), "{page}");
    home.wait_events("the background scan's finding", |events| {
        events.iter().any(|e| e["kind"] == "detection" && e["tool"] == "fetch")
    });
    shim.close_stdin();
    assert!(shim.wait_exit(Duration::from_secs(15)).is_some(), "the shim did not exit");
    let (spans, logs) = receiver.wait("both findings", |s, _| {
        !named(s, "tools/call fortune").is_empty()
            && s.iter().any(|g| {
                attr(g, "gen_ai.tool.name") == "fetch"
                    && attr(g, "gen_ai.security.target.type") == "tool_result"
            })
    });
    let fortune = named(&spans, "tools/call fortune")[0];
    let removed = spans
        .iter()
        .find(|g| {
            g["parent_span_id"] == fortune["span_id"]
                && attr(g, "gen_ai.security.target.type") == "tool_result"
        })
        .unwrap_or_else(|| panic!("no guardrail on the fortune's result: {spans:#?}"));
    assert_eq!(attr(removed, "gen_ai.security.decision.type"), "modify");
    assert_eq!(attr(removed, "gen_ai.security.content.redacted"), true);
    let events = removed["events"].as_array().unwrap();
    assert!(!events.is_empty(), "{removed:#}");
    for event in events {
        assert_eq!(event["name"], "gen_ai.security.finding");
        assert!(
            event["attributes"]["gen_ai.security.risk.category"]
                .as_str()
                .is_some_and(|c| !c.is_empty())
        );
        assert!(event["attributes"]["gen_ai.security.risk.severity"].is_string(), "{event:#}");
    }
    let scanned = spans
        .iter()
        .find(|g| {
            attr(g, "gen_ai.tool.name") == "fetch"
                && attr(g, "gen_ai.security.target.type") == "tool_result"
        })
        .unwrap();
    assert_eq!(scanned["name"], "apply_guardrail mcpfw");
    assert_eq!(attr(scanned, "gen_ai.security.decision.type"), "warn");
    let finding = &scanned["events"][0];
    assert_eq!(finding["name"], "gen_ai.security.finding");
    let exported = serde_json::to_string(&spans).unwrap() + &serde_json::to_string(&logs).unwrap();
    assert!(!exported.contains("Ignore all previous instructions"), "evidence is not exported");
    assert!(
        logs.iter()
            .any(|l| attr(l, "mcpfw.findings").as_str().is_some_and(|f| f.contains("\"kind\""))),
        "the log records carry the findings (without evidence): {logs:#?}"
    );
}

#[test]
fn the_http_proxy_exports_its_sessions_as_tcp_spans() {
    let receiver = Receiver::start();
    let home = Home::new();
    home.policy("[[rules]]\nid = \"all\"\naction = \"allow\"\n");
    let (upstream, proxy) = (free_port(), free_port());
    let mut server = Command::new(npm_server("mcp-server-everything"));
    server.arg("streamableHttp").env("PORT", upstream.to_string());
    let _server = Background::start(server);
    let mcpfw_cmd = || {
        let mut cmd = Command::new(mcpfw());
        cmd.env("MCPFW_HOME", home.path())
            .env("MCPFW_KEYRING", "off")
            .env("MCPFW_PROXY_PORT", proxy.to_string());
        for (key, _) in std::env::vars() {
            if key.starts_with("OTEL_") {
                cmd.env_remove(key);
            }
        }
        cmd
    };
    let added = mcpfw_cmd()
        .args(["proxy", "add", "everything", &format!("http://127.0.0.1:{upstream}/mcp")])
        .args(["--client", "test"])
        .output()
        .unwrap();
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let added = String::from_utf8_lossy(&added.stdout).into_owned();
    let token = added
        .split("X-MCPFW-Token: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("a token in `mcpfw proxy add`'s output");
    let mut daemon = mcpfw_cmd();
    daemon
        .args(["daemon", "--no-notify"])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://127.0.0.1:{}", receiver.port));
    let _daemon = Background::start(daemon);
    wait_listening(upstream, "server-everything");
    wait_listening(proxy, "the proxy");
    let out = Command::new(python())
        .arg(support("client.py"))
        .args(["--scenario", "everything", "--timeout", "30", "--url"])
        .arg(format!("http://127.0.0.1:{proxy}/s/everything/mcp"))
        .args(["--header", &format!("X-MCPFW-Token: {token}"), "--"])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report.contains("\"ok\": true") || report.contains("\"ok\":true"),
        "{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (spans, logs) =
        receiver.wait("the proxied sum", |s, _| !named(s, "tools/call get-sum").is_empty());
    let sum = named(&spans, "tools/call get-sum")[0];
    assert_eq!(attr(sum, "network.transport"), "tcp");
    assert_eq!(attr(sum, "mcpfw.server"), "everything");
    assert_eq!(attr(sum, "gen_ai.operation.name"), "execute_tool");
    assert!(attr(sum, "error.type").is_null(), "{sum:#}");
    let allow = guardrail(&spans, sum);
    assert_eq!(attr(allow, "gen_ai.security.decision.type"), "allow");
    assert_eq!(attr(allow, "gen_ai.security.policy.id"), "rule:file:all");
    assert!(logs.iter().any(|l| attr(l, "gen_ai.tool.name") == "get-sum"), "{logs:#?}");
}

#[test]
fn a_collector_that_never_answers_neither_slows_calls_nor_goes_unreported() {
    // Accepts connections and never answers: every export waits for its timeout.
    let hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = hole.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in hole.incoming() {
            held.push(stream);
        }
    });
    let calls = 150;
    let timed = |env: &[(&str, String)]| {
        let home = Home::new();
        home.policy(POLICY);
        let mut shim = shim(&home, env);
        let started = Instant::now();
        for id in 1..=calls {
            let answer = shim.call_tool(id, "echo", json!({"message": format!("call {id}")}));
            assert!(answer.get("result").is_some(), "{answer}");
        }
        let elapsed = started.elapsed();
        shim.close_stdin();
        let closed = Instant::now();
        assert!(shim.wait_exit(Duration::from_secs(20)).is_some(), "the shim did not exit");
        let exit = closed.elapsed();
        std::thread::sleep(Duration::from_millis(200));
        (elapsed, exit, shim.stderr_text(), home.events().len())
    };
    let (direct, _, _, _) = timed(&[]);
    let (exporting, exit, stderr, recorded) = timed(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://127.0.0.1:{port}")),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "30000".to_owned()),
    ]);
    eprintln!(
        "{calls} calls: {direct:?} without export, {exporting:?} to a dead collector; exit {exit:?}"
    );
    assert!(
        exporting < direct * 2 + Duration::from_secs(1),
        "{calls} calls took {exporting:?} with a dead collector, {direct:?} without export"
    );
    // The shim waits a short while for the collector, not for its timeout.
    assert!(exit < Duration::from_secs(8), "the shim took {exit:?} to exit");
    let warning = stderr
        .lines()
        .find(|l| l.contains("OpenTelemetry export:"))
        .unwrap_or_else(|| panic!("no warning about lost events:\n{stderr}"));
    eprintln!("{warning}");
    assert!(
        warning.contains(&format!("{recorded} of {recorded} events were not exported")),
        "the warning counts every recorded event ({recorded}) as lost: {warning}"
    );
}
