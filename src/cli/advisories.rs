//! `mcpfw advisories update --from FILE|URL` and `mcpfw advisories status`: OSV records for
//! npm and PyPI, kept in the history database and matched offline (docs/packages.md). A URL
//! is downloaded to a temporary file first (https only, or http to this computer; no
//! redirects; at most [`MAX_DOWNLOAD_BYTES`]), then imported like a file.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::AdvisoriesCommand;
use crate::paths::Paths;
use crate::store::{self, Store};
use mcpfw_core::package::osv::{self, Record};

/// Records imported per transaction.
const BATCH: usize = 2_000;
/// The largest single record file read (OSV records are a few KB).
const MAX_RECORD_BYTES: u64 = 16 * 1024 * 1024;
/// The largest download `--from URL` accepts (OSV's npm `all.zip` is a few hundred MB).
pub const MAX_DOWNLOAD_BYTES: u64 = 1024 * 1024 * 1024;
/// How long a download may go without receiving anything.
const DOWNLOAD_STALL: std::time::Duration = std::time::Duration::from_secs(60);
/// How deep a folder of records is walked (OSV's git layouts nest by ecosystem and package).
const MAX_DEPTH: usize = 8;

pub fn run(paths: &Paths, command: AdvisoriesCommand) -> Result<i32> {
    let (key, _) = store::load_or_create_chain_key(paths)?;
    let db = store::db_path(paths);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async move {
        let store =
            Store::open(&db, key).await.with_context(|| format!("cannot open {}", db.display()))?;
        let code = match command {
            AdvisoriesCommand::Update { from } => match download_url(&from)? {
                Some(url) => {
                    let file = download(&url).await?;
                    update(&store, file.path(), url.as_str()).await?
                }
                None => update(&store, Path::new(&from), &from).await?,
            },
            AdvisoriesCommand::Status { json } => status(&store, json).await?,
        };
        store.close().await;
        Ok(code)
    })
}

/// What an import read.
#[derive(Default)]
struct Tally {
    read: u64,
    skipped: u64,
    problems: Vec<String>,
    written: u64,
    newest: Option<String>,
}

impl Tally {
    fn skip(&mut self, what: &str, why: impl std::fmt::Display) {
        self.skipped += 1;
        if self.problems.len() < 5 {
            self.problems.push(format!("{what}: {why}"));
        }
    }
}

/// `--from`'s value as an address to download, when it is one: https, or http to this
/// computer (a local mirror). Other schemes, and plain http elsewhere, are refused.
fn download_url(from: &str) -> Result<Option<reqwest::Url>> {
    let Some((scheme, _)) = from.split_once("://") else { return Ok(None) };
    if !scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) {
        return Ok(None);
    }
    let url = reqwest::Url::parse(from).with_context(|| format!("{from} is not a valid URL"))?;
    match url.scheme() {
        "https" => Ok(Some(url)),
        "http" => {
            let loopback = match url.host() {
                Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                None => false,
            };
            if loopback {
                Ok(Some(url))
            } else {
                bail!(
                    "{from}: advisories are downloaded over https only (plain http only from \
                     this computer); use the https:// address"
                )
            }
        }
        other => bail!(
            "{from}: `{other}://` is not supported; give a file, a folder or an https:// address"
        ),
    }
}

/// Downloads `url` into a temporary file: a 2xx answer only (no redirects followed), at most
/// [`MAX_DOWNLOAD_BYTES`], never stalled longer than [`DOWNLOAD_STALL`].
async fn download(url: &reqwest::Url) -> Result<tempfile::NamedTempFile> {
    use std::io::Write;
    let client = crate::proxy::upstream::client()?;
    let mut response = client
        .get(url.clone())
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("cannot download {url}: {}", error_chain(&e)))?;
    let status = response.status();
    if status.is_redirection() {
        let to = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .unwrap_or("(no location)");
        bail!("{url} answered {status}, a redirect to {to}; give that address if you trust it");
    }
    if !status.is_success() {
        bail!("cannot download {url}: the server answered {status}");
    }
    if let Some(length) = response.content_length()
        && length > MAX_DOWNLOAD_BYTES
    {
        bail!("{url} is {length} bytes, more than the {MAX_DOWNLOAD_BYTES} bytes accepted");
    }
    let mut file = tempfile::NamedTempFile::new().context("cannot create a temporary file")?;
    let mut total: u64 = 0;
    loop {
        let chunk = tokio::time::timeout(DOWNLOAD_STALL, response.chunk())
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "downloading {url} stalled: nothing arrived for {} s",
                    DOWNLOAD_STALL.as_secs()
                )
            })?
            .map_err(|e| anyhow::anyhow!("downloading {url} failed: {}", error_chain(&e)))?;
        let Some(chunk) = chunk else { break };
        total += chunk.len() as u64;
        if total > MAX_DOWNLOAD_BYTES {
            bail!(
                "{url} is larger than the {MAX_DOWNLOAD_BYTES} bytes accepted; nothing was imported"
            );
        }
        file.write_all(&chunk).context("cannot write the download to a temporary file")?;
    }
    file.flush()?;
    Ok(file)
}

/// An error with its causes (reqwest's own message rarely says why).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

