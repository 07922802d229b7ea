//! The job queue's throughput benchmark: how many trivial jobs per second concurrent
//! workers claim and complete through the real `Queue` API, on a queue that keeps its
//! history, with claim and complete latencies. `bench/queue.sh` runs it on PostgreSQL and
//! SQLite and writes the results; by hand:
//!
//! ```sh
//! cargo bench -p atelier-storage --bench queue --locked
//! QUEUE_BENCH_DB=sqlite cargo bench -p atelier-storage --bench queue --locked
//! ```
//!
//! Environment (defaults in brackets):
//!   QUEUE_BENCH_DB [postgres://postgres@127.0.0.1:5432/test]  a PostgreSQL server, on which a
//!       scratch database is made and dropped afterwards; `sqlite` for a fresh file in a
//!       temporary folder, or `sqlite://PATH?mode=rwc` for a file of your own (with no jobs)
//!   QUEUE_BENCH_JOBS [20000]      jobs claimed and completed by the main run
//!   QUEUE_BENCH_CLAIMERS [8]      concurrent claimers (tasks) in the main run
//!   QUEUE_BENCH_HISTORY [100000]  finished jobs inserted before any run, oldest first
//!   QUEUE_BENCH_SWEEP [1,2,4,8,16]  claimer counts of the extra runs ("" for none)
//!   QUEUE_BENCH_SWEEP_JOBS [5000] jobs per extra run
//!   QUEUE_BENCH_MIN_RATE [1000 on PostgreSQL, none on SQLite]  the main run's floor, jobs/s
//!
//! Prints a Markdown table (one row per run) and one JSON line starting `{"queue_bench"`;
//! exits 1 when the main run is below the floor or any job was lost.

use std::error::Error as StdError;
use std::time::{Duration, Instant};

use atelier_storage::{now_ms, Backend, Db, JobState, Queue};
use sqlx::Row;

type Result<T> = std::result::Result<T, Box<dyn StdError + Send + Sync>>;

const LEASE: Duration = Duration::from_secs(300);

struct Config {
    db: String,
    jobs: usize,
    claimers: usize,
    history: usize,
    sweep: Vec<usize>,
    sweep_jobs: usize,
    min_rate: Option<f64>,
}

/// What one run measured.
struct Run {
    claimers: usize,
    jobs: usize,
    enqueue_rate: f64,
    seconds: f64,
    rate: f64,
    claim: Percentiles,
    complete: Percentiles,
}

struct Percentiles {
    p50_ms: f64,
    p99_ms: f64,
}

impl Percentiles {
    fn of(mut micros: Vec<u64>) -> Percentiles {
        micros.sort_unstable();
        let at = |q: f64| {
            let index = ((micros.len() as f64 * q).ceil() as usize).saturating_sub(1);
            micros.get(index).map_or(0.0, |&us| us as f64 / 1000.0)
        };
        Percentiles { p50_ms: at(0.50), p99_ms: at(0.99) }
    }
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> Result<T> {
    match std::env::var(name) {
        Ok(text) => text.trim().parse().map_err(|_| format!("{name}=`{text}` is not a valid number").into()),
        Err(_) => Ok(default),
    }
}

fn config() -> Result<Config> {
    let db = std::env::var("QUEUE_BENCH_DB").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let sweep = std::env::var("QUEUE_BENCH_SWEEP").unwrap_or_else(|_| "1,2,4,8,16".into());
    let sweep = sweep
        .split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| part.trim().parse::<usize>().map_err(|_| format!("QUEUE_BENCH_SWEEP: `{part}` is not a number")))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let min_rate = match std::env::var("QUEUE_BENCH_MIN_RATE") {
        Ok(text) => Some(text.trim().parse().map_err(|_| format!("QUEUE_BENCH_MIN_RATE=`{text}` is not a number"))?),
        Err(_) if db.starts_with("postgres") => Some(1000.0),
        Err(_) => None,
    };
    Ok(Config {
        db,
        jobs: env_or("QUEUE_BENCH_JOBS", 20_000)?,
        claimers: env_or("QUEUE_BENCH_CLAIMERS", 8)?.max(1),
        history: env_or("QUEUE_BENCH_HISTORY", 100_000)?,
        sweep: sweep.into_iter().map(|n| n.max(1)).collect(),
        sweep_jobs: env_or("QUEUE_BENCH_SWEEP_JOBS", 5_000)?,
        min_rate,
    })
}

/// Where the benchmark's database lives, and what to clean up afterwards.
enum Target {
    Scratch { base: String, url: String },
    Temporary { url: String, _dir: tempfile::TempDir },
    Given { url: String },
}

