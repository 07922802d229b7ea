//! BlazeFace on real photos: scikit-image's astronaut (one face, landmarks where a face
//! has them), the same face in a wider frame (the letterbox is undone), a photo with no
//! face, her face pasted small into a big photo (found by the tiled passes only), and
//! images too thin or too small to hold a face.

use atelier_vision::faces::tiles;
use atelier_vision::{Face, FaceOptions};
use image::{Rgb, RgbImage};

use crate::support;

fn photo(name: &str) -> RgbImage {
    image::open(support::repo().join("test-data/photos").join(name)).unwrap().to_rgb8()
}

#[test]
fn the_astronaut_has_exactly_one_face_with_eyes_above_nose_above_mouth_inside_its_box() {
    let Some(vision) = support::vision() else { return };
    let faces = vision.detect_faces(&photo("astronaut.jpg"), FaceOptions::default()).unwrap();
    assert_eq!(faces.len(), 1, "{faces:#?}");
    let face = faces[0];
    let [right_eye, left_eye, nose, mouth, ..] =
        [Face::RIGHT_EYE, Face::LEFT_EYE, Face::NOSE, Face::MOUTH, 0, 0].map(|k| face.landmarks[k]);
    assert!(face.score > 0.6, "{face:?}");
    // The person's right eye is on the image's left.
    assert!(right_eye[0] < left_eye[0], "{face:?}");
    let eyes_y = right_eye[1].max(left_eye[1]);
    assert!(eyes_y < nose[1] && nose[1] < mouth[1], "{face:?}");
    // The nose sits between the eyes.
    assert!(right_eye[0] < nose[0] && nose[0] < left_eye[0], "{face:?}");
    for (k, point) in face.landmarks.iter().enumerate() {
        assert!(face.bbox.contains(*point), "keypoint {k} at {point:?} is outside {:?}", face.bbox);
    }
    // Her face is in the upper middle of the portrait, and a plausible size.
    let (cx, cy) = (face.bbox.x + face.bbox.width / 2.0, face.bbox.y + face.bbox.height / 2.0);
    assert!((80.0..180.0).contains(&cx) && (40.0..140.0).contains(&cy), "{face:?}");
    assert!((40.0..140.0).contains(&face.bbox.width), "{face:?}");
}

#[test]
fn a_face_in_a_wider_frame_maps_back_to_where_it_was_pasted() {
    let Some(vision) = support::vision() else { return };
    let astronaut = photo("astronaut.jpg");
    let direct = vision.detect_faces(&astronaut, FaceOptions::default()).unwrap();
    // 400 x 300 grey frame: the longer side is scaled 0.64 and the bottom is padded.
    let (ox, oy) = (120, 30);
    let mut frame = RgbImage::from_pixel(400, 300, Rgb([128, 128, 128]));
    image::imageops::replace(&mut frame, &astronaut, ox, oy);
    let framed = vision.detect_faces(&frame, FaceOptions::default()).unwrap();
    assert_eq!(framed.len(), 1, "{framed:#?}");
    let (a, b) = (direct[0], framed[0]);
    // Within a few source pixels: the face was seen at 0.64 scale.
    let near = |p: f32, q: f32| (p - q).abs() < 6.0;
    assert!(near(a.bbox.x + ox as f32, b.bbox.x) && near(a.bbox.y + oy as f32, b.bbox.y), "{a:?}\n{b:?}");
    assert!(near(a.bbox.width, b.bbox.width) && near(a.bbox.height, b.bbox.height), "{a:?}\n{b:?}");
    let nose = |f: &Face| f.landmarks[Face::NOSE];
    assert!(near(nose(&a)[0] + ox as f32, nose(&b)[0]) && near(nose(&a)[1] + oy as f32, nose(&b)[1]));
}

#[test]
fn a_photo_without_people_has_no_face() {
    let Some(vision) = support::vision() else { return };
    let faces = vision.detect_faces(&photo("rocket.jpg"), FaceOptions::default()).unwrap();
    assert!(faces.is_empty(), "{faces:#?}");
}

/// The astronaut's face with some of her head around it: 86 px square, her face box
/// (about 53 px) in the middle.
fn astronaut_face() -> RgbImage {
    image::imageops::crop_imm(&photo("astronaut.jpg"), 70, 20, 86, 86).to_image()
}

/// The face area scaled to `side` pixels and pasted with its top-left at `at`; returns where
/// the face's centre went.
fn paste_face(canvas: &mut RgbImage, face: &RgbImage, side: u32, at: (u32, u32)) -> [f32; 2] {
    let scaled = image::imageops::resize(face, side, side, image::imageops::FilterType::Triangle);
    image::imageops::replace(canvas, &scaled, i64::from(at.0), i64::from(at.1));
    [at.0 as f32 + side as f32 / 2.0, at.1 as f32 + side as f32 / 2.0]
}

fn centre(face: &Face) -> [f32; 2] {
    [face.bbox.x + face.bbox.width / 2.0, face.bbox.y + face.bbox.height / 2.0]
}

