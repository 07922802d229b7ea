//! Saved pipelines: a name with numbered, immutable versions. A job cites `name@version`,
//! so what it ran can always be read back, whatever versions came later.
//!
//! Names belong to an owner: every method takes the owner whose names it reads or writes
//! (a user id; `""` holds the pipelines saved before users existed), so one user's
//! `thumbs` is not another's, and another owner's pipeline is simply not found.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::db::row_int;
use crate::db::Db;
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PipelineRecord {
    /// The user the name belongs to; `""` for pipelines from before users.
    pub owner_id: String,
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

const COLUMNS: &str = "owner_id, name, version, document, created_at";

impl Pipelines {
    /// The owner of the pipelines saved before users existed.
    pub const UNOWNED: &'static str = "";

    pub fn new(db: Db) -> Pipelines {
        Pipelines { db }
    }

    /// Saves version 1 of a new name of `owner`'s; `None` if the name is taken.
    pub async fn create(&self, owner: &str, name: &str, document: &str, now: i64) -> Result<Option<PipelineRecord>> {
        let inserted = sqlx::query(
            "INSERT INTO pipelines (owner_id, name, version, document, created_at) VALUES ($4, $1, 1, $2, $3) \
             ON CONFLICT (owner_id, name, version) DO NOTHING",
        )
        .bind(name)
        .bind(document)
        .bind(now)
        .bind(owner)
        .execute(&self.db.pool)
        .await
        .map_err(Error::db("create pipeline"))?;
        if inserted.rows_affected() == 0 {
            return Ok(None);
        }
        Ok(Some(PipelineRecord {
            owner_id: owner.to_string(),
            name: name.to_string(),
            version: 1,
            document: document.to_string(),
            created_at: now,
        }))
    }

    /// Saves the next version of an existing name of `owner`'s; `None` if there is no such name.
    pub async fn add_version(
        &self,
        owner: &str,
        name: &str,
        document: &str,
        now: i64,
    ) -> Result<Option<PipelineRecord>> {
        for _ in 0..VERSION_RETRIES {
            let Some(latest) = self.get(owner, name, None).await? else {
                return Ok(None);
            };
            let version = latest.version + 1;
            let inserted = sqlx::query(
                "INSERT INTO pipelines (owner_id, name, version, document, created_at) VALUES ($5, $1, $2, $3, $4) \
                 ON CONFLICT (owner_id, name, version) DO NOTHING",
            )
            .bind(name)
            .bind(version)
            .bind(document)
            .bind(now)
            .bind(owner)
            .execute(&self.db.pool)
            .await
            .map_err(Error::db("add pipeline version"))?;
            if inserted.rows_affected() == 1 {
                return Ok(Some(PipelineRecord {
                    owner_id: owner.to_string(),
                    name: name.to_string(),
                    version,
                    document: document.to_string(),
                    created_at: now,
                }));
            }
        }
        Err(Error::Corrupt(format!("pipeline `{name}`: too many concurrent new versions; try again")))
    }

    /// A version of `owner`'s pipeline, or its latest when `version` is `None`.
    pub async fn get(&self, owner: &str, name: &str, version: Option<i64>) -> Result<Option<PipelineRecord>> {
        let row = match version {
            Some(version) => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM pipelines WHERE owner_id = $1 AND name = $2 AND version = $3"
                ))
                .bind(owner)
                .bind(name)
                .bind(version)
                .fetch_optional(&self.db.pool)
                .await
            }
            None => {
                sqlx::query(&format!(
                    "SELECT {COLUMNS} FROM pipelines WHERE owner_id = $1 AND name = $2 ORDER BY version DESC LIMIT 1"
                ))
                .bind(owner)
                .bind(name)
                .fetch_optional(&self.db.pool)
                .await
            }
        }
        .map_err(Error::db("get pipeline"))?;
        row.map(|row| record(&row)).transpose()
    }

    /// Every version number of `owner`'s name, oldest first (empty if there is no such name).
    pub async fn versions(&self, owner: &str, name: &str) -> Result<Vec<i64>> {
        let rows = sqlx::query("SELECT version FROM pipelines WHERE owner_id = $1 AND name = $2 ORDER BY version")
            .bind(owner)
            .bind(name)
            .fetch_all(&self.db.pool)
            .await
            .map_err(Error::db("list pipeline versions"))?;
        rows.iter().map(|row| row_int(row, "version")).collect()
    }

    /// The latest version of each of `owner`'s names, by name, after the name `after`.
    pub async fn list(&self, owner: &str, after: Option<&str>, limit: u32) -> Result<PipelinePage> {
        let limit = i64::from(limit.clamp(1, 1000));
        // Every name sorts after '', so no cursor is the empty one.
        let rows = sqlx::query(
            "SELECT p.owner_id, p.name, p.version, p.document, p.created_at FROM pipelines p \
             WHERE p.owner_id = $1 AND p.name > $2 \
             AND p.version = (SELECT MAX(q.version) FROM pipelines q WHERE q.owner_id = p.owner_id AND q.name = p.name) \
             ORDER BY p.name LIMIT $3",
        )
        .bind(owner)
        .bind(after.unwrap_or(""))
        .bind(limit + 1)
        .fetch_all(&self.db.pool)
        .await
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
        owner_id: row.try_get("owner_id").map_err(read())?,
        name: row.try_get("name").map_err(read())?,
        version: row_int(row, "version")?,
        document: row.try_get("document").map_err(read())?,
        created_at: row_int(row, "created_at")?,
    })
}
