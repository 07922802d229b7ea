//! The style steps without the model, each checked against what numpy or Pillow computes
//! for the same input: weights, sizes, padding, tensor layouts, colour keeping, blending.

use image::{Rgb, RgbImage};

use super::*;

/// Eight pixels in a row, to check per-pixel arithmetic against Pillow's answers.
fn row(pixels: [[u8; 3]; 8]) -> RgbImage {
    RgbImage::from_fn(8, 1, |x, _| Rgb(pixels[x as usize]))
}

const STYLIZED: [[u8; 3]; 8] = [
    [0, 0, 0],
    [255, 255, 255],
    [200, 30, 90],
    [12, 250, 77],
    [128, 128, 128],
    [255, 0, 0],
    [0, 0, 255],
    [90, 180, 240],
];
const ORIGINAL: [[u8; 3]; 8] = [
    [255, 0, 0],
    [0, 255, 0],
    [10, 20, 30],
    [255, 255, 0],
    [30, 200, 120],
    [0, 0, 255],
    [255, 255, 255],
    [128, 64, 32],
];

fn gradient(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| Rgb([(x * 7 % 256) as u8, (y * 11 % 256) as u8, ((x + y) % 256) as u8]))
}

#[test]
fn weights_are_normalised_to_sum_one() {
    let mut weights = [0.0; BUILTIN_STYLES];
    (weights[3], weights[12]) = (1.0, 3.0);
    let normalised = normalise_weights(&weights).unwrap();
    assert_eq!((normalised[3], normalised[12]), (0.25, 0.75));
    assert_eq!(normalised.iter().filter(|&&w| w != 0.0).count(), 2);
    assert_eq!(Style::builtin(25).map(|s| matches!(s, Style::Builtin(w) if w[25] == 1.0)), Some(true));
    assert!(Style::builtin(BUILTIN_STYLES).is_none());
}

#[test]
fn zero_negative_or_non_finite_weights_are_refused() {
    let zero = [0.0; BUILTIN_STYLES];
    assert!(normalise_weights(&zero).unwrap_err().0.contains("zero"));
    for bad in [-0.5, f32::NAN, f32::INFINITY] {
        let mut weights = [0.0; BUILTIN_STYLES];
        (weights[0], weights[7]) = (1.0, bad);
        let err = normalise_weights(&weights).unwrap_err();
        assert!(err.0.contains("weight 7"), "{err}");
    }
    // Each finite, the sum not.
    assert!(normalise_weights(&[f32::MAX; BUILTIN_STYLES]).is_err());
}

#[test]
fn check_refuses_what_the_package_refuses_and_names_it() {
    let photo = gradient(40, 32);
    let ok = StyleOptions::default();
    let one = Style::builtin(3).unwrap();
    assert_eq!(check(&photo, &one, &ok), Ok(()));
    let too_small = check(&gradient(40, 31), &one, &ok).unwrap_err();
    assert!(too_small.0.contains("40x31"), "{too_small}");
    assert!(check(&RgbImage::new(0, 0), &one, &ok).is_err());
    for strength in [-0.1, 1.5, f32::NAN] {
        let err = check(&photo, &one, &StyleOptions { strength, ..ok }).unwrap_err();
        assert!(err.0.contains("strength"), "{err}");
    }
    assert!(check(&photo, &one, &StyleOptions { max_side: 31, ..ok }).unwrap_err().0.contains("max_side"));
    assert!(check(&photo, &Style::Builtin([0.0; BUILTIN_STYLES]), &ok).is_err());
    let empty = RgbImage::new(0, 5);
    assert!(check(&photo, &Style::Image(&empty), &ok).unwrap_err().0.contains("empty"));
    // Any non-empty picture will do as a style, however small.
    assert_eq!(check(&photo, &Style::Image(&gradient(1, 1)), &ok), Ok(()));
}

