//! `atelier sign`: the URL it prints verifies with the server's keys, and it refuses to
//! print one without a key or with options the server would refuse.

use std::path::Path;
use std::process::{Command, Output};

use atelier_server::transform::{verify, SigningKey};

use super::tempdir;

const FIRST: &str = "the-first-key-signs-and-is-long-enough";
const SECOND: &str = "the-second-key-only-verifies-and-is-long";

/// `atelier sign` with `keys` (a variable's text) and nothing from the caller's environment.
fn sign(dir: &Path, keys: Option<&str>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_atelier"));
    command.arg("sign").args(args).current_dir(dir).env_remove("ATELIER_TRANSFORM__KEYS");
    if let Some(keys) = keys {
        command.env("ATELIER_TRANSFORM__KEYS", keys);
    }
    command.output().unwrap()
}

fn key(secret: &str) -> SigningKey {
    SigningKey::new(secret.as_bytes()).unwrap()
}

/// The signature and the signed part of a printed URL, after `base`.
fn split(url: &str, base: &str) -> (String, String) {
    let rest = url.strip_prefix(base).and_then(|rest| rest.strip_prefix("/t/")).unwrap_or_else(|| panic!("{url}"));
    let (signature, signed) = rest.split_once('/').unwrap();
    (signature.to_string(), signed.to_string())
}

#[test]
fn sign_prints_a_url_that_the_first_key_signed_and_the_server_verifies() {
    let dir = tempdir();
    let both = format!("[\"{FIRST}\", \"{SECOND}\"]");
    let base = "https://img.example.com";
    let out = sign(dir.path(), Some(&both), &["abc-123", "rs:cover:300:200/q:70", "--ext", "webp", "--base", base]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let url = String::from_utf8(out.stdout).unwrap();
    let (signature, signed) = split(url.trim_end(), base);
    assert_eq!(signed, "rs:cover:300:200/q:70/abc-123.webp");
    assert!(verify(&[key(SECOND), key(FIRST)], &signature, &signed));
    assert!(!verify(&[key(SECOND)], &signature, &signed), "the first key signs");

    let out = sign(dir.path(), Some(FIRST), &["abc", "bl:2", "--ext", "auto", "--expires-in", "3600"]);
    assert!(out.status.success(), "one key needs no brackets: {}", String::from_utf8_lossy(&out.stderr));
    let url = String::from_utf8(out.stdout).unwrap();
    let (signature, signed) = split(url.trim_end(), "http://127.0.0.1:8080");
    assert!(verify(&[key(FIRST)], &signature, &signed));
    let expires: u64 = signed.strip_prefix("bl:2/exp:").unwrap().strip_suffix("/abc.auto").unwrap().parse().unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert!((now + 3590..=now + 3610).contains(&expires), "{expires} vs {now}");

    std::fs::write(dir.path().join("atelier.toml"), "listen = \"10.1.2.3:9000\"\n").unwrap();
    let out = sign(dir.path(), Some(FIRST), &["abc", "q:70", "--ext", "png"]);
    assert!(String::from_utf8(out.stdout).unwrap().starts_with("http://10.1.2.3:9000/t/"), "the base follows `listen`");
}

#[test]
fn sign_refuses_without_a_key_with_a_short_key_and_with_what_the_server_would_refuse() {
    let dir = tempdir();
    let cases: &[(Option<&str>, &[&str], &str)] = &[
        (None, &["abc", "q:70", "--ext", "jpg"], "no signing key is configured"),
        (Some("[]"), &["abc", "q:70", "--ext", "jpg"], "no signing key is configured"),
        (Some("too-short"), &["abc", "q:70", "--ext", "jpg"], "at least 32 bytes"),
        (Some(FIRST), &["abc", "rs:cover:300:200/bl:abc", "--ext", "jpg"], "segment 2"),
        (Some(FIRST), &["abc", "q:70", "--ext", "gif"], "extension"),
        (Some(FIRST), &["abc", "q:70/exp:99999999999", "--ext", "jpg", "--expires-in", "60"], "already end in"),
        (Some(FIRST), &["abc", "q:70/exp:1", "--ext", "jpg"], "expired already"),
        (Some(FIRST), &["../abc", "q:70", "--ext", "jpg"], "not an image id"),
        (Some(FIRST), &["abc.png", "q:70", "--ext", "jpg"], "not an image id"),
    ];
    for (keys, args, message) in cases {
        let out = sign(dir.path(), *keys, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{keys:?} {args:?}: {stderr}");
        assert!(stderr.contains(message), "{keys:?} {args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}
