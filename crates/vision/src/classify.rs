//! ImageNet classification and image fingerprints with `efficientnet_lite0.onnx`, exactly as
//! `models/SOURCES.md` gives its contract: shorter side to 256 (bilinear), centre crop
//! 224 x 224, RGB NCHW `(pixel - 127) / 128`; softmax over the 1000 `logits`, and the 1280
//! `features` L2-normalised into a fingerprint. It also owns the label files (ImageNet's
//! class names and the product catalogue's categories, embedded at build time) and the
//! arithmetic on the results: top classes, category scores, and cosine similarity,
//! centroids and nearest-centre search for user-defined categories built from examples.
//!
//! Everything but [`Vision::classify`] is pure and tested without the model.

use std::sync::OnceLock;

use image::RgbImage;

use crate::error::{Error, Result};
use crate::models::Model;
use crate::resize::resize;
use crate::session::Input;
use crate::Vision;

/// The model's input side, in pixels.
pub const SIDE: u32 = 224;
/// The shorter side is scaled to this before the centre crop.
pub const RESIZE: u32 = 256;
/// ImageNet-1k.
pub const CLASSES: usize = 1000;
/// Length of the `features` output, and so of a fingerprint.
pub const FEATURES: usize = 1280;
/// Images per model run: 16 inputs are about 10 MB, so a big request stays bounded while
/// the run is still amortised.
const BATCH: usize = 16;

const INPUT: &str = "image";
const LOGITS: &str = "logits";
const FEATURES_OUTPUT: &str = "features";

const LABELS_TXT: &str = include_str!("../../../models/imagenet_labels.txt");
const CATEGORIES_TSV: &str = include_str!("../../../models/imagenet_product_categories.tsv");

/// What the model says about one image.
#[derive(Debug, Clone, PartialEq)]
pub struct Classification {
    /// Softmax over the 1000 ImageNet classes, in `imagenet_labels()` order.
    pub probabilities: Vec<f32>,
    /// The 1280-value `features` output, L2-normalised (a zero vector stays zero): the image's fingerprint.
    pub fingerprint: Vec<f32>,
}

/// A catalogue category and the ImageNet classes that stand for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductCategory {
    pub name: &'static str,
    /// Indices into [`imagenet_labels`].
    pub classes: Vec<usize>,
}

/// The 1000 ImageNet class names, in the model's output order (torchvision's short names;
/// two pairs differ only by case or plural, see `models/SOURCES.md`).
pub fn imagenet_labels() -> &'static [&'static str] {
    static LABELS: OnceLock<Vec<&'static str>> = OnceLock::new();
    LABELS.get_or_init(|| LABELS_TXT.lines().collect())
}

/// The product catalogue's categories, in the order `imagenet_product_categories.tsv` gives.
pub fn product_categories() -> &'static [ProductCategory] {
    static CATEGORIES: OnceLock<Vec<ProductCategory>> = OnceLock::new();
    // The file is compiled in and checked by a unit test, so a parse failure here is a
    // broken build, not bad input.
    CATEGORIES.get_or_init(|| parse_categories(CATEGORIES_TSV).unwrap_or_else(|err| panic!("{err}")))
}

