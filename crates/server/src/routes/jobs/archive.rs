//! A finished job's outputs as one zip: `metadata.json` first (the job, its pipeline and
//! every item's outcome), then each output under the name it has in the job's folder.
//!
//! The archive is streamed: one output is fetched from the blob store and written at a time,
//! when the client has taken the previous one, so memory stays at one output however big the
//! job. A store failure mid-way aborts the response rather than ending it as a shorter, valid
//! looking zip.

use std::io::Write;
use std::sync::{Arc, Mutex, PoisonError};

use atelier_storage::{BlobKey, Job};
use atelier_worker::payload::{ItemResult, JobResults};
use atelier_worker::{DatasetPayload, JobPayload, Payload};
use axum::body::Body;
use axum::extract::State;
use axum::http::header;
use axum::response::Response;
use bytes::Bytes;
use serde::Serialize;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use super::load;
use crate::app::AppState;
use crate::auth::Caller;
use crate::error::{ApiCode, ApiError, ErrorBody};
use crate::routes::AppPath;

/// The archive's index of the job, written as `metadata.json`.
#[derive(Debug, Serialize)]
struct Metadata {
    job: JobMetadata,
    items: Vec<ItemMetadata>,
}

#[derive(Debug, Serialize)]
struct JobMetadata {
    id: String,
    state: &'static str,
    /// `name@version` when the job ran a saved pipeline.
    pipeline: Option<String>,
    /// The pipeline document that ran.
    steps: serde_json::Value,
    attempts: i64,
    created_at: i64,
    started_at: Option<i64>,
    finished_at: Option<i64>,
    error: Option<String>,
}

#[derive(Debug, Serialize)]
struct ItemMetadata {
    index: usize,
    /// The input image's id.
    image: Option<String>,
    /// succeeded, failed, or not_run (canceled or dead before the item's turn).
    status: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    outputs: Vec<OutputMetadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorBody>,
}

#[derive(Debug, Serialize)]
struct OutputMetadata {
    /// The output's path inside the archive (and under `/v1/jobs/{id}/outputs/`).
    file: String,
    format: atelier_imaging::Format,
    width: u32,
    height: u32,
    bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    variant: Option<atelier_imaging::ops::augment::Variant>,
    /// Faces, digits, labels and the rest that vision steps found, in this output's pixels.
    #[serde(skip_serializing_if = "atelier_imaging::Annotations::is_empty")]
    annotations: atelier_imaging::Annotations,
}

