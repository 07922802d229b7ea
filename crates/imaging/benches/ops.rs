//! Criterion benches of the imaging core at fixed sizes: decode (full and shrink-on-load),
//! resampling, the pixel ops, encoders, and a whole thumbnail pipeline.
//! `cargo bench -p atelier-imaging`; see docs/benchmarks.md for the comparison scripts.

use std::hint::black_box;

use atelier_imaging::{EncodeOptions, Format, Limits, NoAssets, NoModels, Pipeline, RunEnv};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use image::DynamicImage;

/// A real photo (test-data/photos/rocket.jpg) scaled to `width`, as an image and as JPEG q90.
fn fixture(width: u32) -> (DynamicImage, Vec<u8>) {
    let bytes = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../test-data/photos/rocket.jpg")).unwrap();
    let resize = Pipeline::parse_inline(&[
        format!("resize:width={width},upscale=true"),
        "convert:format=jpeg,quality=90".into(),
    ])
    .unwrap();
    let jpeg = resize
        .run(&bytes, RunEnv { limits: &Limits::default(), assets: &NoAssets, models: &NoModels })
        .unwrap()
        .outputs
        .remove(0)
        .bytes;
    let image = atelier_imaging::decode(&jpeg, &Limits::default(), None).unwrap().image;
    (image, jpeg)
}

fn run(pipeline: &Pipeline, bytes: &[u8]) -> usize {
    pipeline.run(bytes, RunEnv { limits: &Limits::default(), assets: &NoAssets, models: &NoModels }).unwrap().outputs[0]
        .bytes
        .len()
}

fn decode(c: &mut Criterion) {
    let (_, jpeg) = fixture(3000); // 3000x2002, 6 MP
    let mut group = c.benchmark_group("decode_jpeg_6mp");
    group.throughput(Throughput::Elements(1));
    group.bench_function("full", |b| {
        b.iter(|| atelier_imaging::decode(black_box(&jpeg), &Limits::default(), None).unwrap())
    });
    for target in [1500u32, 750, 375] {
        let hint = atelier_imaging::SizeHint { width: target, height: 0 };
        group.bench_with_input(BenchmarkId::new("shrink_to", target), &hint, |b, hint| {
            b.iter(|| atelier_imaging::decode(black_box(&jpeg), &Limits::default(), Some(*hint)).unwrap())
        });
    }
    group.finish();
}

fn pixel_ops(c: &mut Criterion) {
    let (image, _) = fixture(1024);
    let png =
        atelier_imaging::encode(&image, Format::Png, &EncodeOptions { compression: 1, ..Default::default() }, None)
            .unwrap();
    let mut group = c.benchmark_group("ops_1024px_png_in");
    let steps = [
        "resize:width=256",
        "resize:width=512,height=512,fit=cover",
        "blur:sigma=2",
        "blur:sigma=20",
        "sharpen",
        "rotate:angle=30",
        "adjust:contrast=1.2,saturation=1.3,gamma=1.1",
        "grayscale",
        "augment:variants=1,noise=5",
    ];
    for step in steps {
        let pipeline = Pipeline::parse_inline(&[step, "convert:format=png,compression=0"]).unwrap();
        group.bench_function(step, |b| b.iter(|| run(&pipeline, black_box(&png))));
    }
    group.finish();
}

fn encoders(c: &mut Criterion) {
    let (image, _) = fixture(1024);
    let mut group = c.benchmark_group("encode_1024px");
    let cases = [
        ("jpeg_q80", Format::Jpeg, EncodeOptions::default()),
        ("jpeg_q80_progressive", Format::Jpeg, EncodeOptions { progressive: true, ..Default::default() }),
        ("png_level6", Format::Png, EncodeOptions::default()),
        ("webp_q80", Format::Webp, EncodeOptions::default()),
        ("webp_lossless", Format::Webp, EncodeOptions { lossless: true, ..Default::default() }),
    ];
    for (name, format, options) in cases {
        group.bench_function(name, |b| {
            b.iter(|| atelier_imaging::encode(black_box(&image), format, &options, None).unwrap())
        });
    }
    group.finish();
}

fn thumbnail_pipeline(c: &mut Criterion) {
    let (_, jpeg) = fixture(4000); // 4000x2669, 10.7 MP
    let pipeline = Pipeline::parse_inline(&["thumbnail:width=256", "convert:format=jpeg,quality=80"]).unwrap();
    let mut group = c.benchmark_group("pipeline");
    group.throughput(Throughput::Elements(1));
    group.bench_function("thumbnail_256_from_10mp_jpeg", |b| b.iter(|| run(&pipeline, black_box(&jpeg))));
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = decode, pixel_ops, encoders, thumbnail_pipeline
}
criterion_main!(benches);
