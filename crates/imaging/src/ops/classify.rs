//! `classify`: what the image shows: the most probable ImageNet classes, product
//! categories for catalogue photos (each the sum of its classes), and, when asked, the
//! nearest of the owner's own categories (made from example photos: a category is the mean
//! fingerprint of its examples, matched by cosine similarity). The image is unchanged.

use image::DynamicImage;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::color::{flatten, on_white};
use super::{check_range, Ctx, FieldError, OpName, Params};
use crate::annotations::Annotations;
use crate::error::Result;
use crate::models::{Label, Models};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Classify {
    /// How many classes (and product categories) to report, 1..=20, best first.
    #[schemars(range(min = 1, max = 20))]
    pub top_k: u32,
    /// Also score the product categories (tops, dresses, shoes, bags, watches, ...).
    pub categories: bool,
    /// Also match the owner's own categories, made from example photos.
    pub own_categories: bool,
    /// The cosine similarity an own category needs to be reported, 0..=1. Two views of one
    /// object score about 0.9, different objects 0.1 to 0.3.
    #[schemars(range(min = 0.0, max = 1.0))]
    pub min_similarity: f32,
}

impl Default for Classify {
    fn default() -> Self {
        Classify { top_k: 5, categories: true, own_categories: false, min_similarity: 0.5 }
    }
}

impl Params for Classify {
    fn validate(&self) -> Result<(), FieldError> {
        check_range("top_k", self.top_k, 1, 20)?;
        check_range("min_similarity", self.min_similarity, 0.0, 1.0)
    }
}

/// One of an owner's own categories: a name and the L2-normalised mean fingerprint of its
/// example photos.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnCategory {
    pub name: String,
    pub centre: Vec<f32>,
}

impl Classify {
    pub(crate) fn apply(&self, image: &DynamicImage, annotations: &mut Annotations, ctx: &Ctx<'_>) -> Result<()> {
        self.apply_batch(&[image], std::slice::from_mut(annotations), ctx)
    }

    /// Classifies `images` with one model call (batched where the runner can), writing
    /// each one's findings into the annotations at the same position.
    pub(crate) fn apply_batch(
        &self,
        images: &[&DynamicImage],
        annotations: &mut [Annotations],
        ctx: &Ctx<'_>,
    ) -> Result<()> {
        let op = OpName::Classify;
        let own = if self.own_categories {
            let own = ctx.assets.categories().map_err(|message| ctx.not_applicable(op, message))?;
            if own.is_empty() {
                return Err(ctx.not_applicable(
                    op,
                    "own_categories is set but no categories are defined yet: create some from example photos first",
                ));
            }
            Some(own)
        } else {
            None
        };
        let rgbs = on_white(images);
        let refs: Vec<_> = rgbs.iter().collect();
        let found = ctx.models.classify_batch(&refs, self.top_k as usize).map_err(|err| ctx.model_error(op, err))?;
        ctx.deadline.check()?;
        let top = self.top_k as usize;
        for (classes, annotations) in found.into_iter().zip(annotations.iter_mut()) {
            annotations.labels = Some(classes.labels.into_iter().take(top).collect());
            if self.categories {
                annotations.categories = Some(classes.categories.into_iter().take(top).collect());
            }
            if let Some(own) = &own {
                annotations.category = nearest(&classes.fingerprint, own, self.min_similarity);
            }
        }
        Ok(())
    }
}

/// An image's fingerprint as `classify` computes it (transparency read as white): what
/// an own category's examples are turned into.
pub fn fingerprint(models: &dyn Models, image: &DynamicImage) -> Result<Vec<f32>> {
    let rgb = flatten(image, [255, 255, 255]).to_rgb8();
    Ok(models.classify(&rgb, 1).map_err(|err| err.into_error("classify"))?.fingerprint)
}

/// The own category nearest `fingerprint` by cosine similarity, if it reaches `min`.
pub fn nearest(fingerprint: &[f32], categories: &[OwnCategory], min: f32) -> Option<Label> {
    categories
        .iter()
        .filter(|c| c.centre.len() == fingerprint.len())
        .map(|c| (c, cosine(fingerprint, &c.centre)))
        .filter(|&(_, score)| score >= min)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(c, score)| Label { label: c.name.clone(), score })
}

/// Cosine similarity; 0 when either vector is all zeros.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
    let (na, nb) = (norm(a), norm(b));
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}

/// A category's centre from its examples' fingerprints: their mean, L2-normalised. `None`
/// without examples or when their lengths differ.
pub fn centre(fingerprints: &[Vec<f32>]) -> Option<Vec<f32>> {
    let len = fingerprints.first()?.len();
    if len == 0 || fingerprints.iter().any(|f| f.len() != len) {
        return None;
    }
    let mut mean = vec![0.0f32; len];
    for fingerprint in fingerprints {
        for (m, v) in mean.iter_mut().zip(fingerprint) {
            *m += v;
        }
    }
    let norm = mean.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        mean.iter_mut().for_each(|m| *m /= norm);
    }
    Some(mean)
}
