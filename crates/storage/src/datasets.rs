//! Datasets: a user's named list of items, each one of their images with the metadata row
//! it was imported with, and the per-item records of the dataset jobs run over them (one
//! row per item, upserted, so a job resumed after a crash rewrites rather than duplicates,
//! and knows which items are done). The records and metadata are JSON text made by the
//! dataset crate; this module only keeps them.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::db::{row_int, Db};
use crate::error::{Error, Result};
use crate::scope::Scope;

/// Rows per multi-row INSERT: well under SQLite's bound-parameter limit.
const CHUNK: usize = 100;

#[derive(Debug, Clone, PartialEq)]
pub struct DatasetRecord {
    pub id: String,
    pub owner_id: String,
    pub name: String,
    pub item_count: i64,
    /// JSON: what the import reported (skipped entries, metadata warnings, columns).
    pub summary: String,
    /// Whether the import made its images (from an archive), so they go with it.
    pub owns_images: bool,
    pub created_at: i64,
}

/// An item to import; `image_id` is an image of the dataset's owner.
#[derive(Debug, Clone, PartialEq)]
pub struct NewItem {
    pub name: String,
    /// Its output name without extension, unique in the dataset.
    pub stem: String,
    pub image_id: String,
    pub sha256: String,
    /// JSON object.
    pub metadata: String,
}

/// A stored item, at its position `idx` (0-based, in import order).
#[derive(Debug, Clone, PartialEq)]
pub struct ItemRow {
    pub idx: i64,
    pub name: String,
    pub stem: String,
    pub image_id: String,
    pub sha256: String,
    pub metadata: String,
}

/// A dataset job's record of one item.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultRow {
    pub idx: i64,
    pub succeeded: bool,
    /// JSON: the item's `metadata.json` record.
    pub record: String,
}

#[derive(Debug, Clone)]
pub struct Datasets {
    db: Db,
}

const COLUMNS: &str = "id, owner_id, name, item_count, summary, owns_images, created_at";

impl Datasets {
    pub fn new(db: Db) -> Datasets {
        Datasets { db }
    }

