//! `atelier serve` (the API, with workers unless `serve_workers` is off), `atelier worker`
//! (workers, and their health and metrics on `[worker] listen`) and `atelier migrate`: the
//! service on embedded defaults (a SQLite file and a blob folder under `./data`, created on
//! first run) or on PostgreSQL and S3, configured as `settings.rs` describes.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use atelier_imaging::Models;
use atelier_server::AppState;
use atelier_storage::{BlobStore, Db, ObjectBlobStore, Queue};
use atelier_worker::{Worker, WorkerConfig, WorkerMetrics};
use tokio::sync::{watch, Notify};

use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub struct ServiceArgs {
    /// Configuration file (default: ./atelier.toml when present). See atelier.example.toml.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address the API listens on (overrides `listen`).
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Data folder (overrides `data_dir`).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Database URL (overrides `database_url`).
    #[arg(long)]
    database_url: Option<String>,
    /// In-process workers, 0 for one per core (overrides `workers`).
    #[arg(long)]
    workers: Option<usize>,
    /// Job lease in milliseconds (overrides `lease_ms`).
    #[arg(long)]
    lease_ms: Option<u64>,
}

/// `atelier serve`: the service flags, and whether workers run beside the API.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub service: ServiceArgs,
    /// Serve the API only, with no in-process workers (sets `serve_workers = false`); run
    /// `atelier worker` processes for the jobs.
    #[arg(long)]
    no_workers: bool,
}

impl ServiceArgs {
    /// The layered settings, with these flags on top.
    fn settings(&self) -> Result<Settings> {
        let mut settings = Settings::load(self.config.as_deref())?;
        if let Some(listen) = self.listen {
            settings.listen = listen;
        }
        if let Some(data_dir) = &self.data_dir {
            settings.data_dir = data_dir.clone();
        }
        if let Some(url) = &self.database_url {
            settings.database_url = Some(url.clone());
        }
        if let Some(workers) = self.workers {
            settings.workers = workers;
        }
        if let Some(lease_ms) = self.lease_ms {
            settings.lease_ms = lease_ms;
        }
        Ok(settings)
    }
}

pub(crate) struct Service {
    pub settings: Settings,
    pub db: Db,
    blobs: Arc<dyn BlobStore>,
    /// One set of model sessions for the API and every worker of the process.
    pub models: Arc<dyn Models>,
    /// `None` when webhooks are off.
    webhook: Option<atelier_worker::webhook::WebhookConfig>,
}

impl Service {
    pub(crate) async fn open(args: &ServiceArgs) -> Result<Service> {
        let settings = args.settings()?;
        let webhook = settings.webhook_config()?;
        std::fs::create_dir_all(&settings.data_dir)
            .with_context(|| format!("creating {}", settings.data_dir.display()))?;
        let db = Db::connect(&settings.database_url()).await.context("connecting to the database")?;
        let blobs: Arc<dyn BlobStore> =
            Arc::new(ObjectBlobStore::open(&settings.blob_config()).context("opening the blob store")?);
        let models: Arc<dyn Models> = settings.vision.build();
        Ok(Service { settings, db, blobs, models, webhook })
    }
}

pub fn migrate(args: ServiceArgs) -> Result<()> {
    runtime()?.block_on(async {
        let service = Service::open(&args).await?;
        service.db.migrate().await.context("migrating")?;
        eprintln!("atelier: database is up to date");
        Ok(())
    })
}

