//! What the kill tests share: `atelier worker` processes on a PostgreSQL queue that can be
//! killed mid-job, and a scratch database for each test.

use std::process::{Child, Command};

use atelier_storage::Db;

/// A worker process that is killed and reaped when dropped, so a failing assertion does not
/// leave it running.
pub struct WorkerProcess(pub Child);

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One `atelier worker` with one worker and a 1.5 s lease. Worker ids are
/// `{hostname}-{pid}-{n}`; the fixed host name makes them predictable.
pub fn spawn_worker(url: &str, data: &std::path::Path, hostname: &str) -> WorkerProcess {
    let child = Command::new(env!("CARGO_BIN_EXE_atelier"))
        .args(["worker", "--workers", "1", "--lease-ms", "1500", "--database-url", url])
        .arg("--data-dir")
        .arg(data)
        .env("HOSTNAME", hostname)
        .spawn()
        .unwrap();
    WorkerProcess(child)
}

/// A migrated scratch database on the machine's PostgreSQL, or `None` outside CI when
/// `ATELIER_TEST_POSTGRES` is not set (CI must run these tests: use scripts/test.sh).
pub async fn scratch_database() -> Option<(String, Db)> {
    let Ok(base) = std::env::var("ATELIER_TEST_POSTGRES") else {
        assert!(std::env::var_os("CI").is_none(), "CI must run this test: use scripts/test.sh");
        return None;
    };
    let url = Db::create_scratch_database(&base).await.unwrap();
    let db = Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    Some((url, db))
}
