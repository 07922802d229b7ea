//! Transform URL options: canonical forms, round trips, error messages, hostile strings.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{parse_url_options, UrlFormat, UrlOptions, ENCODER_VERSION};
use crate::error::{Code, Error, ErrorKind};
use crate::format::Format;

fn parse(options: &str, ext: &str) -> UrlOptions {
    parse_url_options(options, ext).unwrap_or_else(|err| panic!("{options}.{ext}: {err}"))
}

fn error_of(options: &str, ext: &str) -> String {
    parse_url_options(options, ext).map(|parsed| format!("parsed: {parsed:?}")).unwrap_or_else(|err| err.to_string())
}

/// (options, extension, canonical form).
const CANONICAL: &[(&str, &str, &str)] = &[
    ("rs:cover:300:200/bl:2/q:80", "webp", "enc:1/rs:cover:300:200:centre/bl:2/q:80/fmt:webp"),
    ("resize:cover:300:200:center/blur:2.0", "webp", "enc:1/rs:cover:300:200:centre/bl:2/q:80/fmt:webp"),
    ("rs:cover:0300:200:centre/bl:2.000/quality:80", "webp", "enc:1/rs:cover:300:200:centre/bl:2/q:80/fmt:webp"),
    ("rs:inside:300:0", "jpg", "enc:1/rs:inside:300:0:centre/q:80/fmt:jpeg"),
    ("rs:inside:300:0", "jpeg", "enc:1/rs:inside:300:0:centre/q:80/fmt:jpeg"),
    ("rs:fill:0:200:north_east", "png", "enc:1/rs:fill:0:200:north_east/q:80/fmt:png"),
    ("rs:contain:64:64:south", "png", "enc:1/rs:contain:64:64:south/q:80/fmt:png"),
    ("th:256:0", "png", "enc:1/th:256:0/q:80/fmt:png"),
    ("thumbnail:256:128", "png", "enc:1/th:256:128/q:80/fmt:png"),
    ("c:10:20:100:50", "auto", "enc:1/c:10:20:100:50/q:80/fmt:auto"),
    ("crop:south_west:100:50", "auto", "enc:1/c:south_west:100:50/q:80/fmt:auto"),
    ("c:center:100:50", "auto", "enc:1/c:centre:100:50/q:80/fmt:auto"),
    ("rot:-90.0", "jpg", "enc:1/rot:-90/q:80/fmt:jpeg"),
    ("rotate:-0", "jpg", "enc:1/rot:0/q:80/fmt:jpeg"),
    ("rot:0", "jpg", "enc:1/rot:0/q:80/fmt:jpeg"),
    ("fl:h/flip:vertical/fl:both/flip:hv", "jpg", "enc:1/fl:h/fl:v/fl:hv/fl:hv/q:80/fmt:jpeg"),
    ("bl:0.30000001", "jpg", "enc:1/bl:0.3/q:80/fmt:jpeg"),
    ("bl:002.50", "jpg", "enc:1/bl:2.5/q:80/fmt:jpeg"),
    ("sh:1.5", "jpg", "enc:1/sh:1.5:1:0/q:80/fmt:jpeg"),
    ("sharpen:1.5:1.0:0", "jpg", "enc:1/sh:1.5:1:0/q:80/fmt:jpeg"),
    ("sh:0.5:2:10", "jpg", "enc:1/sh:0.5:2:10/q:80/fmt:jpeg"),
    ("gs/grayscale", "jpg", "enc:1/gs/gs/q:80/fmt:jpeg"),
    ("br:0.1", "jpg", "enc:1/adj:0.1:1:1:1/q:80/fmt:jpeg"),
    ("adj:0.1", "jpg", "enc:1/adj:0.1:1:1:1/q:80/fmt:jpeg"),
    ("adjust:0.10:1:1:1.0", "jpg", "enc:1/adj:0.1:1:1:1/q:80/fmt:jpeg"),
    ("co:1.25/sat:0/gam:2.2", "jpg", "enc:1/adj:0:1.25:1:1/adj:0:1:0:1/adj:0:1:1:2.2/q:80/fmt:jpeg"),
    ("contrast:1.25/saturation:0/gamma:2.2", "jpg", "enc:1/adj:0:1.25:1:1/adj:0:1:0:1/adj:0:1:1:2.2/q:80/fmt:jpeg"),
    ("q:75", "webp", "enc:1/q:75/fmt:webp"),
    ("q:75/exp:1700000000", "webp", "enc:1/q:75/fmt:webp"),
    ("quality:75/expires:1800000000", "webp", "enc:1/q:75/fmt:webp"),
    ("bl:2/q:90/gs", "png", "enc:1/bl:2/gs/q:90/fmt:png"),
];

