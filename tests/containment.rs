//! The box every wrapped server runs in (Linux): real servers keep working through the real
//! Python client, a misbehaving server's attacks fail (itself and through a child), each
//! mechanism made unavailable is named, `require` refuses with an error the client sees, the
//! box's network is relayed byte for byte to the egress socket, the server sees its user's own
//! ids with no capability, a denial by the box is recorded and `mcpfw sandbox allow` lifts it
//! from the next start, and what the box costs at start.
#![cfg(target_os = "linux")]

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Home, Shim, client_scenario, mcpfw, npm_server, python, support};
use serde_json::{Value, json};

/// Whether this machine has every mechanism (user namespaces, Landlock, seccomp); the tests of
/// the full box say so loudly and skip when it has not (the degraded tests still run).
fn full_box_available() -> bool {
    let userns = Command::new("unshare")
        .args(["--user", "--map-root-user", "--net", "--pid", "--fork", "true"])
        .status()
        .is_ok_and(|s| s.success());
    if !userns {
        eprintln!(
            "SKIPPED: this machine has no unprivileged user namespaces; the full box cannot be tested here"
        );
    }
    userns
}

fn wait_containment(home: &Home) -> Value {
    let events = home.wait_events("a containment record", |events| {
        events.iter().any(|e| e["method"] == "firewall/containment")
    });
    events.into_iter().find(|e| e["method"] == "firewall/containment").unwrap()
}

/// Runs a client.py scenario against `mcpfw wrap ARGS -- SERVER`.
fn scenario(
    home: &Home,
    name: &str,
    extra: &[&str],
    wrap: &[&str],
    server: &[String],
    env: &[(&str, &str)],
) -> Value {
    let mut chain = vec![mcpfw().display().to_string(), "wrap".into()];
    chain.extend(wrap.iter().map(|w| w.to_string()));
    chain.push("--".into());
    chain.extend(server.iter().cloned());
    let env: Vec<(&str, &std::ffi::OsStr)> =
        env.iter().map(|(k, v)| (*k, std::ffi::OsStr::new(v))).collect();
    client_scenario(home, name, extra, &chain, &env)
}

fn assert_full_box(record: &Value) {
    let reason = record["reason"].as_str().unwrap_or_default();
    assert_eq!(record["verdict"], "allow", "{record}");
    assert!(
        reason.contains("namespaces on, Landlock ABI") && reason.contains("seccomp on"),
        "{reason}"
    );
    assert!(!reason.contains("missing:"), "{reason}");
}

#[test]
fn filesystem_server_works_in_its_root_through_the_python_client() {
    if !full_box_available() {
        return;
    }
    let home = Home::new();
    let root = tempfile::tempdir().unwrap();
    let root_s = root.path().display().to_string();
    let server = vec![npm_server("mcp-server-filesystem").display().to_string(), root_s.clone()];
    let report =
        scenario(&home, "filesystem", &["--root", &root_s], &["--name", "files"], &server, &[]);
    assert_eq!(report["write"]["is_error"], false, "{report}");
    assert_eq!(report["write"]["on_disk_matches"], true, "{report}");
    assert_eq!(report["read"]["matches"], true, "{report}");
    assert_full_box(&wait_containment(&home));
    // The person can see the box: its root writable, MCP Firewall's folders hidden.
    let out = Command::new(mcpfw())
        .args(["sandbox", "show", "files"])
        .env("MCPFW_HOME", home.path())
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{shown}");
    let real_root = std::fs::canonicalize(root.path()).unwrap();
    let real_home = std::fs::canonicalize(home.path()).unwrap();
    assert!(shown.contains(&format!("write       {}", real_root.display())), "{shown}");
    assert!(
        shown.contains(&format!("hidden      {}", real_home.join("config").display())),
        "{shown}"
    );
    assert!(shown.contains("namespaces on, Landlock ABI"), "{shown}");
    assert!(!shown.contains("MISSING"), "{shown}");
    // `mcpfw status` names each wrapped server's box too.
    let no_clients = tempfile::tempdir().unwrap();
    let out = Command::new(mcpfw())
        .arg("status")
        .env("MCPFW_HOME", home.path())
        .env("HOME", no_clients.path())
        .env_remove("XDG_CONFIG_HOME")
        .output()
        .unwrap();
    let status = String::from_utf8_lossy(&out.stdout);
    let line = status.lines().find(|l| l.trim_start().starts_with("files ")).unwrap_or_default();
    assert!(status.contains("sandbox (each wrapped server's last start"), "{status}");
    assert!(line.contains("enforce") && line.contains("namespaces on"), "{status}");
    assert!(!line.contains("MISSING"), "{status}");
}

