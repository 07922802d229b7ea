//! The [`Caller`] extractor: `Authorization: Bearer` with an access token (a JWT) or an API
//! key (`atl_…`), checked against the database on every request, so a disabled account or
//! a revoked key is refused at once rather than when a token expires.

use atelier_storage::{now_ms, Quotas, Role, Scope, User};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, Method};

use super::ClientAddr;
use crate::app::AppState;
use crate::error::{ApiCode, ApiError};

/// What an API key may do. `write` includes `read`; `admin` includes both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KeyScopes {
    pub read: bool,
    pub write: bool,
    pub admin: bool,
}

impl KeyScopes {
    pub const NAMES: [&'static str; 3] = ["read", "write", "admin"];

    /// Parses `read,write`-style lists; `None` for an unknown name or an empty list.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Option<KeyScopes> {
        let mut scopes = KeyScopes::default();
        for name in names {
            match name.trim() {
                "read" => scopes.read = true,
                "write" => scopes.write = true,
                "admin" => scopes.admin = true,
                _ => return None,
            }
        }
        (scopes != KeyScopes::default()).then_some(scopes)
    }

    pub fn names(self) -> Vec<&'static str> {
        let held = [self.read, self.write, self.admin];
        KeyScopes::NAMES.iter().zip(held).filter(|(_, held)| *held).map(|(name, _)| *name).collect()
    }

    fn allows_read(self) -> bool {
        self.read || self.write || self.admin
    }

    fn allows_write(self) -> bool {
        self.write || self.admin
    }
}

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// An access token from a login.
    Session,
    /// An API key, with its id and scopes.
    Key { id: String, scopes: KeyScopes },
}

/// A signed-in, enabled user, allowed the request's method.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub via: Via,
    /// Where the request came from, for per-address limits.
    pub(crate) addr: ClientAddr,
}

impl Caller {
    /// The rows this caller may see: their own.
    pub fn scope(&self) -> Scope<'_> {
        Scope::User(&self.user.id)
    }

    pub fn id(&self) -> &str {
        &self.user.id
    }

    /// The caller's quotas, the server's defaults filling what the account does not set.
    pub fn quotas(&self, defaults: Quotas) -> Quotas {
        Quotas { bytes: self.user.quotas.bytes.or(defaults.bytes), jobs: self.user.quotas.jobs.or(defaults.jobs) }
    }
}

pub(crate) fn unauthorized(message: impl Into<String>) -> ApiError {
    ApiError::new(ApiCode::Unauthorized, message)
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let token = bearer(parts)?;
        let now = now_ms();
        let (user_id, via, version) = match atelier_auth::secret::parse_api_key(token) {
            Some(prefix) => {
                let refused = || unauthorized("the API key is unknown, revoked or expired");
                let record = state.api_keys.find_by_prefix(prefix, now).await?.ok_or_else(refused)?;
                let presented = atelier_auth::secret::hash_token(token);
                if !atelier_auth::secret::hashes_match(&presented, &record.secret_hash) {
                    return Err(refused());
                }
                let scopes = KeyScopes::parse(record.scopes.split(',')).ok_or_else(refused)?;
                let keys = state.api_keys.clone();
                let id = record.id.clone();
                // Bookkeeping only: the request need not wait for it, nor fail with it.
                tokio::spawn(async move { keys.touch(&id, now).await });
                (record.user_id, Via::Key { id: record.id, scopes }, None)
            }
            None => {
                let claims =
                    state.auth.keys().verify(token, now / 1000).map_err(|err| unauthorized(err.to_string()))?;
                // Signed out (or a stolen refresh token was caught): the session is over.
                if !state.sessions.family_live(&claims.sid, now).await? {
                    return Err(unauthorized("this session was signed out; sign in again"));
                }
                (claims.sub, Via::Session, Some(claims.ver))
            }
        };
        let user = state.users.get(&user_id).await?.ok_or_else(|| unauthorized("the account no longer exists"))?;
        if user.disabled_at.is_some() {
            return Err(unauthorized("this account is disabled"));
        }
        // Access tokens from before a password change die with the old password.
        if version.is_some_and(|version| version != user.password_changed_at) {
            return Err(unauthorized("the token was issued before the password changed; sign in again"));
        }
        if let Via::Key { scopes, .. } = &via {
            let reads = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
            let (allowed, needed) =
                if reads { (scopes.allows_read(), "read") } else { (scopes.allows_write(), "write") };
            if !allowed {
                return Err(ApiError::new(ApiCode::Forbidden, format!("this API key lacks the `{needed}` scope")));
            }
        }
        let caller = Caller { user, via, addr: ClientAddr::of(parts) };
        parts.extensions.insert(caller.clone());
        Ok(caller)
    }
}

/// A caller with the admin role; through a key, only one with the `admin` scope.
#[derive(Debug, Clone)]
pub struct AdminCaller(pub Caller);

impl FromRequestParts<AppState> for AdminCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        if caller.user.role != Role::Admin {
            return Err(ApiError::new(ApiCode::Forbidden, "this route is for admins"));
        }
        if let Via::Key { scopes, .. } = &caller.via {
            if !scopes.admin {
                return Err(ApiError::new(ApiCode::Forbidden, "this API key lacks the `admin` scope"));
            }
        }
        Ok(AdminCaller(caller))
    }
}

/// The token of `Authorization: Bearer <token>`.
fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Err(unauthorized("sign in: send `Authorization: Bearer <access token or API key>`"));
    };
    let value = value.to_str().map_err(|_| unauthorized("the Authorization header is not text"))?;
    let (scheme, token) = value.trim().split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(unauthorized("the Authorization header must be `Bearer <access token or API key>`"));
    }
    Ok(token.trim())
}
