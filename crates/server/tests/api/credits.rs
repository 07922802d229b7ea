//! What work costs and who may do how much: jobs charged when queued (exactly as many
//! accepted as the balance covers, under 100 concurrent submissions), failed items refunded,
//! 402 with the figures, quotas (413, 429), rate limits with `Retry-After`, renders charged
//! on a cache miss only, credits switched off, and the admin's grants. On SQLite and
//! PostgreSQL where the database is what is tested.

use std::time::Duration;

use atelier_server::AuthConfig;
use atelier_storage::{Credits, Quotas};
use serde_json::{json, Value};

use crate::support::{backends, photo, spawn_idle_app_on, test_auth, Account, Backend, TestApp};

/// The cost of one `thumbnail` step, from the catalogue.
async fn thumbnail_cost(app: &TestApp) -> i64 {
    let ops: Value = app.get("/v1/ops").await.json().await.unwrap();
    let op = ops.as_array().unwrap().iter().find(|op| op["name"] == "thumbnail").unwrap();
    op["cost"].as_i64().unwrap()
}

/// A fresh account holding exactly `balance` credits, granted by an admin, and one image.
async fn funded(app: &TestApp, email: &str, balance: i64) -> (Account, String) {
    let user = app.sign_up(email).await;
    let admin = app.admin(&format!("admin-{email}")).await.client();
    if balance > 0 {
        let grant = json!({"amount": balance, "note": "test"});
        let (status, body) =
            app.send(admin.post(app.url(&format!("/v1/admin/users/{}/credits", user.id))).json(&grant)).await;
        assert_eq!((status, body["balance"].as_i64()), (200, Some(balance)), "{body}");
    }
    let res = user.client().post(app.url("/v1/images")).body(photo("chelsea.png")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 201);
    let image: Value = res.json().await.unwrap();
    (user, image["id"].as_str().unwrap().to_string())
}

async fn assert_balanced(app: &TestApp, user: &str, expected: i64, context: &str) {
    let credits = Credits::new(app.db().clone());
    let balance = credits.balance(user).await.unwrap().unwrap();
    assert_eq!(balance, expected, "{context}: balance");
    assert_eq!(credits.ledger_total(user).await.unwrap(), balance, "{context}: the ledger sums to the balance");
}

fn no_grant() -> AuthConfig {
    AuthConfig { signup_grant: 0, ..test_auth() }
}

#[tokio::test]
async fn a_hundred_parallel_submissions_on_a_balance_for_ten_accept_exactly_ten() {
    for backend in backends() {
        let app = spawn_idle_app_on(backend, no_grant()).await;
        let cost = thumbnail_cost(&app).await;
        let (user, image) = funded(&app, "spender@example.com", 10 * cost).await;
        let client = user.client();
        let job = json!({"ops": ["thumbnail:width=32"], "images": [image]});
        let submits = (0..100).map(|_| {
            let request = client.post(app.url("/v1/jobs")).json(&job);
            async move {
                let res = request.send().await.unwrap();
                let status = res.status().as_u16();
                (status, res.json::<Value>().await.unwrap())
            }
        });
        let answers = futures::future::join_all(submits).await;
        let accepted = answers.iter().filter(|(status, _)| *status == 202).count();
        assert_eq!(accepted, 10, "{backend:?}");
        for (status, body) in answers.iter().filter(|(status, _)| *status != 202) {
            assert_eq!((*status, body["code"].as_str()), (402, Some("insufficient_credits")), "{body}");
            assert_eq!((body["needed"].as_i64(), body["available"].as_i64()), (Some(cost), Some(0)), "{body}");
        }
        assert_balanced(&app, &user.id, 0, &format!("{backend:?}")).await;
        let (_, me) = app.send(client.get(app.url("/v1/me/credits?limit=100"))).await;
        assert_eq!(me["balance"], 0);
        let charges = me["items"].as_array().unwrap().iter().filter(|entry| entry["kind"] == "charge").count();
        assert_eq!(charges, 10, "{me}");
    }
}