#[test]
fn outside_its_root_the_os_refuses_even_when_an_allow_rule_lifts_the_protocol_check() {
    if !full_box_available() {
        return;
    }
    let home = Home::new();
    // The server is told it may use two folders, the firewall knows only one as a root, and a
    // rule lifts the firewall's outside-roots guard: only the box is left to refuse.
    home.policy(
        "[settings]\ninfer_roots = false\nunattended = \"allow\"\n\n[[rules]]\nserver = \"files\"\n\
         action = \"allow\"\nlift = [\"outside-roots\"]\n",
    );
    let root = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "outside the root").unwrap();
    std::fs::write(root.path().join("inside.txt"), "inside the root").unwrap();
    let server = vec![
        npm_server("mcp-server-filesystem").display().to_string(),
        root.path().display().to_string(),
        outside.path().display().to_string(),
    ];
    let root_s = root.path().display().to_string();
    let mut shim = Shim::start(&home, &["--name", "files", "--root", &root_s], &server);
    shim.initialize();
    let inside = shim.call_tool(
        1,
        "read_text_file",
        json!({"path": root.path().join("inside.txt").display().to_string()}),
    );
    assert_eq!(common::tool_text(&inside), "inside the root", "{inside}");
    let read = shim.call_tool(
        2,
        "read_text_file",
        json!({"path": outside.path().join("secret.txt").display().to_string()}),
    );
    let text = serde_json::to_string(&read).unwrap();
    assert!(!text.contains("outside the root"), "the box let the server read outside: {read}");
    assert!(text.contains("EACCES") || text.contains("ermission denied"), "{read}");
    let write = shim.call_tool(
        3,
        "write_file",
        json!({"path": outside.path().join("new.txt").display().to_string(), "content": "x"}),
    );
    assert!(
        !outside.path().join("new.txt").exists(),
        "the box let the server write outside: {write}"
    );
    // The firewall itself let both calls through (the rule lifted its guard).
    let events = home.wait_events("the two calls", |events| {
        events.iter().filter(|e| e["tool"] == "read_text_file" || e["tool"] == "write_file").count()
            >= 3
    });
    assert!(
        events
            .iter()
            .filter(|e| e["kind"] == "request" && e["tool"] == "write_file")
            .all(|e| e["verdict"] == "allow"),
        "{events:#?}"
    );
    shim.close_stdin();
    shim.wait_exit(Duration::from_secs(10));
}

#[test]
fn everything_server_works_in_the_box() {
    if !full_box_available() {
        return;
    }
    let home = Home::permissive();
    let report =
        scenario(&home, "everything", &[], &["--name", "everything"], &common::everything(), &[]);
    assert_eq!(report["ok"], true);
    assert_full_box(&wait_containment(&home));
}

#[test]
fn memory_server_keeps_its_file_in_its_root() {
    if !full_box_available() {
        return;
    }
    let home = Home::permissive();
    let root = tempfile::tempdir().unwrap();
    let file = root.path().join("memory.jsonl");
    let file_s = file.display().to_string();
    let root_s = root.path().display().to_string();
    let server = vec![npm_server("mcp-server-memory").display().to_string()];
    scenario(
        &home,
        "memory",
        &[],
        &["--name", "memory", "--root", &root_s],
        &server,
        &[("MEMORY_FILE_PATH", &file_s)],
    );
    assert!(file.exists(), "the memory server kept no file in its root");
    assert_full_box(&wait_containment(&home));
}

#[test]
fn python_sdk_server_works_in_the_box() {
    if !full_box_available() {
        return;
    }
    let home = Home::permissive();
    let server =
        vec![python().display().to_string(), support("modern_server.py").display().to_string()];
    let report = scenario(&home, "echo", &[], &["--name", "modern"], &server, &[]);
    assert_eq!(report["echo"]["is_error"], false, "{report}");
    assert_full_box(&wait_containment(&home));
}

/// The world of the attack test: MCP Firewall's home with planted secrets, a user home with
/// fake keys, a root, a folder outside it, a listener on the daemon's socket path and one on
/// 127.0.0.1.
struct AttackWorld {
    home: Home,
    user_home: tempfile::TempDir,
    root: tempfile::TempDir,
    outside: tempfile::TempDir,
    socket: UnixListener,
    tcp: TcpListener,
}

