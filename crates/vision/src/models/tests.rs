//! The catalogue agrees with the repository's `models/SHA256SUMS`, and hashing is right.

use super::*;

#[test]
fn every_catalogue_model_is_listed_in_sha256sums_with_the_same_hash() {
    let sums = std::fs::read_to_string(ModelDir::default().as_path().join("SHA256SUMS")).unwrap();
    for model in Model::ALL {
        let spec = model.spec();
        let line = format!("{}  {}", spec.sha256, spec.file);
        assert!(sums.lines().any(|l| l == line), "SHA256SUMS lacks `{line}`");
    }
}

#[test]
fn catalogue_names_and_files_are_unique_and_all_lists_every_variant_in_order() {
    for (i, model) in Model::ALL.iter().enumerate() {
        assert_eq!(model.index(), i);
        for other in &Model::ALL[i + 1..] {
            assert_ne!(model.name(), other.name());
            assert_ne!(model.spec().file, other.spec().file);
        }
    }
}

#[test]
fn sha256_of_known_inputs_matches_the_published_vectors() {
    assert_eq!(sha256_hex(&b""[..]).unwrap(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    // Longer than one read buffer, so chunking is exercised.
    let million_a = vec![b'a'; 1_000_000];
    assert_eq!(sha256_hex(&million_a[..]).unwrap(), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
