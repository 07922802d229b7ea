//! Signing in and proving it: registration rules, access tokens that are tampered, expired,
//! unsigned or from another key, API keys and their scopes, refresh-token rotation and reuse,
//! logout, password changes, disabled accounts, and the brute-force brake. On SQLite and
//! PostgreSQL.

use atelier_auth::{Claims, Keys, TokenKind};
use atelier_server::{AuthConfig, Registration};
use atelier_storage::now_ms;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};

use crate::support::{backends, bearer_client, spawn_idle_app_on, test_auth, TestApp, PASSWORD};

const TEST_KEY: &[u8] = b"a-test-signing-key-of-at-least-32-bytes";

async fn status_with(app: &TestApp, token: &str) -> (u16, Value) {
    app.send(bearer_client(token).get(app.url("/v1/me"))).await
}

fn claims(sub: &str, iat: i64, exp: i64) -> Claims {
    let sid = String::new();
    Claims { sub: sub.to_string(), iat, exp, jti: "test".to_string(), typ: TokenKind::Access, ver: 0, sid }
}

/// The session a real access token belongs to, read from its payload.
fn sid_of(token: &str) -> String {
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["sid"].as_str().unwrap().to_string()
}

/// A token signed with HS512 (same key), or with no signature at all (`alg: none`).
fn hand_made(alg: &str, claims: &Claims) -> String {
    let header = URL_SAFE_NO_PAD.encode(json!({ "alg": alg, "typ": "JWT" }).to_string());
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_string(claims).unwrap());
    let signed = format!("{header}.{payload}");
    let signature = match alg {
        "HS512" => {
            let mut mac = Hmac::<sha2::Sha512>::new_from_slice(TEST_KEY).unwrap();
            mac.update(signed.as_bytes());
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        }
        _ => String::new(),
    };
    format!("{signed}.{signature}")
}

#[tokio::test]
async fn forged_expired_and_unsigned_tokens_are_refused_with_401() {
    for backend in backends() {
        let app = spawn_idle_app_on(backend, test_auth()).await;
        let (status, me) = status_with(&app, &app.owner.access_token).await;
        assert_eq!((status, me["email"].as_str()), (200, Some("owner@example.com")), "{backend:?}");

        let now = now_ms() / 1000;
        let user = atelier_storage::Users::new(app.db().clone()).get(&app.owner.id).await.unwrap().unwrap();
        let sid = sid_of(&app.owner.access_token);
        let good = Claims { ver: user.password_changed_at, sid, ..claims(&app.owner.id, now, now + 600) };
        // The control: a token made by hand with the server's key is accepted, so each
        // refusal below is for its one fault.
        assert_eq!(status_with(&app, &Keys::new(TEST_KEY).issue(&good)).await.0, 200, "{backend:?}");
        let mut tampered = app.owner.access_token.clone();
        // Flip one character of the payload: the signature no longer matches.
        let dot = tampered.find('.').unwrap() + 5;
        let flipped = if &tampered[dot..=dot] == "A" { "B" } else { "A" };
        tampered.replace_range(dot..=dot, flipped);
        let cases = [
            ("tampered", tampered),
            ("expired", Keys::new(TEST_KEY).issue(&Claims { iat: now - 1000, exp: now - 1, ..good.clone() })),
            ("stale", Keys::new(TEST_KEY).issue(&Claims { ver: good.ver - 1, ..good.clone() })),
            ("another session", Keys::new(TEST_KEY).issue(&Claims { sid: "no-such-family".into(), ..good.clone() })),
            ("alg none", hand_made("none", &good)),
            ("HS512", hand_made("HS512", &good)),
            ("wrong key", Keys::new(b"another-key-of-at-least-thirty-two-bytes").issue(&good)),
            ("garbage", "not.a.token".to_string()),
            ("unknown user", Keys::new(TEST_KEY).issue(&claims("no-such-user", now, now + 600))),
        ];
        for (what, token) in cases {
            let (status, body) = status_with(&app, &token).await;
            assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")), "{backend:?} {what}: {body}");
        }
        let (status, body) = app.send(app.anonymous.get(app.url("/v1/images"))).await;
        assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")), "no token");
        let (status, _) =
            app.send(app.anonymous.get(app.url("/v1/images")).header("authorization", "Basic eDp5")).await;
        assert_eq!(status, 401, "another scheme");
    }
}

