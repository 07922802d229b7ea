//! Hostile inputs: truncated files, wrong magic, decompression bombs, absurd headers, huge
//! or broken EXIF, frame floods. Every case is built by code below (from the committed
//! photos or byte by byte), so the corpus can be regenerated and reviewed; the small ones
//! are also committed under `test-data/hostile/`, where fuzz findings are dropped too.
//! What is asserted is the contract for untrusted bytes: a typed error with the expected
//! code (or a clean decode), quickly, and never a panic. Nothing here opens the network,
//! and nothing here writes a file unless `UPDATE_CORPUS=1` is set.
//!
//! Regenerate the committed corpus with
//! `UPDATE_CORPUS=1 cargo test -p atelier-imaging --test it hostile`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use atelier_imaging::{decode, probe, Code, ErrorKind, Limits, NoAssets, NoModels, Pipeline, RunEnv, SizeHint};

use crate::support::{
    bmp, bmp_rgb, env_flag, exif_app1_payload, files_in, gif_animation, gif_frame, gif_header, gradient, jpeg_rebuilt,
    jpeg_segment, jpeg_with_declared_size, jpeg_without_scan, metered, photo, png_chunk, png_from_chunks, png_ihdr,
    png_rgb, random_bytes, test_data_dir, tiff_gray_deflate, tiff_gray_entries, tiff_le, truncated, webp_chunks,
    webp_from_chunks, webp_vp8x, with_entry, zlib_stored, zlib_zeros, IfdEntry, EXIF_ORIENTATION, GIF_LZW_ONE_PIXEL,
    GIF_TRAILER, TIFF_LONG,
};

const DECODE_CODES: &[Code] = Code::DECODE;

/// A thumbnail pipeline may also refuse an extreme aspect ratio's output, or time out.
const PIPELINE_EXTRA_CODES: &[Code] = &[Code::OutputTooLarge, Code::Timeout];

/// How long one call on a hostile file may take. Generous for a debug build on a busy
/// machine; the files are all tiny, so real work never comes close.
const CALL_BUDGET: Duration = Duration::from_secs(5);

/// Decompression bombs must be refused from the header: this fast, and with this little
/// heap (the meter sees Rust allocations only, not libjpeg's or libwebp's `malloc`).
const BOMB_BUDGET: Duration = Duration::from_secs(1);
const BOMB_HEAP_BUDGET: usize = 32 << 20;

/// The committed corpus must stay small enough to live in the repository.
const CORPUS_BYTE_BUDGET: u64 = 2 << 20;

// ---------------------------------------------------------------------------------------
// Tests.