#[test]
fn the_photo_is_scaled_down_never_up_rounding_half_to_even() {
    assert_eq!(fitted_size(101, 37, 1024), (101, 37));
    assert_eq!(fitted_size(1024, 1024, 1024), (1024, 1024));
    assert_eq!(fitted_size(300, 200, 171), (171, 114));
    assert_eq!(fitted_size(1000, 10000, 1024), (102, 1024));
    // 1001 x 0.5 = 500.5: Python's round gives 500.
    assert_eq!(fitted_size(2048, 1001, 1024), (1024, 500));
    // The short side never drops under 32.
    assert_eq!(fitted_size(4000, 50, 1024), (1024, 32));
}

#[test]
fn the_transform_input_has_a_longer_side_of_384() {
    assert_eq!(transform_size(300, 200), (384, 256));
    assert_eq!(transform_size(160, 160), (384, 384));
    assert_eq!(transform_size(100, 37), (384, 142));
    assert_eq!(transform_size(1024, 32), (384, 12));
    assert_eq!(transform_size(32, 30000), (1, 384));
}

#[test]
fn reflect_padding_mirrors_like_numpy_without_repeating_the_edge() {
    // np.pad(np.arange(4), (0, 9), mode="reflect")
    let padded: Vec<usize> = (0..13).map(|i| reflect(i, 4)).collect();
    assert_eq!(padded, [0, 1, 2, 3, 2, 1, 0, 1, 2, 3, 2, 1, 0]);
    // np.pad(np.arange(2), (0, 3), mode="reflect") and a single element, which repeats.
    assert_eq!((0..5).map(|i| reflect(i, 2)).collect::<Vec<_>>(), [0, 1, 0, 1, 0]);
    assert_eq!((0..3).map(|i| reflect(i, 1)).collect::<Vec<_>>(), [0, 0, 0]);
}

#[test]
fn the_nchw_tensor_is_padded_to_multiples_of_four_by_reflection() {
    let image = gradient(5, 6);
    let (data, ph, pw) = to_nchw_padded(&image);
    assert_eq!((ph, pw), (8, 8));
    assert_eq!(data.len(), 3 * 8 * 8);
    let at = |c: usize, y: usize, x: usize| data[c * 64 + y * 8 + x];
    let unit = |y: u32, x: u32, c: usize| f32::from(image.get_pixel(x, y).0[c]) / 255.0;
    for c in 0..3 {
        assert_eq!(at(c, 2, 3), unit(2, 3, c));
        // Column 5 mirrors column 3, row 6 mirrors row 4, row 7 row 3.
        assert_eq!(at(c, 1, 5), unit(1, 3, c));
        assert_eq!(at(c, 6, 7), unit(4, 1, c));
        assert_eq!(at(c, 7, 5), unit(3, 3, c));
    }
    // Sides already a multiple of 4 get no padding.
    assert_eq!(to_nchw_padded(&gradient(8, 4)).1, 4);
}

#[test]
fn the_nhwc_tensor_fills_the_square_by_reflection() {
    let image = gradient(3, 2);
    let data = to_nhwc_padded(&image, 6);
    assert_eq!(data.len(), 6 * 6 * 3);
    let at = |y: usize, x: usize| [0, 1, 2].map(|c| data[(y * 6 + x) * 3 + c]);
    let unit = |y: u32, x: u32| image.get_pixel(x, y).0.map(|v| f32::from(v) / 255.0);
    assert_eq!(at(1, 2), unit(1, 2));
    // Columns 3, 4, 5 read 1, 0, 1; rows 2.. alternate 0, 1.
    assert_eq!(at(0, 3), unit(0, 1));
    assert_eq!(at(0, 4), unit(0, 0));
    assert_eq!(at(5, 5), unit(1, 1));
    assert_eq!(at(2, 4), unit(0, 0));
}

