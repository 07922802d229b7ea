//! Random secrets (API keys, refresh tokens, invite codes, ids) and the hashes stored in their place.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const LOWER_ALNUM: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";

const API_KEY_TAG: &str = "atl_";
const API_KEY_PREFIX_LEN: usize = 8;
const API_KEY_SECRET_LEN: usize = 32;
/// 43 base62 characters carry 43 · log2(62) ≈ 256.03 bits.
const TOKEN_LEN: usize = 43;

/// A freshly minted API key: `token` is shown to the user once, `prefix` identifies the key in
/// listings and lookups, `hash` is what gets stored.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeySecret {
    pub token: String,
    pub prefix: String,
    pub hash: String,
}

// Keeps the plaintext out of logs if a key ever ends up in a `{:?}`.
impl std::fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeySecret").field("prefix", &self.prefix).field("hash", &self.hash).finish_non_exhaustive()
    }
}

/// `atl_` + 8 characters of `[a-z0-9]` + `_` + 32 characters of base62; the hash covers the whole token.
pub fn new_api_key() -> ApiKeySecret {
    let prefix = random_string(LOWER_ALNUM, API_KEY_PREFIX_LEN);
    let token = format!("{API_KEY_TAG}{prefix}_{}", random_string(BASE62, API_KEY_SECRET_LEN));
    let hash = hash_token(&token);
    ApiKeySecret { token, prefix, hash }
}

/// The prefix of `token` when it has exactly the shape [`new_api_key`] produces, else `None`.
pub fn parse_api_key(token: &str) -> Option<&str> {
    let rest = token.strip_prefix(API_KEY_TAG)?;
    if rest.len() != API_KEY_PREFIX_LEN + 1 + API_KEY_SECRET_LEN {
        return None;
    }
    // Length is in bytes, so check ASCII before slicing to stay on char boundaries.
    if !rest.is_ascii() {
        return None;
    }
    let (prefix, tail) = rest.split_at(API_KEY_PREFIX_LEN);
    let secret = tail.strip_prefix('_')?;
    let prefix_ok = prefix.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let secret_ok = secret.bytes().all(|b| b.is_ascii_alphanumeric());
    (prefix_ok && secret_ok).then_some(prefix)
}

/// `("{kind}_" + 43 base62 characters, sha256 hex of that whole string)` — for refresh tokens
/// (`"rt"`) and invite codes (`"inv"`).
pub fn new_token(kind: &str) -> (String, String) {
    let token = format!("{kind}_{}", random_string(BASE62, TOKEN_LEN));
    let hash = hash_token(&token);
    (token, hash)
}

/// Lowercase hex SHA-256. The secrets hashed here are long and uniformly random, so a fast
/// unsalted hash is enough: there is nothing to brute-force.
pub fn hash_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// Constant-time equality, so comparing a presented hash to a stored one leaks no prefix length.
/// Strings of different lengths are unequal (and the length itself is not secret).
pub fn hashes_match(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// `N` bytes from the operating system's CSPRNG.
///
/// # Panics
/// If the OS cannot provide randomness; continuing with weak secrets would be worse.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    getrandom::getrandom(&mut buf).expect("the operating system's random number generator failed");
    buf
}

/// 16 random bytes as 32 lowercase hex characters, e.g. for a token's `jti`.
pub fn new_id() -> String {
    hex(&random_bytes::<16>())
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

/// Uniform characters from `alphabet` by rejection sampling: taking `byte % len` directly would
/// favour the first `256 % len` characters.
fn random_string(alphabet: &[u8], len: usize) -> String {
    let n = alphabet.len();
    debug_assert!((1..=256).contains(&n));
    let limit = 256 - 256 % n;
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in random_bytes::<64>() {
            let b = usize::from(b);
            if b < limit {
                out.push(alphabet[b % n] as char);
                if out.len() == len {
                    break;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn an_api_key_has_the_documented_shape() {
        let key = new_api_key();
        assert_eq!(key.token.len(), 4 + 8 + 1 + 32);
        assert!(key.token.starts_with("atl_"));
        assert_eq!(&key.token[4..12], key.prefix);
        assert_eq!(&key.token[12..13], "_");
        assert!(key.prefix.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
        assert!(key.token[13..].bytes().all(|b| b.is_ascii_alphanumeric()));
    }

    #[test]
    fn an_api_key_hash_is_the_sha256_of_the_whole_token() {
        let key = new_api_key();
        assert_eq!(key.hash, hash_token(&key.token));
        assert_eq!(key.hash.len(), 64);
    }

    #[test]
    fn a_fresh_api_key_parses_back_to_its_prefix() {
        let key = new_api_key();
        assert_eq!(parse_api_key(&key.token), Some(key.prefix.as_str()));
    }

    #[test]
    fn malformed_api_keys_are_not_parsed() {
        let good = "atl_abcd1234_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef";
        assert_eq!(parse_api_key(good), Some("abcd1234"));
        let bad = [
            "",
            "atl_",
            "xtl_abcd1234_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef",
            "atl_ABCD1234_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef",
            "atl_abcd1234-ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef",
            "atl_abcd1234_ABCDEFGHIJKLMNOPQRSTUVWXYZabcde",
            "atl_abcd1234_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefg",
            "atl_abcd123_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef0",
            "atl_abcd1234_ABCDEFGHIJKLMNOPQRSTUVWXYZabcd-f",
            "atl_abcd1234_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdé",
            "atl_abcdé234_ABCDEFGHIJKLMNOPQRSTUVWXYZabcde",
        ];
        for token in bad {
            assert_eq!(parse_api_key(token), None, "{token:?}");
        }
    }

    #[test]
    fn a_token_carries_its_kind_and_at_least_256_bits() {
        let (token, hash) = new_token("rt");
        let body = token.strip_prefix("rt_").expect("kind prefix");
        assert_eq!(body.len(), 43);
        assert!(body.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert!(43.0 * 62f64.log2() >= 256.0);
        assert_eq!(hash, hash_token(&token));
    }

    #[test]
    fn tokens_and_ids_do_not_repeat() {
        let tokens: HashSet<_> = (0..200).map(|_| new_token("inv").0).collect();
        assert_eq!(tokens.len(), 200);
        let ids: HashSet<_> = (0..200).map(|_| new_id()).collect();
        assert_eq!(ids.len(), 200);
    }

    #[test]
    fn an_id_is_32_lowercase_hex_characters() {
        let id = new_id();
        assert_eq!(id.len(), 32);
        assert!(id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    }

    #[test]
    fn hash_token_matches_a_known_sha256() {
        assert_eq!(hash_token("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn hashes_match_only_when_equal() {
        let h = hash_token("x");
        assert!(hashes_match(&h, &h.clone()));
        assert!(!hashes_match(&h, &hash_token("y")));
        assert!(!hashes_match(&h, &h[..63]));
        assert!(!hashes_match("", "a"));
        assert!(hashes_match("", ""));
    }

    #[test]
    fn random_strings_use_the_whole_alphabet() {
        let seen: HashSet<char> = random_string(BASE62, 5000).chars().collect();
        assert_eq!(seen.len(), 62);
    }

    #[test]
    fn random_bytes_are_not_all_zero() {
        assert_ne!(random_bytes::<32>(), [0u8; 32]);
    }

    #[test]
    fn the_debug_form_of_an_api_key_hides_the_token() {
        let key = new_api_key();
        let shown = format!("{key:?}");
        assert!(!shown.contains(&key.token[13..]));
        assert!(shown.contains(&key.prefix));
    }
}
