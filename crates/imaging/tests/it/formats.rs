//! Encoding: every output format and setting, metadata stripping and ICC passthrough,
//! checked by reading the produced bytes back.

use atelier_imaging::{Format, Limits, NoAssets, NoModels, Pipeline, RunEnv};
use image::ImageDecoder;

use crate::support::photo;

fn run(input: &str, steps: &[&str]) -> atelier_imaging::Output {
    let pipeline = Pipeline::parse_inline(steps).unwrap();
    let mut run = pipeline
        .run(&photo(input), RunEnv { limits: &Limits::default(), assets: &NoAssets, models: &NoModels })
        .unwrap();
    assert_eq!(run.outputs.len(), 1);
    run.outputs.remove(0)
}

/// The JPEG segments before the scan: (marker, payload).
fn jpeg_segments(bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    let mut pos = 2;
    while pos + 4 <= bytes.len() && bytes[pos] == 0xFF {
        let marker = bytes[pos + 1];
        let len = usize::from(u16::from_be_bytes([bytes[pos + 2], bytes[pos + 3]]));
        out.push((marker, bytes[pos + 4..pos + 2 + len].to_vec()));
        if marker == 0xDA {
            break;
        }
        pos += 2 + len;
    }
    out
}

/// Luma and chroma sampling factors from the SOF segment, e.g. [(2,2),(1,1),(1,1)] for 4:2:0.
fn sampling(bytes: &[u8]) -> (u8, Vec<(u8, u8)>) {
    let (marker, sof) = jpeg_segments(bytes).into_iter().find(|(m, _)| matches!(m, 0xC0..=0xC2)).unwrap();
    let components = usize::from(sof[5]);
    (marker, (0..components).map(|i| (sof[7 + 3 * i] >> 4, sof[7 + 3 * i] & 0x0F)).collect())
}

#[test]
fn jpeg_settings_show_up_in_the_file() {
    let baseline = run("chelsea.png", &["convert:format=jpeg,quality=80"]);
    assert_eq!(sampling(&baseline.bytes), (0xC0, vec![(2, 2), (1, 1), (1, 1)]), "baseline, 4:2:0");
    let progressive = run("chelsea.png", &["convert:format=jpeg,progressive=true,subsampling=4:4:4"]);
    assert_eq!(sampling(&progressive.bytes), (0xC2, vec![(1, 1), (1, 1), (1, 1)]), "progressive, 4:4:4");
    let low = run("chelsea.png", &["convert:format=jpeg,quality=20"]);
    let high = run("chelsea.png", &["convert:format=jpeg,quality=95"]);
    assert!(low.bytes.len() * 2 < high.bytes.len(), "quality 20: {} bytes, 95: {}", low.bytes.len(), high.bytes.len());
    let gray = run("coffee-gray.png", &["convert:format=jpeg"]);
    assert_eq!(sampling(&gray.bytes).1.len(), 1, "grey stays one component");
}

#[test]
fn transparent_images_become_jpeg_over_white() {
    let out = run("logo.png", &["convert:format=jpeg,quality=95"]);
    let decoded = image::load_from_memory(&out.bytes).unwrap().to_rgb8();
    let corner = decoded.get_pixel(0, 0).0;
    assert!(corner.iter().all(|&c| c > 245), "transparent corner is white: {corner:?}");
}

#[test]
fn png_and_lossless_webp_round_trip_pixels_exactly() {
    let source = image::load_from_memory(&photo("logo.png")).unwrap().to_rgba8();
    for steps in [
        &["convert:format=png,compression=0"][..],
        &["convert:format=png,compression=9"],
        &["convert:format=webp,lossless=true"],
    ] {
        let out = run("logo.png", steps);
        let back = image::load_from_memory(&out.bytes).unwrap().to_rgba8();
        assert_eq!(back.as_raw(), source.as_raw(), "{steps:?}");
    }
    let fast = run("chelsea.png", &["convert:format=png,compression=1"]).bytes.len();
    let best = run("chelsea.png", &["convert:format=png,compression=9"]).bytes.len();
    assert!(best < fast, "level 9 ({best}) smaller than level 1 ({fast})");
}

