//! Users, refresh-token rotation, API keys and invites, on SQLite always and on PostgreSQL
//! when `ATELIER_TEST_POSTGRES` names a server (CI requires it). Each test gets a fresh
//! database; hashes are made-up strings, since storage never hashes.

use atelier_storage::{ApiKeys, Db, Invites, NewApiKey, Quotas, Redeemed, Role, Rotation, Sessions, Users};

mod support;

use support::{fixtures, Fixture};

async fn user(db: &Db, email: &str) -> String {
    Users::new(db.clone()).create(email, "$argon2id$fake", Role::User, 1).await.unwrap().unwrap().id
}

#[tokio::test]
async fn an_email_is_taken_once_whatever_its_case_and_a_user_can_be_disabled_and_changed() {
    for Fixture { name, db, .. } in fixtures().await {
        let users = Users::new(db);
        let ann = users.create("Ann@Example.COM", "h1", Role::User, 10).await.unwrap().unwrap();
        assert_eq!((ann.email.as_str(), ann.balance, ann.disabled_at), ("ann@example.com", 0, None), "{name}");
        assert_eq!(users.create("ann@example.com", "h2", Role::Admin, 11).await.unwrap(), None, "{name}: taken");
        assert_eq!(users.find_by_email("ANN@example.com").await.unwrap().as_ref(), Some(&ann), "{name}");
        assert_eq!(users.get(&ann.id).await.unwrap().as_ref(), Some(&ann), "{name}");
        assert_eq!(users.get("nobody").await.unwrap(), None, "{name}");

        assert!(users.set_disabled(&ann.id, true, 20).await.unwrap(), "{name}");
        assert_eq!(users.get(&ann.id).await.unwrap().unwrap().disabled_at, Some(20), "{name}");
        assert!(users.set_disabled(&ann.id, false, 21).await.unwrap(), "{name}");
        assert_eq!(users.get(&ann.id).await.unwrap().unwrap().disabled_at, None, "{name}");
        assert!(!users.set_disabled("nobody", true, 22).await.unwrap(), "{name}");

        let quotas = Quotas { bytes: Some(1 << 20), jobs: None };
        assert!(users.set_role(&ann.id, Role::Admin).await.unwrap(), "{name}");
        assert!(users.set_quotas(&ann.id, quotas).await.unwrap(), "{name}");
        assert!(users.set_password(&ann.id, "h3", 30).await.unwrap(), "{name}");
        let changed = users.get(&ann.id).await.unwrap().unwrap();
        assert_eq!(
            (changed.role, changed.quotas, changed.password_hash.as_str(), changed.password_changed_at),
            (Role::Admin, quotas, "h3", 30),
            "{name}"
        );

        users.create("bob@example.com", "h", Role::User, 40).await.unwrap().unwrap();
        users.create("cy@example.com", "h", Role::User, 41).await.unwrap().unwrap();
        assert_eq!(users.count().await.unwrap(), 3, "{name}");
        let first = users.list(None, 2).await.unwrap();
        let emails = |page: &atelier_storage::UserPage| page.users.iter().map(|u| u.email.clone()).collect::<Vec<_>>();
        assert_eq!(emails(&first), ["ann@example.com", "bob@example.com"], "{name}");
        let second = users.list(first.next.as_deref(), 2).await.unwrap();
        assert_eq!((emails(&second), second.next), (vec!["cy@example.com".to_string()], None), "{name}");
    }
}

