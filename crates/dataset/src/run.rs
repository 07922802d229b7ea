//! Running a [`Plan`] over one batch of items: each item is decoded, prepared, augmented and
//! encoded on its own core (rayon), then the batch's images go through the inference steps
//! together, so a model that takes batches runs once per step for the whole batch. What
//! comes back per item is its `metadata.json` record and the files to write; a failed item
//! has a record with its error and no files. No IO: the caller reads the inputs and writes
//! the outputs (the worker to the blob store, the CLI to a folder).

use std::panic::{catch_unwind, AssertUnwindSafe};

use atelier_imaging::encode::default_output_format;
use atelier_imaging::{Annotations, EncodeOptions, Format, RunEnv};
use image::DynamicImage;
use rayon::prelude::*;

use crate::item::{FileRecord, ItemError, ItemMetadata, ItemRecord, ItemStatus, VariantRecord};
use crate::job::Plan;

/// One item to run: where it is in the dataset, what it is called, and its bytes.
#[derive(Debug, Clone)]
pub struct ItemInput<B> {
    pub index: u64,
    pub name: String,
    /// Its output name without extension ([`crate::unique_stems`]).
    pub stem: String,
    pub metadata: ItemMetadata,
    pub bytes: B,
}

/// A file to write, relative to the job's folder (`images/…`, `augmentation/…`).
#[derive(Debug, Clone, PartialEq)]
pub struct OutFile {
    pub path: String,
    pub bytes: Vec<u8>,
}

/// What one item came to.
#[derive(Debug, Clone)]
pub struct ItemDone {
    pub record: ItemRecord,
    pub files: Vec<OutFile>,
}

/// An item after the per-item stage: its files, and the images inference will look at.
struct Made {
    image: FileRecord,
    variants: Vec<VariantRecord>,
    files: Vec<OutFile>,
    /// The prepared original, when inference looks at originals.
    original: Option<DynamicImage>,
    /// The variants' pixels, when inference looks at variants.
    variant_images: Vec<DynamicImage>,
}

impl Plan {
    /// Runs the job on `items` and returns one result per item, in order. Items fail alone:
    /// a bad image, a panic in an op or a model that fails on one image fails that item.
    pub fn run_batch<B: AsRef<[u8]> + Sync>(&self, items: &[ItemInput<B>], env: RunEnv<'_>) -> Vec<ItemDone> {
        let mut made: Vec<Result<Made, ItemError>> = items
            .par_iter()
            .map(|item| {
                catch_unwind(AssertUnwindSafe(|| self.make(item, env))).unwrap_or_else(|_| {
                    Err(ItemError { code: "internal_error".into(), message: "processing this image failed".into() })
                })
            })
            .collect();
        self.infer(&mut made, env);
        items
            .iter()
            .zip(made)
            .map(|(item, made)| {
                let record = |status, image, variants, error| ItemRecord {
                    index: item.index,
                    name: item.name.clone(),
                    metadata: item.metadata.clone(),
                    status,
                    image,
                    variants,
                    error,
                };
                match made {
                    Ok(made) => ItemDone {
                        record: record(ItemStatus::Succeeded, Some(made.image), made.variants, None),
                        files: made.files,
                    },
                    Err(error) => ItemDone {
                        record: record(ItemStatus::Failed, None, Vec::new(), Some(error)),
                        files: Vec::new(),
                    },
                }
            })
            .collect()
    }