#[test]
fn every_hostile_input_gets_its_typed_error() {
    let limits = Limits::default();
    let mut failures = Vec::new();
    for case in cases() {
        let run = metered(|| decode(&case.bytes, &limits, None));
        let verdict = match (&run.result, case.expect) {
            (Err(panic), _) => Some(format!("panicked: {panic}")),
            (Ok(Ok(decoded)), Expect::Decodes { width, height }) => {
                let got = (decoded.image.width(), decoded.image.height());
                (got != (width, height)).then(|| format!("decoded to {}x{}, expected {width}x{height}", got.0, got.1))
            }
            (Ok(Ok(decoded)), Expect::Fails(code)) => Some(format!(
                "decoded to {}x{}, expected {}",
                decoded.image.width(),
                decoded.image.height(),
                code.as_str()
            )),
            (Ok(Err(err)), Expect::Fails(code)) => {
                (err.code() != code).then(|| format!("failed with {} ({err}), expected {}", err.code(), code.as_str()))
            }
            (Ok(Err(err)), Expect::Decodes { .. }) => {
                Some(format!("failed with {} ({err}), expected to decode", err.code()))
            }
        };
        let slow = (run.elapsed > CALL_BUDGET).then(|| format!("took {:?}", run.elapsed));
        for problem in verdict.into_iter().chain(slow) {
            failures.push(format!("{}: {problem}", case.name));
        }
    }
    assert!(failures.is_empty(), "{} hostile case(s) misbehaved:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn decompression_bombs_are_refused_from_the_header_quickly_and_without_allocating() {
    let limits = Limits::default();
    let bombs: Vec<Case> =
        cases().into_iter().filter(|case| case.expect == Expect::Fails(Code::TooManyPixels)).collect();
    assert!(bombs.len() >= 6, "one bomb per format at least, got {}", bombs.len());
    let mut failures = Vec::new();
    for case in &bombs {
        // A GIF frame bigger than its screen is only seen when the frames are walked.
        let probe_sees_it = case.name != "gif-frame-65535x65535.gif";
        for (call, run) in [
            ("probe", metered(|| probe(&case.bytes, &limits).map(|_| ()))),
            ("decode", metered(|| decode(&case.bytes, &limits, None).map(|_| ()))),
            (
                "decode with a hint",
                metered(|| decode(&case.bytes, &limits, Some(SizeHint { width: 64, height: 64 })).map(|_| ())),
            ),
        ] {
            let code = run.result.as_ref().map(|res| res.as_ref().err().map(|err| err.code()));
            let tolerated = call == "probe" && !probe_sees_it && code == Ok(None);
            if code != Ok(Some(Code::TooManyPixels)) && !tolerated {
                failures.push(format!("{} ({call}): expected too_many_pixels, got {:?}", case.name, run.result));
            }
            if run.elapsed > BOMB_BUDGET {
                failures.push(format!("{} ({call}): took {:?}", case.name, run.elapsed));
            }
            if run.peak_heap_bytes > BOMB_HEAP_BUDGET {
                failures.push(format!("{} ({call}): peak heap {} MiB", case.name, run.peak_heap_bytes >> 20));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_gif_with_3000_frames_is_refused_at_the_default_limit_and_decodes_when_the_limit_is_raised() {
    let bytes = gif_animation(3000);
    let refused = decode(&bytes, &Limits::default(), None).map(|_| ()).expect_err("1000 frames is the default limit");
    assert_eq!(refused.code(), Code::TooManyFrames, "{refused}");

    let raised = Limits { max_frames: 3000, ..Limits::default() };
    let decoded = decode(&bytes, &raised, None).unwrap_or_else(|err| panic!("3000 frames at a limit of 3000: {err}"));
    assert_eq!((decoded.image.width(), decoded.image.height()), (1, 1));
}

#[test]
fn the_files_the_corpus_is_cut_from_decode() {
    // Without this, a "truncated" case could fail only because its original was broken.
    let limits = Limits::default();
    for (name, bytes) in originals() {
        if let Err(err) = decode(&bytes, &limits, None) {
            panic!("original {name} does not decode: {err}");
        }
    }
}

#[test]
fn every_file_in_the_hostile_corpus_fails_cleanly_through_probe_decode_and_a_thumbnail_pipeline() {
    let dir = corpus_dir();
    let files = files_in(&dir);
    assert!(
        !files.is_empty(),
        "{} is empty: run UPDATE_CORPUS=1 cargo test -p atelier-imaging --test it hostile",
        dir.display()
    );
    let mut failures = Vec::new();
    for path in &files {
        // A file can vanish under us while another test runs `UPDATE_CORPUS=1`.
        let Ok(bytes) = std::fs::read(path) else { continue };
        failures.extend(check_contract(&file_name(path), &bytes));
    }
    assert!(failures.is_empty(), "{} problem(s) in {}:\n{}", failures.len(), dir.display(), failures.join("\n"));
}

#[test]
fn random_bytes_behind_every_magic_get_a_typed_error() {
    // A small in-process fuzzer: each format's parser sees garbage right after its magic.
    let magics: &[&[u8]] = &[
        b"\xFF\xD8\xFF",
        b"\xFF\xD8\xFF\xE0\x00\x10JFIF\x00",
        b"\x89PNG\r\n\x1a\n",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0DIHDR",
        b"GIF89a",
        b"GIF87a\x10\x00\x10\x00\x80\x00\x00",
        b"BM",
        b"II*\x00\x08\x00\x00\x00",
        b"MM\x00*\x00\x00\x00\x08",
        b"RIFF\x00\x10\x00\x00WEBPVP8 ",
        b"RIFF\x00\x10\x00\x00WEBPVP8L",
        b"RIFF\x00\x10\x00\x00WEBPVP8X",
    ];
    let mut failures = Vec::new();
    for (index, magic) in magics.iter().enumerate() {
        for seed in 0..24u64 {
            let len = [8usize, 64, 700, 5000][seed as usize % 4];
            let mut bytes = magic.to_vec();
            bytes.extend_from_slice(&random_bytes(seed * 100 + index as u64, len));
            failures.extend(check_contract(&format!("magic #{index} + {len} random bytes (seed {seed})"), &bytes));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn hostile_pipeline_documents_are_refused_quickly() {
    // Pipelines are untrusted input too: the API takes JSON, the CLI reads YAML files.
    let mut laughs = String::from("a: &a [x, x, x, x, x, x, x, x, x]\n");
    for (name, previous) in
        ["b", "c", "d", "e", "f", "g", "h", "i"].iter().zip(["a", "b", "c", "d", "e", "f", "g", "h"])
    {
        let refs = vec![format!("*{previous}"); 9].join(", ");
        laughs.push_str(&format!("{name}: &{name} [{refs}]\n"));
    }
    laughs.push_str("version: 1\nsteps: [{op: thumbnail, width: 8}]\n");
    let nested = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let too_many_steps = format!(r#"{{"version":1,"steps":[{}]}}"#, vec![r#"{"op":"flip"}"#; 65].join(","));
    let rows: &[(&str, Syntax, &str)] = &[
        ("YAML billion laughs (9^9 aliases)", Syntax::Yaml, &laughs),
        ("YAML nested 100,000 deep", Syntax::Yaml, &nested),
        ("JSON nested 100,000 deep", Syntax::Json, &nested),
        ("JSON with 65 steps", Syntax::Json, &too_many_steps),
        ("JSON width of 1e300", Syntax::Json, r#"{"version":1,"steps":[{"op":"resize","width":1e300}]}"#),
        ("inline width of 2^64", Syntax::Inline, "resize:width=18446744073709551616"),
        ("inline unbalanced brackets", Syntax::Inline, "augment:crop_scale=[[[[0.5,1]"),
    ];
    let mut failures = Vec::new();
    for (name, syntax, text) in rows {
        let run = metered(|| match syntax {
            Syntax::Json => Pipeline::parse_json(text),
            Syntax::Yaml => Pipeline::parse_yaml(text),
            Syntax::Inline => Pipeline::parse_inline(&[text]),
        });
        match &run.result {
            Err(panic) => failures.push(format!("{name}: panicked: {panic}")),
            Ok(Ok(pipeline)) => failures.push(format!("{name}: accepted as {pipeline:?}")),
            Ok(Err(_)) => {}
        }
        if run.elapsed > CALL_BUDGET {
            failures.push(format!("{name}: took {:?}", run.elapsed));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn hostile_pipelines_over_a_valid_image_fail_with_a_client_error() {
    // Valid documents that ask for something this image or this build cannot give: the
    // answer is a typed 4xx-kind error, never `encode_failed` or `internal_error`.
    let image = png_rgb(2, 2, gradient);
    let limits = Limits::default();
    let rows: &[(&[&str], Code)] = &[
        // WebP's largest side is 16,383, one less than the default max_output_side.
        (&["resize:width=16384,height=1,fit=fill,upscale=true", "convert:format=webp"], Code::OutputTooLarge),
        (
            &["resize:width=1,height=16384,fit=fill,upscale=true", "convert:format=webp,lossless=true"],
            Code::OutputTooLarge,
        ),
        (&["resize:width=1,height=16385,fit=fill,upscale=true"], Code::OutputTooLarge),
        (&["resize:width=65535,height=1,fit=fill,upscale=true", "convert:format=jpeg"], Code::OutputTooLarge),
        (&["crop:x=5,y=5,width=1,height=1"], Code::OpNotApplicable),
        (&["watermark:image=missing"], Code::AssetUnavailable),
    ];
    let mut failures = Vec::new();
    for (steps, expected) in rows {
        let pipeline = Pipeline::parse_inline(steps).unwrap_or_else(|err| panic!("{steps:?} is valid: {err}"));
        let run = metered(|| {
            pipeline.run(&image, RunEnv { limits: &limits, assets: &NoAssets, models: &NoModels }).map(|_| ())
        });
        match run.result {
            Err(panic) => failures.push(format!("{steps:?}: panicked: {panic}")),
            Ok(Ok(())) => failures.push(format!("{steps:?}: succeeded, expected {expected}")),
            Ok(Err(err)) if err.code() != *expected || err.kind() == ErrorKind::Internal => {
                failures.push(format!("{steps:?}: {} ({:?}: {err}), expected {expected}", err.code(), err.kind()))
            }
            Ok(Err(_)) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_photo_cut_short_anywhere_gets_a_typed_error() {
    let limits = Limits::default();
    let mut failures = Vec::new();
    for path in files_in(&test_data_dir().join("photos")) {
        let name = file_name(&path);
        if name.ends_with(".sh") {
            continue;
        }
        let bytes = std::fs::read(&path).expect("a readable photo");
        for sixteenths in 1..16 {
            let cut = &bytes[..bytes.len() * sixteenths / 16];
            let run = metered(|| decode(cut, &limits, None).map(|_| ()));
            let label = format!("{name} cut at {sixteenths}/16");
            match run.result {
                Err(panic) => failures.push(format!("{label}: panicked: {panic}")),
                Ok(Err(err)) if !DECODE_CODES.contains(&err.code()) => {
                    failures.push(format!("{label}: {} ({err})", err.code()))
                }
                // A file cut after its last pixel may still decode; that is fine.
                Ok(_) => {}
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_committed_hostile_corpus_is_what_the_generators_build() {
    // The corpus is exactly the committable generated cases plus fuzz findings (`fuzz-*`).
    let dir = corpus_dir();
    let update = env_flag("UPDATE_CORPUS");
    let cases = cases();
    let mut stale = Vec::new();
    for case in cases.iter().filter(|case| case.commit) {
        let path = dir.join(case.name);
        if update {
            std::fs::create_dir_all(&dir).expect("create test-data/hostile");
            std::fs::write(&path, &case.bytes).unwrap_or_else(|err| panic!("write {}: {err}", path.display()));
        } else if std::fs::read(&path).ok().as_deref() != Some(&case.bytes[..]) {
            stale.push(format!("{} (missing or different)", case.name));
        }
    }
    for path in files_in(&dir) {
        let name = file_name(&path);
        if name.starts_with("fuzz-") || cases.iter().any(|case| case.commit && case.name == name) {
            continue;
        }
        if update {
            std::fs::remove_file(&path).unwrap_or_else(|err| panic!("remove {}: {err}", path.display()));
        } else {
            stale.push(format!("{name} (no generator builds it; fuzz findings are named fuzz-*)"));
        }
    }
    assert!(
        stale.is_empty(),
        "{} is out of date: {stale:?}; run UPDATE_CORPUS=1 cargo test -p atelier-imaging --test it hostile",
        dir.display()
    );
}

#[test]
fn the_committed_hostile_corpus_stays_under_2_mb() {
    let total: u64 =
        files_in(&corpus_dir()).iter().map(|path| path.metadata().map(|meta| meta.len()).unwrap_or(0)).sum();
    assert!(total <= CORPUS_BYTE_BUDGET, "test-data/hostile/ holds {total} bytes, over {CORPUS_BYTE_BUDGET}");
}

// ---------------------------------------------------------------------------------------
// The contract for any file, and the table of cases.

/// Runs `bytes` through probe, decode (full size and with a hint) and a thumbnail
/// pipeline; returns what broke the contract: a panic, a slow call, an unexpected code.
fn check_contract(label: &str, bytes: &[u8]) -> Vec<String> {
    let limits = Limits::default();
    let thumbnail = Pipeline::parse_inline(&["thumbnail:width=64"]).expect("a valid pipeline");
    let env = RunEnv { limits: &limits, assets: &NoAssets, models: &NoModels };
    let hint = Some(SizeHint { width: 64, height: 64 });
    let pipeline_codes = [DECODE_CODES, PIPELINE_EXTRA_CODES].concat();
    let mut problems = Vec::new();
    let probed = metered(|| probe(bytes, &limits));
    if let Ok(Ok(found)) = &probed.result {
        if found.width == 0 || found.height == 0 {
            problems.push(format!("{label} (probe): succeeded with an empty size, {}x{}", found.width, found.height));
        }
    }
    let calls = [
        ("probe", probed.map(|res| res.map(|_| ())), DECODE_CODES),
        ("decode", metered(|| decode(bytes, &limits, None).map(|_| ())), DECODE_CODES),
        ("decode with a hint", metered(|| decode(bytes, &limits, hint).map(|_| ())), DECODE_CODES),
        ("thumbnail pipeline", metered(|| thumbnail.run(bytes, env).map(|_| ())), &pipeline_codes[..]),
    ];
    for (call, run, allowed) in calls {
        match &run.result {
            Err(panic) => problems.push(format!("{label} ({call}): panicked: {panic}")),
            Ok(Err(err)) if !allowed.contains(&err.code()) => {
                problems.push(format!("{label} ({call}): undocumented code {} ({err})", err.code()))
            }
            Ok(_) => {}
        }
        if run.elapsed > CALL_BUDGET {
            problems.push(format!("{label} ({call}): took {:?}", run.elapsed));
        }
    }
    problems
}

/// The three ways a pipeline document is written.
#[derive(Debug, Clone, Copy)]
enum Syntax {
    Json,
    Yaml,
    Inline,
}

mod cases;

use cases::{cases, originals, Case, Expect};

fn corpus_dir() -> PathBuf {
    test_data_dir().join("hostile")
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|name| name.to_string_lossy().into_owned()).unwrap_or_default()
}
