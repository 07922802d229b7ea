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
    (10, include_str!("../migrations/common/0010_queue_order.sql")),
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
    (10, include_str!("../migrations/common/0010_queue_order.sql")),
];

/// The PostgreSQL advisory lock migrations take: "atelier" and a 1, as bytes. Nothing else
/// in atelier takes advisory locks.
const MIGRATION_LOCK: i64 = 0x6174_656c_6965_7201;

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
    /// Safe to run from several processes at once on PostgreSQL (every API replica migrates
    /// at start): they take turns, and each migration is applied once.
    pub async fn migrate(&self) -> Result<()> {
        let mut tx = self.begin_migration().await?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .execute(&mut *tx)
        .await
        .map_err(Error::db("migrate"))?;
        tx.commit().await.map_err(Error::db("migrate"))?;
        let migrations = match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS,
            Backend::Postgres => POSTGRES_MIGRATIONS,
        };
        for &(version, sql) in migrations {
            let mut tx = self.begin_migration().await?;
            let applied: Option<AnyRow> = sqlx::query("SELECT version FROM schema_migrations WHERE version = $1")
                .bind(version)
                .fetch_optional(&mut *tx)
                .await
                .map_err(Error::db("migrate"))?;
            if applied.is_some() {
                continue;
            }
            // Through the trait, not `RawSql::execute`, whose future is not `Send` for every
            // borrow of the connection: a migration could not run in a spawned task.
            sqlx::Executor::execute(&mut *tx, sqlx::raw_sql(sql)).await.map_err(Error::db("migrate"))?;
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

    /// A transaction for one migration step. On PostgreSQL it first waits for the other
    /// migrators' steps to end, so that its look at `schema_migrations` sees what they
    /// applied. Without it two processes both found a migration missing, both ran it, and
    /// one failed on a duplicate key in `pg_type` or `pg_class` (`CREATE TABLE IF NOT
    /// EXISTS schema_migrations` included). The lock is the transaction's, so it goes with
    /// commit or rollback, errors included.
    async fn begin_migration(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        let mut tx = self.pool.begin().await.map_err(Error::db("migrate"))?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(MIGRATION_LOCK)
                .execute(&mut *tx)
                .await
                .map_err(Error::db("migrate"))?;
        }
        Ok(tx)
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

    /// Drops a database that [`Db::create_scratch_database`] made, even while something is
    /// still connected to it. Refuses any other name, so a wrong URL cannot drop real data.
    pub async fn drop_scratch_database(base_url: &str, scratch_url: &str) -> Result<()> {
        let name = scratch_url.rsplit('/').next().unwrap_or_default();
        let scratch = name
            .strip_prefix("atelier_test_")
            .is_some_and(|rest| rest.len() == 32 && rest.bytes().all(|b| b.is_ascii_hexdigit()));
        if !scratch {
            return Err(Error::Config(format!("`{}` is not a scratch database", redact(scratch_url))));
        }
        let admin = Db::connect(base_url).await?;
        // WITH (FORCE) ends the pools' idle connections, which close lazily after a drop.
        let dropped = sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&admin.pool).await;
        admin.pool.close().await;
        dropped.map_err(Error::db("drop database"))?;
        Ok(())
    }

    /// Closes the pool's connections and waits until they are closed.
    pub async fn close(&self) {
        self.pool.close().await;
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