#[test]
fn aliases_and_number_spellings_share_one_canonical_form() {
    assert_eq!(ENCODER_VERSION, 1, "the table below spells enc:1");
    for (options, ext, canonical) in CANONICAL {
        assert_eq!(parse(options, ext).canonical(), *canonical, "{options}.{ext}");
    }
}

#[test]
fn every_example_parses_back_from_its_path_to_an_equal_value() {
    for (options, ext, _) in CANONICAL {
        let parsed = parse(options, ext);
        let path = parsed.to_path();
        let again = parse(&path, parsed.output().extension());
        assert_eq!(again, parsed, "{options}.{ext} -> {path}");
        assert_eq!(again.to_path(), path, "{options}.{ext}: to_path is stable");
    }
}

#[test]
fn paths_are_short_names_with_trailing_defaults_left_off_and_the_expiry_last() {
    let cases = [
        ("resize:cover:300:200:center/blur:2.0/quality:80/expires:17", "rs:cover:300:200/bl:2/exp:17"),
        ("rs:cover:300:200:north/q:70", "rs:cover:300:200:north/q:70"),
        ("sharpen:1.5:1:0", "sh:1.5"),
        ("sh:1.5:1:9", "sh:1.5:1:9"),
        ("adj:0:1:1:1", "br:0"),
        ("adjust:0:1.5", "co:1.5"),
        ("adj:0.1:1.5", "adj:0.1:1.5"),
        ("adj:0:1:1:2", "gam:2"),
        ("q:80", "q:80"),
        ("exp:5", "q:80/exp:5"),
        ("q:60/gs", "gs/q:60"),
        ("c:center:10:10/c:1:2:3:4", "c:centre:10:10/c:1:2:3:4"),
    ];
    for (options, path) in cases {
        assert_eq!(parse(options, "png").to_path(), path, "{options}");
    }
}

#[test]
fn outputs_that_differ_never_share_a_canonical_form() {
    let distinct = [
        ("rs:cover:300:200/bl:2", "webp"),
        ("bl:2/rs:cover:300:200", "webp"),
        ("rs:cover:300:200/bl:2", "png"),
        ("rs:cover:300:200/bl:2", "auto"),
        ("rs:cover:300:200/bl:2/q:81", "webp"),
        ("rs:cover:300:200/bl:2.1", "webp"),
        ("rs:cover:300:200:north/bl:2", "webp"),
        ("rs:contain:300:200/bl:2", "webp"),
        ("th:300:200/bl:2", "webp"),
        ("br:0.1", "webp"),
        ("co:0.1", "webp"),
    ];
    let mut seen = std::collections::HashMap::new();
    for (options, ext) in distinct {
        if let Some(earlier) = seen.insert(parse(options, ext).canonical(), (options, ext)) {
            panic!("{options}.{ext} shares a canonical form with {earlier:?}");
        }
    }
}