#[test]
fn a_face_of_the_smallest_reliable_size_is_found_at_the_tiles_threshold_wherever_it_sits() {
    let Some(vision) = support::vision() else { return };
    // Her face box is 53 / 86 of the pasted area: 39 px of area is a 24 px face.
    let side = (tiles::MIN_FACE_INPUT * 86.0 / 53.0).ceil() as u32;
    let strict = FaceOptions { threshold: FaceOptions::default().tile_threshold, ..FaceOptions::default() };
    let face = astronaut_face();
    for k in 0..12u32 {
        let mut canvas = RgbImage::from_fn(256, 256, |x, y| {
            Rgb([(90 + (x * 3 + y * 5) % 60) as u8, 110, (140 - (x + y) % 40) as u8])
        });
        let at = ((k * 37 + 5) % (250 - side), (k * 71 + 11) % (250 - side));
        let want = paste_face(&mut canvas, &face, side, at);
        let faces = vision.detect_faces(&canvas, strict).unwrap();
        assert_eq!(faces.iter().filter(|f| f.bbox.contains(want)).count(), 1, "at {at:?}: {faces:#?}");
    }
}

#[test]
fn small_faces_in_a_big_photo_are_found_by_the_tiles_once_each_and_missed_by_one_pass() {
    let Some(vision) = support::vision() else { return };
    let (width, height) = (3000, 2000);
    let backdrop = photo("rocket.jpg");
    let mut canvas = image::imageops::resize(&backdrop, width, height, image::imageops::FilterType::Triangle);
    let face = astronaut_face();
    // Face boxes of 86 to 105 px (one pass sees them at 7 to 9 px, the tiles at 26 to 31):
    // some in the open, some across the edges of tiles (the 855 px tiles start at x 0, 536,
    // 1073, 1609, 2145 and y 0, 573, 1145), one in the photo's top-right corner (flush with
    // the bottom edge, her chin costs her score: 0.72 there, 0.88 20 px up). A large face
    // (500 px) is the whole-image pass's, while the tiles see only parts of it.
    let small = [(140, (785, 230)), (150, (1010, 1090)), (150, (200, 950)), (160, (1850, 360)), (170, (2330, 1330))];
    let mut wanted: Vec<([f32; 2], u32)> =
        small.iter().map(|&(side, at)| (paste_face(&mut canvas, &face, side, at), side)).collect();
    let corner = paste_face(&mut canvas, &face, 150, (width - 150, 0));
    wanted.push((corner, 150));
    let large = (paste_face(&mut canvas, &face, 800, (1300, 700)), 800);

    let one_pass = vision.detect_faces(&canvas, FaceOptions { tiles: false, ..FaceOptions::default() }).unwrap();
    for (want, side) in &wanted {
        assert!(!one_pass.iter().any(|f| f.bbox.contains(*want)), "one pass found the {side} px face: {one_pass:#?}");
    }
    assert_eq!(one_pass.iter().filter(|f| f.bbox.contains(large.0)).count(), 1, "{one_pass:#?}");

    let tiled = vision.detect_faces(&canvas, FaceOptions::default()).unwrap();
    wanted.push(large);
    for (want, side) in &wanted {
        let hits: Vec<&Face> = tiled.iter().filter(|f| f.bbox.contains(*want)).collect();
        assert_eq!(hits.len(), 1, "the {side} px face at {want:?}: {tiled:#?}");
        // Her face box is about 0.62 of the pasted side, centred on it.
        let (got, side) = (centre(hits[0]), *side as f32);
        assert!((got[0] - want[0]).abs() < 0.1 * side && (got[1] - want[1]).abs() < 0.15 * side, "{got:?} {want:?}");
        assert!((0.45 * side..0.8 * side).contains(&hits[0].bbox.width), "{side}: {:?}", hits[0]);
    }
    assert_eq!(tiled.len(), wanted.len(), "nothing else is a face: {tiled:#?}");
}

#[test]
fn the_astronaut_enlarged_past_the_tiling_size_still_has_exactly_one_face() {
    let Some(vision) = support::vision() else { return };
    let big = image::imageops::resize(&photo("astronaut.jpg"), 1200, 1200, image::imageops::FilterType::Triangle);
    assert!(!tiles::layout(1200, 1200).is_empty(), "the tiles do run");
    let tiled = vision.detect_faces(&big, FaceOptions::default()).unwrap();
    let one_pass = vision.detect_faces(&big, FaceOptions { tiles: false, ..FaceOptions::default() }).unwrap();
    assert_eq!(tiled.len(), 1, "{tiled:#?}");
    assert_eq!(one_pass.len(), 1, "{one_pass:#?}");
    // The same face, whichever pass gave it.
    assert!(tiled[0].bbox.iou(&one_pass[0].bbox) > 0.7, "{tiled:?}\n{one_pass:?}");
}

#[test]
fn slivers_and_single_pixels_give_no_face_and_an_empty_image_an_error() {
    let Some(vision) = support::vision() else { return };
    for (w, h) in [(1, 1), (4000, 3), (3, 4000), (600, 1)] {
        let image = RgbImage::from_pixel(w, h, Rgb([128, 128, 128]));
        assert!(!tiles::layout(w, h).is_empty() || w.max(h) <= tiles::TILE_FROM);
        let faces = vision.detect_faces(&image, FaceOptions::default()).unwrap();
        assert!(faces.is_empty(), "{w}x{h}: {faces:?}");
    }
    assert!(vision.detect_faces(&RgbImage::new(0, 0), FaceOptions::default()).is_err());
}