impl AttackWorld {
    fn new() -> Self {
        let home = Home::new();
        let fw = home.path();
        for (file, text) in [
            ("config/chain.key", "11".repeat(32)),
            ("config/approver.token", "planted-approver-token".to_owned()),
            ("data/planted-secret", "data secret".to_owned()),
            ("logs/planted-secret", "log secret".to_owned()),
        ] {
            let path = fw.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, text).unwrap();
        }
        std::fs::create_dir_all(fw.join("run")).unwrap();
        let socket = UnixListener::bind(fw.join("run/mcpfw.sock")).unwrap();
        socket.set_nonblocking(true).unwrap();
        let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
        tcp.set_nonblocking(true).unwrap();
        let user_home = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(user_home.path().join(".ssh")).unwrap();
        std::fs::write(user_home.path().join(".ssh/id_rsa"), "-----BEGIN FAKE KEY-----\n").unwrap();
        std::fs::write(user_home.path().join(".bashrc"), "# the user's bashrc\n").unwrap();
        Self {
            home,
            user_home,
            root: tempfile::tempdir().unwrap(),
            outside: tempfile::tempdir().unwrap(),
            socket,
            tcp,
        }
    }

    /// Every file of MCP Firewall's home except what the shim itself writes (the history,
    /// its logs, the saved sandbox profile).
    fn firewall_files(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut files = BTreeMap::new();
        let mut stack = vec![self.home.path().to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap().flatten() {
                let path = entry.path();
                let rel = path.strip_prefix(self.home.path()).unwrap().to_path_buf();
                let name = rel.to_string_lossy().into_owned();
                if name.starts_with("data/mcpfw.db")
                    || name.starts_with("logs/mcpfw")
                    || name.starts_with("data/sandbox")
                    || name.starts_with("run/egress")
                {
                    continue;
                }
                let kind = entry.file_type().unwrap();
                if kind.is_dir() {
                    stack.push(path);
                } else if kind.is_file() {
                    files.insert(rel, std::fs::read(&path).unwrap());
                }
            }
        }
        files
    }

    /// Starts the attack server behind `mcpfw wrap` (the shell's pid becomes the shim's).
    fn start(&self, env: &[(&str, &str)]) -> Shim {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "export ATTACK_SHIM_PID=$$; exec \"$0\" \"$@\""]).arg(mcpfw());
        cmd.args(["wrap", "--name", "attacker", "--root"]).arg(self.root.path()).arg("--");
        cmd.arg(python()).arg(support("attack_server.py"));
        cmd.env("HOME", self.user_home.path())
            .env("ATTACK_ROOT", self.root.path())
            .env("ATTACK_OUTSIDE", self.outside.path())
            .env("ATTACK_FW_HOME", self.home.path())
            .env("ATTACK_SOCKET", self.home.path().join("run/mcpfw.sock"))
            .env("ATTACK_TCP_PORT", self.tcp.local_addr().unwrap().port().to_string());
        for (k, v) in env {
            cmd.env(k, v);
        }
        Shim::spawn(cmd, &self.home)
    }

    /// Runs the attack server, checks that every attack failed and nothing changed; returns
    /// the containment record.
    fn run(&self, env: &[(&str, &str)]) -> Value {
        let before = self.firewall_files();
        let bashrc = std::fs::read(self.user_home.path().join(".bashrc")).unwrap();
        let mut shim = self.start(env);
        let results = self.root.path().join("attacks.json");
        let deadline = Instant::now() + Duration::from_secs(60);
        while !results.exists() || std::fs::read(&results).unwrap().is_empty() {
            assert!(
                Instant::now() < deadline,
                "no attack results; stderr:\n{}",
                shim.stderr_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(200)); // the file is written whole, then closed
        // The shim survived and still relays.
        let init = shim.initialize();
        assert_eq!(init["result"]["serverInfo"]["name"], "attack-server", "{init}");
        let outcomes: Vec<Value> =
            serde_json::from_slice(&std::fs::read(&results).unwrap()).unwrap();
        let attacks: Vec<&Value> = outcomes.iter().collect();
        for a in &attacks {
            eprintln!(
                "{} / {}: succeeded {} ({})",
                a["who"], a["attack"], a["succeeded"], a["detail"]
            );
        }
        assert!(attacks.len() >= 20, "both the server and its child report: {outcomes:#?}");
        let succeeded: Vec<&&Value> = attacks.iter().filter(|a| a["succeeded"] == true).collect();
        assert!(
            succeeded
                .iter()
                .all(|a| a["attack"] == "ptrace the box's init" && a["detail"] == "n/a"),
            "attacks that succeeded: {succeeded:#?}"
        );
        for who in ["server", "child"] {
            assert!(attacks.iter().any(|a| a["who"] == who), "no results from the {who}");
        }
        assert!(self.socket.accept().is_err(), "the daemon's socket received a connection");
        assert!(self.tcp.accept().is_err(), "the 127.0.0.1 listener received a connection");
        let after = self.firewall_files();
        for (file, bytes) in &before {
            assert_eq!(after.get(file), Some(bytes), "{} changed", file.display());
        }
        // The shim's own lock file is the only file it adds.
        let added: Vec<_> = after.keys().filter(|f| !before.contains_key(*f)).collect();
        assert!(added.iter().all(|f| f.to_string_lossy().ends_with(".lock")), "{added:?}");
        assert_eq!(std::fs::read(self.user_home.path().join(".bashrc")).unwrap(), bashrc);
        assert_eq!(std::fs::read_dir(self.outside.path()).unwrap().count(), 0, "written outside");
        shim.close_stdin();
        assert!(shim.wait_exit(Duration::from_secs(10)).is_some(), "the shim did not end");
        let verify = Command::new(mcpfw())
            .args(["log", "--verify"])
            .env("MCPFW_HOME", self.home.path())
            .env("MCPFW_KEYRING", "off")
            .output()
            .unwrap();
        assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stderr));
        wait_containment(&self.home)
    }
}

#[test]
fn a_misbehaving_server_and_its_child_fail_every_attack() {
    if !full_box_available() {
        return;
    }
    let world = AttackWorld::new();
    let record = world.run(&[]);
    assert_full_box(&record);
}

#[test]
fn without_user_namespaces_the_attacks_still_fail_and_the_gap_is_named() {
    let world = AttackWorld::new();
    let record = world.run(&[("MCPFW_TEST_NO_USERNS", "1")]);
    let reason = record["reason"].as_str().unwrap();
    assert!(reason.contains("missing: user namespaces (turned off for this test"), "{reason}");
}

/// Starts a small server under `mcpfw wrap` with `env`, answers `initialize`, returns the
/// shim's stderr and the containment record.
fn degraded(env: &[(&str, &str)], policy: &str) -> (Value, String, Value) {
    let home = Home::new();
    home.policy(policy);
    let root = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(mcpfw());
    cmd.args(["wrap", "--name", "small", "--root"]).arg(root.path()).arg("--");
    cmd.arg(python()).arg(support("attack_server.py")).arg("--serve-only");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut shim = Shim::spawn(cmd, &home);
    let init = shim.initialize();
    shim.close_stdin();
    let status = shim.wait_exit(Duration::from_secs(10));
    let stderr = shim.stderr_text();
    let record = wait_containment(&home);
    (init, format!("{stderr}\nexit: {status:?}"), record)
}

#[test]
fn each_missing_mechanism_is_named_on_stderr_and_in_the_history() {
    let cases: &[(&str, &str, &str)] = &[
        ("MCPFW_TEST_NO_USERNS", "1", "user namespaces (turned off for this test"),
        ("MCPFW_TEST_LANDLOCK_ABI", "0", "Landlock (filesystem confinement): not available"),
        (
            "MCPFW_TEST_LANDLOCK_ABI",
            "3",
            "Landlock filesystem rights of a newer ABI than 3: IoctlDev",
        ),
        ("MCPFW_TEST_NO_SECCOMP", "1", "seccomp (turned off for this test"),
    ];
    for (var, value, named) in cases {
        let (init, stderr, record) = degraded(&[(var, value)], "");
        assert!(init.get("result").is_some(), "{var}={value}: enforce still starts: {init}");
        assert!(stderr.contains(named), "{var}={value}: stderr does not name it:\n{stderr}");
        let reason = record["reason"].as_str().unwrap();
        assert!(reason.contains(named), "{var}={value}: {reason}");
        assert_eq!(record["verdict"], "allow");
    }
    // Without namespaces and below ABI 4, nothing holds TCP: named too.
    let (_, stderr, _) =
        degraded(&[("MCPFW_TEST_NO_USERNS", "1"), ("MCPFW_TEST_LANDLOCK_ABI", "3")], "");
    assert!(stderr.contains("Landlock TCP rules (ABI 4, this kernel has 3)"), "{stderr}");
    assert!(stderr.contains("Landlock scoping of signals and abstract Unix sockets"), "{stderr}");
}

