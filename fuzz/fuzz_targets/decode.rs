//! Arbitrary bytes through `probe` and `decode`, with the default limits, once at full size
//! and once with a small size hint (the JPEG shrink-on-load path). Besides crashes, aborts,
//! allocations over `-rss_limit_mb` and runs over `-timeout`, the contract for untrusted
//! bytes is asserted, so breaking it is a finding too: an error carries one of the decode
//! codes, a successful probe reports a real size, and decode agrees with probe on it.
#![no_main]

use atelier_imaging::{decode, probe, Code, Error, Limits, SizeHint};
use libfuzzer_sys::fuzz_target;

const DECODE_CODES: &[Code] = Code::DECODE;

fn check_code(call: &str, err: &Error) {
    assert!(DECODE_CODES.contains(&err.code()), "{call}: undocumented code {}: {err}", err.code());
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits::default();
    let probed = probe(data, &limits);
    match &probed {
        Ok(found) => assert!(found.width > 0 && found.height > 0, "probe reported {}x{}", found.width, found.height),
        Err(err) => check_code("probe", err),
    }
    match decode(data, &limits, None) {
        Ok(decoded) => {
            if let Ok(found) = &probed {
                let decoded_size = (decoded.source_width, decoded.source_height);
                assert_eq!((found.width, found.height), decoded_size, "probe and decode disagree on the size");
            }
        }
        Err(err) => check_code("decode", &err),
    }
    if let Err(err) = decode(data, &limits, Some(SizeHint { width: 64, height: 48 })) {
        check_code("decode with a hint", &err);
    }
});