#[tokio::test]
async fn items_that_fail_are_refunded_and_the_rest_stay_paid() {
    for backend in backends() {
        let app = spawn_idle_app_on(backend, no_grant()).await;
        let (user, wide) = funded(&app, "refund@example.com", 1000).await;
        let res = user.client().post(app.url("/v1/images")).body(photo("astronaut.jpg")).send().await.unwrap();
        let narrow: Value = res.json().await.unwrap();
        // 260 + 30 fits the 300-wide cat, not the 256-wide astronaut.
        let job = json!({"ops": ["crop:x=260,y=0,width=30,height=30"], "images": [wide, narrow["id"]]});
        let (status, queued) = app.send(user.client().post(app.url("/v1/jobs")).json(&job)).await;
        assert_eq!(status, 202, "{queued}");
        let per_item = {
            let ops: Value = app.get("/v1/ops").await.json().await.unwrap();
            ops.as_array().unwrap().iter().find(|op| op["name"] == "crop").unwrap()["cost"].as_i64().unwrap()
        };
        assert_balanced(&app, &user.id, 1000 - 2 * per_item, "charged for two").await;
        app.start_worker();
        let id = queued["id"].as_str().unwrap();
        let done = wait_as(&app, &user, id).await;
        assert_eq!(done["progress"]["done"], 2, "{done}");
        assert_balanced(&app, &user.id, 1000 - per_item, &format!("{backend:?}: the failed item came back")).await;
        let (_, history) = app.send(user.client().get(app.url("/v1/me/credits"))).await;
        let refund = &history["items"][0];
        assert_eq!((refund["kind"].as_str(), refund["amount"].as_i64()), (Some("refund"), Some(per_item)), "{history}");
        assert_eq!(refund["job_id"].as_str(), Some(id));
    }
}

