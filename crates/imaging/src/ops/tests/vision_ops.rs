//! The style, face-analysis, classification, moderation, smart-crop and drawing ops with
//! the fake `Models` of `vision.rs`: what reaches the model, what lands in the annotations,
//! how parameters are checked, and what a pipeline needs before it runs.

use std::sync::Arc;

use image::{DynamicImage, Rgb, RgbImage};

use super::vision::{boxes, changed, portrait, run_on, FakeModels};
use crate::error::Code;
use crate::ops::classify::{centre, OwnCategory};
use crate::{Assets, Decoded, Format, Limits, NoModels, Pipeline, RunEnv};

/// Style images by name, and the owner's categories.
struct TestAssets(Vec<OwnCategory>);

impl Assets for TestAssets {
    fn image(&self, reference: &str) -> Result<Arc<DynamicImage>, String> {
        match reference {
            "waves" => Ok(Arc::new(DynamicImage::ImageRgb8(RgbImage::from_pixel(30, 30, Rgb([0, 0, 200]))))),
            _ => Err(format!("no image `{reference}`")),
        }
    }

    fn categories(&self) -> Result<Arc<[OwnCategory]>, String> {
        Ok(self.0.clone().into())
    }
}

fn run_with(
    image: DynamicImage,
    steps: &[&str],
    fake: &FakeModels,
    assets: &dyn Assets,
) -> crate::Result<crate::Output> {
    let pipeline = Pipeline::parse_inline(steps).unwrap_or_else(|err| panic!("{steps:?}: {err}"));
    let (source_width, source_height) = (image.width(), image.height());
    let decoded = Decoded { image, format: Format::Png, source_width, source_height, shrink: 1, icc_profile: None };
    let mut run = pipeline.run_decoded(decoded, RunEnv { limits: &Limits::default(), assets, models: fake })?;
    Ok(run.outputs.remove(0))
}

fn red() -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_pixel(40, 30, Rgb([220, 20, 20])))
}

#[test]
fn stylize_paints_every_pixel_at_the_asked_strength_and_scales_down_to_max_side_with_the_faces() {
    let fake = FakeModels::default();
    let (out, annotations) = run_on(portrait(), &["detect_faces", "stylize:style=3,strength=0.4"], &fake).unwrap();
    assert_eq!(changed(&out, &portrait()).len(), 120 * 80, "every pixel is painted");
    assert_eq!(*fake.styled.lock().unwrap(), Some((0.4, false, (120, 80))));
    assert_eq!(boxes(&annotations), [[50.0, 20.0, 40.0, 30.0]]);

    let (out, annotations) = run_on(portrait(), &["detect_faces", "stylize:max_side=64"], &fake).unwrap();
    assert_eq!((out.width(), out.height()), (64, 43));
    assert_eq!(fake.styled.lock().unwrap().unwrap().2, (64, 43), "the model is given the scaled image");
    let [x, y, w, h] = boxes(&annotations)[0];
    assert!((x - 50.0 * 64.0 / 120.0).abs() < 0.5 && (w - 40.0 * 64.0 / 120.0).abs() < 0.5, "{x} {w}");
    assert!((y - 20.0 * 43.0 / 80.0).abs() < 0.5 && (h - 30.0 * 43.0 / 80.0).abs() < 0.5, "{y} {h}");

    // The networks need 32 pixels a side: a smaller image is refused, not sent to them.
    let err = run_on(red(), &["resize:width=40,height=20,fit=fill", "stylize"], &fake).unwrap_err();
    assert_eq!(err.code(), Code::OpNotApplicable, "{err}");
    assert!(err.to_string().contains("at least 32 pixels a side"), "{err}");
}

