//! `mcpfw proxy add|list|remove`: the HTTP servers behind the daemon's loopback proxy.

use anyhow::{Result, bail};

use super::ProxyCommand;
use crate::paths::Paths;
use crate::proxy::registry::{self, TOKEN_HEADER};

pub fn run(paths: &Paths, command: ProxyCommand) -> Result<i32> {
    match command {
        ProxyCommand::Add { name, url, client, sse } => {
            let checked = registry::check_upstream(&url)?;
            if let Some(warning) = checked.warning {
                eprintln!("warning: {warning}");
            }
            let route = if sse {
                registry::register_legacy(paths, &client, &name, &url)?
            } else {
                registry::register(paths, &client, &name, &url)?
            };
            println!("{name} is served at {}", route.url);
            println!("send the header  {TOKEN_HEADER}: {}", route.token);
            println!(
                "(the token is {client:?}'s; `mcpfw daemon` or the desktop app must be running)"
            );
            Ok(0)
        }
        ProxyCommand::List { json } => {
            let registry = registry::load(paths)?;
            let port = registry::port(&registry)?;
            if json {
                for (name, upstream) in &registry.upstreams {
                    let line = serde_json::json!({
                        "name": name,
                        "upstream": upstream.url,
                        "url": registry::route_url(port, name),
                    });
                    println!("{line}");
                }
            } else if registry.upstreams.is_empty() {
                println!(
                    "no HTTP servers are behind the proxy; add one with `mcpfw proxy add NAME URL`"
                );
            } else {
                for (name, upstream) in &registry.upstreams {
                    let route = registry::route_url(port, name);
                    let route =
                        if upstream.legacy_sse { route.replace("/mcp", "/sse") } else { route };
                    println!("{name}\t{route}\t→ {}", upstream.url);
                }
            }
            Ok(0)
        }
        ProxyCommand::Remove { name } => {
            if !registry::load(paths)?.upstreams.contains_key(&name) {
                bail!("no server named {name:?} is behind the proxy (`mcpfw proxy list`)");
            }
            registry::unregister(paths, "cli", &name)?;
            println!("{name} was taken off the proxy");
            Ok(0)
        }
    }
}
