//! `mcpfw scan [--json] [--client NAME]... [--url URL [--header H]...] [-- COMMAND...]`.

use std::time::Duration;

use anyhow::{Result, bail};
use serde_json::{Value, json};

use crate::clients::{self, Launch, ServerEntry};
use crate::paths::Paths;
use crate::proxy::registry::{self, Registry};
use crate::scan::{self, Endpoint, Report, Target};
use crate::store::{self, Store, advisories::AdvisoryImport, packages::PackagePin, pins::Pin};
use mcpfw_core::detect::Severity;
use mcpfw_core::finding::Finding;
use mcpfw_core::package;

/// What to scan, from the command line.
pub struct Args {
    pub clients: Vec<String>,
    pub json: bool,
    pub timeout: u64,
    /// One remote server (Streamable HTTP) instead of the clients' servers.
    pub url: Option<String>,
    /// `Name: value` headers for `url`.
    pub headers: Vec<String>,
    /// The name a server given on the command line is known by (its pins).
    pub name: Option<String>,
    /// One server command instead of the clients' servers.
    pub command: Vec<String>,
}

pub fn run(paths: &Paths, args: Args) -> Result<i32> {
    let Args { clients: client_names, json: as_json, timeout, url, headers, name, command } = args;
    let proxy = registry::load(paths).unwrap_or_else(|e| {
        tracing::warn!(
            "{}; servers behind the proxy are scanned at the proxy's address",
            crate::text::error_chain(&e)
        );
        Registry::default()
    });
    let mut targets = Vec::new();
    if let Some(url) = url {
        let headers = headers.iter().map(|h| split_header(h)).collect::<Result<Vec<_>>>()?;
        let mut target =
            remote_target(host_name(&url), "command line".into(), &url, headers, &proxy);
        if let Some(name) = name {
            target.name = name; // a name given wins over the proxy route's
        }
        targets.push(target);
    } else if command.is_empty() {
        let places = clients::Places::from_env(None)?;
        let names: Vec<String> = if client_names.is_empty() {
            clients::CLIENTS.iter().map(|c| (*c).to_owned()).collect()
        } else {
            client_names.to_vec()
        };
        for client in &names {
            for entry in clients::servers(client, &places)? {
                let source = format!("{client}: {}", entry.file.display());
                match &entry.launch {
                    Launch::Stdio { command, env } => targets.push(Target {
                        name: entry.name.clone(),
                        source,
                        endpoint: Endpoint::Command { command: command.clone(), env: env.clone() },
                    }),
                    Launch::Remote { url } => {
                        let headers = configured_headers(&entry);
                        targets.push(remote_target(
                            entry.name.clone(),
                            source,
                            url,
                            headers,
                            &proxy,
                        ))
                    }
                }
            }
        }
    } else {
        let os: Vec<std::ffi::OsString> = command.iter().map(Into::into).collect();
        targets.push(Target {
            name: name.unwrap_or_else(|| crate::launch::default_server_name(&os)),
            source: "command line".to_owned(),
            endpoint: Endpoint::Command { command, env: Default::default() },
        });
    }

    // The packages the commands name, whose advisories are read with the pins.
    let lookups: Vec<(package::Ecosystem, String)> = targets
        .iter()
        .filter_map(|t| match &t.endpoint {
            Endpoint::Command { command, .. } => package_ref(command),
            _ => None,
        })
        .filter(|p| p.ecosystem.osv_name().is_some())
        .map(|p| (p.ecosystem, p.name))
        .collect();
    let history = read_history(paths, &lookups);
    let timeout = Duration::from_secs(timeout.max(1));
    let mut code = 0;
    if targets.is_empty() && !as_json {
        println!("no MCP servers are configured in {}", clients::CLIENTS.join(", "));
    }
    for target in &targets {
        // A known-malicious package is not started, not even to list its tools.
        let malicious = match &target.endpoint {
            Endpoint::Command { command, .. } => known_malicious(command, &history),
            _ => None,
        };
        let mut report = match malicious {
            Some(id) => {
                let mut report = Report::new(target);
                report.error =
                    Some(format!("not started: its package is known to be malicious ({id})"));
                report
            }
            None => scan::scan(target, timeout),
        };
        audit(&mut report, &history.pins);
        // After the scan: the launcher has installed what the command runs by now.
        if let Endpoint::Command { command, env } = &target.endpoint {
            package_audit(&mut report, command, env, &history);
        }
        if report.error.is_some() {
            code = 2;
        } else if report.flagged() && code == 0 {
            code = 1;
        }
        if as_json {
            println!("{}", serde_json::to_string(&report)?);
        } else {
            print!("{}", crate::text::visible(&describe(&report)));
        }
    }
    Ok(code)
}

