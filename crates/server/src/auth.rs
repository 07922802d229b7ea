//! Who may call, and how much: the auth settings, the signing key for access tokens, and
//! the in-memory limiters for sign-in and expensive routes. [`caller`] turns a request's
//! `Authorization` header into a [`Caller`]; [`session`] mints the tokens a login returns.

pub(crate) mod caller;
pub(crate) mod session;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use atelier_auth::{FailureCounter, Keys, Rate, RateLimiter};
use atelier_storage::Quotas;
use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};

pub use caller::{AdminCaller, Caller, KeyScopes, Via};

use crate::error::ApiError;

/// Who may create an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Registration {
    /// Anyone.
    Open,
    /// Only with an invite code an admin made.
    Invite,
    /// Nobody through the API; operators use `atelier user add`.
    Closed,
}

/// The account and credit rules the API enforces.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    pub registration: Registration,
    /// How long an access token (a JWT) is good for.
    pub access_ttl: Duration,
    /// How long a refresh token is good for, unused.
    pub refresh_ttl: Duration,
    /// Marks the refresh cookie `Secure`: set it when clients reach the API over TLS.
    pub secure_cookies: bool,
    /// Whether work costs credits at all; self-hosters may switch them off.
    pub credits: bool,
    /// Credits a new account starts with.
    pub signup_grant: i64,
    /// Limits for accounts that have none of their own.
    pub default_quotas: Quotas,
    /// Sign-in, registration and refresh requests per client address.
    pub auth_rate: Rate,
    /// Uploads and job submissions per account and per API key; four times as many per
    /// client address.
    pub expensive_rate: Rate,
    /// Wrong passwords for one account within `failure_window` before logins are refused.
    pub max_login_failures: u32,
    /// Wrong passwords from one address within `failure_window` before logins are refused.
    pub max_ip_failures: u32,
    pub failure_window: Duration,
}

impl Default for AuthConfig {
    fn default() -> AuthConfig {
        AuthConfig {
            registration: Registration::Open,
            access_ttl: Duration::from_secs(15 * 60),
            refresh_ttl: Duration::from_secs(30 * 24 * 3600),
            secure_cookies: false,
            credits: true,
            signup_grant: 100,
            default_quotas: Quotas { bytes: Some(10 << 30), jobs: Some(50) },
            auth_rate: Rate { burst: 60, per: Duration::from_secs(60) },
            expensive_rate: Rate { burst: 600, per: Duration::from_secs(60) },
            max_login_failures: 19,
            max_ip_failures: 100,
            failure_window: Duration::from_secs(60),
        }
    }
}

/// How many accounts' worth of expensive requests one address may send.
const ADDRESS_SHARE: u32 = 4;

/// Limiters hold at most this many keys each, so a flood of addresses cannot grow memory.
const MAX_TRACKED: usize = 100_000;

/// The auth settings with the state they need: the token key and the limiters.
pub struct Auth {
    pub config: AuthConfig,
    keys: Keys,
    by_address: RateLimiter,
    by_account: RateLimiter,
    /// Expensive requests per address: several accounts may share one (a NAT, an office).
    expensive_by_address: RateLimiter,
    account_failures: FailureCounter,
    address_failures: FailureCounter,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").field("config", &self.config).finish_non_exhaustive()
    }
}

impl Auth {
    /// `secret` signs access tokens: at least 32 bytes, the same on every replica.
    pub fn new(config: AuthConfig, secret: &[u8]) -> Auth {
        Auth {
            keys: Keys::new(secret),
            by_address: RateLimiter::new(config.auth_rate, MAX_TRACKED),
            by_account: RateLimiter::new(config.expensive_rate, MAX_TRACKED),
            expensive_by_address: RateLimiter::new(
                Rate {
                    burst: config.expensive_rate.burst.saturating_mul(ADDRESS_SHARE),
                    per: config.expensive_rate.per,
                },
                MAX_TRACKED,
            ),
            account_failures: FailureCounter::new(config.max_login_failures, config.failure_window, MAX_TRACKED),
            address_failures: FailureCounter::new(config.max_ip_failures, config.failure_window, MAX_TRACKED),
            config,
        }
    }

    pub(crate) fn keys(&self) -> &Keys {
        &self.keys
    }

    /// Counts one sign-in, registration or refresh request from `address`.
    pub(crate) fn check_address(&self, address: &ClientAddr) -> Result<(), ApiError> {
        self.by_address.check(&address.key(), Instant::now()).map_err(|wait| {
            ApiError::rate_limited(wait.secs(), "too many sign-in requests from this address; slow down")
        })
    }

    /// Counts one expensive request (an upload, a job) against the account, its key and its
    /// address.
    pub(crate) fn check_expensive(&self, caller: &Caller) -> Result<(), ApiError> {
        let now = Instant::now();
        let limited = |wait: atelier_auth::RetryAfter| {
            ApiError::rate_limited(wait.secs(), "too many uploads or jobs from this account; slow down")
        };
        self.by_account.check(&format!("user:{}", caller.user.id), now).map_err(limited)?;
        if let Via::Key { id, .. } = &caller.via {
            self.by_account.check(&format!("key:{id}"), now).map_err(limited)?;
        }
        self.expensive_by_address.check(&caller.addr.key(), now).map_err(limited)
    }

    /// Refuses a login attempt while the account or the address has failed too often.
    pub(crate) fn check_login(&self, email: &str, address: &ClientAddr) -> Result<(), ApiError> {
        let now = Instant::now();
        let blocked =
            self.account_failures.blocked(email, now).or_else(|| self.address_failures.blocked(&address.key(), now));
        match blocked {
            Some(wait) => {
                Err(ApiError::rate_limited(wait.secs(), "too many failed sign-ins; wait before trying again"))
            }
            None => Ok(()),
        }
    }

    pub(crate) fn login_failed(&self, email: &str, address: &ClientAddr) {
        let now = Instant::now();
        self.account_failures.fail(email, now);
        self.address_failures.fail(&address.key(), now);
    }

    pub(crate) fn login_succeeded(&self, email: &str) {
        self.account_failures.clear(email);
    }
}

/// The client's address, from the connection (not from headers a client could forge).
/// `None` where the server was started without connection info.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientAddr(Option<IpAddr>);

impl ClientAddr {
    pub fn of(parts: &Parts) -> ClientAddr {
        ClientAddr(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip()))
    }

    fn key(&self) -> String {
        self.0.map_or_else(|| "ip:unknown".to_string(), |ip| format!("ip:{ip}"))
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr::of(parts))
    }
}
