//! Package identity and pinning against real npm packages installed from the registry into a
//! test npm cache (`npm exec`, as a client's `npx -y` would): what `npx` runs is resolved from
//! npm's own cache, pinned the first time, and a server whose package changes has its tools
//! withheld until the user trusts the new package.
//!
//! `pnpm dlx` (pnpm from tests/peers), `bunx` (bun from tests/peers), `uvx` (uv from the test
//! venv) and `pipx run` (pipx from the test venv) are resolved
//! the same way, from the installs those launchers made themselves into test caches.
//!
//! The packages come from the npm registry and PyPI the first time (a few MB, kept in the test
//! target's tmp folder for later runs).
// Unix suite: it uses Unix sockets, signals, file modes or symlinks directly (docs/platforms.md).
#![cfg(unix)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Home, Shim, mcpfw};
use serde_json::{Value, json};

const MEMORY: &str = "@modelcontextprotocol/server-memory";
const OLD: &str = "2026.7.4";
const NEW: &str = "2026.8.31";

/// The npm cache the tests install into, shared by the tests of a run and kept between runs.
fn cache() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("npm-cache")
}

/// A folder with no `node_modules` around it, so `npx` uses its own cache, not a local tree.
fn workdir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("npx-workdir");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn npm_env(cmd: &mut Command) -> &mut Command {
    cmd.env("npm_config_cache", cache())
        .env("npm_config_update_notifier", "false")
        .env("npm_config_fund", "false")
        .env("npm_config_audit", "false")
        .current_dir(workdir())
}

/// Installs `spec` where `npx -y SPEC` looks for it (npm's `_npx` folder for that spec), from
/// the registry, without running the package.
fn npx_install(spec: &str) {
    let out = npm_env(Command::new("npm").args([
        "exec",
        "--yes",
        "--package",
        spec,
        "--",
        "node",
        "-e",
        "0",
    ]))
    .output()
    .expect("npm is installed (scripts/setup.sh)");
    assert!(out.status.success(), "npm exec {spec}: {}", String::from_utf8_lossy(&out.stderr));
}

/// What npm itself wrote for `name` in the `_npx` folder of `spec`: (version, integrity).
fn npm_lock_entry(spec: &str, name: &str) -> (String, String) {
    let key = mcpfw_core::package::npx_cache_key(&[spec.to_owned()]);
    let lock: Value = serde_json::from_slice(
        &std::fs::read(cache().join("_npx").join(key).join("package-lock.json")).unwrap(),
    )
    .unwrap();
    let node = &lock["packages"][format!("node_modules/{name}")];
    (node["version"].as_str().unwrap().to_owned(), node["integrity"].as_str().unwrap().to_owned())
}

fn home() -> Home {
    let home = Home::new();
    // The server runs unboxed here: the test's npm cache is outside the places the box opens
    // to a launcher (the user's own ~/.npm).
    home.policy("[settings]\nunattended = \"allow\"\n[servers.memory.sandbox]\nmode = \"off\"\n");
    home
}

fn wrap(home: &Home, spec: &str) -> Shim {
    let mut cmd = Command::new(mcpfw());
    cmd.args(["wrap", "--name", "memory", "--", "npx", "-y", spec]);
    npm_env(&mut cmd).env("npm_config_prefer_offline", "true");
    let mut shim = Shim::spawn(cmd, home);
    shim.initialize();
    shim
}