impl Target {
    async fn open(db: &str) -> Result<Target> {
        if db == "sqlite" {
            let dir = tempfile::tempdir()?;
            let url = format!("sqlite://{}?mode=rwc", dir.path().join("queue-bench.db").display());
            Ok(Target::Temporary { url, _dir: dir })
        } else if db.starts_with("sqlite:") {
            Ok(Target::Given { url: db.to_string() })
        } else {
            let url = Db::create_scratch_database(db).await?;
            Ok(Target::Scratch { base: db.to_string(), url })
        }
    }

    fn url(&self) -> &str {
        match self {
            Target::Scratch { url, .. } | Target::Temporary { url, .. } | Target::Given { url } => url,
        }
    }

    async fn close(self) -> Result<()> {
        if let Target::Scratch { base, url } = self {
            Db::drop_scratch_database(&base, &url).await?;
        }
        Ok(())
    }
}

/// Inserts `count` finished jobs older than anything the runs enqueue, in a few statements:
/// mostly succeeded, one in fifty failed. The runs' claims must not slow down because of them.
/// Returns the engine's version.
async fn fill_history(url: &str, backend: Backend, count: usize) -> Result<String> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::any::AnyPoolOptions::new().max_connections(1).connect(url).await?;
    let rows = match backend {
        Backend::Postgres => "SELECT i FROM generate_series(1, $1) AS n(i)",
        Backend::Sqlite => "SELECT i FROM n",
    };
    let prefix = match backend {
        Backend::Postgres => "",
        Backend::Sqlite => "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1) ",
    };
    // SQLite's `seq` has no default (the queue assigns MAX + 1); PostgreSQL's is a sequence.
    let (seq_column, seq_value) = match backend {
        Backend::Postgres => ("", ""),
        Backend::Sqlite => (", seq", ", i"),
    };
    let sql = format!(
        "{prefix}INSERT INTO jobs (id, state, payload, attempts, max_attempts, run_after, created_at, started_at, \
         finished_at, error{seq_column}) \
         SELECT 'history-' || i, CASE WHEN i % 50 = 0 THEN 'failed' ELSE 'succeeded' END, '{{}}', 1, 3, \
         $2 + i, $2 + i, $2 + i, $2 + i + 5, CASE WHEN i % 50 = 0 THEN 'bad input' END{seq_value} \
         FROM ({rows}) AS h"
    );
    let start = now_ms() - 86_400_000;
    sqlx::query(&sql).bind(i64::try_from(count)?).bind(start).execute(&pool).await?;
    // A queue that has run for a while has planner statistics; a fresh bulk load does not.
    sqlx::raw_sql("ANALYZE jobs").execute(&pool).await?;
    let version = match backend {
        Backend::Postgres => "SELECT current_setting('server_version') AS v",
        Backend::Sqlite => "SELECT sqlite_version() AS v",
    };
    let version: String = sqlx::query(version).fetch_one(&pool).await?.try_get("v")?;
    pool.close().await;
    Ok(version)
}

/// Enqueues `jobs` trivial jobs from several tasks at once; returns jobs per second.
async fn enqueue(queue: &Queue, jobs: usize) -> Result<f64> {
    let tasks = if queue.db().backend() == Backend::Postgres { 16 } else { 1 };
    let started = Instant::now();
    let mut handles = Vec::new();
    for t in 0..tasks {
        let queue = queue.clone();
        let mine = jobs / tasks + usize::from(t < jobs % tasks);
        handles.push(tokio::spawn(async move {
            for _ in 0..mine {
                queue.enqueue("{}", 3, now_ms()).await?;
            }
            Ok::<_, atelier_storage::Error>(())
        }));
    }
    for handle in handles {
        handle.await??;
    }
    Ok(jobs as f64 / started.elapsed().as_secs_f64())
}

/// `claimers` tasks each loop claim → complete until a claim finds nothing.
async fn drain(queue: &Queue, claimers: usize) -> Result<(usize, f64, Vec<u64>, Vec<u64>)> {
    let started = Instant::now();
    let mut handles = Vec::new();
    for c in 0..claimers {
        let queue = queue.clone();
        handles.push(tokio::spawn(async move {
            let worker = format!("bench-{c}");
            let (mut claims, mut completes) = (Vec::new(), Vec::new());
            loop {
                let t = Instant::now();
                let Some(job) = queue.claim(&worker, LEASE, now_ms()).await? else { break };
                claims.push(t.elapsed().as_micros() as u64);
                let t = Instant::now();
                if !queue.complete(&job.id, &worker, now_ms()).await? {
                    return Err(format!("job {} was taken from {worker} before it completed", job.id).into());
                }
                completes.push(t.elapsed().as_micros() as u64);
            }
            Ok::<_, Box<dyn StdError + Send + Sync>>((claims, completes))
        }));
    }
    let (mut claims, mut completes) = (Vec::new(), Vec::new());
    for handle in handles {
        let (c, d) = handle.await??;
        claims.extend(c);
        completes.extend(d);
    }
    Ok((completes.len(), started.elapsed().as_secs_f64(), claims, completes))
}