/// (options, extension, a part of the message).
fn bad_inputs() -> Vec<(String, &'static str, &'static str)> {
    let fixed: &[(&str, &str, &str)] = &[
        ("rs:cover:300:200/blur:abc", "jpg", "segment 2 (`blur:abc`): sigma must be a number"),
        ("bl:-1", "jpg", "segment 1 (`bl:-1`): sigma must be 0.3..=200, got -1"),
        ("bl:500", "jpg", "sigma must be 0.3..=200, got 500"),
        ("bl:nan", "jpg", "segment 1 (`bl:nan`): sigma must be a number"),
        ("bl:inf", "jpg", "sigma must be a number"),
        ("bl:-inf", "jpg", "sigma must be a number"),
        ("bl:1e3", "jpg", "sigma must be a number"),
        ("bl:+2", "jpg", "segment 1: `+` is not allowed"),
        ("bl:.5", "jpg", "sigma must be a number"),
        ("bl:2.", "jpg", "sigma must be a number"),
        ("bl:-", "jpg", "sigma must be a number"),
        ("bl:1.2.3", "jpg", "sigma must be a number"),
        ("bl:0x10", "jpg", "sigma must be a number"),
        ("bl:", "jpg", "segment 1 (`bl:`): sigma is empty"),
        ("bl:123456789012345678901", "jpg", "sigma is too long (at most 20 characters)"),
        ("bl", "jpg", "blur takes 1 argument (`bl:{sigma}`), got 0"),
        ("bl:1:2", "jpg", "blur takes 1 argument (`bl:{sigma}`), got 2"),
        ("rs:cover:70000:10", "jpg", "width must be 1..=65535, got 70000"),
        ("rs:cover:99999999999:10", "jpg", "width is too large"),
        ("rs:cover:10.5:10", "jpg", "width must be a whole number"),
        ("rs:cover:-10:10", "jpg", "width must be a whole number"),
        (
            "rs:squash:10:10",
            "jpg",
            "fit: unknown variant `squash`, expected one of `inside`, `contain`, `cover`, `fill`",
        ),
        ("rs:cover:0:0", "jpg", "width: give a width, a height, or both"),
        ("rs:cover:10", "jpg", "resize takes 3 to 4 arguments (`rs:{fit}:{width}:{height}[:{gravity}]`), got 2"),
        ("rs:cover:1:2:north:5", "jpg", "resize takes 3 to 4 arguments"),
        ("rs:cover:1:2:up", "jpg", "gravity: unknown variant `up`"),
        ("rs::1:2", "jpg", "fit is empty"),
        ("rs:abcdefghijklmnopqrstu:1:2", "jpg", "fit is too long (at most 20 characters)"),
        ("th:0:0", "jpg", "width must be 1..=65535, got 0"),
        ("th:10", "jpg", "thumbnail takes 2 arguments"),
        ("c:5:10:10", "jpg", "gravity: unknown variant `5`"),
        ("c:1:2:0:4", "jpg", "width must be 1..=65535, got 0"),
        ("c:1:north:3:4", "jpg", "y must be a whole number"),
        ("rot:400", "jpg", "angle must be -360..=360, got 400"),
        ("fl:x", "jpg", "direction: unknown variant `x`"),
        ("gs:1", "jpg", "segment 1 (`gs:1`): grayscale takes no arguments (`gs`), got 1"),
        ("sh:1:1:256", "jpg", "threshold is too large"),
        ("sh:11", "jpg", "amount must be 0..=10, got 11"),
        ("adj:2", "jpg", "brightness must be -1..=1, got 2"),
        ("gam:0", "jpg", "gamma must be 0.1..=10, got 0"),
        ("q:0", "jpg", "segment 1 (`q:0`): quality must be 1..=100, got 0"),
        ("q:101", "jpg", "quality must be 1..=100, got 101"),
        ("q:300", "jpg", "quality is too large"),
        ("q:80/q:90", "jpg", "segment 2 (`q:90`): quality is already set by segment 1"),
        ("exp:17/bl:2", "jpg", "segment 1 (`exp:17`): the expiry must be the last segment"),
        ("exp:17/exp:18", "jpg", "segment 1 (`exp:17`): the expiry must be the last segment"),
        ("exp:-1", "jpg", "expires must be a whole number of seconds since 1970-01-01 UTC"),
        ("exp:99999999999999999999", "jpg", "expires must be a whole number of seconds"),
        ("wm:logo", "jpg", "segment 1 (`wm:logo`): watermark is not available in URLs: it needs an overlay image"),
        ("watermark", "jpg", "watermark is not available in URLs"),
        ("augment:4", "jpg", "augment is not available in URLs: it makes many images and a URL serves one"),
        ("convert:png", "jpg", "`convert` is not a segment: the format comes from the extension"),
        ("enhance:2", "jpg", "segment 1 (`enhance:2`): unknown segment `enhance`; known: rs, th, c, rot, fl, bl"),
        ("", "jpg", "the options are empty: give at least one segment, e.g. `q:80`"),
        ("bl:2//gs", "jpg", "segment 2 is empty (a doubled, leading or trailing `/`)"),
        ("bl:2/", "jpg", "segment 2 is empty"),
        ("/bl:2", "jpg", "segment 1 is empty"),
        ("/", "jpg", "segment 1 is empty"),
        ("bl:%32", "jpg", "segment 1: `%` is not allowed; options use lowercase letters, digits"),
        ("bl%3a2", "jpg", "segment 1: `%` is not allowed"),
        ("bl:2/gs/\u{e9}", "jpg", "segment 3: `\\u{e9}` is not allowed"),
        ("bl:\u{663}", "jpg", "segment 1: `\\u{663}` is not allowed"),
        ("BL:2", "jpg", "segment 1: `B` is not allowed"),
        ("bl: 2", "jpg", "segment 1: ` ` is not allowed"),
        ("bl:2\0", "jpg", "segment 1: `\\u{0}` is not allowed"),
        ("bl:2\n", "jpg", "segment 1: `\\n` is not allowed"),
        ("bl:2?x=1", "jpg", "segment 1: `?` is not allowed"),
        ("bl:2", "gif", "extension: gif: cannot be written; use jpeg, png, webp or avif"),
        ("bl:2", "tif", "extension: tiff: cannot be written"),
        ("bl:2", "exe", "extension: `exe` is not an output format; use jpg, jpeg, png, webp, avif or auto"),
        ("bl:2", "JPG", "extension: `JPG` is not an output format"),
        ("bl:2", "", "extension: `` is not an output format"),
        ("bl:2", "jp\u{e9}g", "extension: `jp\\u{e9}g` is not an output format"),
    ];
    let mut cases: Vec<(String, &str, &str)> = fixed.iter().map(|(o, e, m)| ((*o).to_string(), *e, *m)).collect();
    cases.push((vec!["gs"; 17].join("/"), "jpg", "17 segments, over the limit of 16"));
    cases.push(("x".repeat(1025), "jpg", "the options are 1025 bytes, over the limit of 1024"));
    cases.push((format!("bl:2/{}", "9".repeat(100)), "jpg", "segment 2 (`99999999999999999999999999999999…`)"));
    if !Format::Avif.can_encode() {
        cases.push(("bl:2".into(), "avif", "extension: avif: this build cannot write AVIF (cargo feature `avif`)"));
    }
    cases
}

