//! A user's own image categories for `classify`: each a name and the centre of its example
//! photos' fingerprints. The vectors are computed elsewhere (the vision models); this
//! module keeps them per owner, so one user's `shirts` is not another's, and another
//! owner's category is simply not found.

use sqlx::any::AnyRow;
use sqlx::Row;

use crate::db::{row_int, Db};
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub struct CategoryRecord {
    pub owner_id: String,
    pub name: String,
    /// The L2-normalised mean fingerprint of the examples.
    pub centre: Vec<f32>,
    /// How many example photos made it.
    pub examples: i64,
    pub created_at: i64,
}

/// What [`Categories::create`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Created {
    Created(CategoryRecord),
    /// The owner has a category of that name.
    NameTaken,
    /// The owner has as many categories as allowed.
    TooMany,
}

#[derive(Debug, Clone)]
pub struct Categories {
    db: Db,
}

const COLUMNS: &str = "owner_id, name, centre, examples, created_at";

impl Categories {
    pub fn new(db: Db) -> Categories {
        Categories { db }
    }

    /// Saves a new category of `owner`'s, unless the name is taken or the owner already has
    /// `max` categories. The count and the insert are one statement, so a burst of creates
    /// overshoots `max` by at most the writers racing on PostgreSQL, never by a page of them.
    pub async fn create(
        &self,
        owner: &str,
        name: &str,
        centre: &[f32],
        examples: i64,
        max: i64,
        now: i64,
    ) -> Result<Created> {
        let text = encode(centre);
        let inserted = sqlx::query(
            "INSERT INTO categories (owner_id, name, centre, examples, created_at) \
             SELECT $1, $2, $3, $4, $5 WHERE (SELECT COUNT(*) FROM categories WHERE owner_id = $1) < $6 \
             ON CONFLICT (owner_id, name) DO NOTHING",
        )
        .bind(owner)
        .bind(name)
        .bind(&text)
        .bind(examples)
        .bind(now)
        .bind(max)
        .execute(&self.db.pool)
        .await
        .map_err(Error::db("create category"))?;
        if inserted.rows_affected() == 1 {
            let record = CategoryRecord {
                owner_id: owner.to_string(),
                name: name.to_string(),
                centre: centre.to_vec(),
                examples,
                created_at: now,
            };
            return Ok(Created::Created(record));
        }
        Ok(if self.get(owner, name).await?.is_some() { Created::NameTaken } else { Created::TooMany })
    }

    pub async fn get(&self, owner: &str, name: &str) -> Result<Option<CategoryRecord>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM categories WHERE owner_id = $1 AND name = $2"))
            .bind(owner)
            .bind(name)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(Error::db("get category"))?;
        row.map(|row| from_row(&row)).transpose()
    }

    /// Every category of `owner`'s, by name (an owner has at most a few hundred).
    pub async fn list(&self, owner: &str) -> Result<Vec<CategoryRecord>> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM categories WHERE owner_id = $1 ORDER BY name"))
            .bind(owner)
            .fetch_all(&self.db.pool)
            .await
            .map_err(Error::db("list categories"))?;
        rows.iter().map(from_row).collect()
    }

    /// `false` when `owner` has no category of that name.
    pub async fn delete(&self, owner: &str, name: &str) -> Result<bool> {
        let done = sqlx::query("DELETE FROM categories WHERE owner_id = $1 AND name = $2")
            .bind(owner)
            .bind(name)
            .execute(&self.db.pool)
            .await
            .map_err(Error::db("delete category"))?;
        Ok(done.rows_affected() == 1)
    }
}

/// Numbers joined by commas: each the shortest text that reads back to the same `f32`.
fn encode(centre: &[f32]) -> String {
    centre.iter().map(f32::to_string).collect::<Vec<_>>().join(",")
}

fn decode(text: &str) -> Option<Vec<f32>> {
    if text.is_empty() {
        return Some(Vec::new());
    }
    text.split(',').map(|v| v.parse().ok()).collect()
}

fn from_row(row: &AnyRow) -> Result<CategoryRecord> {
    let read = || Error::db("read category");
    let text: String = row.try_get("centre").map_err(read())?;
    let centre = decode(&text).ok_or_else(|| Error::Corrupt(format!("category centre: `{text:.40}`")))?;
    Ok(CategoryRecord {
        owner_id: row.try_get("owner_id").map_err(read())?,
        name: row.try_get("name").map_err(read())?,
        centre,
        examples: row_int(row, "examples")?,
        created_at: row_int(row, "created_at")?,
    })
}
