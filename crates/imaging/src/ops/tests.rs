//! Behaviour of each op on small synthetic images, where the right answer is known exactly.
//! The vision ops, which need a (fake) model, are in `vision`.

mod vision;
mod vision_ops;

use std::sync::Arc;

use image::{DynamicImage, GrayImage, Luma, Rgb, RgbImage, Rgba, RgbaImage};

use super::{catalogue, Ctx, Op, OpName};
use crate::annotations::Annotations;
use crate::error::Code;
use crate::limits::{Deadline, Limits};
use crate::pipeline::Assets;

struct OneAsset(Arc<DynamicImage>);

impl Assets for OneAsset {
    fn image(&self, reference: &str) -> Result<Arc<DynamicImage>, String> {
        if reference == "mark" {
            Ok(Arc::clone(&self.0))
        } else {
            Err(format!("no asset `{reference}`"))
        }
    }
}

fn op(text: &str) -> Op {
    let pipeline = crate::Pipeline::parse_inline(&[text]).unwrap_or_else(|err| panic!("{text}: {err}"));
    pipeline.steps.into_iter().next().unwrap()
}

fn run(text: &str, image: DynamicImage) -> crate::Result<DynamicImage> {
    let mark = DynamicImage::ImageRgba8(RgbaImage::from_pixel(4, 4, Rgba([255, 0, 0, 255])));
    let assets = OneAsset(Arc::new(mark));
    let limits = Limits::default();
    let ctx = Ctx {
        limits: &limits,
        deadline: Deadline::never(),
        assets: &assets,
        models: &crate::NoModels,
        step: 3,
        logical_size: None,
    };
    op(text).apply(image, &mut Annotations::default(), &ctx)
}

/// A 4x2 RGB image whose pixels are all different: [0,1,2,3 / 4,5,6,7] * 30 in red.
fn numbered() -> DynamicImage {
    DynamicImage::ImageRgb8(RgbImage::from_fn(4, 2, |x, y| Rgb([((y * 4 + x) * 30) as u8, 0, 0])))
}

fn reds(image: &DynamicImage) -> Vec<u8> {
    image.to_rgb8().pixels().map(|p| p.0[0]).collect()
}

#[test]
fn right_angle_rotations_and_flips_move_pixels_exactly() {
    let cases = [
        ("rotate:angle=90", (2, 4), vec![120, 0, 150, 30, 180, 60, 210, 90]),
        ("rotate:angle=-270", (2, 4), vec![120, 0, 150, 30, 180, 60, 210, 90]),
        ("rotate:angle=180", (4, 2), vec![210, 180, 150, 120, 90, 60, 30, 0]),
        ("rotate:angle=270", (2, 4), vec![90, 210, 60, 180, 30, 150, 0, 120]),
        ("rotate:angle=360", (4, 2), vec![0, 30, 60, 90, 120, 150, 180, 210]),
        ("flip", (4, 2), vec![90, 60, 30, 0, 210, 180, 150, 120]),
        ("flip:direction=vertical", (4, 2), vec![120, 150, 180, 210, 0, 30, 60, 90]),
        ("flip:direction=both", (4, 2), vec![210, 180, 150, 120, 90, 60, 30, 0]),
        ("crop:x=1,y=1,width=2,height=1", (2, 1), vec![150, 180]),
        ("crop:width=2,height=2,gravity=east", (2, 2), vec![60, 90, 180, 210]),
        ("crop:width=9,height=9", (4, 2), vec![0, 30, 60, 90, 120, 150, 180, 210]),
    ];
    for (text, size, expected) in cases {
        let out = run(text, numbered()).unwrap();
        assert_eq!(((out.width(), out.height()), reds(&out)), (size, expected), "{text}");
    }
}

#[test]
fn a_crop_rectangle_outside_the_image_is_refused_with_the_step_named() {
    let err = run("crop:x=3,y=0,width=2,height=1", numbered()).unwrap_err();
    assert_eq!(err.code(), Code::OpNotApplicable);
    assert_eq!(err.to_string(), "step 3 (crop): the rectangle 2x1 at (3, 0) does not fit in the 4x2 image");
}

