//! `mcpfw tools list|diff|trust|block`: tool pins and the changed tools waiting for review.

use anyhow::{Context, Result, bail};
use serde_json::json;

use super::ToolsCommand;
use crate::paths::Paths;
use crate::store::pins::Pin;
use crate::store::{self, Store};

pub fn run(paths: &Paths, command: ToolsCommand) -> Result<i32> {
    let (key, _) = store::load_or_create_chain_key(paths)?;
    let db = store::db_path(paths);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        let store =
            Store::open(&db, key).await.with_context(|| format!("cannot open {}", db.display()))?;
        let code = match command {
            ToolsCommand::List { server, json } => list(&store, server.as_deref(), json).await?,
            ToolsCommand::Diff { server, tool } => {
                let pin = pin(&store, &server, &tool).await?;
                match &pin.pending_definition {
                    None => println!("{server} · {tool} is {} — no change is waiting", pin.status),
                    Some(_) => print!("{}", crate::text::visible(&pin.describe_change())),
                }
                0
            }
            ToolsCommand::Trust { server, package: true, digest, .. } => {
                let digest = package_digest(&store, &server, digest).await?;
                let pin = store.trust_package(&server, &digest).await?;
                println!(
                    "trusted {} for {server}; its tools are passed to the client again the next \
                     time it lists them",
                    pin.identity.label()
                );
                0
            }
            ToolsCommand::Block { server, package: true, digest, .. } => {
                let digest = package_digest(&store, &server, digest).await?;
                let pin = store.block_package(&server, &digest).await?;
                let now = pin.pending_identity.as_ref().map_or_else(String::new, |i| i.label());
                println!("{server}'s tools stay withheld while it runs {now}");
                0
            }
            ToolsCommand::Trust { server, tool, digest, .. } => {
                let tool = tool.unwrap_or_default();
                let digest = pending_digest(&store, &server, &tool, digest).await?;
                store.trust_pending(&server, &tool, &digest).await?;
                println!(
                    "trusted the new definition of {server} · {tool} ({}); it is passed to the \
                     client again the next time it lists the tools",
                    &digest[..12]
                );
                0
            }
            ToolsCommand::Block { server, tool, digest, .. } => {
                let tool = tool.unwrap_or_default();
                let digest = pending_digest(&store, &server, &tool, digest).await?;
                store.block_pending(&server, &tool, &digest).await?;
                println!("{server} · {tool} stays withheld while it has this definition");
                0
            }
            ToolsCommand::Package { server, json } => {
                let pins = store.package_pins(server.as_deref()).await?;
                if pins.is_empty() && !json {
                    println!(
                        "no package pinned yet: a server's package is pinned the first time it \
                         lists its tools through `mcpfw wrap`"
                    );
                }
                for pin in &pins {
                    if json {
                        println!("{}", serde_json::to_string(pin)?);
                    } else {
                        print!("{}", crate::text::visible(&pin.describe_change()));
                    }
                }
                0
            }
        };
        store.close().await;
        Ok(code)
    })
}

async fn list(store: &Store, server: Option<&str>, as_json: bool) -> Result<i32> {
    let pins = store.pins(server).await?;
    if pins.is_empty() && !as_json {
        println!("no tools pinned yet: a tool is pinned the first time its server lists it");
    }
    for pin in &pins {
        if as_json {
            println!(
                "{}",
                json!({
                    "server": pin.server, "tool": pin.name, "status": pin.status,
                    "digest": pin.digest, "pending_digest": pin.pending_digest,
                    "first_seen_ms": pin.first_seen_ms, "changed_ms": pin.changed_ms,
                })
            );
        } else {
            let note = match pin.status.as_str() {
                "changed" => "  ← changed: withheld until you review it (`mcpfw tools diff`)",
                "blocked" => "  ← changed and blocked by you",
                _ => "",
            };
            println!(
                "{:<20} {:<28} {:<8} {}{note}",
                pin.server,
                pin.name,
                pin.status,
                &pin.digest[..12]
            );
        }
    }
    Ok(0)
}

async fn pin(store: &Store, server: &str, tool: &str) -> Result<Pin> {
    store.pins(Some(server)).await?.into_iter().find(|p| p.name == tool).with_context(|| {
        format!("server {server:?} has no tool {tool:?} pinned (see `mcpfw tools list`)")
    })
}

/// The digest of the package change to decide for `server`: the one given, else the one
/// waiting now (the store refuses one that is no longer waiting).
async fn package_digest(store: &Store, server: &str, given: Option<String>) -> Result<String> {
    if let Some(given) = given {
        if given.trim().len() < 8 {
            bail!("--digest needs at least 8 characters of the digest `mcpfw tools package` shows");
        }
        return Ok(given.trim().to_owned());
    }
    let pin = store.package_pins(Some(server)).await?.into_iter().next().with_context(|| {
        format!("server {server:?} has no package pinned (see `mcpfw tools package`)")
    })?;
    pin.pending_digest.with_context(|| {
        format!("the package of {server} has no change waiting (it is {})", pin.status)
    })
}

/// The digest of the change to decide: the one given (which must still be the one waiting),
/// else the one waiting now.
async fn pending_digest(
    store: &Store,
    server: &str,
    tool: &str,
    given: Option<String>,
) -> Result<String> {
    let pin = pin(store, server, tool).await?;
    let Some(waiting) = pin.pending_digest.clone() else {
        bail!("{server} · {tool} has no change waiting (it is {})", pin.status);
    };
    match given {
        Some(given) if !waiting.starts_with(given.trim()) || given.trim().len() < 8 => bail!(
            "{server} · {tool} changed again since: the change waiting now is {}; review it with \
             `mcpfw tools diff {server} {tool}`",
            &waiting[..12]
        ),
        _ => Ok(waiting),
    }
}