#[test]
fn lossy_webp_keeps_alpha_and_tracks_quality() {
    let out = run("logo.png", &["convert:format=webp,quality=60"]);
    assert_eq!(Format::sniff(&out.bytes), Some(Format::Webp));
    let back = image::load_from_memory(&out.bytes).unwrap();
    assert!(back.color().has_alpha());
    assert_eq!(back.to_rgba8().get_pixel(0, 0).0[3], 0, "transparent corner stays transparent");
    let low = run("chelsea.png", &["convert:format=webp,quality=10"]).bytes.len();
    let high = run("chelsea.png", &["convert:format=webp,quality=95"]).bytes.len();
    assert!(low < high);
}

#[test]
fn exif_and_gps_are_stripped_from_every_output_format() {
    for format in ["jpeg", "png", "webp"] {
        let step = format!("convert:format={format}");
        let out = run("rotated-6.jpg", &["flip", &step]);
        let has = |needle: &[u8]| out.bytes.windows(needle.len()).any(|w| w == needle);
        assert!(!has(b"Exif") && !has(b"eXIf") && !has(b"EXIF"), "{format}: EXIF present");
        // Orientation was applied to the pixels, so the output is upright without the tag.
        assert_eq!((out.width, out.height), (120, 160), "{format}");
    }
}

#[test]
fn icc_profiles_are_dropped_by_default_and_kept_on_request() {
    let source_icc = {
        let bytes = photo("astronaut-icc.jpg");
        atelier_imaging::decode(&bytes, &Limits::default(), None).unwrap().icc_profile.unwrap()
    };
    for format in ["jpeg", "png", "webp"] {
        let dropped = run("astronaut-icc.jpg", &[&format!("convert:format={format}")]);
        assert!(read_icc(&dropped.bytes, format).is_none(), "{format}: profile dropped by default");
        let kept = run("astronaut-icc.jpg", &[&format!("convert:format={format},keep_icc=true")]);
        let kept = read_icc(&kept.bytes, format).map(|p| (p.len(), p == source_icc));
        assert_eq!(kept, Some((source_icc.len(), true)), "{format}: profile kept");
    }
}

fn read_icc(bytes: &[u8], format: &str) -> Option<Vec<u8>> {
    let cursor = std::io::Cursor::new(bytes);
    match format {
        // The image crate's JPEG reader misses APP2 profiles that exiftool and libjpeg read;
        // use ours, which is tested against the fixture's known profile in decode::tests.
        "jpeg" => atelier_imaging::decode(bytes, &Limits::default(), None).unwrap().icc_profile,
        "png" => image::codecs::png::PngDecoder::new(cursor).unwrap().icc_profile().unwrap(),
        _ => image::codecs::webp::WebPDecoder::new(cursor).unwrap().icc_profile().unwrap(),
    }
}

#[test]
fn formats_that_cannot_be_written_are_refused_at_parse_time() {
    for (step, field) in [("convert:format=gif", "steps[0].format"), ("convert:format=bmp", "steps[0].format")] {
        assert_eq!(Pipeline::parse_inline(&[step]).unwrap_err().path, field);
    }
    let avif = Pipeline::parse_inline(&["convert:format=avif"]);
    assert_eq!(avif.is_ok(), cfg!(feature = "avif"));
}

#[test]
fn without_a_convert_step_outputs_keep_a_writable_input_format() {
    let cases = [
        ("rocket.jpg", Format::Jpeg),
        ("chelsea.png", Format::Png),
        ("chelsea.webp", Format::Webp),
        ("chelsea.gif", Format::Png),
        ("chelsea.bmp", Format::Png),
        ("chelsea.tif", Format::Png),
    ];
    for (input, format) in cases {
        let out = run(input, &["flip"]);
        assert_eq!((out.format, Format::sniff(&out.bytes)), (format, Some(format)), "{input}");
    }
}

#[cfg(feature = "avif")]
#[test]
fn avif_is_written_when_the_feature_is_on() {
    let out = run("chelsea.png", &["resize:width=64", "convert:format=avif,quality=60"]);
    assert_eq!((out.format, Format::sniff(&out.bytes)), (Format::Avif, Some(Format::Avif)));
}
