//! Hosting a worker: the loop around [`Worker::try_run_one`]. It runs jobs back to back,
//! sleeps when the queue is empty until woken (a job was enqueued in this process, or on
//! PostgreSQL in any process, by LISTEN/NOTIFY) or a poll interval passes (the fallback),
//! and on shutdown stops claiming and returns after the job in hand, so nothing is
//! abandoned mid-item. Around that loop it keeps the worker's row in the worker registry:
//! registered at start, a heartbeat every [`PRESENCE_EVERY`] (on its own timer, so a long
//! item does not silence it), and stopped once drained.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};

use crate::step::{Outcome, Worker};

/// How often a running worker renews its row in the worker registry.
pub const PRESENCE_EVERY: Duration = Duration::from_secs(10);

/// How long a worker's registry heartbeat may be silent before `/metrics` counts it stale
/// (three missed beats): it was killed, crashed, or lost the database.
pub const STALE_AFTER: Duration = Duration::from_secs(30);

/// Runs `worker` until `shutdown` turns true. Cancel-safe at the awaits between jobs only:
/// callers stop it through `shutdown`, not by dropping the future.
pub async fn run(worker: Arc<Worker>, wake: Arc<Notify>, shutdown: watch::Receiver<bool>, idle_poll: Duration) {
    if let Err(err) = worker.register().await {
        eprintln!("atelier-worker: registering in the worker registry: {err}");
    }
    tokio::select! {
        () = work(&worker, wake, shutdown, idle_poll) => {}
        () = presence(&worker) => {}
    }
    if let Err(err) = worker.sign_off().await {
        eprintln!("atelier-worker: signing off in the worker registry: {err}");
    }
}

/// Renews the registry heartbeat until dropped.
async fn presence(worker: &Worker) {
    let mut beats = tokio::time::interval(PRESENCE_EVERY);
    beats.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    beats.tick().await; // The first tick is immediate, and `register` just wrote the row.
    loop {
        beats.tick().await;
        if let Err(err) = worker.beat().await {
            eprintln!("atelier-worker: worker registry heartbeat: {err}");
        }
    }
}

async fn work(worker: &Worker, wake: Arc<Notify>, mut shutdown: watch::Receiver<bool>, idle_poll: Duration) {
    let mut signal = match worker.subscribe().await {
        Ok(signal) => signal,
        Err(err) => {
            eprintln!("atelier-worker: no new-job notifications ({err}); polling every {idle_poll:?}");
            None
        }
    };
    while !*shutdown.borrow() {
        let idle = match worker.try_run_one().await {
            Ok(Outcome::Empty) => true,
            Ok(Outcome::Ran { state, job_id }) => {
                if state.is_final() {
                    worker.announce(&job_id).await;
                    if let Err(err) = worker.collect_originals().await {
                        eprintln!("atelier-worker: collecting unused originals: {err}");
                    }
                }
                false
            }
            Ok(_) => false,
            Err(err) => {
                eprintln!("atelier-worker: the queue is unreachable: {err}");
                true
            }
        };
        if idle {
            let notified = async {
                match signal.as_mut() {
                    // On a dropped connection, wait out the poll interval instead of spinning.
                    Some(signal) => {
                        if signal.next().await.is_err() {
                            tokio::time::sleep(idle_poll).await;
                        }
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                () = wake.notified() => {}
                () = notified => {}
                () = tokio::time::sleep(idle_poll) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}
