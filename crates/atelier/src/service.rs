//! `atelier serve`, `atelier worker` and `atelier migrate`: the service on embedded
//! defaults (a SQLite file and a blob folder under `./data`, created on first run) or on
//! PostgreSQL and S3, configured by flags or `ATELIER_*` environment variables.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use atelier_imaging::Limits;
use atelier_server::AppState;
use atelier_storage::{BlobConfig, BlobStore, Db, Images, ObjectBlobStore, Queue, S3Config};
use atelier_worker::{Worker, WorkerConfig};
use tokio::sync::{watch, Notify};

#[derive(Debug, clap::Args)]
pub struct ServiceArgs {
    /// Address the API listens on.
    #[arg(long, env = "ATELIER_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Folder for the embedded database, blobs and upload spool (created if missing).
    #[arg(long, env = "ATELIER_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
    /// `postgres://...` or `sqlite://...`; default: `sqlite://DATA_DIR/atelier.db`.
    #[arg(long, env = "ATELIER_DATABASE_URL")]
    database_url: Option<String>,
    /// In-process workers; 0 means one per core.
    #[arg(long, env = "ATELIER_WORKERS", default_value_t = 0)]
    workers: usize,
    /// Store blobs in this S3 bucket instead of DATA_DIR/blobs.
    #[arg(long, env = "ATELIER_S3_BUCKET")]
    s3_bucket: Option<String>,
    /// S3-compatible endpoint (MinIO, Garage, ...); omit for AWS.
    #[arg(long, env = "ATELIER_S3_ENDPOINT")]
    s3_endpoint: Option<String>,
    #[arg(long, env = "ATELIER_S3_REGION", default_value = "us-east-1")]
    s3_region: String,
    #[arg(long, env = "ATELIER_S3_ACCESS_KEY_ID", default_value = "")]
    s3_access_key_id: String,
    #[arg(long, env = "ATELIER_S3_SECRET_ACCESS_KEY", default_value = "", hide_env_values = true)]
    s3_secret_access_key: String,
    /// Allow a plain-http S3 endpoint (a local MinIO).
    #[arg(long, env = "ATELIER_S3_ALLOW_HTTP")]
    s3_allow_http: bool,
    /// How long a claimed job stays a worker's without a heartbeat: after a crash, its
    /// jobs wait this long before another worker takes them. Heartbeats come 4 times as often.
    #[arg(long, env = "ATELIER_LEASE_MS", default_value_t = 60_000)]
    lease_ms: u64,
    /// Largest upload, in bytes.
    #[arg(long, env = "ATELIER_MAX_INPUT_BYTES", default_value_t = Limits::default().max_input_bytes)]
    max_input_bytes: u64,
    /// Largest source image, in pixels.
    #[arg(long, env = "ATELIER_MAX_PIXELS", default_value_t = Limits::default().max_pixels)]
    max_pixels: u64,
}

struct Service {
    db: Db,
    blobs: Arc<dyn BlobStore>,
    limits: Limits,
}

impl ServiceArgs {
    async fn open(&self) -> Result<Service> {
        std::fs::create_dir_all(&self.data_dir).with_context(|| format!("creating {}", self.data_dir.display()))?;
        let url = match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}?mode=rwc", self.data_dir.join("atelier.db").display()),
        };
        let db = Db::connect(&url).await.context("connecting to the database")?;
        let blob_config = match &self.s3_bucket {
            Some(bucket) => BlobConfig::S3(S3Config {
                bucket: bucket.clone(),
                region: self.s3_region.clone(),
                endpoint: self.s3_endpoint.clone(),
                access_key_id: self.s3_access_key_id.clone(),
                secret_access_key: self.s3_secret_access_key.clone(),
                allow_http: self.s3_allow_http,
            }),
            None => BlobConfig::Local { root: self.data_dir.join("blobs") },
        };
        let blobs: Arc<dyn BlobStore> =
            Arc::new(ObjectBlobStore::open(&blob_config).context("opening the blob store")?);
        let limits = Limits { max_input_bytes: self.max_input_bytes, max_pixels: self.max_pixels, ..Limits::default() };
        Ok(Service { db, blobs, limits })
    }

    fn worker_count(&self) -> usize {
        if self.workers == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            self.workers
        }
    }
}

pub fn migrate(args: ServiceArgs) -> Result<()> {
    runtime()?.block_on(async {
        let service = args.open().await?;
        service.db.migrate().await.context("migrating")?;
        eprintln!("atelier: database is up to date");
        Ok(())
    })
}

pub fn serve(args: ServiceArgs) -> Result<()> {
    runtime()?.block_on(async {
        let service = args.open().await?;
        service.db.migrate().await.context("migrating")?;
        let spool = args.data_dir.join("spool");
        std::fs::create_dir_all(&spool).with_context(|| format!("creating {}", spool.display()))?;
        let wake = Arc::new(Notify::new());
        let (stop, stopped) = watch::channel(false);
        let workers = start_workers(&service, &args, wake.clone(), stopped);
        let state = AppState {
            db: service.db.clone(),
            queue: Queue::new(service.db.clone()),
            images: Images::new(service.db.clone()),
            blobs: service.blobs.clone(),
            limits: service.limits.clone(),
            max_job_items: 1000,
            upload_dir: spool,
            wake,
        };
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        let bound = listener.local_addr().context("reading the bound address")?;
        eprintln!(
            "atelier: listening on http://{bound} ({} workers, data in {})",
            workers.len(),
            args.data_dir.display()
        );
        axum::serve(listener, atelier_server::router(state)).with_graceful_shutdown(shutdown_signal()).await?;
        drain(stop, workers).await;
        Ok(())
    })
}

pub fn worker(args: ServiceArgs) -> Result<()> {
    runtime()?.block_on(async {
        let service = args.open().await?;
        let (stop, stopped) = watch::channel(false);
        let workers = start_workers(&service, &args, Arc::new(Notify::new()), stopped);
        eprintln!("atelier: {} workers waiting for jobs", workers.len());
        shutdown_signal().await;
        drain(stop, workers).await;
        Ok(())
    })
}

fn start_workers(
    service: &Service,
    args: &ServiceArgs,
    wake: Arc<Notify>,
    stopped: watch::Receiver<bool>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let lease = Duration::from_millis(args.lease_ms.max(100));
    (0..args.worker_count())
        .map(|n| {
            let config = WorkerConfig {
                worker_id: format!("{}-{}", std::process::id(), n),
                limits: service.limits.clone(),
                lease,
                heartbeat_every: lease / 4,
                ..WorkerConfig::default()
            };
            let worker = Arc::new(Worker::new(Queue::new(service.db.clone()), service.blobs.clone(), config));
            tokio::spawn(atelier_worker::host::run(worker, wake.clone(), stopped.clone(), Duration::from_secs(1)))
        })
        .collect()
}

/// Stops claiming and waits for the jobs in hand; what does not finish in time is left to
/// its lease, and another worker picks it up.
async fn drain(stop: watch::Sender<bool>, workers: Vec<tokio::task::JoinHandle<()>>) {
    eprintln!("atelier: stopping; finishing jobs in progress");
    let _ = stop.send(true);
    let all = join_all(workers);
    if tokio::time::timeout(Duration::from_secs(30), all).await.is_err() {
        eprintln!("atelier: some jobs did not finish in 30 s; their leases will hand them to another worker");
    }
}

async fn join_all(workers: Vec<tokio::task::JoinHandle<()>>) {
    for worker in workers {
        let _ = worker.await;
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")
}
