//! Accounts: register, log in, refresh, log out. Sign-in routes are limited per client
//! address, and failed passwords slow down per account and per address.

use atelier_auth::password;
use atelier_storage::{now_ms, Redeemed, Role, Rotation, User};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::auth::session::{self, Tokens};
use crate::auth::{ClientAddr, Registration};
use crate::error::{ApiCode, ApiError, ErrorBody};
use crate::routes::{AppJson, OptionalJson};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Register {
    pub email: String,
    /// At least 10 characters, not a common password, not containing the email's name.
    pub password: String,
    /// Needed when registration is by invitation.
    pub invite: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Login {
    pub email: String,
    pub password: String,
}

/// A refresh token, when not sent as the cookie.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefreshRequest {
    pub refresh_token: Option<String>,
}

/// Creates an account and signs it in.
#[utoipa::path(
    post,
    path = "/v1/auth/register",
    tag = "auth",
    security(()),
    request_body = Register,
    responses(
        (status = 201, description = "Created and signed in", body = Tokens),
        (status = 400, description = "Malformed, or not an email address", body = ErrorBody),
        (status = 403, description = "Registration is closed, or the invite is missing or spent", body = ErrorBody),
        (status = 409, description = "The email has an account", body = ErrorBody),
        (status = 422, description = "The password is too weak; the message says why", body = ErrorBody),
        (status = 429, description = "Too many requests from this address", body = ErrorBody),
    )
)]
pub(crate) async fn register(
    State(state): State<AppState>,
    address: ClientAddr,
    AppJson(request): AppJson<Register>,
) -> Result<Response, ApiError> {
    state.auth.check_address(&address)?;
    let email = checked_email(&request.email)?;
    let mode = state.auth.config.registration;
    if mode == Registration::Closed {
        let message = "registration is closed; an operator creates accounts with `atelier user add`";
        return Err(ApiError::new(ApiCode::RegistrationClosed, message));
    }
    atelier_auth::Policy::default()
        .check(&request.password, &email)
        .map_err(|err| ApiError::new(ApiCode::WeakPassword, err.to_string()))?;
    let hash = hash(request.password).await?;
    let now = now_ms();
    let taken = || ApiError::new(ApiCode::EmailTaken, format!("`{email}` already has an account; sign in instead"));
    let user = match (mode, request.invite) {
        (Registration::Invite, None) => {
            return Err(ApiError::new(ApiCode::RegistrationClosed, "registration needs an invite code (`invite`)"))
        }
        (Registration::Invite, Some(code)) => {
            match state.invites.redeem(&atelier_auth::secret::hash_token(&code), &email, &hash, now).await? {
                Redeemed::Created(user) => user,
                Redeemed::EmailTaken => return Err(taken()),
                Redeemed::InvalidInvite => {
                    let message = "the invite code is unknown, used or expired";
                    return Err(ApiError::new(ApiCode::RegistrationClosed, message));
                }
            }
        }
        _ => state.users.create(&email, &hash, Role::User, now).await?.ok_or_else(taken)?,
    };
    let user = welcome(&state, user).await?;
    let mut response = session::start(&state, &user, None).await?;
    *response.status_mut() = StatusCode::CREATED;
    Ok(response)
}

/// Gives a new account its sign-up credits.
async fn welcome(state: &AppState, mut user: User) -> Result<User, ApiError> {
    let grant = state.auth.config.signup_grant;
    if state.auth.config.credits && grant > 0 {
        if let Some(balance) = state.credits.grant(&user.id, grant, None, Some("sign-up grant"), now_ms()).await? {
            user.balance = balance;
        }
    }
    Ok(user)
}