async fn run(queue: &Queue, jobs: usize, claimers: usize) -> Result<Run> {
    let enqueue_rate = enqueue(queue, jobs).await?;
    let (done, seconds, claims, completes) = drain(queue, claimers).await?;
    let left: i64 = queue
        .counts()
        .await?
        .into_iter()
        .filter(|(state, _)| matches!(state, JobState::Queued | JobState::Running))
        .map(|(_, n)| n)
        .sum();
    if done != jobs || left != 0 {
        return Err(
            format!("{claimers} claimers completed {done} of {jobs} jobs; {left} still queued or running").into()
        );
    }
    Ok(Run {
        claimers,
        jobs,
        enqueue_rate,
        seconds,
        rate: done as f64 / seconds,
        claim: Percentiles::of(claims),
        complete: Percentiles::of(completes),
    })
}

fn json(run: &Run) -> String {
    format!(
        "{{\"claimers\":{},\"jobs\":{},\"seconds\":{:.3},\"jobs_per_s\":{:.1},\"claim_p50_ms\":{:.3},\
         \"claim_p99_ms\":{:.3},\"complete_p50_ms\":{:.3},\"complete_p99_ms\":{:.3},\"enqueue_per_s\":{:.1}}}",
        run.claimers,
        run.jobs,
        run.seconds,
        run.rate,
        run.claim.p50_ms,
        run.claim.p99_ms,
        run.complete.p50_ms,
        run.complete.p99_ms,
        run.enqueue_rate
    )
}

async fn bench(config: &Config, url: &str) -> Result<bool> {
    let db = Db::connect(url).await?;
    db.migrate().await?;
    let backend = db.backend();
    let name = if backend == Backend::Postgres { "postgres" } else { "sqlite" };
    let queue = Queue::new(db);
    if queue.counts().await?.iter().any(|&(_, n)| n > 0) {
        return Err(format!("the database at {url} already holds jobs; the benchmark needs an empty queue").into());
    }
    let started = Instant::now();
    let version = fill_history(url, backend, config.history).await?;
    eprintln!("queue bench: {} history rows in {:.1} s", config.history, started.elapsed().as_secs_f64());

    let mut runs = Vec::new();
    for &claimers in &config.sweep {
        runs.push(run(&queue, config.sweep_jobs, claimers).await?);
        eprintln!("queue bench: sweep {claimers} claimers done");
    }
    let main = run(&queue, config.jobs, config.claimers).await?;

    println!("{name} {version}, {} jobs of history, {} CPUs", config.history, num_cpus());
    println!();
    println!(
        "| run | claimers | jobs | jobs/s (claim + complete) | claim p50 ms | claim p99 ms | complete p50 ms \
         | complete p99 ms | enqueue jobs/s |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    let rows = runs.iter().map(|run| ("sweep", run)).chain([("**main**", &main)]);
    for (label, run) in rows {
        println!(
            "| {label} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.2} | {:.0} |",
            run.claimers,
            run.jobs,
            run.rate,
            run.claim.p50_ms,
            run.claim.p99_ms,
            run.complete.p50_ms,
            run.complete.p99_ms,
            run.enqueue_rate
        );
    }
    println!();
    let pass = config.min_rate.is_none_or(|floor| main.rate >= floor);
    match config.min_rate {
        Some(floor) if pass => println!("{name}: {:.0} jobs/s meets the floor of {floor:.0} jobs/s", main.rate),
        Some(floor) => println!("{name}: {:.0} jobs/s is BELOW the floor of {floor:.0} jobs/s", main.rate),
        None => println!("{name}: {:.0} jobs/s (no floor set)", main.rate),
    }
    let min_rate = config.min_rate.map_or("null".to_string(), |floor| format!("{floor}"));
    let sweep = runs.iter().map(json).collect::<Vec<_>>().join(",");
    println!(
        "{{\"queue_bench\":\"{name}\",\"version\":\"{version}\",\"cpus\":{},\"history\":{},\"min_jobs_per_s\":{min_rate},\"pass\":{pass},\
         \"main\":{},\"sweep\":[{sweep}]}}",
        num_cpus(),
        config.history,
        json(&main)
    );
    queue.db().clone().close().await;
    Ok(pass)
}

fn num_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn main() {
    // `cargo bench` passes `--bench`; there are no options besides the environment.
    let outcome = (|| -> Result<bool> {
        let config = config()?;
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        runtime.block_on(async {
            let target = Target::open(&config.db).await?;
            let outcome = bench(&config, target.url()).await;
            target.close().await?;
            outcome
        })
    })();
    match outcome {
        Ok(true) => {}
        Ok(false) => std::process::exit(1),
        Err(err) => {
            eprintln!("queue bench: {err}");
            std::process::exit(1);
        }
    }
}
