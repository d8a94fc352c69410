//! Tool pins (trust on first use): see `migrations/20261124200000_pins.sql`.
//!
//! The first time a server describes a tool, its definition is pinned. Later lists are checked
//! against the pins: a tool whose definition changed is *withheld* from the client until the
//! user trusts the new definition (or keeps it blocked); a tool that changes back to its pin is
//! trusted again. The digest covers the whole definition in a canonical form (object keys
//! sorted, no insignificant whitespace), so re-ordered keys are not a change and any changed
//! word is.

use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{Store, StoreError, chain};

/// Why a pending tool change cannot be decided.
#[derive(Debug, thiserror::Error)]
pub enum PinError {
    #[error("server {server:?} has no tool {name:?} pinned")]
    NotPinned { server: String, name: String },
    #[error("tool {name:?} of server {server:?} has no change waiting")]
    NoChange { server: String, name: String },
    /// The definition changed again since the one being decided was shown.
    #[error("tool {name:?} of server {server:?} changed again (now {now}); review it again")]
    ChangedAgain { server: String, name: String, now: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A tool's definition in canonical form and its SHA-256 (hex).
pub fn canonical(definition: &str) -> Option<(String, String)> {
    // serde_json's maps are ordered by key (no `preserve_order`), so writing a parsed value out
    // again sorts every object's keys and drops whitespace.
    let value: Value = serde_json::from_str(definition).ok()?;
    let text = value.to_string();
    let digest = hex::encode(Sha256::digest(text.as_bytes()));
    Some((text, digest))
}

pub use mcpfw_core::record::Trust;

/// One pin, as `mcpfw tools` and the dashboard show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pin {
    pub server: String,
    pub name: String,
    pub status: String,
    pub digest: String,
    pub definition: String,
    pub pending_digest: Option<String>,
    pub pending_definition: Option<String>,
    pub first_seen_ms: u64,
    pub changed_ms: u64,
}

impl Pin {
    /// A unified diff of the pinned and the waiting definition, pretty-printed JSON.
    pub fn describe_change(&self) -> String {
        let pin = self;
        let pretty = |text: &str| {
            serde_json::from_str::<Value>(text)
                .ok()
                .and_then(|v| serde_json::to_string_pretty(&v).ok())
                .unwrap_or_else(|| text.to_owned())
                + "\n"
        };
        let before = pretty(&pin.definition);
        let after = pretty(pin.pending_definition.as_deref().unwrap_or_default());
        let diff = similar::TextDiff::from_lines(&before, &after);
        let mut out = format!(
            "{} · {} changed (status: {}); pinned {} → now {}\n",
            pin.server,
            pin.name,
            pin.status,
            &pin.digest[..12],
            pin.pending_digest.as_deref().map_or("", |d| &d[..12])
        );
        out.push_str(
            &diff.unified_diff().context_radius(3).header("trusted", "now offered").to_string(),
        );
        out.push_str(&format!(
            "\nTrust it with `mcpfw tools trust {} {} --digest {}`, or keep it withheld with \
             `mcpfw tools block {} {}`.\n",
            pin.server,
            pin.name,
            pin.pending_digest.as_deref().map_or("", |d| &d[..12]),
            pin.server,
            pin.name
        ));
        out
    }
}

type PinRow = (String, String, String, String, String, Option<String>, Option<String>, i64, i64);

impl From<PinRow> for Pin {
    fn from(row: PinRow) -> Self {
        let (server, name, status, digest, definition, pending_digest, pending_definition, f, c) =
            row;
        Pin {
            server,
            name,
            status,
            digest,
            definition,
            pending_digest,
            pending_definition,
            first_seen_ms: f.max(0) as u64,
            changed_ms: c.max(0) as u64,
        }
    }
}

const PIN_COLUMNS: &str = "server, name, status, digest, definition, pending_digest, \
                           pending_definition, first_seen_ms, changed_ms";

impl Store {
    /// Checks a server's tools (name, definition JSON) against their pins, pinning new ones,
    /// in one transaction. A definition that is not JSON is treated as changed.
    pub async fn check_tools(
        &self,
        server: &str,
        tools: &[(String, String)],
        now_ms: u64,
    ) -> Result<Vec<Trust>> {
        let digests: Vec<(String, String)> = tools
            .iter()
            .map(|(_, definition)| {
                canonical(definition).unwrap_or_else(|| {
                    (definition.clone(), hex::encode(Sha256::digest(definition.as_bytes())))
                })
            })
            .collect();
        // The usual case, a server listing the tools the user trusted, changes nothing: it is
        // answered from one read, without the write lock (which other processes' history
        // writers may hold) or a commit. Anything else takes the write path below.
        if let Some(pinned) = self.all_pinned(server, tools, &digests).await? {
            return Ok(pinned);
        }
        let now = chain::to_i64(now_ms);
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| self.db_error("write to", e))?;
        let mut out = Vec::with_capacity(tools.len());
        // The server's pins, read at once (one query, not one per listed tool): name →
        // (status, digest, pending digest), kept up to date below so that a name listed twice
        // sees what its first listing wrote.
        let rows: Vec<(String, String, String, Option<String>, String)> = sqlx::query_as(
            "SELECT name, status, digest, pending_digest, definition FROM tool_pins WHERE server = ?",
        )
        .bind(server)
        .fetch_all(&mut *tx)
        .await
        .map_err(|e| self.db_error("read", e))?;
        // Pinned tools of this server missing from the list: a new tool may be one of them
        // under another name.
        let listed: std::collections::HashSet<&str> =
            tools.iter().map(|(n, _)| n.as_str()).collect();
        let mut pins: std::collections::HashMap<String, (String, String, Option<String>)> =
            std::collections::HashMap::with_capacity(rows.len());
        let mut missing: Vec<(String, Value)> = Vec::new();
        for (name, status, digest, pending, definition) in rows {
            if !listed.contains(name.as_str())
                && let Ok(value) = serde_json::from_str(&definition)
            {
                missing.push((name.clone(), value));
            }
            pins.insert(name, (status, digest, pending));
        }
        for ((name, _), (text, digest)) in tools.iter().zip(digests) {
            let pin = pins.get(name).cloned();
            let trust = match pin {
                None => {
                    sqlx::query(
                        "INSERT INTO tool_pins (server, name, digest, definition, status, \
                         first_seen_ms, changed_ms) VALUES (?1, ?2, ?3, ?4, 'trusted', ?5, ?5)",
                    )
                    .bind(server)
                    .bind(name)
                    .bind(&digest)
                    .bind(&text)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| self.db_error("write to", e))?;
                    pins.insert(name.clone(), ("trusted".to_owned(), digest.clone(), None));
                    let value: Value = serde_json::from_str(&text).unwrap_or_default();
                    match missing
                        .iter()
                        .find(|(_, old)| mcpfw_core::detect::renamed_copy(old, &value))
                    {
                        Some((from, _)) => Trust::Renamed { from: from.clone() },
                        None => Trust::New,
                    }
                }
                Some((status, pinned, pending)) if pinned == digest => {
                    if status != "trusted" || pending.is_some() {
                        // The server went back to the definition the user trusted.
                        sqlx::query(
                            "UPDATE tool_pins SET status = 'trusted', pending_digest = NULL, \
                             pending_definition = NULL, changed_ms = ?3 WHERE server = ?1 AND name = ?2",
                        )
                        .bind(server)
                        .bind(name)
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| self.db_error("write to", e))?;
                        pins.insert(name.clone(), ("trusted".to_owned(), pinned, None));
                    }
                    Trust::Pinned
                }
                Some((status, pinned, pending)) => {
                    let blocked = status == "blocked" && pending.as_deref() == Some(&*digest);
                    if pending.as_deref() != Some(&*digest) {
                        sqlx::query(
                            "UPDATE tool_pins SET status = 'changed', pending_digest = ?3, \
                             pending_definition = ?4, changed_ms = ?5 WHERE server = ?1 AND name = ?2",
                        )
                        .bind(server)
                        .bind(name)
                        .bind(&digest)
                        .bind(&text)
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| self.db_error("write to", e))?;
                        let changed = ("changed".to_owned(), pinned.clone(), Some(digest.clone()));
                        pins.insert(name.clone(), changed);
                    }
                    if blocked {
                        Trust::Blocked { digest }
                    } else {
                        Trust::Changed { pinned_digest: pinned, digest }
                    }
                }
            };
            out.push(trust);
        }
        tx.commit().await.map_err(|e| self.db_error("commit to", e))?;
        Ok(out)
    }

    /// Every listed tool as [`Trust::Pinned`] when each is pinned, trusted, with nothing
    /// pending, under the digest it has now (`digests`, in the order of `tools`) — the case in
    /// which [`Store::check_tools`] writes nothing; `None` otherwise.
    async fn all_pinned(
        &self,
        server: &str,
        tools: &[(String, String)],
        digests: &[(String, String)],
    ) -> Result<Option<Vec<Trust>>> {
        let rows: Vec<(String, String, String, bool)> = self
            .packed_rows(
                "SELECT json_group_array(json_array(name, status, digest, \
                 json(CASE WHEN pending_digest IS NULL THEN 'false' ELSE 'true' END))) \
                 FROM tool_pins WHERE server = ?",
                server,
            )
            .await?;
        let pins: std::collections::HashMap<&str, (&str, &str, bool)> = rows
            .iter()
            .map(|(name, status, digest, pending)| {
                (name.as_str(), (status.as_str(), digest.as_str(), *pending))
            })
            .collect();
        let unchanged = tools.iter().zip(digests).all(|((name, _), (_, digest))| {
            pins.get(name.as_str()).is_some_and(|&(status, pinned, pending)| {
                status == "trusted" && pinned == digest && !pending
            })
        });
        Ok(unchanged.then(|| vec![Trust::Pinned; tools.len()]))
    }

    /// The tools of every other server (server, tool, canonical definition), from their pins:
    /// what a new tool list is compared with for shadowing and squatting. At most 5,000.
    pub async fn neighbours(&self, server: &str) -> Result<Vec<(String, String, String)>> {
        self.packed_rows(
            "SELECT json_group_array(json_array(server, name, definition)) FROM \
             (SELECT server, name, definition FROM tool_pins WHERE server != ? \
              ORDER BY changed_ms DESC LIMIT 5000)",
            server,
        )
        .await
    }

    /// The rows of `query` (one `?`, bound to `key`), which SQLite packs into one JSON array
    /// of arrays (`json_group_array`): sqlx hands each row from its SQLite thread to the
    /// caller's through a channel, a thread wake-up per row, and a shim waits for these reads
    /// (a server's tool list is held until its pins are checked).
    async fn packed_rows<T: serde::de::DeserializeOwned>(
        &self,
        query: &str,
        key: &str,
    ) -> Result<Vec<T>> {
        let packed: String = sqlx::query_scalar(query)
            .bind(key)
            .fetch_one(&self.pool)
            .await
            .map_err(|e| self.db_error("read", e))?;
        serde_json::from_str(&packed).map_err(|e| {
            self.db_error("read", sqlx::Error::Decode(format!("packed rows: {e}").into()))
        })
    }

    /// Compares a server's identity (JSON object) with the one it was first seen with, keeping
    /// the new one. Returns the previous identity when they differ (`None` the first time and
    /// when nothing changed).
    pub async fn check_identity(&self, server: &str, identity: &Value) -> Result<Option<Value>> {
        let now = chain::to_i64(mcpfw_core::record::now_ms());
        let text = identity.to_string();
        let previous: Option<String> =
            sqlx::query_scalar("SELECT identity FROM server_identity WHERE server = ?")
                .bind(server)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| self.db_error("read", e))?;
        if previous.as_deref() == Some(&*text) {
            return Ok(None);
        }
        sqlx::query(
            "INSERT INTO server_identity (server, identity, first_seen_ms, changed_ms) \
             VALUES (?1, ?2, ?3, ?3) ON CONFLICT (server) DO UPDATE SET identity = ?2, changed_ms = ?3",
        )
        .bind(server)
        .bind(&text)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(|e| self.db_error("write to", e))?;
        Ok(previous.and_then(|p| serde_json::from_str(&p).ok()))
    }

    /// The pins, of one server or all, ordered by server and name.
    pub async fn pins(&self, server: Option<&str>) -> Result<Vec<Pin>> {
        let rows: Vec<PinRow> = sqlx::query_as(&format!(
            "SELECT {PIN_COLUMNS} FROM tool_pins WHERE ?1 IS NULL OR server = ?1 ORDER BY server, name"
        ))
        .bind(server)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.db_error("read", e))?;
        Ok(rows.into_iter().map(Pin::from).collect())
    }

    /// Trusts the definition waiting for `server`'s tool `name` — only if it is still the one
    /// with `digest` (what the user reviewed), so a server that changes again in between is
    /// not trusted blindly. Returns the pin as it is now.
    pub async fn trust_pending(
        &self,
        server: &str,
        name: &str,
        digest: &str,
    ) -> Result<Pin, PinError> {
        self.decide_pending(server, name, digest, true).await
    }

    /// Keeps the definition waiting for `server`'s tool `name` withheld for good (until it
    /// changes again, or back to its pin).
    pub async fn block_pending(
        &self,
        server: &str,
        name: &str,
        digest: &str,
    ) -> Result<Pin, PinError> {
        self.decide_pending(server, name, digest, false).await
    }

    async fn decide_pending(
        &self,
        server: &str,
        name: &str,
        digest: &str,
        trust: bool,
    ) -> Result<Pin, PinError> {
        let now = chain::to_i64(mcpfw_core::record::now_ms());
        let sql = if trust {
            "UPDATE tool_pins SET status = 'trusted', digest = pending_digest, \
             definition = pending_definition, pending_digest = NULL, pending_definition = NULL, \
             changed_ms = ?4 WHERE server = ?1 AND name = ?2 AND pending_digest = ?3"
        } else {
            "UPDATE tool_pins SET status = 'blocked', changed_ms = ?4 \
             WHERE server = ?1 AND name = ?2 AND pending_digest = ?3"
        };
        let done = sqlx::query(sql)
            .bind(server)
            .bind(name)
            .bind(digest)
            .bind(now)
            .execute(&self.pool)
            .await
            .map_err(|e| self.db_error("write to", e))?
            .rows_affected();
        let pin = self.pins(Some(server)).await?.into_iter().find(|p| p.name == name);
        let (server, name) = (server.to_owned(), name.to_owned());
        match (done, pin) {
            (1, Some(pin)) => Ok(pin),
            (_, None) => Err(PinError::NotPinned { server, name }),
            (_, Some(pin)) => match pin.pending_digest {
                None => Err(PinError::NoChange { server, name }),
                Some(now) => Err(PinError::ChangedAgain {
                    server,
                    name,
                    now: now[..12.min(now.len())].to_owned(),
                }),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_order_and_spacing_are_not_a_change() {
        let a = canonical(r#"{"name":"t","description":"d","inputSchema":{"type":"object"}}"#);
        let b =
            canonical(r#"{ "inputSchema": {"type": "object"}, "description": "d", "name": "t" }"#);
        assert_eq!(a, b);
        let c = canonical(r#"{"name":"t","description":"d!","inputSchema":{"type":"object"}}"#);
        assert_ne!(a.unwrap().1, c.unwrap().1);
        assert!(canonical("not json").is_none());
    }
}