pub fn serve(args: ServeArgs) -> Result<()> {
    runtime()?.block_on(async {
        let stop_signal = StopSignal::listen();
        let mut service = Service::open(&args.service).await?;
        if args.no_workers {
            service.settings.serve_workers = false;
        }
        // Checked before migrating or listening: a short key stops the start, not the first request.
        let transform = service.settings.transform.config()?;
        let settings = &service.settings;
        let auth = crate::settings::auth_config(&settings.auth, &settings.credits, &settings.quotas)?;
        service.db.migrate().await.context("migrating")?;
        let secret = token_secret(&service).await?;
        first_start_hint(&service).await?;
        let spool = service.settings.data_dir.join("spool");
        std::fs::create_dir_all(&spool).with_context(|| format!("creating {}", spool.display()))?;
        let state = AppState::new(
            service.db.clone(),
            service.blobs.clone(),
            service.settings.limits.clone(),
            service.settings.max_job_items,
            spool,
        )
        .with_max_queued_jobs(service.settings.max_queued_jobs)
        .with_webhooks(service.webhook.is_some())
        .with_transform(transform)
        .with_auth(auth, &secret)
        .with_cors(service.settings.http.cors_origins.clone())
        .with_models(service.models.clone())
        .with_archive_limits(service.settings.datasets.clone());
        let (stop, stopped) = watch::channel(false);
        // API only, the API's `/metrics` has no worker histograms: each `atelier worker` serves its own.
        let (state, workers) = if service.settings.serve_workers {
            let metrics = Arc::new(WorkerMetrics::new());
            let state = state.with_worker_metrics(metrics.clone());
            let workers = start_workers(&service, state.wake.clone(), stopped, metrics);
            (state, workers)
        } else {
            (state, Vec::new())
        };
        let listen = service.settings.listen;
        let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("listening on {listen}"))?;
        let bound = listener.local_addr().context("reading the bound address")?;
        let workers_note = if service.settings.serve_workers {
            format!("{} workers", workers.len())
        } else {
            "API only, no workers: run `atelier worker` for the jobs".to_string()
        };
        eprintln!(
            "atelier: listening on http://{bound} ({workers_note}, data in {})",
            service.settings.data_dir.display()
        );
        let app = atelier_server::router(state).context("http.cors_origins")?;
        // Connection info gives the sign-in limiters the client's address.
        let app = app.into_make_service_with_connect_info::<SocketAddr>();
        let signalled = Arc::new(Notify::new());
        let server = axum::serve(listener, app).with_graceful_shutdown({
            let signalled = signalled.clone();
            async move {
                stop_signal.recv().await;
                signalled.notify_one();
            }
        });
        // Graceful shutdown waits for every open connection, and an event stream stays open
        // until its job ends: past the grace period, those are cut (clients reconnect to
        // another replica) rather than holding the process until it is killed.
        tokio::select! {
            served = server => served?,
            () = async { signalled.notified().await; tokio::time::sleep(SHUTDOWN_GRACE).await } => {
                eprintln!("atelier: connections still open {SHUTDOWN_GRACE:?} after the stop signal; closing them");
            }
        }
        drain(stop, workers).await;
        Ok(())
    })
}

/// The key access tokens are signed with: `[auth] secret`, else one made on first start and
/// kept in the database, so that every replica signs alike.
async fn token_secret(service: &Service) -> Result<Vec<u8>> {
    if let Some(secret) = &service.settings.auth.secret {
        anyhow::ensure!(secret.len() >= 32, "auth.secret must be at least 32 bytes");
        return Ok(secret.as_bytes().to_vec());
    }
    let candidate: String =
        atelier_auth::secret::random_bytes::<32>().iter().map(|byte| format!("{byte:02x}")).collect();
    let stored = atelier_storage::Secrets::new(service.db.clone())
        .get_or_init("jwt", &candidate, atelier_storage::now_ms())
        .await
        .context("reading the token signing key")?;
    Ok(stored.into_bytes())
}

/// There is no default account or password: with no users yet, say how to make the first.
async fn first_start_hint(service: &Service) -> Result<()> {
    if atelier_storage::Users::new(service.db.clone()).count().await.context("counting users")? == 0 {
        eprintln!(
            "atelier: no accounts yet. Create the first admin with:\n  \
             ATELIER_PASSWORD='a long passphrase' atelier user add you@example.com --admin"
        );
    }
    Ok(())
}