/// A remote server to scan. An address of MCP Firewall's own proxy
/// (`http://127.0.0.1:PORT/s/NAME/mcp`) is scanned at the upstream it stands for, under the
/// route's name (the name its pins have), and without the proxy's client token.
fn remote_target(
    name: String,
    source: String,
    url: &str,
    headers: Vec<(String, String)>,
    proxy: &Registry,
) -> Target {
    let headers: Vec<(String, String)> = headers
        .into_iter()
        .filter(|(k, _)| !k.trim().eq_ignore_ascii_case(registry::TOKEN_HEADER))
        .collect();
    match behind_proxy(url, proxy) {
        Some((route, upstream)) if upstream.legacy_sse => Target {
            name: route,
            source: format!("{source}, through MCP Firewall's proxy"),
            endpoint: Endpoint::Unsupported {
                url: upstream.url.clone(),
                reason: "a server of the legacy HTTP+SSE transport is not scanned yet".into(),
            },
        },
        Some((route, upstream)) => Target {
            name: route,
            source: format!("{source}, through MCP Firewall's proxy"),
            endpoint: Endpoint::Remote { url: upstream.url.clone(), headers },
        },
        None => {
            Target { name, source, endpoint: Endpoint::Remote { url: url.to_owned(), headers } }
        }
    }
}

/// The route name and upstream when `url` is one of the proxy's routes.
fn behind_proxy<'a>(url: &str, proxy: &'a Registry) -> Option<(String, &'a registry::Upstream)> {
    let url = url::Url::parse(url).ok()?;
    if !registry::is_loopback(url.host_str()?) {
        return None;
    }
    let port = registry::port(proxy).ok()?;
    if url.port_or_known_default()? != port {
        return None;
    }
    let segments: Vec<&str> = url.path_segments()?.collect();
    let ["s", name, "mcp" | "sse"] = segments.as_slice() else { return None };
    proxy.upstreams.get(*name).map(|upstream| ((*name).to_owned(), upstream))
}

/// The `headers` of a remote entry in its client's file, with `${VAR}` and `${env:VAR}`
/// taken from the environment.
fn configured_headers(entry: &ServerEntry) -> Vec<(String, String)> {
    let Ok(text) = std::fs::read_to_string(&entry.file) else { return Vec::new() };
    let Ok(root) = crate::jsonc::parse(&text) else { return Vec::new() };
    let Some(node) = root.at(&entry.pointer) else { return Vec::new() };
    let value = node.to_value(&text);
    let Some(headers) = value.get("headers").and_then(Value::as_object) else {
        return Vec::new();
    };
    headers.iter().filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), expand_env(v)))).collect()
}

/// `${VAR}` and `${env:VAR}` replaced by the variable's value (unchanged when it is unset).
fn expand_env(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find('}') else { break };
        let inner = &rest[start + 2..start + len];
        let var = inner.strip_prefix("env:").unwrap_or(inner);
        match std::env::var(var) {
            Ok(value) if !var.is_empty() => out.push_str(&value),
            _ => out.push_str(&rest[start..=start + len]),
        }
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

/// `Name: value`.
fn split_header(header: &str) -> Result<(String, String)> {
    let Some((name, value)) = header.split_once(':') else {
        bail!("--header {header:?} is not `Name: value`");
    };
    Ok((name.trim().to_owned(), value.trim().to_owned()))
}

/// The host of `url`, as the default name of a server given by its address.
fn host_name(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "remote".to_owned())
}

/// What scan compares with, from the history (read-only; nothing when there is none yet).
#[derive(Default)]
struct History {
    pins: Vec<Pin>,
    packages: Vec<PackagePin>,
    advisories: Vec<package::osv::Record>,
    import: Option<AdvisoryImport>,
}

/// The package a command names, from its words alone.
fn package_ref(command: &[String]) -> Option<package::PackageRef> {
    let words: Vec<std::ffi::OsString> = command.iter().map(Into::into).collect();
    let words: Vec<String> = crate::launch::split_joined(&words)
        .iter()
        .map(|w| w.to_string_lossy().into_owned())
        .collect();
    package::parse_command(words.first()?, &words[1..])
}

