//! The `[auth]`, `[credits]`, `[quotas]` and `[http]` sections: who may register, how long
//! tokens live, what work costs, how much an account may hold, which origins may call.

use std::time::Duration;

use anyhow::Result;
use atelier_auth::Rate;
use atelier_server::{AuthConfig, Registration};
use atelier_storage::Quotas;
use serde::{Deserialize, Serialize};

#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// `open`, `invite` (codes from admins) or `closed` (`atelier user add` only).
    pub registration: Registration,
    /// Signs access tokens; at least 32 bytes, the same on every API replica. Unset means a
    /// random key made once and kept in the database. Never serialized.
    #[serde(skip_serializing)]
    pub secret: Option<String>,
    /// Access-token lifetime, seconds.
    pub access_ttl_secs: u64,
    /// Refresh-token lifetime, days.
    pub refresh_ttl_days: u64,
    /// Mark the refresh cookie `Secure` (set when clients reach the API over TLS).
    pub secure_cookies: bool,
    /// Sign-in, registration and refresh requests per minute from one address.
    pub auth_requests_per_minute: u32,
    /// Uploads and job submissions per minute per account (and per API key).
    pub expensive_requests_per_minute: u32,
    /// Wrong passwords per minute for one account before its logins get 429.
    pub login_failures_per_minute: u32,
}

impl Default for AuthSettings {
    fn default() -> Self {
        let config = AuthConfig::default();
        AuthSettings {
            registration: config.registration,
            secret: None,
            access_ttl_secs: config.access_ttl.as_secs(),
            refresh_ttl_days: config.refresh_ttl.as_secs() / 86_400,
            secure_cookies: config.secure_cookies,
            auth_requests_per_minute: config.auth_rate.burst,
            expensive_requests_per_minute: config.expensive_rate.burst,
            login_failures_per_minute: config.max_login_failures,
        }
    }
}

impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSettings")
            .field("registration", &self.registration)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("access_ttl_secs", &self.access_ttl_secs)
            .field("refresh_ttl_days", &self.refresh_ttl_days)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CreditSettings {
    /// Whether work costs credits; `false` lets everyone run anything.
    pub enabled: bool,
    /// Credits a new account starts with.
    pub signup_grant: i64,
}

impl Default for CreditSettings {
    fn default() -> Self {
        let config = AuthConfig::default();
        CreditSettings { enabled: config.credits, signup_grant: config.signup_grant }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QuotaSettings {
    /// Bytes of stored images per account; 0 means no limit.
    pub bytes: i64,
    /// Jobs queued or running at once per account; 0 means no limit.
    pub jobs: i64,
}

impl Default for QuotaSettings {
    fn default() -> Self {
        let quotas = AuthConfig::default().default_quotas;
        QuotaSettings { bytes: quotas.bytes.unwrap_or(0), jobs: quotas.jobs.unwrap_or(0) }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSettings {
    /// Browser origins (`https://app.example.com`) allowed to call the API; empty means
    /// only pages served by the API itself.
    pub cors_origins: Vec<String>,
}

/// The API's account rules from the three sections.
pub fn auth_config(auth: &AuthSettings, credits: &CreditSettings, quotas: &QuotaSettings) -> Result<AuthConfig> {
    anyhow::ensure!(auth.access_ttl_secs >= 60, "auth.access_ttl_secs must be at least 60");
    anyhow::ensure!(auth.refresh_ttl_days >= 1, "auth.refresh_ttl_days must be at least 1");
    anyhow::ensure!(credits.signup_grant >= 0, "credits.signup_grant must not be negative");
    let per_minute = |n: u32| Rate { burst: n.max(1), per: Duration::from_secs(60) };
    let limit = |n: i64| (n > 0).then_some(n);
    Ok(AuthConfig {
        registration: auth.registration,
        access_ttl: Duration::from_secs(auth.access_ttl_secs),
        refresh_ttl: Duration::from_secs(auth.refresh_ttl_days * 86_400),
        secure_cookies: auth.secure_cookies,
        credits: credits.enabled,
        signup_grant: credits.signup_grant,
        default_quotas: Quotas { bytes: limit(quotas.bytes), jobs: limit(quotas.jobs) },
        auth_rate: per_minute(auth.auth_requests_per_minute),
        expensive_rate: per_minute(auth.expensive_requests_per_minute),
        max_login_failures: auth.login_failures_per_minute.max(1),
        ..AuthConfig::default()
    })
}
