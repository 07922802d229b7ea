//! Secrets the server generates for itself and keeps in the database, so that replicas
//! sharing it agree (the JWT signing key when the operator sets none). The first writer
//! wins; everyone after reads the winner's value.

use sqlx::Row;

use crate::db::Db;
use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct Secrets {
    db: Db,
}

impl Secrets {
    pub fn new(db: Db) -> Secrets {
        Secrets { db }
    }

    /// The secret stored under `name`, storing `candidate` first when there is none. Two
    /// processes starting at once both get the one that was stored first.
    pub async fn get_or_init(&self, name: &str, candidate: &str, now: i64) -> Result<String> {
        sqlx::query(
            "INSERT INTO server_secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(candidate)
        .bind(now)
        .execute(&self.db.pool)
        .await
        .map_err(Error::db("store server secret"))?;
        let row = sqlx::query("SELECT value FROM server_secrets WHERE name = $1")
            .bind(name)
            .fetch_one(&self.db.pool)
            .await
            .map_err(Error::db("read server secret"))?;
        row.try_get("value").map_err(Error::db("read server secret"))
    }
}