#[test]
fn require_refuses_to_start_and_the_client_sees_which_protection_is_missing() {
    let policy = "[servers.small.sandbox]\nmode = \"require\"\n";
    let (init, stderr, record) = degraded(&[("MCPFW_TEST_NO_SECCOMP", "1")], policy);
    assert_eq!(init["error"]["code"], -32010, "{init}");
    let message = init["error"]["message"].as_str().unwrap();
    assert!(message.contains("seccomp (turned off for this test"), "{message}");
    assert!(stderr.contains("exit: Some(ExitStatus(unix_wait_status(256)))"), "{stderr}");
    assert_eq!(record["verdict"], "deny", "{record}");
    assert!(record["reason"].as_str().unwrap().contains("refused to start"), "{record}");
    // With everything available, require starts the server.
    if full_box_available() {
        let (init, _, record) = degraded(&[], policy);
        assert!(init.get("result").is_some(), "{init}");
        assert_full_box(&record);
    }
}

#[test]
fn sandbox_settings_errors_have_line_and_column() {
    let home = Home::new();
    home.policy("[settings]\n\n[servers.files.sandbox]\nmode = \"sometimes\"\n");
    let out = Command::new(mcpfw())
        .args(["policy", "check"])
        .env("MCPFW_HOME", home.path())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("policy.toml:4:"), "{text}");
    home.policy("[servers.files.sandbox]\nread = [\"relative/path\"]\n");
    let out = Command::new(mcpfw())
        .args(["policy", "check"])
        .env("MCPFW_HOME", home.path())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("policy.toml:1:1") && text.contains("must be absolute"), "{text}");
}

/// A test-owned egress socket: answers each connection's first line with `echo: LINE`.
fn echo_egress(dir: &Path) -> (PathBuf, std::thread::JoinHandle<Vec<String>>) {
    let path = dir.join("egress.sock");
    let listener = UnixListener::bind(&path).unwrap();
    let handle = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        seen.push(line.clone());
        let mut stream = stream;
        stream.write_all(format!("echo: {line}").as_bytes()).unwrap();
        seen
    });
    (path, handle)
}

fn network_relays_bytes(env: &[(&str, &str)]) {
    let dir = tempfile::tempdir().unwrap();
    let (socket, egress) = echo_egress(dir.path());
    let home = Home::new();
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("reply.txt");
    // The server connects to its proxy (from HTTP_PROXY), sends a line, keeps the answer.
    let script = format!(
        "import os, socket, urllib.parse\n\
         u = urllib.parse.urlparse(os.environ['HTTP_PROXY'])\n\
         s = socket.create_connection((u.hostname, u.port), timeout=5)\n\
         s.sendall(b'CONNECT example.org:443 HTTP/1.1\\n')\n\
         open({:?}, 'wb').write(s.recv(100))\n",
        out.display().to_string()
    );
    let mut cmd = Command::new(mcpfw());
    cmd.args(["wrap", "--name", "net", "--root"]).arg(root.path()).arg("--");
    cmd.arg(python()).args(["-c", &script]);
    cmd.env("MCPFW_HOME", home.path())
        .env("MCPFW_KEYRING", "off")
        .env("MCPFW_TEST_EGRESS_SOCKET", &socket)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let status = child.wait().unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(status.success(), "{status:?}\n{stderr}");
    assert_eq!(egress.join().unwrap(), ["CONNECT example.org:443 HTTP/1.1\n"]);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "echo: CONNECT example.org:443 HTTP/1.1\n",
        "{stderr}"
    );
}

#[test]
fn the_box_network_is_relayed_byte_for_byte_to_the_egress_socket() {
    if !full_box_available() {
        return;
    }
    network_relays_bytes(&[]);
}

#[test]
fn without_namespaces_the_network_is_relayed_from_a_host_loopback_port() {
    network_relays_bytes(&[("MCPFW_TEST_NO_USERNS", "1")]);
}

/// Spawn to the first answer (`initialize`), with and without the box, interleaved.
#[test]
fn the_box_costs_little_at_start() {
    if !full_box_available() {
        return;
    }
    let boxed = Home::new();
    let unboxed = Home::new();
    unboxed.policy("[servers.small.sandbox]\nmode = \"off\"\n");
    let first_answer = |home: &Home| {
        let started = Instant::now();
        let mut cmd = Command::new(mcpfw());
        cmd.args(["wrap", "--name", "small", "--"]);
        cmd.arg(python()).arg(support("attack_server.py")).arg("--serve-only");
        let mut shim = Shim::spawn(cmd, home);
        shim.initialize();
        let took = started.elapsed();
        shim.close_stdin();
        shim.wait_exit(Duration::from_secs(10));
        took
    };
    first_answer(&boxed); // warm the caches and create both histories
    first_answer(&unboxed);
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for _ in 0..7 {
        with.push(first_answer(&boxed));
        without.push(first_answer(&unboxed));
    }
    with.sort();
    without.sort();
    let (w, wo) = (with[with.len() / 2], without[without.len() / 2]);
    eprintln!(
        "spawn to first answer, median of 7: boxed {:.1} ms, unboxed {:.1} ms, box adds {:.1} ms",
        w.as_secs_f64() * 1e3,
        wo.as_secs_f64() * 1e3,
        (w.as_secs_f64() - wo.as_secs_f64()) * 1e3
    );
    // What the box itself took before the server started, as the shim measured it.
    let out = Command::new(mcpfw())
        .args(["sandbox", "show", "--json", "small"])
        .env("MCPFW_HOME", boxed.path())
        .output()
        .unwrap();
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    let setup_us = shown["report"]["setup_us"].as_u64().expect("the box's set-up time");
    eprintln!("the box was ready {:.1} ms after the launcher was started", setup_us as f64 / 1e3);
    // The target is +15 ms; the bound here is loose because the machine is shared.
    assert!(w < wo + Duration::from_millis(150), "boxed {w:?} vs unboxed {wo:?}");
}