#[test]
fn arbitrary_rotations_grow_the_canvas_and_fill_corners_with_the_background() {
    let white = DynamicImage::ImageRgb8(RgbImage::from_pixel(100, 50, Rgb([255, 255, 255])));
    let out = run("rotate:angle=45,background=#0000ff", white).unwrap();
    assert_eq!((out.width(), out.height()), (107, 107));
    let rgb = out.to_rgb8();
    assert_eq!(rgb.get_pixel(0, 0).0, [0, 0, 255], "corner is background");
    assert_eq!(rgb.get_pixel(53, 53).0, [255, 255, 255], "centre is image");
    let transparent = run("rotate:angle=45,background=transparent", numbered()).unwrap();
    assert!(transparent.color().has_alpha());
}

#[test]
fn blur_keeps_the_mean_and_removes_detail_with_both_kernels() {
    // A checkerboard: blur must flatten it towards its mean, 127.5.
    let checker =
        DynamicImage::ImageLuma8(GrayImage::from_fn(64, 64, |x, y| Luma([if (x + y) % 2 == 0 { 255 } else { 0 }])));
    for text in ["blur:sigma=1", "blur:sigma=30"] {
        let out = run(text, checker.clone()).unwrap();
        // The interior only: edges are extended by clamping, which breaks the pattern there.
        let pixels: Vec<u8> = out
            .to_luma8()
            .enumerate_pixels()
            .filter(|(x, y, _)| (8..56).contains(x) && (8..56).contains(y))
            .map(|(_, _, p)| p.0[0])
            .collect();
        let mean = pixels.iter().map(|&v| f64::from(v)).sum::<f64>() / pixels.len() as f64;
        let spread = pixels.iter().map(|&v| (f64::from(v) - mean).abs()).fold(0.0, f64::max);
        assert!((mean - 127.5).abs() < 1.5, "{text}: mean {mean}");
        assert!(spread < 10.0, "{text}: spread {spread}");
    }
}

#[test]
fn blur_does_not_darken_the_edges_of_transparent_shapes() {
    // A white square on fully transparent black: premultiplied filtering keeps it white.
    let shape = RgbaImage::from_fn(32, 32, |x, y| {
        if (8..24).contains(&x) && (8..24).contains(&y) {
            Rgba([255, 255, 255, 255])
        } else {
            Rgba([0, 0, 0, 0])
        }
    });
    let out = run("blur:sigma=2", DynamicImage::ImageRgba8(shape)).unwrap().to_rgba8();
    let edge = out.get_pixel(7, 16).0;
    assert!(edge[3] > 0 && edge[3] < 255, "edge is partly transparent: {edge:?}");
    assert!(edge[0] >= 250, "edge colour stays white: {edge:?}");
}

#[test]
fn sharpen_raises_contrast_at_an_edge_and_leaves_flat_areas_alone() {
    let step = DynamicImage::ImageLuma8(GrayImage::from_fn(16, 4, |x, _| Luma([if x < 8 { 100 } else { 150 }])));
    let out = run("sharpen:sigma=1,amount=1", step).unwrap();
    let row: Vec<u8> = (0..16).map(|x| out.as_bytes()[x]).collect();
    assert!(row[7] < 100 && row[8] > 150, "overshoot on both sides: {row:?}");
    assert_eq!((row[0], row[15]), (100, 150));
}

#[test]
fn adjust_with_neutral_values_changes_nothing_and_each_control_moves_the_right_way() {
    let image = DynamicImage::ImageRgb8(RgbImage::from_pixel(2, 2, Rgb([100, 150, 200])));
    let cases: &[(&str, [u8; 3])] = &[
        ("adjust", [100, 150, 200]),
        ("adjust:brightness=0.1", [126, 176, 226]),
        ("adjust:contrast=0", [128, 128, 128]),
        ("adjust:saturation=0", [143, 143, 143]),
        ("adjust:gamma=2", [160, 196, 226]),
    ];
    for (text, expected) in cases {
        let out = run(text, image.clone()).unwrap().to_rgb8();
        assert_eq!(out.get_pixel(0, 0).0, *expected, "{text}");
    }
}

