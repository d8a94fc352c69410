//! `mcpfw dashboard`: opens the running daemon's dashboard, signed in with a one-time link.
//!
//! The approver token never goes into the address (where the browser's history would keep it):
//! this command presents it to `POST /api/v1/login-codes` and opens `/login?code=…` instead,
//! a link that works once and only for 60 seconds.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::approval::api_file;
use crate::paths::Paths;

const NOT_RUNNING: &str = "MCP Firewall is not running: start it with `mcpfw daemon` (or the desktop app), then run `mcpfw dashboard` again";

pub fn run(paths: &Paths, print: bool) -> Result<i32> {
    let url = sign_in_url(paths)?;
    if print {
        println!("{url}");
        return Ok(0);
    }
    match std::process::Command::new("xdg-open")
        .arg(&url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
    {
        Ok(status) if status.success() => {
            eprintln!("opened the dashboard in your browser");
            Ok(0)
        }
        _ => {
            eprintln!(
                "could not open a browser (xdg-open failed); open this link yourself within 60 s:"
            );
            println!("{url}");
            Ok(1)
        }
    }
}

/// The one-time sign-in link of the running daemon.
pub fn sign_in_url(paths: &Paths) -> Result<String> {
    let api = std::fs::read_to_string(api_file(paths)).map_err(|_| anyhow::anyhow!(NOT_RUNNING))?;
    let api: Value = serde_json::from_str(&api)
        .with_context(|| format!("{} is not valid JSON", api_file(paths).display()))?;
    let base = api["url"].as_str().context("api.json has no url")?.trim_end_matches('/');
    let address = base.strip_prefix("http://").context("the API's url is not http://")?;
    let token = crate::approval::token::read(paths)?
        .map(|(token, _)| token)
        .ok_or_else(|| anyhow::anyhow!(NOT_RUNNING))?;
    let (status, body) = post_json(address, "/api/v1/login-codes", &token)
        .map_err(|e| anyhow::anyhow!("{NOT_RUNNING} ({e})"))?;
    if status != 200 {
        bail!("the daemon refused to issue a sign-in link (HTTP {status}): {body}");
    }
    let answer: Value = serde_json::from_str(&body).context("the daemon's answer is not JSON")?;
    let path = answer["path"].as_str().context("the daemon's answer has no path")?;
    Ok(format!("{base}{path}"))
}

/// One `POST` with an empty JSON body over HTTP/1.1; (status, body).
fn post_json(address: &str, path: &str, token: &str) -> Result<(u16, String)> {
    let mut stream = TcpStream::connect(address)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("the daemon's answer is not HTTP")?;
    Ok((status, body.to_owned()))
}
