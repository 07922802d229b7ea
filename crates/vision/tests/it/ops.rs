//! The newer vision ops end to end with the real models, through `Pipeline::run` as the
//! worker runs them: the astronaut analysed, classified, moderated, cropped around her face
//! and drawn on; a photo stylized; and `Pipeline::check_models` loading what a pipeline needs.

use atelier_imaging::{Limits, NoAssets, Pipeline, RunEnv, RunOutput};

use crate::support;

fn run(steps: &[&str], photo: &str) -> Option<RunOutput> {
    let vision = support::vision()?;
    let bytes = std::fs::read(support::repo().join("test-data/photos").join(photo)).unwrap();
    let pipeline = Pipeline::parse_inline(steps).unwrap();
    pipeline.check_models(vision).unwrap();
    let env = RunEnv { limits: &Limits::default(), assets: &NoAssets, models: vision };
    Some(pipeline.run(&bytes, env).unwrap())
}

#[test]
fn the_astronaut_is_analysed_classified_moderated_and_her_face_kept_by_smart_crop() {
    let steps = ["analyze_faces", "classify:top_k=3", "moderate", "smart_crop:width=96,height=192", "draw_annotations"];
    let Some(run) = run(&steps, "astronaut.jpg") else { return };
    let output = &run.outputs[0];
    let annotations = &output.annotations;
    let faces = annotations.faces.as_deref().unwrap();
    assert_eq!(faces.len(), 1, "{annotations:#?}");
    let attributes = faces[0].attributes.expect("analysed");
    assert!(attributes.male < 0.5 && (18.0..60.0).contains(&attributes.age), "{attributes:?}");
    assert_eq!(annotations.labels.as_ref().unwrap().len(), 3);
    let moderation = annotations.moderation.as_ref().unwrap();
    assert!(!moderation.needs_review, "{moderation:?}");
    // A 1:2 window of the 512 x 512 portrait keeps her whole face, moved into the crop's pixels.
    assert_eq!((output.width, output.height), (96, 192));
    let face = faces[0];
    assert!(face.x >= 0.0 && face.x + face.width <= 96.0, "{face:?}");
    assert!(face.y >= 0.0 && face.y + face.height <= 192.0, "{face:?}");
    let json = serde_json::to_value(annotations).unwrap();
    assert_eq!(json["faces"][0]["attributes"]["gender"], "female", "{json}");
}

#[test]
fn a_stylized_photo_keeps_its_size_and_changes_clearly_while_strength_zero_keeps_it() {
    let Some(styled) = run(&["stylize:style=5", "convert:format=png"], "chelsea.png") else { return };
    let Some(kept) = run(&["stylize:style=5,strength=0", "convert:format=png"], "chelsea.png") else { return };
    let original = image::open(support::repo().join("test-data/photos/chelsea.png")).unwrap().to_rgb8();
    let decode = |run: &RunOutput| image::load_from_memory(&run.outputs[0].bytes).unwrap().to_rgb8();
    let (styled, kept) = (decode(&styled), decode(&kept));
    assert_eq!(styled.dimensions(), original.dimensions());
    let mad = |a: &image::RgbImage| {
        let total: u64 = a.as_raw().iter().zip(original.as_raw()).map(|(&p, &q)| u64::from(p.abs_diff(q))).sum();
        total as f64 / a.as_raw().len() as f64 / 255.0
    };
    assert!(mad(&styled) > 0.05, "style 5 barely changed the photo: {}", mad(&styled));
    assert!(mad(&kept) < 0.01, "strength 0 changed the photo: {}", mad(&kept));
}
