//! API keys: created with a name, scopes and an optional expiry; the secret is shown once
//! and stored only as a hash; revoking one takes effect on the next request.

use atelier_storage::{now_ms, ApiKeyRecord, NewApiKey};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::app::AppState;
use crate::auth::{Caller, KeyScopes};
use crate::error::{ApiCode, ApiError, ErrorBody};
use crate::routes::me::session_only;
use crate::routes::{AppJson, AppPath};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewKey {
    /// For people: what the key is for. 1 to 100 characters.
    pub name: String,
    /// Any of `read`, `write`, `admin` (admins only). `write` includes `read`.
    pub scopes: Vec<String>,
    /// When the key stops working, in milliseconds since the Unix epoch; none means never.
    pub expires_at: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct KeyView {
    pub id: String,
    pub name: String,
    /// The key's public part, `atl_{prefix}_…`, to tell keys apart.
    pub prefix: String,
    pub scopes: Vec<&'static str>,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
}

impl KeyView {
    fn new(record: ApiKeyRecord) -> KeyView {
        let scopes = KeyScopes::parse(record.scopes.split(',')).unwrap_or_default().names();
        let ApiKeyRecord { id, name, prefix, created_at, expires_at, revoked_at, last_used_at, .. } = record;
        KeyView { id, name, prefix, scopes, created_at, expires_at, revoked_at, last_used_at }
    }
}

/// A new key, with its secret: the only time the secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CreatedKey {
    #[serde(flatten)]
    pub key: KeyView,
    /// Send as `Authorization: Bearer <secret>`. Not shown again.
    pub secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct KeyList {
    /// Newest first, revoked keys included.
    pub items: Vec<KeyView>,
}

/// Creates an API key. Needs a signed-in session: a key cannot mint keys.
#[utoipa::path(
    post,
    path = "/v1/me/keys",
    tag = "account",
    request_body = NewKey,
    responses(
        (status = 201, description = "Created; the secret is in this answer only", body = CreatedKey),
        (status = 400, description = "A bad name, scope or expiry", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Called with an API key, or `admin` asked by a non-admin", body = ErrorBody),
    )
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    AppJson(request): AppJson<NewKey>,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    session_only(&caller)?;
    let bad = |message: String| ApiError::new(ApiCode::InvalidRequest, message);
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(bad("`name` must be 1 to 100 printable characters".to_string()));
    }
    let scopes = KeyScopes::parse(request.scopes.iter().map(String::as_str))
        .ok_or_else(|| bad(format!("`scopes` must list some of {:?}", KeyScopes::NAMES)))?;
    if scopes.admin && caller.user.role != atelier_storage::Role::Admin {
        return Err(ApiError::new(ApiCode::Forbidden, "only admins may create keys with the `admin` scope"));
    }
    let now = now_ms();
    if request.expires_at.is_some_and(|at| at <= now) {
        return Err(bad("`expires_at` must be in the future (milliseconds since the Unix epoch)".to_string()));
    }
    let scope_list = scopes.names().join(",");
    // A prefix collision is astronomically rare, but a retry costs nothing.
    for _ in 0..3 {
        let secret = atelier_auth::secret::new_api_key();
        let key = NewApiKey {
            user_id: caller.id(),
            name,
            prefix: &secret.prefix,
            secret_hash: &secret.hash,
            scopes: &scope_list,
            expires_at: request.expires_at,
        };
        if let Some(record) = state.api_keys.create(key, now).await? {
            return Ok((StatusCode::CREATED, Json(CreatedKey { key: KeyView::new(record), secret: secret.token })));
        }
    }
    Err(ApiError::new(ApiCode::Internal, "could not find a free key prefix"))
}

/// The caller's API keys, without their secrets.
#[utoipa::path(
    get,
    path = "/v1/me/keys",
    tag = "account",
    responses(
        (status = 200, description = "The keys", body = KeyList),
        (status = 401, description = "Not signed in", body = ErrorBody),
    )
)]
pub(crate) async fn list(State(state): State<AppState>, caller: Caller) -> Result<Json<KeyList>, ApiError> {
    let keys = state.api_keys.list(caller.id()).await?;
    Ok(Json(KeyList { items: keys.into_iter().map(KeyView::new).collect() }))
}

/// Revokes one of the caller's keys; requests with it fail from now on.
#[utoipa::path(
    delete,
    path = "/v1/me/keys/{id}",
    tag = "account",
    params(("id" = String, Path, description = "Key id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 404, description = "No such live key of the caller's", body = ErrorBody),
    )
)]
pub(crate) async fn revoke(
    State(state): State<AppState>,
    caller: Caller,
    AppPath(id): AppPath<String>,
) -> Result<StatusCode, ApiError> {
    if !state.api_keys.revoke(caller.id(), &id, now_ms()).await? {
        return Err(ApiError::new(ApiCode::NotFound, format!("no live API key `{id}`")));
    }
    Ok(StatusCode::NO_CONTENT)
}