#[test]
fn bad_options_are_refused_with_a_message_naming_the_segment() {
    for (options, ext, expected) in bad_inputs() {
        let message = error_of(&options, ext);
        assert!(message.contains(expected), "{options:?}.{ext}\n  got:      {message}\n  expected: …{expected}…");
    }
}

#[test]
fn messages_stay_short_whatever_the_segment_length() {
    for options in [format!("enhance:{}", "a".repeat(900)), format!("rs:{}:1:1", "z".repeat(900))] {
        let message = error_of(&options, "jpg");
        assert!(message.len() < 200, "{message}");
    }
}

#[test]
fn a_refused_url_is_an_invalid_pipeline_with_the_same_message() {
    let err = parse_url_options("bl:abc", "jpg").unwrap_err();
    let text = err.to_string();
    let err = Error::from(err);
    assert_eq!((err.code(), err.kind()), (Code::InvalidPipeline, ErrorKind::BadInput));
    assert_eq!(err.to_string(), text);
    assert_eq!(text, "segment 1 (`bl:abc`): sigma must be a number");
}

#[test]
fn auto_negotiates_avif_then_webp_then_png_for_alpha_and_jpeg_for_the_rest() {
    let avif = if Format::Avif.can_encode() { Format::Avif } else { Format::Webp };
    let cases = [
        (UrlFormat::Auto, true, true, false, avif),
        (UrlFormat::Auto, true, false, true, if Format::Avif.can_encode() { Format::Avif } else { Format::Png }),
        (UrlFormat::Auto, false, true, true, Format::Webp),
        (UrlFormat::Auto, false, false, true, Format::Png),
        (UrlFormat::Auto, false, false, false, Format::Jpeg),
        (UrlFormat::Fixed(Format::Png), true, true, false, Format::Png),
        (UrlFormat::Fixed(Format::Jpeg), false, false, true, Format::Jpeg),
    ];
    for (output, accepts_avif, accepts_webp, alpha, expected) in cases {
        assert_eq!(
            output.negotiate(accepts_avif, accepts_webp, alpha),
            expected,
            "{output:?} {accepts_avif} {accepts_webp} {alpha}"
        );
    }
}

#[test]
fn an_auto_url_negotiated_to_a_format_shares_the_key_and_pipeline_of_that_extension() {
    let auto = parse("rs:cover:300:200/q:70", "auto");
    let webp = parse("rs:cover:300:200/q:70", "webp");
    assert_eq!(auto.output(), UrlFormat::Auto);
    assert_eq!(auto.pipeline().output_format(Format::Jpeg), Format::Jpeg, "auto alone keeps the input format");
    assert_eq!(auto.canonical_for(Format::Webp), webp.canonical());
    assert_eq!(webp.canonical_for(Format::Webp), webp.canonical());
    assert_eq!(&auto.pipeline_for(Format::Webp), webp.pipeline());
    assert_eq!(auto.pipeline_for(Format::Webp).encode_options().map(|o| o.quality), Some(70));
}

