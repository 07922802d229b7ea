//! Digit preparation on drawn shapes: what the model sees must look like MNIST (white on
//! black, 20 px tall, centred by mass), whatever the photo's size, position and specks.

use image::{GrayImage, Luma};

use super::*;

const PAPER: u8 = 235;
const INK: u8 = 30;

/// A page of `w` x `h` paper with mild grain, so nothing is perfectly uniform.
fn paper(w: u32, h: u32) -> GrayImage {
    GrayImage::from_fn(w, h, |x, y| Luma([PAPER - ((x * 7 + y * 13) % 9) as u8]))
}

/// Fills the rectangle `[x0, x1) x [y0, y1)` with ink.
fn stroke(img: &mut GrayImage, x0: u32, y0: u32, x1: u32, y1: u32) {
    for y in y0..y1 {
        for x in x0..x1 {
            img.put_pixel(x, y, Luma([INK]));
        }
    }
}

/// A ring (a drawn 0) centred at (cx, cy).
fn ring(img: &mut GrayImage, cx: f32, cy: f32, rx: f32, ry: f32, thickness: f32) {
    for (x, y, p) in img.enumerate_pixels_mut() {
        let d = (((x as f32 - cx) / rx).powi(2) + ((y as f32 - cy) / ry).powi(2)).sqrt();
        if (d - 1.0).abs() * rx.min(ry) < thickness / 2.0 {
            *p = Luma([INK]);
        }
    }
}

/// Rows and columns that carry any ink, as (first, last) inclusive.
fn extent(input: &DigitInput) -> ((usize, usize), (usize, usize)) {
    let inked = |i: usize| input.0[i] > 0.05;
    let rows: Vec<usize> = (0..SIDE).filter(|&y| (0..SIDE).any(|x| inked(y * SIDE + x))).collect();
    let cols: Vec<usize> = (0..SIDE).filter(|&x| (0..SIDE).any(|y| inked(y * SIDE + x))).collect();
    ((rows[0], *rows.last().unwrap()), (cols[0], *cols.last().unwrap()))
}

/// In pixel indices, like `digits::CENTRE`. The digit is shifted by whole pixels, so this
/// lands within half a pixel of 14.
fn centre_of_mass(input: &DigitInput) -> (f32, f32) {
    let (mut m, mut mx, mut my) = (0.0, 0.0, 0.0);
    for (i, &v) in input.0.iter().enumerate() {
        m += v;
        mx += v * (i % SIDE) as f32;
        my += v * (i / SIDE) as f32;
    }
    (mx / m, my / m)
}

#[test]
fn otsu_splits_a_two_level_histogram_between_its_levels() {
    let mut hist = [0u64; 256];
    hist[20] = 300;
    hist[25] = 100;
    hist[200] = 50;
    hist[210] = 500;
    let t = otsu_threshold(&hist).unwrap();
    assert!((25..200).contains(&t), "{t}");
    assert_eq!(otsu_threshold(&[0; 256]), None);
    let mut flat = [0u64; 256];
    flat[128] = 1000;
    assert_eq!(otsu_threshold(&flat), None);
}

#[test]
fn a_dark_bar_anywhere_on_the_page_becomes_a_bright_centred_upright_one() {
    // A "1": a tall bar off to the right of a large photo.
    let mut photo = paper(300, 200);
    stroke(&mut photo, 220, 40, 236, 160);
    let input = prepare(&photo).unwrap();
    let ((top, bottom), (left, right)) = extent(&input);
    assert_eq!(bottom - top + 1, FIT as usize, "fitted to 20 rows");
    let width = right - left + 1;
    assert!(width <= 4, "kept thin: aspect ratio preserved, {left}..{right}");
    let (cx, cy) = centre_of_mass(&input);
    assert!((cx - 14.0).abs() <= 0.501 && (cy - 14.0).abs() <= 0.501, "{cx} {cy}");
    // White on black, 0..1.
    assert_eq!(input.0[0], 0.0);
    assert!(input.0.iter().all(|v| (0.0..=1.0).contains(v)));
    assert!(input.0[14 * SIDE + 14] > 0.9);
}

#[test]
fn a_wide_shape_is_fitted_by_its_width() {
    let mut photo = paper(120, 80);
    stroke(&mut photo, 10, 30, 110, 50); // 100 x 20
    let input = prepare(&photo).unwrap();
    let ((top, bottom), (left, right)) = extent(&input);
    assert_eq!(right - left + 1, 20);
    assert!((3..=6).contains(&(bottom - top + 1)), "{top}..{bottom}");
}

