//! The dataset job document: what is accepted, what is refused and with which field named.

use serde_json::json;

use super::*;
use crate::item::ItemMetadata;

fn plan(value: serde_json::Value) -> Result<Plan> {
    Plan::new(serde_json::from_value(value).map_err(|err| invalid("", err.to_string()))?)
}

fn refusal(value: serde_json::Value) -> (String, String) {
    match plan(value) {
        Err(Error::InvalidJob { field, message }) => (field, message),
        Err(other) => (other.code().as_str().to_string(), other.to_string()),
        Ok(_) => panic!("accepted"),
    }
}

#[test]
fn a_full_job_is_accepted_with_its_defaults_filled_in() {
    let plan = plan(json!({
        "filter": "masterCategory = Apparel and year >= 2012",
        "pipeline": [{"op": "resize", "width": 512}],
        "augment": {"variants": 2, "seed": 7},
        "inference": [{"op": "classify", "top_k": 3}],
    }))
    .unwrap();
    assert_eq!(plan.variants(), 2);
    assert_eq!(plan.infer_on, InferOn::Both);
    assert_eq!(plan.batch_size, DEFAULT_BATCH_SIZE as usize);
    assert_eq!(plan.capabilities(), [Capability::Classify]);
    // resize 1 + augment 1 + classify 3 on the original and on each of 2 variants
    let prepare = plan.pipeline.as_ref().unwrap().cost();
    let augment = plan.augment.as_ref().unwrap().cost();
    let classify = plan.inference.as_ref().unwrap().cost();
    assert_eq!(plan.cost_per_item(), prepare + augment + 3 * classify);
}

#[test]
fn the_filter_selects_on_metadata_and_an_item_without_the_field_is_left_out() {
    let plan = plan(json!({"filter": "year >= 2012", "augment": {}})).unwrap();
    let item = |year: &str| ItemMetadata(vec![("year".into(), year.into())]);
    assert!(plan.selects(&item("2015")));
    assert!(!plan.selects(&item("2010")));
    assert!(!plan.selects(&ItemMetadata::default()));
    let everything = super::Plan::new(JobSpec { augment: Some(json!({})), ..JobSpec::default() }).unwrap();
    assert!(everything.selects(&ItemMetadata::default()));
}

#[test]
fn each_bad_part_is_refused_naming_its_field() {
    let cases = [
        (json!({}), ""),
        (json!({"version": 2, "augment": {}}), "version"),
        (json!({"augment": {"variants": 0}}), "augment.variants"),
        (json!({"augment": {"keep_original": true}}), "augment.keep_original"),
        (json!({"augment": {"bogus": 1}}), "augment.bogus"),
        (json!({"pipeline": [{"op": "augment"}]}), "pipeline.steps[0]"),
        (json!({"pipeline": [{"op": "resize", "width": 0}]}), "pipeline.steps[0].width"),
        (json!({"inference": [{"op": "resize", "width": 10}]}), "inference[0]"),
        (json!({"inference": [{"op": "classify", "top_k": 99}]}), "inference[0].top_k"),
        (json!({"inference": [{"op": "nope"}]}), "inference[0].op"),
        (json!({"inference": [{"op": "classify"}], "infer_on": "variants"}), "infer_on"),
        (json!({"augment": {}, "batch_size": 0}), "batch_size"),
        (json!({"augment": {}, "batch_size": 65}), "batch_size"),
        (json!({"augment": {}, "output": {"quality": 0}}), "output.quality"),
        (json!({"augment": {}, "output": {"format": "bmp9"}}), "output.format"),
        (json!({"augment": {}, "filter": "year >="}), "filter_invalid"),
    ];
    for (value, field) in cases {
        let (got, message) = refusal(value.clone());
        assert_eq!(got, field, "{value}: {message}");
        assert!(!message.is_empty());
    }
}

#[test]
fn unknown_fields_and_wrong_types_are_refused() {
    assert!(Plan::parse_json(r#"{"augment": {}, "extra": 1}"#).is_err());
    assert!(Plan::parse_json(r#"{"augment": {}, "batch_size": "16"}"#).is_err());
    assert!(Plan::parse_json("not json").is_err());
    assert!(Plan::parse_json(r#"{"augment": {}, "infer_on": "everything"}"#).is_err());
}
