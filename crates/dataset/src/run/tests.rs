//! Running a plan over a batch: the files each item gets, the records, batched inference
//! (one model call per step for the whole batch), and items failing alone.

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;

use atelier_imaging::{
    Capability, Classes, EncodeOptions, FaceAnnotation, FaceAttributes, FaceSearch, Label, Limits, ModelError, Models,
    NoAssets, NumberReading, StyleRequest,
};
use image::{DynamicImage, GrayImage, RgbImage};
use serde_json::json;

use super::*;

/// Classifies by colour: "red" when the red channel dominates, else "other". Counts calls
/// and remembers each batch's size; fails on an image whose top-left pixel is pure green.
#[derive(Default)]
struct ColourModels {
    calls: AtomicUsize,
    batches: Mutex<Vec<usize>>,
}

impl ColourModels {
    fn label(image: &RgbImage) -> Result<Classes, ModelError> {
        if image.get_pixel(0, 0).0 == [0, 255, 0] {
            return Err(ModelError::internal("the model chokes on pure green"));
        }
        let sum = |c: usize| image.pixels().map(|p| u64::from(p.0[c])).sum::<u64>();
        let label = if sum(0) > sum(1) + sum(2) { "red" } else { "other" };
        Ok(Classes { labels: vec![Label { label: label.into(), score: 0.9 }], categories: vec![], fingerprint: vec![] })
    }
}

impl Models for ColourModels {
    fn detect_faces(&self, _: &RgbImage, _: FaceSearch) -> Result<Vec<FaceAnnotation>, ModelError> {
        Ok(vec![])
    }
    fn recognize_number(&self, _: &GrayImage) -> Result<NumberReading, ModelError> {
        Ok(NumberReading::default())
    }
    fn stylize(&self, image: &RgbImage, _: &StyleRequest<'_>) -> Result<RgbImage, ModelError> {
        Ok(image.clone())
    }
    fn analyze_faces(&self, _: &RgbImage, _: &[FaceAnnotation]) -> Result<Vec<FaceAttributes>, ModelError> {
        Ok(vec![])
    }
    fn classify(&self, image: &RgbImage, _: usize) -> Result<Classes, ModelError> {
        self.calls.fetch_add(1, Relaxed);
        ColourModels::label(image)
    }
    fn classify_batch(&self, images: &[&RgbImage], _: usize) -> Result<Vec<Classes>, ModelError> {
        self.calls.fetch_add(1, Relaxed);
        self.batches.lock().unwrap().push(images.len());
        images.iter().map(|image| ColourModels::label(image)).collect()
    }
    fn moderate(&self, _: &RgbImage) -> Result<Vec<Label>, ModelError> {
        Ok(vec![])
    }
    fn check(&self, _: Capability) -> Result<(), ModelError> {
        Ok(())
    }
}

fn jpeg(colour: [u8; 3], (w, h): (u32, u32)) -> Vec<u8> {
    let image = DynamicImage::ImageRgb8(RgbImage::from_pixel(w, h, image::Rgb(colour)));
    atelier_imaging::encode(&image, Format::Jpeg, &EncodeOptions::default(), None).unwrap()
}

fn png(colour: [u8; 3]) -> Vec<u8> {
    let image = DynamicImage::ImageRgb8(RgbImage::from_pixel(40, 30, image::Rgb(colour)));
    atelier_imaging::encode(&image, Format::Png, &EncodeOptions::default(), None).unwrap()
}

fn item(index: u64, name: &str, bytes: Vec<u8>) -> ItemInput<Vec<u8>> {
    let stem = crate::unique_stems([name]).remove(0);
    let metadata = ItemMetadata(vec![("id".into(), index.to_string())]);
    ItemInput { index, name: name.into(), stem, metadata, bytes }
}

fn run(plan: &Plan, items: &[ItemInput<Vec<u8>>], models: &dyn Models) -> Vec<ItemDone> {
    let limits = Limits::default();
    plan.run_batch(items, RunEnv { limits: &limits, assets: &NoAssets, models })
}

fn plan(value: serde_json::Value) -> Plan {
    Plan::new(serde_json::from_value(value).unwrap()).unwrap()
}

