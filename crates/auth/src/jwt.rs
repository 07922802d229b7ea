//! Signed access tokens: HS256 JWTs, issued and verified against a shared secret.

use std::collections::HashSet;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// What a token may be used for; a token of another kind is refused where an access token is expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    Access,
}

/// The payload. Times are unix seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    pub typ: TokenKind,
    /// The credential version the token was issued under (the account's password-change
    /// time): a token whose version is no longer the account's is stale.
    pub ver: i64,
    /// The sign-in (refresh-token family) the token belongs to: signing out ends it.
    pub sid: String,
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum TokenError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token has expired")]
    Expired,
    #[error("the token's algorithm is not accepted")]
    Algorithm,
}

/// The signing secret, in both the forms `jsonwebtoken` wants.
#[derive(Clone)]
pub struct Keys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys { .. }")
    }
}

/// Below this an HMAC secret is guessable offline from any captured token.
const MIN_SECRET_LEN: usize = 32;

impl Keys {
    /// # Panics
    /// If `secret` is shorter than 32 bytes.
    pub fn new(secret: &[u8]) -> Keys {
        assert!(secret.len() >= MIN_SECRET_LEN, "the token secret must be at least {MIN_SECRET_LEN} bytes");
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is checked against the caller's `now`, not the library's clock, and with no leeway.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.leeway = 0;
        validation.required_spec_claims = HashSet::new();
        Keys { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret), validation }
    }

    pub fn issue(&self, claims: &Claims) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .expect("HS256 signing of plain claims cannot fail")
    }

    /// The claims of `token` if it is an HS256 token signed with these keys, of kind
    /// [`TokenKind::Access`], and `now < exp` (unix seconds).
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        check_header(token)?;
        let data =
            jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| match e.kind() {
                ErrorKind::InvalidSignature => TokenError::BadSignature,
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName | ErrorKind::MissingAlgorithm => {
                    TokenError::Algorithm
                }
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Malformed,
            })?;
        let claims = data.claims;
        if claims.exp <= now {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

#[derive(Deserialize)]
struct RawHeader {
    alg: String,
}

/// `jsonwebtoken` cannot parse a header naming an algorithm it does not know (`none` among them)
/// and reports that as bad JSON; reading `alg` first lets such tokens be refused as
/// [`TokenError::Algorithm`], which is what they are.
fn check_header(token: &str) -> Result<(), TokenError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(TokenError::Malformed);
    };
    let bytes = URL_SAFE_NO_PAD.decode(header).map_err(|_| TokenError::Malformed)?;
    let raw: RawHeader = serde_json::from_slice(&bytes).map_err(|_| TokenError::Malformed)?;
    if raw.alg != "HS256" {
        return Err(TokenError::Algorithm);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"an-hs256-test-secret-of-at-least-32-bytes";
    const NOW: i64 = 1_700_000_000;

    fn claims() -> Claims {
        Claims {
            sub: "user-42".into(),
            iat: NOW,
            exp: NOW + 900,
            jti: "0123abcd".into(),
            typ: TokenKind::Access,
            ver: 7,
            sid: "family".into(),
        }
    }

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Replaces one segment of a token, keeping the others.
    fn with_segment(token: &str, index: usize, segment: &str) -> String {
        let mut parts: Vec<&str> = token.split('.').collect();
        parts[index] = segment;
        parts.join(".")
    }

    #[test]
    fn an_issued_token_verifies_to_the_same_claims() {
        let keys = Keys::new(SECRET);
        let token = keys.issue(&claims());
        assert_eq!(keys.verify(&token, NOW), Ok(claims()));
    }

    #[test]
    fn an_issued_token_is_hs256_with_a_lowercase_kind() {
        let token = Keys::new(SECRET).issue(&claims());
        let header = jsonwebtoken::decode_header(&token).expect("header");
        assert_eq!(header.alg, Algorithm::HS256);
        let payload = URL_SAFE_NO_PAD.decode(token.split('.').nth(1).expect("payload")).expect("base64");
        let json: serde_json::Value = serde_json::from_slice(&payload).expect("json");
        assert_eq!(json["typ"], "access");
    }

    #[test]
    fn a_tampered_payload_is_refused() {
        let keys = Keys::new(SECRET);
        let token = keys.issue(&claims());
        let forged = Claims { sub: "admin".into(), ..claims() };
        let forged_payload = b64(&serde_json::to_vec(&forged).expect("json"));
        assert_eq!(keys.verify(&with_segment(&token, 1, &forged_payload), NOW), Err(TokenError::BadSignature));
    }

    #[test]
    fn a_tampered_signature_is_refused() {
        let keys = Keys::new(SECRET);
        let token = keys.issue(&claims());
        let mut sig = URL_SAFE_NO_PAD.decode(token.split('.').nth(2).expect("signature")).expect("base64");
        sig[0] ^= 1;
        assert_eq!(keys.verify(&with_segment(&token, 2, &b64(&sig)), NOW), Err(TokenError::BadSignature));
        assert_eq!(keys.verify(&with_segment(&token, 2, ""), NOW), Err(TokenError::BadSignature));
    }

    #[test]
    fn a_token_is_expired_from_its_exp_second_on() {
        let keys = Keys::new(SECRET);
        let token = keys.issue(&claims());
        let exp = claims().exp;
        assert!(keys.verify(&token, exp - 1).is_ok());
        assert_eq!(keys.verify(&token, exp), Err(TokenError::Expired));
        assert_eq!(keys.verify(&token, exp + 3600), Err(TokenError::Expired));
    }

    #[test]
    fn an_alg_none_token_is_refused() {
        let keys = Keys::new(SECRET);
        let header = b64(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = b64(&serde_json::to_vec(&claims()).expect("json"));
        let token = format!("{header}.{payload}.");
        assert_eq!(keys.verify(&token, NOW), Err(TokenError::Algorithm));
        // A valid HS256 signature glued onto a `none` header changes nothing.
        let real = keys.issue(&claims());
        assert_eq!(keys.verify(&with_segment(&real, 0, &header), NOW), Err(TokenError::Algorithm));
    }

    #[test]
    fn an_hs512_token_signed_with_the_same_key_is_refused() {
        let keys = Keys::new(SECRET);
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS512), &claims(), &EncodingKey::from_secret(SECRET))
            .expect("encode");
        assert_eq!(keys.verify(&token, NOW), Err(TokenError::Algorithm));
    }

    #[test]
    fn an_rs256_header_is_refused() {
        let keys = Keys::new(SECRET);
        let real = keys.issue(&claims());
        let header = b64(br#"{"alg":"RS256","typ":"JWT"}"#);
        assert_eq!(keys.verify(&with_segment(&real, 0, &header), NOW), Err(TokenError::Algorithm));
    }

    #[test]
    fn a_token_from_another_key_is_refused() {
        let other = Keys::new(b"another-secret-that-is-also-32-bytes-long");
        let token = other.issue(&claims());
        assert_eq!(Keys::new(SECRET).verify(&token, NOW), Err(TokenError::BadSignature));
    }

    #[test]
    fn garbage_is_refused_as_malformed() {
        let keys = Keys::new(SECRET);
        let header = b64(br#"{"alg":"HS256","typ":"JWT"}"#);
        for token in ["", ".", "..", "...", "abc", "a.b.c", "a.b.c.d", "%%%.%%%.%%%", "Bearer x.y.z"] {
            assert_eq!(keys.verify(token, NOW), Err(TokenError::Malformed), "{token:?}");
        }
        assert_eq!(keys.verify(&format!("{}.{header}.x", b64(b"[]")), NOW), Err(TokenError::Malformed));
        assert_eq!(keys.verify(&format!("{}.x.y", b64(b"{}")), NOW), Err(TokenError::Malformed));
    }

    #[test]
    fn a_signed_token_with_an_unknown_kind_is_malformed() {
        let keys = Keys::new(SECRET);
        let mut json = serde_json::to_value(claims()).expect("json");
        json["typ"] = "refresh".into();
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &json, &EncodingKey::from_secret(SECRET))
            .expect("encode");
        assert_eq!(keys.verify(&token, NOW), Err(TokenError::Malformed));
    }

    #[test]
    fn a_signed_token_missing_a_claim_is_malformed() {
        let keys = Keys::new(SECRET);
        let mut json = serde_json::to_value(claims()).expect("json");
        json.as_object_mut().expect("object").remove("exp");
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &json, &EncodingKey::from_secret(SECRET))
            .expect("encode");
        assert_eq!(keys.verify(&token, NOW), Err(TokenError::Malformed));
    }

    #[test]
    fn the_debug_form_of_keys_hides_the_secret() {
        let shown = format!("{:?}", Keys::new(SECRET));
        assert!(!shown.contains("secret"), "{shown}");
        assert!(!shown.contains(&format!("{:?}", &SECRET[..8])), "{shown}");
    }

    #[test]
    #[should_panic(expected = "at least 32 bytes")]
    fn a_short_secret_is_rejected() {
        let _ = Keys::new(b"too short");
    }
}
