//! `mcpfw wrap`: assembles the pipeline for one stdio server and runs the shim.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{Context, Result};

use super::WrapArgs;
use crate::launch;
use crate::paths::Paths;
use crate::pipeline::{Limits, Pipeline};
use crate::policy::engine::PolicyEngine;
use crate::record::{Fanout, TracingRecorder};
use crate::store::{self, StoreRecorder};
use crate::transport::stdio::{self, ShimOptions};
use mcpfw_core::containment::SandboxSettings;
use mcpfw_core::package::{Identity, osv};
use mcpfw_daemon::compose;

pub fn run(paths: &Paths, args: WrapArgs) -> Result<i32> {
    if let Some(url) = args.url.clone() {
        // `--url`: the pipeline in front of an HTTP server, for a stdio client.
        let checked = crate::proxy::registry::check_upstream(&url)?;
        let name = args
            .name
            .clone()
            .unwrap_or_else(|| checked.url.host_str().unwrap_or("http").to_owned());
        let Assembled { pipeline, replicator, telemetry, .. } =
            assemble(paths, &args, name, url.clone(), Vec::new(), None)?;
        let code = crate::proxy::bridge::run(Arc::new(pipeline), &url);
        finish_replication(replicator);
        finish_telemetry(telemetry);
        return Ok(code?);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let resolved =
        launch::resolve(&args.command, std::env::var_os("PATH").as_deref(), home.as_deref())?;
    let name = args.name.clone().unwrap_or_else(|| launch::default_server_name(&args.command));
    let command_line = std::iter::once(resolved.program.display().to_string())
        .chain(resolved.args.iter().map(|a| a.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(" ");
    let script = crate::package::script_of(&resolved.args);
    // What the command runs (the package behind `npx -y pkg`, or the file): looked at now (a
    // known-malicious package never starts), and resolved again when the server lists its
    // tools, by when its launcher has installed it.
    let identify: Identify = {
        let program = resolved.program.clone();
        let words: Vec<String> =
            resolved.args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
        let script = script.clone();
        let context = crate::package::Context::current();
        Arc::new(move || crate::package::identify(&program, &words, script.as_deref(), &context))
    };
    // The checks before the start read a package's name and version only: a file is not
    // hashed here (its digest is checked when the server lists its tools), which kept the
    // start-up waiting about a millisecond per MiB of the server's program.
    let before = {
        let words: Vec<String> =
            resolved.args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
        crate::package::identify_before_start(
            &resolved.program,
            &words,
            script.as_deref(),
            &crate::package::Context::current(),
        )
    };
    let Assembled { pipeline, engine, live, sandbox, refusal, squat, replicator, telemetry } =
        assemble(
            paths,
            &args,
            name.clone(),
            command_line,
            inferred_roots(&resolved.args),
            Some((identify, before)),
        )?;
    if let Some(why) = refusal {
        tracing::error!(server = %name, "{why}");
        let event = crate::package::package_event(&name, pipeline.session_id(), &[]);
        let event = crate::record::Event {
            verdict: crate::record::Verdict::Deny,
            reason: Some(why.clone()),
            ..event
        };
        let data = serde_json::json!({"source": "mcp-firewall", "package": "malicious"});
        let refusal = Refusal { code: crate::package::MALICIOUS_CODE, reason: &why, data };
        return Ok(refuse_start(&pipeline, event, refusal, replicator, telemetry));
    }
    if let Some((identity, squat)) = squat {
        let finding: Vec<_> =
            mcpfw_core::package::squat::finding(identity.ecosystem, &identity.name)
                .into_iter()
                .collect();
        let decision = crate::package::ask_before_squat(
            pipeline.approver(),
            &name,
            pipeline.session_id(),
            &identity,
            &squat,
        );
        let (verdict, by, reason, refuse) = match decision {
            crate::package::SquatDecision::Start { by, reason } => {
                (crate::record::Verdict::Allow, by, reason, false)
            }
            crate::package::SquatDecision::Refuse { by, reason } => {
                (crate::record::Verdict::Deny, by, reason, true)
            }
        };
        let event = crate::package::package_event(&name, pipeline.session_id(), &finding);
        let event = crate::record::Event {
            verdict,
            decided_by: Some(by),
            reason: Some(reason.clone()),
            ..event
        };
        if refuse {
            tracing::error!(server = %name, "{reason}");
            let data = serde_json::json!({"source": "mcp-firewall", "package": "typosquat",
                                          "imitates": squat.imitates});
            let refusal = Refusal { code: crate::package::SQUAT_CODE, reason: &reason, data };
            return Ok(refuse_start(&pipeline, event, refusal, replicator, telemetry));
        }
        tracing::warn!(server = %name, "{reason}");
        pipeline.recorder().record(event);
    }
    let pipeline = pipeline.with_identity(resolved.program.clone(), script.clone());
    // Roots the client announces later are kept for the next start (the box cannot grow).
    let pipeline = {
        let (paths, name) = (paths.clone(), name.clone());
        pipeline.with_later_roots(Arc::new(move |roots: &[PathBuf]| {
            crate::contain::later::keep(&paths, &name, roots)
        }))
    };
    // The box gets the same roots the policy engine checks paths against, and the roots the
    // client announced while it ran before.
    #[cfg(target_os = "linux")]
    let roots = {
        let mut roots = engine.server_roots().to_vec();
        let later: Vec<PathBuf> = crate::contain::later::recall(paths, &name)
            .into_iter()
            .filter(|r| !roots.iter().any(|g| r.starts_with(g)))
            .collect();
        if !later.is_empty() {
            let list: Vec<String> = later.iter().map(|p| p.display().to_string()).collect();
            pipeline.record_containment(
                crate::record::Verdict::Allow,
                format!(
                    "roots the client announced while the server ran before are granted: {}",
                    list.join(", ")
                ),
            );
        }
        roots.extend(later);
        roots
    };
    #[cfg(target_os = "linux")]
    let prepared = crate::contain::shim::prepare(
        paths,
        &name,
        &resolved.program,
        script.as_deref(),
        &resolved.args,
        &roots,
        &sandbox,
        crate::contain::shim::EgressWiring {
            recorder: pipeline.recorder(),
            approver: pipeline.approver().cloned().unwrap_or_else(|| {
                compose::approver(paths, Duration::from_secs(crate::approval::DEFAULT_TIMEOUT_SECS))
            }),
            session: pipeline.session_id().to_owned(),
            engine: Arc::new(move || live.current()),
        },
    )?;
    // The box's denials named in the server's errors are recorded against what it grants.
    #[cfg(target_os = "linux")]
    let pipeline = match &prepared.boxing {
        Some(boxing) => pipeline.with_box(boxing.profile.grants()),
        None => pipeline,
    };
    // No box, so no egress proxy, on this system: the live policy serves the pipeline alone.
    #[cfg(not(target_os = "linux"))]
    drop(live);
    // No box on this system: said loudly, and `require` refuses to start the server.
    #[cfg(not(target_os = "linux"))]
    if let Some(refusal) = crate::contain::unboxed::without_box(
        &pipeline,
        paths,
        &name,
        &resolved.program,
        script.as_deref(),
        &resolved.args,
        engine.server_roots(),
        &sandbox,
    ) {
        let code = stdio::refuse(&pipeline, &refusal);
        finish_telemetry(telemetry);
        return Ok(code);
    }
    #[cfg(target_os = "linux")]
    if let Some(profile) = &prepared.off {
        let why = crate::contain::shim::off_reason(&prepared);
        if prepared.refuse {
            let refusal = crate::contain::shim::refuse_unboxable(&pipeline, &why);
            let code = stdio::refuse(&pipeline, &refusal);
            finish_telemetry(telemetry);
            return Ok(code);
        }
        crate::contain::shim::announce_off(&pipeline, paths, profile, &why);
    }
    let options = ShimOptions {
        grace: Duration::from_millis(args.shutdown_grace_ms),
        #[cfg(target_os = "linux")]
        containment: prepared.boxing.clone(),
    };
    let code = stdio::run(Arc::new(pipeline), &resolved, &options);
    finish_replication(replicator);
    finish_telemetry(telemetry);
    code
}

/// Why a server is not started: the JSON-RPC error the client gets.
struct Refusal<'a> {
    code: i32,
    reason: &'a str,
    data: serde_json::Value,
}

/// Refuses to start the server: the decision is recorded (durably, before the client hears of
/// it), the history flushed and handed to replication and export, and the client answered.
fn refuse_start(
    pipeline: &Pipeline,
    event: crate::record::Event,
    refusal: Refusal<'_>,
    replicator: Option<store::postgres::Replicator>,
    telemetry: Option<Arc<mcpfw_daemon::telemetry::OtlpRecorder>>,
) -> i32 {
    if let Err(e) = pipeline.recorder().record_durable(event) {
        tracing::warn!("the refusal could not be recorded: {e}");
    }
    pipeline.flush();
    finish_replication(replicator);
    let code = crate::transport::stdio::refuse_before_start(
        pipeline,
        refusal.code,
        refusal.reason,
        refusal.data,
    );
    finish_telemetry(telemetry);
    code
}

/// The shim's last events are sent to the OpenTelemetry collector, for a short while; what
/// could not be sent is counted in a warning.
fn finish_telemetry(telemetry: Option<Arc<mcpfw_daemon::telemetry::OtlpRecorder>>) {
    if let Some(telemetry) = telemetry {
        telemetry.finish(compose::TELEMETRY_FINISH);
    }
}

/// The history is flushed once the pipeline is gone: one last, bounded replication pass sends
/// this session's events (what it cannot send, the next process that replicates sends).
fn finish_replication(replicator: Option<store::postgres::Replicator>) {
    if let Some(replicator) = replicator {
        replicator.finish(Duration::from_secs(5));
    }
}

/// Resolves what a server command runs (see `crate::package`).
type Identify = Arc<dyn Fn() -> Identity + Send + Sync>;

/// `mcpfw wrap`'s options that take a value, and those that do not.
const VALUE_OPTIONS: [&str; 5] =
    ["--name", "--root", "--max-message-bytes", "--shutdown-grace-ms", "--url"];
const FLAG_OPTIONS: [&str; 2] = ["--help", "-h"];

/// The mistake in `mcpfw wrap`'s words (`argv` without the program, starting at `wrap`) that
/// the argument parser would answer less helpfully, or `None`.
///
/// The server command starts at the first word that is not one of wrap's options (or after
/// `--`, which clients' argument parsers often drop). Two things cannot be read either way and
/// are refused with the fix: an option wrap does not know before the command has started
/// (`mcpfw wrap --name x -y pkg`: is `-y` the server's?), and an option right after `--`
/// (`mcpfw wrap -- --name x srv`: a server command starts with its program).
pub fn misplaced_words(argv: &[std::ffi::OsString]) -> Option<String> {
    if argv.first().is_none_or(|w| w != "wrap") {
        return None;
    }
    let words: Vec<String> = argv[1..].iter().map(|w| w.to_string_lossy().into_owned()).collect();
    let mut i = 0;
    while i < words.len() {
        let word = words[i].as_str();
        if word == "--" {
            let next = words.get(i + 1)?;
            if !next.starts_with('-') || next == "-" {
                return None;
            }
            let option = next.split('=').next().unwrap_or(next);
            let fix = if VALUE_OPTIONS.contains(&option) || FLAG_OPTIONS.contains(&option) {
                format!(
                    "`{option}` is an option of mcpfw wrap: put it before `--`, as in \
                     `mcpfw wrap --name NAME -- PROGRAM ARGS…`"
                )
            } else {
                "a server command starts with its program: `mcpfw wrap --name NAME -- PROGRAM \
                 ARGS…`"
                    .to_owned()
            };
            return Some(format!("the server command after `--` starts with `{next}`; {fix}"));
        }
        if !word.starts_with('-') || word == "-" {
            return None; // the server command starts here
        }
        let option = word.split('=').next().unwrap_or(word);
        if FLAG_OPTIONS.contains(&option) {
            return None;
        }
        if !VALUE_OPTIONS.contains(&option) {
            return Some(format!(
                "`{word}` is not an option of mcpfw wrap, and comes before the server command \
                 (which starts at the first word that is not an option). If it is the server's, \
                 put `--` right before the server's program: `mcpfw wrap --name NAME -- PROGRAM \
                 {word} …`. mcpfw wrap's options: {}",
                VALUE_OPTIONS.join(", ")
            ));
        }
        i += if word.contains('=') { 1 } else { 2 };
    }
    None
}

/// What `assemble` builds for one wrapped server.
struct Assembled {
    pipeline: Pipeline,
    /// The engine the server starts with (its roots are the box's).
    engine: Arc<PolicyEngine>,
    /// The policy in force while the server runs, shared with the egress proxy's connections.
    live: Arc<compose::LivePolicy>,
    /// The box's settings from the same policy.toml.
    sandbox: SandboxSettings,
    /// Why the server must not start at all (a known-malicious package).
    refusal: Option<String>,
    /// The package, when its name imitates a well-known one and it never ran under this
    /// server's name: a person is asked before it starts.
    squat: Option<(Identity, mcpfw_core::package::squat::Squat)>,
    /// Replication of the history to PostgreSQL, when configured.
    replicator: Option<store::postgres::Replicator>,
    /// OpenTelemetry export, when configured (also in the pipeline's recorders).
    telemetry: Option<Arc<mcpfw_daemon::telemetry::OtlpRecorder>>,
}

/// The pipeline for server `name` (started as `origin`), built by the composition root: the
/// policy file, the database rules, the roots (`--root`, and `inferred` unless the policy turns
/// inference off), the history.
fn assemble(
    paths: &Paths,
    args: &WrapArgs,
    name: String,
    origin: String,
    inferred: Vec<PathBuf>,
    package: Option<(Identify, Identity)>,
) -> Result<Assembled> {
    // The history. Keyring access happens here, on a plain thread, before any runtime exists.
    let (key, _source) = store::load_or_create_chain_key(paths)?;
    let db = store::db_path(paths);
    let replication_key = key.clone();
    let (name_for_store, paths_for_store) = (name.clone(), paths.clone());
    let lookup = package
        .as_ref()
        .map(|(_, before)| before)
        .filter(|p| p.ecosystem.osv_name().is_some())
        .map(|p| (p.ecosystem, p.name.clone()));
    let lookup_in_store = lookup.clone();
    let (recorder, (inputs, neighbours, advisories, has_pin)) =
        StoreRecorder::start_with(&db, key, move |store| async move {
            // A broken policy.toml does not stop the server: every tool call is refused and
            // told why (fail closed), and the problem is reported on stderr at once.
            let inputs = compose::PolicyInputs::load(&paths_for_store, &store).await?;
            compose::register_server(&store, &name_for_store, &origin).await?;
            store.apply_retention(inputs.retention_days()).await?;
            // The package's known advisories, and how old they are.
            let advisories = match lookup_in_store {
                Some((ecosystem, package)) => Some((
                    store.advisories_for(ecosystem, &package).await?,
                    store.advisory_import().await?,
                )),
                None => None,
            };
            // Whether this server ever ran a package (a likely typosquat asks before its first
            // start only).
            let has_pin = !store.package_pins(Some(&name_for_store)).await?.is_empty();
            anyhow::Ok((inputs, store.neighbours(&name_for_store).await?, advisories, has_pin))
        })
        .with_context(|| format!("cannot use the history database {}", db.display()))?;
    // Replication to PostgreSQL, if configured: its own thread, never in the relay's way.
    let replicator = compose::replicator(paths, inputs.postgres_url(), replication_key);
    let roots = inputs.roots(&args.roots, inferred.clone());
    // The engine the server starts with (the box is made from its roots).
    let engine = Arc::new(inputs.engine(&name, roots.clone()));
    // The pipeline's policy follows policy.toml, the organisation's bundle and the database
    // rules while the server runs.
    let rebuild: compose::Rebuild = {
        let (paths, name, given) = (paths.clone(), name.clone(), args.roots.clone());
        let rules = recorder.rules_reader();
        Box::new(move || {
            let rules = rules.as_ref().ok_or(compose::RebuildError::NoWriter)?;
            let inputs = compose::PolicyInputs::with_rules(&paths, rules.policy_rules()?);
            Ok(inputs.engine(&name, inputs.roots(&given, inferred.clone())))
        })
    };
    // The pipeline and the egress proxy decide with the same policy, which follows the files.
    let live = Arc::new(compose::LivePolicy::new(
        inputs.engine(&name, roots),
        compose::LivePolicy::sources(paths),
        rebuild,
    ));
    // OpenTelemetry export, if configured: a bounded queue to a thread of its own, never in
    // the relay's way. Both wrap and the bridge face their client through a pipe.
    let telemetry = compose::telemetry(&inputs, mcpfw_daemon::telemetry::Transport::Pipe);
    let mut recorders: Vec<Box<dyn crate::record::Recorder>> =
        vec![Box::new(recorder), Box::new(TracingRecorder)];
    if let Some(telemetry) = &telemetry {
        recorders.push(Box::new(telemetry.clone()));
    }
    let history = Fanout(recorders);
    let session = Arc::new(OnceLock::new());
    let (records, import) = advisories.unwrap_or_default();
    if lookup.is_some() && import.is_some() {
        let (note, stale) =
            osv::age_note(import.as_ref().map(|i| i.imported_ms), crate::record::now_ms());
        if stale {
            tracing::warn!(server = %name, "{note}");
        }
    }
    // A known-malicious package never starts: the name (with the version, when it is already
    // known) is checked before anything runs.
    let refusal = package.as_ref().and_then(|(_, before)| {
        crate::package::check_advisories(&records, before)
            .iter()
            .find(|h| h.malicious)
            .map(|h| crate::package::malicious_reason(&name, before, h))
    });
    // A name that imitates a well-known package asks before its first start under this name.
    let squat =
        package.as_ref().filter(|_| !has_pin && refusal.is_none()).and_then(|(_, before)| {
            mcpfw_core::package::squat::check(before.ecosystem, &before.name)
                .map(|squat| (before.clone(), squat))
        });
    let history: Box<dyn crate::record::Recorder> = match package {
        Some((identify, _)) => Box::new(crate::package::PackageGate::new(
            history,
            &name,
            move || identify(),
            records,
            session.clone(),
        )),
        None => Box::new(history),
    };
    let pipeline = compose::live_pipeline(
        live.clone(),
        history,
        Limits { max_message_bytes: args.max_message_bytes },
        compose::approver(paths, Duration::from_secs(crate::approval::DEFAULT_TIMEOUT_SECS)),
        neighbours,
    )
    // The client process that started this shim: its servers share one data flow (the toxic
    // flow across servers), kept by the daemon.
    .with_client_session(crate::approval::client::client_session())
    .with_clean_lists(mcpfw_core::clean_lists::CleanLists::at(
        paths.data.join(mcpfw_core::clean_lists::FILE),
    ));
    // The box's settings from the same policy.toml, under the organisation's containment floor
    // (a broken file gives the defaults: the box stays on, fail closed).
    let sandbox = inputs.sandbox(&name);
    let _ = session.set(pipeline.session_id().to_owned());
    Ok(Assembled { pipeline, engine, live, sandbox, refusal, squat, replicator, telemetry })
}

/// Existing folders named by absolute path among the server's arguments: where a filesystem
/// server is told it may work, e.g. `server-filesystem /home/me/work`.
pub fn inferred_roots(args: &[std::ffi::OsString]) -> Vec<PathBuf> {
    args.iter()
        .map(Path::new)
        .filter(|p| p.is_absolute() && p.is_dir())
        .map(Path::to_path_buf)
        .collect()
}
