//! Own categories on SQLite and PostgreSQL: saved per owner with their centre read back
//! exactly, names unique per owner only, a cap on how many, and deletion by name.

mod support;

use atelier_storage::{Categories, CategoryCreated};

#[tokio::test]
async fn categories_belong_to_their_owner_read_back_exactly_and_are_capped() {
    for fixture in support::fixtures().await {
        let name = fixture.name;
        let categories = Categories::new(fixture.db.clone());
        let centre = [0.6f32, -0.8, 1.0e-7, 0.333_333_34];
        let created = categories.create("alice", "shirts", &centre, 3, 2, 10).await.unwrap();
        let CategoryCreated::Created(record) = created else { panic!("{name}: {created:?}") };
        let back = categories.get("alice", "shirts").await.unwrap().unwrap();
        assert_eq!(back, record, "{name}");
        assert_eq!(back.centre, centre, "{name}: every f32 reads back bit for bit");

        assert_eq!(categories.create("alice", "shirts", &centre, 1, 2, 11).await.unwrap(), CategoryCreated::NameTaken);
        // Names are per owner: Bob's `shirts` is his own.
        assert!(matches!(
            categories.create("bob", "shirts", &[1.0], 1, 2, 12).await.unwrap(),
            CategoryCreated::Created(_)
        ));
        assert!(matches!(
            categories.create("alice", "bags", &[1.0], 1, 2, 13).await.unwrap(),
            CategoryCreated::Created(_)
        ));
        assert_eq!(
            categories.create("alice", "hats", &[1.0], 1, 2, 14).await.unwrap(),
            CategoryCreated::TooMany,
            "{name}"
        );

        let names: Vec<String> = categories.list("alice").await.unwrap().into_iter().map(|c| c.name).collect();
        assert_eq!(names, ["bags", "shirts"], "{name}: by name");
        assert!(categories.get("bob", "bags").await.unwrap().is_none(), "{name}: not Bob's");
        assert!(!categories.delete("bob", "bags").await.unwrap(), "{name}: Bob cannot delete Alice's");
        assert!(categories.delete("alice", "bags").await.unwrap());
        assert!(categories.get("alice", "bags").await.unwrap().is_none());
        assert_eq!(categories.list("bob").await.unwrap().len(), 1);
    }
}