#[test]
fn stylize_takes_blends_written_with_commas_pluses_or_spaces_and_refuses_bad_ones_by_name() {
    let weights = |style: &str| {
        let json = serde_json::json!({"version": 1, "steps": [{"op": "stylize", "style": style}]});
        match &Pipeline::from_value(json).unwrap().steps[0] {
            crate::Op::Stylize(op) => op.weights().unwrap(),
            other => panic!("{other:?}"),
        }
    };
    for text in ["3:0.5,12:0.5", "3:0.5+12:0.5", "3:0.5 12:0.5"] {
        let w = weights(text);
        assert_eq!((w[3], w[12], w.iter().sum::<f32>()), (0.5, 0.5, 1.0), "{text}");
    }
    assert_eq!(weights("7")[7], 1.0);
    let cases = [
        ("stylize:style=26", "steps[0].style: there is no style 26: 0..=25"),
        ("stylize:style=3:0.5+3:0.5", "steps[0].style: style 3 is named twice"),
        ("stylize:style=3:0", "steps[0].style: the weight of style 3 must be more than 0 and at most 100"),
        ("stylize:style=3:x", "steps[0].style: `x` is not a weight"),
        ("stylize:style=starry", "steps[0].style: `starry` is not a style number (0..=25)"),
        ("stylize:strength=1.5", "steps[0].strength: must be 0..=1, got 1.5"),
        ("stylize:max_side=32", "steps[0].max_side: must be 64..=2048, got 32"),
    ];
    for (step, expected) in cases {
        assert_eq!(Pipeline::parse_inline(&[step]).unwrap_err().to_string(), expected, "{step}");
    }
}

#[test]
fn stylize_with_an_image_fetches_it_as_an_asset_and_a_missing_one_is_an_asset_error() {
    let fake = FakeModels::default();
    run_with(portrait(), &["stylize:image=waves"], &fake, &TestAssets(Vec::new())).unwrap();
    assert!(fake.styled.lock().unwrap().unwrap().1, "the style came from an image");
    let err = run_with(portrait(), &["stylize:image=nope"], &fake, &TestAssets(Vec::new())).unwrap_err();
    assert_eq!(
        (err.code(), err.to_string()),
        (Code::AssetUnavailable, "asset `nope` could not be loaded: no image `nope`".into())
    );
}

#[test]
fn analyze_faces_adds_attributes_to_the_faces_found_before_and_skips_the_model_without_faces() {
    let fake = FakeModels::default();
    let (out, annotations) = run_on(portrait(), &["detect_faces", "analyze_faces"], &fake).unwrap();
    assert!(changed(&out, &portrait()).is_empty());
    let face = annotations.faces.unwrap()[0];
    let attributes = face.attributes.expect("analysed");
    assert_eq!((attributes.age, attributes.emotion()), (30.0, "happy"));
    assert_eq!(fake.face_calls.load(std::sync::atomic::Ordering::SeqCst), 1, "detected once");
    // A later geometric step moves the face and keeps what was learnt about it.
    let (_, moved) = run_on(portrait(), &["analyze_faces", "flip"], &fake).unwrap();
    assert!(moved.faces.unwrap()[0].attributes.is_some());
    // Nobody here: no analysis, and no error.
    let grey = DynamicImage::ImageRgb8(RgbImage::from_pixel(20, 20, Rgb([90, 90, 90])));
    let (_, none) = run_on(grey, &["analyze_faces"], &fake).unwrap();
    assert_eq!(none.faces, Some(Vec::new()));
}

