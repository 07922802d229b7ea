//! BlazeFace's pure steps on synthetic inputs: anchor order, decoding, NMS, letterbox.

use super::*;

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() < 1e-4
}

fn face(x: f32, y: f32, side: f32, score: f32) -> Face {
    Face { bbox: FaceBox { x, y, width: side, height: side }, landmarks: [[0.0; 2]; 6], score }
}

#[test]
fn anchors_run_row_by_row_with_x_before_y_and_the_fine_grid_first() {
    let a = anchors();
    assert_eq!(a.len(), ANCHORS);
    // Two anchors per 16x16 cell share a centre; the next cell is one step right.
    assert_eq!(a[0], [0.5 / 16.0, 0.5 / 16.0]);
    assert_eq!(a[1], a[0]);
    assert_eq!(a[2], [1.5 / 16.0, 0.5 / 16.0]);
    // Cell (x 0, y 1) comes after the 16 cells of the first row.
    assert_eq!(a[32], [0.5 / 16.0, 1.5 / 16.0]);
    // The coarse grid starts at 512, six anchors per cell.
    assert_eq!(a[511], [15.5 / 16.0, 15.5 / 16.0]);
    assert_eq!(a[512], [0.5 / 8.0, 0.5 / 8.0]);
    assert_eq!(a[517], a[512]);
    assert_eq!(a[518], [1.5 / 8.0, 0.5 / 8.0]);
    assert_eq!(a[895], [7.5 / 8.0, 7.5 / 8.0]);
}

#[test]
fn sigmoid_is_one_half_at_zero_and_stays_finite_for_huge_logits() {
    assert!(close(sigmoid(0.0), 0.5));
    assert_eq!(sigmoid(1e30), sigmoid(100.0));
    assert_eq!(sigmoid(-1e30), sigmoid(-100.0));
    assert!(sigmoid(f32::MAX).is_finite() && sigmoid(f32::MIN).is_finite());
    assert!(sigmoid(-100.0) >= 0.0 && sigmoid(100.0) <= 1.0);
}

#[test]
fn decoding_places_box_and_keypoints_relative_to_the_anchor_centre_in_input_pixels() {
    let mut logits = vec![-10.0; ANCHORS];
    let mut regressors = vec![0.0; ANCHORS * REGRESSORS];
    // Anchor 518: the coarse grid's cell (x 1, y 0), centre (48, 16) in a 256 input.
    let i = 518;
    logits[i] = 2.0;
    let r = &mut regressors[i * REGRESSORS..(i + 1) * REGRESSORS];
    r[..4].copy_from_slice(&[4.0, -2.0, 40.0, 50.0]);
    for k in 0..6 {
        r[4 + 2 * k] = k as f32;
        r[5 + 2 * k] = -(k as f32);
    }
    let faces = decode(&logits, &regressors, 256, 0.6);
    assert_eq!(faces.len(), 1);
    let f = faces[0];
    assert!(close(f.score, sigmoid(2.0)));
    assert!(close(f.bbox.x, 48.0 + 4.0 - 20.0) && close(f.bbox.y, 16.0 - 2.0 - 25.0));
    assert!(close(f.bbox.width, 40.0) && close(f.bbox.height, 50.0));
    for k in 0..6 {
        assert!(close(f.landmarks[k][0], 48.0 + k as f32) && close(f.landmarks[k][1], 16.0 - k as f32));
    }
}

#[test]
fn decoding_keeps_scores_at_the_threshold_and_drops_those_below() {
    let mut logits = vec![-10.0; ANCHORS];
    logits[3] = 0.0; // exactly 0.5
    logits[700] = -0.01; // just under 0.5
    let faces = decode(&logits, &vec![0.0; ANCHORS * REGRESSORS], 256, 0.5);
    assert_eq!(faces.len(), 1);
    assert!(close(faces[0].score, 0.5));
}

