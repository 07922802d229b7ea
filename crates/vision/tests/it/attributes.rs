//! Face attributes and moderation on real photos: the astronaut (Eileen Collins) reads as
//! an adult woman, batching changes nothing, a face cut by the frame still works, and
//! everyday photos (astronaut, cat, coffee, rocket) are `neutral` to the moderation model.

use atelier_vision::{FaceAttributes, FaceBox, FaceOptions, Vision, EMOTIONS, NSFW_LABELS};
use image::RgbImage;

use crate::support;

fn photo(name: &str) -> RgbImage {
    image::open(support::repo().join("test-data/photos").join(name)).unwrap().to_rgb8()
}

fn astronaut_face(vision: &Vision, image: &RgbImage) -> FaceBox {
    let faces = vision.detect_faces(image, FaceOptions::default()).unwrap();
    assert_eq!(faces.len(), 1, "{faces:#?}");
    faces[0].bbox
}

fn sums_to_one(probs: &[f32]) -> bool {
    probs.iter().all(|p| (0.0..=1.0).contains(p)) && (probs.iter().sum::<f32>() - 1.0).abs() < 1e-3
}

fn top(probs: &[f32]) -> usize {
    (0..probs.len()).max_by(|&a, &b| probs[a].total_cmp(&probs[b])).unwrap()
}

fn same(a: &FaceAttributes, b: &FaceAttributes) -> bool {
    // Age is in years from indices 0..99, so its float error is that of the probabilities
    // times up to 100.
    let near = |x: f32, y: f32, tol: f32| (x - y).abs() <= tol;
    near(a.age, b.age, 1e-2)
        && near(a.male, b.male, 1e-4)
        && a.emotions.iter().zip(b.emotions).all(|(x, y)| near(*x, y, 1e-4))
}

#[test]
fn the_astronaut_reads_as_an_adult_woman_with_emotions_summing_to_one() {
    let Some(vision) = support::vision() else { return };
    let image = photo("astronaut.jpg");
    let face = astronaut_face(vision, &image);
    let found = vision.analyze_faces(&image, &[face]).unwrap();
    assert_eq!(found.len(), 1);
    let a = found[0];
    eprintln!("astronaut: box {face:?}, {a:?}, top emotion {}", EMOTIONS[top(&a.emotions)]);
    assert!(a.male < 0.5, "Eileen Collins read as male: {a:?}");
    // SOURCES.md measured 31-34 (she was about 42); the estimate is rough, so only adult.
    assert!((20.0..=55.0).contains(&a.age), "{a:?}");
    assert!(sums_to_one(&a.emotions), "{a:?}");
}

#[test]
fn faces_batched_in_one_call_match_the_same_faces_one_at_a_time() {
    let Some(vision) = support::vision() else { return };
    let image = photo("astronaut.jpg");
    let face = astronaut_face(vision, &image);
    // 35 different crops (more than one chunk of 32): the box shifted and scaled a little.
    let boxes: Vec<FaceBox> = (0..35)
        .map(|i| {
            let (dx, dy, grow) = ((i % 5) as f32 * 3.0 - 6.0, (i / 5) as f32 * 2.0 - 6.0, 1.0 + (i % 3) as f32 * 0.1);
            FaceBox { x: face.x + dx, y: face.y + dy, width: face.width * grow, height: face.height * grow }
        })
        .collect();
    let batched = vision.analyze_faces(&image, &boxes).unwrap();
    assert_eq!(batched.len(), boxes.len());
    for (i, (b, bbox)) in batched.iter().zip(&boxes).enumerate() {
        let alone = vision.analyze_faces(&image, std::slice::from_ref(bbox)).unwrap();
        assert!(same(b, &alone[0]), "box {i} {bbox:?}: batched {b:?}, alone {:?}", alone[0]);
    }
    // The crops differ, so the results do too: the order is the boxes' order, not one
    // result repeated.
    assert!(batched.iter().any(|b| !same(b, &batched[0])), "{batched:?}");
}

#[test]
fn a_face_cut_by_the_frame_edge_is_still_analysed_and_one_wholly_outside_is_an_error() {
    let Some(vision) = support::vision() else { return };
    let image = photo("astronaut.jpg");
    let face = astronaut_face(vision, &image);
    // Cut the photo through the middle of her face: the left part of the square crop is
    // now past the frame's edge and filled black.
    let cut = (face.x + face.width * 0.3) as u32;
    let cropped = image::imageops::crop_imm(&image, cut, 0, image.width() - cut, image.height()).to_image();
    let shifted = FaceBox { x: face.x - cut as f32, ..face };
    let found = vision.analyze_faces(&cropped, &[shifted]).unwrap();
    let a = found[0];
    eprintln!("astronaut cut at x={cut}: {a:?}");
    assert!((0.0..=1.0).contains(&a.male) && (1.0..=100.0).contains(&a.age), "{a:?}");
    assert!(sums_to_one(&a.emotions), "{a:?}");

    let outside = FaceBox { x: image.width() as f32 + 50.0, ..face };
    let err = vision.analyze_faces(&image, &[face, outside]).unwrap_err();
    assert!(err.to_string().contains("face box 1"), "{err}");
}

#[test]
fn everyday_photos_are_neutral_to_the_moderation_model() {
    let Some(vision) = support::vision() else { return };
    let names = ["astronaut.jpg", "chelsea.png", "coffee-16bit.png", "rocket.jpg"];
    let photos: Vec<RgbImage> = names.iter().map(|name| photo(name)).collect();
    let refs: Vec<&RgbImage> = photos.iter().collect();
    let batched = vision.moderate(&refs).unwrap();
    assert_eq!(batched.len(), names.len());
    for ((name, probs), image) in names.iter().zip(&batched).zip(&refs) {
        eprintln!("moderation {name}: {probs:?}");
        assert_eq!(NSFW_LABELS[top(probs)], "neutral", "{name}: {probs:?}");
        assert!(sums_to_one(probs), "{name}: {probs:?}");
        let alone = vision.moderate(&[image]).unwrap();
        assert!(alone[0].iter().zip(probs).all(|(a, b)| (a - b).abs() < 1e-4), "{name}: {probs:?} vs {alone:?}");
    }
}
