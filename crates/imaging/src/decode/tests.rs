//! Decoding real files from test-data/photos: sizes, layouts, orientation, ICC, limits.

use image::ColorType;

use super::{decode, probe, SizeHint};
use crate::error::Code;
use crate::format::Format;
use crate::limits::Limits;

fn photo(name: &str) -> Vec<u8> {
    let path = format!("{}/../../test-data/photos/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|err| panic!("{path}: {err}"))
}

#[test]
fn every_test_photo_decodes_to_its_size_format_and_8_bit_layout() {
    let cases = [
        ("rocket.jpg", Format::Jpeg, 640, 427, ColorType::Rgb8),
        ("astronaut.jpg", Format::Jpeg, 256, 256, ColorType::Rgb8),
        ("chelsea.png", Format::Png, 300, 200, ColorType::Rgb8),
        ("logo.png", Format::Png, 200, 200, ColorType::Rgba8),
        ("coffee-gray.png", Format::Png, 200, 133, ColorType::L8),
        ("coffee-16bit.png", Format::Png, 160, 107, ColorType::Rgb8),
        ("chelsea.webp", Format::Webp, 200, 133, ColorType::Rgb8),
        ("logo-lossless.webp", Format::Webp, 200, 200, ColorType::Rgba8),
        ("chelsea.gif", Format::Gif, 150, 100, ColorType::Rgba8),
        ("chelsea.bmp", Format::Bmp, 120, 80, ColorType::Rgb8),
        ("chelsea.tif", Format::Tiff, 120, 80, ColorType::Rgb8),
        ("rotated-6.jpg", Format::Jpeg, 120, 160, ColorType::Rgb8),
        ("chelsea-palette.png", Format::Png, 150, 100, ColorType::Rgb8),
        ("logo-palette.png", Format::Png, 100, 100, ColorType::Rgba8),
    ];
    for (name, format, width, height, color) in cases {
        let bytes = photo(name);
        let decoded = decode(&bytes, &Limits::default(), None).unwrap_or_else(|err| panic!("{name}: {err}"));
        let got = (decoded.format, decoded.image.width(), decoded.image.height(), decoded.image.color());
        assert_eq!(got, (format, width, height, color), "{name}");
        let probed = probe(&bytes, &Limits::default()).unwrap();
        assert_eq!((probed.format, probed.width, probed.height), (format, width, height), "probe {name}");
    }
}

#[test]
fn exif_orientation_6_turns_a_landscape_file_into_a_portrait_image() {
    let decoded = decode(&photo("rotated-6.jpg"), &Limits::default(), None).unwrap();
    assert_eq!((decoded.image.width(), decoded.image.height()), (120, 160));
    assert_eq!((decoded.source_width, decoded.source_height), (120, 160));
}

#[test]
fn jpeg_shrinks_on_load_to_the_smallest_dct_scale_that_covers_the_hint() {
    // rocket.jpg is 640x427: the DCT scales give 80x54, 160x107, 320x214 and full size.
    let cases = [
        (SizeHint { width: 64, height: 0 }, 8, (80, 54)),
        (SizeHint { width: 80, height: 54 }, 8, (80, 54)),
        (SizeHint { width: 81, height: 0 }, 4, (160, 107)),
        (SizeHint { width: 300, height: 200 }, 2, (320, 214)),
        (SizeHint { width: 321, height: 0 }, 1, (640, 427)),
        (SizeHint { width: 10_000, height: 10_000 }, 1, (640, 427)),
    ];
    let bytes = photo("rocket.jpg");
    for (hint, shrink, size) in cases {
        let decoded = decode(&bytes, &Limits::default(), Some(hint)).unwrap();
        assert_eq!((decoded.shrink, (decoded.image.width(), decoded.image.height())), (shrink, size), "{hint:?}");
        assert_eq!((decoded.source_width, decoded.source_height), (640, 427));
    }
}

#[test]
fn the_shrink_hint_is_read_in_display_orientation() {
    // Stored 160x120, shown 120x160: a hint of 30 wide, 40 high allows 1/4.
    let decoded =
        decode(&photo("rotated-6.jpg"), &Limits::default(), Some(SizeHint { width: 30, height: 40 })).unwrap();
    assert_eq!((decoded.shrink, decoded.image.width(), decoded.image.height()), (4, 30, 40));
}

#[test]
fn icc_profiles_are_read_from_jpeg_app2_segments() {
    let with = decode(&photo("astronaut-icc.jpg"), &Limits::default(), None).unwrap();
    let profile = with.icc_profile.expect("profile");
    assert_eq!(profile.len(), 6922);
    assert_eq!(&profile[36..40], b"acsp", "an ICC header carries its signature at offset 36");
    assert!(decode(&photo("astronaut.jpg"), &Limits::default(), None).unwrap().icc_profile.is_none());
}

#[test]
fn limits_are_enforced_from_the_header_before_decoding() {
    let tight = Limits { max_pixels: 640 * 427 - 1, ..Limits::default() };
    let err = decode(&photo("rocket.jpg"), &tight, None).unwrap_err();
    assert_eq!(err.code(), Code::TooManyPixels);
    let err = decode(&photo("chelsea.png"), &Limits { max_pixels: 1000, ..Limits::default() }, None).unwrap_err();
    assert_eq!(err.code(), Code::TooManyPixels);
    let err = decode(&photo("rocket.jpg"), &Limits { max_input_bytes: 1000, ..Limits::default() }, None).unwrap_err();
    assert_eq!(err.code(), Code::InputTooLarge);
}
