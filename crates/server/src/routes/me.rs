//! The signed-in user's own account: who they are, their password, and their credits.

use atelier_auth::password;
use atelier_storage::{now_ms, LedgerEntry, User};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::AppState;
use crate::auth::{AuthConfig, Caller, Via};
use crate::error::{ApiCode, ApiError, ErrorBody};
use crate::routes::account::hash;
use crate::routes::{AppJson, AppQuery, Page, PageQuery};

/// An account as its owner and admins see it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UserView {
    pub id: String,
    pub email: String,
    /// `user` or `admin`.
    pub role: &'static str,
    /// Credits left; absent when credits are switched off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balance: Option<i64>,
    pub quotas: QuotasView,
    pub disabled: bool,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
}

/// The limits in force for an account: its own, else the server's defaults. `null` is none.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(crate) struct QuotasView {
    /// Bytes of stored images.
    pub bytes: Option<i64>,
    /// Jobs queued or running at once.
    pub jobs: Option<i64>,
}

impl UserView {
    pub fn new(user: &User, config: &AuthConfig) -> UserView {
        UserView {
            id: user.id.clone(),
            email: user.email.clone(),
            role: user.role.as_str(),
            balance: config.credits.then_some(user.balance),
            quotas: QuotasView {
                bytes: user.quotas.bytes.or(config.default_quotas.bytes),
                jobs: user.quotas.jobs.or(config.default_quotas.jobs),
            },
            disabled: user.disabled_at.is_some(),
            created_at: user.created_at,
        }
    }
}

/// The signed-in account.
#[utoipa::path(
    get,
    path = "/v1/me",
    tag = "account",
    responses(
        (status = 200, description = "The account", body = UserView),
        (status = 401, description = "Not signed in", body = ErrorBody),
    )
)]
pub(crate) async fn me(State(state): State<AppState>, caller: Caller) -> Json<UserView> {
    Json(UserView::new(&caller.user, &state.auth.config))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChangePassword {
    pub current_password: String,
    pub new_password: String,
}

/// Changes the password. Every refresh token and access token issued before is revoked,
/// so other devices must sign in again.
#[utoipa::path(
    post,
    path = "/v1/me/password",
    tag = "account",
    request_body = ChangePassword,
    responses(
        (status = 204, description = "Changed; sign in again"),
        (status = 401, description = "Not signed in, or the current password is wrong", body = ErrorBody),
        (status = 403, description = "Only a signed-in session, not an API key, may change the password", body = ErrorBody),
        (status = 422, description = "The new password is too weak", body = ErrorBody),
    )
)]
pub(crate) async fn change_password(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(request): AppJson<ChangePassword>,
) -> Result<StatusCode, ApiError> {
    session_only(&caller)?;
    let phc = caller.user.password_hash.clone();
    let current = request.current_password;
    let good = tokio::task::spawn_blocking(move || password::verify(&current, &phc))
        .await
        .map_err(|_| ApiError::new(ApiCode::Internal, "the password check was interrupted"))?;
    if !good {
        return Err(ApiError::new(ApiCode::InvalidCredentials, "the current password is wrong"));
    }
    atelier_auth::Policy::default()
        .check(&request.new_password, &caller.user.email)
        .map_err(|err| ApiError::new(ApiCode::WeakPassword, err.to_string()))?;
    let hash = hash(request.new_password).await?;
    // Tokens carry the password-change time they were issued under: this retires them all.
    let now = now_ms().max(caller.user.password_changed_at + 1);
    state.users.set_password(caller.id(), &hash, now).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Refuses API keys where only a person at a session should act (keys, passwords).
pub(crate) fn session_only(caller: &Caller) -> Result<(), ApiError> {
    match caller.via {
        Via::Session => Ok(()),
        Via::Key { .. } => Err(ApiError::new(ApiCode::Forbidden, "this needs a signed-in session, not an API key")),
    }
}

/// One change to the balance.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct LedgerView {
    /// 1 for the account's first change, counting up.
    pub seq: i64,
    /// Positive for grants and refunds, negative for takes and charges.
    pub amount: i64,
    /// `grant`, `take`, `charge` or `refund`.
    pub kind: &'static str,
    /// The job charged or refunded, if any.
    pub job_id: Option<String>,
    pub note: Option<String>,
    pub balance_after: i64,
    pub created_at: i64,
}

impl From<LedgerEntry> for LedgerView {
    fn from(entry: LedgerEntry) -> LedgerView {
        let LedgerEntry { seq, amount, kind, job_id, note, balance_after, created_at, .. } = entry;
        LedgerView { seq, amount, kind: kind.as_str(), job_id, note, balance_after, created_at }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CreditsView {
    /// Whether this server charges credits at all.
    pub enabled: bool,
    pub balance: i64,
    /// Newest first.
    pub items: Vec<LedgerView>,
    pub next_cursor: Option<String>,
}

/// The balance and its history, newest first.
#[utoipa::path(
    get,
    path = "/v1/me/credits",
    tag = "account",
    params(PageQuery),
    responses(
        (status = 200, description = "The balance and a page of its ledger", body = CreditsView),
        (status = 400, description = "A bad cursor or limit", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
    )
)]
pub(crate) async fn credits(
    State(state): State<AppState>,
    caller: Caller,
    AppQuery(query): AppQuery<PageQuery>,
) -> Result<Json<CreditsView>, ApiError> {
    let page = Page::new(query.cursor, query.limit)?;
    let before = match page.cursor.as_deref() {
        None => None,
        Some(cursor) => {
            Some(cursor.parse::<i64>().ok().filter(|seq| *seq > 0).ok_or_else(|| Page::bad_cursor(cursor))?)
        }
    };
    let history = state.credits.history(caller.id(), before, page.limit).await?;
    let balance = state.credits.balance(caller.id()).await?.unwrap_or(caller.user.balance);
    Ok(Json(CreditsView {
        enabled: state.auth.config.credits,
        balance,
        items: history.entries.into_iter().map(LedgerView::from).collect(),
        next_cursor: history.next.map(|seq| seq.to_string()),
    }))
}
