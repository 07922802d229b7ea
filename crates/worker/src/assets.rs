//! The images a job's steps name as assets (a watermark's overlay, a style image), and the
//! owner's own categories when a `classify` step matches against them: fetched once per job
//! attempt before any item runs, from what the job's owner holds only, so a step cannot
//! borrow another user's picture by guessing its id. A reference that names no such image
//! fails the items that use it (`asset_unavailable`), not the job.

use std::collections::HashMap;
use std::sync::Arc;

use atelier_imaging::ops::classify::OwnCategory;
use atelier_imaging::{Assets, Limits, Op, Pipeline};
use atelier_storage::{BlobStore, Categories, ErrorKind, Images, Scope};
use image::DynamicImage;

use crate::step::Error;

/// What [`fetch`] found for each reference.
#[derive(Default)]
pub(crate) struct JobAssets {
    images: HashMap<String, Result<Arc<DynamicImage>, String>>,
    categories: Option<Arc<[OwnCategory]>>,
}

impl Assets for JobAssets {
    fn image(&self, reference: &str) -> Result<Arc<DynamicImage>, String> {
        match self.images.get(reference) {
            Some(found) => found.clone(),
            None => Err(format!("`{reference}` was not fetched for this job")),
        }
    }

    fn categories(&self) -> Result<Arc<[OwnCategory]>, String> {
        self.categories.clone().ok_or_else(|| "own categories were not fetched for this job".to_string())
    }
}

/// Fetches every asset `pipeline` names. Storage faults are the attempt's (retried); an
/// image that is missing, not the owner's, or undecodable is the reference's.
pub(crate) async fn fetch(
    images: &Images,
    categories: &Categories,
    blobs: &dyn BlobStore,
    owner: Option<&str>,
    pipeline: &Pipeline,
    limits: &Limits,
) -> Result<JobAssets, Error> {
    let mut found = JobAssets::default();
    for reference in pipeline.steps.iter().filter_map(|op| op.asset()) {
        if found.images.contains_key(reference) {
            continue;
        }
        let scope = owner.map_or(Scope::All, Scope::User);
        let missing = || Err(format!("no image `{reference}` among the job owner's images"));
        let image = match images.get(scope, reference).await? {
            None => missing(),
            Some(record) => match blobs.get(&record.blob_key()?).await {
                Ok(bytes) => {
                    let limits = limits.clone();
                    tokio::task::spawn_blocking(move || atelier_imaging::decode(&bytes, &limits, None))
                        .await
                        .map_err(|err| format!("decoding was interrupted: {err}"))
                        .and_then(|decoded| decoded.map_err(|err| err.to_string()))
                        .map(|decoded| Arc::new(decoded.image))
                }
                Err(err) if err.kind() == ErrorKind::NotFound => missing(),
                Err(err) => return Err(err.into()),
            },
        };
        found.images.insert(reference.to_string(), image);
    }
    if pipeline.steps.iter().any(|op| matches!(op, Op::Classify(classify) if classify.own_categories)) {
        let own = match owner {
            Some(owner) => categories.list(owner).await?,
            None => Vec::new(),
        };
        let own: Vec<OwnCategory> = own.into_iter().map(|c| OwnCategory { name: c.name, centre: c.centre }).collect();
        found.categories = Some(own.into());
    }
    Ok(found)
}
