//! A pipeline document and an image, both from the fuzzer: the bytes before the first NUL
//! are the document, the rest is the image. A document starting with `{` is read as JSON,
//! anything else as inline steps, one per line (`thumbnail:width=64`). A document that
//! parses is run over the image with small limits, so one input stays cheap. Besides
//! crashes, aborts, OOMs and timeouts, an error of kind `Internal` (`encode_failed`,
//! `internal_error`: a 5xx at the API) is a finding: untrusted input must get a 4xx.
#![no_main]

use atelier_imaging::{ErrorKind, Limits, NoAssets, NoModels, Pipeline, RunEnv};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (text, image) = match data.iter().position(|&b| b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let Ok(text) = std::str::from_utf8(text) else { return };
    let parsed = if text.trim_start().starts_with('{') {
        Pipeline::parse_json(text)
    } else {
        let steps: Vec<&str> = text.lines().collect();
        Pipeline::parse_inline(&steps)
    };
    let Ok(pipeline) = parsed else { return };
    let limits = Limits { max_pixels: 4_000_000, op_timeout_ms: 2_000, ..Limits::default() };
    if let Err(err) = pipeline.run(image, RunEnv { limits: &limits, assets: &NoAssets, models: &NoModels }) {
        assert!(err.kind() != ErrorKind::Internal, "{}: {err}", err.code());
    }
});