#[test]
fn outputs_are_clipped_rounded_and_cropped() {
    assert_eq!([-0.5, 0.0, 0.5, 0.999, 1.0, 7.0, f32::NAN].map(to_byte), [0, 0, 128, 255, 255, 255, 0]);
    // A 4 x 4 NCHW output whose value encodes (channel, y, x), cropped to 3 x 2.
    let data: Vec<f32> = (0..48).map(|i| i as f32 / 255.0).collect();
    let image = from_nchw(&data, 4, 4, 3, 2);
    assert_eq!(image.dimensions(), (3, 2));
    assert_eq!(image.get_pixel(2, 1).0, [6, 22, 38]);
    // NHWC 4 x 4, cropped to 2 x 3.
    let image = from_nhwc(&data, 4, 2, 3);
    assert_eq!(image.dimensions(), (2, 3));
    assert_eq!(image.get_pixel(1, 2).0, [27, 28, 29]);
}

#[test]
fn keeping_colour_matches_pillows_ycbcr_merge() {
    let mut stylized = row(STYLIZED);
    keep_colour(&mut stylized, &row(ORIGINAL));
    // Pillow 11.3.0: merge(Y of STYLIZED, Cb/Cr of ORIGINAL) converted to RGB.
    let expected = [
        [178, 0, 0],
        [105, 255, 104],
        [78, 89, 97],
        [187, 188, 0],
        [17, 188, 106],
        [46, 47, 255],
        [29, 29, 29],
        [206, 144, 111],
    ];
    assert_eq!(stylized, row(expected));
    // The conversions themselves, against Pillow's `convert("YCbCr")`.
    assert_eq!(STYLIZED.map(ycbcr::luma), [0, 255, 87, 159, 128, 76, 29, 159]);
    assert_eq!(ORIGINAL.map(ycbcr::chroma)[..3], [(84, 255), (43, 21), (134, 122)]);
}

#[test]
fn strength_blends_like_pillow_and_zero_gives_back_the_original() {
    let original = row(ORIGINAL);
    let mut blended = row(STYLIZED);
    blend(&mut blended, &original, 0.6);
    let expected = [
        [102, 0, 0],
        [153, 255, 153],
        [124, 26, 66],
        [109, 252, 46],
        [88, 156, 124],
        [153, 0, 102],
        [102, 102, 255],
        [105, 133, 156],
    ];
    assert_eq!(blended, row(expected));
    let mut blended = row(STYLIZED);
    blend(&mut blended, &original, 0.3);
    // 255 + 0.3 x (0 - 255) = 178.5, truncated.
    assert_eq!(blended.get_pixel(0, 0).0, [178, 0, 0]);
    let mut none = row(STYLIZED);
    blend(&mut none, &original, 0.0);
    assert_eq!(none, original);
    let mut full = row(STYLIZED);
    blend(&mut full, &original, 1.0);
    assert_eq!(full, row(STYLIZED));
}

#[test]
fn style_vectors_mix_linearly() {
    assert_eq!(mix_vectors(&[1.0, 0.0, 4.0], &[0.0, 2.0, 2.0], 0.25), [0.25, 1.5, 2.5]);
}

#[test]
fn the_style_square_is_the_centre_scaled_to_the_predictor_size() {
    // A wide image whose centre third is white: the square taken is all white.
    let wide = RgbImage::from_fn(90, 30, |x, _| if (30..60).contains(&x) { Rgb([255; 3]) } else { Rgb([0; 3]) });
    let square = square(&wide, 8);
    assert_eq!(square.dimensions(), (8, 8));
    assert!(square.pixels().all(|p| p.0 == [255; 3]), "{:?}", square.as_raw());
    // A square already the right size is used as it is.
    let exact = gradient(8, 8);
    assert!(matches!(super::square(&exact, 8), Cow::Borrowed(_)));
}