async fn wait_as(app: &TestApp, user: &Account, id: &str) -> Value {
    for _ in 0..200 {
        let (_, job) = app.send(user.client().get(app.url(&format!("/v1/jobs/{id}")))).await;
        if !matches!(job["state"].as_str(), Some("queued" | "running")) {
            // Refunds land with the final state, in the same transaction.
            return job;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("job {id} did not finish");
}

#[tokio::test]
async fn quotas_refuse_bytes_with_413_and_jobs_with_429_and_say_the_figures() {
    let quotas = Quotas { bytes: Some(photo("chelsea.png").len() as i64 + 10), jobs: Some(2) };
    let app = spawn_idle_app_on(Backend::Sqlite, AuthConfig { default_quotas: quotas, ..test_auth() }).await;
    let (user, image) = funded(&app, "quota@example.com", 0).await;
    let res = user.client().post(app.url("/v1/images")).body(photo("astronaut.jpg")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 413);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "quota_exceeded", "{body}");
    assert!(body["limit"].as_i64().is_some() && body["used"].as_i64().is_some(), "{body}");
    let (status, _) = app.send(user.client().post(app.url("/v1/uploads")).json(&json!({"size": 1 << 20}))).await;
    assert_eq!(status, 413, "a resumable upload is refused before its first byte");
    assert!(app.spooled_files().is_empty());

    let job = json!({"ops": ["thumbnail:width=32"], "images": [image]});
    for _ in 0..2 {
        assert_eq!(app.send(user.client().post(app.url("/v1/jobs")).json(&job)).await.0, 202);
    }
    let (status, body) = app.send(user.client().post(app.url("/v1/jobs")).json(&job)).await;
    assert_eq!(
        (status, body["code"].as_str(), body["limit"].as_i64()),
        (429, Some("too_many_jobs"), Some(2)),
        "{body}"
    );
    // An admin raises this account's own limit.
    let admin = app.admin("boss@example.com").await.client();
    let change = json!({"quotas": {"bytes": null, "jobs": 5}});
    let (status, view) = app.send(admin.patch(app.url(&format!("/v1/admin/users/{}", user.id))).json(&change)).await;
    assert_eq!((status, view["quotas"]["jobs"].as_i64()), (200, Some(5)), "{view}");
    assert_eq!(app.send(user.client().post(app.url("/v1/jobs")).json(&job)).await.0, 202);
}

#[tokio::test]
async fn expensive_routes_are_rate_limited_per_account_with_retry_after() {
    let rate = atelier_auth::Rate { burst: 3, per: Duration::from_secs(60) };
    let app = spawn_idle_app_on(Backend::Sqlite, AuthConfig { expensive_rate: rate, ..test_auth() }).await;
    for n in 0..3 {
        assert_eq!(app.upload(photo("chelsea.png")).await.0, 201, "upload {n}");
    }
    let res = app.client.post(app.url("/v1/images")).body(photo("chelsea.png")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 429);
    assert!(res.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    // Another account has its own allowance.
    let other = app.sign_up("other@example.com").await;
    let res = other.client().post(app.url("/v1/images")).body(photo("chelsea.png")).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 201);
}

#[tokio::test]
async fn with_credits_switched_off_work_is_free_and_no_balance_is_shown() {
    let app = spawn_idle_app_on(Backend::Sqlite, AuthConfig { credits: false, ..no_grant() }).await;
    let (user, image) = funded(&app, "free@example.com", 0).await;
    let job = json!({"ops": ["thumbnail:width=32"], "images": [image]});
    assert_eq!(app.send(user.client().post(app.url("/v1/jobs")).json(&job)).await.0, 202);
    let (_, me) = app.send(user.client().get(app.url("/v1/me"))).await;
    assert!(me.get("balance").is_none(), "{me}");
    let (_, credits) = app.send(user.client().get(app.url("/v1/me/credits"))).await;
    assert_eq!((credits["enabled"].as_bool(), credits["balance"].as_i64()), (Some(false), Some(0)));
}

#[tokio::test]
async fn admins_grant_and_take_but_never_below_zero_and_others_may_not() {
    for backend in backends() {
        let app = spawn_idle_app_on(backend, no_grant()).await;
        let (user, _) = funded(&app, "ledger@example.com", 50).await;
        let admin = app.admin("admin@example.com").await.client();
        let url = app.url(&format!("/v1/admin/users/{}/credits", user.id));
        let (status, body) = app.send(admin.post(&url).json(&json!({"amount": -80}))).await;
        assert_eq!((status, body["code"].as_str()), (402, Some("insufficient_credits")), "{body}");
        let (status, body) = app.send(admin.post(&url).json(&json!({"amount": -20, "note": "correction"}))).await;
        assert_eq!((status, body["balance"].as_i64()), (200, Some(30)), "{body}");
        for amount in [0, i64::MAX - 1, i64::MIN + 1] {
            let (status, body) = app.send(admin.post(&url).json(&json!({"amount": amount}))).await;
            assert_eq!((status, body["code"].as_str()), (400, Some("invalid_request")), "{amount}: {body}");
        }

        let missing = app.url("/v1/admin/users/nobody/credits");
        assert_eq!(app.send(admin.post(&missing).json(&json!({"amount": 5}))).await.0, 404);
        assert_balanced(&app, &user.id, 30, &format!("{backend:?}")).await;
        // Filled to its ceiling, a balance refuses one more grant rather than overflowing.
        let (max_amount, max_balance) = (atelier_storage::credits::MAX_AMOUNT, atelier_storage::credits::MAX_BALANCE);
        let credits = Credits::new(app.db().clone());
        for _ in 0..max_balance / max_amount - 1 {
            credits.grant(&user.id, max_amount, None, Some("fill"), 1).await.unwrap();
        }
        let (status, body) = app.send(admin.post(&url).json(&json!({"amount": max_amount}))).await;
        assert_eq!((status, body["code"].as_str()), (400, Some("invalid_request")), "{backend:?}: {body}");
        let (status, body) = app.send(admin.post(&url).json(&json!({"amount": -max_amount}))).await;
        assert_eq!(status, 200, "{backend:?}: {body}");
        // Users cannot reach admin routes, whatever they send.
        let (status, body) = app.send(user.client().post(&url).json(&json!({"amount": 1000}))).await;
        assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
        let (status, users) = app.send(admin.get(app.url("/v1/admin/users"))).await;
        assert_eq!(status, 200);
        assert!(users["items"].as_array().unwrap().len() >= 3, "{users}");
        // Admins see every user's jobs there, and only their own under /v1/jobs.
        let image = app.send(user.client().post(app.url("/v1/images")).body(photo("chelsea.png"))).await.1;
        let job = json!({"ops": ["thumbnail:width=32"], "images": [image["id"]]});
        let (status, queued) = app.send(user.client().post(app.url("/v1/jobs")).json(&job)).await;
        assert_eq!(status, 202, "{queued}");
        let (status, all) = app.send(admin.get(app.url("/v1/admin/jobs"))).await;
        assert_eq!(status, 200);
        assert!(all["items"].as_array().unwrap().iter().any(|job| job["id"] == queued["id"]), "{all}");
        let (_, own) = app.send(admin.get(app.url("/v1/jobs"))).await;
        assert!(own["items"].as_array().unwrap().is_empty(), "{own}");
    }
}
