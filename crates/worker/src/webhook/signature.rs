//! Webhook signatures, Stripe-style: `t={unix seconds},v1={hex HMAC-SHA256 of "{t}.{body}"}`.
//! Signing the timestamp with the body lets a receiver refuse replays of an old delivery.

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The header value for `body` signed with `secret` at `timestamp` (unix seconds).
pub fn sign(secret: &str, timestamp: u64, body: &[u8]) -> String {
    let digest = mac(secret, timestamp, body).finalize().into_bytes();
    let mut hex = String::with_capacity(digest.len() * 2);
    for byte in digest {
        hex.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
        hex.push(char::from(HEX_DIGITS[usize::from(byte & 0xf)]));
    }
    format!("t={timestamp},v1={hex}")
}

/// Whether `header` is a valid signature of `body` under `secret`, made within `tolerance`
/// of `now` (unix seconds) in either direction, to allow for clock skew. Several `v1=`
/// entries are accepted (any may match) so a secret can be rotated without downtime.
/// The comparison takes the same time however many bytes match.
pub fn verify(secret: &str, header: &str, body: &[u8], now: u64, tolerance: Duration) -> bool {
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<u64>().ok(),
            Some(("v1", value)) => candidates.extend(decode_hex(value)),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else { return false };
    if now.abs_diff(timestamp) > tolerance.as_secs() {
        return false;
    }
    candidates.iter().any(|candidate| mac(secret, timestamp, body).verify_slice(candidate).is_ok())
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

fn mac(secret: &str, timestamp: u64, body: &[u8]) -> HmacSha256 {
    let mut mac = HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| char::from(c).to_digit(16);
    text.as_bytes().chunks(2).map(|pair| Some((digit(pair[0])? * 16 + digit(pair[1])?) as u8)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test";
    const BODY: &[u8] = br#"{"job":"j1","state":"succeeded"}"#;
    const T: u64 = 1_700_000_000;

    #[test]
    fn signatures_match_an_independent_hmac_sha256() {
        // The framing is the contract with receivers: HMAC over exactly "{t}.{body}".
        let mut plain = HmacSha256::new_from_slice(SECRET.as_bytes()).unwrap();
        plain.update(format!("{T}.").as_bytes());
        plain.update(BODY);
        let want: String = plain.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(sign(SECRET, T, BODY), format!("t={T},v1={want}"));
    }

    #[test]
    fn verification_accepts_only_the_right_secret_body_and_time() {
        let header = sign(SECRET, T, BODY);
        let minute = Duration::from_secs(60);
        let cases: &[(&str, &str, &[u8], u64, bool)] = &[
            ("the signed body, now", SECRET, BODY, T, true),
            ("within tolerance after", SECRET, BODY, T + 60, true),
            ("within tolerance before (skew)", SECRET, BODY, T - 60, true),
            ("too late: a replay", SECRET, BODY, T + 61, false),
            ("another secret", "whsec_other", BODY, T, false),
            ("another body", SECRET, b"{}", T, false),
        ];
        for (name, secret, body, now, want) in cases {
            assert_eq!(verify(secret, &header, body, *now, minute), *want, "{name}");
        }
    }

    #[test]
    fn malformed_or_tampered_headers_are_refused() {
        let good = sign(SECRET, T, BODY);
        let (_, hex) = good.split_once(",v1=").unwrap();
        let minute = Duration::from_secs(60);
        let rotated = format!("t={T},v1={},v1={hex}", "0".repeat(64));
        let tampered_time = format!("t={},v1={hex}", T + 1);
        let cases: Vec<(&str, String, bool)> = vec![
            ("two signatures, one right (rotation)", rotated, true),
            ("the timestamp changed", tampered_time, false),
            ("no timestamp", format!("v1={hex}"), false),
            ("no signature", format!("t={T}"), false),
            ("odd-length hex", format!("t={T},v1={}", &hex[1..]), false),
            ("not hex", format!("t={T},v1={}", "zz".repeat(32)), false),
            ("truncated signature", format!("t={T},v1={}", &hex[..62]), false),
            ("empty", String::new(), false),
        ];
        for (name, header, want) in cases {
            assert_eq!(verify(SECRET, &header, BODY, T, minute), want, "{name}");
        }
    }
}
