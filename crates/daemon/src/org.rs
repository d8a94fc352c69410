//! The organisation policy on this machine: where it comes from (`[organisation]` in
//! policy.toml, or `MCPFW_ORG_POLICY` / `MCPFW_ORG_KEY`), fetching it (https, a path, or http to
//! loopback for tests), the last good bundle cached under `<data>/organisation/`, and its status.
//!
//! Start-up never waits for the network: shims and the proxy read the cached bundle
//! ([`cached`]); the daemon refreshes it on a schedule ([`spawn_refresh`]) and `mcpfw org
//! refresh` does so at once. A bundle that fails its signature, has expired, is older than the
//! cached one, or cannot be fetched is refused and the last good one stays, with the error kept
//! in the status and logged. What the bundle means is the core's (`policy::org`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::paths::Paths;
use crate::policy::file::{PolicyFile, refresh_interval};
use crate::policy::org::{OrgError, Organisation, key_id};
use crate::record::now_ms;

/// The largest bundle fetched.
const MAX_BUNDLE_BYTES: usize = 1 << 20;
/// The largest signature fetched (a `.minisig` is about 300 bytes).
const MAX_SIGNATURE_BYTES: usize = 8 << 10;

/// Why the organisation policy could not be refreshed (the last good one stays).
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("no organisation policy is configured (`[organisation] source` and `public_key`)")]
    NotConfigured,
    #[error(transparent)]
    Config(#[from] OrgConfigError),
    #[error("cannot fetch {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("{0}")]
    Refused(#[from] OrgError),
    #[error(
        "the fetched organisation policy (version {version}) expired on {expires}; the last good \
         one is kept (the organisation must publish a new bundle)"
    )]
    Expired { version: u64, expires: String },
    #[error(
        "the fetched organisation policy has version {fetched}, older than version {cached} \
         already in force; it is refused (a bundle never goes back)"
    )]
    Older { fetched: u64, cached: u64 },
    #[error("cannot keep the organisation policy in {path}: {source}")]
    Cache { path: PathBuf, source: std::io::Error },
}

/// What is wrong with the organisation policy's configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OrgConfigError {
    #[error(
        "the organisation policy {location} is configured without its public key: set \
         `[organisation] public_key = \"RW…\"` (or MCPFW_ORG_KEY) to the organisation's \
         minisign public key"
    )]
    NoKey { location: String },
    #[error(transparent)]
    BadKey(OrgError),
    #[error("[organisation] {0}")]
    BadRefresh(String),
    #[error("the organisation policy source `{location}` is not a URL: {error}")]
    NotAUrl { location: String, error: url::ParseError },
    #[error(
        "the organisation policy source `{location}` must be an https:// URL (http only to this \
         machine) or a path"
    )]
    NotHttps { location: String },
}

/// Why the cached organisation policy is not enforced.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("no organisation policy was fetched yet (`mcpfw org refresh`)")]
    NotFetched,
    #[error("{} cannot be read ({error})", path.display())]
    Unreadable { path: PathBuf, error: std::io::Error },
    #[error("{} cannot be read ({error})", path.display())]
    Damaged { path: PathBuf, error: serde_json::Error },
    #[error("the cached organisation policy is not used: {0}")]
    NotVerified(OrgError),
}

/// Where the organisation policy comes from, as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgConfig {
    /// A URL or a path; the signature is this plus `.minisig`.
    pub source: String,
    pub public_key: String,
    pub refresh: Duration,
}

impl OrgConfig {
    /// From `MCPFW_ORG_POLICY` / `MCPFW_ORG_KEY`, else `[organisation]`. `Ok(None)` when no
    /// source is configured; an error names what is missing or wrong.
    pub fn from_policy(file: Option<&PolicyFile>) -> Result<Option<Self>, OrgConfigError> {
        let settings = file.map(|f| f.organisation.clone()).unwrap_or_default();
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let Some(source) = env("MCPFW_ORG_POLICY").or(settings.source) else {
            return Ok(None);
        };
        let public_key = env("MCPFW_ORG_KEY")
            .or(settings.public_key)
            .ok_or_else(|| OrgConfigError::NoKey { location: source.clone() })?;
        key_id(&public_key).map_err(OrgConfigError::BadKey)?;
        let refresh =
            refresh_interval(settings.refresh.as_deref()).map_err(OrgConfigError::BadRefresh)?;
        check_source(&source)?;
        Ok(Some(Self { source: source.trim().to_owned(), public_key, refresh }))
    }