/// Every output of a finished job and its `metadata.json`, as one zip.
#[utoipa::path(
    get,
    path = "/v1/jobs/{id}/archive",
    tag = "jobs",
    params(("id" = String, Path, description = "The job's id")),
    responses(
        (status = 200, description = "The zip, streamed", content_type = "application/zip", body = String),
        (status = 404, description = "No such job", body = ErrorBody),
        (status = 409, description = "The job has not finished", body = ErrorBody),
    )
)]
pub(crate) async fn download(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<String>,
) -> Result<Response, ApiError> {
    let job = load(&state, caller.scope(), &id).await?;
    if !job.state.is_final() {
        let message = format!("job `{id}` is {}; its archive can be downloaded when it ends", job.state.as_str());
        return Err(ApiError::new(ApiCode::JobConflict, message));
    }
    let (index, files) = match Payload::parse(&job.payload).map_err(internal)? {
        Payload::Dataset(payload) => describe_dataset(&state, &job, payload).await?,
        Payload::Pipeline(payload) => {
            let (metadata, files) = describe(&job, payload)?;
            (serde_json::to_vec_pretty(&metadata).map_err(internal)?, files)
        }
    };
    let writer = Archive::start(&index).map_err(internal)?;
    let blobs = state.blobs.clone();
    let job_id = id.clone();
    let chunks = futures::stream::unfold((Some(writer), files.into_iter()), move |(mut writer, mut files)| {
        let (blobs, job_id) = (blobs.clone(), job_id.clone());
        async move {
            let archive = writer.as_mut()?;
            let chunk = match files.next() {
                Some((name, key)) => match blobs.get(&key).await {
                    Ok(bytes) => archive.add(&name, &bytes),
                    Err(err) => Err(std::io::Error::other(format!("output `{name}`: {err}"))),
                },
                None => writer.take()?.finish(),
            };
            if let Err(err) = &chunk {
                tracing::error!(job = %job_id, "job archive aborted: {err}");
                writer = None;
            }
            Some((chunk, (writer, files)))
        }
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "application/zip")
        .header(header::CONTENT_DISPOSITION, format!("attachment; filename=\"job-{id}.zip\""))
        .body(Body::from_stream(chunks))
        .map_err(internal)
}

/// The job's index and the outputs to pack, as (name in the archive, blob key).
fn describe(job: &Job, payload: JobPayload) -> Result<(Metadata, Vec<(String, BlobKey)>), ApiError> {
    let results = match job.results.as_deref() {
        Some(text) => serde_json::from_str::<JobResults>(text).map_err(internal)?,
        None => JobResults::default(),
    };
    let prefix = format!("jobs/{}/", job.id);
    let mut files = Vec::new();
    let mut items = Vec::with_capacity(payload.items.len());
    for (index, item) in payload.items.iter().enumerate() {
        let mut entry =
            ItemMetadata { index, image: item.name.clone(), status: "not_run", outputs: Vec::new(), error: None };
        match results.items.get(index).cloned().flatten() {
            Some(ItemResult::Succeeded { outputs }) => {
                entry.status = "succeeded";
                for output in outputs {
                    let name = output.key.strip_prefix(&prefix).map(str::to_owned);
                    let name = name.ok_or_else(|| internal(format!("output `{}` is outside the job", output.key)))?;
                    files.push((name.clone(), BlobKey::job_file(&job.id, &name).map_err(internal)?));
                    entry.outputs.push(OutputMetadata {
                        file: name,
                        format: output.format,
                        width: output.width,
                        height: output.height,
                        bytes: output.bytes,
                        variant: output.variant,
                        annotations: output.annotations,
                    });
                }
            }
            Some(ItemResult::Failed { code, message }) => {
                entry.status = "failed";
                entry.error = Some(ErrorBody::new(code, message));
            }
            None => {}
        }
        items.push(entry);
    }
    let job = JobMetadata {
        id: job.id.clone(),
        state: job.state.as_str(),
        pipeline: payload.pipeline_ref,
        steps: payload.pipeline,
        attempts: job.attempts,
        created_at: job.created_at,
        started_at: job.started_at,
        finished_at: job.finished_at,
        error: job.error.clone(),
    };
    Ok((Metadata { job, items }, files))
}

/// A dataset job's `metadata.json` (made from its records, so a canceled job's archive
/// lists what was done) and every file its records name.
async fn describe_dataset(
    state: &AppState,
    job: &Job,
    payload: DatasetPayload,
) -> Result<(Vec<u8>, Vec<(String, BlobKey)>), ApiError> {
    let items = match state.datasets.get(atelier_storage::Scope::All, &payload.dataset).await? {
        Some(dataset) => dataset.item_count as u64,
        None => 0,
    };
    let document = atelier_worker::dataset::document(&state.datasets, &job.id, &payload, items)
        .await
        .map_err(|atelier_worker::step::Error::Storage(err)| ApiError::from(err))?;
    let mut files = Vec::new();
    for record in &document.items {
        let names = record.image.iter().map(|image| &image.file).chain(record.variants.iter().map(|v| &v.output.file));
        for name in names {
            files.push((name.clone(), BlobKey::job_file(&job.id, name).map_err(internal)?));
        }
    }
    Ok((document.to_json(), files))
}

/// A zip being written to a buffer that each call drains: the bytes it returns are the next
/// part of the response.
struct Archive {
    zip: ZipWriter<zip::write::StreamWriter<Sink>>,
    out: Arc<Mutex<Vec<u8>>>,
}

impl Archive {
    fn start(index: &[u8]) -> std::io::Result<Archive> {
        let out = Arc::new(Mutex::new(Vec::new()));
        let mut archive = Archive { zip: ZipWriter::new_stream(Sink(out.clone())), out };
        let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        archive.zip.start_file("metadata.json", options)?;
        archive.zip.write_all(index)?;
        Ok(archive)
    }

    /// Appends one output. Images are compressed already: they are stored as they are.
    fn add(&mut self, name: &str, bytes: &[u8]) -> std::io::Result<Bytes> {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .large_file(bytes.len() > u32::MAX as usize);
        self.zip.start_file(name, options)?;
        self.zip.write_all(bytes)?;
        Ok(self.drain())
    }

    fn finish(self) -> std::io::Result<Bytes> {
        let out = self.out.clone();
        self.zip.finish()?;
        let bytes = std::mem::take(&mut *out.lock().unwrap_or_else(PoisonError::into_inner));
        Ok(Bytes::from(bytes))
    }

    fn drain(&self) -> Bytes {
        Bytes::from(std::mem::take(&mut *self.out.lock().unwrap_or_else(PoisonError::into_inner)))
    }
}

/// The zip writer's output: shared so that the stream can take what was written so far.
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn internal(err: impl std::fmt::Display) -> ApiError {
    ApiError::new(ApiCode::Internal, format!("job archive: {err}"))
}