    /// Creates a dataset of `owner`'s with `items`, in one transaction: it exists whole or
    /// not at all. `owns_images`: the images were made for it, and are deleted with it.
    pub async fn create(
        &self,
        owner: &str,
        name: &str,
        summary: &str,
        owns_images: bool,
        items: &[NewItem],
        now: i64,
    ) -> Result<DatasetRecord> {
        let what = "create dataset";
        let record = DatasetRecord {
            id: uuid::Uuid::new_v4().to_string(),
            owner_id: owner.to_string(),
            name: name.to_string(),
            item_count: items.len() as i64,
            summary: summary.to_string(),
            owns_images,
            created_at: now,
        };
        let mut tx = self.db.pool.begin().await.map_err(Error::db(what))?;
        sqlx::query(&format!("INSERT INTO datasets ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"))
            .bind(&record.id)
            .bind(&record.owner_id)
            .bind(&record.name)
            .bind(record.item_count)
            .bind(&record.summary)
            .bind(i64::from(record.owns_images))
            .bind(record.created_at)
            .execute(&mut *tx)
            .await
            .map_err(Error::db(what))?;
        for (chunk_no, chunk) in items.chunks(CHUNK).enumerate() {
            let values: Vec<String> = (0..chunk.len())
                .map(|i| {
                    let p = i * 7;
                    format!("(${}, ${}, ${}, ${}, ${}, ${}, ${})", p + 1, p + 2, p + 3, p + 4, p + 5, p + 6, p + 7)
                })
                .collect();
            let sql = format!(
                "INSERT INTO dataset_items (dataset_id, idx, name, stem, image_id, sha256, metadata) VALUES {}",
                values.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for (i, item) in chunk.iter().enumerate() {
                query = query
                    .bind(&record.id)
                    .bind((chunk_no * CHUNK + i) as i64)
                    .bind(&item.name)
                    .bind(&item.stem)
                    .bind(&item.image_id)
                    .bind(&item.sha256)
                    .bind(&item.metadata);
            }
            query.execute(&mut *tx).await.map_err(Error::db(what))?;
        }
        tx.commit().await.map_err(Error::db(what))?;
        Ok(record)
    }

    /// A live dataset in `scope`.
    pub async fn get(&self, scope: Scope<'_>, id: &str) -> Result<Option<DatasetRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM datasets WHERE id = $1 AND deleted_at IS NULL AND {}",
            scope.condition("owner_id", 2)
        ))
        .bind(id)
        .bind(scope.owner())
        .fetch_optional(&self.db.pool)
        .await
        .map_err(Error::db("get dataset"))?;
        row.map(|row| record(&row)).transpose()
    }

    /// Live datasets in `scope`, newest first: at most `limit` (1..=100), created before
    /// `before` (a `created_at` of the previous page's last one) when given.
    pub async fn list(&self, scope: Scope<'_>, before: Option<i64>, limit: u32) -> Result<Vec<DatasetRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM datasets WHERE deleted_at IS NULL AND {} AND created_at < $2 \
             ORDER BY created_at DESC, id DESC LIMIT $3",
            scope.condition("owner_id", 1)
        ))
        .bind(scope.owner())
        .bind(before.unwrap_or(i64::MAX))
        .bind(i64::from(limit.clamp(1, 100)))
        .fetch_all(&self.db.pool)
        .await
        .map_err(Error::db("list datasets"))?;
        rows.iter().map(record).collect()
    }

    /// Up to `limit` items of a dataset after position `after` (from the start when `None`),
    /// in order. The caller has checked the dataset is in its scope.
    pub async fn items(&self, dataset_id: &str, after: Option<i64>, limit: u32) -> Result<Vec<ItemRow>> {
        let rows = sqlx::query(
            "SELECT idx, name, stem, image_id, sha256, metadata FROM dataset_items \
             WHERE dataset_id = $1 AND idx > $2 ORDER BY idx LIMIT $3",
        )
        .bind(dataset_id)
        .bind(after.unwrap_or(-1))
        .bind(i64::from(limit.max(1)))
        .fetch_all(&self.db.pool)
        .await
        .map_err(Error::db("list dataset items"))?;
        rows.iter().map(item).collect()
    }

    /// Hides a dataset in `scope` and, when it owns them, its images, in one transaction;
    /// their bytes go when [`crate::Images::collect`] finds them unused. `false` when there
    /// was no such dataset.
    pub async fn delete(&self, scope: Scope<'_>, id: &str, now: i64) -> Result<bool> {
        let what = "delete dataset";
        let mut tx = self.db.pool.begin().await.map_err(Error::db(what))?;
        let done = sqlx::query(&format!(
            "UPDATE datasets SET deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL AND {}",
            scope.condition("owner_id", 3)
        ))
        .bind(now)
        .bind(id)
        .bind(scope.owner())
        .execute(&mut *tx)
        .await
        .map_err(Error::db(what))?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE images SET deleted_at = $1 WHERE deleted_at IS NULL \
             AND id IN (SELECT image_id FROM dataset_items WHERE dataset_id = $2) \
             AND EXISTS (SELECT 1 FROM datasets WHERE id = $2 AND owns_images = 1)",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(Error::db(what))?;
        tx.commit().await.map_err(Error::db(what))?;
        Ok(true)
    }

    /// Records a batch of a dataset job's items, replacing what an earlier attempt wrote for
    /// the same items, in one transaction.
    pub async fn save_results(&self, job_id: &str, rows: &[ResultRow]) -> Result<()> {
        let what = "save dataset results";
        let mut tx = self.db.pool.begin().await.map_err(Error::db(what))?;
        for row in rows {
            sqlx::query(
                "INSERT INTO dataset_results (job_id, idx, succeeded, record) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (job_id, idx) DO UPDATE SET succeeded = excluded.succeeded, record = excluded.record",
            )
            .bind(job_id)
            .bind(row.idx)
            .bind(i64::from(row.succeeded))
            .bind(&row.record)
            .execute(&mut *tx)
            .await
            .map_err(Error::db(what))?;
        }
        tx.commit().await.map_err(Error::db(what))?;
        Ok(())
    }

    /// Which items of a job are recorded, and whether each succeeded, in item order.
    pub async fn result_states(&self, job_id: &str) -> Result<Vec<(i64, bool)>> {
        let rows = sqlx::query("SELECT idx, succeeded FROM dataset_results WHERE job_id = $1 ORDER BY idx")
            .bind(job_id)
            .fetch_all(&self.db.pool)
            .await
            .map_err(Error::db("read dataset results"))?;
        rows.iter().map(|row| Ok((row_int(row, "idx")?, row_int(row, "succeeded")? != 0))).collect()
    }

    /// Up to `limit` of a job's records after item `after`, in item order.
    pub async fn results(&self, job_id: &str, after: Option<i64>, limit: u32) -> Result<Vec<ResultRow>> {
        let rows = sqlx::query(
            "SELECT idx, succeeded, record FROM dataset_results WHERE job_id = $1 AND idx > $2 ORDER BY idx LIMIT $3",
        )
        .bind(job_id)
        .bind(after.unwrap_or(-1))
        .bind(i64::from(limit.max(1)))
        .fetch_all(&self.db.pool)
        .await
        .map_err(Error::db("read dataset results"))?;
        rows.iter()
            .map(|row| {
                Ok(ResultRow {
                    idx: row_int(row, "idx")?,
                    succeeded: row_int(row, "succeeded")? != 0,
                    record: row.try_get("record").map_err(Error::db("read dataset result"))?,
                })
            })
            .collect()
    }
}

fn record(row: &AnyRow) -> Result<DatasetRecord> {
    let read = || Error::db("read dataset");
    Ok(DatasetRecord {
        id: row.try_get("id").map_err(read())?,
        owner_id: row.try_get("owner_id").map_err(read())?,
        name: row.try_get("name").map_err(read())?,
        item_count: row_int(row, "item_count")?,
        summary: row.try_get("summary").map_err(read())?,
        owns_images: row_int(row, "owns_images")? != 0,
        created_at: row_int(row, "created_at")?,
    })
}

fn item(row: &AnyRow) -> Result<ItemRow> {
    let read = || Error::db("read dataset item");
    Ok(ItemRow {
        idx: row_int(row, "idx")?,
        name: row.try_get("name").map_err(read())?,
        stem: row.try_get("stem").map_err(read())?,
        image_id: row.try_get("image_id").map_err(read())?,
        sha256: row.try_get("sha256").map_err(read())?,
        metadata: row.try_get("metadata").map_err(read())?,
    })
}
