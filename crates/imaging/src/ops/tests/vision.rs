//! The vision ops with a fake `Models`: what they annotate, which pixels they touch, when
//! they call the model, how failures are reported, and how annotations follow later steps.
//! The fake "detects" a face as the bounding box of strongly blue pixels, so it sees the
//! image as a pipeline step left it, just as a real model would.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use image::{DynamicImage, GrayImage, Luma, Rgb, RgbImage, Rgba, RgbaImage};

use crate::annotations::Annotations;
use crate::error::Code;
use crate::models::{Capability, Classes, DigitReading, FaceAnnotation, FaceAttributes, Label, ModelError, Models};
use crate::models::{FaceSearch, NoModels, NumberReading, StyleRequest, StyleSource};
use crate::{Decoded, Format, Limits, NoAssets, Pipeline, RunEnv};

#[derive(Default)]
pub(super) struct FakeModels {
    pub(super) face_calls: AtomicUsize,
    /// The grey image `recognize_number` was last given.
    seen: Mutex<Option<GrayImage>>,
    /// The last stylize request.
    pub(super) styled: Mutex<Option<Styled>>,
    /// Answer every call with this error instead.
    pub(super) fail: Option<ModelError>,
}

/// What a stylize call was given: the strength, whether the style was an image, the size.
pub(super) type Styled = (f32, bool, (u32, u32));

impl FakeModels {
    fn failure(&self) -> Result<(), ModelError> {
        self.fail.clone().map_or(Ok(()), Err)
    }
}

impl Models for FakeModels {
    fn detect_faces(&self, image: &RgbImage, search: FaceSearch) -> Result<Vec<FaceAnnotation>, ModelError> {
        let threshold = search.threshold;
        self.face_calls.fetch_add(1, Ordering::SeqCst);
        if let Some(err) = &self.fail {
            return Err(err.clone());
        }
        let blue: Vec<(u32, u32)> =
            image.enumerate_pixels().filter(|(_, _, p)| p.0[2] > 160).map(|(x, y, _)| (x, y)).collect();
        let score = 0.9;
        if blue.is_empty() || score < threshold {
            return Ok(Vec::new());
        }
        let (x0, x1) = (blue.iter().map(|p| p.0).min().unwrap(), blue.iter().map(|p| p.0).max().unwrap() + 1);
        let (y0, y1) = (blue.iter().map(|p| p.1).min().unwrap(), blue.iter().map(|p| p.1).max().unwrap() + 1);
        let (x, y, width, height) = (x0 as f32, y0 as f32, (x1 - x0) as f32, (y1 - y0) as f32);
        let at = |fx: f32, fy: f32| [x + fx * width, y + fy * height];
        let landmarks = [at(0.3, 0.4), at(0.7, 0.4), at(0.5, 0.6), at(0.5, 0.8), at(0.05, 0.5), at(0.95, 0.5)];
        Ok(vec![FaceAnnotation { x, y, width, height, score, landmarks, attributes: None }])
    }

    fn recognize_number(&self, image: &GrayImage) -> Result<NumberReading, ModelError> {
        if let Some(err) = &self.fail {
            return Err(err.clone());
        }
        *self.seen.lock().unwrap() = Some(image.clone());
        let mut probabilities = [0.0; 10];
        probabilities[4] = 1.0;
        let digit = DigitReading { digit: 4, probabilities, bbox: [2.0, 3.0, 5.0, 6.0] };
        Ok(NumberReading {
            digits: vec![digit.clone(), DigitReading { bbox: [9.0, 3.0, 5.0, 6.0], ..digit }],
            number: "44".into(),
        })
    }

    /// "Paints" by inverting every pixel, so a test can tell styled pixels apart.
    fn stylize(&self, image: &RgbImage, request: &StyleRequest<'_>) -> Result<RgbImage, ModelError> {
        self.failure()?;
        let from_image = matches!(request.style, StyleSource::Image(_));
        *self.styled.lock().unwrap() = Some((request.strength, from_image, image.dimensions()));
        let mut out = image.clone();
        out.pixels_mut().for_each(|p| p.0 = p.0.map(|v| 255 - v));
        Ok(out)
    }