#[tokio::test]
async fn a_refresh_token_rotates_once_and_its_reuse_revokes_the_whole_family() {
    for Fixture { name, db, .. } in fixtures().await {
        let ann = user(&db, "ann@example.com").await;
        let sessions = Sessions::new(db.clone());
        let first = sessions.issue(&ann, None, "t1", 100, 1_000).await.unwrap();
        let family = first.family.clone();
        let rotated = Rotation::Rotated { user_id: ann.clone(), family: family.clone() };
        assert_eq!(sessions.rotate("t1", "t2", 200, 1_000).await.unwrap(), rotated, "{name}");
        assert_eq!(sessions.get("t2").await.unwrap().unwrap().expires_at, 1_200, "{name}: a fresh lifetime");
        assert_eq!(sessions.rotate("t2", "t3", 300, 1_000).await.unwrap(), rotated, "{name}");

        // t1 was spent at 200: presenting it again means it was copied.
        let reused = Rotation::Reused { user_id: ann.clone(), family: family.clone() };
        assert_eq!(sessions.rotate("t1", "t4", 400, 1_000).await.unwrap(), reused, "{name}");
        assert_eq!(sessions.rotate("t3", "t5", 401, 1_000).await.unwrap(), Rotation::Invalid, "{name}: revoked");
        assert_eq!(sessions.get("t4").await.unwrap(), None, "{name}: no successor for a reused token");

        assert_eq!(sessions.rotate("unknown", "x", 500, 1_000).await.unwrap(), Rotation::Invalid, "{name}");
        sessions.issue(&ann, None, "old", 500, 600).await.unwrap();
        assert_eq!(sessions.rotate("old", "x", 600, 1_000).await.unwrap(), Rotation::Invalid, "{name}: expired");

        // Other families of the user are untouched, until the password changes.
        sessions.issue(&ann, None, "laptop", 700, 10_000).await.unwrap();
        sessions.issue(&ann, Some("phone-family"), "phone", 700, 10_000).await.unwrap();
        assert!(matches!(sessions.rotate("laptop", "laptop2", 800, 1_000).await.unwrap(), Rotation::Rotated { .. }));
        assert!(Users::new(db.clone()).set_password(&ann, "new", 900).await.unwrap());
        assert_eq!(sessions.rotate("laptop2", "l3", 901, 1_000).await.unwrap(), Rotation::Invalid, "{name}");
        assert_eq!(sessions.rotate("phone", "p2", 901, 1_000).await.unwrap(), Rotation::Invalid, "{name}");

        sessions.issue(&ann, None, "tablet", 1_000, 10_000).await.unwrap();
        assert!(sessions.revoke("tablet", 1_001).await.unwrap(), "{name}: logout");
        assert!(!sessions.revoke("tablet", 1_002).await.unwrap(), "{name}");
        sessions.issue(&ann, None, "desk", 1_000, 10_000).await.unwrap();
        assert!(Users::new(db.clone()).set_disabled(&ann, true, 1_100).await.unwrap());
        assert_eq!(sessions.rotate("desk", "d2", 1_101, 1_000).await.unwrap(), Rotation::Invalid, "{name}");
        assert_eq!(sessions.revoke_all(&ann, 1_200).await.unwrap(), 0, "{name}: all revoked already");
    }
}

#[tokio::test]
async fn of_two_concurrent_rotations_of_one_token_exactly_one_wins() {
    for Fixture { name, db, .. } in fixtures().await {
        let ann = user(&db, "ann@example.com").await;
        let sessions = Sessions::new(db);
        for round in 0..10 {
            let token = format!("r{round}");
            sessions.issue(&ann, None, &token, 0, 10_000).await.unwrap();
            let racers: Vec<_> = ["a", "b"]
                .into_iter()
                .map(|side| {
                    let (sessions, token) = (sessions.clone(), token.clone());
                    tokio::spawn(async move { sessions.rotate(&token, &format!("{token}{side}"), 10, 1_000).await })
                })
                .collect();
            let mut outcomes = Vec::new();
            for racer in racers {
                outcomes.push(racer.await.unwrap().unwrap());
            }
            let won = outcomes.iter().filter(|o| matches!(o, Rotation::Rotated { .. })).count();
            let reused = outcomes.iter().filter(|o| matches!(o, Rotation::Reused { .. })).count();
            assert_eq!((won, reused), (1, 1), "{name}: {outcomes:?}");
            for side in ["a", "b"] {
                let successor = format!("{token}{side}");
                let outcome = sessions.rotate(&successor, &format!("{successor}!"), 20, 1_000).await.unwrap();
                assert_eq!(outcome, Rotation::Invalid, "{name}: the family is revoked, the winner's token too");
            }
        }
    }
}