#[test]
fn classify_reports_the_top_k_classes_and_categories_and_matches_own_categories_above_the_threshold() {
    let fake = FakeModels::default();
    let (_, annotations) = run_on(red(), &["classify:top_k=2"], &fake).unwrap();
    let labels: Vec<&str> = annotations.labels.iter().flatten().map(|l| l.label.as_str()).collect();
    assert_eq!(labels, ["cup", "plate"]);
    assert_eq!(annotations.categories.unwrap()[0].label, "kitchen");
    assert_eq!(annotations.category, None, "own categories were not asked for");
    let (_, plain) = run_on(red(), &["classify:categories=false"], &fake).unwrap();
    assert_eq!(plain.categories, None);

    // Own categories: the fake's fingerprint is the mean colour.
    let own = vec![
        OwnCategory {
            name: "tomatoes".into(),
            centre: centre(&[vec![220.0, 20.0, 20.0], vec![200.0, 30.0, 10.0]]).unwrap(),
        },
        OwnCategory { name: "sky".into(), centre: centre(&[vec![20.0, 40.0, 220.0]]).unwrap() },
    ];
    let out = run_with(red(), &["classify:own_categories=true"], &fake, &TestAssets(own.clone())).unwrap();
    let category = out.annotations.category.unwrap();
    assert_eq!(category.label, "tomatoes");
    assert!(category.score > 0.99, "{category:?}");
    let grey = DynamicImage::ImageRgb8(RgbImage::from_pixel(10, 10, Rgb([128, 128, 128])));
    let out = run_with(grey, &["classify:own_categories=true,min_similarity=0.95"], &fake, &TestAssets(own)).unwrap();
    assert_eq!(out.annotations.category, None, "grey is near neither");
    let err = run_with(red(), &["classify:own_categories=true"], &fake, &TestAssets(Vec::new())).unwrap_err();
    assert_eq!(err.code(), Code::OpNotApplicable);
    assert!(err.to_string().contains("no categories are defined yet"), "{err}");
}

#[test]
fn moderate_flags_for_review_at_the_threshold_and_reports_every_score() {
    let fake = FakeModels::default();
    let (_, flagged) = run_on(red(), &["moderate"], &fake).unwrap();
    let moderation = flagged.moderation.unwrap();
    assert!(moderation.needs_review);
    assert_eq!(moderation.scores.len(), 5);
    let (_, strict) = run_on(red(), &["moderate:threshold=0.9"], &fake).unwrap();
    assert!(!strict.moderation.unwrap().needs_review, "0.8 flagged is under 0.9");
    let (_, calm) = run_on(portrait(), &["moderate"], &fake).unwrap();
    assert!(!calm.moderation.unwrap().needs_review);
}

/// 300 x 100: grey, with the fake's blue "face" near the right end.
fn wide_with_face_at_right() -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(300, 100, |x, y| {
        if (240..280).contains(&x) && (30..70).contains(&y) {
            Rgb([0, 0, 255])
        } else {
            Rgb([120, 120, 120])
        }
    }))
}

#[test]
fn smart_crop_keeps_the_faces_in_the_window_and_moves_them_with_it() {
    let (out, annotations) =
        run_on(wide_with_face_at_right(), &["smart_crop:width=50,height=50"], &FakeModels::default()).unwrap();
    assert_eq!((out.width(), out.height()), (50, 50));
    // The 100 x 100 window must hold the face (240..280) padded: it starts at 200.
    let [x, y, w, h] = boxes(&annotations)[0];
    assert!(
        (x - 20.0).abs() < 0.6 && (y - 15.0).abs() < 0.6 && (w - 20.0).abs() < 0.6 && (h - 20.0).abs() < 0.6,
        "{x} {y} {w} {h}"
    );
    let rgb = out.to_rgb8();
    assert_eq!(rgb.get_pixel(30, 25), &Rgb([0, 0, 255]), "the face is in the crop");
}

#[test]
fn smart_crop_without_faces_picks_the_detailed_part_and_without_models_says_it_cropped_by_detail() {
    // Flat grey with a busy checkerboard in the left third.
    let busy = DynamicImage::ImageRgb8(RgbImage::from_fn(300, 100, |x, y| {
        if x < 90 && (x / 4 + y / 4) % 2 == 0 {
            Rgb([250, 200, 0])
        } else {
            Rgb([120, 120, 120])
        }
    }));
    let (out, annotations) = run_on(busy.clone(), &["smart_crop:width=100,height=100"], &NoModels).unwrap();
    let rgb = out.to_rgb8();
    let busy_pixels = rgb.pixels().filter(|p| p.0[2] < 60).count();
    assert!(busy_pixels > 2500, "the window should hold the checkerboard: {busy_pixels} busy pixels");
    assert_eq!(annotations.notes.len(), 1, "{:?}", annotations.notes);
    assert!(annotations.notes[0].contains("cropped by detail only"), "{:?}", annotations.notes);
    let (_, quiet) = run_on(busy, &["smart_crop:width=100,height=100,faces=false"], &NoModels).unwrap();
    assert!(quiet.notes.is_empty(), "faces were not asked for: {:?}", quiet.notes);
}