    /// From the policy file at its usual place.
    pub fn load(paths: &Paths) -> Result<Option<Self>, OrgConfigError> {
        let file = PolicyFile::load(&crate::policy::file::policy_path(paths)).ok();
        Self::from_policy(file.as_ref())
    }
}

/// A source is `https://…`, `http://` to a loopback address, or a path.
fn check_source(source: &str) -> Result<(), OrgConfigError> {
    let source = source.trim();
    if !source.contains("://") {
        return Ok(());
    }
    let url = url::Url::parse(source)
        .map_err(|error| OrgConfigError::NotAUrl { location: source.to_owned(), error })?;
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(OrgConfigError::NotHttps { location: source.to_owned() }),
    }
}

/// The last good bundle, as kept in `<data>/organisation/cache.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cache {
    source: String,
    bundle: String,
    signature: String,
    fetched_ms: u64,
}

/// The last attempt, as kept in `<data>/organisation/status.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Attempt {
    last_attempt_ms: Option<u64>,
    last_error: Option<String>,
}

fn dir(paths: &Paths) -> PathBuf {
    paths.data.join("organisation")
}

/// The last good bundle's file, `<data>/organisation/cache.json`.
pub fn cache_path(paths: &Paths) -> PathBuf {
    dir(paths).join("cache.json")
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Option<T> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<(), FetchError> {
    let cache = |source| FetchError::Cache { path: path.to_owned(), source };
    Paths::ensure(path.parent().unwrap_or(path))
        .map_err(|e| cache(std::io::Error::other(e.to_string())))?;
    let tmp = path.with_extension("json.tmp");
    let text = serde_json::to_vec_pretty(value).map_err(|e| cache(std::io::Error::other(e)))?;
    crate::store::keys::write_private_file(&tmp, &text).map_err(cache)?;
    std::fs::rename(&tmp, path).map_err(cache)
}

/// The last good bundle for `config`, checked again against the pinned key (a cache written
/// under another key, or edited, is not used). `Err` says why there is none.
fn load_cache(paths: &Paths, config: &OrgConfig) -> Result<(Organisation, u64), CacheError> {
    let path = cache_path(paths);
    let cache: Cache = match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|error| CacheError::Damaged { path: path.clone(), error })?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(CacheError::NotFetched),
        Err(error) => return Err(CacheError::Unreadable { path, error }),
    };
    let org = Organisation::verify(
        cache.bundle.as_bytes(),
        &cache.signature,
        &config.public_key,
        &cache.source,
    )
    .map_err(CacheError::NotVerified)?;
    Ok((org, cache.fetched_ms))
}

/// The organisation policy this machine enforces now: the cached last good bundle, if one is
/// configured and cached. Never touches the network. Problems are logged (an expired bundle
/// is still enforced: it is the last good one).
pub fn cached(paths: &Paths, file: Option<&PolicyFile>) -> Option<Organisation> {
    let config = match OrgConfig::from_policy(file) {
        Ok(config) => config?,
        Err(e) => {
            tracing::error!("no organisation policy is enforced: {e}");
            return None;
        }
    };
    match load_cache(paths, &config) {
        Ok((org, _)) => {
            if org.expired(now_ms()) {
                tracing::warn!(
                    "{} expired on {}; it stays in force until a newer one is fetched",
                    org.name(),
                    org.bundle.expires
                );
            }
            Some(org)
        }
        Err(e) => {
            tracing::warn!("no organisation policy is enforced: {e}");
            None
        }
    }
}

