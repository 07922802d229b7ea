//! Image records: what was uploaded (format, size, content hash), pointing at the blob
//! that holds the bytes.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::db::Db;
use crate::error::{Error, Result};
use crate::key::{BlobKey, Sha256Hex};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImageRecord {
    pub id: String,
    pub sha256: String,
    /// Lowercase format name (`jpeg`, `png`, ...), as sniffed from the bytes.
    pub format: String,
    pub width: i64,
    pub height: i64,
    pub bytes: i64,
    pub created_at: i64,
}

impl ImageRecord {
    /// Where the original's bytes are stored.
    pub fn blob_key(&self) -> Result<BlobKey> {
        let hash = Sha256Hex::parse(&self.sha256)
            .ok_or_else(|| Error::Corrupt(format!("image {} has a bad hash", self.id)))?;
        Ok(BlobKey::original(&hash))
    }
}

/// The new image's facts, before it has an id.
#[derive(Debug, Clone)]
pub struct NewImage<'a> {
    pub sha256: &'a Sha256Hex,
    pub format: &'a str,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
}

#[derive(Debug, Clone)]
pub struct Images {
    db: Db,
}

impl Images {
    pub fn new(db: Db) -> Images {
        Images { db }
    }

    pub async fn insert(&self, image: NewImage<'_>, now: i64) -> Result<ImageRecord> {
        let record = ImageRecord {
            id: uuid::Uuid::new_v4().to_string(),
            sha256: image.sha256.as_str().to_string(),
            format: image.format.to_string(),
            width: i64::from(image.width),
            height: i64::from(image.height),
            bytes: i64::try_from(image.bytes).unwrap_or(i64::MAX),
            created_at: now,
        };
        sqlx::query(
            "INSERT INTO images (id, sha256, format, width, height, bytes, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&record.id)
        .bind(&record.sha256)
        .bind(&record.format)
        .bind(record.width)
        .bind(record.height)
        .bind(record.bytes)
        .bind(record.created_at)
        .execute(&self.db.pool)
        .await
        .map_err(Error::db("insert image"))?;
        Ok(record)
    }

    pub async fn get(&self, id: &str) -> Result<Option<ImageRecord>> {
        let row = sqlx::query("SELECT id, sha256, format, width, height, bytes, created_at FROM images WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(Error::db("get image"))?;
        row.map(|row| record(&row)).transpose()
    }
}

fn record(row: &AnyRow) -> Result<ImageRecord> {
    let read = || Error::db("read image");
    Ok(ImageRecord {
        id: row.try_get("id").map_err(read())?,
        sha256: row.try_get("sha256").map_err(read())?,
        format: row.try_get("format").map_err(read())?,
        width: row.try_get("width").map_err(read())?,
        height: row.try_get("height").map_err(read())?,
        bytes: row.try_get("bytes").map_err(read())?,
        created_at: row.try_get("created_at").map_err(read())?,
    })
}
