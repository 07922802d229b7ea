//! Passwords: the policy a new password must meet, and argon2id hashing and verification.

use std::collections::HashSet;
use std::sync::LazyLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::secret::random_bytes;

/// What a new password must satisfy. Lengths: `min_len` counts characters (what a person types),
/// `max_len` counts bytes (what the hasher has to chew through).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub min_len: usize,
    pub max_len: usize,
}

impl Default for Policy {
    fn default() -> Self {
        // Length beats composition rules (NIST SP 800-63B); the cap only stops hashing megabytes.
        Policy { min_len: 10, max_len: 1024 }
    }
}

#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum PasswordError {
    #[error("the password must be at least {min} characters long")]
    TooShort { min: usize },
    #[error("the password must be at most {max} bytes long")]
    TooLong { max: usize },
    #[error("the password is too common")]
    Common,
    #[error("the password must not contain the email address")]
    ContainsEmail,
}

/// A local part shorter than this is too likely to occur by chance inside a good password.
const MIN_EMAIL_PART: usize = 4;

static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../common-passwords.txt").lines().map(str::trim).filter(|l| !l.is_empty()).collect()
});

impl Policy {
    /// Checks `password` for the account `email`. Length comes first so that a megabyte of input
    /// is refused before anything scans it.
    pub fn check(&self, password: &str, email: &str) -> Result<(), PasswordError> {
        if password.len() > self.max_len {
            return Err(PasswordError::TooLong { max: self.max_len });
        }
        if password.chars().count() < self.min_len {
            return Err(PasswordError::TooShort { min: self.min_len });
        }
        let lowered = password.to_lowercase();
        let local = email_local_part(email);
        if COMMON.contains(lowered.as_str())
            || is_one_repeated_char(password)
            || (!local.is_empty() && lowered == local)
        {
            return Err(PasswordError::Common);
        }
        if local.chars().count() >= MIN_EMAIL_PART && lowered.contains(&local) {
            return Err(PasswordError::ContainsEmail);
        }
        Ok(())
    }
}

fn email_local_part(email: &str) -> String {
    let email = email.trim();
    let local = email.rsplit_once('@').map_or(email, |(local, _)| local);
    local.to_lowercase()
}

fn is_one_repeated_char(password: &str) -> bool {
    let mut chars = password.chars();
    chars.next().is_some_and(|first| chars.all(|c| c == first))
}

