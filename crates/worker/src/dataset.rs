//! Dataset jobs: a [`Plan`] run over a stored dataset's items in batches. Each batch's
//! sources are fetched together, run on a blocking thread (prepare, augment and encode on
//! every core, then inference batched across the items), written under `jobs/{id}/`, and
//! recorded one row per item before progress is reported: a job re-claimed after a crash
//! or a kill skips every recorded item, and rewrites (never duplicates) the batch it was
//! in the middle of. When every item is recorded, `metadata.json` is written from the
//! records, in dataset order.

use std::collections::HashMap;
use std::sync::Arc;

use atelier_dataset::{ItemInput, ItemMetadata, ItemRecord, ItemStatus, JobSpec, MetadataDocument, Plan};
use atelier_imaging::{Pipeline, RunEnv};
use atelier_storage::{now_ms, BlobKey, DatasetItem, DatasetResult, Datasets, ErrorKind, Job, JobState, Progress};
use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use crate::assets::{self, JobAssets};
use crate::step::{Error, Outcome, Worker};

/// Sources fetched, and outputs written, at once.
const IO_CONCURRENCY: usize = 8;
/// Items read from the database per query.
const PAGE: u32 = 1000;

/// A dataset job's stored input: which dataset, and the job's spec.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetPayload {
    pub version: u32,
    /// Always `dataset`: how a dataset job's payload is told from a pipeline job's.
    pub kind: DatasetKind,
    pub dataset: String,
    pub spec: JobSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatasetKind {
    Dataset,
}

impl DatasetPayload {
    pub const VERSION: u32 = 1;

    pub fn new(dataset: &str, spec: JobSpec) -> DatasetPayload {
        let (version, kind, dataset) = (DatasetPayload::VERSION, DatasetKind::Dataset, dataset.to_string());
        DatasetPayload { version, kind, dataset, spec, webhook: None }
    }
}

/// The dataset's items the job runs on: those its filter selects, in order.
pub async fn selected_items(datasets: &Datasets, dataset: &str, plan: &Plan) -> Result<Vec<DatasetItem>, Error> {
    let mut selected = Vec::new();
    let mut after = None;
    loop {
        let page = datasets.items(dataset, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.idx);
        selected.extend(page.into_iter().filter(|item| plan.selects(&metadata(item))));
    }
    Ok(selected)
}

fn metadata(item: &DatasetItem) -> ItemMetadata {
    serde_json::from_str(&item.metadata).unwrap_or_default()
}

/// `metadata.json` of a dataset job, from the records stored so far.
pub async fn document(
    datasets: &Datasets,
    job_id: &str,
    payload: &DatasetPayload,
    dataset_items: u64,
) -> Result<MetadataDocument, Error> {
    let mut records = Vec::new();
    let mut after = None;
    loop {
        let page = datasets.results(job_id, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.idx);
        records.extend(page.iter().filter_map(|row| serde_json::from_str::<ItemRecord>(&row.record).ok()));
    }
    let mut document = MetadataDocument::new(payload.spec.clone(), dataset_items, records);
    document.job = Some(job_id.to_string());
    document.dataset = Some(payload.dataset.clone());
    Ok(document)
}

impl Worker {
    pub(crate) async fn run_dataset(&self, job: &Job, payload: DatasetPayload) -> Result<Outcome, Error> {
        let me = &self.config.worker_id;
        let plan = match Plan::new(payload.spec.clone()) {
            Ok(plan) => Arc::new(plan),
            Err(err) => return self.finish_failed(job, &format!("invalid dataset job: {err}")).await,
        };
        let Some(dataset) = self.datasets.get(atelier_storage::Scope::All, &payload.dataset).await? else {
            return self.finish_failed(job, "the dataset was deleted before the job ran").await;
        };
        let selected = selected_items(&self.datasets, &dataset.id, &plan).await?;
        let recorded: HashMap<i64, bool> = self.datasets.result_states(&job.id).await?.into_iter().collect();
        let pending: Vec<&DatasetItem> = selected.iter().filter(|item| !recorded.contains_key(&item.idx)).collect();
        let total = selected.len() as i64;
        let mut done = selected.iter().filter(|item| recorded.contains_key(&item.idx)).count() as i64;
        let mut succeeded = selected.iter().filter(|item| recorded.get(&item.idx) == Some(&true)).count() as i64;
        let assets = if pending.is_empty() {
            Arc::default()
        } else {
            let steps = Pipeline::from_ops(plan.steps().cloned().collect());
            match steps {
                Ok(steps) => {
                    let owner = job.owner_id.as_deref();
                    let (images, categories, limits) = (&self.images, &self.categories, &self.config.limits);
                    Arc::new(assets::fetch(images, categories, &*self.blobs, owner, &steps, limits).await?)
                }
                Err(_) => Arc::default(),
            }
        };
        for batch in pending.chunks(plan.batch_size) {
            let records = self.run_dataset_batch(&job.id, &plan, batch, &assets).await?;
            let rows: Vec<DatasetResult> = records
                .iter()
                .map(|record| DatasetResult {
                    idx: record.index as i64,
                    succeeded: record.status == ItemStatus::Succeeded,
                    record: serde_json::to_string(record).unwrap_or_default(),
                })
                .collect();
            self.datasets.save_results(&job.id, &rows).await?;
            done += rows.len() as i64;
            succeeded += rows.iter().filter(|row| row.succeeded).count() as i64;
            let text = serde_json::json!({"dataset": dataset.id, "selected": total, "succeeded": succeeded,
                                          "failed": done - succeeded})
            .to_string();
            let progress = Progress { done, total, succeeded, results: &text };
            if !self.queue.progress(&job.id, me, progress, self.config.lease, now_ms()).await? {
                return self.stop(&job.id).await;
            }
        }
        let document = document(&self.datasets, &job.id, &payload, dataset.item_count as u64).await?;
        self.blobs.put(&BlobKey::job_file(&job.id, "metadata.json")?, document.to_json().into()).await?;
        if total > 0 && succeeded == 0 {
            return self.finish_failed(job, "every item failed; see the per-item errors in metadata.json").await;
        }
        if !self.queue.complete(&job.id, me, now_ms()).await? {
            return self.stop(&job.id).await;
        }
        Ok(Outcome::Ran { job_id: job.id.clone(), state: JobState::Succeeded })
    }

