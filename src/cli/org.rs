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

/// The organisation policy in one paragraph for `mcpfw status`: nothing when none is configured.
pub fn summary(status: &OrgStatus) -> Option<String> {
    if !status.configured {
        return None;
    }
    let source = status.source.as_deref().unwrap_or("-");
    let mut out = match status.version {
        Some(version) => {
            let fetched = status.fetched_at.as_deref().unwrap_or("-");
            format!("organisation policy: version {version} from {source} (fetched {fetched})")
        }
        None => format!("organisation policy: NONE IN FORCE (configured from {source})"),
    };
    if status.expired {
        out.push_str("\n  EXPIRED: still enforced until a newer one is fetched");
    }
    if let Some(error) = &status.last_error {
        out.push_str(&format!("\n  the last refresh failed: {error}"));
        if let Some(version) = status.version {
            out.push_str(&format!(" (version {version} stays in force)"));
        }
        out.push_str("\n  details: mcpfw org status; try again: mcpfw org refresh");
    }
    Some(out)
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

/// `mcpfw org check FILE [--key RW…]`: what a machine would say about this bundle.
pub fn check(file: &std::path::Path, key: Option<String>) -> Result<i32> {
    use crate::policy::org::Organisation;
    let name = file.display().to_string();
    let bytes = std::fs::read(file).map_err(|e| anyhow::anyhow!("cannot read {name}: {e}"))?;
    let outcome = match &key {
        Some(key) => {
            let sig_path = format!("{name}.minisig");
            let signature = std::fs::read_to_string(&sig_path).map_err(|e| {
                anyhow::anyhow!(
                    "cannot read the signature {sig_path}: {e} (sign with `minisign -Sm {name}`)"
                )
            })?;
            Organisation::verify(&bytes, &signature, key, &name).map(|o| {
                let signed = format!(", signed by key {}", o.key_id);
                let expired = o.expired(crate::record::now_ms());
                (o.bundle, signed, expired)
            })
        }
        None => std::str::from_utf8(&bytes)
            .map_err(|_| {
                crate::policy::org::OrgError::Invalid("the bundle is not UTF-8 text".into())
            })
            .and_then(|text| Organisation::parse(text, &name))
            .map(|b| (b, " (signature not checked: give --key)".to_owned(), false)),
    };
    match outcome {
        Ok((bundle, signed, expired)) => {
            println!(
                "{name}: OK, version {}, expires {}{}, {} rules{signed}",
                bundle.version,
                bundle.expires,
                if expired { " (EXPIRED: machines will refuse it)" } else { "" },
                bundle.rules.len()
            );
            Ok(if expired { 1 } else { 0 })
        }
        Err(e) => {
            eprintln!("mcpfw org check: {e}");
            Ok(1)
        }
    }
}