/// The daemon answers a peer of the host, and refuses one in other namespaces (as a process in
/// a box would be) even with the right uid and the socket in reach.
#[test]
fn the_daemon_refuses_a_peer_from_inside_a_box() {
    if !full_box_available() {
        return;
    }
    let home = Home::new();
    let socket = home.path().join("run/mcpfw.sock");
    let mut daemon = Command::new(mcpfw())
        .args(["daemon", "--timeout", "60", "--no-notify"])
        .env("MCPFW_HOME", home.path())
        .env("MCPFW_KEYRING", "off")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        assert!(Instant::now() < deadline, "the daemon did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let pending = |boxed: bool| {
        let mut cmd = if boxed {
            let mut cmd = Command::new("unshare");
            cmd.args(["--user", "--map-root-user", "--net", "--"]).arg(mcpfw());
            cmd
        } else {
            Command::new(mcpfw())
        };
        cmd.args(["pending", "--json"])
            .env("MCPFW_HOME", home.path())
            .env("MCPFW_KEYRING", "off")
            .output()
            .unwrap()
    };
    let host = pending(false);
    assert!(host.status.success(), "{}", String::from_utf8_lossy(&host.stderr));
    let boxed = pending(true);
    let _ = daemon.kill();
    let _ = daemon.wait();
    let mut daemon_log = String::new();
    daemon.stderr.take().unwrap().read_to_string(&mut daemon_log).unwrap();
    assert!(!boxed.status.success(), "a peer in other namespaces was answered");
    let log = std::fs::read_to_string(home.path().join("logs/mcpfw.jsonl")).unwrap_or_default();
    assert!(
        (log + &daemon_log).contains("refused a connection from inside a server's box"),
        "the refusal is not in the daemon's log"
    );
}

/// A plain HTTP server on `addr` answering every request with `body`; counts the requests.
fn http_server(
    addr: &str,
    body: &'static str,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = TcpListener::bind(addr).unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let hits = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(16) {
            let Ok(mut stream) = stream else { continue };
            counted.fetch_add(1, Ordering::SeqCst);
            let mut head = [0u8; 4096];
            let _ = stream.read(&mut head);
            let answer = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    (url, hits)
}

/// The network a boxed server has is the egress proxy's: a host the policy allows is reached
/// (and recorded with its bytes), one it does not is refused by the proxy with a reason and never
/// reached — with nobody to ask, unattended means deny.
#[test]
fn a_boxed_server_reaches_an_allowed_host_through_the_egress_proxy_and_no_other() {
    use std::sync::atomic::Ordering;
    if !full_box_available() {
        return;
    }
    let (allowed, allowed_hits) = http_server("127.0.0.1:0", "hello from the allowed host");
    let (refused, refused_hits) = http_server("127.0.0.2:0", "this must never be read");
    let home = Home::new();
    home.policy("[egress]\nallow_hosts = [\"127.0.0.1\"]\n");
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("fetches.json");
    let mut cmd = Command::new(mcpfw());
    cmd.args(["wrap", "--name", "fetcher", "--root"]).arg(root.path()).arg("--");
    cmd.arg(python()).arg(support("fetch_server.py"));
    cmd.env("FETCH_URLS", format!("{allowed} {refused}")).env("FETCH_OUT", &out);
    let mut shim = Shim::spawn(cmd, &home);
    let init = shim.initialize();
    assert!(init.get("result").is_some(), "{init}");
    shim.close_stdin();
    shim.wait_exit(Duration::from_secs(15));
    let outcomes: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();

    assert_eq!(outcomes[&allowed]["status"], 200, "{outcomes}");
    assert_eq!(outcomes[&allowed]["body"], "hello from the allowed host", "{outcomes}");
    assert_eq!(allowed_hits.load(Ordering::SeqCst), 1);

    assert_eq!(outcomes[&refused]["status"], 403, "{outcomes}");
    let why = outcomes[&refused]["body"].as_str().unwrap();
    assert!(why.contains("127.0.0.2") && why.contains("allow_hosts"), "{why}");
    assert_eq!(refused_hits.load(Ordering::SeqCst), 0, "the refused host was reached");

    let events = home.wait_events("both connections", |events| {
        events.iter().filter(|e| e["tool"] == "egress.connect").count() >= 2
    });
    let connects: Vec<&Value> = events.iter().filter(|e| e["tool"] == "egress.connect").collect();
    let verdict_of = |host: &str| {
        connects
            .iter()
            .find(|e| e["arguments"]["host"] == host)
            .map(|e| e["verdict"].as_str().unwrap_or_default().to_owned())
    };
    assert_eq!(verdict_of("127.0.0.1").as_deref(), Some("allow"), "{connects:?}");
    assert_eq!(verdict_of("127.0.0.2").as_deref(), Some("deny"), "{connects:?}");
    assert!(connects.iter().all(|e| e["server"] == "fetcher"), "{connects:?}");
}

