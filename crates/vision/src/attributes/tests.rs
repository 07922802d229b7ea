//! The attribute models' pure steps on synthetic inputs: the square crop (inside, across
//! and outside the photo's edge, degenerate boxes), both input encodings, age decoding.

use super::*;

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() < 1e-4
}

fn bbox(x: f32, y: f32, width: f32, height: f32) -> FaceBox {
    FaceBox { x, y, width, height }
}

/// Every pixel a different colour, so a crop shows exactly where it came from.
fn gradient(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| Rgb([(x * 10) as u8, (y * 10) as u8, 7]))
}

#[test]
fn the_square_is_a_fifth_wider_than_the_longer_side_and_shares_the_box_centre() {
    let square = square_around(&bbox(10.0, 20.0, 40.0, 60.0)).unwrap();
    assert!(close(square.side, 72.0), "{square:?}");
    assert!(close(square.x + square.side / 2.0, 30.0) && close(square.y + square.side / 2.0, 50.0), "{square:?}");
    assert!(close(square.x, -6.0) && close(square.y, 14.0), "{square:?}");
}

#[test]
fn boxes_without_a_positive_finite_size_or_position_have_no_square() {
    for face in [
        bbox(0.0, 0.0, 0.0, 10.0),
        bbox(0.0, 0.0, 10.0, 0.0),
        bbox(0.0, 0.0, -5.0, 10.0),
        bbox(f32::NAN, 0.0, 10.0, 10.0),
        bbox(0.0, 0.0, f32::INFINITY, 10.0),
        bbox(0.0, 0.0, f32::MAX, f32::MAX),
    ] {
        assert_eq!(square_around(&face), None, "{face:?}");
    }
}

#[test]
fn a_square_inside_the_photo_at_the_output_size_is_a_plain_copy() {
    let image = gradient(10, 10);
    let crop = crop_square(&image, Square { x: 2.0, y: 3.0, side: 4.0 }, 4).unwrap();
    assert_eq!(crop.dimensions(), (4, 4));
    for (x, y, pixel) in crop.enumerate_pixels() {
        assert_eq!(pixel, image.get_pixel(x + 2, y + 3), "at {x},{y}");
    }
}

#[test]
fn the_part_of_a_square_past_the_photo_edge_is_black() {
    let image = RgbImage::from_pixel(10, 10, Rgb([255, 255, 255]));
    // Half past the left edge, a fifth past the bottom; scaled 10 -> 20.
    let crop = crop_square(&image, Square { x: -5.0, y: 2.0, side: 10.0 }, 20).unwrap();
    assert_eq!(crop.dimensions(), (20, 20));
    assert_eq!(crop.get_pixel(9, 5), &Rgb([0, 0, 0]));
    assert_eq!(crop.get_pixel(10, 5), &Rgb([255, 255, 255]));
    assert_eq!(crop.get_pixel(19, 15), &Rgb([255, 255, 255]));
    assert_eq!(crop.get_pixel(19, 16), &Rgb([0, 0, 0]));
}

#[test]
fn a_square_wholly_outside_the_photo_or_on_an_empty_photo_is_an_error() {
    let image = gradient(10, 10);
    assert!(crop_square(&image, Square { x: 10.0, y: 0.0, side: 5.0 }, 64).is_err());
    assert!(crop_square(&image, Square { x: -50.0, y: -50.0, side: 20.0 }, 64).is_err());
    assert!(crop_square(&image, Square { x: 0.0, y: 1e30, side: 5.0 }, 64).is_err());
    assert!(crop_square(&RgbImage::new(0, 0), Square { x: 0.0, y: 0.0, side: 5.0 }, 64).is_err());
}

