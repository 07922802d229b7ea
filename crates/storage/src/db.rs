//! The metadata database: SQLite (the embedded default) or PostgreSQL, chosen by URL, and
//! their migrations. Queries are written once in the SQL both accept (`$1` parameters,
//! text ids, integer millisecond times); the few that must differ say so next to them.

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

use crate::error::{Error, Result};

/// Which engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A connection pool and the engine behind it.
#[derive(Debug, Clone)]
pub struct Db {
    pub(crate) pool: AnyPool,
    pub(crate) backend: Backend,
    /// Kept for the PostgreSQL LISTEN connection, which lives outside the pool.
    pub(crate) url: std::sync::Arc<str>,
}

/// Migrations, in order, per backend. Append only: a released migration never changes.
/// Where both engines take the same SQL, both lists name one file in `migrations/common/`.
const SQLITE_MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/sqlite/0001_jobs.sql")),
    (2, include_str!("../migrations/common/0002_progress.sql")),
    (3, include_str!("../migrations/common/0003_images.sql")),
    (4, include_str!("../migrations/common/0004_library.sql")),
    (5, include_str!("../migrations/common/0005_workers.sql")),
    (6, include_str!("../migrations/common/0006_users.sql")),
    (7, include_str!("../migrations/common/0007_secrets.sql")),
    (8, include_str!("../migrations/common/0008_categories.sql")),
    (9, include_str!("../migrations/common/0009_datasets.sql")),
];
const POSTGRES_MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/postgres/0001_jobs.sql")),
    (2, include_str!("../migrations/common/0002_progress.sql")),
    (3, include_str!("../migrations/common/0003_images.sql")),
    (4, include_str!("../migrations/common/0004_library.sql")),
    (5, include_str!("../migrations/common/0005_workers.sql")),
    (6, include_str!("../migrations/common/0006_users.sql")),
    (7, include_str!("../migrations/common/0007_secrets.sql")),
    (8, include_str!("../migrations/common/0008_categories.sql")),
    (9, include_str!("../migrations/common/0009_datasets.sql")),
];

impl Db {
    /// Connects to `sqlite://path?mode=rwc` or `postgres://...`.
    pub async fn connect(url: &str) -> Result<Db> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(Error::Config(format!("unsupported database URL scheme in `{}`", redact(url))));
        };
        // SQLite has one writer at a time; more connections only queue on its lock.
        let max = if backend == Backend::Sqlite { 1 } else { 16 };
        let pool = AnyPoolOptions::new().max_connections(max).connect(url).await.map_err(Error::db("connect"))?;
        if backend == Backend::Sqlite {
            sqlx::raw_sql("PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON;")
                .execute(&pool)
                .await
                .map_err(Error::db("configure sqlite"))?;
        }
        Ok(Db { pool, backend, url: url.into() })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies the migrations this database has not seen, each in its own transaction.
    pub async fn migrate(&self) -> Result<()> {
        sqlx::raw_sql(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .execute(&self.pool)
        .await
        .map_err(Error::db("migrate"))?;
        let migrations = match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS,
            Backend::Postgres => POSTGRES_MIGRATIONS,
        };
        for &(version, sql) in migrations {
            let mut tx = self.pool.begin().await.map_err(Error::db("migrate"))?;
            let applied: Option<AnyRow> = sqlx::query("SELECT version FROM schema_migrations WHERE version = $1")
                .bind(version)
                .fetch_optional(&mut *tx)
                .await
                .map_err(Error::db("migrate"))?;
            if applied.is_some() {
                continue;
            }
            sqlx::raw_sql(sql).execute(&mut *tx).await.map_err(Error::db("migrate"))?;
            sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
                .bind(version)
                .bind(crate::queue::now_ms())
                .execute(&mut *tx)
                .await
                .map_err(Error::db("migrate"))?;
            tx.commit().await.map_err(Error::db("migrate"))?;
        }
        Ok(())
    }

    /// Creates an empty database named `atelier_test_<uuid>` on the PostgreSQL server that
    /// `base_url` points at, and returns its URL. Tests take one each, so they never share
    /// state; scripts/test.sh drops them all afterwards.
    pub async fn create_scratch_database(base_url: &str) -> Result<String> {
        let Some(slash) = base_url.rfind('/') else {
            return Err(Error::Config(format!("`{}` does not end with /DATABASE", redact(base_url))));
        };
        let name = format!("atelier_test_{}", uuid::Uuid::new_v4().simple());
        let admin = Db::connect(base_url).await?;
        // CREATE DATABASE cannot run inside a transaction, hence raw_sql on the pool.
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&admin.pool)
            .await
            .map_err(Error::db("create database"))?;
        admin.pool.close().await;
        Ok(format!("{}/{name}", &base_url[..slash]))
    }

    /// A trivial query, for readiness probes.
    pub async fn check(&self) -> Result<()> {
        let row: AnyRow = sqlx::query("SELECT 1 AS one").fetch_one(&self.pool).await.map_err(Error::db("check"))?;
        row_int(&row, "one")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;

/// An integer column, whichever width the backend returns it in.
pub(crate) fn row_int(row: &AnyRow, column: &str) -> Result<i64> {
    row.try_get::<i64, _>(column)
        .or_else(|_| row.try_get::<i32, _>(column).map(i64::from))
        .map_err(Error::db("read integer"))
}

/// A URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://***@{}", &url[..scheme], &url[at + 1..]),
        _ => url.to_string(),
    }
}