#[tokio::test]
async fn a_revoked_api_key_fails_at_once_and_scopes_limit_what_a_key_may_do() {
    for backend in backends() {
        let app = spawn_idle_app_on(backend, test_auth()).await;
        let make = |scopes: Value| {
            app.send(app.client.post(app.url("/v1/me/keys")).json(&json!({"name": "ci", "scopes": scopes})))
        };
        let (status, key) = make(json!(["write"])).await;
        assert_eq!(status, 201, "{key}");
        let secret = key["secret"].as_str().unwrap().to_string();
        assert!(secret.starts_with("atl_"), "{secret}");
        let keyed = bearer_client(&secret);
        assert_eq!(app.send(keyed.get(app.url("/v1/me"))).await.0, 200, "{backend:?}: a write key reads");
        // The secret is shown once: listing shows the prefix only.
        let (_, list) = app.send(app.client.get(app.url("/v1/me/keys"))).await;
        assert!(!list.to_string().contains(&secret), "{list}");
        // Keys cannot mint keys, nor may a non-admin ask for the admin scope.
        let (status, _) =
            app.send(keyed.post(app.url("/v1/me/keys")).json(&json!({"name": "x", "scopes": ["read"]}))).await;
        assert_eq!(status, 403);
        assert_eq!(make(json!(["admin"])).await.0, 403);
        assert_eq!(make(json!(["root"])).await.0, 400);

        let (_, read_only) = make(json!(["read"])).await;
        let reader = bearer_client(read_only["secret"].as_str().unwrap());
        assert_eq!(app.send(reader.get(app.url("/v1/images"))).await.0, 200);
        let (status, body) = app
            .send(
                reader
                    .post(app.url("/v1/pipelines"))
                    .json(&json!({"name": "p", "pipeline": {"version": 1, "steps": []}})),
            )
            .await;
        assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")), "{body}");

        let id = key["id"].as_str().unwrap();
        assert_eq!(app.send(app.client.delete(app.url(&format!("/v1/me/keys/{id}")))).await.0, 204);
        let (status, body) = app.send(keyed.get(app.url("/v1/me"))).await;
        assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")), "{backend:?}: revoked");
        assert_eq!(app.send(app.client.delete(app.url(&format!("/v1/me/keys/{id}")))).await.0, 404, "twice");
        // A key that looks right but whose secret is wrong.
        let forged = format!("{}x", &secret[..secret.len() - 1]);
        assert_eq!(app.send(bearer_client(&forged).get(app.url("/v1/me"))).await.0, 401);
    }
}