#[test]
fn draw_annotations_draws_the_face_boxes_in_the_colour_asked_and_nothing_far_from_them() {
    let fake = FakeModels::default();
    let (out, _) =
        run_on(portrait(), &["detect_faces", "draw_annotations:color=#ff0000,text=false,landmarks=false"], &fake)
            .unwrap();
    let rgb = out.to_rgb8();
    assert_eq!(rgb.get_pixel(50, 35), &Rgb([255, 0, 0]), "the left edge of the box");
    assert_eq!(rgb.get_pixel(70, 20), &Rgb([255, 0, 0]), "the top edge");
    let far: Vec<(u32, u32)> = changed(&out, &portrait()).into_iter().filter(|&(x, y)| x < 45 || y > 55).collect();
    assert!(far.is_empty(), "{far:?}");
    // With text, the attributes are written above the box.
    let (labelled, _) = run_on(portrait(), &["analyze_faces", "draw_annotations:color=#ff0000"], &fake).unwrap();
    assert!(changed(&labelled, &out).iter().any(|&(_, y)| y < 20), "a label above the face");
}

#[test]
fn a_pipeline_knows_which_models_it_needs_before_it_runs() {
    let needs =
        |steps: &[&str]| Pipeline::parse_inline(steps).unwrap().check_models(&NoModels).map_err(|e| e.to_string());
    assert_eq!(needs(&["resize:width=10", "smart_crop", "draw_annotations"]), Ok(()));
    for (step, op) in [
        ("stylize", "stylize"),
        ("stylize:image=x", "stylize"),
        ("analyze_faces", "analyze_faces"),
        ("moderate", "moderate"),
    ] {
        let err = needs(&["resize:width=10", step]).unwrap_err();
        assert!(err.starts_with(&format!("{op} needs a vision model")), "{err}");
    }
    assert_eq!(
        Pipeline::parse_inline(&["classify"]).unwrap().check_models(&FakeModels::default()).map_err(|e| e.to_string()),
        Ok(())
    );
}

#[test]
fn the_new_vision_ops_are_in_the_catalogue_with_their_costs() {
    let costs: Vec<(String, u32)> = crate::catalogue().iter().map(|i| (i.name.to_string(), i.cost)).collect();
    for (name, cost) in [
        ("stylize", 10),
        ("analyze_faces", 5),
        ("smart_crop", 3),
        ("draw_annotations", 1),
        ("classify", 3),
        ("moderate", 3),
    ] {
        assert!(costs.contains(&(name.to_string(), cost)), "{name}: {costs:?}");
    }
}

#[test]
fn smart_crop_and_draw_annotations_survive_extreme_shapes_and_faces_past_the_edges() {
    let fake = FakeModels::default();
    for (w, h) in [(1, 1), (1, 3000), (3000, 1), (7, 5)] {
        let image = DynamicImage::ImageRgb8(RgbImage::from_pixel(w, h, Rgb([0, 0, 255])));
        for step in ["smart_crop:width=16,height=9", "smart_crop:width=1,height=1,faces=false"] {
            let (out, _) = run_on(image.clone(), &[step], &fake).unwrap_or_else(|e| panic!("{w}x{h} {step}: {e}"));
            let asked: Vec<u32> = step.split(['=', ',']).filter_map(|v| v.parse().ok()).collect();
            assert_eq!((out.width(), out.height()), (asked[0], asked[1]), "{w}x{h} {step}");
        }
        let (out, _) = run_on(image, &["detect_faces", "draw_annotations"], &fake).unwrap();
        assert_eq!((out.width(), out.height()), (w, h));
    }
    // A box that reaches past every edge is clipped, not a panic.
    let wide =
        DynamicImage::ImageRgb8(RgbImage::from_fn(
            40,
            30,
            |x, _| if x < 2 { Rgb([0, 0, 255]) } else { Rgb([9, 9, 9]) },
        ));
    run_on(wide, &["detect_faces", "flip", "draw_annotations"], &fake).unwrap();
}