#[test]
fn a_bad_request_is_an_error_not_a_panic_even_without_models() {
    let dir = std::env::temp_dir().join("atelier-vision-no-style-models-here");
    let vision = Vision::new(crate::SessionConfig { models: crate::ModelDir::new(dir), ..Default::default() });
    let options = StyleOptions::default();
    let tiny = gradient(1, 1);
    for (image, style) in [
        (&RgbImage::new(0, 0), Style::builtin(0).unwrap()),
        (&tiny, Style::builtin(0).unwrap()),
        (&gradient(64, 64), Style::Builtin([0.0; BUILTIN_STYLES])),
    ] {
        let err = vision.stylize(image, &style, options).unwrap_err();
        assert!(matches!(err, Error::Internal(_)), "{err}");
    }
    // A valid request reaches the model, which is missing here.
    let err = vision.stylize(&gradient(64, 64), &Style::builtin(0).unwrap(), options).unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::Unavailable, "{err}");
    // Strength 0 needs no model: the blend gives back the (scaled) photo.
    let photo = gradient(64, 40);
    let same = vision.stylize(&photo, &Style::builtin(5).unwrap(), StyleOptions { strength: 0.0, ..options }).unwrap();
    assert_eq!(same, photo);
}

/// A test card with hard edges, where Lanczos rings and Pillow's clipping shows.
fn card(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        Rgb([
            if (x / 2 + y) % 2 == 1 { 255 } else { 0 },
            ((x * 53 + y * 31) % 256) as u8,
            if x < width / 2 { 200 } else { 10 },
        ])
    })
}

#[test]
fn lanczos_shrinks_byte_for_byte_like_pillow() {
    // Pillow 11.3.0: Image.fromarray(card(9, 7)).resize((4, 3), Image.LANCZOS)
    let expected = [
        [116, 54, 210],
        [134, 179, 158],
        [122, 83, 1],
        [134, 151, 12],
        [132, 141, 210],
        [124, 151, 158],
        [130, 109, 1],
        [125, 156, 12],
        [116, 172, 210],
        [134, 69, 158],
        [122, 181, 1],
        [134, 94, 12],
    ];
    let out = lanczos::resize(&card(9, 7), 4, 3);
    assert_eq!(out.pixels().map(|p| p.0).collect::<Vec<_>>(), expected);
}

#[test]
fn lanczos_enlarges_byte_for_byte_like_pillow() {
    // Pillow 11.3.0: card(3, 2) -> 5 x 4, and the first row of card(9, 7) -> 13 x 7 (one
    // axis only: no vertical pass).
    let expected = [
        [0, 0, 221],
        [0, 7, 138],
        [0, 48, 10],
        [186, 89, 0],
        [255, 105, 16],
        [64, 6, 221],
        [59, 19, 138],
        [59, 60, 10],
        [151, 101, 0],
        [196, 117, 16],
        [191, 21, 221],
        [196, 36, 138],
        [196, 77, 10],
        [104, 118, 0],
        [59, 134, 16],
        [255, 32, 221],
        [255, 48, 138],
        [255, 89, 10],
        [69, 130, 0],
        [0, 146, 16],
    ];
    let out = lanczos::resize(&card(3, 2), 5, 4);
    assert_eq!(out.pixels().map(|p| p.0).collect::<Vec<_>>(), expected);
    let wide = lanczos::resize(&card(9, 7), 13, 7);
    let first_row: Vec<[u8; 3]> = (0..13).map(|x| wide.get_pixel(x, 0).0).collect();
    let expected = [
        [7, 0, 200],
        [0, 22, 200],
        [48, 68, 199],
        [238, 103, 197],
        [255, 132, 222],
        [180, 194, 148],
        [0, 212, 10],
        [0, 63, 0],
        [96, 0, 16],
        [255, 69, 10],
        [255, 102, 10],
        [120, 146, 10],
        [0, 171, 10],
    ];
    assert_eq!(first_row, expected);
}

#[test]
fn lanczos_handles_single_pixels_and_extreme_ratios() {
    let dot = RgbImage::from_pixel(1, 1, Rgb([10, 20, 30]));
    let big = lanczos::resize(&dot, 7, 3);
    assert!(big.pixels().all(|p| p.0 == [10, 20, 30]));
    let line = lanczos::resize(&gradient(1000, 2), 3, 1);
    assert_eq!(line.dimensions(), (3, 1));
    let back = lanczos::resize(&gradient(2, 1000), 1, 1);
    assert_eq!(back.dimensions(), (1, 1));
}