/// The egress proxy decides with the policy in force, as the pipeline does: a host refused at
/// start is reached once `policy.toml` allows it, without restarting the server.
#[test]
fn a_host_allowed_while_the_server_runs_is_reached_on_its_next_connection() {
    use std::sync::atomic::Ordering;
    if !full_box_available() {
        return;
    }
    let (host, hits) = http_server("127.0.0.1:0", "hello once allowed");
    let home = Home::new();
    home.policy("[settings]\ninfer_roots = false\n");
    let root = tempfile::tempdir().unwrap();
    let (out, trigger) = (root.path().join("fetches.json"), root.path().join("again"));
    let mut cmd = Command::new(mcpfw());
    cmd.args(["wrap", "--name", "fetcher", "--root"]).arg(root.path()).arg("--");
    cmd.arg(python()).arg(support("fetch_server.py"));
    cmd.env("FETCH_URLS", &host).env("FETCH_OUT", &out).env("FETCH_AGAIN_WHEN", &trigger);
    let mut shim = Shim::spawn(cmd, &home);
    let init = shim.initialize();
    assert!(init.get("result").is_some(), "{init}");
    let first: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(first[&host]["status"], 403, "refused at first: {first}");
    assert_eq!(hits.load(Ordering::SeqCst), 0);

    home.policy("[settings]\ninfer_roots = false\n\n[egress]\nallow_hosts = [\"127.0.0.1\"]\n");
    // The policy is looked at again at most twice a second.
    std::thread::sleep(Duration::from_millis(600));
    std::fs::write(&trigger, b"").unwrap();
    let again = out.with_extension("json.again");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !again.exists() {
        assert!(Instant::now() < deadline, "the server did not fetch again");
        std::thread::sleep(Duration::from_millis(50));
    }
    let second: Value = serde_json::from_slice(&std::fs::read(&again).unwrap()).unwrap();
    assert_eq!(second[&host]["status"], 200, "allowed now: {second}");
    assert_eq!(second[&host]["body"], "hello once allowed");
    assert_eq!(hits.load(Ordering::SeqCst), 1);
    shim.close_stdin();
    shim.wait_exit(Duration::from_secs(15));
}

/// A server started through a container runtime's CLI runs in a container that the runtime
/// starts outside MCP Firewall's process tree: the box cannot reach into it, and boxing the CLI
/// would only cut it off from the runtime. It starts without the box, with the reason named on
/// stderr and in the history; `require` refuses it. (No container engine runs on these machines:
/// the `docker` here is a stand-in program that serves MCP itself.)
#[test]
fn a_server_in_a_container_runs_without_the_box_and_says_why() {
    use std::os::unix::fs::PermissionsExt;
    let bin = tempfile::tempdir().unwrap();
    let docker = bin.path().join("docker");
    let script = format!(
        "#!/bin/sh\nexec '{}' '{}' --serve-only\n",
        python().display(),
        support("attack_server.py").display()
    );
    std::fs::write(&docker, script).unwrap();
    std::fs::set_permissions(&docker, std::fs::Permissions::from_mode(0o755)).unwrap();
    let start = |home: &Home| {
        let mut cmd = Command::new(mcpfw());
        cmd.args(["wrap", "--name", "contained", "--"]).arg(&docker);
        cmd.args(["run", "-i", "--rm", "example/mcp-server"]);
        let mut shim = Shim::spawn(cmd, home);
        let init = shim.initialize();
        shim.close_stdin();
        let status = shim.wait_exit(Duration::from_secs(10));
        (init, shim.stderr_text(), status)
    };

    let home = Home::new();
    let (init, stderr, _) = start(&home);
    assert!(init.get("result").is_some(), "{init}\n{stderr}");
    assert!(stderr.contains("runs in a container that docker starts"), "{stderr}");
    let record = wait_containment(&home);
    let reason = record["reason"].as_str().unwrap();
    assert!(reason.contains("container that docker starts"), "{reason}");
    assert_eq!(record["verdict"], "allow", "{record}");

    let strict = Home::new();
    strict.policy("[servers.contained.sandbox]\nmode = \"require\"\n");
    let (init, stderr, status) = start(&strict);
    assert_eq!(init["error"]["code"], -32010, "{init}\n{stderr}");
    let message = init["error"]["message"].as_str().unwrap();
    assert!(message.contains("container that docker starts"), "{message}");
    assert!(status.is_some_and(|s| !s.success()), "{status:?}");
    let record = wait_containment(&strict);
    assert_eq!(record["verdict"], "deny", "{record}");
}

/// Starts the small server in the box under `prefix` (e.g. `unshare` into a namespace where
/// the test is another user), and asks it who it runs as and what it may do.
fn identity_in_the_box(prefix: &[&str]) -> (Value, tempfile::TempDir) {
    let home = Home::permissive();
    let root = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(prefix.first().copied().unwrap_or("env"));
    cmd.args(prefix.iter().skip(1));
    cmd.arg(mcpfw()).args(["wrap", "--name", "small", "--root"]).arg(root.path()).arg("--");
    cmd.arg(python()).arg(support("attack_server.py")).arg("--serve-only");
    cmd.env("ATTACK_ROOT", root.path());
    let mut shim = Shim::spawn(cmd, &home);
    shim.initialize();
    shim.request(1, "tools/list", json!({}));
    let answer = shim.call_tool(2, "identity", json!({}));
    let text = common::tool_text(&answer).to_owned();
    shim.close_stdin();
    shim.wait_exit(Duration::from_secs(10));
    assert_full_box(&wait_containment(&home));
    let identity: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{e}: {text}; stderr:\n{}", shim.stderr_text()));
    (identity, root)
}

