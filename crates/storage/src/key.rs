//! Blob keys. Every key is built by a constructor from typed parts (a content hash, a job
//! id, an output name that the worker chose), so no request can steer a write outside its
//! prefix: there is no way to make a key from a user's string without validation.

use std::fmt;

use crate::error::{Error, Result};

/// A SHA-256 digest as 64 lowercase hex characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256Hex(String);

impl Sha256Hex {
    pub fn parse(text: &str) -> Option<Sha256Hex> {
        let valid = text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        valid.then(|| Sha256Hex(text.to_string()))
    }

    pub fn from_digest(digest: &[u8; 32]) -> Sha256Hex {
        Sha256Hex(digest.iter().map(|b| format!("{b:02x}")).collect())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The path of a blob inside the store, e.g. `originals/3a7b…` or `jobs/{id}/images/0.jpg`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobKey(String);

/// Longest key we make; S3 allows 1024 bytes.
const MAX_KEY_LEN: usize = 512;

impl BlobKey {
    /// An uploaded original, stored once by content.
    pub fn original(hash: &Sha256Hex) -> BlobKey {
        BlobKey(format!("originals/{}", hash.as_str()))
    }

    /// A cached rendering: `hash` covers the source, the canonical ops and the encoder.
    pub fn derived(hash: &Sha256Hex, extension: &str) -> Result<BlobKey> {
        BlobKey::parse(&format!("derived/{}.{extension}", hash.as_str()))
    }

    /// A job's output or metadata file. `name` is chosen by the worker (`images/3.jpg`,
    /// `metadata.json`), and validated like any key.
    pub fn job_file(job_id: &str, name: &str) -> Result<BlobKey> {
        BlobKey::parse(&format!("jobs/{job_id}/{name}"))
    }

    /// The folder of a resumable upload's parts; `id` is the session's (server-made) id.
    pub fn upload_prefix(upload_id: &str) -> Result<BlobKey> {
        BlobKey::parse(&format!("uploads/{upload_id}"))
    }

    /// One part of a resumable upload. `nonce` is fresh per request, so two clients racing
    /// for one offset never write the same blob.
    pub fn upload_part(upload_id: &str, nonce: &str) -> Result<BlobKey> {
        BlobKey::parse(&format!("uploads/{upload_id}/{nonce}"))
    }

    /// Checks a key read back from the store or built from parts: ASCII letters, digits,
    /// `-`, `_`, `.` and `/` only; no empty, `.` or `..` segment; no leading `/`.
    pub fn parse(text: &str) -> Result<BlobKey> {
        let invalid = |reason| Err(Error::InvalidKey { key: text.to_string(), reason });
        if text.is_empty() || text.len() > MAX_KEY_LEN {
            return invalid("must be 1 to 512 bytes");
        }
        if !text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/')) {
            return invalid("only ASCII letters, digits, '-', '_', '.' and '/' are allowed");
        }
        if text.split('/').any(|segment| segment.is_empty() || segment == "." || segment == "..") {
            return invalid("empty, '.' and '..' segments are not allowed");
        }
        Ok(BlobKey(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BlobKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::{BlobKey, Sha256Hex};

    #[test]
    fn keys_refuse_traversal_absolute_paths_and_odd_characters() {
        let cases = [
            ("originals/abc", true),
            ("jobs/42/images/0.jpg", true),
            ("jobs/42/../../etc/passwd", false),
            ("/etc/passwd", false),
            ("jobs//x", false),
            ("jobs/./x", false),
            ("jobs/x/", false),
            ("jobs/x y", false),
            ("jobs/x\\y", false),
            ("jobs/\u{e9}", false),
            ("", false),
        ];
        for (text, ok) in cases {
            assert_eq!(BlobKey::parse(text).is_ok(), ok, "{text:?}");
        }
        assert!(BlobKey::parse(&"a".repeat(513)).is_err());
        assert!(BlobKey::job_file("42", "../../x").is_err());
    }

    #[test]
    fn content_hashes_are_64_lowercase_hex_characters() {
        let hash = Sha256Hex::from_digest(&[0xab; 32]);
        assert_eq!(hash.as_str(), "ab".repeat(32));
        assert_eq!(Sha256Hex::parse(hash.as_str()), Some(hash.clone()));
        assert_eq!(Sha256Hex::parse(&"AB".repeat(32)), None);
        assert_eq!(Sha256Hex::parse("abc"), None);
        assert_eq!(BlobKey::original(&hash).as_str(), format!("originals/{}", "ab".repeat(32)));
    }
}
