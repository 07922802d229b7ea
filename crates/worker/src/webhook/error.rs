//! How a webhook delivery fails: the error type, its stable codes, and the coarse kind a
//! caller acts on. No message ever contains the signing secret or the URL's credentials.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

/// Every way [`super::deliver`] and [`super::validate_url`] can fail.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("invalid webhook URL: {reason}")]
    InvalidUrl { reason: String },
    #[error(
        "webhook refused on attempt {attempt}: {}{reason}, which webhooks may not reach unless the operator's \
         webhook allow-list permits it",
        target(host, addr)
    )]
    Forbidden { attempt: u32, host: String, addr: IpAddr, reason: &'static str },
    #[error(
        "webhook not delivered: attempt {attempt} of {max_attempts} failed: {failure}{}",
        outcome(failure, *attempt, *max_attempts)
    )]
    Failed { attempt: u32, max_attempts: u32, failure: AttemptFailure },
    #[error("webhook is misconfigured: {0}")]
    Config(String),
}

/// Why one attempt did not end in a 2xx.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttemptFailure {
    /// The host did not resolve (or not in time).
    Resolve(String),
    /// No connection could be made, or it broke before an answer.
    Connect(String),
    /// No answer within the configured time; `connecting` when the connection never opened.
    Timeout { limit: Duration, connecting: bool },
    /// A 3xx: redirects are never followed, or the guard could be walked around.
    Redirect { status: u16, location: Option<String> },
    /// Any other non-2xx answer.
    Status(u16),
}

/// How a caller should treat a webhook error, without knowing every variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The URL can never be delivered to; refuse it at submission.
    InvalidUrl,
    /// The target resolves to an address the SSRF guard refuses.
    Forbidden,
    /// The receiver answered with a final refusal (a 3xx or a 4xx other than 408/429).
    Rejected,
    /// Every attempt failed in a way that might have passed later (network, timeout, 5xx).
    Unavailable,
    /// Our configuration is wrong; the operator must fix it.
    Internal,
}

impl WebhookError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            WebhookError::InvalidUrl { .. } => ErrorKind::InvalidUrl,
            WebhookError::Forbidden { .. } => ErrorKind::Forbidden,
            WebhookError::Failed { failure, .. } if failure.is_retryable() => ErrorKind::Unavailable,
            WebhookError::Failed { .. } => ErrorKind::Rejected,
            WebhookError::Config(_) => ErrorKind::Internal,
        }
    }

    /// A stable machine-readable code; never rename one.
    pub fn code(&self) -> &'static str {
        match self {
            WebhookError::InvalidUrl { .. } => "webhook_invalid_url",
            WebhookError::Forbidden { .. } => "webhook_forbidden_target",
            WebhookError::Config(_) => "webhook_misconfigured",
            WebhookError::Failed { failure, .. } => match failure {
                AttemptFailure::Resolve(_) => "webhook_unresolvable",
                AttemptFailure::Connect(_) => "webhook_unreachable",
                AttemptFailure::Timeout { .. } => "webhook_timeout",
                AttemptFailure::Redirect { .. } => "webhook_redirected",
                AttemptFailure::Status(_) => "webhook_bad_status",
            },
        }
    }

    /// How many attempts were made; 0 when none could start.
    pub fn attempts(&self) -> u32 {
        match self {
            WebhookError::Forbidden { attempt, .. } | WebhookError::Failed { attempt, .. } => *attempt,
            WebhookError::InvalidUrl { .. } | WebhookError::Config(_) => 0,
        }
    }

    /// The receiver's HTTP status, when it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            WebhookError::Failed { failure: AttemptFailure::Status(status), .. }
            | WebhookError::Failed { failure: AttemptFailure::Redirect { status, .. }, .. } => Some(*status),
            _ => None,
        }
    }
}

impl AttemptFailure {
    /// Whether trying again later might succeed: network trouble, timeouts, 5xx, 408 and
    /// 429. A redirect or another 4xx says the target itself is wrong.
    pub fn is_retryable(&self) -> bool {
        match self {
            AttemptFailure::Resolve(_) | AttemptFailure::Connect(_) | AttemptFailure::Timeout { .. } => true,
            AttemptFailure::Redirect { .. } => false,
            AttemptFailure::Status(status) => *status >= 500 || *status == 408 || *status == 429,
        }
    }
}

impl fmt::Display for AttemptFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttemptFailure::Resolve(detail) => write!(f, "the host did not resolve: {detail}"),
            AttemptFailure::Connect(detail) => write!(f, "the connection failed: {detail}"),
            AttemptFailure::Timeout { limit, connecting: true } => {
                write!(f, "no connection within {} ms", limit.as_millis())
            }
            AttemptFailure::Timeout { limit, connecting: false } => {
                write!(f, "no answer within {} ms", limit.as_millis())
            }
            AttemptFailure::Redirect { status, location: Some(location) } => {
                write!(f, "the receiver answered {status}, a redirect to `{location}`, which is not followed")
            }
            AttemptFailure::Redirect { status, location: None } => {
                write!(f, "the receiver answered {status}, a redirect, which is not followed")
            }
            AttemptFailure::Status(status) => write!(f, "the receiver answered {status}"),
        }
    }
}

/// "`name` resolves to ADDR, " for names; an IP-literal host needs no introduction.
fn target(host: &str, addr: &IpAddr) -> String {
    if *host == addr.to_string() {
        format!("{addr} is ")
    } else {
        format!("`{host}` resolves to {addr}, ")
    }
}

fn outcome(failure: &AttemptFailure, attempt: u32, max_attempts: u32) -> &'static str {
    if !failure.is_retryable() {
        " (final, not retried)"
    } else if attempt >= max_attempts {
        " (gave up)"
    } else {
        ""
    }
}