#[tokio::test]
async fn a_refresh_token_works_once_and_its_reuse_signs_the_whole_family_out() {
    for backend in backends() {
        let app = spawn_idle_app_on(backend, test_auth()).await;
        let refresh = |token: String| {
            app.send(app.anonymous.post(app.url("/v1/auth/refresh")).json(&json!({ "refresh_token": token })))
        };
        let first = app.owner.refresh_token.clone();
        let (status, second) = refresh(first.clone()).await;
        assert_eq!(status, 200, "{backend:?}: {second}");
        let second = second["refresh_token"].as_str().unwrap().to_string();
        // The first token again: a copy is in someone's hands, so the family dies.
        let (status, body) = refresh(first).await;
        assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")), "{body}");
        assert_eq!(refresh(second).await.0, 401, "{backend:?}: the legitimate successor is revoked too");

        // The cookie is HttpOnly and SameSite=Strict, and works in place of the body.
        let res = app
            .anonymous
            .post(app.url("/v1/auth/login"))
            .json(&json!({"email": "OWNER@example.com", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 200);
        let cookie = res.headers()["set-cookie"].to_str().unwrap().to_string();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
        let pair = cookie.split(';').next().unwrap().to_string();
        let (status, _) = app.send(app.anonymous.post(app.url("/v1/auth/refresh")).header("cookie", &pair)).await;
        assert_eq!(status, 200);
        // Logging out revokes what it is given.
        let (_, tokens) = app
            .send(
                app.anonymous
                    .post(app.url("/v1/auth/login"))
                    .json(&json!({"email": "owner@example.com", "password": PASSWORD})),
            )
            .await;
        let token = tokens["refresh_token"].as_str().unwrap().to_string();
        let (status, _) =
            app.send(app.anonymous.post(app.url("/v1/auth/logout")).json(&json!({ "refresh_token": token }))).await;
        assert_eq!(status, 204);
        assert_eq!(refresh(token).await.0, 401, "{backend:?}: logged out");
        // The access token of that sign-in ends with it, not 15 minutes later.
        let access = tokens["access_token"].as_str().unwrap();
        let (status, body) = status_with(&app, access).await;
        assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")), "{backend:?}: {body}");
        // A refresh token's reuse also ended the access tokens of its family.
        assert_eq!(status_with(&app, &app.owner.access_token).await.0, 401, "{backend:?}: the reused family");
    }
}

#[tokio::test]
async fn changing_the_password_ends_old_sessions_and_disabling_an_account_ends_everything() {
    for backend in backends() {
        let app = spawn_idle_app_on(backend, test_auth()).await;
        let user = app.sign_up("user@example.com").await;
        let change = json!({"current_password": "wrong password here", "new_password": "a brand new passphrase"});
        let (status, _) = app.send(user.client().post(app.url("/v1/me/password")).json(&change)).await;
        assert_eq!(status, 401, "{backend:?}: the current password is checked");
        let weak = json!({"current_password": PASSWORD, "new_password": "password123"});
        let (status, body) = app.send(user.client().post(app.url("/v1/me/password")).json(&weak)).await;
        assert_eq!((status, body["code"].as_str()), (422, Some("weak_password")), "{body}");
        let good = json!({"current_password": PASSWORD, "new_password": "a brand new passphrase"});
        assert_eq!(app.send(user.client().post(app.url("/v1/me/password")).json(&good)).await.0, 204);
        assert_eq!(status_with(&app, &user.access_token).await.0, 401, "{backend:?}: old access token");
        let refresh = json!({ "refresh_token": user.refresh_token });
        assert_eq!(app.send(app.anonymous.post(app.url("/v1/auth/refresh")).json(&refresh)).await.0, 401);

        // An admin disables the account: its key stops working at once.
        let login = json!({"email": "user@example.com", "password": "a brand new passphrase"});
        let (_, tokens) = app.send(app.anonymous.post(app.url("/v1/auth/login")).json(&login)).await;
        let client = bearer_client(tokens["access_token"].as_str().unwrap());
        let (_, key) =
            app.send(client.post(app.url("/v1/me/keys")).json(&json!({"name": "k", "scopes": ["read"]}))).await;
        let admin = app.admin("admin@example.com").await.client();
        let (status, _) = app
            .send(admin.patch(app.url(&format!("/v1/admin/users/{}", user.id))).json(&json!({"disabled": true})))
            .await;
        assert_eq!(status, 200);
        assert_eq!(app.send(client.get(app.url("/v1/me"))).await.0, 401, "{backend:?}: access token");
        assert_eq!(status_with(&app, key["secret"].as_str().unwrap()).await.0, 401, "{backend:?}: API key");
        assert_eq!(app.send(app.anonymous.post(app.url("/v1/auth/login")).json(&login)).await.0, 401);
    }
}

#[tokio::test]
async fn the_twentieth_wrong_password_in_a_minute_is_refused_with_429() {
    for backend in backends() {
        let app = spawn_idle_app_on(backend, test_auth()).await;
        let attempt = |password: &str| {
            let body = json!({"email": "owner@example.com", "password": password});
            let request = app.anonymous.post(app.url("/v1/auth/login")).json(&body);
            async move { request.send().await.unwrap() }
        };
        for n in 1..20 {
            let res = attempt("not the password at all").await;
            assert_eq!(res.status().as_u16(), 401, "{backend:?}: attempt {n}");
        }
        let res = attempt("not the password at all").await;
        assert_eq!(res.status().as_u16(), 429, "{backend:?}: the 20th");
        let wait: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&wait), "Retry-After {wait}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "rate_limited");
        // Even the right password waits: the brake is on the account, not on guesses.
        assert_eq!(attempt(PASSWORD).await.status().as_u16(), 429);
    }
}

#[tokio::test]
async fn registration_follows_the_configured_mode_and_the_password_policy() {
    let app = spawn_idle_app_on(crate::support::Backend::Sqlite, test_auth()).await;
    let register = |body: Value| app.send(app.anonymous.post(app.url("/v1/auth/register")).json(&body));
    let cases = [
        (json!({"email": "a@example.com", "password": "short"}), 422, "weak_password"),
        (json!({"email": "a@example.com", "password": "password1234"}), 422, "weak_password"),
        (json!({"email": "not-an-email", "password": PASSWORD}), 400, "invalid_request"),
        (json!({"email": "Owner@Example.com", "password": PASSWORD}), 409, "email_taken"),
        (json!({"email": "a@example.com"}), 400, "invalid_json"),
    ];
    for (body, status, code) in cases {
        let (got, answer) = register(body.clone()).await;
        assert_eq!((got, answer["code"].as_str()), (status, Some(code)), "{body}: {answer}");
    }
    let (status, tokens) = register(json!({"email": "new@example.com", "password": PASSWORD})).await;
    assert_eq!(status, 201);
    assert_eq!(tokens["user"]["balance"], 100, "the sign-up grant");

    let closed = AuthConfig { registration: Registration::Closed, ..test_auth() };
    let app = spawn_idle_app_on(crate::support::Backend::Sqlite, closed).await;
    let (status, body) = app
        .send(
            app.anonymous
                .post(app.url("/v1/auth/register"))
                .json(&json!({"email": "b@example.com", "password": PASSWORD})),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (403, Some("registration_closed")));
}

#[tokio::test]
async fn invite_only_registration_takes_a_code_once() {
    let invite_only = AuthConfig { registration: Registration::Invite, ..test_auth() };
    let app = spawn_idle_app_on(crate::support::Backend::Sqlite, invite_only).await;
    let admin = app.admin("admin@example.com").await.client();
    let (status, invite) = app.send(admin.post(app.url("/v1/admin/invites")).json(&json!({}))).await;
    assert_eq!(status, 201, "{invite}");
    let code = invite["code"].as_str().unwrap().to_string();
    let register = |body: Value| app.send(app.anonymous.post(app.url("/v1/auth/register")).json(&body));
    let (status, body) = register(json!({"email": "c@example.com", "password": PASSWORD})).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("registration_closed")), "no code");
    let (status, body) = register(json!({"email": "c@example.com", "password": PASSWORD, "invite": code})).await;
    assert_eq!(status, 201, "{body}");
    let (status, _) = register(json!({"email": "d@example.com", "password": PASSWORD, "invite": code})).await;
    assert_eq!(status, 403, "spent");
}

#[tokio::test]
async fn sign_in_routes_are_rate_limited_per_address() {
    let rate = atelier_auth::Rate { burst: 5, per: std::time::Duration::from_secs(60) };
    let app = spawn_idle_app_on(crate::support::Backend::Sqlite, AuthConfig { auth_rate: rate, ..test_auth() }).await;
    // The harness signed its owner in once already.
    for n in 0..4 {
        let body = json!({"email": format!("u{n}@example.com"), "password": PASSWORD});
        assert_eq!(app.send(app.anonymous.post(app.url("/v1/auth/register")).json(&body)).await.0, 201, "{n}");
    }
    let res = app
        .anonymous
        .post(app.url("/v1/auth/login"))
        .json(&json!({"email": "u0@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 429);
    assert!(res.headers().contains_key("retry-after"));
}