    /// Everyone is 30, a woman, and happy; the age says which face it was (30 + index).
    fn analyze_faces(&self, _image: &RgbImage, faces: &[FaceAnnotation]) -> Result<Vec<FaceAttributes>, ModelError> {
        self.failure()?;
        let happy = [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0];
        Ok((0..faces.len()).map(|i| FaceAttributes { age: 30.0 + i as f32, male: 0.1, emotions: happy }).collect())
    }

    /// A "cup" when the image is mostly red, else a "plate"; the fingerprint is the mean colour.
    fn classify(&self, image: &RgbImage, top_k: usize) -> Result<Classes, ModelError> {
        self.failure()?;
        let n = f32::from(u16::try_from(image.pixels().len().min(60000)).unwrap_or(1)).max(1.0);
        let mean: Vec<f32> = (0..3).map(|c| image.pixels().map(|p| f32::from(p.0[c])).sum::<f32>() / n).collect();
        let red = mean[0] > mean[1] + mean[2];
        let (a, b) = if red { ("cup", "plate") } else { ("plate", "cup") };
        let labels: Vec<Label> =
            [(a, 0.7), (b, 0.2), ("spoon", 0.1)].iter().map(|&(l, s)| Label { label: l.into(), score: s }).collect();
        let categories = vec![Label { label: "kitchen".into(), score: 0.9 }];
        Ok(Classes { labels: labels.into_iter().take(top_k).collect(), categories, fingerprint: mean })
    }

    /// Explicit when the image is mostly red.
    fn moderate(&self, image: &RgbImage) -> Result<Vec<Label>, ModelError> {
        let classes = self.classify(image, 1)?;
        let red = classes.labels[0].label == "cup";
        let scores = [
            ("drawing", 0.1),
            ("hentai", 0.0),
            ("neutral", if red { 0.1 } else { 0.8 }),
            ("porn", if red { 0.7 } else { 0.05 }),
            ("sexy", if red { 0.1 } else { 0.05 }),
        ];
        Ok(scores.iter().map(|&(l, s)| Label { label: l.into(), score: s }).collect())
    }

    fn check(&self, _capability: Capability) -> Result<(), ModelError> {
        self.failure()
    }
}

/// 120 x 80, a dim gradient with a 40 x 30 checkered blue "face" at (50, 20).
pub(super) fn portrait() -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(120, 80, |x, y| {
        if (50..90).contains(&x) && (20..50).contains(&y) {
            if (x / 2 + y / 2) % 2 == 0 {
                Rgb([255, 0, 255])
            } else {
                Rgb([0, 0, 255])
            }
        } else {
            Rgb([(x * 2) as u8, (y * 3) as u8, 60])
        }
    }))
}

pub(super) fn run_on(
    image: DynamicImage,
    steps: &[&str],
    models: &dyn Models,
) -> crate::Result<(DynamicImage, Annotations)> {
    let pipeline = Pipeline::parse_inline(steps).unwrap_or_else(|err| panic!("{steps:?}: {err}"));
    let (source_width, source_height) = (image.width(), image.height());
    let decoded = Decoded { image, format: Format::Png, source_width, source_height, shrink: 1, icc_profile: None };
    let env = RunEnv { limits: &Limits::default(), assets: &NoAssets, models };
    let mut run = pipeline.run_decoded(decoded, env)?;
    let output = run.outputs.remove(0);
    let image = image::load_from_memory(&output.bytes).unwrap();
    Ok((image, output.annotations))
}

pub(super) fn boxes(annotations: &Annotations) -> Vec<[f32; 4]> {
    annotations.faces.iter().flatten().map(|f| [f.x, f.y, f.width, f.height]).collect()
}

/// Pixels that differ between two images of one size, as (x, y).
pub(super) fn changed(a: &DynamicImage, b: &DynamicImage) -> Vec<(u32, u32)> {
    let (a, b) = (a.to_rgba8(), b.to_rgba8());
    a.enumerate_pixels().filter(|(x, y, p)| b.get_pixel(*x, *y) != *p).map(|(x, y, _)| (x, y)).collect()
}

