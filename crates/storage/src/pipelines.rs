//! Saved pipelines: a name with numbered, immutable versions. A job cites `name@version`,
//! so what it ran can always be read back, whatever versions came later.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::db::row_int;
use crate::db::Db;
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineRecord {
    pub name: String,
    pub version: i64,
    /// The validated pipeline document, as JSON text.
    pub document: String,
    pub created_at: i64,
}

/// One page of pipelines (their latest versions), by name.
#[derive(Debug, Clone)]
pub struct PipelinePage {
    pub pipelines: Vec<PipelineRecord>,
    /// The last name on this page, to pass back as `after`; `None` on the last page.
    pub next: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Pipelines {
    db: Db,
}

/// Concurrent writers of one name may collide on the next version number; each retry
/// reads the new maximum, so a few tries always suffice in practice.
const VERSION_RETRIES: usize = 5;

impl Pipelines {
    pub fn new(db: Db) -> Pipelines {
        Pipelines { db }
    }

    /// Saves version 1 of a new name; `None` if the name is taken.
    pub async fn create(&self, name: &str, document: &str, now: i64) -> Result<Option<PipelineRecord>> {
        let inserted = sqlx::query(
            "INSERT INTO pipelines (name, version, document, created_at) VALUES ($1, 1, $2, $3) \
             ON CONFLICT (name, version) DO NOTHING",
        )
        .bind(name)
        .bind(document)
        .bind(now)
        .execute(&self.db.pool)
        .await
        .map_err(Error::db("create pipeline"))?;
        if inserted.rows_affected() == 0 {
            return Ok(None);
        }
        Ok(Some(PipelineRecord { name: name.to_string(), version: 1, document: document.to_string(), created_at: now }))
    }

    /// Saves the next version of an existing name; `None` if there is no such name.
    pub async fn add_version(&self, name: &str, document: &str, now: i64) -> Result<Option<PipelineRecord>> {
        for _ in 0..VERSION_RETRIES {
            let Some(latest) = self.get(name, None).await? else {
                return Ok(None);
            };
            let version = latest.version + 1;
            let inserted = sqlx::query(
                "INSERT INTO pipelines (name, version, document, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (name, version) DO NOTHING",
            )
            .bind(name)
            .bind(version)
            .bind(document)
            .bind(now)
            .execute(&self.db.pool)
            .await
            .map_err(Error::db("add pipeline version"))?;
            if inserted.rows_affected() == 1 {
                return Ok(Some(PipelineRecord {
                    name: name.to_string(),
                    version,
                    document: document.to_string(),
                    created_at: now,
                }));
            }
        }
        Err(Error::Corrupt(format!("pipeline `{name}`: too many concurrent new versions; try again")))
    }

    /// A version of a pipeline, or its latest when `version` is `None`.
    pub async fn get(&self, name: &str, version: Option<i64>) -> Result<Option<PipelineRecord>> {
        let row = match version {
            Some(version) => {
                sqlx::query(
                    "SELECT name, version, document, created_at FROM pipelines WHERE name = $1 AND version = $2",
                )
                .bind(name)
                .bind(version)
                .fetch_optional(&self.db.pool)
                .await
            }
            None => {
                sqlx::query(
                    "SELECT name, version, document, created_at FROM pipelines WHERE name = $1 \
                 ORDER BY version DESC LIMIT 1",
                )
                .bind(name)
                .fetch_optional(&self.db.pool)
                .await
            }
        }
        .map_err(Error::db("get pipeline"))?;
        row.map(|row| record(&row)).transpose()
    }

    /// Every version number of a name, oldest first (empty if there is no such name).
    pub async fn versions(&self, name: &str) -> Result<Vec<i64>> {
        let rows = sqlx::query("SELECT version FROM pipelines WHERE name = $1 ORDER BY version")
            .bind(name)
            .fetch_all(&self.db.pool)
            .await
            .map_err(Error::db("list pipeline versions"))?;
        rows.iter().map(|row| row_int(row, "version")).collect()
    }

    /// The latest version of each name, by name, after the name `after`.
    pub async fn list(&self, after: Option<&str>, limit: u32) -> Result<PipelinePage> {
        let limit = i64::from(limit.clamp(1, 1000));
        let latest = "p.version = (SELECT MAX(q.version) FROM pipelines q WHERE q.name = p.name)";
        let rows = match after {
            None => {
                sqlx::query(&format!(
                    "SELECT p.name, p.version, p.document, p.created_at FROM pipelines p WHERE {latest} \
                 ORDER BY p.name LIMIT $1"
                ))
                .bind(limit + 1)
                .fetch_all(&self.db.pool)
                .await
            }
            Some(after) => {
                sqlx::query(&format!(
                    "SELECT p.name, p.version, p.document, p.created_at FROM pipelines p WHERE {latest} \
                 AND p.name > $1 ORDER BY p.name LIMIT $2"
                ))
                .bind(after)
                .bind(limit + 1)
                .fetch_all(&self.db.pool)
                .await
            }
        }
        .map_err(Error::db("list pipelines"))?;
        let mut pipelines = rows.iter().map(record).collect::<Result<Vec<_>>>()?;
        let more = pipelines.len() as i64 > limit;
        pipelines.truncate(limit as usize);
        let next = if more { pipelines.last().map(|p| p.name.clone()) } else { None };
        Ok(PipelinePage { pipelines, next })
    }
}

fn record(row: &AnyRow) -> Result<PipelineRecord> {
    let read = || Error::db("read pipeline");
    Ok(PipelineRecord {
        name: row.try_get("name").map_err(read())?,
        version: row_int(row, "version")?,
        document: row.try_get("document").map_err(read())?,
        created_at: row_int(row, "created_at")?,
    })
}
