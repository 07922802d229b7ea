//! Tile layout, mapping back and merging, on made-up sizes and faces (no model).

use super::*;

fn face(x: f32, y: f32, side: f32, score: f32) -> Face {
    Face { bbox: FaceBox { x, y, width: side, height: side }, landmarks: [[x, y]; 6], score }
}

/// Every pixel of the image is in some tile, no tile leaves the image, and neighbours
/// share at least `overlap` pixels on both axes.
fn check_cover(width: u32, height: u32, tiles: &[Tile], overlap: u32) {
    for t in tiles {
        assert!(t.x + t.width <= width && t.y + t.height <= height, "{t:?} leaves {width}x{height}");
    }
    for (len, starts, side) in [
        (width, distinct(tiles.iter().map(|t| t.x)), tiles[0].width),
        (height, distinct(tiles.iter().map(|t| t.y)), tiles[0].height),
    ] {
        assert_eq!(starts[0], 0);
        assert_eq!(starts.last().unwrap() + side, len, "the last tile is flush with the end");
        for pair in starts.windows(2) {
            assert!(pair[0] + side >= pair[1] + overlap, "{pair:?}: overlap under {overlap} (side {side})");
        }
    }
    // The grid is complete: every column start with every row start.
    let (columns, rows) = (distinct(tiles.iter().map(|t| t.x)).len(), distinct(tiles.iter().map(|t| t.y)).len());
    assert_eq!(tiles.len(), columns * rows);
}

fn distinct(values: impl Iterator<Item = u32>) -> Vec<u32> {
    let mut v: Vec<u32> = values.collect();
    v.sort_unstable();
    v.dedup();
    v
}

#[test]
fn images_up_to_twice_the_input_side_get_no_tiles() {
    for (w, h) in [(0, 0), (1, 1), (256, 256), (512, 512), (512, 10), (3, 512)] {
        assert!(layout(w, h).is_empty(), "{w}x{h}");
        assert_eq!(smallest_face(w, h), w.max(h) as f32 * MIN_FACE_INPUT / 256.0);
    }
    assert!(!layout(513, 400).is_empty());
}

#[test]
fn a_six_megapixel_photo_gets_at_most_sixteen_overlapping_tiles_that_cover_it() {
    let tiles = layout(3000, 2000);
    assert!((2..=MAX_TILES).contains(&tiles.len()), "{}", tiles.len());
    let side = tiles[0].width;
    assert!(tiles.iter().all(|t| t.width == side && t.height == side), "square tiles: {tiles:?}");
    // Overlap at least a quarter of a tile, and at least the smallest face one pass finds.
    let whole = 3000.0 * MIN_FACE_INPUT / 256.0;
    check_cover(3000, 2000, &tiles, (side / 4).max(whole.ceil() as u32));
    // The tiles lower the smallest face found about three and a half times.
    let small = smallest_face(3000, 2000);
    assert!(small < whole / 3.4 && small >= MIN_FACE_INPUT, "{small} vs {whole}");
    assert_eq!(small, side as f32 * MIN_FACE_INPUT / 256.0);
}

#[test]
fn tile_count_stays_bounded_and_the_tiles_cover_every_shape_of_image() {
    let sizes = [
        (513, 513),
        (640, 480),
        (1024, 768),
        (1920, 1080),
        (4000, 3000),
        (3000, 4000),
        (10_000, 10_000),
        (100_000, 1_000),
        (1, 100_000),
        (100_000, 300),
        (65_535, 65_535),
    ];
    for (w, h) in sizes {
        let tiles = layout(w, h);
        assert!(!tiles.is_empty() && tiles.len() <= MAX_TILES, "{w}x{h}: {} tiles", tiles.len());
        let side = tiles[0].width.max(tiles[0].height);
        assert!(side >= 256.min(w.max(h)), "{w}x{h}: tiles are never enlarged ({side})");
        check_cover(w, h, &tiles, side / 4);
        assert!(smallest_face(w, h) <= w.max(h) as f32 * MIN_FACE_INPUT / 256.0);
    }
    // A square 100-megapixel photo: 4 x 4 tiles, faces from about 1/33 of its side.
    let tiles = layout(10_000, 10_000);
    assert_eq!(tiles.len(), 16);
    assert!(smallest_face(10_000, 10_000) < 10_000.0 / 32.0, "{}", smallest_face(10_000, 10_000));
}

#[test]
fn a_tile_narrower_than_its_side_keeps_the_images_own_height() {
    // Shorter than a tile: one row of tiles as tall as the image.
    let tiles = layout(5000, 300);
    assert!(tiles.len() > 1);
    assert!(tiles.iter().all(|t| t.y == 0 && t.height == 300 && t.width > 300), "{tiles:?}");
    // No face is taller than the image, so the overlap needs to reach only 300 pixels.
    check_cover(5000, 300, &tiles, 300);
}

