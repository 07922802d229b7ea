//! Admin routes: list and change users (disable, role, quotas), grant or take credits,
//! make invite codes, see every user's jobs and the queue's health. All need [`AdminCaller`].

use atelier_storage::workers::FORGET_AFTER;
use atelier_storage::{now_ms, JobState, Quotas, Role, Scope, WorkerRecord, Workers};
use atelier_worker::host::STALE_AFTER;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::AppState;
use crate::auth::AdminCaller;
use crate::error::{ApiCode, ApiError, ErrorBody};
use crate::routes::jobs::{page_of, JobList, ListQuery};
use crate::routes::me::{QuotasView, UserView};
use crate::routes::{AppJson, AppPath, AppQuery, Page, PageQuery};

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct UserList {
    /// By email.
    pub items: Vec<UserView>,
    pub next_cursor: Option<String>,
}

/// Every account, by email.
#[utoipa::path(
    get,
    path = "/v1/admin/users",
    tag = "admin",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of accounts", body = UserList),
        (status = 400, description = "A bad cursor or limit", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
    )
)]
pub(crate) async fn users(
    State(state): State<AppState>,
    _admin: AdminCaller,
    AppQuery(query): AppQuery<PageQuery>,
) -> Result<Json<UserList>, ApiError> {
    let page = Page::new(query.cursor, query.limit)?;
    // The cursor is the last email of the previous page; anything else was not given out.
    if let Some(cursor) = page.cursor.as_deref() {
        if crate::routes::account::checked_email(cursor).ok().as_deref() != Some(cursor) {
            return Err(Page::bad_cursor(cursor));
        }
    }
    let found = state.users.list(page.cursor.as_deref(), page.limit).await?;
    let items = found.users.iter().map(|user| UserView::new(user, &state.auth.config)).collect();
    Ok(Json(UserList { items, next_cursor: found.next }))
}

/// Changes to an account; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct UserChange {
    /// Disabling signs the account out everywhere and refuses its keys.
    pub disabled: Option<bool>,
    /// `user` or `admin`.
    pub role: Option<String>,
    /// The account's own limits; `null` in a field means the server's default.
    pub quotas: Option<QuotasView>,
}