#[test]
fn originals_are_kept_byte_for_byte_and_each_variant_is_written_with_its_parameters() {
    let plan = plan(json!({"augment": {"variants": 2, "seed": 9}}));
    let original = jpeg([200, 10, 10], (64, 48));
    let done = run(&plan, &[item(0, "shoes/10000.jpg", original.clone())], &ColourModels::default());
    let done = &done[0];
    let paths: Vec<&str> = done.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["images/shoes/10000.jpg", "augmentation/shoes/10000-v0.jpg", "augmentation/shoes/10000-v1.jpg"]);
    assert_eq!(done.files[0].bytes, original);
    let record = &done.record;
    assert_eq!(record.status, ItemStatus::Succeeded);
    assert_eq!(record.image.as_ref().unwrap().file, "images/shoes/10000.jpg");
    assert_eq!(record.variants.len(), 2);
    assert_eq!(record.variants[1].params.index, 1);
    assert_ne!(record.variants[0].params.seed, record.variants[1].params.seed);
    for (variant, file) in record.variants.iter().zip(&done.files[1..]) {
        assert_eq!(variant.output.file, file.path);
        assert_eq!(variant.output.bytes, file.bytes.len() as u64);
        assert_eq!(Format::sniff(&file.bytes), Some(Format::Jpeg));
        assert_eq!((variant.output.width, variant.output.height), (64, 48));
    }
    // The same seed makes the same variants: a resumed job writes the same bytes.
    let again = run(&plan, &[item(0, "shoes/10000.jpg", original)], &ColourModels::default());
    assert_eq!(again[0].files, done.files);
}

#[test]
fn preparation_steps_re_encode_the_original_in_the_format_they_ask_for() {
    let plan = plan(json!({"pipeline": [{"op": "resize", "width": 20}, {"op": "convert", "format": "png"}]}));
    let done = run(&plan, &[item(3, "a.jpg", jpeg([10, 10, 200], (40, 30)))], &ColourModels::default());
    let image = done[0].record.image.clone().unwrap();
    assert_eq!((image.file.as_str(), image.format, image.width, image.height), ("images/a.png", Format::Png, 20, 15));
    assert_eq!(Format::sniff(&done[0].files[0].bytes), Some(Format::Png));
}

#[test]
fn output_sets_how_variants_are_encoded_over_the_source_format() {
    let plan = plan(json!({"augment": {"variants": 1}, "output": {"format": "png"}}));
    let done = run(&plan, &[item(0, "a.jpg", jpeg([10, 10, 200], (40, 30)))], &ColourModels::default());
    assert_eq!(done[0].files[0].path, "images/a.jpg", "the original stays as it is");
    assert_eq!(done[0].files[1].path, "augmentation/a-v0.png");
    assert_eq!(Format::sniff(&done[0].files[1].bytes), Some(Format::Png));
    let quality = |q: u8| {
        let plan = super::Plan::new(
            serde_json::from_value(json!({"augment": {"variants": 1, "seed": 4}, "output": {"quality": q}})).unwrap(),
        )
        .unwrap();
        let done = run(&plan, &[item(0, "a.jpg", jpeg([10, 120, 200], (64, 64)))], &ColourModels::default());
        done[0].files[1].bytes.len()
    };
    assert!(quality(95) > quality(30));
}

