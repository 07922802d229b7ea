//! BlazeFace on real photos: scikit-image's astronaut (one face, landmarks where a face
//! has them), the same face in a wider frame (the letterbox is undone), and a photo with
//! no face.

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