/// The id of a malicious-package record naming what `command` would run, by name (and
/// version, when the command pins one).
fn known_malicious(command: &[String], history: &History) -> Option<String> {
    let package = package_ref(command)?;
    let identity = package::Identity {
        ecosystem: package.ecosystem,
        name: package.name.clone(),
        requested: None,
        resolved: package.requested.clone().filter(|_| package.pinned),
        integrity: None,
        pinned: package.pinned,
        source: String::new(),
    };
    crate::package::check_advisories(&history.advisories, &identity)
        .into_iter()
        .find(|h| h.malicious)
        .map(|h| h.id)
}

/// The history's tool and package pins, and the advisories of `lookups`.
fn read_history(paths: &Paths, lookups: &[(package::Ecosystem, String)]) -> History {
    let db = store::db_path(paths);
    if !db.exists() {
        return History::default();
    }
    let read = || -> Result<History> {
        let (key, _) = store::load_or_create_chain_key(paths)?;
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(async {
            let store = Store::open(&db, key).await?;
            let read = async {
                let mut history = History {
                    pins: store.pins(None).await?,
                    packages: store.package_pins(None).await?,
                    import: store.advisory_import().await?,
                    advisories: Vec::new(),
                };
                for (ecosystem, name) in lookups {
                    history.advisories.extend(store.advisories_for(*ecosystem, name).await?);
                }
                anyhow::Ok(history)
            }
            .await;
            store.close().await;
            read
        })
    };
    read().unwrap_or_else(|e| {
        tracing::warn!(
            "the history could not be read, so pins and advisories are not compared: {e:#}"
        );
        History::default()
    })
}

/// Adds what a stdio server's command runs, and the findings about it: unpinned, a likely
/// typosquat, a change from the package pinned for the server.
fn package_audit(
    report: &mut Report,
    command: &[String],
    env: &std::collections::BTreeMap<String, String>,
    history: &History,
) {
    let context = crate::package::Context::with_env(env);
    let words: Vec<std::ffi::OsString> = command.iter().map(Into::into).collect();
    let path = context.env.get("PATH").map(std::ffi::OsString::from);
    let Ok(resolved) = crate::launch::resolve(&words, path.as_deref(), context.home.as_deref())
    else {
        return;
    };
    let args: Vec<String> =
        resolved.args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let script = crate::package::script_of(&args);
    let identity = crate::package::identify(&resolved.program, &args, script.as_deref(), &context);
    let pin = history.packages.iter().find(|p| p.server == report.server);
    let status = match pin {
        None => "new",
        Some(_) if !identity.is_resolved() => "unresolved",
        Some(pin) if pin.digest == identity.digest() => "pinned",
        Some(pin)
            if pin.status == "blocked"
                && pin.pending_digest.as_deref() == Some(&*identity.digest()) =>
        {
            "blocked"
        }
        Some(_) => "changed",
    };
    if let Some(finding) = package::unpinned_finding(&identity) {
        report.findings.push(finding);
    }
    if let Some(finding) = package::squat::finding(identity.ecosystem, &identity.name) {
        report.findings.push(finding);
    }
    if let Some(pin) = pin.filter(|_| matches!(status, "changed" | "blocked")) {
        report.findings.push(Finding::package_changed(
            &identity.name,
            format!(
                "runs {} now, not {} as pinned: `mcpfw wrap` withholds its tools until you trust it (`mcpfw tools package {}`)",
                identity.label(), pin.identity.label(), report.server
            ),
        ));
    }
    let mut advisories = json!(null);
    if identity.ecosystem.osv_name().is_some() {
        for hit in crate::package::check_advisories(&history.advisories, &identity) {
            report.findings.push(hit.finding(&identity.name, identity.resolved.as_deref()));
        }
        let imported = history.import.as_ref().map(|i| i.imported_ms);
        let (note, stale) = package::osv::age_note(imported, crate::record::now_ms());
        advisories = json!({"imported_ms": imported, "stale": stale, "note": note});
    }
    let mut value = serde_json::to_value(&identity).unwrap_or_default();
    value["pin"] = json!(status);
    value["advisories"] = advisories;
    report.package = Some(value);
}

