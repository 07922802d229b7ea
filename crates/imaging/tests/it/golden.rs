//! Golden tests: every op on real photos, compared pixel by pixel (within a small
//! tolerance, since SIMD paths differ by CPU) to PNGs in test-data/golden/. Run with
//! `UPDATE_GOLDEN=1` to rewrite them after a deliberate change, and look at the diff.

use std::path::PathBuf;
use std::sync::Arc;

use atelier_imaging::{Assets, Limits, NoModels, Pipeline, RunEnv};
use image::{ColorType, DynamicImage};

use crate::support::{photo, test_data_dir};

/// Largest per-channel difference tolerated, and largest mean difference.
const MAX_DIFF: u8 = 3;
const MAX_MEAN_DIFF: f64 = 0.25;

/// One golden case: name, input photo, inline steps, expected size and layout.
type Case<'a> = (&'a str, &'a str, &'a [&'a str], (u32, u32), ColorType);

struct TestAssets;

impl Assets for TestAssets {
    fn image(&self, reference: &str) -> Result<Arc<DynamicImage>, String> {
        let bytes = std::fs::read(test_data_dir().join("photos").join(reference)).map_err(|e| e.to_string())?;
        Ok(Arc::new(atelier_imaging::decode(&bytes, &Limits::default(), None).map_err(|e| e.to_string())?.image))
    }
}

fn golden_path(name: &str) -> PathBuf {
    test_data_dir().join("golden").join(format!("{name}.png"))
}

/// Runs `steps` (inline syntax) on `input`, then checks size, layout and pixels.
fn check(name: &str, input: &str, steps: &[&str], size: (u32, u32), color: ColorType) {
    let mut steps: Vec<&str> = steps.to_vec();
    steps.push("convert:format=png,compression=1");
    let pipeline = Pipeline::parse_inline(&steps).unwrap_or_else(|err| panic!("{name}: {err}"));
    let bytes = photo(input);
    let env = RunEnv { limits: &Limits::default(), assets: &TestAssets, models: &NoModels };
    let run = pipeline.run(&bytes, env).unwrap_or_else(|err| panic!("{name}: {err}"));
    assert_eq!(run.outputs.len(), 1, "{name}");
    let got = image::load_from_memory(&run.outputs[0].bytes).unwrap();
    assert_eq!((got.width(), got.height(), got.color()), (size.0, size.1, color), "{name}: size and layout");

    let path = golden_path(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &run.outputs[0].bytes).unwrap();
        return;
    }
    let expected = image::open(&path)
        .unwrap_or_else(|err| panic!("{name}: no golden file {} ({err}); run with UPDATE_GOLDEN=1", path.display()));
    assert_eq!((expected.width(), expected.height(), expected.color()), (got.width(), got.height(), got.color()));
    let (max, mean) = difference(expected.as_bytes(), got.as_bytes());
    assert!(max <= MAX_DIFF && mean <= MAX_MEAN_DIFF, "{name}: differs from golden: max {max}, mean {mean:.3}");
}

fn difference(a: &[u8], b: &[u8]) -> (u8, f64) {
    let max = a.iter().zip(b).map(|(x, y)| x.abs_diff(*y)).max().unwrap_or(0);
    let sum: u64 = a.iter().zip(b).map(|(x, y)| u64::from(x.abs_diff(*y))).sum();
    (max, sum as f64 / a.len().max(1) as f64)
}

#[test]
fn resize_goldens_cover_every_fit_and_filter() {
    use ColorType::*;
    let cases: &[Case] = &[
        ("resize-width", "chelsea.png", &["resize:width=120"], (120, 80), Rgb8),
        ("resize-height", "chelsea.png", &["resize:height=50"], (75, 50), Rgb8),
        ("resize-inside", "rocket.jpg", &["resize:width=100,height=100"], (100, 67), Rgb8),
        (
            "resize-contain",
            "rocket.jpg",
            &["resize:width=100,height=100,fit=contain,background=#ff0000"],
            (100, 100),
            Rgb8,
        ),
        (
            "resize-contain-transparent",
            "rocket.jpg",
            &["resize:width=80,height=100,fit=contain,background=transparent"],
            (80, 100),
            Rgba8,
        ),
        ("resize-cover", "rocket.jpg", &["resize:width=100,height=100,fit=cover"], (100, 100), Rgb8),
        ("resize-cover-north", "chelsea.png", &["resize:width=60,height=100,fit=cover,gravity=west"], (60, 100), Rgb8),
        ("resize-fill", "chelsea.png", &["resize:width=100,height=100,fit=fill"], (100, 100), Rgb8),
        ("resize-no-upscale", "chelsea.bmp", &["resize:width=500"], (120, 80), Rgb8),
        ("resize-upscale", "chelsea.bmp", &["resize:width=240,upscale=true,filter=catmull_rom"], (240, 160), Rgb8),
        ("resize-nearest", "logo.png", &["resize:width=50,filter=nearest"], (50, 50), Rgba8),
        ("resize-alpha", "logo.png", &["resize:width=64"], (64, 64), Rgba8),
        ("resize-gray", "coffee-gray.png", &["resize:width=100,filter=mitchell"], (100, 67), L8),
    ];
    for (name, input, steps, size, color) in cases {
        check(name, input, steps, *size, *color);
    }
}