#[test]
fn detect_faces_annotates_each_face_and_leaves_the_pixels_alone() {
    let fake = FakeModels::default();
    let (out, annotations) = run_on(portrait(), &["detect_faces"], &fake).unwrap();
    assert_eq!(boxes(&annotations), [[50.0, 20.0, 40.0, 30.0]]);
    assert_eq!(annotations.faces.as_ref().unwrap()[0].landmarks[0], [62.0, 32.0]);
    assert!(changed(&out, &portrait()).is_empty());
    let (_, strict) = run_on(portrait(), &["detect_faces:threshold=0.95"], &fake).unwrap();
    assert_eq!(strict.faces, Some(Vec::new()), "looked and found none");
}

#[test]
fn blur_and_pixelate_change_only_the_padded_face_boxes() {
    for step in ["blur_faces:padding=0.25", "pixelate_faces:padding=0.25,block=8"] {
        let (out, annotations) = run_on(portrait(), &[step], &FakeModels::default()).unwrap();
        assert_eq!(boxes(&annotations), [[50.0, 20.0, 40.0, 30.0]], "{step}: the faces redacted are reported");
        // The box grown by a quarter of its size: 10 px left and right, 7.5 above and below.
        let inside = |(x, y): (u32, u32)| (40..100).contains(&x) && (12..58).contains(&y);
        let changes = changed(&out, &portrait());
        assert!(changes.iter().all(|&p| inside(p)), "{step}: changed outside the box");
        assert!(changes.len() > 40 * 30 / 2, "{step}: only {} pixels changed", changes.len());
    }
}

#[test]
fn pixelate_fills_each_block_with_one_colour() {
    let (out, _) = run_on(portrait(), &["pixelate_faces:padding=0,block=10"], &FakeModels::default()).unwrap();
    let rgb = out.to_rgb8();
    for (bx, by) in [(50, 20), (60, 30), (80, 40)] {
        let first = rgb.get_pixel(bx, by);
        assert!((bx..bx + 10).all(|x| (by..by + 10).all(|y| rgb.get_pixel(x, y) == first)), "block at ({bx}, {by})");
    }
}

#[test]
fn a_face_op_after_detect_faces_reuses_its_faces_and_one_alone_detects_them() {
    let cases: &[(&[&str], usize)] = &[
        (&["detect_faces", "blur_faces"], 1),
        (&["blur_faces"], 1),
        (&["pixelate_faces", "blur_faces"], 1),
        // Found none: that is an answer too, not a reason to look again.
        (&["detect_faces:threshold=0.95", "blur_faces"], 1),
        (&["detect_faces", "augment:variants=1", "blur_faces"], 2),
    ];
    for (steps, calls) in cases {
        let fake = FakeModels::default();
        run_on(portrait(), steps, &fake).unwrap();
        assert_eq!(fake.face_calls.load(Ordering::SeqCst), *calls, "{steps:?}");
    }
}

#[test]
fn without_models_every_vision_op_is_unavailable_and_names_the_fix() {
    for step in [
        "detect_faces",
        "blur_faces",
        "pixelate_faces",
        "recognize_digit",
        "stylize",
        "analyze_faces",
        "classify",
        "moderate",
    ] {
        let err = run_on(portrait(), &["flip", step], &NoModels).unwrap_err();
        assert_eq!(err.code(), Code::VisionUnavailable, "{step}");
        assert_eq!(err.kind(), crate::ErrorKind::Unavailable);
        let name = step.split(':').next().unwrap();
        assert_eq!(
            err.to_string(),
            format!("{name} needs a vision model, and none is available: {}", NoModels::MESSAGE)
        );
    }
}

#[test]
fn a_broken_model_is_an_internal_error_naming_the_step() {
    let fake = FakeModels { fail: Some(ModelError::internal("the session fell over")), ..FakeModels::default() };
    let err = run_on(portrait(), &["flip", "blur_faces"], &fake).unwrap_err();
    assert_eq!(
        (err.code(), err.to_string()),
        (Code::InternalError, "internal error: step 1 (blur_faces): the session fell over".into())
    );
}

