//! atelier's authentication logic: password policy and hashing, signed access tokens, API key and
//! opaque-token secrets, and in-memory rate limits.
//!
//! Everything here is pure computation over its arguments (plus OS randomness): no files, no
//! network, no database, no clock reads — callers pass `now` in, which keeps the rules testable and
//! lets the server decide where state lives.

pub mod jwt;
pub mod limit;
pub mod password;
pub mod secret;

pub use jwt::{Claims, Keys, TokenError, TokenKind};
pub use limit::{FailureCounter, Rate, RateLimiter, RetryAfter};
pub use password::{PasswordError, Policy};