fn tool_names(list: &Value) -> Vec<String> {
    list["result"]["tools"]
        .as_array()
        .unwrap_or_else(|| panic!("not a tools list: {list}"))
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

fn mcpfw_cli(home: &Home, args: &[&str]) -> (bool, String) {
    let out = npm_env(&mut Command::new(mcpfw()))
        .args(args)
        .env("MCPFW_HOME", home.path())
        .env("MCPFW_KEYRING", "off")
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[test]
fn npx_packages_resolve_from_npms_own_cache_pinned_or_not() {
    let pinned = format!("{MEMORY}@{NEW}");
    npx_install(&pinned);
    npx_install("is-number");
    let context = mcpfw::package::Context {
        env: [("npm_config_cache".to_owned(), cache().display().to_string())].into(),
        home: None,
    };
    let identity = mcpfw::package::identify(
        Path::new("/usr/bin/npx"),
        &["-y".into(), pinned.clone(), "--ignored".into()],
        None,
        &context,
    );
    let (version, integrity) = npm_lock_entry(&pinned, MEMORY);
    assert_eq!(version, NEW);
    assert_eq!(identity.name, MEMORY);
    assert_eq!(identity.resolved.as_deref(), Some(NEW), "{identity:?}");
    assert_eq!(identity.integrity.as_deref(), Some(integrity.as_str()));
    assert!(integrity.starts_with("sha512-"), "{integrity}");
    assert!(identity.pinned);

    // Unpinned: whatever npx installed for the bare name.
    let identity = mcpfw::package::identify(
        Path::new("npx"),
        &["-y".into(), "is-number".into()],
        None,
        &context,
    );
    let (version, integrity) = npm_lock_entry("is-number", "is-number");
    assert_eq!(identity.resolved.as_deref(), Some(version.as_str()), "{identity:?}");
    assert_eq!(identity.integrity.as_deref(), Some(integrity.as_str()));
    assert!(!identity.pinned);
    let finding = mcpfw_core::package::unpinned_finding(&identity).expect("unpinned").to_value();
    assert!(
        finding["evidence"].as_str().unwrap().contains(&format!("is-number@{version}")),
        "{finding}"
    );

    // Never installed: said, not guessed.
    let missing = mcpfw::package::identify(
        Path::new("npx"),
        &["-y".into(), "is-number@1.0.0".into()],
        None,
        &context,
    );
    assert_eq!(missing.integrity, None);
    assert!(missing.source.contains("not in npx's cache yet"), "{missing:?}");
}

#[test]
fn a_server_whose_package_changes_has_its_tools_withheld_until_the_user_trusts_it() {
    let (old, new) = (format!("{MEMORY}@{OLD}"), format!("{MEMORY}@{NEW}"));
    npx_install(&old);
    npx_install(&new);
    let home = home();

    // First start: the package is pinned, its tools pass.
    let mut shim = wrap(&home, &old);
    let first = tool_names(&shim.request(1, "tools/list", json!({})));
    assert!(first.contains(&"read_graph".to_owned()), "{first:?}");
    shim.close_stdin();
    shim.wait_exit(Duration::from_secs(15)).expect("the shim exits");
    let (ok, listed) = mcpfw_cli(&home, &["tools", "package", "memory", "--json"]);
    assert!(ok, "{listed}");
    let pin: Value = serde_json::from_str(listed.lines().next().unwrap()).unwrap();
    let (_, integrity) = npm_lock_entry(&old, MEMORY);
    assert_eq!(pin["status"], "trusted");
    assert_eq!(pin["identity"]["resolved"], OLD);
    assert_eq!(pin["identity"]["integrity"], integrity.as_str());

    // The same server, now another version: every tool is withheld and a call says why.
    let mut shim = wrap(&home, &new);
    assert_eq!(tool_names(&shim.request(1, "tools/list", json!({}))), Vec::<String>::new());
    let refused = shim.call_tool(2, "read_graph", json!({}));
    assert_eq!(refused["result"]["isError"], true, "{refused}");
    let reason = common::tool_text(&refused);
    assert!(reason.contains("the package behind server `memory` changed"), "{reason}");
    assert!(
        reason.contains(&format!("{MEMORY}@{OLD}")) && reason.contains(&format!("{MEMORY}@{NEW}")),
        "{reason}"
    );
    assert!(reason.contains("mcpfw tools trust memory --package"), "{reason}");
    let (ok, shown) = mcpfw_cli(&home, &["tools", "package", "memory"]);
    assert!(ok && shown.contains(&format!("{OLD} → {NEW}")), "{shown}");

    // `mcpfw scan` says the same.
    let (_, scanned) =
        mcpfw_cli(&home, &["scan", "--json", "--name", "memory", "--", "npx", "-y", &new]);
    let report: Value = serde_json::from_str(scanned.lines().next().unwrap_or("{}"))
        .unwrap_or_else(|e| panic!("{e}: {scanned}"));
    assert_eq!(report["package"]["resolved"], NEW, "{report}");
    assert_eq!(report["package"]["pinned"], true, "{report}");
    assert_eq!(report["package"]["pin"], "changed", "{report}");
    assert!(
        report["findings"].as_array().unwrap().iter().any(|f| f["kind"] == "package-changed"),
        "{report}"
    );

    // `mcpfw status` shows the package behind the client's wrapped entry, and the change.
    let user = tempfile::tempdir().unwrap();
    let config = user.path().join(".cursor/mcp.json");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    let entry = json!({"mcpServers": {"memory": {"command": mcpfw(), "args":
        ["wrap", "--name", "memory", "--", "npx", "-y", &new]}}});
    std::fs::write(&config, entry.to_string()).unwrap();
    let (ok, status) = status_of(&home, user.path(), true);
    let status: Value = serde_json::from_str(&status).unwrap_or_else(|e| panic!("{e}: {status}"));
    let package = &status[0]["package"];
    assert!(ok, "{status}");
    assert_eq!(
        (&package["ecosystem"], &package["name"], &package["resolved"], &package["status"]),
        (&json!("npm"), &json!(MEMORY), &json!(OLD), &json!("changed")),
        "{status}"
    );
    assert_eq!(package["integrity"], integrity.as_str(), "{status}");
    assert_eq!(package["change"]["resolved"], NEW, "{status}");
    assert_eq!(package["change"]["pinned"], true, "{status}");
    let (_, text) = status_of(&home, user.path(), false);
    assert!(
        text.contains(&format!("package npm {MEMORY} {OLD} (asked for {old}, pinned;"))
            && text.contains(&format!("package CHANGED — review: now {MEMORY} {NEW}"))
            && text.contains("mcpfw tools trust memory --package"),
        "{text}"
    );

    // Trusted: the running session gets its tools back.
    let (ok, trusted) = mcpfw_cli(&home, &["tools", "trust", "memory", "--package"]);
    assert!(ok, "{trusted}");
    let (_, text) = status_of(&home, user.path(), false);
    assert!(
        text.contains(&format!("package npm {MEMORY} {NEW} (asked for {new}, pinned;"))
            && text.contains("· trusted")
            && !text.contains("CHANGED"),
        "{text}"
    );
    let answered = shim.call_tool(3, "read_graph", json!({}));
    assert_ne!(answered["result"]["isError"], true, "{answered}");
    assert_eq!(tool_names(&shim.request(4, "tools/list", json!({}))), first);
    let events = home.wait_events("the withheld list is recorded", |events| {
        events.iter().any(|e| {
            e["findings"]
                .as_array()
                .is_some_and(|f| f.iter().any(|f| f["kind"] == "package-changed"))
        })
    });
    assert!(!events.is_empty());
}

/// `mcpfw status [--json] --client cursor` for the clients' files below `user`.
fn status_of(home: &Home, user: &Path, json: bool) -> (bool, String) {
    let mut args = vec!["status", "--client", "cursor"];
    if json {
        args.push("--json");
    }
    let out = Command::new(mcpfw())
        .args(&args)
        .env("HOME", user)
        .env_remove("XDG_CONFIG_HOME")
        .env("MCPFW_HOME", home.path())
        .env("MCPFW_KEYRING", "off")
        .output()
        .unwrap();
    let (text, errors) =
        (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "mcpfw {args:?}: {text}{errors}");
    (out.status.success(), if json { text.into_owned() } else { format!("{text}{errors}") })
}

/// The OSV fixtures zipped as OSV's ecosystem exports are (`all.zip`: one record per file).
fn osv_zip(dir: &Path) -> PathBuf {
    let path = dir.join("all.zip");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let fixtures = common::repo().join("tests/fixtures/osv");
    for name in ["GHSA-xvch-5gv4-984h.json", "MAL-0000-0001.json"] {
        zip.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
        std::io::Write::write_all(&mut zip, &std::fs::read(fixtures.join(name)).unwrap()).unwrap();
    }
    zip.finish().unwrap();
    path
}

fn scan_json(home: &Home, spec: &str) -> Value {
    let (_, out) = mcpfw_cli(home, &["scan", "--json", "--timeout", "20", "--", "npx", "-y", spec]);
    serde_json::from_str(out.lines().find(|l| l.starts_with('{')).unwrap_or("{}"))
        .unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn advisories_imported_offline_flag_a_vulnerable_version_and_refuse_a_malicious_package() {
    let home = home();
    let dir = tempfile::tempdir().unwrap();

    // Before any import, scan says that nothing was checked.
    npx_install("minimist@1.2.5");
    npx_install("minimist@1.2.6");
    let report = scan_json(&home, "minimist@1.2.5");
    assert_eq!(report["package"]["resolved"], "1.2.5", "{report}");
    assert!(
        report["package"]["advisories"]["note"].as_str().unwrap().contains("no advisory data"),
        "{report}"
    );

    // Bad input is refused with what is wrong.
    let not_osv = dir.path().join("x.json");
    std::fs::write(&not_osv, r#"{"hello": 1}"#).unwrap();
    let (ok, out) =
        mcpfw_cli(&home, &["advisories", "update", "--from", &not_osv.display().to_string()]);
    assert!(!ok && out.contains("holds no OSV record"), "{out}");

    let zip = osv_zip(dir.path());
    let (ok, out) =
        mcpfw_cli(&home, &["advisories", "update", "--from", &zip.display().to_string()]);
    assert!(ok && out.contains("imported 2 OSV records"), "{out}");
    let (ok, out) = mcpfw_cli(&home, &["advisories", "status", "--json"]);
    let status: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert!(ok && status["stale"] == false && status["import"]["stored"] == 2, "{status}");

    // The affected version gets the advisory, with its severity and fixed version.
    let report = scan_json(&home, "minimist@1.2.5");
    let finding = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "package-vulnerable")
        .unwrap_or_else(|| panic!("no advisory: {report}"))
        .clone();
    assert_eq!(finding["id"], "GHSA-xvch-5gv4-984h");
    assert_eq!(finding["advisory_severity"], "critical");
    assert_eq!(finding["fixed"], "1.2.6");
    assert!(finding["evidence"].as_str().unwrap().contains("CVE-2021-44906"), "{finding}");
    assert!(
        report["package"]["advisories"]["note"].as_str().unwrap().contains("imported today"),
        "{report}"
    );
    // The fixed version is outside the range: nothing.
    let report = scan_json(&home, "minimist@1.2.6");
    assert_eq!(report["package"]["resolved"], "1.2.6", "{report}");
    assert!(
        !report["findings"].as_array().unwrap().iter().any(|f| f["kind"] == "package-vulnerable"),
        "{report}"
    );

    // A known-malicious package never starts: the client's first request gets the reason.
    let squat = "@modelcontextprotocl/server-memory";
    let mut cmd = Command::new(mcpfw());
    cmd.args(["wrap", "--name", "memory-squat", "--", "npx", "-y", squat]);
    npm_env(&mut cmd);
    let mut shim = Shim::spawn(cmd, &home);
    let answer = shim.request(
        0,
        "initialize",
        json!({"protocolVersion": "2025-11-25", "capabilities": {},
               "clientInfo": {"name": "mcpfw-tests", "version": "1"}}),
    );
    let message = answer["error"]["message"].as_str().unwrap_or_else(|| panic!("{answer}"));
    assert!(
        message.contains("known to be malicious") && message.contains("MAL-0000-0001"),
        "{message}"
    );
    assert_eq!(answer["error"]["code"], -32011);
    assert_eq!(shim.wait_exit(Duration::from_secs(10)).map(|s| s.code()), Some(Some(1)));
    let events = home.wait_events("the refusal is recorded", |events| {
        events.iter().any(|e| e["server"] == "memory-squat" && e["verdict"] == "deny")
    });
    let refusal = events.iter().find(|e| e["server"] == "memory-squat").unwrap();
    assert!(refusal["reason"].as_str().unwrap().contains("MAL-0000-0001"), "{refusal}");

    // Scan does not start it either, and says why, and that the name imitates the official
    // server.
    let report = scan_json(&home, squat);
    assert!(report["error"].as_str().unwrap().contains("known to be malicious"), "{report}");
    let kinds: Vec<&str> =
        report["findings"].as_array().unwrap().iter().filter_map(|f| f["kind"].as_str()).collect();
    assert!(
        kinds.contains(&"package-malicious") && kinds.contains(&"package-typosquat"),
        "{report}"
    );
    assert!(
        !cache()
            .join("_npx")
            .join(mcpfw_core::package::npx_cache_key(&[squat.to_owned()]))
            .exists(),
        "npx never ran for it"
    );
}

#[test]
fn install_pin_pins_unpinned_specs_to_the_version_in_use_and_uninstall_puts_the_bytes_back() {
    npx_install(MEMORY);
    let (version, _) = npm_lock_entry(MEMORY, MEMORY);
    let home = home();
    let user = tempfile::tempdir().unwrap();
    let config = user.path().join(".cursor/mcp.json");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    let original = format!(
        r#"{{
  // my servers
  "mcpServers": {{
    "memory": {{ "command": "npx", "args": ["-y",  "{MEMORY}"], "env": {{"X": "1"}} }},
    "pinned": {{"command": "npx", "args": ["-y", "{MEMORY}@{OLD}"]}},
    "never-run": {{"command": "npx", "args": ["-y", "is-odd"]}},
    "squat": {{"command": "npx", "args": ["-y", "@modelcontextprotocl/server-memory"]}}
  }}
}}
"#
    );
    std::fs::write(&config, &original).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let run = |args: &[&str]| {
        cli_as_user(npm_env(&mut Command::new(mcpfw())), user.path(), home.path(), port, args)
    };

    let shown = run(&["install", "--pin", "--dry-run", "--client", "cursor"]);
    assert!(
        shown.contains("+    \"memory\"") && shown.contains(&format!("{MEMORY}@{version}")),
        "{shown}"
    );
    assert_eq!(std::fs::read_to_string(&config).unwrap(), original, "a dry run writes nothing");

    let out = run(&["install", "--pin", "--client", "cursor"]);
    assert!(
        out.contains(&format!(
            "memory: protected (runs through mcpfw wrap); pinned to {MEMORY}@{version}"
        )),
        "{out}"
    );
    assert!(out.contains("never-run: protected (runs through mcpfw wrap); not pinned: the version in use is not known"), "{out}");
    let installed = std::fs::read_to_string(&config).unwrap();
    let memory_line = installed.lines().find(|l| l.contains("\"memory\"")).unwrap();
    assert!(
        memory_line.contains(&format!(
            "\"--\", \"npx\", \"-y\",  \"{MEMORY}@{version}\"], \"env\": {{\"X\": \"1\"}} }},"
        )),
        "only the spec changed inside the wrapped entry: {memory_line}"
    );
    assert!(
        installed.contains(&format!("\"-y\", \"{MEMORY}@{OLD}\"]")),
        "a pinned spec stays: {installed}"
    );
    assert!(installed.contains("  // my servers\n"), "{installed}");
    let parsed: Vec<&str> = installed.lines().collect();
    assert_eq!(parsed.len(), original.lines().count(), "no line added or removed");

    assert!(
        out.contains(&format!(
            "squat: WARNING: its package `@modelcontextprotocl/server-memory` looks like the \
             well-known `{MEMORY}` (edit distance)"
        )),
        "{out}"
    );

    run(&["uninstall", "--client", "cursor"]);
    assert_eq!(std::fs::read_to_string(&config).unwrap(), original, "byte-exact round trip");

    // Entries protected earlier: `--pin` pins the spec inside the wrapped entry, and
    // uninstall still puts back the bytes from before the first install.
    let out = run(&["install", "--client", "cursor"]);
    assert!(!out.contains("pinned to"), "{out}");
    let wrapped = std::fs::read_to_string(&config).unwrap();
    let out = run(&["install", "--pin", "--client", "cursor"]);
    assert!(
        out.contains(&format!("memory: already protected; pinned to {MEMORY}@{version}")),
        "{out}"
    );
    let pinned = std::fs::read_to_string(&config).unwrap();
    let memory_line = pinned.lines().find(|l| l.contains("\"memory\"")).unwrap();
    assert!(
        memory_line.contains(&format!("\"--\", \"npx\", \"-y\",  \"{MEMORY}@{version}\"]")),
        "{memory_line}"
    );
    fn unchanged(text: &str) -> Vec<&str> {
        text.lines().filter(|l| !l.contains("\"memory\"")).collect()
    }
    assert_eq!(unchanged(&pinned), unchanged(&wrapped), "only the memory entry changed");
    let out = run(&["install", "--pin", "--client", "cursor"]);
    assert!(out.contains("mcpfw install: nothing to change"), "pinned once: {out}");
    run(&["uninstall", "--client", "cursor"]);
    assert_eq!(std::fs::read_to_string(&config).unwrap(), original, "byte-exact round trip");
}

#[test]
fn wrap_records_an_advisory_for_the_version_that_runs_and_still_runs_it() {
    let old = format!("{MEMORY}@{OLD}");
    npx_install(&old);
    let home = home();
    // A record in OSV's schema for a version of a real server (not a real advisory), given as
    // one JSON file holding an array of records.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("records.json");
    let record = json!([{
        "schema_version": "1.6.0", "id": "TEST-2026-0001", "modified": "2026-12-01T00:00:00Z",
        "summary": "Test record: not a real advisory",
        "affected": [{"package": {"ecosystem": "npm", "name": MEMORY},
                      "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}, {"fixed": NEW}]}]}],
        "database_specific": {"severity": "MODERATE"}
    }]);
    std::fs::write(&file, record.to_string()).unwrap();
    let (ok, out) =
        mcpfw_cli(&home, &["advisories", "update", "--from", &file.display().to_string()]);
    assert!(ok && out.contains("imported 1 OSV records"), "{out}");

    let mut shim = wrap(&home, &old);
    let tools = tool_names(&shim.request(1, "tools/list", json!({})));
    assert!(tools.contains(&"read_graph".to_owned()), "a vulnerable version still runs: {tools:?}");
    shim.close_stdin();
    shim.wait_exit(Duration::from_secs(15)).expect("the shim exits");
    let events = home.wait_events("the advisory is recorded", |events| {
        events.iter().any(|e| {
            e["kind"] == "detection"
                && e["findings"]
                    .as_array()
                    .is_some_and(|f| f.iter().any(|f| f["kind"] == "package-vulnerable"))
        })
    });
    let event =
        events.iter().find(|e| e["kind"] == "detection" && e["server"] == "memory").unwrap();
    let finding = &event["findings"][0];
    assert_eq!(
        (finding["id"].as_str(), finding["fixed"].as_str()),
        (Some("TEST-2026-0001"), Some(NEW)),
        "{event}"
    );
    assert_eq!(finding["advisory_severity"], "moderate");
}

/// A likely typosquat of the official memory server (`1` for `l` in the scope).
const SQUAT: &str = "@modelcontextprotoco1/server-memory";

/// An npm registry for the squat's scope only (python's http.server over a folder): the real
/// server-memory@OLD from npm's cache, renamed `SQUAT`, so that a real `npx` installs and runs
/// it under that name. Every other package comes from npm's own registry. Returns the server
/// and the npm user config that points the scope at it.
fn squat_registry(dir: &Path) -> (common::Background, PathBuf) {
    let old = format!("{MEMORY}@{OLD}");
    npx_install(&old);
    let key = mcpfw_core::package::npx_cache_key(std::slice::from_ref(&old));
    let real = cache().join("_npx").join(key).join("node_modules").join(MEMORY);
    let build = dir.join("build/package");
    std::fs::create_dir_all(&build).unwrap();
    let copied = Command::new("cp").arg("-r").arg(real.join(".")).arg(&build).status().unwrap();
    assert!(copied.success());
    let mut manifest: Value =
        serde_json::from_slice(&std::fs::read(build.join("package.json")).unwrap()).unwrap();
    manifest["name"] = json!(SQUAT);
    std::fs::write(build.join("package.json"), manifest.to_string()).unwrap();
    let served = dir.join("registry");
    std::fs::create_dir_all(served.join("@modelcontextprotoco1")).unwrap();
    let tarball = served.join("server-memory.tgz");
    let packed = Command::new("tar")
        .arg("-czf")
        .arg(&tarball)
        .arg("-C")
        .arg(dir.join("build"))
        .arg("package")
        .status()
        .unwrap();
    assert!(packed.success());
    let integrity = Command::new("python3")
        .args([
            "-c",
            "import base64, hashlib, sys; print('sha512-' + base64.b64encode(hashlib.sha512(\
             open(sys.argv[1], 'rb').read()).digest()).decode())",
        ])
        .arg(&tarball)
        .output()
        .unwrap();
    let integrity = String::from_utf8(integrity.stdout).unwrap().trim().to_owned();
    let port = common::free_port();
    let mut version = manifest.clone();
    version["dist"] = json!({"tarball": format!("http://127.0.0.1:{port}/server-memory.tgz"),
                             "integrity": integrity});
    let packument =
        json!({"name": SQUAT, "dist-tags": {"latest": OLD}, "versions": {OLD: version}});
    std::fs::write(served.join(SQUAT), packument.to_string()).unwrap();
    let mut cmd = Command::new("python3");
    cmd.args(["-m", "http.server", "--bind", "127.0.0.1", &port.to_string(), "--directory"])
        .arg(&served);
    let server = common::Background::start(cmd);
    common::wait_listening(port, "the test registry");
    let npmrc = dir.join("npmrc");
    std::fs::write(&npmrc, format!("@modelcontextprotoco1:registry=http://127.0.0.1:{port}/\n"))
        .unwrap();
    (server, npmrc)
}

/// `mcpfw daemon` on `home`, with its approval socket answering.
fn daemon(home: &Home) -> common::Background {
    let mut cmd = Command::new(mcpfw());
    cmd.args(["daemon", "--timeout", "60", "--no-notify"])
        .env("MCPFW_HOME", home.path())
        .env("MCPFW_KEYRING", "off");
    let daemon = common::Background::start(cmd);
    let socket = home.path().join("run/mcpfw.sock");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while std::os::unix::net::UnixStream::connect(&socket).is_err() {
        assert!(std::time::Instant::now() < deadline, "the daemon did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    daemon
}

fn pending(home: &Home) -> Vec<Value> {
    let (ok, out) = mcpfw_cli(home, &["pending", "--json"]);
    assert!(ok, "{out}");
    out.lines().filter(|l| l.starts_with('{')).map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn wait_pending(home: &Home) -> Value {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(p) = pending(home).into_iter().next() {
            return p;
        }
        assert!(std::time::Instant::now() < deadline, "nothing was asked");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wrap_squat(home: &Home, npmrc: Option<&Path>) -> Shim {
    let mut cmd = Command::new(mcpfw());
    cmd.args(["wrap", "--name", "squat", "--", "npx", "-y", &format!("{SQUAT}@{OLD}")]);
    npm_env(&mut cmd).env("npm_config_prefer_offline", "true");
    if let Some(npmrc) = npmrc {
        cmd.env("npm_config_userconfig", npmrc);
    }
    let mut shim = Shim::spawn(cmd, home);
    shim.send(&json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params":
        {"protocolVersion": "2025-11-25", "capabilities": {},
         "clientInfo": {"name": "mcpfw-tests", "version": "1"}}}));
    shim
}

#[test]
fn a_likely_typosquat_asks_before_its_first_start_and_runs_once_allowed() {
    let home = Home::new();
    // `unattended = "allow"` does not let a squat start when nobody can be asked.
    home.policy("[settings]\nunattended = \"allow\"\n[servers.squat.sandbox]\nmode = \"off\"\n");
    let dir = tempfile::tempdir().unwrap();
    let squat_folder =
        cache().join("_npx").join(mcpfw_core::package::npx_cache_key(&[format!("{SQUAT}@{OLD}")]));
    let _ = std::fs::remove_dir_all(&squat_folder);

    // Nobody to ask: refused before anything runs, with the evidence and the fix.
    let mut shim = wrap_squat(&home, None);
    let answer = shim.response(&json!(0));
    let message = answer["error"]["message"].as_str().unwrap_or_else(|| panic!("{answer}"));
    assert_eq!(answer["error"]["code"], -32012, "{answer}");
    assert!(
        message.contains(&format!("its package `{SQUAT}` looks like the well-known `{MEMORY}`"))
            && message.contains("confusable characters")
            && message.contains("nobody could be asked")
            && message.contains("allow it when asked"),
        "{message}"
    );
    assert_eq!(answer["error"]["data"]["imitates"], MEMORY);
    assert_eq!(shim.wait_exit(Duration::from_secs(10)).map(|s| s.code()), Some(Some(1)));
    assert!(!squat_folder.exists(), "npx never ran");
    let events = home.wait_events("the refusal is recorded", |events| {
        events.iter().any(|e| e["server"] == "squat" && e["verdict"] == "deny")
    });
    let refusal = events.iter().find(|e| e["server"] == "squat").unwrap();
    assert_eq!(refusal["decided_by"], "firewall", "{refusal}");
    assert_eq!(refusal["findings"][0]["kind"], "package-typosquat", "{refusal}");

    // With the daemon running, the person is asked; a refusal is told to the client.
    let _daemon = daemon(&home);
    let (_registry, npmrc) = squat_registry(dir.path());
    let mut shim = wrap_squat(&home, Some(&npmrc));
    let asked = wait_pending(&home);
    let request = &asked["request"];
    assert_eq!((&request["tool"], &request["server"]), (&json!("package.start"), &json!("squat")));
    let reason = request["reason"].as_str().unwrap();
    assert!(reason.contains(SQUAT) && reason.contains(MEMORY), "{reason}");
    let (ok, out) = mcpfw_cli(&home, &["deny", &asked["id"].to_string()]);
    assert!(ok, "{out}");
    let answer = shim.response(&json!(0));
    assert_eq!(answer["error"]["code"], -32012, "{answer}");
    assert!(answer["error"]["message"].as_str().unwrap().contains("you refused"), "{answer}");
    shim.wait_exit(Duration::from_secs(10)).expect("the shim exits");
    assert!(!squat_folder.exists(), "npx never ran");

    // Allowed (in two steps): it starts, and its package is pinned for the server.
    let mut shim = wrap_squat(&home, Some(&npmrc));
    let asked = wait_pending(&home);
    let id = asked["id"].to_string();
    let (ok, first) = mcpfw_cli(&home, &["approve", &id]);
    assert!(ok, "{first}");
    if first.contains("Step 2 of 2") {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while !mcpfw_cli(&home, &["approve", &id, "--confirm"]).0 {
            assert!(std::time::Instant::now() < deadline, "the confirmation was not accepted");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    let answer = shim.response(&json!(0));
    assert!(answer["result"].is_object(), "{answer}");
    shim.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    let tools = tool_names(&shim.request(1, "tools/list", json!({})));
    assert!(tools.contains(&"read_graph".to_owned()), "{tools:?}");
    shim.close_stdin();
    shim.wait_exit(Duration::from_secs(15)).expect("the shim exits");
    let (ok, listed) = mcpfw_cli(&home, &["tools", "package", "squat", "--json"]);
    let pin: Value = serde_json::from_str(listed.lines().next().unwrap_or("{}"))
        .unwrap_or_else(|e| panic!("{e}: {listed}"));
    assert!(ok && pin["identity"]["name"] == SQUAT && pin["status"] == "trusted", "{pin}");
    assert_eq!(pin["identity"]["resolved"], OLD, "{pin}");

    // Not asked again.
    let mut shim = wrap_squat(&home, Some(&npmrc));
    let answer = shim.response(&json!(0));
    assert!(answer["result"].is_object(), "{answer}");
    assert!(pending(&home).is_empty(), "asked again");
    shim.close_stdin();
    shim.wait_exit(Duration::from_secs(15)).expect("the shim exits");
    let events = home.events();
    let allowed = events
        .iter()
        .find(|e| e["server"] == "squat" && e["verdict"] == "allow" && e["decided_by"] == "user")
        .unwrap_or_else(|| panic!("the approval is recorded: {events:?}"));
    assert_eq!(allowed["findings"][0]["imitates"], MEMORY);
}

#[test]
fn advisories_are_downloaded_from_an_address_over_https_or_from_this_computer_only() {
    let home = home();
    let dir = tempfile::tempdir().unwrap();
    osv_zip(dir.path());
    std::fs::write(dir.path().join("junk.zip"), b"PK\x03\x04 but not a zip").unwrap();
    let port = common::free_port();
    let mut cmd = Command::new("python3");
    cmd.args(["-m", "http.server", "--bind", "127.0.0.1", &port.to_string(), "--directory"])
        .arg(dir.path());
    let _server = common::Background::start(cmd);
    common::wait_listening(port, "python http.server");

    let url = format!("http://127.0.0.1:{port}/all.zip");
    let (ok, out) = mcpfw_cli(&home, &["advisories", "update", "--from", &url]);
    assert!(ok && out.contains(&format!("imported 2 OSV records from {url}")), "{out}");
    let (_, out) = mcpfw_cli(&home, &["advisories", "status", "--json"]);
    let status: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(status["import"]["source"], url.as_str(), "{status}");
    assert_eq!(status["import"]["stored"], 2, "{status}");

    // Clear refusals: a missing file, a file that is not what it claims, plain http to
    // another computer, another scheme.
    let missing = format!("http://127.0.0.1:{port}/missing.zip");
    let (ok, out) = mcpfw_cli(&home, &["advisories", "update", "--from", &missing]);
    assert!(!ok && out.contains("the server answered 404"), "{out}");
    let junk = format!("http://127.0.0.1:{port}/junk.zip");
    let (ok, out) = mcpfw_cli(&home, &["advisories", "update", "--from", &junk]);
    assert!(!ok && out.contains("is not a readable zip file"), "{out}");
    let (ok, out) =
        mcpfw_cli(&home, &["advisories", "update", "--from", "http://example.com/all.zip"]);
    assert!(!ok && out.contains("https only"), "{out}");
    let (ok, out) =
        mcpfw_cli(&home, &["advisories", "update", "--from", "ftp://127.0.0.1/all.zip"]);
    assert!(!ok && out.contains("is not supported"), "{out}");
    let closed = format!("http://127.0.0.1:{}/all.zip", common::free_port());
    let (ok, out) = mcpfw_cli(&home, &["advisories", "update", "--from", &closed]);
    assert!(!ok && out.contains("cannot download"), "{out}");
    // The failed attempts left the imported data as it was.
    let (_, out) = mcpfw_cli(&home, &["advisories", "status", "--json"]);
    let status: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(status["import"]["source"], url.as_str(), "{status}");
}

/// The tests' pipx home: `pipx run` keeps its environments in its `.cache` folder.
fn pipx_home() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("pipx-home")
}

fn pipx_env(cmd: &mut Command) -> &mut Command {
    let home = pipx_home();
    // pipx 1.18 hands `pipx run` to `uv tool run` whenever uv is installed beside it (the test
    // venv has uv for the uvx tests): these tests are about the environments pipx itself keeps.
    cmd.env("PIPX_DEFAULT_BACKEND", "pip")
        .env("PIPX_HOME", &home)
        .env("PIPX_BIN_DIR", home.join("bin"))
        .env("PIPX_MAN_DIR", home.join("man"))
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .current_dir(workdir())
}

/// Runs `pipx run ARGS…` (the real pipx, from the test venv): it installs the package from
/// PyPI into an environment of its cache, or reuses the one it has.
fn pipx_run(args: &[&str]) {
    let pipx = common::repo().join(".venv/bin/pipx");
    assert!(pipx.is_file(), "pipx is installed in .venv (tests/peers/requirements.txt)");
    let out = pipx_env(Command::new(pipx).arg("run").args(args)).output().unwrap();
    assert!(out.status.success(), "pipx run {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// The `RECORD` pip wrote for `dist` (`name-version`) in the pipx environment(s) holding it.
fn pipx_records(dist: &str) -> Vec<PathBuf> {
    let mut records = Vec::new();
    for venv in std::fs::read_dir(pipx_home().join(".cache")).unwrap().flatten() {
        for python in std::fs::read_dir(venv.path().join("lib")).into_iter().flatten().flatten() {
            let record = python.path().join(format!("site-packages/{dist}.dist-info/RECORD"));
            if record.is_file() {
                records.push(record);
            }
        }
    }
    records
}

fn sha256_of(path: &Path) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

fn words(line: &str) -> Vec<String> {
    line.split_whitespace().map(str::to_owned).collect()
}

#[test]
fn pipx_run_resolves_from_the_environment_pipx_keeps_for_the_spec() {
    // A tiny package from PyPI, pinned and not.
    pipx_run(&["pycowsay==0.0.0.2", "hi"]);
    pipx_run(&["--spec", "PyCowSay", "pycowsay", "hi"]);
    let context = mcpfw::package::Context {
        env: [("PIPX_HOME".to_owned(), pipx_home().display().to_string())].into(),
        home: None,
    };
    let identity = mcpfw::package::identify(
        Path::new("pipx"),
        &words("run pycowsay==0.0.0.2 hi"),
        None,
        &context,
    );
    let records = pipx_records("pycowsay-0.0.0.2");
    assert!(!records.is_empty(), "pipx installed pycowsay 0.0.0.2 in its cache");
    let record = format!("record-sha256:{}", sha256_of(&records[0]));
    assert_eq!(
        (identity.ecosystem.as_str(), identity.name.as_str(), identity.resolved.as_deref()),
        ("pypi", "pycowsay", Some("0.0.0.2")),
        "{identity:?}"
    );
    assert_eq!(identity.integrity.as_deref(), Some(record.as_str()), "{identity:?}");
    assert!(identity.pinned, "{identity:?}");
    assert!(identity.source.contains("pycowsay-0.0.0.2.dist-info"), "{identity:?}");

    // A uv tool is read the same way: its folder holds such an environment.
    let tools = tempfile::tempdir().unwrap();
    let venv = records[0].ancestors().nth(5).unwrap();
    std::os::unix::fs::symlink(venv, tools.path().join("pycowsay")).unwrap();
    let uv = mcpfw::package::Context {
        env: [("UV_TOOL_DIR".to_owned(), tools.path().display().to_string())].into(),
        home: None,
    };
    let tool = mcpfw::package::identify(Path::new("uvx"), &words("PyCowSay"), None, &uv);
    assert_eq!(tool.resolved.as_deref(), Some("0.0.0.2"), "{tool:?}");
    assert_eq!(tool.integrity.as_deref(), Some(record.as_str()), "{tool:?}");

    // Unpinned (`--spec` names it, in another spelling): the version in pipx's environment
    // for that spec.
    let unpinned = mcpfw::package::identify(
        Path::new("/usr/bin/pipx"),
        &words("run --spec PyCowSay pycowsay"),
        None,
        &context,
    );
    let version = unpinned.resolved.clone().expect("resolved");
    assert!(!unpinned.pinned);
    assert!(
        pipx_records(&format!("pycowsay-{version}"))
            .iter()
            .any(|r| unpinned.integrity == Some(format!("record-sha256:{}", sha256_of(r)))),
        "{unpinned:?}"
    );

    // Never run: said, not guessed.
    let missing =
        mcpfw::package::identify(Path::new("pipx"), &words("run pycowsay<1"), None, &context);
    assert_eq!((missing.resolved, missing.integrity), (None, None));
    assert!(missing.source.contains("not in pipx's cache yet"), "{}", missing.source);

    // `mcpfw install --pin` pins the unpinned spec to that version; uninstall puts it back.
    let user = tempfile::tempdir().unwrap();
    let config = user.path().join(".cursor/mcp.json");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    let original = r#"{"mcpServers": {"cow": {"command": "pipx", "args": ["run", "--spec", "PyCowSay", "pycowsay"]}}}"#;
    std::fs::write(&config, original).unwrap();
    let mcpfw_home = home();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let run = |args: &[&str]| {
        let home = mcpfw_home.path();
        cli_as_user(pipx_env(&mut Command::new(mcpfw())), user.path(), home, port, args)
    };
    let out = run(&["install", "--pin", "--client", "cursor"]);
    assert!(out.contains(&format!("pinned to pycowsay=={version}")), "{out}");
    let installed = std::fs::read_to_string(&config).unwrap();
    assert!(
        installed
            .contains(&format!(r#""pipx", "run", "--spec", "pycowsay=={version}", "pycowsay"]"#)),
        "{installed}"
    );
    run(&["uninstall", "--client", "cursor"]);
    assert_eq!(std::fs::read_to_string(&config).unwrap(), original);

    // `mcpfw scan --json` reports it (pycowsay is no MCP server: the package is still read).
    let report = scan_pipx_run(pipx_env(&mut Command::new(mcpfw())), "pycowsay==0.0.0.2");
    assert_eq!(report["package"]["resolved"], "0.0.0.2", "{report}");
    assert_eq!(report["package"]["integrity"], record.as_str(), "{report}");
}

/// `mcpfw scan --json -- pipx run SPEC` (the real pipx, from the test venv) with `cmd`'s
/// environment: the report.
fn scan_pipx_run(cmd: &mut Command, spec: &str) -> Value {
    let home = home();
    let out = cmd
        .args(["scan", "--json", "--timeout", "10", "--", "pipx", "run", spec])
        .env("MCPFW_HOME", home.path())
        .env("MCPFW_KEYRING", "off")
        .env("PATH", format!("{}:/usr/bin:/bin", common::repo().join(".venv/bin").display()))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    serde_json::from_str(text.lines().find(|l| l.starts_with('{')).unwrap_or("{}"))
        .unwrap_or_else(|e| panic!("{e}: {text}{}", String::from_utf8_lossy(&out.stderr)))
}

/// The RECORDs of `dist` (`name-version`) in uv's throw-away environments under `cache`.
fn uv_records(cache: &Path, dist: &str) -> Vec<PathBuf> {
    let mut records = Vec::new();
    for key in std::fs::read_dir(cache.join("environments-v2")).into_iter().flatten().flatten() {
        for link in std::fs::read_dir(key.path()).into_iter().flatten().flatten() {
            for python in std::fs::read_dir(link.path().join("lib")).into_iter().flatten().flatten()
            {
                let record = python.path().join(format!("site-packages/{dist}.dist-info/RECORD"));
                if record.is_file() {
                    records.push(record);
                }
            }
        }
    }
    records
}

#[test]
fn pipx_run_under_its_uv_backend_resolves_from_uvs_cache() {
    let pipx = common::repo().join(".venv/bin/pipx");
    assert!(pipx.is_file(), "pipx is installed in .venv (tests/peers/requirements.txt)");
    assert!(common::repo().join(".venv/bin/uv").is_file(), "uv is installed beside pipx");
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let (home, cache, tools) =
        (tmp.join("pipx-uv-home"), tmp.join("pipx-uv-cache"), tmp.join("pipx-uv-no-tools"));
    let uv_env = |cmd: &mut Command| -> Command {
        let mut cmd = std::mem::replace(cmd, Command::new("true"));
        cmd.env_remove("PIPX_DEFAULT_BACKEND")
            .env("PIPX_HOME", &home)
            .env("PIPX_BIN_DIR", home.join("bin"))
            .env("PIPX_MAN_DIR", home.join("man"))
            .env("UV_CACHE_DIR", &cache)
            .env("UV_TOOL_DIR", &tools)
            .env("UV_PYTHON_DOWNLOADS", "never")
            .current_dir(workdir())
            .stdin(Stdio::null());
        cmd
    };
    // The real pipx, left to choose its backend: it finds the uv installed beside it and hands
    // the run to `uv tool run`, which makes the environment in uv's cache, from PyPI.
    let out =
        uv_env(Command::new(&pipx).args(["run", "pycowsay==0.0.0.2", "hi"])).output().unwrap();
    assert!(out.status.success(), "pipx run: {}", String::from_utf8_lossy(&out.stderr));
    let records = uv_records(&cache, "pycowsay-0.0.0.2");
    assert!(!records.is_empty(), "uv made the environment in its cache");
    let own = std::fs::read_dir(home.join(".cache")).into_iter().flatten().flatten();
    assert!(
        !own.into_iter().any(|venv| venv.path().join("pipx_metadata.json").exists()),
        "pipx made no environment of its own"
    );
    // What uv installed (a uv of another version may have made another environment for the
    // same request in an earlier run: the same version, one of their RECORDs).
    let hashes: Vec<String> =
        records.iter().map(|r| format!("record-sha256:{}", sha256_of(r))).collect();

    let env = |pairs: &[(&str, &Path)]| mcpfw::package::Context {
        env: [("PIPX_HOME", &*home), ("UV_CACHE_DIR", &*cache), ("UV_TOOL_DIR", &*tools)]
            .iter()
            .chain(pairs)
            .map(|(k, v)| ((*k).to_owned(), v.display().to_string()))
            .collect(),
        home: None,
    };
    let identify = |program: &Path, line: &str, context: &mcpfw::package::Context| {
        mcpfw::package::identify(program, &words(line), None, context)
    };

    // As pipx decided it: the uv beside pipx, so uv's environment.
    let found = identify(&pipx, "run pycowsay==0.0.0.2 hi", &env(&[]));
    assert_eq!(
        (found.ecosystem.as_str(), found.name.as_str(), found.resolved.as_deref()),
        ("pypi", "pycowsay", Some("0.0.0.2")),
        "{found:?}"
    );
    let record = found.integrity.clone().unwrap_or_default();
    assert!(hashes.contains(&record), "{found:?} {hashes:?}");
    assert!(found.pinned, "{found:?}");
    assert!(found.source.contains("pycowsay-0.0.0.2.dist-info"), "{found:?}");
    let uv = common::repo().join(".venv/bin/uv");
    assert!(
        found.source.contains("(uv's environment; pipx's uv backend: uv ")
            && found.source.contains(&format!("at {})", uv.display())),
        "{}",
        found.source
    );

    // Named by the environment or `--backend`, and unpinned (`--spec` in another spelling):
    // the same environment, and the source says why.
    // A pipx with no uv beside it (and no PATH here).
    let bare = &home.join("bin/pipx");
    let named = identify(bare, "run --spec PyCowSay pycowsay", &env(&[]));
    let context = mcpfw::package::Context {
        env: [("PIPX_DEFAULT_BACKEND".to_owned(), "uv".to_owned())]
            .into_iter()
            .chain(env(&[]).env)
            .collect(),
        home: None,
    };
    let by_env = identify(bare, "run --spec PyCowSay pycowsay", &context);
    let by_flag = identify(bare, "run --backend uv pycowsay==0.0.0.2", &env(&[]));
    for (identity, why) in [(&by_env, "PIPX_DEFAULT_BACKEND=uv"), (&by_flag, "--backend uv")] {
        assert_eq!(
            (identity.resolved.as_deref(), identity.integrity.as_deref()),
            (Some("0.0.0.2"), Some(record.as_str())),
            "{identity:?}"
        );
        assert!(
            identity.source.contains(&format!("(uv's environment; pipx's uv backend: {why})")),
            "{}",
            identity.source
        );
    }
    assert!(!by_env.pinned);

    // No uv where pipx would look: pipx's own cache first, which holds nothing
    // for it, then uv's, and the source says so.
    assert_eq!(named.integrity.as_deref(), Some(record.as_str()), "{named:?}");
    assert!(
        named.source.contains("(uv's environment, as not in pipx's cache yet")
            && named.source.contains("pipx's pip backend: no uv beside pipx or on PATH"),
        "{}",
        named.source
    );

    // pipx's pip backend named: pipx's cache only, which has nothing for it.
    let pip = mcpfw::package::Context {
        env: [("PIPX_DEFAULT_BACKEND".to_owned(), "pip".to_owned())]
            .into_iter()
            .chain(env(&[]).env)
            .collect(),
        home: None,
    };
    let missing = identify(&pipx, "run --spec PyCowSay pycowsay", &pip);
    assert_eq!((missing.resolved, missing.integrity), (None, None));
    assert!(
        missing.source.contains("not in pipx's cache yet")
            && missing.source.contains("pipx's pip backend: PIPX_DEFAULT_BACKEND=pip"),
        "{}",
        missing.source
    );

    // `mcpfw scan --json` runs it through the real pipx and reports uv's environment.
    let report = scan_pipx_run(&mut uv_env(&mut Command::new(mcpfw())), "pycowsay==0.0.0.2");
    assert_eq!(report["package"]["resolved"], "0.0.0.2", "{report}");
    assert_eq!(report["package"]["integrity"], record.as_str(), "{report}");
}

/// The tests' pnpm cache (its `dlx` folder) and store, kept between runs.
fn pnpm_env(cmd: &mut Command) -> &mut Command {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    // pnpm 10 reads its settings from `npm_config_*`, pnpm 11 on from `pnpm_config_*`.
    cmd.env("pnpm_config_cache_dir", tmp.join("pnpm-cache"))
        .env("npm_config_cache_dir", tmp.join("pnpm-cache"))
        .env("pnpm_config_store_dir", tmp.join("pnpm-store"))
        .env("npm_config_store_dir", tmp.join("pnpm-store"))
        .env("pnpm_config_update_notifier", "false")
        .env("XDG_DATA_HOME", tmp.join("pnpm-data"))
        .current_dir(workdir())
}

fn pnpm() -> PathBuf {
    let pnpm = common::repo().join("tests/peers/node_modules/.bin/pnpm");
    assert!(pnpm.exists(), "pnpm is installed in tests/peers (npm ci --prefix tests/peers)");
    pnpm
}

/// Runs `pnpm dlx ARGS…` (the real pnpm): it installs the package from the registry into a
/// folder of its cache, or reuses the one it has.
fn pnpm_dlx(args: &[&str]) {
    let out = pnpm_env(Command::new(pnpm()).arg("dlx").args(args)).output().unwrap();
    assert!(out.status.success(), "pnpm dlx {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn pnpm_dlx_resolves_from_pnpms_own_lockfile_and_a_server_run_through_it_is_pinned() {
    pnpm_dlx(&["semver@7.6.2", "1.2.3"]);
    pnpm_dlx(&["semver@7.6.3", "1.2.3"]);
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pnpm-cache");
    let context = mcpfw::package::Context {
        env: [("pnpm_config_cache_dir".to_owned(), cache.display().to_string())].into(),
        home: None,
    };
    let dlx = |line: &str| mcpfw::package::identify(&pnpm(), &words(line), None, &context);

    // Pinned: that version, though another was installed since, with its registry integrity.
    let older = dlx("dlx semver@7.6.2 1.2.3");
    assert_eq!(older.resolved.as_deref(), Some("7.6.2"), "{older:?}");
    let integrity = older.integrity.clone().expect("integrity");
    assert!(integrity.starts_with("sha512-"), "{integrity}");
    let lock = std::fs::read_to_string(&older.source).unwrap();
    assert!(lock.contains(&format!("integrity: {integrity}")), "{lock}");
    let newer = dlx("dlx semver@7.6.3");
    assert_eq!(newer.resolved.as_deref(), Some("7.6.3"), "{newer:?}");
    assert_ne!(newer.integrity, older.integrity);
    // A range: the install that fits it and ran last; one that fits none is not in the cache.
    assert_eq!(dlx("dlx semver@~7.6.0").resolved.as_deref(), Some("7.6.3"));
    assert_eq!(dlx("dlx --cache-dir /nonexistent semver@7.6.3").integrity, None);
    let missing = dlx("dlx semver@^5");
    assert_eq!((missing.resolved, missing.integrity), (None, None));
    assert!(missing.source.contains("not in pnpm dlx's cache yet"), "{}", missing.source);

    // A real server through `pnpm dlx`: its package is pinned when it lists its tools, with
    // the integrity npm's registry gives.
    let spec = format!("{MEMORY}@{NEW}");
    npx_install(&spec);
    let (_, registry_integrity) = npm_lock_entry(&spec, MEMORY);
    let home = home();
    let mut cmd = Command::new(mcpfw());
    cmd.args(["wrap", "--name", "memory", "--"]).arg(pnpm()).args(["dlx", &spec]);
    pnpm_env(&mut cmd);
    memory_is_pinned_when_it_lists_its_tools(cmd, &home, &registry_integrity);

    // `mcpfw scan --json` reads the same, and finds it pinned.
    let pnpm = pnpm().display().to_string();
    let mut cmd = Command::new(mcpfw());
    pnpm_env(&mut cmd)
        .args(["scan", "--json", "--timeout", "20", "--name", "memory", "--", &pnpm, "dlx", &spec])
        .env("MCPFW_HOME", home.path())
        .env("MCPFW_KEYRING", "off");
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let report: Value =
        serde_json::from_str(text.lines().find(|l| l.starts_with('{')).unwrap_or("{}"))
            .unwrap_or_else(|e| panic!("{e}: {text}{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(report["package"]["resolved"], NEW, "{report}");
    assert_eq!(report["package"]["integrity"], registry_integrity.as_str(), "{report}");
    assert_eq!(report["package"]["pin"], "pinned", "{report}");
}

#[test]
fn uvx_throw_away_environments_resolve_from_uvs_cache() {
    let uvx = common::repo().join(".venv/bin/uvx");
    assert!(uvx.exists(), "uv is installed in the test venv (tests/peers/requirements.txt)");
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let (cache, tools) = (tmp.join("uv-cache"), tmp.join("uv-no-tools"));
    // The real uvx makes the environment from PyPI (and runs the server's --help).
    let run = |spec: &str| {
        let out = Command::new(&uvx)
            .args([spec, "--help"])
            .env("UV_CACHE_DIR", &cache)
            .env("UV_TOOL_DIR", &tools)
            .env("UV_PYTHON_DOWNLOADS", "never")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "uvx {spec}: {}", String::from_utf8_lossy(&out.stderr));
    };
    const TIME: &str = "mcp-server-time";
    const VERSION: &str = "2026.10.19";
    run(&format!("{TIME}@{VERSION}"));
    let context = mcpfw::package::Context {
        env: [
            ("UV_CACHE_DIR".to_owned(), cache.display().to_string()),
            ("UV_TOOL_DIR".to_owned(), tools.display().to_string()),
        ]
        .into(),
        home: None,
    };
    let identify =
        |spec: &str| mcpfw::package::identify(Path::new("uvx"), &[spec.to_owned()], None, &context);
    let pinned = identify(&format!("{TIME}@{VERSION}"));
    assert_eq!(pinned.resolved.as_deref(), Some(VERSION), "{pinned:?}");
    let record = pinned.integrity.clone().expect("the RECORD's hash");
    assert!(record.starts_with("record-sha256:"), "{record}");
    assert!(pinned.source.contains("mcp_server_time-2026.10.19.dist-info"), "{pinned:?}");
    // Unpinned: the one environment uvx has for it.
    let unpinned = identify(TIME);
    assert_eq!(unpinned.resolved.as_deref(), Some(VERSION), "{unpinned:?}");
    assert_eq!(unpinned.integrity.as_deref(), Some(record.as_str()));
    // A version uvx never ran: said, nothing made up.
    let other = identify(&format!("{TIME}@2025.1.1"));
    assert_eq!(other.integrity, None, "{other:?}");
    assert!(other.source.contains("not in uvx's cache either"), "{}", other.source);
}

/// Runs server-memory@NEW wrapped by `cmd` until it listed its tools, then checks that its
/// package was pinned, trusted, with the registry's `integrity`.
fn memory_is_pinned_when_it_lists_its_tools(cmd: Command, home: &Home, integrity: &str) {
    let mut shim = Shim::spawn(cmd, home);
    shim.initialize();
    let tools = tool_names(&shim.request(1, "tools/list", json!({})));
    assert!(tools.contains(&"read_graph".to_owned()), "{tools:?}");
    shim.close_stdin();
    shim.wait_exit(Duration::from_secs(15)).expect("the shim exits");
    let (ok, listed) = mcpfw_cli(home, &["tools", "package", "memory", "--json"]);
    assert!(ok, "{listed}");
    let pin: Value = serde_json::from_str(listed.lines().next().unwrap()).unwrap();
    assert_eq!(pin["status"], "trusted", "{pin}");
    assert_eq!(pin["identity"]["resolved"], NEW, "{pin}");
    assert_eq!(pin["identity"]["integrity"], integrity, "{pin}");
}

/// The tests' bun cache, kept between runs.
fn bun_env(cmd: &mut Command) -> &mut Command {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    cmd.env("BUN_INSTALL_CACHE_DIR", tmp.join("bun-cache"))
        .env("DO_NOT_TRACK", "1")
        .current_dir(workdir())
}

fn bunx() -> PathBuf {
    let bunx = common::repo().join("tests/peers/node_modules/.bin/bunx");
    assert!(bunx.exists(), "bun is installed in tests/peers (npm ci --prefix tests/peers)");
    bunx
}

#[test]
fn bunx_resolves_from_buns_own_lockfile_and_a_server_run_through_it_is_pinned() {
    // The real bunx installs server-memory from the registry into its cache (and runs it; an
    // empty stdin ends it).
    let spec = format!("{MEMORY}@{NEW}");
    let out = bun_env(Command::new(bunx()).arg(&spec)).stdin(Stdio::null()).output().unwrap();
    assert!(out.status.success(), "bunx {spec}: {}", String::from_utf8_lossy(&out.stderr));
    npx_install(&spec);
    let (_, registry_integrity) = npm_lock_entry(&spec, MEMORY);
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bun-cache");
    let context = mcpfw::package::Context {
        env: [("BUN_INSTALL_CACHE_DIR".to_owned(), cache.display().to_string())].into(),
        home: None,
    };
    let identity = mcpfw::package::identify(&bunx(), std::slice::from_ref(&spec), None, &context);
    assert_eq!(identity.resolved.as_deref(), Some(NEW), "{identity:?}");
    assert_eq!(identity.integrity.as_deref(), Some(registry_integrity.as_str()), "{identity:?}");
    assert!(identity.source.ends_with("bun.lock"), "{identity:?}");
    // Not installed through bunx yet: said so, nothing made up.
    let missing = mcpfw::package::identify(&bunx(), &[format!("{MEMORY}@{OLD}")], None, &context);
    assert_eq!(missing.integrity, None, "{missing:?}");
    assert!(missing.source.contains("not in bunx's cache yet"), "{}", missing.source);

    // A real server through bunx: its package is pinned when it lists its tools.
    let home = home();
    let mut cmd = Command::new(mcpfw());
    cmd.args(["wrap", "--name", "memory", "--"]).arg(bunx()).arg(&spec);
    bun_env(&mut cmd);
    memory_is_pinned_when_it_lists_its_tools(cmd, &home, &registry_integrity);

    // `install --pin` pins `bunx pkg` to the version bunx ran; uninstall puts the bytes back.
    let out = bun_env(Command::new(bunx()).arg(MEMORY)).stdin(Stdio::null()).output().unwrap();
    assert!(out.status.success(), "bunx {MEMORY}: {}", String::from_utf8_lossy(&out.stderr));
    let latest = mcpfw::package::identify(&bunx(), &[MEMORY.to_owned()], None, &context)
        .resolved
        .expect("bunx's latest install is resolved");
    let user = tempfile::tempdir().unwrap();
    let config = user.path().join(".cursor/mcp.json");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    let original = format!(
        "{{\"mcpServers\": {{\"memory\": {{\"command\": \"bunx\", \"args\": [\"{MEMORY}\"]}}}}}}\n"
    );
    std::fs::write(&config, &original).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let run = |args: &[&str]| {
        cli_as_user(bun_env(&mut Command::new(mcpfw())), user.path(), home.path(), port, args)
    };
    let out = run(&["install", "--pin", "--client", "cursor"]);
    assert!(out.contains(&format!("pinned to {MEMORY}@{latest}")), "{out}");
    let installed = std::fs::read_to_string(&config).unwrap();
    assert!(installed.contains(&format!("\"bunx\", \"{MEMORY}@{latest}\"]")), "{installed}");
    run(&["uninstall", "--client", "cursor"]);
    assert_eq!(std::fs::read_to_string(&config).unwrap(), original, "byte-exact round trip");
}

/// Runs `mcpfw ARGS` as the user whose home is `user` (their clients' files), with MCP
/// Firewall's files in `home` and the proxy's port `port`; returns what it printed, and fails
/// the test when it fails.
fn cli_as_user(cmd: &mut Command, user: &Path, home: &Path, port: u16, args: &[&str]) -> String {
    let out = cmd
        .args(args)
        .env("HOME", user)
        .env_remove("XDG_CONFIG_HOME")
        .env("MCPFW_HOME", home)
        .env("MCPFW_KEYRING", "off")
        .env("MCPFW_PROXY_PORT", port.to_string())
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "mcpfw {args:?}: {text}");
    text
}