#[test]
fn recognize_digit_annotates_the_number_and_reads_transparency_as_paper() {
    let fake = FakeModels::default();
    let sheet = DynamicImage::ImageRgba8(RgbaImage::from_fn(20, 10, |x, _| {
        if x < 10 {
            Rgba([0, 0, 0, 0])
        } else {
            Rgba([20, 20, 20, 255])
        }
    }));
    let (out, annotations) = run_on(sheet.clone(), &["recognize_digit"], &fake).unwrap();
    assert!(changed(&out, &sheet).is_empty());
    assert_eq!(annotations.number.as_deref(), Some("44"));
    assert_eq!(annotations.digits.as_ref().map(Vec::len), Some(2));
    let seen = fake.seen.lock().unwrap().clone().unwrap();
    assert_eq!((seen.get_pixel(0, 0), seen.get_pixel(15, 5)), (&Luma([255]), &Luma([20])));
}

#[test]
fn faces_found_before_a_geometric_step_land_where_detecting_after_it_finds_them() {
    let steps = [
        "resize:width=60",
        "resize:width=60,height=60,fit=cover",
        "resize:width=200,height=100,fit=contain,upscale=true",
        "thumbnail:width=90,height=40,crop=true,gravity=north",
        "crop:x=30,y=10,width=80,height=60",
        "flip:direction=both",
        "rotate:angle=90",
        "rotate:angle=-90",
    ];
    for step in steps {
        let fake = FakeModels::default();
        let (_, before) = run_on(portrait(), &["detect_faces", step], &fake).unwrap();
        let (_, after) = run_on(portrait(), &[step, "detect_faces"], &fake).unwrap();
        let (before, after) = (boxes(&before), boxes(&after));
        assert_eq!(before.len(), 1, "{step}: {before:?}");
        // Within the pixel or two that resampling blurs the face's edges by.
        let close = before[0].iter().zip(&after[0]).all(|(a, b)| (a - b).abs() <= 2.0);
        assert!(close, "{step}: followed {before:?}, detected {after:?}");
    }
}

#[test]
fn a_rotation_by_an_odd_angle_drops_the_faces_with_a_note_and_augment_keeps_its_original() {
    let (_, rotated) = run_on(portrait(), &["detect_faces", "rotate:angle=30"], &FakeModels::default()).unwrap();
    assert_eq!(rotated.faces, None);
    assert_eq!(rotated.notes, ["faces dropped at step 1 (rotate): boxes cannot follow its change of geometry"]);

    let pipeline = Pipeline::parse_inline(&["detect_faces", "augment:variants=2,keep_original=true"]).unwrap();
    let image = portrait();
    let decoded =
        Decoded { image, format: Format::Png, source_width: 120, source_height: 80, shrink: 1, icc_profile: None };
    let env = RunEnv { limits: &Limits::default(), assets: &NoAssets, models: &FakeModels::default() };
    let run = pipeline.run_decoded(decoded, env).unwrap();
    let faces: Vec<usize> = run.outputs.iter().map(|o| o.annotations.faces.as_ref().map_or(0, Vec::len)).collect();
    assert_eq!(faces, [1, 0, 0]);
}

#[test]
fn vision_ops_are_in_the_catalogue_with_their_costs_and_ranges_checked() {
    let costs: Vec<(String, u32)> =
        Pipeline::parse_inline(&["detect_faces", "blur_faces", "pixelate_faces", "recognize_digit"])
            .unwrap()
            .steps
            .iter()
            .map(|op| (op.name().to_string(), op.cost()))
            .collect();
    assert_eq!(
        costs,
        [
            ("detect_faces".into(), 3),
            ("blur_faces".into(), 4),
            ("pixelate_faces".into(), 4),
            ("recognize_digit".into(), 2)
        ]
    );
    let cases = [
        ("detect_faces:threshold=1", "steps[0].threshold: must be 0.05..=0.99, got 1"),
        ("blur_faces:sigma=0.5", "steps[0].sigma: must be 1..=100, got 0.5"),
        ("blur_faces:padding=2", "steps[0].padding: must be 0..=1, got 2"),
        ("pixelate_faces:block=1", "steps[0].block: must be 2..=128, got 1"),
        ("pixelate_faces:padding=-0.1", "steps[0].padding: must be 0..=1, got -0.1"),
        ("recognize_digit:size=3", "steps[0].size: unknown field `size`, there are no fields"),
    ];
    for (step, expected) in cases {
        assert_eq!(Pipeline::parse_inline(&[step]).unwrap_err().to_string(), expected);
    }
}