    /// Decodes, prepares, augments and encodes one item.
    fn make<B: AsRef<[u8]>>(&self, item: &ItemInput<B>, env: RunEnv<'_>) -> Result<Made, ItemError> {
        let input = item.bytes.as_ref();
        // Preparation steps that scale down let a JPEG decode at a fraction of its size.
        let hint = |w: u32, h: u32| self.pipeline.as_ref().and_then(|p| p.decode_hint(w, h));
        let decoded = atelier_imaging::decode_with(input, env.limits, hint).map_err(item_error)?;
        let source_format = decoded.format;
        let icc = decoded.icc_profile.clone();
        let defaults = EncodeOptions::default();
        let options =
            self.output.as_ref().or(self.pipeline.as_ref().and_then(|p| p.encode_options())).unwrap_or(&defaults);
        let format = match options.format {
            Some(format) => format,
            None => {
                self.pipeline.as_ref().map_or(default_output_format(source_format), |p| p.output_format(source_format))
            }
        };
        let encode = |image: &DynamicImage| {
            let icc = if options.keep_icc { icc.as_deref() } else { None };
            atelier_imaging::encode(image, format, options, icc).map_err(item_error)
        };

        let mut files = Vec::new();
        let (image, image_record) = match &self.pipeline {
            None => {
                // Kept byte for byte: the data set's originals are not re-encoded.
                let (w, h) = (decoded.source_width, decoded.source_height);
                let path = format!("images/{}.{}", item.stem, source_format.extension());
                let record = file_record(&path, source_format, (w, h), input.len(), Annotations::default());
                files.push(OutFile { path, bytes: input.to_vec() });
                (decoded.image, record)
            }
            Some(pipeline) => {
                let mut applied = pipeline.apply_decoded(decoded, env).map_err(item_error)?;
                let prepared = applied.pop().ok_or_else(|| ItemError {
                    code: "internal_error".into(),
                    message: "the preparation steps made no image".into(),
                })?;
                let bytes = encode(&prepared.image)?;
                let path = format!("images/{}.{}", item.stem, format.extension());
                let size = (prepared.image.width(), prepared.image.height());
                let record = file_record(&path, format, size, bytes.len(), prepared.annotations);
                files.push(OutFile { path, bytes });
                (prepared.image, record)
            }
        };

        let mut variants = Vec::new();
        let mut variant_images = Vec::new();
        if let Some(augment) = &self.augment {
            for applied in augment.apply_image(image.clone(), env).map_err(item_error)? {
                let Some(params) = applied.variant else { continue };
                let bytes = encode(&applied.image)?;
                let path = format!("augmentation/{}-v{}.{}", item.stem, params.index, format.extension());
                let size = (applied.image.width(), applied.image.height());
                let output = file_record(&path, format, size, bytes.len(), applied.annotations);
                files.push(OutFile { path, bytes });
                variants.push(VariantRecord { output, params });
                if self.inference.is_some() && self.infer_on.variants() {
                    variant_images.push(applied.image);
                }
            }
        }
        let original = (self.inference.is_some() && self.infer_on.originals()).then_some(image);
        Ok(Made { image: image_record, variants, files, original, variant_images })
    }

    /// Runs the inference steps over every image the batch looks at, in one call per step.
    fn infer(&self, made: &mut [Result<Made, ItemError>], env: RunEnv<'_>) {
        let Some(inference) = &self.inference else { return };
        // (item, None = the original | Some(variant position))
        let mut targets: Vec<(usize, Option<usize>)> = Vec::new();
        for (i, item) in made.iter().enumerate() {
            if let Ok(item) = item {
                if item.original.is_some() {
                    targets.push((i, None));
                }
                targets.extend((0..item.variant_images.len()).map(|v| (i, Some(v))));
            }
        }
        let results = {
            let mut images: Vec<&DynamicImage> = Vec::with_capacity(targets.len());
            let mut annotations: Vec<Annotations> = Vec::with_capacity(targets.len());
            for &(i, which) in &targets {
                let Ok(item) = &made[i] else { continue };
                match which {
                    None => {
                        images.extend(item.original.as_ref());
                        annotations.push(item.image.annotations.clone());
                    }
                    Some(v) => {
                        images.push(&item.variant_images[v]);
                        annotations.push(item.variants[v].output.annotations.clone());
                    }
                }
            }
            let outcomes = inference.annotate_batch(&images, &mut annotations, env);
            annotations.into_iter().zip(outcomes).collect::<Vec<_>>()
        };
        for (&(i, which), (annotations, outcome)) in targets.iter().zip(results) {
            let Ok(item) = &mut made[i] else { continue };
            if let Err(err) = outcome {
                made[i] = Err(item_error(err));
                continue;
            }
            match which {
                None => item.image.annotations = annotations,
                Some(v) => item.variants[v].output.annotations = annotations,
            }
        }
        for item in made.iter_mut().flatten() {
            // Inference is done: the pixels are not needed any more.
            item.original = None;
            item.variant_images.clear();
        }
    }
}

fn file_record(
    path: &str,
    format: Format,
    (width, height): (u32, u32),
    bytes: usize,
    annotations: Annotations,
) -> FileRecord {
    FileRecord { file: path.to_string(), format, width, height, bytes: bytes as u64, annotations }
}

fn item_error(err: atelier_imaging::Error) -> ItemError {
    ItemError { code: err.code().as_str().to_string(), message: err.to_string() }
}

#[cfg(test)]
mod tests;