#[test]
fn a_face_found_in_a_tile_moves_by_the_tiles_offset() {
    let tile = Tile { x: 600, y: 400, width: 800, height: 800 };
    let f = tile.to_image(&face(10.0, 20.0, 30.0, 0.8));
    assert_eq!(f.bbox, FaceBox { x: 610.0, y: 420.0, width: 30.0, height: 30.0 });
    assert!(f.landmarks.iter().all(|&p| p == [610.0, 420.0]));
    assert_eq!(f.score, 0.8);
}

#[test]
fn only_an_inner_tile_edge_cuts_a_face() {
    let (w, h) = (2000, 1500);
    // A tile in the top-left corner: its left and top edges are the image's.
    let corner = Tile { x: 0, y: 0, width: 800, height: 800 };
    assert!(!corner.cuts(&face(-5.0, -5.0, 40.0, 0.9).bbox, w, h), "image edges cut nothing");
    assert!(!corner.cuts(&face(300.0, 300.0, 40.0, 0.9).bbox, w, h));
    assert!(corner.cuts(&face(770.0, 300.0, 40.0, 0.9).bbox, w, h), "past the right edge");
    assert!(corner.cuts(&face(300.0, 770.0, 40.0, 0.9).bbox, w, h), "past the bottom edge");
    // Within the margin (800 / 64 = 12.5 px) of an inner edge is close enough.
    assert!(corner.cuts(&face(750.0, 300.0, 40.0, 0.9).bbox, w, h));
    assert!(!corner.cuts(&face(740.0, 300.0, 40.0, 0.9).bbox, w, h));
    // A tile in the bottom-right corner: its right and bottom edges are the image's.
    let far = Tile { x: 1200, y: 700, width: 800, height: 800 };
    assert!(!far.cuts(&face(1980.0, 1480.0, 40.0, 0.9).bbox, w, h));
    assert!(far.cuts(&face(1190.0, 1000.0, 40.0, 0.9).bbox, w, h), "past the left edge");
    assert!(far.cuts(&face(1500.0, 705.0, 40.0, 0.9).bbox, w, h), "at the top edge");
}

#[test]
fn a_cut_face_gives_way_to_a_whole_one_even_when_it_scores_higher() {
    let whole = Candidate { face: face(100.0, 100.0, 60.0, 0.7), cut: false };
    // The left half of the same face, seen by a tile whose edge runs through it.
    let half = Candidate { face: Face { bbox: FaceBox { width: 30.0, ..whole.face.bbox }, ..whole.face }, cut: true };
    let half = Candidate { face: Face { score: 0.95, ..half.face }, ..half };
    assert!(half.face.bbox.iou(&whole.face.bbox) <= 0.5, "NMS alone would not decide this");
    let merged = merge(vec![half, whole], 0.3);
    assert_eq!(merged, vec![whole.face]);
}

#[test]
fn a_cut_face_that_no_pass_saw_whole_is_kept() {
    let cut = Candidate { face: face(100.0, 100.0, 60.0, 0.8), cut: true };
    let elsewhere = Candidate { face: face(400.0, 100.0, 60.0, 0.9), cut: false };
    // A whole face that only touches the cut one's corner does not replace it.
    let touching = Candidate { face: face(150.0, 150.0, 60.0, 0.9), cut: false };
    let merged = merge(vec![cut, elsewhere, touching], 0.3);
    assert_eq!(merged.len(), 3, "{merged:#?}");
    assert!(merged.contains(&cut.face));
}

#[test]
fn the_same_face_from_two_passes_is_given_once_by_its_best_score() {
    let from_image = Candidate { face: face(500.0, 500.0, 80.0, 0.75), cut: false };
    let from_tile = Candidate { face: face(503.0, 498.0, 76.0, 0.92), cut: false };
    let other = Candidate { face: face(900.0, 500.0, 80.0, 0.7), cut: false };
    let merged = merge(vec![from_image, other, from_tile], 0.3);
    assert_eq!(merged, vec![from_tile.face, other.face]);
    assert!(merge(Vec::new(), 0.3).is_empty());
}

#[test]
fn cover_is_the_shared_part_of_the_smaller_box() {
    let big = FaceBox { x: 0.0, y: 0.0, width: 100.0, height: 100.0 };
    let inside = FaceBox { x: 10.0, y: 10.0, width: 20.0, height: 20.0 };
    assert_eq!(cover(&big, &inside), 1.0);
    assert_eq!(cover(&inside, &big), 1.0);
    assert_eq!(cover(&big, &FaceBox { x: 90.0, ..inside }), 0.5);
    assert_eq!(cover(&big, &FaceBox { x: 200.0, ..inside }), 0.0);
    assert_eq!(cover(&big, &FaceBox { width: 0.0, ..inside }), 0.0);
}
