//! Annotations following the pixels: every affine motion moves boxes and landmarks exactly,
//! anything else drops them with a note, and the JSON form names every landmark.

use serde_json::json;

use super::{Annotations, Motion};
use crate::models::{DigitReading, FaceAnnotation, FaceAttributes};
use crate::ops::OpName;

/// A 20 x 10 face at (10, 20) in a 100 x 80 image, its right eye at (14, 24).
fn face() -> FaceAnnotation {
    FaceAnnotation {
        x: 10.0,
        y: 20.0,
        width: 20.0,
        height: 10.0,
        score: 0.9,
        landmarks: [[14.0, 24.0], [26.0, 24.0], [20.0, 26.0], [20.0, 28.0], [11.0, 25.0], [29.0, 25.0]],
        attributes: None,
    }
}

fn with_face() -> Annotations {
    Annotations { faces: Some(vec![face()]), ..Annotations::default() }
}

/// The face's box and right eye after `motion`, or `None` when it was dropped.
fn moved(motion: Motion, size: (u32, u32)) -> Option<([f32; 4], [f32; 2])> {
    let mut annotations = with_face();
    annotations.follow(motion, size, 1, OpName::Resize);
    let faces = annotations.faces.expect("faces survive an affine motion");
    faces.first().map(|f| ([f.x, f.y, f.width, f.height], f.landmarks[0]))
}

#[test]
fn each_affine_motion_moves_the_box_and_the_landmarks_exactly() {
    let (w, h) = (100.0, 80.0);
    let cases = [
        ("halved", Motion::scale_shift(0.5, 0.0, 0.5, 0.0), (50, 40), ([5.0, 10.0, 10.0, 5.0], [7.0, 12.0])),
        (
            "cropped at (5, 10)",
            Motion::scale_shift(1.0, -5.0, 1.0, -10.0),
            (50, 50),
            ([5.0, 10.0, 20.0, 10.0], [9.0, 14.0]),
        ),
        ("mirrored", Motion::scale_shift(-1.0, w, 1.0, 0.0), (100, 80), ([70.0, 20.0, 20.0, 10.0], [86.0, 24.0])),
        (
            "turned 90 clockwise",
            Motion::Affine([0.0, -1.0, h, 1.0, 0.0, 0.0]),
            (80, 100),
            ([50.0, 10.0, 10.0, 20.0], [56.0, 14.0]),
        ),
        (
            "turned 270 clockwise",
            Motion::Affine([0.0, 1.0, 0.0, -1.0, 0.0, w]),
            (80, 100),
            ([20.0, 70.0, 10.0, 20.0], [24.0, 86.0]),
        ),
    ];
    for (name, motion, size, expected) in cases {
        assert_eq!(moved(motion, size), Some(expected), "{name}");
    }
}

#[test]
fn a_face_cropped_wholly_away_is_dropped_and_one_cut_by_the_edge_is_kept_unclipped() {
    assert_eq!(moved(Motion::scale_shift(1.0, -40.0, 1.0, 0.0), (60, 80)), None);
    let cut = moved(Motion::scale_shift(1.0, -20.0, 1.0, 0.0), (80, 80));
    assert_eq!(cut.map(|(bbox, _)| bbox), Some([-10.0, 20.0, 20.0, 10.0]));
}

#[test]
fn a_motion_boxes_cannot_follow_drops_faces_and_digits_with_a_note_and_keeps_the_number() {
    let digit = DigitReading { digit: 7, probabilities: [0.1; 10], bbox: [1.0, 2.0, 3.0, 4.0] };
    let mut annotations = Annotations { digits: Some(vec![digit]), number: Some("7".into()), ..with_face() };
    annotations.follow(Motion::Lost, (10, 10), 2, OpName::Rotate);
    assert_eq!(
        annotations,
        Annotations {
            number: Some("7".into()),
            notes: vec![
                "faces and digits dropped at step 2 (rotate): boxes cannot follow its change of geometry".into()
            ],
            ..Annotations::default()
        }
    );
    let mut nothing = Annotations::default();
    nothing.follow(Motion::Lost, (10, 10), 2, OpName::Rotate);
    assert!(nothing.is_empty(), "no note when nothing was lost: {nothing:?}");
}

#[test]
fn digit_boxes_follow_a_resize_even_outside_the_image() {
    let digit = DigitReading { digit: 1, probabilities: [0.0; 10], bbox: [10.0, 10.0, 4.0, 8.0] };
    let mut annotations = Annotations { digits: Some(vec![digit]), ..Annotations::default() };
    annotations.follow(Motion::scale_shift(2.0, -30.0, 2.0, 0.0), (10, 40), 0, OpName::Resize);
    assert_eq!(annotations.digits.unwrap()[0].bbox, [-10.0, 20.0, 8.0, 16.0]);
}

#[test]
fn faces_serialise_with_a_box_and_named_landmarks_and_read_back() {
    let annotations = Annotations { number: Some("42".into()), ..with_face() };
    let value = serde_json::to_value(&annotations).unwrap();
    assert_eq!(
        value,
        json!({
            "faces": [{
                "box": {"x": 10.0, "y": 20.0, "width": 20.0, "height": 10.0},
                "score": 0.8999999761581421,
                "landmarks": {
                    "right_eye": [14.0, 24.0], "left_eye": [26.0, 24.0], "nose": [20.0, 26.0],
                    "mouth": [20.0, 28.0], "right_ear": [11.0, 25.0], "left_ear": [29.0, 25.0]
                }
            }],
            "number": "42"
        })
    );
    assert_eq!(serde_json::from_value::<Annotations>(value).unwrap(), annotations);
    assert_eq!(serde_json::to_value(Annotations::default()).unwrap(), json!({}));
}

#[test]
fn face_attributes_read_as_a_gender_with_its_confidence_and_named_emotions_and_read_back_the_same() {
    let attributes = FaceAttributes { age: 31.5, male: 0.25, emotions: [0.0, 0.0, 0.0, 0.75, 0.0, 0.0, 0.25] };
    let analysed = FaceAnnotation { attributes: Some(attributes), ..face() };
    let json = serde_json::to_value(analysed).unwrap();
    assert_eq!(
        json["attributes"],
        json!({
            "age": 31.5, "gender": "female", "gender_confidence": 0.75, "emotion": "happy",
            "emotions": {"angry": 0.0, "disgust": 0.0, "fear": 0.0, "happy": 0.75, "sad": 0.0, "surprise": 0.0, "neutral": 0.25}
        })
    );
    let back: FaceAnnotation = serde_json::from_value(json).unwrap();
    assert_eq!(back, analysed);
    // A face nobody analysed says nothing about attributes.
    assert!(serde_json::to_value(face()).unwrap().get("attributes").is_none());
}
