//! `mcpfw org status|refresh`: the organisation policy on this machine (docs/teams.md).

use anyhow::Result;

use crate::org::{FetchError, OrgStatus, Refreshed};
use crate::paths::Paths;

pub fn status(paths: &Paths, as_json: bool) -> Result<i32> {
    let status = crate::org::status(paths);
    if as_json {
        println!("{}", serde_json::to_string_pretty(&status)?);
        return Ok(0);
    }
    print!("{}", describe(&status));
    Ok(0)
}

fn describe(status: &OrgStatus) -> String {
    if !status.configured {
        return "no organisation policy is configured (`[organisation]` in policy.toml, see \
                docs/teams.md)\n"
            .into();
    }
    let or_none = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let mut out = String::new();
    match status.version {
        Some(version) => out.push_str(&format!(
            "organisation policy version {version}{}\n",
            if status.expired {
                " (EXPIRED: still enforced until a newer one is fetched)"
            } else {
                ""
            }
        )),
        None => out.push_str("no organisation policy is in force yet\n"),
    }
    out.push_str(&format!("  source        {}\n", or_none(&status.source)));
    out.push_str(&format!("  key id        {}\n", or_none(&status.key_id)));
    out.push_str(&format!("  issued        {}\n", or_none(&status.issued)));
    out.push_str(&format!("  expires       {}\n", or_none(&status.expires)));
    out.push_str(&format!("  fetched       {}\n", or_none(&status.fetched_at)));
    out.push_str(&format!("  last attempt  {}\n", or_none(&status.last_attempt)));
    if let Some(secs) = status.refresh_s {
        out.push_str(&format!(
            "  refresh       every {}\n",
            humantime::format_duration(std::time::Duration::from_secs(secs))
        ));
    }
    out.push_str(&format!("  last error    {}\n", status.last_error.as_deref().unwrap_or("none")));
    out
}

pub fn refresh(paths: &Paths) -> Result<i32> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    match runtime.block_on(crate::org::refresh(paths)) {
        Ok(Refreshed::Updated { version }) => {
            println!("organisation policy version {version} is in force");
            Ok(0)
        }
        Ok(Refreshed::Unchanged { version }) => {
            println!("organisation policy version {version} is in force (unchanged)");
            Ok(0)
        }
        Err(e @ FetchError::NotConfigured) => {
            eprintln!("mcpfw org refresh: {e}");
            Ok(2)
        }
        Err(e) => {
            eprintln!("mcpfw org refresh: {e}");
            match crate::org::status(paths).version {
                Some(version) => eprintln!(
                    "the last good organisation policy (version {version}) stays in force"
                ),
                None => eprintln!("no organisation policy is in force"),
            }
            Ok(1)
        }
    }
}