/// Adds the findings and each tool's pin status to a report.
fn audit(report: &mut Report, pins: &[Pin]) {
    for tool in &report.tools {
        let Some(name) = tool.get("name").and_then(Value::as_str) else { continue };
        let status = match pins.iter().find(|p| p.server == report.server && p.name == name) {
            None => "new",
            Some(pin) => {
                let digest = store::pins::canonical(&tool.to_string()).map(|(_, d)| d);
                match digest {
                    Some(d) if d == pin.digest => "pinned",
                    Some(d)
                        if pin.status == "blocked" && pin.pending_digest.as_deref() == Some(&d) =>
                    {
                        "blocked"
                    }
                    _ => "changed",
                }
            }
        };
        report.pins.insert(name.to_owned(), status.to_owned());
    }
    report.findings = findings(report);
}

/// The detector's findings (Flag and above) on everything the server offered.
fn findings(report: &Report) -> Vec<Finding> {
    use crate::screen::recorded;
    let mut out = Vec::new();
    if let Some(instructions) = &report.instructions {
        out.extend(recorded(&crate::detect::scan_instructions(instructions), "instructions"));
    }
    let name = |item: &Value| item.get("name").and_then(Value::as_str).unwrap_or("?").to_owned();
    for (tool, found) in report.tools.iter().zip(crate::detect::scan_tools(&report.tools)) {
        out.extend(recorded(&found, &format!("tool {}", name(tool))));
    }
    for prompt in &report.prompts {
        out.extend(recorded(
            &crate::detect::scan_prompt(prompt),
            &format!("prompt {}", name(prompt)),
        ));
        if let Some(command) = crate::detect::slash_command_collision(&name(prompt)) {
            out.push(Finding::slash_command_collision(&name(prompt), command));
        }
    }
    for resource in &report.resources {
        out.extend(recorded(
            &crate::detect::scan_resource(resource),
            &format!("resource {}", name(resource)),
        ));
    }
    out
}

/// A finding for a person: `kind [severity] in where: evidence`.
fn line(finding: &Finding) -> String {
    format!(
        "{} [{}] in {}: {}",
        finding.kind.name(),
        finding.severity.map_or("?", Severity::as_str),
        finding.place.as_deref().unwrap_or("?"),
        finding.evidence.as_deref().unwrap_or("")
    )
}

/// A report for a person.
fn describe(report: &Report) -> String {
    let mut out = String::new();
    let info = report
        .server_info
        .as_ref()
        .map(|i| {
            format!(
                " — {} {}",
                i["name"].as_str().unwrap_or("?"),
                i["version"].as_str().unwrap_or("")
            )
        })
        .unwrap_or_default();
    out.push_str(&format!("{} ({}){info}\n", report.server, report.source));
    if let Some(url) = &report.url {
        out.push_str(&format!("  at {url}\n"));
    }
    if let Some(error) = &report.error {
        out.push_str(&format!("  could not be scanned: {error}\n"));
        for finding in report.findings.iter().filter(|f| f.severity != Some(Severity::Info)) {
            out.push_str(&format!("  ✗ {}\n", line(finding)));
        }
        out.push('\n');
        return out;
    }
    out.push_str(&format!(
        "  {} tools, {} prompts, {} resources\n",
        report.tools.len(),
        report.prompts.len(),
        report.resources.len()
    ));
    for (tool, status) in &report.pins {
        match status.as_str() {
            "changed" => out.push_str(&format!(
                "  ✗ {tool}: changed since it was pinned (`mcpfw wrap` withholds it until you review it)\n"
            )),
            "blocked" => out.push_str(&format!("  ✗ {tool}: a change you blocked\n")),
            _ => {}
        }
    }
    if let Some(p) = &report.package {
        let pinned = if p["pinned"] == true { "pinned" } else { "not pinned" };
        out.push_str(&format!(
            "  package: {} {} {} ({pinned}; {})\n",
            p["ecosystem"].as_str().unwrap_or("?"),
            p["name"].as_str().unwrap_or("?"),
            p["resolved"].as_str().unwrap_or("(version unknown)"),
            p["source"].as_str().unwrap_or(""),
        ));
        if let Some(integrity) = p["integrity"].as_str() {
            out.push_str(&format!("  integrity: {integrity}\n"));
        }
        if let Some(note) = p["advisories"]["note"].as_str() {
            let mark = if p["advisories"]["stale"] == true { "!" } else { "·" };
            out.push_str(&format!("  {mark} {note}\n"));
        }
    }
    for finding in &report.findings {
        let mark = if finding.severity == Some(Severity::Info) { "·" } else { "✗" };
        out.push_str(&format!("  {mark} {}\n", line(finding)));
    }
    if !report.flagged() {
        out.push_str("  ✓ nothing found\n");
    }
    out.push('\n');
    out
}