/// OWASP's argon2id baseline: 19 MiB, two passes, one lane.
fn hasher() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("the argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// An argon2id PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) with a fresh random salt.
pub fn hash(password: &str) -> String {
    let salt = SaltString::encode_b64(&random_bytes::<16>()).expect("16 bytes is a valid salt length");
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashing with valid parameters cannot fail")
        .to_string()
}

/// Whether `password` matches `phc`, using the parameters recorded in `phc` so older hashes keep
/// working after the parameters change. A malformed or unsupported hash is simply `false`.
///
/// `phc` must come from [`hash`] (i.e. from our own storage): its parameters decide how much memory
/// verification allocates.
pub fn verify(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    hasher().verify_password(password.as_bytes(), &parsed).is_ok()
}

/// `hash("atelier-dummy-password")` with the current parameters, made once offline; a test keeps
/// its parameters in step with [`hasher`].
const DUMMY_PHC: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$L40ZPZXj8tebIT5YvUsY4w$KSszE70MiJB3d3ILuloPevQg+zl5Dn050q3vXWHgTyA";

/// Spends as long as [`verify`] on a real account, so a login for an unknown email cannot be told
/// apart by its response time.
pub fn dummy_verify(password: &str) {
    std::hint::black_box(verify(password, DUMMY_PHC));
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMAIL: &str = "Ada.Lovelace@example.com";

    fn check(password: &str) -> Result<(), PasswordError> {
        Policy::default().check(password, EMAIL)
    }

    #[test]
    fn the_default_policy_is_ten_characters_to_1024_bytes() {
        assert_eq!(Policy::default(), Policy { min_len: 10, max_len: 1024 });
    }

    #[test]
    fn a_long_uncommon_password_is_accepted() {
        assert_eq!(check("correct horse battery staple"), Ok(()));
        assert_eq!(check("Tr0ub4dor&3xyz"), Ok(()));
    }

    #[test]
    fn a_short_password_is_refused() {
        assert_eq!(check("k7#pQ2!x9"), Err(PasswordError::TooShort { min: 10 }));
        assert_eq!(check(""), Err(PasswordError::TooShort { min: 10 }));
    }

    #[test]
    fn the_minimum_counts_characters_not_bytes() {
        // Ten characters, twenty bytes.
        assert_eq!(check("ñßéüøåçðþæ"), Ok(()));
        assert_eq!(check("ñßéüøåçðþ"), Err(PasswordError::TooShort { min: 10 }));
    }

    #[test]
    fn the_maximum_counts_bytes() {
        let at_cap = "xyz ".repeat(256);
        assert_eq!(check(&at_cap), Ok(()));
        assert_eq!(check(&format!("{at_cap}q")), Err(PasswordError::TooLong { max: 1024 }));
        // 600 characters but 1200 bytes.
        assert_eq!(check(&"éa".repeat(400)), Err(PasswordError::TooLong { max: 1024 }));
    }

    #[test]
    fn a_common_password_is_refused_whatever_its_case() {
        for password in ["1234567890", "qwertyuiop", "password123", "PassWord123", "1q2w3e4r5t", "iloveyou123"] {
            assert_eq!(check(password), Err(PasswordError::Common), "{password}");
        }
    }

    #[test]
    fn short_common_passwords_are_refused_under_a_laxer_policy() {
        let lax = Policy { min_len: 4, max_len: 64 };
        for password in ["123456", "password", "qwerty", "letmein", "Dragon"] {
            assert_eq!(lax.check(password, EMAIL), Err(PasswordError::Common), "{password}");
        }
    }

    #[test]
    fn a_single_repeated_character_is_refused() {
        assert_eq!(check("aaaaaaaaaaaa"), Err(PasswordError::Common));
        assert_eq!(check("%%%%%%%%%%%%%%%%"), Err(PasswordError::Common));
        assert_eq!(check("éééééééééé"), Err(PasswordError::Common));
    }

    #[test]
    fn the_email_local_part_alone_is_common() {
        assert_eq!(check("ada.lovelace"), Err(PasswordError::Common));
        assert_eq!(check("ADA.LOVELACE"), Err(PasswordError::Common));
    }

    #[test]
    fn a_password_containing_the_email_local_part_is_refused() {
        assert_eq!(check("my-Ada.Lovelace-pw"), Err(PasswordError::ContainsEmail));
        assert_eq!(Policy::default().check("zz-bob7-rocks-zz", "bob7@example.com"), Err(PasswordError::ContainsEmail));
    }

    #[test]
    fn a_short_local_part_is_not_matched() {
        assert_eq!(Policy::default().check("correct abc battery", "abc@example.com"), Ok(()));
    }

    #[test]
    fn an_email_without_an_at_sign_is_treated_as_all_local_part() {
        assert_eq!(Policy::default().check("xx-carol-xx-yy", "carol"), Err(PasswordError::ContainsEmail));
    }

    #[test]
    fn length_is_checked_before_anything_else() {
        assert_eq!(check("password"), Err(PasswordError::TooShort { min: 10 }));
        assert_eq!(check(&"a".repeat(2000)), Err(PasswordError::TooLong { max: 1024 }));
    }

    #[test]
    fn the_common_list_is_lowercase_and_large() {
        assert!(COMMON.len() >= 1000, "{}", COMMON.len());
        assert!(COMMON.iter().all(|p| *p == p.to_lowercase()));
        assert!(COMMON.contains("123456"));
    }

    // One test holds all the argon2 work: each hash costs ~19 MiB and noticeable time in debug builds.
    #[test]
    fn a_hash_verifies_its_password_and_nothing_else() {
        let phc = hash("correct horse battery staple");
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify("correct horse battery staple", &phc));
        assert!(!verify("correct horse battery stapl", &phc));
        assert!(verify("atelier-dummy-password", DUMMY_PHC));
    }

    #[test]
    fn a_malformed_hash_verifies_nothing() {
        for phc in [
            "",
            "x",
            "$argon2id$",
            "$argon2id$v=19$m=19456,t=2,p=1$",
            "$pbkdf2$i=1$c2FsdA$aGFzaA",
            "$argon2id$v=19$m=1,t=0,p=0$c29tZXNhbHQ$aGFzaA",
        ] {
            assert!(!verify("anything", phc), "{phc}");
        }
    }

    #[test]
    fn the_dummy_hash_uses_the_current_parameters() {
        let dummy = PasswordHash::new(DUMMY_PHC).expect("the dummy hash parses");
        assert_eq!(dummy.algorithm, Algorithm::Argon2id.ident());
        assert_eq!(dummy.version, Some(Version::V0x13.into()));
        let costs = |p: &Params| (p.m_cost(), p.t_cost(), p.p_cost());
        assert_eq!(costs(&Params::try_from(&dummy).expect("params")), costs(hasher().params()));
    }

    #[test]
    fn dummy_verify_does_not_panic() {
        dummy_verify("whatever");
    }
}
