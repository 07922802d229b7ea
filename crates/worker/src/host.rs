//! Hosting a worker: the loop around [`Worker::try_run_one`]. It runs jobs back to back,
//! sleeps when the queue is empty until woken (a job was enqueued in this process) or a
//! poll interval passes (one was enqueued elsewhere), and on shutdown stops claiming and
//! returns after the job in hand, so nothing is abandoned mid-item.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};

use crate::step::{Outcome, Worker};

/// Runs `worker` until `shutdown` turns true. Cancel-safe at the awaits between jobs only:
/// callers stop it through `shutdown`, not by dropping the future.
pub async fn run(worker: Arc<Worker>, wake: Arc<Notify>, mut shutdown: watch::Receiver<bool>, idle_poll: Duration) {
    while !*shutdown.borrow() {
        let idle = match worker.try_run_one().await {
            Ok(Outcome::Empty) => true,
            Ok(_) => false,
            Err(err) => {
                eprintln!("atelier-worker: the queue is unreachable: {err}");
                true
            }
        };
        if idle {
            tokio::select! {
                () = wake.notified() => {}
                () = tokio::time::sleep(idle_poll) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}