/// What `mcpfw org status` and `GET /api/v1/organisation` show.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct OrgStatus {
    pub configured: bool,
    pub source: Option<String>,
    pub key_id: Option<String>,
    /// The version in force (the cached last good bundle).
    pub version: Option<u64>,
    pub issued: Option<String>,
    pub expires: Option<String>,
    pub expired: bool,
    /// Where the bundle in force came from.
    pub fetched_from: Option<String>,
    /// When the bundle in force was fetched (RFC 3339).
    pub fetched_at: Option<String>,
    pub last_attempt: Option<String>,
    /// Why the last attempt (or the configuration, or the cache) failed.
    pub last_error: Option<String>,
    pub refresh_s: Option<u64>,
}

fn rfc3339(ms: u64) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

/// The organisation policy's status on this machine.
pub fn status(paths: &Paths) -> OrgStatus {
    let config = match OrgConfig::load(paths) {
        Ok(Some(config)) => config,
        Ok(None) => return OrgStatus::default(),
        Err(e) => {
            return OrgStatus {
                configured: true,
                last_error: Some(e.to_string()),
                ..Default::default()
            };
        }
    };
    let attempt: Attempt = read_json(&dir(paths).join("status.json")).unwrap_or_default();
    let mut status = OrgStatus {
        configured: true,
        source: Some(config.source.clone()),
        key_id: key_id(&config.public_key).ok(),
        last_attempt: attempt.last_attempt_ms.map(rfc3339),
        last_error: attempt.last_error,
        refresh_s: Some(config.refresh.as_secs()),
        ..Default::default()
    };
    match load_cache(paths, &config) {
        Ok((org, fetched_ms)) => {
            status.version = Some(org.version());
            status.issued = Some(org.bundle.issued.clone());
            status.expires = Some(org.bundle.expires.clone());
            status.expired = org.expired(now_ms());
            status.fetched_from = Some(org.source.clone());
            status.fetched_at = Some(rfc3339(fetched_ms));
        }
        Err(e) if status.last_error.is_none() => status.last_error = Some(e.to_string()),
        Err(_) => {}
    }
    status
}

/// What a successful refresh did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refreshed {
    /// A new version is in force.
    Updated { version: u64 },
    /// The same version as before (kept, its fetch time renewed).
    Unchanged { version: u64 },
}

/// Fetches the bundle and its signature now, checks them, and keeps them as the last good
/// bundle. On any failure the last good one stays; the error is kept in the status (and
/// returned).
pub async fn refresh(paths: &Paths) -> Result<Refreshed, FetchError> {
    let config = OrgConfig::load(paths).map_err(FetchError::Config)?;
    let Some(config) = config else { return Err(FetchError::NotConfigured) };
    let outcome = refresh_with(paths, &config).await;
    let attempt = Attempt {
        last_attempt_ms: Some(now_ms()),
        last_error: outcome.as_ref().err().map(|e| e.to_string()),
    };
    let status_path = dir(paths).join("status.json");
    if let Err(e) = write_json(&status_path, &attempt) {
        tracing::warn!("{e}");
    }
    outcome
}

async fn refresh_with(paths: &Paths, config: &OrgConfig) -> Result<Refreshed, FetchError> {
    let signature_source = format!("{}.minisig", config.source);
    let bundle = fetch(&config.source, MAX_BUNDLE_BYTES).await?;
    let signature = fetch(&signature_source, MAX_SIGNATURE_BYTES).await?;
    let signature = String::from_utf8(signature).map_err(|_| {
        FetchError::Refused(OrgError::SignatureFormat(format!("{signature_source} is not text")))
    })?;
    let org = Organisation::verify(&bundle, &signature, &config.public_key, &config.source)?;
    if org.expired(now_ms()) {
        return Err(FetchError::Expired {
            version: org.version(),
            expires: org.bundle.expires.clone(),
        });
    }
    let previous = load_cache(paths, config).ok().map(|(o, _)| o.version());
    if let Some(cached) = previous
        && org.version() < cached
    {
        return Err(FetchError::Older { fetched: org.version(), cached });
    }
    let cache = Cache {
        source: config.source.clone(),
        bundle: String::from_utf8_lossy(&bundle).into_owned(),
        signature,
        fetched_ms: now_ms(),
    };
    write_json(&cache_path(paths), &cache)?;
    Ok(if previous == Some(org.version()) {
        Refreshed::Unchanged { version: org.version() }
    } else {
        tracing::info!(
            version = org.version(),
            key = %org.key_id,
            source = %config.source,
            "{} is in force",
            org.name()
        );
        Refreshed::Updated { version: org.version() }
    })
}