#[test]
fn the_expiry_is_kept_and_a_url_is_good_through_its_last_second() {
    let options = parse("bl:2/exp:1700000000", "jpg");
    assert_eq!(options.expires(), Some(1_700_000_000));
    let cases = [(1_699_999_999, false), (1_700_000_000, false), (1_700_000_001, true)];
    for (now, expired) in cases {
        assert_eq!(options.is_expired_at(now), expired, "{now}");
    }
    assert!(!parse("bl:2", "jpg").is_expired_at(u64::MAX));
}

#[test]
fn segments_become_the_pipeline_ops_in_order_then_one_convert() {
    let options = parse("th:64:0/rot:90/fl:v/gs/q:50", "png");
    let names: Vec<&str> = options.pipeline().steps.iter().map(|op| op.name().as_str()).collect();
    assert_eq!(names, ["thumbnail", "rotate", "flip", "grayscale", "convert"]);
    let encode = options.pipeline().encode_options().cloned().unwrap_or_default();
    assert_eq!((encode.format, encode.quality), (Some(Format::Png), 50));
}

#[test]
fn a_parsed_url_runs_on_a_real_photo() {
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../test-data/photos/chelsea.bmp")).unwrap();
    let env =
        super::super::RunEnv { limits: &crate::Limits::default(), assets: &crate::NoAssets, models: &crate::NoModels };
    let options = parse("rs:cover:40:30:north/bl:1/q:70", "webp");
    let out = options.pipeline().run(&bytes, env).unwrap();
    let output = &out.outputs[0];
    assert_eq!((output.format, output.width, output.height), (Format::Webp, 40, 30));
    assert_eq!(Format::sniff(&output.bytes), Some(Format::Webp));
}

#[test]
fn random_strings_never_panic_and_whatever_parses_round_trips() {
    const VALID: &str = "rs:cover:300:200 rs:inside:0:100:north th:64:0 c:1:2:3:4 c:east:10:10 rot:-45.5 fl:hv bl:2 \
                         sh:1:0.5:3 gs adj:0.1:1.2 br:-0.2 co:2 sat:0 gam:2.2 q:55 exp:1700000000";
    const ARGS: &str =
        "0 1 2 2.5 -1 -0 0.3 90 300 65535 65536 cover inside fill contain north center south_east h v hv \
                        nan 1e9 00 4294967296 %20 \u{e9} zz";
    let valid: Vec<&str> = VALID.split_whitespace().collect();
    let args: Vec<&str> = ARGS.split_whitespace().chain([""]).collect();
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut parsed = 0;
    for _ in 0..20_000 {
        let segments: Vec<String> = (0..rng.gen_range(0..6))
            .map(|_| {
                // Mostly valid segments, some with one argument swapped or one added.
                let mut parts: Vec<&str> = valid[rng.gen_range(0..valid.len())].split(':').collect();
                match rng.gen_range(0..10) {
                    0..=5 => {}
                    6 | 7 => {
                        let at = rng.gen_range(0..parts.len());
                        parts[at] = args[rng.gen_range(0..args.len())];
                    }
                    _ => parts.push(args[rng.gen_range(0..args.len())]),
                }
                parts.join(":")
            })
            .collect();
        let mut options = segments.join("/");
        if rng.gen_bool(0.1) {
            // Raw junk as well: at any character boundary, any ASCII character.
            let junk: String = (0..rng.gen_range(1..8)).map(|_| char::from(rng.gen_range(0u8..=127))).collect();
            let at: Vec<usize> = options.char_indices().map(|(i, _)| i).chain([options.len()]).collect();
            options.insert_str(at[rng.gen_range(0..at.len())], &junk);
        }
        let ext = ["jpg", "webp", "auto", "png", "gif", "x"][rng.gen_range(0..6)];
        if let Ok(value) = parse_url_options(&options, ext) {
            parsed += 1;
            let again = parse_url_options(&value.to_path(), value.output().extension());
            assert_eq!(again.as_ref().ok(), Some(&value), "{options}.{ext} -> {}", value.to_path());
            assert_eq!(again.map(|v| v.canonical()).ok(), Some(value.canonical()), "{options}.{ext}");
        }
    }
    assert!(parsed > 2_000, "the generator should make many valid URLs too, made {parsed}");
}
