//! Getting one transform's bytes: from the cache when they are there, else rendered once
//! however many requests ask at the same time (single-flight), behind a bounded queue that
//! turns overload into 429s instead of an ever longer wait.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex, PoisonError};

use atelier_imaging::{Limits, NoAssets, NoModels, Pipeline, RunEnv};
use atelier_storage::{now_ms, BlobKey, BlobStore, Credits, ErrorKind};
use bytes::Bytes;
use futures::future::{BoxFuture, FutureExt, Shared};

use super::TransformState;
use crate::error::{ApiCode, ApiError};

/// What to serve, and how to make it when the cache does not have it.
pub(super) struct Job {
    /// Where the output is cached: `derived/{sha256}.{ext}`.
    pub key: BlobKey,
    pub source: BlobKey,
    pub pipeline: Pipeline,
    pub blobs: Arc<dyn BlobStore>,
    pub limits: Limits,
    /// Who pays for a render, when credits are on and the image has an owner.
    pub bill: Option<Bill>,
}

/// A render's price and payer: charged on a cache miss only, refunded if it fails.
pub(super) struct Bill {
    pub credits: Credits,
    pub owner: String,
    pub amount: i64,
}

impl Bill {
    async fn charge(&self, key: &BlobKey) -> Result<(), ApiError> {
        if self.amount > 0 {
            self.credits.charge(&self.owner, self.amount, &format!("render {key}"), now_ms()).await?;
        }
        Ok(())
    }

    async fn refund(&self, key: &BlobKey) {
        if self.amount > 0 {
            let note = format!("failed render {key}");
            if let Err(err) = self.credits.refund(&self.owner, self.amount, &note, now_ms()).await {
                eprintln!("atelier-server: refunding a failed render of {key}: {err}");
            }
        }
    }
}

type Outcome = Result<Bytes, ApiError>;

/// Renders in progress, by cache key. A request that finds its key here waits for that
/// render instead of starting another.
pub(super) type Flights = Mutex<HashMap<BlobKey, Shared<BoxFuture<'static, Outcome>>>>;

impl TransformState {
    /// The output for `job`, from the cache or rendered; identical concurrent calls share one
    /// lookup and at most one render.
    pub(super) async fn fetch(self: &Arc<Self>, job: Job) -> Outcome {
        let flight = {
            let mut flights = self.flights.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(flight) = flights.get(&job.key) {
                self.stats.coalesced.fetch_add(1, Relaxed);
                flight.clone()
            } else {
                let key = job.key.clone();
                let state = self.clone();
                // A task of its own, so the render finishes (and is cached) for the others
                // even when the client that started it goes away.
                let task = tokio::spawn(async move {
                    let _landing = Landing { state: state.clone(), key: job.key.clone() };
                    state.fly(job).await
                });
                let flight = async move {
                    task.await
                        .unwrap_or_else(|err| Err(ApiError::new(ApiCode::Internal, format!("render task: {err}"))))
                }
                .boxed()
                .shared();
                flights.insert(key, flight.clone());
                flight
            }
        };
        flight.await
    }

    async fn fly(&self, job: Job) -> Outcome {
        // Looked up inside the flight: a request that found no flight might otherwise miss
        // the cache just before another request's render lands there, and render it again.
        match job.blobs.get(&job.key).await {
            Ok(bytes) => {
                self.stats.hits.fetch_add(1, Relaxed);
                return Ok(bytes);
            }
            Err(err) if err.kind() == ErrorKind::NotFound => {}
            Err(err) => return Err(err.into()),
        }
        let Ok(place) = self.queue.clone().try_acquire_owned() else {
            self.stats.rejected.fetch_add(1, Relaxed);
            return Err(ApiError::new(ApiCode::TooBusy, "too many images are being rendered; try again shortly"));
        };
        let permit =
            self.renders.acquire().await.map_err(|err| ApiError::new(ApiCode::Internal, format!("renders: {err}")))?;
        self.stats.misses.fetch_add(1, Relaxed);
        // Paid for once the render is sure to start: a 429 or a cache hit costs nothing.
        if let Some(bill) = &job.bill {
            bill.charge(&job.key).await?;
        }
        let rendered = async {
            // Read only with a permit in hand, so waiting requests hold no originals in memory.
            let source = job.blobs.get(&job.source).await.map_err(|err| match err.kind() {
                ErrorKind::NotFound => ApiError::new(ApiCode::ImageNotFound, "the image was deleted"),
                _ => err.into(),
            })?;
            render(job.pipeline, source, job.limits).await
        };
        let bytes = match rendered.await {
            Ok(bytes) => bytes,
            Err(err) => {
                if let Some(bill) = &job.bill {
                    bill.refund(&job.key).await;
                }
                return Err(err);
            }
        };
        // Rendered, and the original dropped: the next render may start while this output is
        // written to the cache, which is IO, not CPU.
        drop((permit, place));
        if let Err(err) = job.blobs.put(&job.key, bytes.clone()).await {
            // The bytes are good: serve them, and let the next request try to cache them.
            eprintln!("atelier-server: caching {}: {err}", job.key);
        }
        Ok(bytes)
    }
}

/// Takes a finished (or panicked) flight off the map, so later requests read the cache.
struct Landing {
    state: Arc<TransformState>,
    key: BlobKey,
}

impl Drop for Landing {
    fn drop(&mut self) {
        self.state.flights.lock().unwrap_or_else(PoisonError::into_inner).remove(&self.key);
    }
}

/// Runs the pipeline on a blocking thread (it is CPU work) and returns its one output.
async fn render(pipeline: Pipeline, source: Bytes, limits: Limits) -> Outcome {
    let joined = tokio::task::spawn_blocking(move || {
        catch_unwind(AssertUnwindSafe(|| {
            pipeline.run(&source, RunEnv { limits: &limits, assets: &NoAssets, models: &NoModels })
        }))
    })
    .await;
    let internal = |message: &str| ApiError::new(ApiCode::Internal, message.to_string());
    match joined {
        Ok(Ok(Ok(run))) => run
            .outputs
            .into_iter()
            .next()
            .map(|output| Bytes::from(output.bytes))
            .ok_or_else(|| internal("a transform produced no image")),
        Ok(Ok(Err(err))) => Err(err.into()),
        Ok(Err(_panic)) => Err(internal("a transform panicked")),
        Err(err) => Err(internal(&format!("a transform was interrupted: {err}"))),
    }
}