fn assert_no_capabilities(identity: &Value) {
    let status = &identity["status"];
    for cap in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        assert_eq!(status[cap], "0000000000000000", "{cap}: {identity}");
    }
    assert_eq!(status["NoNewPrivs"], "1", "{identity}");
    assert_eq!(status["Seccomp"], "2", "{identity}");
}

#[test]
fn the_server_sees_the_users_own_ids_and_has_no_capabilities() {
    use std::os::unix::fs::MetadataExt;
    if !full_box_available() {
        return;
    }
    // As the test runs (root on the machines the project is tested on).
    let (identity, root) = identity_in_the_box(&[]);
    let own = std::fs::metadata(root.path()).unwrap();
    assert_eq!(identity["uid"], own.uid(), "{identity}");
    assert_eq!(identity["gid"], own.gid(), "{identity}");
    assert_eq!(identity["euid"], own.uid(), "{identity}");
    assert_eq!(identity["root_owner"], json!([own.uid(), own.gid()]), "{identity}");
    assert_no_capabilities(&identity);
    drop(root);
    // As an ordinary user 1000: the box no longer shows the server as root.
    let (identity, root) =
        identity_in_the_box(&["unshare", "--user", "--map-user=1000", "--map-group=1000", "--"]);
    assert_eq!(identity["uid"], 1000, "{identity}");
    assert_eq!(identity["gid"], 1000, "{identity}");
    assert_eq!(identity["egid"], 1000, "{identity}");
    assert_eq!(identity["root_owner"], json!([1000, 1000]), "{identity}");
    let id = identity["id"].as_str().unwrap_or_default();
    assert!(id.starts_with("uid=1000") && id.contains(" gid=1000"), "{identity}");
    assert_no_capabilities(&identity);
    drop(root);
}

#[test]
fn a_read_the_box_refuses_is_recorded_and_sandbox_allow_grants_it_from_the_next_start() {
    if !full_box_available() {
        return;
    }
    let home = Home::new();
    // The server is told it may read a second folder that the firewall does not know as a root,
    // and a rule lifts the protocol check's outside-roots guard: the box alone refuses.
    let policy = "# the person's own policy\n[settings]\ninfer_roots = false\n\
                  unattended = \"allow\" # no approver in this test\n\n[[rules]]\n\
                  server = \"files\"\naction = \"allow\"\nlift = [\"outside-roots\"]\n";
    home.policy(policy);
    let root = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let outside_dir = std::fs::canonicalize(outside.path()).unwrap();
    let notes = outside_dir.join("notes.txt");
    std::fs::write(&notes, "kept outside the root").unwrap();
    let root_s = root.path().display().to_string();
    let notes_s = notes.display().to_string();
    let server = vec![
        npm_server("mcp-server-filesystem").display().to_string(),
        root_s.clone(),
        outside_dir.display().to_string(),
    ];
    let read = || {
        scenario(
            &home,
            "read",
            &["--path", &notes_s],
            &["--name", "files", "--root", &root_s],
            &server,
            &[],
        )
    };
    let denials = |events: &[Value]| -> Vec<Value> {
        events.iter().filter(|e| e["method"] == "firewall/containment-denial").cloned().collect()
    };

    // 1. The read fails in the box; the client gets the server's own error, unchanged.
    let report = read();
    let text = report["read"]["text"].as_str().unwrap();
    assert_eq!(report["read"]["is_error"], true, "{report}");
    assert!(text.contains("EACCES") && text.contains(&notes_s), "{report}");
    assert!(!text.contains("kept outside the root"), "{report}");

    // 2. The history holds the denial: server, path, access, why, and what to run.
    let events = home.wait_events("a containment denial", |e| !denials(e).is_empty());
    let found = denials(&events);
    assert_eq!(found.len(), 1, "{found:#?}");
    let denial = &found[0];
    assert_eq!(denial["server"], "files", "{denial}");
    assert_eq!(denial["verdict"], "deny", "{denial}");
    assert_eq!(denial["tool"], "read_text_file", "{denial}");
    let finding = &denial["findings"][0];
    assert_eq!(finding["kind"], "containment-denial", "{denial}");
    assert_eq!(finding["path"], notes_s, "{denial}");
    assert_eq!(finding["access"], "read", "{denial}");
    assert_eq!(finding["why"], "outside-grants", "{denial}");
    let reason = denial["reason"].as_str().unwrap();
    assert!(reason.contains(&format!("mcpfw sandbox allow files --read {notes_s}")), "{reason}");

    // 3. `mcpfw sandbox allow` refuses MCP Firewall's own folders and, without --force, a
    //    sensitive location; it writes the grant into policy.toml, keeping the rest.
    let allow = |args: &[&str]| {
        let out = Command::new(mcpfw())
            .args(["sandbox", "allow", "files"])
            .args(args)
            .env("MCPFW_HOME", home.path())
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), text)
    };
    let (code, text) = allow(&["--read", &home.path().join("data").display().to_string()]);
    assert_eq!(code, Some(2), "{text}");
    assert!(text.contains("MCP Firewall's own folder"), "{text}");
    let user_home = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(user_home.path().join(".ssh")).unwrap();
    let out = Command::new(mcpfw())
        .args(["sandbox", "allow", "files", "--read", "~/.ssh"])
        .env("MCPFW_HOME", home.path())
        .env("HOME", user_home.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("sensitive location") && text.contains("--force"), "{text}");
    let unchanged = std::fs::read_to_string(home.path().join("config/policy.toml")).unwrap();
    assert_eq!(unchanged, policy, "a refused grant changed policy.toml");

    let (code, text) = allow(&["--read", &outside_dir.display().to_string()]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("when `files` next starts"), "{text}");
    let edited = std::fs::read_to_string(home.path().join("config/policy.toml")).unwrap();
    assert!(edited.starts_with(policy), "the rest of policy.toml changed:\n{edited}");
    assert!(
        edited
            .contains(&format!("[servers.files.sandbox]\nread = [\"{}\"]", outside_dir.display())),
        "{edited}"
    );
    let check = Command::new(mcpfw())
        .args(["policy", "check"])
        .env("MCPFW_HOME", home.path())
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));

    // 4. From the next start, the read works, and no new denial is recorded.
    let report = read();
    assert_eq!(report["read"]["is_error"], false, "{report}");
    assert_eq!(report["read"]["text"], "kept outside the root", "{report}");
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(denials(&home.events()).len(), 1, "a denial after the grant");
}

