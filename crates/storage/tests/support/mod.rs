//! The databases every account and credit test runs on: SQLite always, and PostgreSQL when
//! `ATELIER_TEST_POSTGRES` names a server (CI requires it), each one fresh and migrated.

use atelier_storage::Db;

pub struct Fixture {
    pub name: &'static str,
    pub db: Db,
    pub _dir: Option<tempfile::TempDir>,
}

pub async fn fixtures() -> Vec<Fixture> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("a.db").display());
    let mut out = vec![Fixture { name: "sqlite", db: migrated(&url).await, _dir: Some(dir) }];
    match std::env::var("ATELIER_TEST_POSTGRES") {
        Ok(base) => out.push(Fixture {
            name: "postgres",
            db: migrated(&Db::create_scratch_database(&base).await.unwrap()).await,
            _dir: None,
        }),
        Err(_) if std::env::var_os("CI").is_some() => {
            panic!("CI must test PostgreSQL: run the tests through scripts/test.sh")
        }
        Err(_) => {}
    }
    out
}

async fn migrated(url: &str) -> Db {
    let db = Db::connect(url).await.unwrap();
    db.migrate().await.unwrap();
    db
}