#[test]
fn a_drawn_zero_keeps_its_hole_and_lands_centred() {
    let mut photo = paper(100, 140);
    ring(&mut photo, 40.0, 60.0, 25.0, 40.0, 8.0);
    let input = prepare(&photo).unwrap();
    let (cx, cy) = centre_of_mass(&input);
    assert!((cx - 14.0).abs() <= 0.501 && (cy - 14.0).abs() <= 0.501, "{cx} {cy}");
    assert!(input.0[14 * SIDE + 14] < 0.05, "the middle of a 0 is empty");
    assert!(input.0[6 * SIDE + 14] > 0.5, "its top is ink");
}

#[test]
fn specks_of_dust_do_not_move_or_shrink_the_digit() {
    let mut clean = paper(200, 200);
    stroke(&mut clean, 90, 50, 110, 150);
    let mut dusty = clean.clone();
    stroke(&mut dusty, 5, 5, 7, 7);
    stroke(&mut dusty, 190, 190, 192, 191);
    assert_eq!(prepare(&clean).unwrap(), prepare(&dusty).unwrap());
}

#[test]
fn blank_or_nearly_uniform_paper_gives_a_blank_input() {
    assert!(prepare(&paper(50, 50)).unwrap().is_blank());
    assert!(prepare(&GrayImage::from_pixel(10, 10, Luma([255]))).unwrap().is_blank());
    assert!(prepare(&GrayImage::from_pixel(10, 10, Luma([0]))).unwrap().is_blank());
    assert!(split_digits(&paper(50, 50)).is_empty());
}

#[test]
fn a_written_number_splits_into_its_digits_left_to_right() {
    let mut photo = paper(400, 150);
    ring(&mut photo, 250.0, 75.0, 30.0, 45.0, 8.0); // the middle digit, drawn first
    stroke(&mut photo, 60, 30, 72, 120); // the first
    stroke(&mut photo, 340, 30, 352, 120); // the last
    stroke(&mut photo, 150, 140, 152, 142); // a speck
    let crops = split_digits(&photo);
    let lefts: Vec<u32> = crops.iter().map(|c| c.bbox.x).collect();
    assert_eq!(crops.len(), 3, "{lefts:?}");
    assert!(lefts.windows(2).all(|w| w[0] < w[1]), "{lefts:?}");
    assert_eq!(crops[0].bbox, InkBox { x: 60, y: 30, width: 12, height: 90 });
    // Each crop is dark ink on white with a margin, ready for `prepare`.
    let first = &crops[0].image;
    assert_eq!(first.dimensions(), (12 + 4, 90 + 4));
    assert_eq!(first.get_pixel(0, 0).0[0], 255);
    assert_eq!(first.get_pixel(5, 5).0[0], 0);
}

#[test]
fn pieces_stacked_in_one_column_are_one_digit() {
    // A "5" drawn with its top bar lifted off the body.
    let mut photo = paper(200, 200);
    stroke(&mut photo, 60, 30, 120, 40); // detached top bar
    stroke(&mut photo, 60, 50, 70, 100); // body: left stroke
    stroke(&mut photo, 60, 100, 120, 110); // body: middle bar
    stroke(&mut photo, 110, 100, 120, 160); // body: right stroke
    stroke(&mut photo, 60, 150, 120, 160); // body: bottom bar
    let crops = split_digits(&photo);
    assert_eq!(crops.len(), 1);
    assert_eq!(crops[0].bbox, InkBox { x: 60, y: 30, width: 60, height: 130 });
}

#[test]
fn mnist_pixels_are_taken_as_is_divided_by_255() {
    let mut pixels = [0u8; SIDE * SIDE];
    pixels[0] = 255;
    pixels[1] = 51;
    let input = DigitInput::from_mnist(&pixels).unwrap();
    assert_eq!(input.0[0], 1.0);
    assert!((input.0[1] - 0.2).abs() < 1e-6);
    assert!(DigitInput::from_mnist(&pixels[..783]).is_none());
}

#[test]
fn argmax_picks_the_most_probable_digit_and_the_first_on_ties() {
    let mut probs = [0.05; 10];
    probs[7] = 0.55;
    assert_eq!(argmax(&probs), 7);
    assert_eq!(argmax(&[0.1; 10]), 0);
}