#[test]
fn iou_is_one_for_the_same_box_zero_for_disjoint_and_a_third_for_half_overlap() {
    let a = FaceBox { x: 0.0, y: 0.0, width: 10.0, height: 10.0 };
    assert!(close(a.iou(&a), 1.0));
    assert_eq!(a.iou(&FaceBox { x: 20.0, ..a }), 0.0);
    assert_eq!(a.iou(&FaceBox { x: 10.0, ..a }), 0.0, "touching edges do not overlap");
    assert!(close(a.iou(&FaceBox { x: 5.0, ..a }), 50.0 / 150.0));
    let empty = FaceBox { x: 0.0, y: 0.0, width: 0.0, height: 0.0 };
    assert_eq!(empty.iou(&empty), 0.0);
}

#[test]
fn nms_keeps_the_best_of_overlapping_faces_and_every_separate_face_best_first() {
    let faces = vec![
        face(0.0, 0.0, 10.0, 0.7),
        face(1.0, 1.0, 10.0, 0.9), // overlaps the first by IoU 0.68: wins
        face(100.0, 0.0, 10.0, 0.8),
        face(106.0, 0.0, 10.0, 0.75), // IoU 0.25 with the previous one: kept at 0.3
    ];
    let kept = nms(faces, 0.3);
    let scores: Vec<f32> = kept.iter().map(|f| f.score).collect();
    assert_eq!(scores, vec![0.9, 0.8, 0.75]);
    assert_eq!(nms(Vec::new(), 0.3), Vec::new());
}

#[test]
fn letterbox_scales_the_longer_side_to_the_input_and_pads_below_with_black() {
    let image = RgbImage::from_pixel(100, 50, Rgb([255, 255, 255]));
    let (input, placement) = letterbox(&image, 256).unwrap();
    assert_eq!(input.dimensions(), (256, 256));
    assert!(close(placement.scale_x, 2.56) && close(placement.scale_y, 2.56));
    assert_eq!(input.get_pixel(0, 0), &Rgb([255, 255, 255]));
    assert_eq!(input.get_pixel(255, 127), &Rgb([255, 255, 255]));
    assert_eq!(input.get_pixel(0, 128), &Rgb([0, 0, 0]));
    assert_eq!(input.get_pixel(255, 255), &Rgb([0, 0, 0]));

    // A tall image is padded on the right instead.
    let (input, _) = letterbox(&RgbImage::from_pixel(10, 40, Rgb([200, 0, 0])), 256).unwrap();
    assert_eq!(input.get_pixel(63, 10), &Rgb([200, 0, 0]));
    assert_eq!(input.get_pixel(64, 10), &Rgb([0, 0, 0]));
    assert!(letterbox(&RgbImage::new(0, 5), 256).is_err());
}

#[test]
fn undoing_the_letterbox_maps_input_pixels_back_to_source_pixels() {
    let (_, placement) = letterbox(&RgbImage::new(1000, 500), 256).unwrap();
    let mut f = face(25.6, 12.8, 51.2, 0.9);
    f.landmarks[Face::NOSE] = [128.0, 64.0];
    let back = placement.to_source(&f);
    assert!(close(back.bbox.x, 100.0) && close(back.bbox.y, 50.0) && close(back.bbox.width, 200.0));
    assert!(close(back.landmarks[Face::NOSE][0], 500.0) && close(back.landmarks[Face::NOSE][1], 250.0));
    assert_eq!(back.score, 0.9);
}

#[test]
fn pixels_become_rgb_in_minus_one_to_one_in_channel_last_order() {
    let mut image = RgbImage::new(2, 1);
    image.put_pixel(0, 0, Rgb([0, 255, 127]));
    image.put_pixel(1, 0, Rgb([255, 0, 0]));
    let t = to_tensor(&image);
    assert_eq!(t.len(), 6);
    assert!(close(t[0], -1.0) && close(t[1], 1.0) && close(t[2], 127.0 / 127.5 - 1.0));
    assert!(close(t[3], 1.0) && close(t[4], -1.0));
}
