//! Migrating a database that holds data from before users: old rows survive, unowned.

use super::*;

async fn databases() -> Vec<(&'static str, Db, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("m.db").display());
    let mut out = vec![("sqlite", Db::connect(&url).await.unwrap(), Some(dir))];
    if let Ok(base) = std::env::var("ATELIER_TEST_POSTGRES") {
        let url = Db::create_scratch_database(&base).await.unwrap();
        out.push(("postgres", Db::connect(&url).await.unwrap(), None));
    }
    out
}

#[tokio::test]
async fn rows_from_before_users_survive_the_users_migration_without_an_owner() {
    for (name, db, _dir) in databases().await {
        let migrations = match db.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS,
            Backend::Postgres => POSTGRES_MIGRATIONS,
        };
        let before_users = migrations.iter().position(|&(version, _)| version == 6).unwrap();
        for &(_, sql) in &migrations[..before_users] {
            sqlx::raw_sql(sql).execute(&db.pool).await.unwrap();
        }
        sqlx::raw_sql(
            "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL); \
             INSERT INTO schema_migrations (version, applied_at) VALUES (1, 0), (2, 0), (3, 0), (4, 0), (5, 0); \
             INSERT INTO pipelines (name, version, document, created_at) VALUES ('thumbs', 1, '{}', 1), ('thumbs', 2, '{\"v\":2}', 2); \
             INSERT INTO images (id, sha256, format, width, height, bytes, created_at) VALUES ('i', 'aa', 'png', 1, 1, 5, 1)",
        )
        .execute(&db.pool)
        .await
        .unwrap();
        db.migrate().await.unwrap();

        let pipelines = crate::Pipelines::new(db.clone());
        assert_eq!(pipelines.versions("", "thumbs").await.unwrap(), vec![1, 2], "{name}");
        assert_eq!(pipelines.get("", "thumbs", None).await.unwrap().unwrap().document, "{\"v\":2}", "{name}");
        assert!(pipelines.create("someone", "thumbs", "{}", 3).await.unwrap().is_some(), "{name}: names are per owner");
        let image = crate::Images::new(db.clone()).get(crate::Scope::All, "i").await.unwrap().unwrap();
        assert_eq!(image.owner_id, None, "{name}");
        assert_eq!(crate::Images::new(db).get(crate::Scope::User("x"), "i").await.unwrap(), None, "{name}");
    }
}
