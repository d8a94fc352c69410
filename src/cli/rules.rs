//! `mcpfw rules list|add|remove|test`.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::{RuleArgs, RulesCommand};
use crate::classify::Category;
use crate::paths::Paths;
use crate::policy::engine::Call;
use crate::policy::file::{Action, Conditions, Guard, RuleSpec};
use crate::store::{self, Store};

pub fn run(paths: &Paths, command: RulesCommand) -> Result<i32> {
    let (key, _) = store::load_or_create_chain_key(paths)?;
    let db = store::db_path(paths);
    let policy_path = super::policy::policy_path(paths);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        let store = Store::open(&db, key).await.with_context(|| format!("cannot open {}", db.display()))?;
        match command {
            RulesCommand::List { json } => {
                let file = crate::policy::file::PolicyFile::load(&policy_path)?;
                let mut rows: Vec<(String, RuleSpec, String)> = file
                    .rules
                    .iter()
                    .enumerate()
                    .map(|(i, r)| {
                        let id = format!("file:{}", r.id.clone().unwrap_or_else(|| (i + 1).to_string()));
                        (id, r.clone(), "policy.toml".to_owned())
                    })
                    .collect();
                for stored in store.list_rules().await? {
                    let spec: RuleSpec = serde_json::from_str(&stored.rule_json)
                        .with_context(|| format!("database rule {} cannot be read", stored.id))?;
                    rows.push((format!("db:{}", stored.id), spec, stored.origin));
                }
                if rows.is_empty() {
                    if !json {
                        println!("no rules: the defaults apply (read and write allowed inside roots; delete, network-send, config-change, exec and unknown need approval)");
                    }
                    return Ok(0);
                }
                for (id, spec, origin) in rows {
                    if json {
                        println!("{}", json!({"id": id, "origin": origin, "rule": spec}));
                    } else {
                        println!("{id:<12} {:<5} server={} tool={}{}{}  ({origin})", spec.action.as_str(), spec.server, spec.tool,
                            if spec.category.is_empty() { String::new() } else { format!(" category={}", spec.category.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(",")) },
                            spec.reason.as_deref().map(|r| format!(" — {r}")).unwrap_or_default());
                    }
                }
                Ok(0)
            }
            RulesCommand::Add(args) => {
                let (spec, expires) = rule_from_args(&args)?;
                let rule_json = serde_json::to_string(&spec)?;
                let expires_ms = expires.map(|d| crate::record::now_ms() + d.as_millis() as u64);
                let id = store.add_rule(&rule_json, "cli", expires_ms).await?;
                println!("added rule db:{id}: {} {} on server {} tool {}", spec.action.as_str(),
                    if spec.category.is_empty() { "any call".to_owned() } else { spec.category.iter().map(|c| c.as_str()).collect::<Vec<_>>().join("/") + " calls" },
                    spec.server, spec.tool);
                println!("it applies to servers started from now on");
                Ok(0)
            }
            RulesCommand::Remove { id } => {
                if store.remove_rule(id).await? {
                    println!("removed rule db:{id}");
                    Ok(0)
                } else {
                    eprintln!("no database rule db:{id} (rules from policy.toml are removed by editing the file)");
                    Ok(1)
                }
            }
            RulesCommand::Test { server, tool, args, roots } => {
                let arguments: Value = serde_json::from_str(&args).context("--args must be a JSON object")?;
                // The same engine `mcpfw wrap` would build for this server (the composition root).
                let inputs = mcpfw_daemon::compose::PolicyInputs::load(paths, &store).await?;
                let engine = inputs.engine(&server, inputs.roots(&roots, Vec::new()));
                let raw = arguments.to_string();
                let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(raw.as_bytes()));
                let decision = engine.decide(&Call { tool: &tool, tool_info: None, arguments: Some(&arguments), args_digest: Some(&digest), client_roots: &[] });
                println!("{} — {}", decision.action.as_str(), decision.reason);
                println!("category: {}; decided by: {}", decision.category.as_str(), decision.decided_by.label());
                for hit in &decision.guards {
                    println!("guard {} ({}): {}", hit.guard.as_str(), hit.action.as_str(), hit.reason);
                }
                Ok(0)
            }
        }
    })
}

fn rule_from_args(args: &RuleArgs) -> Result<(RuleSpec, Option<std::time::Duration>)> {
    let action = match args.action.as_str() {
        "allow" => Action::Allow,
        "ask" => Action::Ask,
        "deny" => Action::Deny,
        other => bail!("unknown action `{other}`: use allow, ask or deny"),
    };
    let category = args
        .categories
        .iter()
        .map(|c| Category::parse(c).with_context(|| format!("unknown category `{c}`: use read, write, delete, network-send, config-change, exec or unknown")))
        .collect::<Result<Vec<_>>>()?;
    let mut arg_map = BTreeMap::new();
    for pair in &args.args {
        let (name, re) =
            pair.split_once('=').with_context(|| format!("`--arg {pair}` must be NAME=REGEX"))?;
        arg_map.insert(name.to_owned(), re.to_owned());
    }
    let lift = args
        .lift
        .iter()
        .map(|g| {
            serde_json::from_value::<Guard>(Value::String(g.clone()))
                .with_context(|| format!("unknown guard `{g}`"))
        })
        .collect::<Result<Vec<_>>>()?;
    let spec = RuleSpec {
        id: None,
        server: args.server.clone(),
        tool: args.tool.clone(),
        category,
        action,
        reason: args.reason.clone(),
        when: Conditions {
            args: arg_map,
            paths_within: (!args.paths_within.is_empty()).then(|| args.paths_within.clone()),
            hosts_in: (!args.hosts.is_empty()).then(|| args.hosts.clone()),
            args_digest: None,
        },
        lift,
    };
    spec.check_for_database()?;
    let expires = args
        .expires
        .as_deref()
        .map(|e| {
            humantime::parse_duration(e)
                .with_context(|| format!("`--expires {e}` is not a duration (1h, 7d)"))
        })
        .transpose()?;
    Ok((spec, expires))
}