/// Disables or enables an account, changes its role or its quotas.
#[utoipa::path(
    patch,
    path = "/v1/admin/users/{id}",
    tag = "admin",
    params(("id" = String, Path, description = "User id")),
    request_body = UserChange,
    responses(
        (status = 200, description = "The account as changed", body = UserView),
        (status = 400, description = "A bad role or quota, or an admin disabling or demoting themselves", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
pub(crate) async fn change_user(
    State(state): State<AppState>,
    AdminCaller(admin): AdminCaller,
    AppPath(id): AppPath<String>,
    AppJson(change): AppJson<UserChange>,
) -> Result<Json<UserView>, ApiError> {
    let bad = |message: &str| ApiError::new(ApiCode::InvalidRequest, message);
    let role = match change.role.as_deref() {
        None => None,
        Some(name) => Some(Role::from_name(name).ok_or_else(|| bad("`role` must be `user` or `admin`"))?),
    };
    // An admin cannot lock themselves out; another admin can.
    if id == admin.user.id && (change.disabled == Some(true) || role == Some(Role::User)) {
        return Err(bad("admins cannot disable or demote themselves"));
    }
    if let Some(quotas) = &change.quotas {
        if quotas.bytes.is_some_and(|n| n < 0) || quotas.jobs.is_some_and(|n| n < 0) {
            return Err(bad("quotas must be zero or more, or null for the server's default"));
        }
    }
    state.users.get(&id).await?.ok_or_else(|| missing(&id))?;
    if let Some(disabled) = change.disabled {
        state.users.set_disabled(&id, disabled, now_ms()).await?;
    }
    if let Some(role) = role {
        state.users.set_role(&id, role).await?;
    }
    if let Some(QuotasView { bytes, jobs }) = change.quotas {
        state.users.set_quotas(&id, Quotas { bytes, jobs }).await?;
    }
    let user = state.users.get(&id).await?.ok_or_else(|| missing(&id))?;
    Ok(Json(UserView::new(&user, &state.auth.config)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreditChange {
    /// Positive grants, negative takes; never zero.
    pub amount: i64,
    /// Why, for the ledger.
    pub note: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Balance {
    pub balance: i64,
}

/// Grants (positive `amount`) or takes (negative) credits; a take never goes below zero.
#[utoipa::path(
    post,
    path = "/v1/admin/users/{id}/credits",
    tag = "admin",
    params(("id" = String, Path, description = "User id")),
    request_body = CreditChange,
    responses(
        (status = 200, description = "The new balance", body = Balance),
        (status = 400, description = "A zero or out-of-range amount, a balance past its ceiling, or a note over 200 characters", body = ErrorBody),
        (status = 402, description = "A take larger than the balance", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    )
)]
pub(crate) async fn credits(
    State(state): State<AppState>,
    AdminCaller(admin): AdminCaller,
    AppPath(id): AppPath<String>,
    AppJson(change): AppJson<CreditChange>,
) -> Result<Json<Balance>, ApiError> {
    let max = atelier_storage::credits::MAX_AMOUNT;
    if change.amount == 0 || change.amount.unsigned_abs() > max.unsigned_abs() {
        let message = format!("`amount` must be a non-zero number of credits, at most {max} either way");
        return Err(ApiError::new(ApiCode::InvalidRequest, message));
    }
    let note = change.note.as_deref();
    if note.is_some_and(|note| note.chars().count() > 200 || note.chars().any(char::is_control)) {
        return Err(ApiError::new(ApiCode::InvalidRequest, "`note` must be at most 200 printable characters"));
    }
    let now = now_ms();
    let balance = if change.amount > 0 {
        state.credits.grant(&id, change.amount, Some(admin.id()), note, now).await
    } else {
        state.credits.take(&id, -change.amount, Some(admin.id()), note, now).await
    };
    let balance = balance.map_err(|err| match err {
        // The balance would pass the most it can hold.
        atelier_storage::Error::Conflict(message) => ApiError::new(ApiCode::InvalidRequest, message),
        other => other.into(),
    })?;
    Ok(Json(Balance { balance: balance.ok_or_else(|| missing(&id))? }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewInvite {
    /// Hours the code stays good, 1 to 720; default 72.
    pub expires_in_hours: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct InviteView {
    /// Give this to the person invited; it is not shown again.
    pub code: String,
    pub expires_at: i64,
}

/// Makes a single-use invite code for registration by invitation.
#[utoipa::path(
    post,
    path = "/v1/admin/invites",
    tag = "admin",
    request_body = NewInvite,
    responses(
        (status = 201, description = "The code", body = InviteView),
        (status = 400, description = "A bad expiry", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
    )
)]
pub(crate) async fn invite(
    State(state): State<AppState>,
    AdminCaller(admin): AdminCaller,
    AppJson(request): AppJson<NewInvite>,
) -> Result<(StatusCode, Json<InviteView>), ApiError> {
    let hours = request.expires_in_hours.unwrap_or(72);
    if !(1..=720).contains(&hours) {
        return Err(ApiError::new(ApiCode::InvalidRequest, "`expires_in_hours` must be 1 to 720"));
    }
    let (code, hash) = atelier_auth::secret::new_token("inv");
    let now = now_ms();
    let invite = state.invites.create(&hash, Some(admin.id()), now, now + i64::from(hours) * 3_600_000).await?;
    Ok((StatusCode::CREATED, Json(InviteView { code, expires_at: invite.expires_at })))
}

/// Every user's jobs, newest first.
#[utoipa::path(
    get,
    path = "/v1/admin/jobs",
    tag = "admin",
    params(ListQuery),
    responses(
        (status = 200, description = "A page of jobs", body = JobList),
        (status = 400, description = "A bad state, cursor or limit", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
    )
)]
pub(crate) async fn jobs(
    State(state): State<AppState>,
    _admin: AdminCaller,
    AppQuery(query): AppQuery<ListQuery>,
) -> Result<Json<JobList>, ApiError> {
    page_of(&state, Scope::All, query).await
}

/// Jobs in each state; every state is present, 0 when it has none.
#[derive(Debug, Default, Serialize, ToSchema)]
pub(crate) struct JobCounts {
    pub queued: i64,
    pub running: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub canceled: i64,
    pub dead: i64,
}

/// A worker as its registry row tells: its heartbeat says whether it is alive.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct WorkerView {
    /// The name the worker holds job leases under.
    pub id: String,
    pub hostname: String,
    pub pid: i64,
    /// `live` (a recent heartbeat), `stale` (silent for longer than `stale_after_ms`: most
    /// likely dead) or `stopped` (drained on purpose).
    pub status: &'static str,
    pub started_at: i64,
    /// Its last heartbeat, or when it stopped.
    pub heartbeat_at: i64,
    pub stopped_at: Option<i64>,
    /// Jobs it finished an attempt of, as of its last heartbeat.
    pub jobs_done: i64,
}

impl WorkerView {
    fn new(record: WorkerRecord, now: i64) -> WorkerView {
        let status = match record.stopped_at {
            Some(_) => "stopped",
            None if now.saturating_sub(record.heartbeat_at) <= millis(STALE_AFTER) => "live",
            None => "stale",
        };
        let WorkerRecord { id, hostname, pid, started_at, heartbeat_at, stopped_at, jobs_done } = record;
        WorkerView { id, hostname, pid, status, started_at, heartbeat_at, stopped_at, jobs_done }
    }
}

/// The queue and the workers draining it, read now.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct QueueHealth {
    /// The server's clock when this was read, in milliseconds since the Unix epoch.
    pub now: i64,
    pub jobs: JobCounts,
    /// When the longest-waiting queued job was submitted; `null` when nothing is queued.
    pub oldest_queued_at: Option<i64>,
    /// How long that job has waited, in milliseconds; `null` when nothing is queued.
    pub oldest_queued_age_ms: Option<i64>,
    /// A worker silent for longer than this (milliseconds) reads as `stale`.
    pub stale_after_ms: i64,
    /// Workers heard from in the last day (stopped ones included), most recent first.
    pub workers: Vec<WorkerView>,
}

/// Jobs by state, the oldest queued job's age, and the workers seen lately with their
/// liveness: what `/metrics` counts, as JSON, with the workers named.
#[utoipa::path(
    get,
    path = "/v1/admin/queue",
    tag = "admin",
    responses(
        (status = 200, description = "The queue's health", body = QueueHealth),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not an admin", body = ErrorBody),
    )
)]
pub(crate) async fn queue(State(state): State<AppState>, _admin: AdminCaller) -> Result<Json<QueueHealth>, ApiError> {
    let mut jobs = JobCounts::default();
    for (job_state, n) in state.queue.counts().await? {
        let slot = match job_state {
            JobState::Queued => &mut jobs.queued,
            JobState::Running => &mut jobs.running,
            JobState::Succeeded => &mut jobs.succeeded,
            JobState::Failed => &mut jobs.failed,
            JobState::Canceled => &mut jobs.canceled,
            JobState::Dead => &mut jobs.dead,
        };
        *slot = n;
    }
    let oldest_queued_at = state.queue.oldest_queued_at().await?;
    let now = now_ms();
    let seen = Workers::new(state.db.clone()).seen_since(now.saturating_sub(millis(FORGET_AFTER))).await?;
    Ok(Json(QueueHealth {
        now,
        jobs,
        oldest_queued_at,
        oldest_queued_age_ms: oldest_queued_at.map(|at| now.saturating_sub(at).max(0)),
        stale_after_ms: millis(STALE_AFTER),
        workers: seen.into_iter().map(|record| WorkerView::new(record, now)).collect(),
    }))
}

fn millis(duration: std::time::Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn missing(id: &str) -> ApiError {
    ApiError::new(ApiCode::NotFound, format!("no user `{id}`"))
}