#[test]
fn goldens_for_every_other_op() {
    use ColorType::*;
    let cases: &[Case] = &[
        ("thumbnail", "rocket.jpg", &["thumbnail:width=128"], (128, 85), Rgb8),
        ("thumbnail-crop", "rocket.jpg", &["thumbnail:width=64,height=64,crop=true"], (64, 64), Rgb8),
        ("thumbnail-rotated-exif", "rotated-6.jpg", &["thumbnail:width=60"], (60, 80), Rgb8),
        ("crop-rectangle", "chelsea.png", &["crop:x=100,y=50,width=80,height=60"], (80, 60), Rgb8),
        ("crop-gravity", "chelsea.png", &["crop:width=100,height=100,gravity=south_east"], (100, 100), Rgb8),
        ("rotate-90", "chelsea.bmp", &["rotate:angle=90"], (80, 120), Rgb8),
        ("rotate-270", "chelsea.bmp", &["rotate:angle=-90"], (80, 120), Rgb8),
        ("rotate-30", "chelsea.bmp", &["rotate:angle=30,background=#00ff00"], (144, 130), Rgb8),
        ("rotate-30-transparent", "chelsea.bmp", &["rotate:angle=30,background=transparent"], (144, 130), Rgba8),
        ("rotate-10-noexpand", "chelsea.bmp", &["rotate:angle=10,expand=false"], (120, 80), Rgb8),
        ("flip-horizontal", "chelsea.bmp", &["flip"], (120, 80), Rgb8),
        ("flip-vertical", "chelsea.bmp", &["flip:direction=vertical"], (120, 80), Rgb8),
        ("blur-2", "chelsea.bmp", &["blur:sigma=2"], (120, 80), Rgb8),
        ("blur-20", "chelsea.bmp", &["blur:sigma=20"], (120, 80), Rgb8),
        ("blur-alpha", "logo.png", &["resize:width=100", "blur:sigma=3"], (100, 100), Rgba8),
        ("sharpen", "chelsea.bmp", &["sharpen:sigma=1.5,amount=1.5"], (120, 80), Rgb8),
        ("sharpen-threshold", "chelsea.bmp", &["sharpen:amount=2,threshold=10"], (120, 80), Rgb8),
        ("grayscale", "chelsea.bmp", &["grayscale"], (120, 80), L8),
        ("grayscale-alpha", "logo.png", &["resize:width=50", "grayscale"], (50, 50), La8),
        ("adjust", "chelsea.bmp", &["adjust:brightness=0.1,contrast=1.3,saturation=0.5,gamma=1.2"], (120, 80), Rgb8),
        ("adjust-gray", "coffee-gray.png", &["adjust:contrast=2"], (200, 133), L8),
        ("watermark", "chelsea.png", &["watermark:image=logo.png,opacity=0.7,scale=0.3,margin=10"], (300, 200), Rgb8),
        (
            "watermark-natural",
            "chelsea.png",
            &["watermark:image=logo.png,scale=null,gravity=centre,opacity=1"],
            (300, 200),
            Rgb8,
        ),
        (
            "augment",
            "chelsea.bmp",
            &["augment:variants=1,seed=42,max_rotation=15,noise=8,flip_vertical=1"],
            (120, 80),
            Rgb8,
        ),
        ("convert-16bit-to-8bit", "coffee-16bit.png", &[], (160, 107), Rgb8),
        ("gif-first-frame", "chelsea.gif", &[], (150, 100), Rgba8),
        ("tiff", "chelsea.tif", &[], (120, 80), Rgb8),
        ("webp-lossy", "chelsea.webp", &[], (200, 133), Rgb8),
    ];
    for (name, input, steps, size, color) in cases {
        check(name, input, steps, *size, *color);
    }
}
