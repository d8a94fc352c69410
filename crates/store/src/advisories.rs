//! Known advisories, offline: see `migrations/20261206010000_advisories.sql`. The records are
//! imported by `mcpfw advisories update` and looked up by package when a server is scanned or
//! started; matching versions is the core's (`mcpfw_core::package::osv`).

use serde::Serialize;

use super::{Store, chain};
use mcpfw_core::package::Ecosystem;
use mcpfw_core::package::osv::Record;

/// What can go wrong with the advisory data.
#[derive(Debug, thiserror::Error)]
pub enum AdvisoryError {
    #[error("a stored advisory is not readable: {0}")]
    Corrupt(#[from] serde_json::Error),
    #[error(transparent)]
    Store(#[from] crate::StoreError),
}

/// The last import, as `mcpfw advisories status` and scan show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdvisoryImport {
    pub source: String,
    pub imported_ms: u64,
    /// Rows stored now (one per record and package).
    pub stored: u64,
    pub newest_modified: Option<String>,
}

impl Store {
    /// Stores `records` (replacing those with the same id and package; a withdrawn record
    /// removes its rows), in one transaction. Returns how many (record, package) rows were
    /// written. An import is a sequence of these, then [`Store::note_advisory_import`].
    pub async fn import_advisories(&self, records: &[Record]) -> Result<u64, AdvisoryError> {
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|e| self.db_error("write to", e))?;
        let mut written = 0u64;
        for record in records {
            for (ecosystem, package) in record.packages() {
                let text = serde_json::to_string(&record.trimmed_for(ecosystem, &package))?;
                if record.withdrawn.is_some() {
                    sqlx::query(
                        "DELETE FROM advisories WHERE ecosystem = ?1 AND package = ?2 AND id = ?3",
                    )
                    .bind(ecosystem.as_str())
                    .bind(&package)
                    .bind(&record.id)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| self.db_error("write to", e))?;
                    continue;
                }
                sqlx::query(
                    "INSERT INTO advisories (id, ecosystem, package, modified, record) \
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (ecosystem, package, id) \
                     DO UPDATE SET modified = ?4, record = ?5",
                )
                .bind(&record.id)
                .bind(ecosystem.as_str())
                .bind(&package)
                .bind(&record.modified)
                .bind(&text)
                .execute(&mut *tx)
                .await
                .map_err(|e| self.db_error("write to", e))?;
                written += 1;
            }
        }
        tx.commit().await.map_err(|e| self.db_error("commit to", e))?;
        Ok(written)
    }

    /// Notes an import that is complete: where from, when, how many rows, the newest record's
    /// `modified` time.
    pub async fn note_advisory_import(
        &self,
        source: &str,
        now_ms: u64,
        written: u64,
        newest: Option<&str>,
    ) -> Result<(), AdvisoryError> {
        sqlx::query(
            "INSERT INTO advisory_imports (source, imported_ms, records, newest_modified) \
             VALUES (?1, ?2, ?3, ?4)",
        )
        .bind(source)
        .bind(chain::to_i64(now_ms))
        .bind(written as i64)
        .bind(newest.filter(|n| !n.is_empty()))
        .execute(&self.pool)
        .await
        .map_err(|e| self.db_error("write to", e))?;
        Ok(())
    }

    /// The stored records that affect `ecosystem`/`package` (a PyPI name normalised).
    pub async fn advisories_for(
        &self,
        ecosystem: Ecosystem,
        package: &str,
    ) -> Result<Vec<Record>, AdvisoryError> {
        let name = mcpfw_core::package::osv::lookup_name(ecosystem, package);
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT record FROM advisories WHERE ecosystem = ?1 AND package = ?2 ORDER BY id",
        )
        .bind(ecosystem.as_str())
        .bind(&name)
        .fetch_all(&self.pool)
        .await
        .map_err(|e| self.db_error("read", e))?;
        rows.iter().map(|r| serde_json::from_str(r).map_err(Into::into)).collect()
    }

    /// The last import and how many rows are stored; `None` before the first import.
    pub async fn advisory_import(&self) -> Result<Option<AdvisoryImport>, AdvisoryError> {
        let last: Option<(String, i64, Option<String>)> = sqlx::query_as(
            "SELECT source, imported_ms, newest_modified FROM advisory_imports \
             ORDER BY id DESC LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| self.db_error("read", e))?;
        let Some((source, imported_ms, newest_modified)) = last else { return Ok(None) };
        let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM advisories")
            .fetch_one(&self.pool)
            .await
            .map_err(|e| self.db_error("read", e))?;
        Ok(Some(AdvisoryImport {
            source,
            imported_ms: imported_ms.max(0) as u64,
            stored: stored.max(0) as u64,
            newest_modified,
        }))
    }
}
