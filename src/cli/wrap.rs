//! `mcpfw wrap`: assembles the pipeline for one stdio server and runs the shim.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use super::WrapArgs;
use crate::launch;
use crate::paths::Paths;
use crate::pipeline::{Limits, Pipeline};
use crate::policy::FirewallPolicy;
use crate::policy::engine::{Environment, PolicyEngine};
use crate::policy::file::RuleSpec;
use crate::record::{Fanout, TracingRecorder};
use crate::store::{self, Store, StoreRecorder};
use crate::transport::stdio::{self, ShimOptions};

pub fn run(paths: &Paths, args: WrapArgs) -> Result<i32> {
    if let Some(url) = args.url.clone() {
        // `--url`: the pipeline in front of an HTTP server, for a stdio client.
        let checked = crate::proxy::registry::check_upstream(&url)?;
        let name = args
            .name
            .clone()
            .unwrap_or_else(|| checked.url.host_str().unwrap_or("http").to_owned());
        let pipeline = assemble(paths, &args, name, url.clone(), Vec::new())?;
        return crate::proxy::bridge::run(Arc::new(pipeline), &url);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let resolved =
        launch::resolve(&args.command, std::env::var_os("PATH").as_deref(), home.as_deref())?;
    let name = args.name.clone().unwrap_or_else(|| launch::default_server_name(&args.command));
    let command_line = std::iter::once(resolved.program.display().to_string())
        .chain(resolved.args.iter().map(|a| a.to_string_lossy().into_owned()))
        .collect::<Vec<_>>()
        .join(" ");
    let script = script_of(&resolved.args);
    #[cfg(target_os = "linux")]
    let prepared = crate::contain::shim::prepare(
        paths,
        &name,
        &resolved.program,
        script.as_deref(),
        &resolved.args,
        &args.roots,
        &inferred_roots(&resolved.args),
    )?;
    let pipeline = assemble(paths, &args, name, command_line, inferred_roots(&resolved.args))?
        .with_identity(resolved.program.clone(), script);
    #[cfg(target_os = "linux")]
    if let Some(profile) = &prepared.off {
        crate::contain::shim::announce_off(&pipeline, paths, profile);
    }
    let options = ShimOptions {
        grace: Duration::from_millis(args.shutdown_grace_ms),
        #[cfg(target_os = "linux")]
        containment: prepared.boxing.clone(),
    };
    stdio::run(Arc::new(pipeline), &resolved, &options)
}

/// The pipeline for server `name` (started as `origin`): the policy file, the database rules,
/// the roots (`--root`, and `inferred` unless the policy turns inference off), the history.
fn assemble(
    paths: &Paths,
    args: &WrapArgs,
    name: String,
    origin: String,
    inferred: Vec<PathBuf>,
) -> Result<Pipeline> {
    // The policy: a broken file does not stop the server, but every tool call is refused and
    // told why (fail closed), and the problem is reported on stderr at once.
    let policy_file = crate::policy::file::PolicyFile::load(&super::policy::policy_path(paths));
    if let Err(e) = &policy_file {
        tracing::error!(
            "{e}; every tool call will be refused until it is fixed (`mcpfw policy check`)"
        );
    }
    let infer = policy_file.as_ref().map(|p| p.settings.infer_roots).unwrap_or(false);
    let mut roots: Vec<PathBuf> = args.roots.iter().map(|r| absolute(r)).collect();
    if infer {
        roots.extend(inferred);
    }

    // The history. Keyring access happens here, on a plain thread, before any runtime exists.
    let (key, _source) = store::load_or_create_chain_key(paths)?;
    let db = store::db_path(paths);
    let retention_days = policy_file.as_ref().map_or(0, |p| p.settings.retention_days);
    let name_for_store = name.clone();
    let (recorder, (db_rules, neighbours)) =
        StoreRecorder::start_with(&db, key, move |store| async move {
            let rules =
                startup_store_work(&store, &name_for_store, &origin, retention_days).await?;
            Ok((rules, store.neighbours(&name_for_store).await?))
        })
        .with_context(|| format!("cannot use the history database {}", db.display()))?;

    let env = Environment::for_paths(paths);
    let engine = PolicyEngine::new(&name, policy_file, db_rules, roots, env);
    tracing::info!(server = %name, roots = ?engine.server_roots(), rules = engine.rule_count(), "policy loaded");
    let approver = crate::pipeline::ApproverConfig {
        socket: crate::approval::socket_path(paths),
        timeout: Duration::from_secs(crate::approval::DEFAULT_TIMEOUT_SECS),
    };
    Ok(Pipeline::new(
        name,
        Box::new(FirewallPolicy::new(engine)),
        Box::new(Fanout(vec![Box::new(recorder), Box::new(TracingRecorder)])),
        Limits { max_message_bytes: args.max_message_bytes },
    )
    .with_approver(approver)
    .with_neighbours(neighbours))
}

/// Reads the database rules and registers the server, on a short-lived runtime.
/// Also applies the retention setting: events older than `retention_days` are pruned (the chain
/// stays verifiable through its anchor); 0 keeps everything.
async fn startup_store_work(
    store: &Store,
    name: &str,
    origin: &str,
    retention_days: u32,
) -> Result<Vec<(i64, RuleSpec)>> {
    let now = crate::record::now_ms();
    store.upsert_server(name, origin, now).await?;
    store.apply_retention(retention_days).await?;
    database_rules(store).await
}

/// The rules kept in the history database, as the policy engine takes them.
pub(crate) async fn database_rules(store: &Store) -> Result<Vec<(i64, RuleSpec)>> {
    let mut rules = Vec::new();
    for stored in store.list_rules().await? {
        match serde_json::from_str::<RuleSpec>(&stored.rule_json) {
            Ok(spec) => rules.push((stored.id, spec)),
            Err(e) => anyhow::bail!("database rule {} cannot be read: {e}", stored.id),
        }
    }
    Ok(rules)
}

/// The script an interpreter runs: its first argument that is an existing file (`python
/// server.py`, `node dist/index.js`), if any before the first option's value.
fn script_of(args: &[std::ffi::OsString]) -> Option<PathBuf> {
    args.iter().take(3).map(Path::new).find(|p| p.is_file()).map(absolute)
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
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