#[test]
fn when_the_kernel_refuses_the_servers_nested_namespace_it_is_not_started_and_the_client_is_told() {
    if !full_box_available() {
        return;
    }
    let home = Home::new();
    // One user namespace allowed below the test's: the launcher's; the server's nested one is
    // refused (ENOSPC).
    let mut cmd = Command::new("unshare");
    cmd.args(["--user", "--map-root-user", "--", "sh", "-c"]);
    cmd.arg("echo 1 > /proc/sys/user/max_user_namespaces && exec \"$0\" \"$@\"");
    cmd.arg(mcpfw()).args(["wrap", "--name", "small", "--"]);
    cmd.arg(python()).arg(support("attack_server.py")).arg("--serve-only");
    let mut shim = Shim::spawn(cmd, &home);
    let init = shim.initialize();
    assert_eq!(init["error"]["code"], -32010, "{init}");
    let message = init["error"]["message"].as_str().unwrap();
    assert!(message.contains("limit on user namespaces"), "{message}");
    shim.close_stdin();
    shim.wait_exit(Duration::from_secs(10));
    assert_eq!(wait_containment(&home)["verdict"], "deny");
}

/// Starts the filesystem server through the shim with a client that announces `roots` when the
/// server asks (`roots/list`); returns the shim and the folders the server then allows.
fn files_with_client_roots(home: &Home, root: &Path, roots: &[&Path]) -> (Shim, String) {
    let server =
        vec![npm_server("mcp-server-filesystem").display().to_string(), root.display().to_string()];
    let root_s = root.display().to_string();
    let mut shim = Shim::start(home, &["--name", "files", "--root", &root_s], &server);
    shim.request(
        0,
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": {"roots": {"listChanged": true}},
               "clientInfo": {"name": "mcpfw-tests", "version": "1"}}),
    );
    shim.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    let deadline = Instant::now() + Duration::from_secs(20);
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let Some(line) = shim.recv_raw(left) else { break };
        let v: Value = serde_json::from_slice(&line).unwrap();
        if v["method"] == "roots/list" {
            let list: Vec<Value> = roots
                .iter()
                .map(|r| json!({"uri": format!("file://{}", r.display()), "name": "project"}))
                .collect();
            shim.send(&json!({"jsonrpc": "2.0", "id": v["id"], "result": {"roots": list}}));
            // A call after the answer finds the roots taken in (or refused by the server).
            let listed = shim.call_tool(90, "list_allowed_directories", json!({}));
            return (shim, common::tool_text(&listed).to_owned());
        }
    }
    panic!("the server never asked for roots; stderr: {}", shim.stderr_text());
}

/// Roots a client announces after start cannot widen a running box: writes there are refused
/// by the system and the history says why; the roots are kept, and the server's next start
/// grants them.
#[test]
fn roots_announced_after_start_are_granted_from_the_next_start() {
    if !full_box_available() {
        return;
    }
    let home = Home::new();
    home.policy("[settings]\ninfer_roots = false\nunattended = \"allow\"\n");
    let root = tempfile::tempdir().unwrap();
    let later = tempfile::tempdir().unwrap();
    let target = later.path().join("notes.txt");
    let write = json!({"path": target.display().to_string(), "content": "written"});

    // In the running box the folder does not even exist for the server, which drops it.
    let (mut shim, _) = files_with_client_roots(&home, root.path(), &[later.path()]);
    let refused = shim.call_tool(1, "write_file", write.clone());
    assert!(!target.exists(), "the running box grew: {refused}");
    let events = home.wait_events("the record of the later roots", |events| {
        events.iter().any(|e| {
            e["method"] == "firewall/containment"
                && e["reason"].as_str().is_some_and(|r| r.contains("announced roots"))
        })
    });
    let record = events
        .iter()
        .find(|e| e["reason"].as_str().is_some_and(|r| r.contains("announced roots")))
        .unwrap();
    let reason = record["reason"].as_str().unwrap();
    assert!(reason.contains(&later.path().display().to_string()), "{reason}");
    assert!(reason.contains("granted from its next start"), "{reason}");
    shim.close_stdin();
    shim.wait_exit(Duration::from_secs(10));

    let (mut shim, _) = files_with_client_roots(&home, root.path(), &[later.path()]);
    // The server checks announced roots on its own time: wait until it allows the folder.
    let shown = later.path().display().to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    for id in 100.. {
        let listed = shim.call_tool(id, "list_allowed_directories", json!({}));
        if common::tool_text(&listed).contains(&shown) {
            break;
        }
        assert!(Instant::now() < deadline, "the server never took the root in: {listed}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let written = shim.call_tool(2, "write_file", write);
    assert_eq!(std::fs::read_to_string(&target).unwrap_or_default(), "written", "{written}");
    home.wait_events("the grant at start", |events| {
        events.iter().any(|e| {
            e["reason"].as_str().is_some_and(|r| {
                r.contains("announced while the server ran before are granted")
                    && r.contains(&later.path().display().to_string())
            })
        })
    });
    shim.close_stdin();
    shim.wait_exit(Duration::from_secs(10));
}