pub fn worker(args: ServiceArgs) -> Result<()> {
    runtime()?.block_on(async {
        let stop_signal = StopSignal::listen();
        let service = Service::open(&args).await?;
        let metrics = Arc::new(WorkerMetrics::new());
        if let Some(addr) = service.settings.worker.listen_addr() {
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("listening on {addr} (worker.listen)"))?;
            let bound = listener.local_addr().context("reading the bound address")?;
            let router =
                atelier_server::telemetry::worker_router(metrics.clone(), service.db.clone(), service.blobs.clone());
            tokio::spawn(async move {
                if let Err(err) = axum::serve(listener, router).await {
                    eprintln!("atelier: the worker's listener stopped: {err}");
                }
            });
            eprintln!("atelier: health on http://{bound}/healthz and /readyz, metrics on http://{bound}/metrics");
        }
        let (stop, stopped) = watch::channel(false);
        let workers = start_workers(&service, Arc::new(Notify::new()), stopped, metrics);
        eprintln!("atelier: {} workers waiting for jobs", workers.len());
        stop_signal.recv().await;
        drain(stop, workers).await;
        Ok(())
    })
}

fn start_workers(
    service: &Service,
    wake: Arc<Notify>,
    stopped: watch::Receiver<bool>,
    metrics: Arc<WorkerMetrics>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let lease = Duration::from_millis(service.settings.lease_ms.max(100));
    let webhook = service.webhook.clone();
    let host = hostname();
    (0..service.settings.worker_count())
        .map(|n| {
            let config = WorkerConfig {
                // The host name keeps ids unique across machines and containers, where
                // every process may be pid 1.
                worker_id: format!("{host}-{}-{n}", std::process::id()),
                hostname: host.clone(),
                limits: service.settings.limits.clone(),
                lease,
                heartbeat_every: lease / 4,
                webhook: webhook.clone(),
                ..WorkerConfig::default()
            };
            let worker = Worker::new(Queue::new(service.db.clone()), service.blobs.clone(), config)
                .with_metrics(metrics.clone())
                .with_models(service.models.clone());
            let worker = Arc::new(worker);
            tokio::spawn(atelier_worker::host::run(worker, wake.clone(), stopped.clone(), Duration::from_secs(1)))
        })
        .collect()
}

/// How long `serve` waits for open requests after SIGTERM. Under Kubernetes' default
/// 30 s, so the process exits by itself; the chart's grace period is longer still.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

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

/// This machine's name, for worker ids and the worker registry: `HOSTNAME` (set in
/// containers), else the kernel's, else `localhost`.
fn hostname() -> String {
    let read = |path: &str| std::fs::read_to_string(path).ok();
    [std::env::var("HOSTNAME").ok(), read("/proc/sys/kernel/hostname"), read("/etc/hostname")]
        .into_iter()
        .flatten()
        .map(|name| name.trim().to_string())
        .find(|name| !name.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

async fn join_all(workers: Vec<tokio::task::JoinHandle<()>>) {
    for worker in workers {
        let _ = worker.await;
    }
}

/// SIGTERM and Ctrl-C, listened for from the moment it is made. Made first thing, so that
/// a signal arriving after the "listening" line but before the server first polls its
/// shutdown future still drains the process instead of ending it with the default action.
struct StopSignal {
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
}

impl StopSignal {
    /// Registers the handlers; must run inside the runtime.
    fn listen() -> StopSignal {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            StopSignal {
                terminate: signal(SignalKind::terminate()).ok(),
                interrupt: signal(SignalKind::interrupt()).ok(),
            }
        }
        #[cfg(not(unix))]
        StopSignal {}
    }

    /// Waits for the first of the signals.
    async fn recv(mut self) {
        #[cfg(unix)]
        {
            async fn next(signal: Option<&mut tokio::signal::unix::Signal>) {
                match signal {
                    Some(signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
            tokio::select! {
                () = next(self.terminate.as_mut()) => {}
                () = next(self.interrupt.as_mut()) => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")
}