#[test]
fn inference_runs_once_per_step_for_the_whole_batch_on_what_infer_on_names() {
    let cases = [
        ("originals", 3, vec![None]),
        ("variants", 6, vec![Some(0), Some(1)]),
        ("both", 9, vec![None, Some(0), Some(1)]),
    ];
    for (infer_on, looked_at, expected) in cases {
        let plan = plan(json!({
            "augment": {"variants": 2, "color_jitter": 0.0, "max_rotation": 0.0},
            "inference": [{"op": "classify", "top_k": 1, "categories": false}],
            "infer_on": infer_on,
        }));
        let models = ColourModels::default();
        let items = [
            item(0, "r.jpg", jpeg([220, 0, 0], (32, 32))),
            item(1, "b.png", png([0, 0, 220])),
            item(2, "c.jpg", jpeg([220, 0, 0], (32, 32))),
        ];
        let done = run(&plan, &items, &models);
        assert_eq!(models.calls.load(Relaxed), 1, "{infer_on}");
        assert_eq!(*models.batches.lock().unwrap(), [looked_at], "{infer_on}");
        for (done, want) in done.iter().zip(["red", "other", "red"]) {
            let record = &done.record;
            let labelled = |a: &Annotations| a.labels.as_ref().map(|l| l[0].label.clone());
            let found: Vec<Option<usize>> = std::iter::once(None)
                .chain((0..2).map(Some))
                .filter(|which| match which {
                    None => labelled(&record.image.as_ref().unwrap().annotations).is_some(),
                    Some(v) => labelled(&record.variants[*v].output.annotations).is_some(),
                })
                .collect();
            assert_eq!(found, expected, "{infer_on}");
            let any = match found[0] {
                None => labelled(&record.image.as_ref().unwrap().annotations),
                Some(v) => labelled(&record.variants[v].output.annotations),
            };
            assert_eq!(any.as_deref(), Some(want), "{infer_on}");
        }
    }
}

#[test]
fn a_bad_item_fails_alone_with_its_code_and_nothing_written() {
    let plan = plan(json!({"augment": {"variants": 1}, "inference": [{"op": "classify"}], "infer_on": "originals"}));
    let models = ColourModels::default();
    let mut truncated = jpeg([200, 0, 0], (64, 64));
    truncated.truncate(truncated.len() / 2);
    let items = [
        item(0, "good.jpg", jpeg([200, 0, 0], (32, 32))),
        item(1, "truncated.jpg", truncated),
        item(2, "text.jpg", b"hello, not an image".to_vec()),
        item(3, "green.png", png([0, 255, 0])),
        item(4, "also-good.png", png([0, 0, 200])),
    ];
    let done = run(&plan, &items, &models);
    let statuses: Vec<_> =
        done.iter().map(|d| (d.record.status, d.record.error.as_ref().map(|e| e.code.as_str()))).collect();
    assert_eq!(statuses[0], (ItemStatus::Succeeded, None));
    assert_eq!(statuses[1].0, ItemStatus::Failed);
    assert_eq!(statuses[2], (ItemStatus::Failed, Some("unsupported_format")));
    assert_eq!(statuses[3], (ItemStatus::Failed, Some("internal_error")), "the model failed on this image only");
    assert_eq!(statuses[4], (ItemStatus::Succeeded, None));
    for failed in &done[1..4] {
        assert!(failed.files.is_empty());
        assert!(failed.record.image.is_none() && failed.record.variants.is_empty());
        assert_eq!(failed.record.metadata, items[failed.record.index as usize].metadata);
    }
    // One batched call failed, then each image was asked alone to find the culprit.
    assert_eq!(*models.batches.lock().unwrap(), [3, 1, 1, 1]);
}

#[test]
fn records_serialise_as_metadata_json_lists_them() {
    let plan = plan(
        json!({"augment": {"variants": 1, "seed": 1}, "inference": [{"op": "classify", "top_k": 1, "categories": false}], "infer_on": "variants"}),
    );
    let done = run(&plan, &[item(7, "x.jpg", jpeg([200, 0, 0], (16, 16)))], &ColourModels::default());
    let value = serde_json::to_value(&done[0].record).unwrap();
    assert_eq!(value["index"], 7);
    assert_eq!(value["metadata"], json!({"id": "7"}));
    assert_eq!(value["status"], "succeeded");
    assert_eq!(value["image"]["file"], "images/x.jpg");
    assert!(value["image"].get("annotations").is_none());
    assert_eq!(value["variants"][0]["file"], "augmentation/x-v0.jpg");
    assert_eq!(value["variants"][0]["params"]["seed"], done[0].record.variants[0].params.seed);
    assert_eq!(value["variants"][0]["annotations"]["labels"][0]["label"], "red");
    let back: ItemRecord = serde_json::from_value(value).unwrap();
    assert_eq!(back, done[0].record);
}