#[test]
fn huge_tiny_and_one_pixel_cases_give_a_crop_of_the_output_size() {
    let image = gradient(10, 10);
    let cases = [
        (&image, Square { x: -1e12, y: -1e12, side: 3e12 }),
        (&image, Square { x: 4.2, y: 4.2, side: 0.001 }),
        (&image, Square { x: -1.0, y: -1.0, side: 12.0 }),
    ];
    for (photo, square) in cases {
        assert_eq!(crop_square(photo, square, 64).unwrap().dimensions(), (64, 64), "{square:?}");
    }
    let dot = RgbImage::from_pixel(1, 1, Rgb([9, 9, 9]));
    let crop = crop_square(&dot, Square { x: 0.0, y: 0.0, side: 1.0 }, 64).unwrap();
    assert_eq!(crop.get_pixel(32, 32), &Rgb([9, 9, 9]));
    // A very wide photo: the square takes only the part around the box.
    let wide = RgbImage::from_pixel(5000, 2, Rgb([50, 60, 70]));
    assert_eq!(crop_square(&wide, Square { x: 100.0, y: -10.0, side: 22.0 }, 224).unwrap().dimensions(), (224, 224));
}

#[test]
fn age_gender_input_is_bgr_with_the_upstream_mean_removed_channel_last() {
    let mut crop = RgbImage::new(2, 1);
    crop.put_pixel(0, 0, Rgb([10, 20, 30]));
    crop.put_pixel(1, 0, Rgb([255, 0, 0]));
    let t = age_gender_tensor(&crop);
    assert_eq!(t.len(), 6);
    assert!(close(t[0], 30.0 - 103.939) && close(t[1], 20.0 - 116.779) && close(t[2], 10.0 - 123.68));
    assert!(close(t[3], -103.939) && close(t[4], -116.779) && close(t[5], 255.0 - 123.68));
}

#[test]
fn emotion_input_is_weighted_grey_in_minus_one_to_one() {
    let mut crop = RgbImage::new(4, 1);
    crop.put_pixel(0, 0, Rgb([0, 0, 0]));
    crop.put_pixel(1, 0, Rgb([255, 255, 255]));
    crop.put_pixel(2, 0, Rgb([255, 0, 0]));
    crop.put_pixel(3, 0, Rgb([0, 0, 255]));
    let t = emotion_tensor(&crop);
    assert_eq!(t.len(), 4);
    assert!(close(t[0], -1.0) && close(t[1], (0.9999 - 0.5) * 2.0));
    assert!(close(t[2], (0.2989 - 0.5) * 2.0) && close(t[3], (0.1140 - 0.5) * 2.0));
}

#[test]
fn age_is_one_plus_the_top_two_ages_weighted_by_their_renormalised_probabilities() {
    let mut probs = [0.0f32; 100];
    probs[30] = 1.0;
    assert!(close(decode_age(&probs), 31.0));
    probs[30] = 0.6;
    probs[10] = 0.3;
    probs[50] = 0.1; // third: ignored
    assert!(close(decode_age(&probs), 1.0 + (30.0 * 0.6 + 10.0 * 0.3) / 0.9));
    let mut tie = [0.0f32; 100];
    tie[20] = 0.5;
    tie[40] = 0.5;
    assert!(close(decode_age(&tie), 31.0));
}

#[test]
fn age_decoding_never_panics_on_degenerate_distributions() {
    assert_eq!(decode_age(&[]), 1.0);
    assert_eq!(decode_age(&[1.0]), 1.0);
    assert_eq!(decode_age(&[0.0; 100]), 1.0);
    assert!(decode_age(&[f32::NAN; 100]).is_finite());
}

#[test]
fn bad_boxes_fail_before_any_model_runs_and_no_boxes_run_nothing() {
    // No model directory at all: only a call that reaches a model can fail on that.
    let config = crate::SessionConfig { models: crate::ModelDir::new("/nonexistent"), ..Default::default() };
    let vision = Vision::new(config);
    let image = gradient(10, 10);
    assert_eq!(vision.analyze_faces(&image, &[]).unwrap(), Vec::new());
    for face in [bbox(1.0, 1.0, 0.0, 5.0), bbox(f32::NAN, 1.0, 5.0, 5.0), bbox(100.0, 100.0, 5.0, 5.0)] {
        let err = vision.analyze_faces(&image, &[bbox(1.0, 1.0, 5.0, 5.0), face]).unwrap_err();
        assert!(matches!(err, Error::Internal(_)), "{err}");
        assert!(err.to_string().contains("face box 1"), "{err}");
    }
    // A good box does reach the (missing) model.
    let err = vision.analyze_faces(&image, &[bbox(1.0, 1.0, 5.0, 5.0)]).unwrap_err();
    assert!(matches!(err, Error::ModelMissing { .. }), "{err}");
}
