//! What workers measure, as Prometheus histograms: how long a job attempt waited in the
//! queue, how long it ran and how it ended, and how long each op took per image. One
//! [`WorkerMetrics`] is shared by every worker of a process and registered into whichever
//! registry that process scrapes (the API's `/metrics`, or `atelier worker`'s own).
//!
//! Queue wait is the time from the moment an attempt became claimable to its claim: the
//! enqueue for a first attempt, the end of the backoff for a retry, the expiry of a dead
//! worker's lease for a reclaim (see `Job::run_after`). Backoff is a deliberate delay, not
//! waiting, and a reclaim must not count the dead worker's run as time in the queue.

use std::time::Duration;

use atelier_imaging::StepTiming;
use atelier_storage::JobState;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Seconds: a claim on an idle queue takes milliseconds; a backlog can hold jobs for hours.
const WAIT_BUCKETS: [f64; 16] =
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0];
/// Seconds: one small image takes milliseconds; a thousand-image job can take many minutes.
const RUN_BUCKETS: [f64; 15] =
    [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0];
/// Seconds: a flip is microseconds, a large blur seconds; the per-op budget is 30 s.
const OP_BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 30.0];

/// How an attempt ended, as the `outcome` label of `atelier_job_run_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunOutcome {
    /// The job reached `state` (`queued` again is reported as `retried`).
    Ended(JobState),
    /// Another worker holds the job now: this one stepped back without reporting.
    Lost,
    /// The queue could not be reached to record the outcome.
    Error,
}

impl RunOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Ended(JobState::Queued) => "retried",
            RunOutcome::Ended(state) => state.as_str(),
            RunOutcome::Lost => "lost",
            RunOutcome::Error => "error",
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OpLabels {
    op: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// The workers' histograms. Cheap to share (`Arc`); every method takes `&self`.
#[derive(Debug)]
pub struct WorkerMetrics {
    queue_wait: Histogram,
    run: Histograms<OutcomeLabels>,
    ops: Histograms<OpLabels>,
}

impl Default for WorkerMetrics {
    fn default() -> Self {
        WorkerMetrics::new()
    }
}

impl WorkerMetrics {
    pub fn new() -> WorkerMetrics {
        WorkerMetrics {
            queue_wait: Histogram::new(WAIT_BUCKETS),
            run: Family::new_with_constructor(|| Histogram::new(RUN_BUCKETS)),
            ops: Family::new_with_constructor(|| Histogram::new(OP_BUCKETS)),
        }
    }

    /// Adds these metrics to `registry`. They stay shared: what workers observe later shows
    /// in every registry they were added to, so a scrape may build a fresh one each time.
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "atelier_job_queue_wait_seconds",
            "Time a job attempt waited to be claimed, from when it became claimable (enqueue, end of backoff, \
             or a dead worker's lease expiry)",
            self.queue_wait.clone(),
        );
        registry.register(
            "atelier_job_run_seconds",
            "Time one job attempt ran, from claim to its recorded outcome, by outcome",
            self.run.clone(),
        );
        registry.register(
            "atelier_op_duration_seconds",
            "Time one pipeline step took on one image (all its augment variants together), by op",
            self.ops.clone(),
        );
    }

    pub(crate) fn observe_wait(&self, claimable_at: i64, claimed_at: i64) {
        let millis = claimed_at.saturating_sub(claimable_at).max(0);
        self.queue_wait.observe(millis as f64 / 1000.0);
    }

    pub(crate) fn observe_run(&self, outcome: RunOutcome, elapsed: Duration) {
        self.run.get_or_create(&OutcomeLabels { outcome: outcome.as_str() }).observe(elapsed.as_secs_f64());
    }

    pub(crate) fn observe_steps(&self, steps: &[StepTiming]) {
        for step in steps {
            self.ops.get_or_create(&OpLabels { op: step.op.as_str() }).observe(step.elapsed.as_secs_f64());
        }
    }
}

#[cfg(test)]
mod tests {
    use prometheus_client::encoding::text::encode;

    use super::*;

    #[test]
    fn observations_appear_under_their_names_and_labels_in_every_registry_they_were_added_to() {
        let metrics = WorkerMetrics::new();
        let mut early = Registry::default();
        metrics.register(&mut early);
        metrics.observe_wait(1_000, 1_250);
        metrics.observe_wait(5_000, 4_000); // a clock step back reads as no wait, not a negative one
        metrics.observe_run(RunOutcome::Ended(JobState::Queued), Duration::from_millis(30));
        metrics.observe_run(RunOutcome::Lost, Duration::from_millis(30));
        let flip = StepTiming { op: atelier_imaging::OpName::Flip, elapsed: Duration::from_micros(300) };
        metrics.observe_steps(&[flip]);
        let mut late = Registry::default();
        metrics.register(&mut late);
        for registry in [early, late] {
            let mut text = String::new();
            encode(&mut text, &registry).unwrap();
            for line in [
                "atelier_job_queue_wait_seconds_count 2",
                "atelier_job_queue_wait_seconds_sum 0.25",
                "atelier_job_queue_wait_seconds_bucket{le=\"0.005\"} 1",
                "atelier_job_run_seconds_count{outcome=\"retried\"} 1",
                "atelier_job_run_seconds_count{outcome=\"lost\"} 1",
                "atelier_op_duration_seconds_bucket{le=\"0.0005\",op=\"flip\"} 1",
            ] {
                assert!(text.lines().any(|l| l == line), "no `{line}` in\n{text}");
            }
        }
    }
}