#[test]
fn grayscale_gives_one_channel_and_keeps_alpha() {
    let out = run("grayscale", numbered()).unwrap();
    assert_eq!(out.color(), image::ColorType::L8);
    let with_alpha = DynamicImage::ImageRgba8(RgbaImage::from_pixel(2, 2, Rgba([255, 0, 0, 77])));
    let out = run("grayscale", with_alpha).unwrap();
    assert_eq!(out.as_luma_alpha8().unwrap().get_pixel(0, 0).0, [54, 77]);
}

#[test]
fn watermark_lands_at_its_gravity_with_its_opacity() {
    let base = DynamicImage::ImageRgb8(RgbImage::from_pixel(20, 10, Rgb([0, 0, 255])));
    let out = run("watermark:image=mark,scale=null,gravity=north_west,margin=1,opacity=0.5", base.clone()).unwrap();
    let rgb = out.to_rgb8();
    assert_eq!(rgb.get_pixel(0, 0).0, [0, 0, 255], "margin left alone");
    assert_eq!(rgb.get_pixel(1, 1).0, [128, 0, 128], "half red over blue");
    assert_eq!(rgb.get_pixel(5, 5).0, [0, 0, 255], "outside the mark");
    let scaled = run("watermark:image=mark,scale=0.5,gravity=south_east,margin=0,opacity=1", base.clone()).unwrap();
    assert_eq!(scaled.to_rgb8().get_pixel(19, 9).0, [255, 0, 0]);
    assert_eq!(scaled.to_rgb8().get_pixel(9, 9).0, [0, 0, 255], "10 px wide mark starts at x=10");
    let err = run("watermark:image=nope", base).unwrap_err();
    assert_eq!(
        (err.code(), err.to_string()),
        (Code::AssetUnavailable, "asset `nope` could not be loaded: no asset `nope`".into())
    );
}

#[test]
fn a_watermark_larger_than_the_image_is_refused() {
    let base = DynamicImage::ImageRgb8(RgbImage::new(3, 3));
    let err = run("watermark:image=mark,scale=null", base).unwrap_err();
    assert_eq!(err.code(), Code::OpNotApplicable);
}

#[test]
fn resize_refuses_outputs_over_the_side_limit_before_allocating() {
    let err = run("resize:width=65535,height=65535,fit=fill,upscale=true", numbered()).unwrap_err();
    assert_eq!(err.code(), Code::OutputTooLarge);
}

#[test]
fn augment_is_reproducible_from_the_seed_and_records_its_draws() {
    let image = DynamicImage::ImageRgb8(RgbImage::from_fn(40, 30, |x, y| Rgb([(x * 6) as u8, (y * 8) as u8, 90])));
    let Op::Augment(augment) = op("augment:variants=5,seed=7,noise=4,flip_vertical=0.5") else { unreachable!() };
    let limits = Limits::default();
    let ctx = Ctx {
        limits: &limits,
        deadline: Deadline::never(),
        assets: &crate::NoAssets,
        models: &crate::NoModels,
        step: 0,
        logical_size: None,
    };
    let first = augment.variants(&image, &ctx).unwrap();
    let second = augment.variants(&image, &ctx).unwrap();
    assert_eq!(first.len(), 5);
    for ((a, va), (b, vb)) in first.iter().zip(&second) {
        assert_eq!(va, vb);
        assert_eq!(a.as_bytes(), b.as_bytes(), "variant {} differs between runs", va.index);
        assert_eq!((a.width(), a.height()), (40, 30));
        assert!(va.rotation.abs() <= 10.0 && (0.8..=1.2).contains(&va.brightness));
        let area = f64::from(va.crop[2] * va.crop[3]) / 1200.0;
        assert!((0.75..=1.0).contains(&area), "crop area {area}");
    }
    let seeds: std::collections::HashSet<u64> = first.iter().map(|(_, v)| v.seed).collect();
    assert_eq!(seeds.len(), 5, "every variant has its own seed");
    let Op::Augment(other) = op("augment:variants=5,seed=8,noise=4") else { unreachable!() };
    let different = other.variants(&image, &ctx).unwrap();
    assert_ne!(first[0].0.as_bytes(), different[0].0.as_bytes());
}