/// Signs in with an email and password.
#[utoipa::path(
    post,
    path = "/v1/auth/login",
    tag = "auth",
    security(()),
    request_body = Login,
    responses(
        (status = 200, description = "Signed in", body = Tokens),
        (status = 400, description = "Malformed", body = ErrorBody),
        (status = 401, description = "Wrong email or password, or a disabled account", body = ErrorBody),
        (status = 429, description = "Too many failures or requests; see Retry-After", body = ErrorBody),
    )
)]
pub(crate) async fn login(
    State(state): State<AppState>,
    address: ClientAddr,
    AppJson(request): AppJson<Login>,
) -> Result<Response, ApiError> {
    state.auth.check_address(&address)?;
    let email = request.email.trim().to_lowercase();
    state.auth.check_login(&email, &address)?;
    let user = if email.len() <= 254 { state.users.find_by_email(&email).await? } else { None };
    let phc = user.as_ref().map(|user| user.password_hash.clone());
    let password = request.password;
    // Unknown emails cost a hash too, so timing does not tell which emails have accounts.
    let good = tokio::task::spawn_blocking(move || match phc {
        Some(phc) => password::verify(&password, &phc),
        None => {
            password::dummy_verify(&password);
            false
        }
    })
    .await
    .map_err(|_| ApiError::new(ApiCode::Internal, "the password check was interrupted"))?;
    let user = match user {
        Some(user) if good => user,
        _ => {
            state.auth.login_failed(&email, &address);
            return Err(ApiError::new(ApiCode::InvalidCredentials, "wrong email or password"));
        }
    };
    if user.disabled_at.is_some() {
        return Err(ApiError::new(ApiCode::Unauthorized, "this account is disabled"));
    }
    state.auth.login_succeeded(&email);
    session::start(&state, &user, None).await
}

/// Trades a refresh token (the body's, else the cookie's) for new tokens. Each refresh
/// token works once: presenting a spent one signs out every session descended from it.
#[utoipa::path(
    post,
    path = "/v1/auth/refresh",
    tag = "auth",
    security(()),
    request_body(content = Option<RefreshRequest>, description = "Optional when the cookie is sent"),
    responses(
        (status = 200, description = "New tokens; the old refresh token is spent", body = Tokens),
        (status = 401, description = "Unknown, expired, revoked or reused refresh token", body = ErrorBody),
        (status = 429, description = "Too many requests from this address", body = ErrorBody),
    )
)]
pub(crate) async fn refresh(
    State(state): State<AppState>,
    address: ClientAddr,
    headers: HeaderMap,
    OptionalJson(body): OptionalJson<RefreshRequest>,
) -> Result<Response, ApiError> {
    state.auth.check_address(&address)?;
    let refused = |message: &str| ApiError::new(ApiCode::Unauthorized, message);
    let token = session::presented(body.and_then(|body| body.refresh_token), &headers)
        .ok_or_else(|| refused("send a refresh token, in the body or as the cookie"))?;
    let (next, next_hash) = atelier_auth::secret::new_token("rt");
    let ttl = session::ttl_ms(state.auth.config.refresh_ttl);
    let old = atelier_auth::secret::hash_token(&token);
    match state.sessions.rotate(&old, &next_hash, now_ms(), ttl).await? {
        Rotation::Rotated { user_id, family } => {
            let user = state.users.get(&user_id).await?.ok_or_else(|| refused("the account no longer exists"))?;
            Ok(session::respond(&state, &user, next, &family))
        }
        Rotation::Reused { .. } => {
            Err(refused("this refresh token was already used; every session it led to is signed out"))
        }
        Rotation::Invalid => Err(refused("the refresh token is unknown, expired or revoked")),
    }
}

/// Signs out: revokes the refresh token (the body's, else the cookie's) and clears the cookie.
#[utoipa::path(
    post,
    path = "/v1/auth/logout",
    tag = "auth",
    security(()),
    request_body(content = Option<RefreshRequest>, description = "Optional when the cookie is sent"),
    responses((status = 204, description = "Signed out"))
)]
pub(crate) async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    OptionalJson(body): OptionalJson<RefreshRequest>,
) -> Result<Response, ApiError> {
    if let Some(token) = session::presented(body.and_then(|body| body.refresh_token), &headers) {
        state.sessions.revoke(&atelier_auth::secret::hash_token(&token), now_ms()).await?;
    }
    let clear = session::clear_cookie(state.auth.config.secure_cookies);
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}

/// Argon2id on a blocking thread: it is deliberately slow.
pub(crate) async fn hash(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(|_| ApiError::new(ApiCode::Internal, "hashing the password was interrupted"))
}

/// A plausible email address, lower-cased; no attempt at RFC 5322, just enough to refuse
/// what cannot be one.
pub(crate) fn checked_email(email: &str) -> Result<String, ApiError> {
    let email = email.trim().to_lowercase();
    let plausible = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        })
        && email.matches('@').count() == 1
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if !plausible {
        return Err(ApiError::new(ApiCode::InvalidRequest, "`email` is not an email address"));
    }
    Ok(email)
}
