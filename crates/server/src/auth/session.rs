//! Signing in: an access token (a short-lived JWT) and a refresh token (random, stored
//! hashed, rotated on every use), returned in the body and, for browsers, as an `HttpOnly`,
//! `SameSite=Strict` cookie that scripts cannot read.

use atelier_auth::{Claims, TokenKind};
use atelier_storage::{now_ms, User};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::error::ApiError;
use crate::routes::me::UserView;

/// The refresh cookie's name; it is sent only to `/v1/auth`.
pub(crate) const COOKIE: &str = "atelier_refresh";
const COOKIE_PATH: &str = "/v1/auth";

/// What a login, registration or refresh returns.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Tokens {
    /// Send as `Authorization: Bearer <access_token>`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds the access token is good for.
    pub expires_in: u64,
    /// Trade for new tokens at `POST /v1/auth/refresh`; good once. Also set as a cookie.
    pub refresh_token: String,
    pub user: UserView,
}

/// A refresh token in a new family (a login) or in `family` (a refresh), with its access
/// token, as a response that also sets the cookie.
pub(crate) async fn start(state: &AppState, user: &User, family: Option<&str>) -> Result<Response, ApiError> {
    let (refresh, hash) = atelier_auth::secret::new_token("rt");
    let now = now_ms();
    let ttl = ttl_ms(state.auth.config.refresh_ttl);
    let record = state.sessions.issue(&user.id, family, &hash, now, now.saturating_add(ttl)).await?;
    Ok(respond(state, user, refresh, &record.family))
}

/// Tokens for `user`, where `refresh` (already stored, in `family`) is the new refresh token.
pub(crate) fn respond(state: &AppState, user: &User, refresh: String, family: &str) -> Response {
    let config = &state.auth.config;
    let now = now_ms() / 1000;
    let ttl = config.access_ttl.as_secs().max(1);
    let claims = Claims {
        sub: user.id.clone(),
        iat: now,
        exp: now.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX)),
        jti: atelier_auth::secret::new_id(),
        typ: TokenKind::Access,
        ver: user.password_changed_at,
        sid: family.to_string(),
    };
    let access_token = state.auth.keys().issue(&claims);
    let cookie = cookie(&refresh, config.refresh_ttl.as_secs(), config.secure_cookies);
    let body = Tokens {
        access_token,
        token_type: "Bearer",
        expires_in: ttl,
        refresh_token: refresh,
        user: UserView::new(user, config),
    };
    let mut response = Json(body).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub(crate) fn ttl_ms(ttl: std::time::Duration) -> i64 {
    i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX)
}

fn cookie(value: &str, max_age: u64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{COOKIE}={value}; Path={COOKIE_PATH}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")
}

/// A `Set-Cookie` value that deletes the refresh cookie.
pub(crate) fn clear_cookie(secure: bool) -> HeaderValue {
    HeaderValue::from_str(&cookie("", 0, secure)).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// The refresh token from the body if given, else from the cookie.
pub(crate) fn presented(body: Option<String>, headers: &HeaderMap) -> Option<String> {
    body.filter(|token| !token.is_empty()).or_else(|| {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(name, value)| *name == COOKIE && !value.is_empty())
            .map(|(_, value)| value.to_string())
    })
}
