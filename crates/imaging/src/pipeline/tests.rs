//! Parsing pipeline documents: every error names its step and field; costs; round trips; step timings.

use super::{Pipeline, PipelineError};
use crate::ops::{Op, OpName};

fn error_of(json: &str) -> String {
    Pipeline::parse_json(json).map(|p| format!("parsed: {p:?}")).unwrap_or_else(|err| err.to_string())
}

#[test]
fn errors_name_the_step_and_the_field() {
    let cases = [
        (r#"{"version":1,"steps":[{"op":"resize","width":0}]}"#, "steps[0].width: must be 1..=65535, got 0"),
        (
            r#"{"version":1,"steps":[{"op":"flip"},{"op":"grayscale"},{"op":"resize","width":0}]}"#,
            "steps[2].width: must be 1..=65535, got 0",
        ),
        (r#"{"version":1,"steps":[{"op":"resize"}]}"#, "steps[0].width: give a width, a height, or both"),
        (r#"{"version":1,"steps":[{"op":"resize","width":"big"}]}"#, "steps[0].width: invalid type: string \"big\", expected u32"),
        (r#"{"version":1,"steps":[{"op":"blur","sigma":-1}]}"#, "steps[0].sigma: must be 0.3..=200, got -1"),
        (r#"{"version":1,"steps":[{"op":"convert","quality":0}]}"#, "steps[0].quality: must be 1..=100, got 0"),
        (r#"{"version":1,"steps":[{"op":"convert","format":"gif"}]}"#, "steps[0].format: gif: cannot be written; use jpeg, png, webp or avif"),
        (r#"{"version":1,"steps":[{"op":"augment","crop_scale":[0.9,0.5]}]}"#, "steps[0].crop_scale[1]: must be 0.9..=1, got 0.5"),
        (r#"{"version":1,"steps":[{"op":"rotate","background":"teal"}]}"#, "steps[0].background: `teal` is not a colour: use #rgb, #rrggbb, #rrggbbaa, transparent, white or black"),
        (r#"{"version":1,"steps":[{"op":"crop","x":5,"width":10,"height":10}]}"#, "steps[0].y: give both x and y, or neither (to use gravity)"),
        (r#"{"version":1,"steps":[{"op":"thumbnail","width":10,"crop":true}]}"#, "steps[0].crop: cropping needs a box: give a height too"),
        (r#"{"version":1,"steps":[{"op":"watermark"}]}"#, "steps[0].image: name the overlay image"),
        (r#"{"version":1,"steps":[{"op":"resize","width":10,"colour":"red"}]}"#, "steps[0].colour: unknown field `colour`, expected one of `width`, `height`, `fit`, `filter`, `upscale`, `gravity`, `background`"),
        (r#"{"version":1,"steps":[{"op":"resize","width":10,"fit":"squash"}]}"#, "steps[0].fit: unknown variant `squash`, expected one of `inside`, `contain`, `cover`, `fill`"),
        (r#"{"version":1,"steps":[{"op":"enhance"}]}"#, "steps[0].op: unknown op `enhance`; known ops: resize, thumbnail, crop, rotate, flip, blur, sharpen, grayscale, adjust, watermark, augment, convert, detect_faces, blur_faces, pixelate_faces, recognize_digit, stylize, analyze_faces, smart_crop, draw_annotations, classify, moderate"),
        (r#"{"version":1,"steps":[{"width":10}]}"#, "steps[0].op: missing: every step names its op"),
        (r#"{"version":1,"steps":[{"op":7}]}"#, "steps[0].op: must be a string"),
        (r#"{"version":1,"steps":["resize"]}"#, "steps[0]: a step must be an object with an `op` key"),
        (r#"{"version":1,"steps":[]}"#, "steps: a pipeline needs at least one step"),
        (r#"{"version":2,"steps":[{"op":"flip"}]}"#, "version: must be 1, got 2"),
        (r#"{"steps":[{"op":"flip"}]}"#, "missing field `version`"),
        (r#"{"version":1,"steps":[{"op":"flip"}],"extra":1}"#, "extra: unknown field `extra`, expected one of `version`, `name`, `description`, `steps`"),
        (r#"[1,2]"#, "a pipeline is an object with `version` and `steps`"),
        ("7", "a pipeline is an object with `version` and `steps`"),
        (r#"{"version":1,"steps":[{"op":"flip"}"#, "not valid JSON: EOF while parsing a list at line 1 column 35"),
        ("", "not valid JSON: EOF while parsing a value at line 1 column 0"),
    ];
    for (json, expected) in cases {
        assert_eq!(error_of(json), expected, "{json}");
    }
}

#[test]
fn too_many_steps_are_refused_before_any_is_parsed() {
    let steps = vec![r#"{"op":"flip"}"#; 65].join(",");
    assert_eq!(error_of(&format!(r#"{{"version":1,"steps":[{steps}]}}"#)), "steps: at most 64 steps, got 65");
}

#[test]
fn yaml_json_and_inline_forms_parse_to_the_same_pipeline() {
    let yaml = "version: 1\nname: thumbs\nsteps:\n  - op: thumbnail\n    width: 256\n  - op: convert\n    format: webp\n    quality: 70\n";
    let json = r#"{"version":1,"name":"thumbs","steps":[{"op":"thumbnail","width":256},{"op":"convert","format":"webp","quality":70}]}"#;
    let mut inline = Pipeline::parse_inline(&["thumbnail:width=256", "convert:format=webp,quality=70"]).unwrap();
    inline.name = Some("thumbs".into());
    let from_yaml = Pipeline::parse_yaml(yaml).unwrap();
    assert_eq!(from_yaml, Pipeline::parse_json(json).unwrap());
    assert_eq!(from_yaml, inline);
}

#[test]
fn a_serialized_pipeline_parses_back_to_itself() {
    let pipeline = Pipeline::parse_inline(&[
        "resize:width=300,height=200,fit=cover,gravity=north",
        "augment:variants=3,seed=9,crop_scale=[0.5,0.9]",
        "watermark:image=logo.png",
        "convert:format=jpeg,subsampling=4:4:4,progressive=true",
    ])
    .unwrap();
    let text = serde_json::to_string(&pipeline).unwrap();
    assert_eq!(Pipeline::parse_json(&text).unwrap(), pipeline);
}

#[test]
fn inline_steps_report_their_position_and_malformed_pairs() {
    let err: PipelineError = Pipeline::parse_inline(&["flip", "resize:width"]).unwrap_err();
    assert_eq!(err.to_string(), "steps[1]: `width` is not key=value");
    let err = Pipeline::parse_inline(&["flip", "blur:sigma=abc"]).unwrap_err();
    assert_eq!(err.to_string(), "steps[1].sigma: invalid type: string \"abc\", expected f32");
}

#[test]
fn cost_counts_each_step_once_per_image_it_runs_on() {
    let cases: &[(&[&str], u32)] = &[
        (&["resize:width=10"], 1),
        (&["resize:width=10", "blur", "convert:format=png"], 3),
        (&["augment:variants=4", "resize:width=10"], 4 + 4),
        (&["augment:variants=2,keep_original=true", "sharpen"], 2 + 3 * 2),
        (&["detect_faces", "blur_faces", "recognize_digit"], 3 + 4 + 2),
    ];
    for (steps, cost) in cases {
        assert_eq!(Pipeline::parse_inline(steps).unwrap().cost(), *cost, "{steps:?}");
    }
}

#[test]
fn the_last_convert_decides_the_output_format() {
    let pipeline = Pipeline::parse_inline(&["convert:format=png", "flip", "convert:format=webp"]).unwrap();
    assert_eq!(pipeline.output_format(crate::Format::Jpeg), crate::Format::Webp);
    let plain = Pipeline::parse_inline(&["flip"]).unwrap();
    assert_eq!(plain.output_format(crate::Format::Gif), crate::Format::Png);
    assert_eq!(plain.output_format(crate::Format::Jpeg), crate::Format::Jpeg);
    assert!(matches!(plain.steps[0], Op::Flip(_)));
}

#[test]
fn augment_fan_out_is_refused_before_any_variant_is_made() {
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../test-data/photos/chelsea.bmp")).unwrap();
    let env = super::RunEnv { limits: &crate::Limits::default(), assets: &crate::NoAssets, models: &crate::NoModels };
    let pipeline = Pipeline::parse_inline(&["augment:variants=64", "augment:variants=5"]).unwrap();
    let err = pipeline.run(&bytes, env).unwrap_err();
    assert_eq!(err.code(), crate::Code::TooManyOutputs);
    assert_eq!(err.to_string(), "the pipeline would make 320 images from one input, over the limit of 256");
    let fits = Pipeline::parse_inline(&["augment:variants=16", "augment:variants=16"]).unwrap();
    assert_eq!(fits.run(&bytes, env).unwrap().outputs.len(), 256);
}

#[test]
fn a_run_reports_each_step_and_its_time_in_pipeline_order() {
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../test-data/photos/chelsea.bmp")).unwrap();
    let env = super::RunEnv { limits: &crate::Limits::default(), assets: &crate::NoAssets, models: &crate::NoModels };
    let pipeline = Pipeline::parse_inline(&["resize:width=40", "blur", "convert:format=png"]).unwrap();
    let run = pipeline.run(&bytes, env).unwrap();
    let ops: Vec<OpName> = run.steps.iter().map(|step| step.op).collect();
    assert_eq!(ops, [OpName::Resize, OpName::Blur, OpName::Convert]);
    let total: std::time::Duration = run.steps.iter().map(|step| step.elapsed).sum();
    assert!(total > std::time::Duration::ZERO && total < std::time::Duration::from_secs(30), "{total:?}");
}