async fn update(store: &Store, from: &Path, shown: &str) -> Result<i32> {
    let mut tally = Tally::default();
    let mut batch: Vec<Record> = Vec::with_capacity(BATCH);
    let flush = async |batch: &mut Vec<Record>, tally: &mut Tally| -> Result<()> {
        tally.written += store.import_advisories(batch).await?;
        batch.clear();
        Ok(())
    };
    let meta = std::fs::metadata(from).with_context(|| format!("cannot read {shown}"))?;
    let take = |name: &str, bytes: &[u8], batch: &mut Vec<Record>, tally: &mut Tally| {
        for record in parse_records(name, bytes, tally) {
            tally.read += 1;
            if tally.newest.as_deref().is_none_or(|n| record.modified.as_str() > n) {
                tally.newest = Some(record.modified.clone());
            }
            if !record.packages().is_empty() {
                batch.push(record);
            }
        }
    };
    if meta.is_dir() {
        let mut files = Vec::new();
        walk(from, 0, &mut files)?;
        files.sort();
        for file in files {
            let name = file.display().to_string();
            match read_capped(std::fs::File::open(&file)?) {
                Ok(bytes) => take(&name, &bytes, &mut batch, &mut tally),
                Err(e) => tally.skip(&name, e),
            }
            if batch.len() >= BATCH {
                flush(&mut batch, &mut tally).await?;
            }
        }
    } else {
        let mut file = std::fs::File::open(from)?;
        let mut magic = [0u8; 4];
        let is_zip = file.read(&mut magic).is_ok_and(|n| n == 4 && magic == *b"PK\x03\x04");
        drop(file);
        if is_zip {
            let file = std::fs::File::open(from)?;
            let mut archive = zip::ZipArchive::new(std::io::BufReader::new(file))
                .with_context(|| format!("{shown} is not a readable zip file"))?;
            for i in 0..archive.len() {
                let mut entry = match archive.by_index(i) {
                    Ok(entry) => entry,
                    Err(e) => {
                        tally.skip(&format!("entry {i}"), e);
                        continue;
                    }
                };
                let name = entry.name().to_owned();
                if !entry.is_file() || !name.ends_with(".json") {
                    continue;
                }
                if entry.size() > MAX_RECORD_BYTES {
                    tally.skip(&name, "larger than 16 MiB");
                    continue;
                }
                let mut bytes = Vec::with_capacity(entry.size() as usize);
                if let Err(e) = (&mut entry).take(MAX_RECORD_BYTES).read_to_end(&mut bytes) {
                    tally.skip(&name, e);
                    continue;
                }
                take(&name, &bytes, &mut batch, &mut tally);
                if batch.len() >= BATCH {
                    flush(&mut batch, &mut tally).await?;
                }
            }
        } else {
            let bytes = std::fs::read(from)?;
            take(shown, &bytes, &mut batch, &mut tally);
        }
    }
    flush(&mut batch, &mut tally).await?;
    if tally.read == 0 {
        let problems = tally.problems.join("; ");
        bail!(
            "{shown} holds no OSV record{}",
            if problems.is_empty() { String::new() } else { format!(" ({problems})") }
        );
    }
    let source = if shown.contains("://") {
        shown.to_owned()
    } else {
        std::path::absolute(from).unwrap_or_else(|_| from.to_path_buf()).display().to_string()
    };
    store
        .note_advisory_import(
            &source,
            crate::record::now_ms(),
            tally.written,
            tally.newest.as_deref(),
        )
        .await?;
    println!(
        "imported {} OSV records from {shown} ({} for npm or PyPI packages kept){}",
        tally.read,
        tally.written,
        tally.newest.as_deref().map_or_else(String::new, |n| format!("; newest modified {n}"))
    );
    if tally.skipped > 0 {
        eprintln!(
            "mcpfw: {} file(s) skipped: {}{}",
            tally.skipped,
            tally.problems.join("; "),
            if tally.skipped as usize > tally.problems.len() { "; …" } else { "" }
        );
    }
    Ok(0)
}

/// The OSV records in one file: a record, or an array of records.
fn parse_records(name: &str, bytes: &[u8], tally: &mut Tally) -> Vec<Record> {
    let value: Value = match serde_json::from_slice(bytes) {
        Ok(value) => value,
        Err(e) => {
            tally.skip(name, format!("not JSON ({e})"));
            return Vec::new();
        }
    };
    let values = match value {
        Value::Array(values) => values,
        value => vec![value],
    };
    values
        .into_iter()
        .filter_map(|v| match serde_json::from_value::<Record>(v) {
            Ok(record) if !record.id.is_empty() => Some(record),
            Ok(_) => {
                tally.skip(name, "a record without an id");
                None
            }
            Err(e) => {
                tally.skip(name, format!("not an OSV record ({e})"));
                None
            }
        })
        .collect()
}

fn read_capped(file: std::fs::File) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    file.take(MAX_RECORD_BYTES).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The `.json` files below `dir` (symbolic links are not followed).
fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<()> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let path = entry.path();
        if kind.is_dir() {
            walk(&path, depth + 1, out)?;
        } else if kind.is_file() && path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

async fn status(store: &Store, as_json: bool) -> Result<i32> {
    let import = store.advisory_import().await?;
    let (note, stale) =
        osv::age_note(import.as_ref().map(|i| i.imported_ms), crate::record::now_ms());
    if as_json {
        println!(
            "{}",
            json!({"import": import, "stale": stale, "note": note, "stale_after_days": osv::STALE_AFTER_DAYS})
        );
        return Ok(0);
    }
    match &import {
        Some(i) => println!(
            "{} advisory rows from {}; {note}{}",
            i.stored,
            i.source,
            i.newest_modified
                .as_deref()
                .map_or_else(String::new, |n| format!(" (newest record modified {n})"))
        ),
        None => println!("{note}"),
    }
    Ok(0)
}
