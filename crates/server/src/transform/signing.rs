//! Signing transform URLs: HMAC-SHA256 with a server key over the exact text
//! `{options}/{image_id}.{ext}`, written as 43 characters of unpadded base64url (the whole
//! 256-bit MAC, untruncated). `atelier sign` and the route share these functions.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Shortest secret accepted, in bytes: as long as the MAC, so the key is never the weak part.
pub const MIN_KEY_LEN: usize = 32;

/// Length of a signature: 32 bytes in unpadded base64url.
pub const SIGNATURE_LEN: usize = 43;

/// A server secret, keyed once. Its `Debug` never shows the secret.
#[derive(Clone)]
pub struct SigningKey {
    mac: HmacSha256,
}

/// Why a secret was refused as a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyError {
    pub len: usize,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a signing key must be at least {MIN_KEY_LEN} bytes, got {} (make one with `openssl rand -hex 32`)",
            self.len
        )
    }
}

impl std::error::Error for KeyError {}

impl SigningKey {
    /// The key whose secret is `secret`'s bytes, used as they are (not decoded from hex or base64).
    pub fn new(secret: &[u8]) -> Result<SigningKey, KeyError> {
        let short = KeyError { len: secret.len() };
        if secret.len() < MIN_KEY_LEN {
            return Err(short);
        }
        // HMAC takes keys of any length; the error cannot happen, and is refused like a short key.
        let mac = HmacSha256::new_from_slice(secret).map_err(|_| short)?;
        Ok(SigningKey { mac })
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

/// The signature of `path`, the part of a transform URL after the signature:
/// `{options}/{image_id}.{ext}`, exactly as it appears in the URL.
pub fn sign(key: &SigningKey, path: &str) -> String {
    URL_SAFE_NO_PAD.encode(keyed(key, path).finalize().into_bytes())
}

/// The path of a signed transform URL, `/t/{signature}/{options}/{image_id}.{ext}`.
pub fn signed_path(key: &SigningKey, options: &str, image_id: &str, ext: &str) -> String {
    let path = format!("{options}/{image_id}.{ext}");
    format!("/t/{}/{path}", sign(key, &path))
}

/// Whether `signature` is some key's signature of `path`. Every comparison is constant-time
/// (`Mac::verify_slice`), so a forger learns nothing from how long a refusal takes.
pub fn verify(keys: &[SigningKey], signature: &str, path: &str) -> bool {
    // Checked before decoding so that junk costs neither a decode nor an HMAC.
    if signature.len() != SIGNATURE_LEN {
        return false;
    }
    let Ok(mac) = URL_SAFE_NO_PAD.decode(signature) else {
        return false;
    };
    keys.iter().any(|key| keyed(key, path).verify_slice(&mac).is_ok())
}

fn keyed(key: &SigningKey, path: &str) -> HmacSha256 {
    let mut mac = key.mac.clone();
    mac.update(path.as_bytes());
    mac
}

#[cfg(test)]
mod tests {
    use super::{sign, signed_path, verify, SigningKey, SIGNATURE_LEN};

    fn key(byte: u8) -> SigningKey {
        SigningKey::new(&[byte; 32]).unwrap()
    }

    #[test]
    fn a_signature_is_the_hmac_sha256_of_the_path_in_unpadded_base64url() {
        // Computed independently, so a change of algorithm or encoding cannot pass unnoticed:
        // printf %s 'q:80/abc.webp' | openssl dgst -sha256 -mac HMAC -macopt key:aaaa…(32 a) -binary | base64url
        let key = SigningKey::new(&[b'a'; 32]).unwrap();
        let signature = sign(&key, "q:80/abc.webp");
        assert_eq!(signature.len(), SIGNATURE_LEN);
        assert!(signature.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{signature}");
        assert_eq!(signature, EXPECTED_Q80_ABC_WEBP);
    }

    const EXPECTED_Q80_ABC_WEBP: &str = "ffGrQQEgctwcl2N4BtDEEDyG3Is9-_ObGJEO9Oyvv5M";

    #[test]
    fn any_configured_key_verifies_and_nothing_else_does() {
        let (old, new, other) = (1, 2, 3);
        let path = "rs:cover:300:200/q:80/img.webp";
        let by_old = sign(&key(old), path);
        // (seeds of the configured keys, signature, signed path, verifies)
        let cases: &[(&[u8], &str, &str, bool)] = &[
            (&[new, old], &by_old, path, true),
            (&[old], &by_old, path, true),
            (&[new], &by_old, path, false),
            (&[other, new], &by_old, path, false),
            (&[], &by_old, path, false),
            (&[old], &by_old, "rs:cover:300:201/q:80/img.webp", false),
            (&[old], &by_old[..42], path, false),
            (&[old], &format!("{by_old}A"), path, false),
            (&[old], "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!", path, false),
            (&[old], "", path, false),
        ];
        for (index, (seeds, signature, path, ok)) in cases.iter().enumerate() {
            let keys: Vec<SigningKey> = seeds.iter().map(|&seed| key(seed)).collect();
            assert_eq!(verify(&keys, signature, path), *ok, "case {index}");
        }
    }

    #[test]
    fn short_secrets_are_refused_and_keys_never_print_their_secret() {
        assert_eq!(SigningKey::new(&[7; 31]).unwrap_err().len, 31);
        let key = SigningKey::new(b"a secret that is long enough to sign with").unwrap();
        assert!(!format!("{key:?}").contains("secret"));
    }

    #[test]
    fn a_signed_path_signs_exactly_what_follows_the_signature() {
        let key = key(9);
        let path = signed_path(&key, "bl:2/q:70", "abc", "png");
        let (signature, signed) = path.strip_prefix("/t/").unwrap().split_once('/').unwrap();
        assert_eq!(signed, "bl:2/q:70/abc.png");
        assert!(verify(&[key], signature, signed));
    }
}
