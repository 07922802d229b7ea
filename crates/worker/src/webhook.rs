//! Webhook delivery on job completion: a signed POST to the job's URL, retried with backoff,
//! sent only to addresses the SSRF guard ([`guard`]) has vetted, and never redirected.
//!
//! Each attempt resolves the host afresh, vets every address it gets, and connects through a
//! client whose resolver knows only those addresses, so a DNS answer that changes between
//! the check and the connection (rebinding) cannot steer the request elsewhere.

mod error;
mod guard;
mod signature;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use error::{AttemptFailure, ErrorKind, WebhookError};
pub use guard::{forbidden_reason, parse_allow_list, validate_url, MAX_URL_LEN};
pub use ipnet::IpNet;
pub use signature::{sign, verify};
use url::Url;

/// The header carrying [`sign`]'s output.
pub const SIGNATURE_HEADER: &str = "Atelier-Signature";
/// The header naming the event, e.g. `job.completed`.
pub const EVENT_HEADER: &str = "Atelier-Event";
pub const USER_AGENT: &str = concat!("atelier-webhook/", env!("CARGO_PKG_VERSION"));

/// How webhooks are delivered. `Default` gives production timings, an empty allow-list and
/// an empty `secret`: set the secret, or every receiver sees signatures anyone can forge.
#[derive(Clone)]
pub struct WebhookConfig {
    /// Ranges the guard would refuse but the operator permits (e.g. `10.1.2.3/32` for an
    /// in-cluster receiver). See [`parse_allow_list`].
    pub allow: Vec<IpNet>,
    /// Limit on resolving the host and, separately, on opening the connection.
    pub connect_timeout: Duration,
    /// Limit on one whole attempt, from connecting to the response headers.
    pub timeout: Duration,
    /// Attempts in all, including the first; 0 is treated as 1.
    pub max_attempts: u32,
    /// Wait after the first failed attempt; doubles after each further one.
    pub backoff_base: Duration,
    /// Cap on any one wait, including one a receiver asks for with `Retry-After`.
    pub backoff_max: Duration,
    /// HMAC key for [`SIGNATURE_HEADER`]; shared with receivers out of band.
    pub secret: String,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            allow: Vec::new(),
            connect_timeout: Duration::from_secs(3),
            timeout: Duration::from_secs(10),
            max_attempts: 5,
            backoff_base: Duration::from_secs(2),
            backoff_max: Duration::from_secs(60),
            secret: String::new(),
        }
    }
}

// Hand-written so the secret never reaches a log line through `{:?}`.
impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("allow", &self.allow)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("max_attempts", &self.max_attempts)
            .field("backoff_base", &self.backoff_base)
            .field("backoff_max", &self.backoff_max)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// A delivered webhook: the receiver's 2xx status and the attempt it came on (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub attempts: u32,
    pub status: u16,
}

/// POSTs `body` (JSON) to `url` as event `event`, signed with `config.secret`, retrying
/// network failures, timeouts, 5xx, 408 and 429 with exponential backoff. A refused address,
/// a redirect or another 4xx ends delivery at once.
pub async fn deliver(config: &WebhookConfig, url: &str, event: &str, body: &[u8]) -> Result<Delivery, WebhookError> {
    let url = validate_url(url)?;
    if reqwest::header::HeaderValue::from_str(event).is_err() {
        return Err(WebhookError::Config(format!(
            "the event name `{}` cannot be sent in a header",
            event.escape_debug()
        )));
    }
    let max_attempts = config.max_attempts.max(1);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let retry_after = match attempt_once(config, &url, event, body, attempt).await {
            Ok(status) => return Ok(Delivery { attempts: attempt, status }),
            Err(Attempt::Final(err)) => return Err(err),
            Err(Attempt::Failed { failure, retry_after }) => {
                if !failure.is_retryable() || attempt >= max_attempts {
                    return Err(WebhookError::Failed { attempt, max_attempts, failure });
                }
                retry_after
            }
        };
        tokio::time::sleep(backoff(config, attempt, retry_after)).await;
    }
}

/// Unix seconds now; a clock before 1970 signs as 0, which receivers then refuse as stale.
pub fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |elapsed| elapsed.as_secs())
}

enum Attempt {
    Final(WebhookError),
    Failed { failure: AttemptFailure, retry_after: Option<Duration> },
}

impl From<AttemptFailure> for Attempt {
    fn from(failure: AttemptFailure) -> Self {
        Attempt::Failed { failure, retry_after: None }
    }
}