/// Reads a URL (https, or http to loopback) or a file, at most `max` bytes.
async fn fetch(source: &str, max: usize) -> Result<Vec<u8>, FetchError> {
    let unreachable = |reason: String| FetchError::Unreachable { url: source.to_owned(), reason };
    if !source.contains("://") {
        let path = crate::policy::engine::expand_home(
            source,
            std::env::var_os("HOME").map(PathBuf::from).as_deref(),
        );
        let bytes = tokio::fs::read(&path).await.map_err(|e| unreachable(e.to_string()))?;
        if bytes.len() > max {
            return Err(unreachable(format!("it is larger than {max} bytes")));
        }
        return Ok(bytes);
    }
    check_source(source).map_err(FetchError::Config)?;
    let client =
        crate::outbound::client().map_err(|e| unreachable(crate::text::error_chain(&e)))?;
    let mut response = client
        .get(source)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map_err(|e| unreachable(describe(&e)))?;
    if !response.status().is_success() {
        return Err(unreachable(format!("the server answered {}", response.status())));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| unreachable(describe(&e)))? {
        body.extend_from_slice(&chunk);
        if body.len() > max {
            return Err(unreachable(format!("it is larger than {max} bytes")));
        }
    }
    Ok(body)
}

fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        text.push_str(&format!(": {inner}"));
        source = inner.source();
    }
    text
}

/// The daemon's schedule: a refresh at start and then every `refresh` interval (read again
/// each time, so a changed policy.toml is followed). Failures are logged as warnings.
pub fn spawn_refresh(paths: Paths) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match refresh(&paths).await {
                Ok(Refreshed::Updated { version }) => {
                    tracing::info!(version, "organisation policy updated");
                }
                Ok(Refreshed::Unchanged { .. }) | Err(FetchError::NotConfigured) => {}
                Err(e) => tracing::warn!("the organisation policy was not refreshed: {e}"),
            }
            let interval = OrgConfig::load(&paths)
                .ok()
                .flatten()
                .map_or(Duration::from_secs(3600), |c| c.refresh);
            tokio::time::sleep(interval).await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_https_loopback_http_or_paths() {
        assert!(check_source("https://policy.example.com/org.toml").is_ok());
        assert!(check_source("http://127.0.0.1:8080/org.toml").is_ok());
        assert!(check_source("http://localhost/org.toml").is_ok());
        assert!(check_source("/etc/mcpfw/org.toml").is_ok());
        let e = check_source("http://policy.example.com/org.toml").unwrap_err();
        assert!(matches!(e, OrgConfigError::NotHttps { .. }), "{e}");
        assert!(e.to_string().contains("must be an https:// URL"), "{e}");
        assert!(check_source("ftp://x/y").is_err());
    }

    #[test]
    fn a_source_without_a_key_is_an_error_that_names_the_setting() {
        let file = PolicyFile::parse(
            "[organisation]\nsource = \"https://example.com/org.toml\"\n",
            "policy.toml",
        )
        .unwrap();
        let e = OrgConfig::from_policy(Some(&file)).unwrap_err();
        assert!(matches!(e, OrgConfigError::NoKey { .. }), "{e}");
        assert!(e.to_string().contains("public_key"), "{e}");
        assert_eq!(OrgConfig::from_policy(Some(&PolicyFile::default())), Ok(None));
    }
}
