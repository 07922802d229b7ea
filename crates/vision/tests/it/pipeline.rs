//! The vision ops in real pipelines: `Vision` handed to the imaging core as its `Models`,
//! run through `Pipeline::run` the way the CLI and the worker will run them.

use atelier_imaging::{FaceAnnotation, Limits, NoAssets, Pipeline, RunEnv, RunOutput};
use image::{DynamicImage, GrayImage, Luma, RgbImage};

use crate::{digits, support};

fn run(steps: &[&str], input: &[u8]) -> Option<RunOutput> {
    let vision = support::vision()?;
    let pipeline = Pipeline::parse_inline(steps).unwrap();
    let env = RunEnv { limits: &Limits::default(), assets: &NoAssets, models: vision };
    Some(pipeline.run(input, env).unwrap())
}

/// Mean absolute difference over the pixels of `[x0, x1) x [y0, y1)`, all channels, 0..255.
fn difference(a: &RgbImage, b: &RgbImage, (x0, y0, x1, y1): (u32, u32, u32, u32)) -> f64 {
    let mut total = 0u64;
    for y in y0..y1 {
        for x in x0..x1 {
            let (p, q) = (a.get_pixel(x, y).0, b.get_pixel(x, y).0);
            total += p.iter().zip(q).map(|(&u, v)| u64::from(u.abs_diff(v))).sum::<u64>();
        }
    }
    total as f64 / f64::from((x1 - x0) * (y1 - y0) * 3)
}

#[test]
fn blurring_the_astronauts_detected_face_changes_her_face_and_not_the_far_corner() {
    let bytes = std::fs::read(support::repo().join("test-data/photos/astronaut.jpg")).unwrap();
    let Some(run) = run(&["detect_faces", "blur_faces", "convert:format=png"], &bytes) else { return };
    let output = &run.outputs[0];
    let faces = output.annotations.faces.as_deref().unwrap_or_default();
    assert_eq!(faces.len(), 1, "{:#?}", output.annotations);
    let face = faces[0];
    let [right_eye, left_eye, nose, mouth, ..] = face.landmarks;
    // The person's right eye is on the image's left; eyes above the nose above the mouth.
    assert!(right_eye[0] < nose[0] && nose[0] < left_eye[0], "{face:?}");
    assert!(right_eye[1].max(left_eye[1]) < nose[1] && nose[1] < mouth[1], "{face:?}");
    let json = serde_json::to_value(&output.annotations).unwrap();
    let landmarks = &json["faces"][0]["landmarks"];
    for (name, point) in FaceAnnotation::LANDMARKS.iter().zip(face.landmarks) {
        assert_eq!(landmarks[name], serde_json::json!(point), "{name} in {json}");
    }

    // The pixels the pipeline started from, decoded the same way.
    let before = atelier_imaging::decode(&bytes, &Limits::default(), None).unwrap().image.to_rgb8();
    let after = image::load_from_memory(&output.bytes).unwrap().to_rgb8();
    let inside = (face.x as u32, face.y as u32, (face.x + face.width) as u32, (face.y + face.height) as u32);
    let changed = difference(&before, &after, inside);
    assert!(changed > 15.0, "the face changed by only {changed:.1} on average");
    let (w, h) = before.dimensions();
    assert_eq!(difference(&before, &after, (w - 40, h - 40, w, h)), 0.0, "the far corner changed");
}

#[test]
fn a_number_drawn_with_held_out_digits_is_read_by_recognize_digit() {
    let Some(held_out) = digits::held_out() else { return };
    let wanted = [3u8, 1, 9];
    let mut photo = GrayImage::from_pixel(340, 140, Luma([232]));
    for (slot, label) in wanted.iter().enumerate() {
        let digit = held_out.iter().find(|d| d.label == *label).unwrap();
        digits::draw(&mut photo, digit, (20 + slot as u32 * 100, 25 + (slot as u32 % 2) * 20));
    }
    let mut png = std::io::Cursor::new(Vec::new());
    DynamicImage::ImageLuma8(photo).write_to(&mut png, image::ImageFormat::Png).unwrap();
    let Some(run) = run(&["recognize_digit"], png.get_ref()) else { return };
    let annotations = &run.outputs[0].annotations;
    assert_eq!(annotations.number.as_deref(), Some("319"), "{annotations:#?}");
    let read = annotations.digits.as_deref().unwrap_or_default();
    let labels: Vec<u8> = read.iter().map(|d| d.digit).collect();
    assert_eq!(labels, wanted);
    assert!(read.windows(2).all(|w| w[0].bbox[0] < w[1].bbox[0]), "{read:#?}");
}