async fn attempt_once(
    config: &WebhookConfig,
    url: &Url,
    event: &str,
    body: &[u8],
    attempt: u32,
) -> Result<u16, Attempt> {
    let addrs = match guard::resolve_vetted(url, &config.allow, config.connect_timeout, attempt).await {
        Ok(addrs) => addrs,
        Err(guard::Resolved::Refused(err)) => return Err(Attempt::Final(err)),
        Err(guard::Resolved::Failed(failure)) => return Err(failure.into()),
    };
    let client = pinned_client(config, addrs)?;
    // Signed per attempt, so a retry after long backoff still falls within receivers' replay
    // tolerance.
    let signature = sign(&config.secret, unix_now(), body);
    let sent = client
        .post(url.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(EVENT_HEADER, event)
        .header(SIGNATURE_HEADER, signature)
        .body(body.to_vec())
        .send()
        .await;
    let response = match sent {
        Ok(response) => response,
        Err(err) => return Err(transport_failure(config, &err).into()),
    };
    let status = response.status();
    if status.is_success() {
        return Ok(status.as_u16());
    }
    let header = |name| response.headers().get(name).and_then(|value| value.to_str().ok());
    if status.is_redirection() {
        let location = header(reqwest::header::LOCATION).map(|l| l.chars().take(200).collect());
        return Err(AttemptFailure::Redirect { status: status.as_u16(), location }.into());
    }
    let retry_after = header(reqwest::header::RETRY_AFTER).and_then(|s| s.trim().parse().ok()).map(Duration::from_secs);
    Err(Attempt::Failed { failure: AttemptFailure::Status(status.as_u16()), retry_after })
}

/// A one-attempt client that can reach only the vetted addresses: no proxy (it would do
/// its own resolving), no redirects, and a resolver that answers only with those addresses.
fn pinned_client(config: &WebhookConfig, addrs: Vec<SocketAddr>) -> Result<reqwest::Client, Attempt> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(config.connect_timeout)
        .timeout(config.timeout)
        .user_agent(USER_AGENT)
        .pool_max_idle_per_host(0)
        .dns_resolver(Arc::new(PinnedResolver { addrs }))
        .build()
        .map_err(|err| Attempt::Final(WebhookError::Config(format!("the HTTP client could not be built: {err}"))))
}

/// Answers every lookup with the addresses already vetted for this attempt's one host.
/// IP-literal URLs never reach a resolver, and a client serves only one URL.
struct PinnedResolver {
    addrs: Vec<SocketAddr>,
}

impl reqwest::dns::Resolve for PinnedResolver {
    fn resolve(&self, _name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let addrs: reqwest::dns::Addrs = Box::new(self.addrs.clone().into_iter());
        Box::pin(std::future::ready(Ok(addrs)))
    }
}

fn transport_failure(config: &WebhookConfig, err: &reqwest::Error) -> AttemptFailure {
    if err.is_timeout() {
        let connecting = err.is_connect();
        let limit = if connecting { config.connect_timeout } else { config.timeout };
        return AttemptFailure::Timeout { limit, connecting };
    }
    // reqwest's own message is only "error sending request for url (...)"; the cause is in
    // the chain, and leaving the URL out keeps any query-string tokens out of logs.
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    if causes.is_empty() {
        causes.push(err.to_string());
    }
    AttemptFailure::Connect(causes.join(": "))
}

/// `backoff_base × 2^(attempt-1)`, or longer if the receiver asked, never over the cap.
fn backoff(config: &WebhookConfig, attempt: u32, retry_after: Option<Duration>) -> Duration {
    let doubling = 1u32 << attempt.saturating_sub(1).min(20);
    let wait = config.backoff_base.saturating_mul(doubling).max(retry_after.unwrap_or_default());
    wait.min(config.backoff_max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_and_stops_at_the_cap() {
        let config = WebhookConfig {
            backoff_base: Duration::from_secs(2),
            backoff_max: Duration::from_secs(60),
            ..WebhookConfig::default()
        };
        let secs = |s| Some(Duration::from_secs(s));
        let cases: &[(u32, Option<Duration>, u64)] = &[
            (1, None, 2),
            (2, None, 4),
            (3, None, 8),
            (5, None, 32),
            (6, None, 60),
            (40, None, 60),
            (1, secs(10), 10),
            (4, secs(10), 16),
            (1, secs(3600), 60),
        ];
        for (attempt, retry_after, want) in cases {
            assert_eq!(backoff(&config, *attempt, *retry_after), Duration::from_secs(*want), "attempt {attempt}");
        }
    }

    #[test]
    fn the_secret_never_appears_in_debug_output() {
        let config = WebhookConfig { secret: "whsec_do_not_log".into(), ..WebhookConfig::default() };
        assert!(!format!("{config:?}").contains("whsec_do_not_log"));
    }
}