#[tokio::test]
async fn api_keys_are_found_by_prefix_until_revoked_or_expired_and_only_their_owner_revokes_them() {
    for Fixture { name, db, .. } in fixtures().await {
        let (ann, bob) = (user(&db, "ann@example.com").await, user(&db, "bob@example.com").await);
        let keys = ApiKeys::new(db);
        let new = |user_id, prefix, expires_at| NewApiKey {
            user_id,
            name: "ci",
            prefix,
            secret_hash: "sha",
            scopes: "read,write",
            expires_at,
        };
        let key = keys.create(new(&ann, "abcd1234", None), 100).await.unwrap().unwrap();
        assert_eq!(keys.create(new(&bob, "abcd1234", None), 101).await.unwrap(), None, "{name}: prefix taken");
        keys.create(new(&ann, "short000", Some(500)), 102).await.unwrap().unwrap();

        assert_eq!(keys.find_by_prefix("abcd1234", 200).await.unwrap().as_ref(), Some(&key), "{name}");
        assert!(keys.find_by_prefix("short000", 499).await.unwrap().is_some(), "{name}");
        assert_eq!(keys.find_by_prefix("short000", 500).await.unwrap(), None, "{name}: expired");
        assert_eq!(keys.list(&ann).await.unwrap().len(), 2, "{name}");
        assert!(keys.list(&bob).await.unwrap().is_empty(), "{name}");

        keys.touch(&key.id, 1_000).await.unwrap();
        keys.touch(&key.id, 1_500).await.unwrap(); // within a minute: not written
        assert_eq!(keys.find_by_prefix("abcd1234", 2_000).await.unwrap().unwrap().last_used_at, Some(1_000));
        keys.touch(&key.id, 61_001).await.unwrap();
        assert_eq!(keys.find_by_prefix("abcd1234", 2_000).await.unwrap().unwrap().last_used_at, Some(61_001));

        assert!(!keys.revoke(&bob, &key.id, 3_000).await.unwrap(), "{name}: not bob's");
        assert!(keys.revoke(&ann, &key.id, 3_000).await.unwrap(), "{name}");
        assert!(!keys.revoke(&ann, &key.id, 3_001).await.unwrap(), "{name}: revoked already");
        assert_eq!(keys.find_by_prefix("abcd1234", 3_002).await.unwrap(), None, "{name}");
    }
}

#[tokio::test]
async fn an_invite_makes_one_account_and_survives_an_email_that_is_taken() {
    for Fixture { name, db, .. } in fixtures().await {
        user(&db, "taken@example.com").await;
        let invites = Invites::new(db.clone());
        invites.create("code", None, 100, 1_000).await.unwrap();
        invites.create("stale", None, 100, 200).await.unwrap();

        let taken = invites.redeem("code", "TAKEN@example.com", "h", 150).await.unwrap();
        assert_eq!(taken, Redeemed::EmailTaken, "{name}");
        assert_eq!(invites.get("code").await.unwrap().unwrap().used_at, None, "{name}: still unused");

        let Redeemed::Created(created) = invites.redeem("code", "new@example.com", "h", 160).await.unwrap() else {
            panic!("{name}: the invite should create the account")
        };
        assert_eq!((created.email.as_str(), created.role), ("new@example.com", Role::User), "{name}");
        let spent = invites.get("code").await.unwrap().unwrap();
        assert_eq!((spent.used_at, spent.used_by.as_deref()), (Some(160), Some(created.id.as_str())), "{name}");

        assert_eq!(invites.redeem("code", "other@example.com", "h", 170).await.unwrap(), Redeemed::InvalidInvite);
        assert_eq!(invites.redeem("stale", "late@example.com", "h", 200).await.unwrap(), Redeemed::InvalidInvite);
        assert_eq!(invites.redeem("nope", "x@example.com", "h", 200).await.unwrap(), Redeemed::InvalidInvite);
        assert!(Users::new(db).find_by_email("other@example.com").await.unwrap().is_none(), "{name}");
        assert!(!invites.revoke("code").await.unwrap(), "{name}: used invites stay on record");
        assert!(invites.revoke("stale").await.unwrap(), "{name}");
    }
}

#[tokio::test]
async fn the_first_stored_server_secret_wins_and_every_later_start_reads_it() {
    for Fixture { name, db, .. } in fixtures().await {
        let secrets = atelier_storage::Secrets::new(db.clone());
        let first = secrets.get_or_init("jwt", "first-candidate", 1).await.unwrap();
        assert_eq!(first, "first-candidate", "{name}");
        // A second replica starting with its own candidate gets the stored one.
        let second = secrets.get_or_init("jwt", "second-candidate", 2).await.unwrap();
        assert_eq!(second, "first-candidate", "{name}");
        let other = secrets.get_or_init("other", "its-own", 3).await.unwrap();
        assert_eq!(other, "its-own", "{name}: names are independent");
    }
}
