//! Package pins (trust on first use): see `migrations/20261206000000_package_pins.sql`.
//!
//! The first time a server's package resolves (npm's version and integrity, an image digest,
//! a file's hash), it is pinned. A later start that resolves to something else is a change:
//! it waits for the user, and meanwhile the pipeline withholds the server's tools
//! (`Trust::PackageChanged`). A package that changes back to its pin is trusted again.

use serde::Serialize;

use super::{Store, chain};
use mcpfw_core::package::{Identity, PackageTrust};

/// What can go wrong deciding about a package pin.
#[derive(Debug, thiserror::Error)]
pub enum PackagePinError {
    #[error("server {server:?} has no package pinned")]
    NotPinned { server: String },
    #[error("the package of server {server:?} has no change waiting")]
    NoChange { server: String },
    #[error("the package of server {server:?} changed again (now {now}); review it again")]
    ChangedAgain { server: String, now: String },
    #[error("a stored package identity is not readable: {0}")]
    Corrupt(#[from] serde_json::Error),
    #[error(transparent)]
    Store(#[from] crate::StoreError),
}

/// One server's package pin, as `mcpfw tools package` and scan show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PackagePin {
    pub server: String,
    pub status: String,
    pub digest: String,
    pub identity: Identity,
    pub pending_digest: Option<String>,
    pub pending_identity: Option<Identity>,
    pub first_seen_ms: u64,
    pub changed_ms: u64,
}

impl PackagePin {
    /// The change waiting, for a person: before and after, and how to decide.
    pub fn describe_change(&self) -> String {
        let Some(now) = &self.pending_identity else {
            return format!(
                "{} runs {} ({}) — no change is waiting\n",
                self.server,
                self.identity.label(),
                self.status
            );
        };
        let line = |label: &str, a: &Option<String>, b: &Option<String>| {
            let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
            if a == b {
                format!("  {label:<10} {}\n", show(a))
            } else {
                format!("  {label:<10} {} → {}\n", show(a), show(b))
            }
        };
        let pending = self.pending_digest.as_deref().unwrap_or_default();
        let mut out = format!(
            "{} · the package changed (status: {}); pinned {} → now {}\n",
            self.server,
            self.status,
            short(&self.digest),
            short(pending)
        );
        out.push_str(&line(
            "package",
            &Some(format!("{} {}", self.identity.ecosystem.as_str(), self.identity.name)),
            &Some(format!("{} {}", now.ecosystem.as_str(), now.name)),
        ));
        out.push_str(&line("version", &self.identity.resolved, &now.resolved));
        out.push_str(&line("integrity", &self.identity.integrity, &now.integrity));
        out.push_str(&line("asked for", &self.identity.requested, &now.requested));
        out.push_str(&format!(
            "\nTrust it with `mcpfw tools trust {0} --package --digest {1}`, or keep it withheld \
             with `mcpfw tools block {0} --package`.\n",
            self.server,
            short(pending)
        ));
        out
    }
}

fn short(digest: &str) -> &str {
    &digest[..12.min(digest.len())]
}

type Row = (String, String, String, String, Option<String>, Option<String>, i64, i64);

const COLUMNS: &str = "server, status, digest, identity, pending_digest, pending_identity, \
                       first_seen_ms, changed_ms";

impl TryFrom<Row> for PackagePin {
    type Error = serde_json::Error;
    fn try_from(row: Row) -> Result<Self, Self::Error> {
        let (server, status, digest, identity, pending_digest, pending_identity, f, c) = row;
        Ok(PackagePin {
            server,
            status,
            digest,
            identity: serde_json::from_str(&identity)?,
            pending_digest,
            pending_identity: pending_identity.as_deref().map(serde_json::from_str).transpose()?,
            first_seen_ms: f.max(0) as u64,
            changed_ms: c.max(0) as u64,
        })
    }
}

impl Store {
    /// Compares the package `server` runs now with its pin, pinning it the first time, in one
    /// transaction. An identity that did not resolve is neither pinned nor compared.
    pub async fn check_package(
        &self,
        server: &str,
        package: &Identity,
        now_ms: u64,
    ) -> Result<PackageTrust, PackagePinError> {
        if !package.is_resolved() {
            return Ok(PackageTrust::Unresolved);
        }
        let now = chain::to_i64(now_ms);
        let digest = package.digest();
        let text = serde_json::to_string(package)?;
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| self.db_error("write to", e))?;
        let pin: Option<(String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT status, digest, identity, pending_digest FROM package_pins WHERE server = ?",
        )
        .bind(server)
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| self.db_error("read", e))?;
        let trust = match pin {
            None => {
                sqlx::query(
                    "INSERT INTO package_pins (server, digest, identity, status, first_seen_ms, \
                     changed_ms) VALUES (?1, ?2, ?3, 'trusted', ?4, ?4)",
                )
                .bind(server)
                .bind(&digest)
                .bind(&text)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.db_error("write to", e))?;
                PackageTrust::New
            }
            Some((status, pinned, identity, pending)) if pinned == digest => {
                if status != "trusted" || pending.is_some() || identity != text {
                    // Back to the trusted package (or the same package asked for differently,
                    // e.g. pinned since): keep what is known now.
                    sqlx::query(
                        "UPDATE package_pins SET status = 'trusted', identity = ?2, \
                         pending_digest = NULL, pending_identity = NULL, changed_ms = ?3 \
                         WHERE server = ?1",
                    )
                    .bind(server)
                    .bind(&text)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| self.db_error("write to", e))?;
                }
                PackageTrust::Pinned
            }
            Some((status, _, identity, pending)) => {
                let pinned: Identity = serde_json::from_str(&identity)?;
                let blocked = status == "blocked" && pending.as_deref() == Some(&*digest);
                if pending.as_deref() != Some(&*digest) {
                    sqlx::query(
                        "UPDATE package_pins SET status = 'changed', pending_digest = ?2, \
                         pending_identity = ?3, changed_ms = ?4 WHERE server = ?1",
                    )
                    .bind(server)
                    .bind(&digest)
                    .bind(&text)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| self.db_error("write to", e))?;
                }
                let now = package.clone();
                if blocked {
                    PackageTrust::Blocked { pinned, now, digest }
                } else {
                    PackageTrust::Changed { pinned, now, digest }
                }
            }
        };
        tx.commit().await.map_err(|e| self.db_error("commit to", e))?;
        Ok(trust)
    }

    /// The package pins, of one server or all, ordered by server.
    pub async fn package_pins(
        &self,
        server: Option<&str>,
    ) -> Result<Vec<PackagePin>, PackagePinError> {
        let rows: Vec<Row> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM package_pins WHERE ?1 IS NULL OR server = ?1 ORDER BY server"
        ))
        .bind(server)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.db_error("read", e))?;
        rows.into_iter().map(|r| PackagePin::try_from(r).map_err(Into::into)).collect()
    }

    /// Trusts the package waiting for `server` — only if it is still the one whose digest
    /// starts with `digest` (what the user reviewed).
    pub async fn trust_package(
        &self,
        server: &str,
        digest: &str,
    ) -> Result<PackagePin, PackagePinError> {
        self.decide_package(server, digest, true).await
    }

    /// Keeps the package waiting for `server` withheld (until it changes again or back).
    pub async fn block_package(
        &self,
        server: &str,
        digest: &str,
    ) -> Result<PackagePin, PackagePinError> {
        self.decide_package(server, digest, false).await
    }

    async fn decide_package(
        &self,
        server: &str,
        digest: &str,
        trust: bool,
    ) -> Result<PackagePin, PackagePinError> {
        let now = chain::to_i64(mcpfw_core::record::now_ms());
        let sql = if trust {
            "UPDATE package_pins SET status = 'trusted', digest = pending_digest, \
             identity = pending_identity, pending_digest = NULL, pending_identity = NULL, \
             changed_ms = ?3 WHERE server = ?1 AND pending_digest = ?2"
        } else {
            "UPDATE package_pins SET status = 'blocked', changed_ms = ?3 \
             WHERE server = ?1 AND pending_digest = ?2"
        };
        let pin = self.package_pins(Some(server)).await?.into_iter().next();
        let Some(pin) = pin else {
            return Err(PackagePinError::NotPinned { server: server.to_owned() });
        };
        let Some(pending) = pin.pending_digest.clone() else {
            return Err(PackagePinError::NoChange { server: server.to_owned() });
        };
        if digest.is_empty() || !pending.starts_with(digest) {
            return Err(PackagePinError::ChangedAgain {
                server: server.to_owned(),
                now: short(&pending).to_owned(),
            });
        }
        let done = sqlx::query(sql)
            .bind(server)
            .bind(&pending)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(|e| self.db_error("write to", e))?
            .rows_affected();
        if done != 1 {
            return Err(PackagePinError::ChangedAgain {
                server: server.to_owned(),
                now: "unknown".to_owned(),
            });
        }
        let pin = self.package_pins(Some(server)).await?.into_iter().next();
        pin.ok_or_else(|| PackagePinError::NotPinned { server: server.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::ChainKey;
    use mcpfw_core::package::Ecosystem;

    fn package(version: &str, integrity: &str) -> Identity {
        Identity {
            ecosystem: Ecosystem::Npm,
            name: "is-number".into(),
            requested: None,
            resolved: Some(version.into()),
            integrity: Some(integrity.into()),
            pinned: false,
            source: "test".into(),
        }
    }

    #[tokio::test]
    async fn a_changed_package_waits_until_trusted_and_a_stale_review_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store =
            Store::open(&dir.path().join("h.db"), ChainKey::from_bytes([7; 32])).await.unwrap();
        let (v6, v7) = (package("6.0.0", "sha512-six"), package("7.0.0", "sha512-seven"));
        assert_eq!(store.check_package("s", &v6, 1).await.unwrap(), PackageTrust::New);
        assert_eq!(store.check_package("s", &v6, 2).await.unwrap(), PackageTrust::Pinned);
        let unresolved = Identity { resolved: None, integrity: None, ..v6.clone() };
        assert_eq!(
            store.check_package("s", &unresolved, 2).await.unwrap(),
            PackageTrust::Unresolved
        );
        let changed = store.check_package("s", &v7, 3).await.unwrap();
        assert!(
            matches!(&changed, PackageTrust::Changed { pinned, now, .. } if pinned == &v6 && now == &v7),
            "{changed:?}"
        );
        let pin = store.package_pins(Some("s")).await.unwrap().remove(0);
        assert_eq!(pin.status, "changed");
        let text = pin.describe_change();
        assert!(text.contains("6.0.0 → 7.0.0"), "{text}");
        // Back to the pin: trusted again, nothing waits.
        assert_eq!(store.check_package("s", &v6, 4).await.unwrap(), PackageTrust::Pinned);
        assert!(matches!(
            store.trust_package("s", "").await,
            Err(PackagePinError::NoChange { .. })
        ));
        store.check_package("s", &v7, 5).await.unwrap();
        let digest = v7.digest();
        assert!(matches!(
            store.trust_package("s", "0123").await,
            Err(PackagePinError::ChangedAgain { .. })
        ));
        store.block_package("s", &digest[..12]).await.unwrap();
        assert!(matches!(
            store.check_package("s", &v7, 6).await.unwrap(),
            PackageTrust::Blocked { .. }
        ));
        let pin = store.trust_package("s", &digest[..12]).await.unwrap();
        assert_eq!(
            (pin.status.as_str(), pin.identity.resolved.as_deref()),
            ("trusted", Some("7.0.0"))
        );
        assert_eq!(store.check_package("s", &v7, 7).await.unwrap(), PackageTrust::Pinned);
        assert!(matches!(
            store.trust_package("other", "x").await,
            Err(PackagePinError::NotPinned { .. })
        ));
        store.close().await;
    }
}