    /// Fetches, runs and writes one batch; returns its records. Storage faults are the
    /// attempt's; everything else is an item's.
    async fn run_dataset_batch(
        &self,
        job_id: &str,
        plan: &Arc<Plan>,
        batch: &[&DatasetItem],
        assets: &Arc<JobAssets>,
    ) -> Result<Vec<ItemRecord>, Error> {
        let keys = batch
            .iter()
            .map(|item| {
                let hash = atelier_storage::Sha256Hex::parse(&item.sha256).ok_or_else(|| {
                    atelier_storage::Error::Corrupt(format!("dataset item {} has no valid hash", item.idx))
                })?;
                Ok(BlobKey::original(&hash))
            })
            .collect::<Result<Vec<_>, atelier_storage::Error>>()?;
        // Owned futures (no borrow of `self`): the stream stays `Send` for any caller.
        let blobs = self.blobs.clone();
        let fetched: Vec<Option<bytes::Bytes>> = futures::stream::iter(keys.into_iter().map(move |key| {
            let blobs = blobs.clone();
            async move {
                match blobs.get(&key).await {
                    Ok(bytes) => Ok(Some(bytes)),
                    Err(err) if err.kind() == ErrorKind::NotFound => Ok(None),
                    Err(err) => Err(err),
                }
            }
        }))
        .buffered(IO_CONCURRENCY)
        .try_collect()
        .await?;
        let mut missing = Vec::new();
        let mut inputs = Vec::with_capacity(batch.len());
        for (item, bytes) in batch.iter().zip(fetched) {
            let input = ItemInput {
                index: item.idx as u64,
                name: item.name.clone(),
                stem: item.stem.clone(),
                metadata: metadata(item),
                bytes: bytes.clone().unwrap_or_default(),
            };
            match bytes {
                Some(_) => inputs.push(input),
                None => missing.push(input),
            }
        }
        let (plan, limits, models, assets) =
            (plan.clone(), self.config.limits.clone(), self.models.clone(), assets.clone());
        let run = move || plan.run_batch(&inputs, RunEnv { limits: &limits, assets: &*assets, models: &*models });
        let done = match tokio::task::spawn_blocking(run).await {
            Ok(done) => done,
            Err(_) => return Err(atelier_storage::Error::Corrupt("a dataset batch was interrupted".into()).into()),
        };
        let mut records: Vec<ItemRecord> = Vec::with_capacity(batch.len());
        let mut files: Vec<(BlobKey, Vec<u8>)> = Vec::new();
        for item in done {
            for file in item.files {
                files.push((BlobKey::job_file(job_id, &file.path)?, file.bytes));
            }
            records.push(item.record);
        }
        let blobs = self.blobs.clone();
        futures::stream::iter(files.into_iter().map(move |(key, bytes)| {
            let blobs = blobs.clone();
            async move { blobs.put(&key, bytes.into()).await }
        }))
        .buffer_unordered(IO_CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
        records.extend(missing.into_iter().map(|input| ItemRecord {
            index: input.index,
            name: input.name,
            metadata: input.metadata,
            status: ItemStatus::Failed,
            image: None,
            variants: Vec::new(),
            error: Some(atelier_dataset::ItemError {
                code: "source_missing".into(),
                message: "the item's image is no longer stored".into(),
            }),
        }));
        Ok(records)
    }
}