#[test]
fn a_passed_deadline_stops_long_ops_with_a_timeout() {
    let big = DynamicImage::ImageRgb8(RgbImage::new(2000, 2000));
    let limits = Limits::default();
    let ctx = Ctx {
        limits: &limits,
        deadline: Deadline::after(std::time::Duration::ZERO),
        assets: &crate::NoAssets,
        models: &crate::NoModels,
        step: 0,
        logical_size: None,
    };
    std::thread::sleep(std::time::Duration::from_millis(2));
    for text in ["blur:sigma=3", "blur:sigma=50", "rotate:angle=33", "sharpen"] {
        let err = op(text).apply(big.clone(), &mut Annotations::default(), &ctx).unwrap_err();
        assert_eq!(err.code(), Code::Timeout, "{text}");
    }
}

#[test]
fn the_catalogue_lists_every_op_with_a_schema_defaults_and_a_cost() {
    let catalogue = catalogue();
    assert_eq!(catalogue.len(), OpName::ALL.len());
    for info in &catalogue {
        assert_eq!(OpName::parse(info.name.as_str()), Some(info.name));
        let takes_none = matches!(info.name, OpName::Grayscale | OpName::RecognizeDigit | OpName::AnalyzeFaces);
        assert!(info.parameters.get("properties").is_some() || takes_none, "{}", info.name);
        assert!(info.defaults.is_object(), "{}", info.name);
        assert!(!info.summary.is_empty());
    }
    let resize = catalogue.iter().find(|i| i.name == OpName::Resize).unwrap();
    let fits: Vec<&serde_json::Value> =
        resize.parameters["properties"]["fit"]["oneOf"].as_array().unwrap().iter().map(|v| &v["enum"][0]).collect();
    assert_eq!(fits, ["inside", "contain", "cover", "fill"]);
    let width = &resize.parameters["properties"]["width"];
    assert_eq!((width["minimum"].as_f64(), width["maximum"].as_f64()), (Some(1.0), Some(65535.0)));
}

#[test]
fn outputs_are_bounded_in_pixels_as_well_as_in_side_length() {
    let err = run("resize:width=16000,height=16000,fit=fill,upscale=true", numbered()).unwrap_err();
    assert_eq!(err.code(), Code::OutputTooLarge);
    assert_eq!(err.to_string(), "the output would be 16000x16000 = 256000000 pixels, over the limit of 50000000");
}

#[test]
fn an_opaque_photo_rotates_as_the_general_path_does_without_its_rgba_round_trip() {
    let photo = RgbImage::from_fn(37, 23, |x, y| Rgb([(x * 7) as u8, (y * 11) as u8, ((x * y) % 251) as u8]));
    for step in ["rotate:angle=17", "rotate:angle=-33,background=#10ff20", "rotate:angle=5,expand=false"] {
        let fast = run(step, DynamicImage::ImageRgb8(photo.clone())).unwrap();
        // An RGBA input takes the general, premultiplied path; opaque, it must agree.
        let general = run(step, DynamicImage::ImageRgba8(DynamicImage::ImageRgb8(photo.clone()).to_rgba8())).unwrap();
        assert!(matches!(fast, DynamicImage::ImageRgb8(_)), "{step}");
        let (fast, general) = (fast.to_rgb8(), general.to_rgb8());
        assert_eq!(fast.dimensions(), general.dimensions(), "{step}");
        let most = fast.as_raw().iter().zip(general.as_raw()).map(|(a, b)| a.abs_diff(*b)).max().unwrap();
        assert!(most <= 1, "{step}: differs by {most}");
    }
}