/// Parses the category table: `#` comments, then `name<TAB>i,j,k<TAB>labels` rows (the
/// third column only documents the indices).
fn parse_categories(text: &'static str) -> Result<Vec<ProductCategory>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|(n, line)| {
            let mut columns = line.split('\t');
            let (Some(name), Some(indices)) = (columns.next(), columns.next()) else {
                return Err(format!("imagenet_product_categories.tsv line {}: expected tab-separated columns", n + 1));
            };
            let classes = indices
                .split(',')
                .map(|i| {
                    i.trim().parse::<usize>().map_err(|err| {
                        format!("imagenet_product_categories.tsv line {}: class index {i:?}: {err}", n + 1)
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(ProductCategory { name: name.trim(), classes })
        })
        .collect()
}

/// Turns a photo into the model's input, 3 x 224 x 224 values in NCHW order (R plane, G,
/// B), `(pixel - 127) / 128`. The centre square (side = the shorter side) is cut out first
/// and scaled to 256 x 256, which is the contract's "shorter side to 256, centre crop"
/// to within half a pixel, and keeps a photo of extreme aspect ratio from being scaled
/// whole. An empty image is an error; a tiny one is scaled up.
pub fn prepare(image: &RgbImage) -> Result<Vec<f32>> {
    let (w, h) = image.dimensions();
    if w == 0 || h == 0 {
        return Err(Error::Internal(format!("cannot classify an empty ({w}x{h}) image")));
    }
    let short = w.min(h);
    let square = image::imageops::crop_imm(image, (w - short) / 2, (h - short) / 2, short, short).to_image();
    let scaled = resize(&square, RESIZE, RESIZE)?;
    let offset = (RESIZE - SIDE) / 2;
    let crop = image::imageops::crop_imm(&scaled, offset, offset, SIDE, SIDE).to_image();
    let plane = (SIDE * SIDE) as usize;
    let mut out = vec![0.0; 3 * plane];
    for (i, pixel) in crop.pixels().enumerate() {
        for (c, &v) in pixel.0.iter().enumerate() {
            out[c * plane + i] = (f32::from(v) - 127.0) / 128.0;
        }
    }
    Ok(out)
}

/// Softmax, shifted by the maximum so large logits do not overflow.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|&l| (l - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

/// `v` scaled to unit length; a vector of length zero (or a non-finite one) becomes zeros,
/// so it is "similar" to nothing rather than NaN.
pub fn normalise(v: &[f32]) -> Vec<f32> {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 && norm.is_finite() {
        v.iter().map(|x| x / norm).collect()
    } else {
        vec![0.0; v.len()]
    }
}

/// Orders scores best first; NaN counts as the worst score so it never wins.
fn best_first(a: f32, b: f32) -> std::cmp::Ordering {
    let key = |x: f32| if x.is_nan() { f32::NEG_INFINITY } else { x };
    key(b).total_cmp(&key(a))
}

/// The k most probable classes, best first: (index, probability). Ties broken by index.
pub fn top_k(probabilities: &[f32], k: usize) -> Vec<(usize, f32)> {
    let mut ranked: Vec<(usize, f32)> = probabilities.iter().copied().enumerate().collect();
    ranked.sort_by(|a, b| best_first(a.1, b.1).then(a.0.cmp(&b.0)));
    ranked.truncate(k);
    ranked
}

/// Each product category's score (sum of its classes' probabilities), best first.
/// Categories that tie keep the table's order; classes beyond `probabilities` count as 0.
pub fn category_scores(probabilities: &[f32]) -> Vec<(&'static str, f32)> {
    let mut scores: Vec<(&'static str, f32)> = product_categories()
        .iter()
        .map(|c| (c.name, c.classes.iter().filter_map(|&i| probabilities.get(i)).sum()))
        .collect();
    scores.sort_by(|a, b| best_first(a.1, b.1));
    scores
}

/// Cosine similarity of two fingerprints (0 when either is zero or lengths differ).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    if a.len() != b.len() {
        return 0.0;
    }
    let (mut dot, mut aa, mut bb) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y) in a.iter().zip(b) {
        dot += x * y;
        aa += x * x;
        bb += y * y;
    }
    let denominator = (aa * bb).sqrt();
    if denominator > 0.0 && denominator.is_finite() {
        // Rounding can push a vector's similarity to itself a hair past 1.
        (dot / denominator).clamp(-1.0, 1.0)
    } else {
        0.0
    }
}

/// A user-defined category's centre: the mean of its examples' fingerprints, L2-normalised. None for no examples / mismatched lengths.
pub fn centroid(fingerprints: &[&[f32]]) -> Option<Vec<f32>> {
    let first = fingerprints.first()?;
    if fingerprints.iter().any(|f| f.len() != first.len()) {
        return None;
    }
    let mut sum = vec![0.0f32; first.len()];
    for fingerprint in fingerprints {
        for (s, v) in sum.iter_mut().zip(fingerprint.iter()) {
            *s += v;
        }
    }
    // The mean's direction is the sum's; normalising makes the division unnecessary.
    Some(normalise(&sum))
}

/// The nearest centre by cosine, if its similarity is at least `threshold`: (index into centres, similarity).
/// Equally near centres resolve to the first.
pub fn nearest(fingerprint: &[f32], centres: &[&[f32]], threshold: f32) -> Option<(usize, f32)> {
    let mut best: Option<(usize, f32)> = None;
    for (i, centre) in centres.iter().enumerate() {
        let similarity = cosine(fingerprint, centre);
        if best.is_none_or(|(_, b)| similarity > b) {
            best = Some((i, similarity));
        }
    }
    best.filter(|&(_, similarity)| similarity >= threshold)
}

impl Vision {
    /// Classifies each image and takes its fingerprint, all images in batched runs of up to
    /// 16. Results are in the order of `images`; an empty slice runs nothing.
    pub fn classify(&self, images: &[&RgbImage]) -> Result<Vec<Classification>> {
        let model = Model::EfficientNetLite0;
        let mut out = Vec::with_capacity(images.len());
        for batch in images.chunks(BATCH) {
            let mut data = Vec::with_capacity(batch.len() * 3 * (SIDE * SIDE) as usize);
            for image in batch {
                data.extend(prepare(image)?);
            }
            let side = SIDE as usize;
            let input = Input { name: INPUT, shape: vec![batch.len(), 3, side, side], data };
            let outputs = self.sessions.run(model, vec![input], &[LOGITS, FEATURES_OUTPUT])?;
            let [logits, features] = outputs.as_slice() else {
                return Err(Error::Output { model, detail: format!("{} outputs, expected 2", outputs.len()) });
            };
            let logits = logits.expect_len(model, LOGITS, batch.len() * CLASSES)?;
            let features = features.expect_len(model, FEATURES_OUTPUT, batch.len() * FEATURES)?;
            out.extend(
                logits
                    .chunks_exact(CLASSES)
                    .zip(features.chunks_exact(FEATURES))
                    .map(|(l, f)| Classification { probabilities: softmax(l), fingerprint: normalise(f) }),
            );
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
