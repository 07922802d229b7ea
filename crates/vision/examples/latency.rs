//! Per-model latency of the vision crate's public methods, and of the bare ONNX Runtime
//! session run under each, as JSON lines (`bench/vision-latency.sh` runs it next to
//! `bench/vision-latency.py`, the same work in Python onnxruntime, and prints the table).
//!
//! ```text
//! cargo run -p atelier-vision --release --example latency -- --threads 1 \
//!     [--runs 20] [--warmup 3] [--min-time 1] [--only a,b]
//! ```
//!
//! Inputs, built once before any timing (the Python script builds the same pixels):
//! `test-data/photos/astronaut.jpg` with every pixel doubled to 512x512; as the style
//! picture `test-data/photos/chelsea.png`; for the digits a 300x140 page with three
//! held-out MNIST digits (`models/mnist_heldout_rows.txt`), 3 0 7, each pixel tripled and
//! drawn dark on grainy paper (needs `mnist_5k.csv.gz` from `scripts/setup-onnxruntime.sh`).
//!
//! Each line: `{"impl":"atelier","model":..,"timed":"method"|"session","threads":T,
//! "p50_ms":..,"mean_ms":..,"min_ms":..,"cpu_ms":..,"runs":N,"check":..}`, over at least
//! `--runs` timed calls and at least `--min-time` seconds, after `--warmup` untimed ones.
//! "method" times the public call (pre-processing, run, post-processing) as a user gets
//! it; "session" times `Session::run` alone on inputs prepared beforehand, through a
//! session of our own built the way the crate builds its own (same library, same
//! `intra_threads`): `Vision` keeps its sessions private. `cpu_ms` is the CPU time of all
//! the process's threads per call, from `/proc/self/task/*/schedstat`, which a busy
//! machine disturbs far less than wall time. `check` is a digest of the method's result,
//! to see that both sides computed the same thing.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::Instant;

use atelier_vision::attributes::{age_gender_tensor, crop_square, emotion_tensor, square_around, EMOTION_SIDE};
use atelier_vision::{classify, digits, faces, moderate, runtime, style};
use atelier_vision::{FaceBox, FaceOptions, Model, ModelDir, SessionConfig, Style, StyleOptions, Vision, EMOTIONS};
use image::imageops::FilterType;
use image::{GrayImage, Luma, RgbImage};
use ort::session::{Session, SessionInputValue};
use ort::value::Tensor;
use serde_json::json;

type Failure = Box<dyn std::error::Error>;

struct Args {
    threads: usize,
    runs: usize,
    warmup: usize,
    min_time: f64,
    only: Option<Vec<String>>,
}

const USAGE: &str = "usage: latency --threads T [--runs N] [--warmup W] [--min-time S] [--only a,b]";

fn parse_args() -> Result<Args, Failure> {
    let mut args = Args { threads: 1, runs: 20, warmup: 3, min_time: 1.0, only: None };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--threads" => args.threads = value()?.parse()?,
            "--runs" => args.runs = value()?.parse()?,
            "--warmup" => args.warmup = value()?.parse()?,
            "--min-time" => args.min_time = value()?.parse()?,
            "--only" => args.only = Some(value()?.split(',').map(str::to_string).collect()),
            _ => return Err(format!("unknown argument {flag:?}; {USAGE}").into()),
        }
    }
    if args.threads == 0 || args.runs == 0 {
        return Err("--threads and --runs must be at least 1".into());
    }
    Ok(args)
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every pixel repeated `k` x `k` times: an enlargement both languages compute exactly.
fn enlarge<P: image::Pixel>(
    image: &image::ImageBuffer<P, Vec<P::Subpixel>>,
    k: u32,
) -> image::ImageBuffer<P, Vec<P::Subpixel>> {
    image::ImageBuffer::from_fn(image.width() * k, image.height() * k, |x, y| *image.get_pixel(x / k, y / k))
}

/// The digits on the page, each the first held-out row with that label.
const PAGE_DIGITS: [u8; 3] = [3, 0, 7];

/// The [`PAGE_DIGITS`] (held-out MNIST rows), tripled, drawn dark (25) on paper with a fixed
/// grain, in integer arithmetic so the Python script draws the same bytes.
fn digit_page() -> Result<GrayImage, Failure> {
    let csv = runtime::cache_dir().ok_or("no cache folder")?.join("mnist_5k.csv.gz");
    let gz = flate2::read::GzDecoder::new(std::fs::File::open(&csv).map_err(|e| format!("{}: {e}", csv.display()))?);
    let rows: Vec<String> = BufReader::new(gz).lines().collect::<Result<_, _>>()?;
    let list = std::fs::read_to_string(repo().join("models/mnist_heldout_rows.txt"))?;
    let held_out: Vec<usize> = list
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.trim().parse())
        .collect::<Result<_, _>>()?;
    let label = |row: usize| rows.get(row).and_then(|r| r.rsplit(',').next()).map(|l| l.trim().to_string());
    let picked = PAGE_DIGITS
        .iter()
        .map(|&digit| held_out.iter().copied().find(|&row| label(row) == Some(digit.to_string())))
        .collect::<Option<Vec<usize>>>()
        .ok_or("a page digit has no held-out row")?;
    let mut page = GrayImage::from_fn(300, 140, |x, y| Luma([232 - ((x * 7 + y * 13) % 7) as u8]));
    for (i, &row) in picked.iter().enumerate() {
        let pixels: Vec<u32> = rows[row].split(',').take(784).map(|v| v.trim().parse()).collect::<Result<_, _>>()?;
        if pixels.len() != 784 {
            return Err(format!("mnist_5k.csv.gz row {row}: {} pixel values, expected 784", pixels.len()).into());
        }
        let (ox, oy) = (20 + 90 * i as u32, 28);
        for y in 0..84 {
            for x in 0..84 {
                let ink = pixels[(y / 3 * 28 + x / 3) as usize];
                let paper = u32::from(page.get_pixel(ox + x, oy + y).0[0]);
                page.put_pixel(ox + x, oy + y, Luma([(paper - (paper - 25) * ink / 255) as u8]));
            }
        }
    }
    Ok(page)
}

/// How a figure is taken: `warmup` untimed calls, then timed calls until there have been
/// at least `runs` and at least `min_secs` of them (so the CPU counters, which can lag by
/// a scheduler tick, are read over a long enough span).
struct Timing {
    warmup: usize,
    runs: usize,
    min_secs: f64,
}

/// Milliseconds per call: median, mean and least wall time, and CPU time (every thread of
/// the process) per call, where the kernel says.
struct Stats {
    p50: f64,
    mean: f64,
    min: f64,
    cpu: Option<f64>,
    runs: usize,
}

impl Timing {
    fn measure(&self, mut f: impl FnMut() -> Result<(), Failure>) -> Result<Stats, Failure> {
        for _ in 0..self.warmup {
            f()?;
        }
        let mut ms = Vec::with_capacity(self.runs);
        let (begin, cpu_begin) = (Instant::now(), cpu_ns());
        while ms.len() < self.runs || begin.elapsed().as_secs_f64() < self.min_secs {
            let start = Instant::now();
            f()?;
            ms.push(start.elapsed().as_secs_f64() * 1000.0);
        }
        let cpu = cpu_begin.zip(cpu_ns()).map(|(a, b)| b.saturating_sub(a) as f64 / 1e6 / ms.len() as f64);
        ms.sort_by(f64::total_cmp);
        let mid = ms.len() / 2;
        let p50 = if ms.len() % 2 == 0 { (ms[mid - 1] + ms[mid]) / 2.0 } else { ms[mid] };
        let mean = ms.iter().sum::<f64>() / ms.len() as f64;
        Ok(Stats { p50, mean, min: ms[0], cpu, runs: ms.len() })
    }
}

/// CPU time of all this process's threads so far, in nanoseconds: the first field of
/// each `/proc/self/task/*/schedstat` (Linux). `None` where there is no such file.
fn cpu_ns() -> Option<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir("/proc/self/task").ok()? {
        // A thread that ended since the listing has no file left: its time is lost either way.
        if let Ok(text) = std::fs::read_to_string(entry.ok()?.path().join("schedstat")) {
            total += text.split_whitespace().next()?.parse::<u64>().ok()?;
        }
    }
    Some(total)
}

/// A session built as the crate builds its own (`session.rs`), for timing the bare run.
fn session(model: Model, threads: usize) -> Result<Session, Failure> {
    let (environment, _) = runtime::environment(None)?;
    let path = ModelDir::default().checked_path(model)?;
    Ok(Session::builder(&environment)?.with_intra_threads(threads)?.commit_from_file(path)?)
}

/// One prepared input: name, shape, values.
type Feed = (&'static str, Vec<usize>, Vec<f32>);

/// A session and its inputs, built once, so a timed run is `Session::run` alone.
struct Bare {
    session: Session,
    inputs: Vec<(&'static str, Tensor<f32>)>,
}

impl Bare {
    fn new(model: Model, threads: usize, feeds: Vec<Feed>) -> Result<Self, Failure> {
        let inputs = feeds
            .into_iter()
            .map(|(name, shape, data)| Ok((name, Tensor::from_array((shape, data))?)))
            .collect::<Result<Vec<_>, Failure>>()?;
        Ok(Bare { session: session(model, threads)?, inputs })
    }

    /// One run; every output's values are read in place (not copied).
    fn run(&mut self) -> Result<(), Failure> {
        let inputs: Vec<(&str, SessionInputValue<'_>)> =
            self.inputs.iter().map(|(name, tensor)| (*name, SessionInputValue::from(tensor))).collect();
        let outputs = self.session.run(inputs)?;
        for (_, value) in outputs.iter() {
            let (_, data) = value.try_extract_tensor::<f32>()?;
            std::hint::black_box(data);
        }
        Ok(())
    }
}

fn main() -> Result<(), Failure> {
    let args = parse_args()?;
    let data = repo().join("test-data");
    let photo = enlarge(&image::open(data.join("photos/astronaut.jpg"))?.to_rgb8(), 2);
    let picture = image::open(data.join("photos/chelsea.png"))?.to_rgb8();
    let page = digit_page()?;
    let vision = Vision::new(SessionConfig { intra_threads: Some(args.threads), ..SessionConfig::default() });
    let wanted = |name: &str| args.only.as_ref().is_none_or(|only| only.iter().any(|o| o == name));
    let ms = |v: f64| (v * 1000.0).round() / 1000.0;
    let report = |model: &str, timed: &str, stats: Stats, check: &str| {
        let line = json!({"impl": "atelier", "model": model, "timed": timed, "threads": args.threads,
            "p50_ms": ms(stats.p50), "mean_ms": ms(stats.mean), "min_ms": ms(stats.min),
            "cpu_ms": stats.cpu.map(ms), "runs": stats.runs, "check": check});
        println!("{line}");
    };
    let timing = Timing { warmup: args.warmup, runs: args.runs, min_secs: args.min_time };

    let found = vision.detect_faces(&photo, FaceOptions::default())?;
    let boxes: Vec<FaceBox> = found.iter().map(|f| f.bbox).collect();

    if wanted("blazeface_back_256") {
        let check = format!(
            "{} faces, first at {}",
            found.len(),
            found.first().map_or("-".into(), |f| format!("{:.0},{:.0}", f.bbox.x, f.bbox.y))
        );
        report(
            "blazeface_back_256",
            "method",
            timing.measure(|| used(vision.detect_faces(&photo, FaceOptions::default())))?,
            &check,
        );
        let (input, _) = faces::letterbox(&photo, faces::SIDE)?;
        let feeds = vec![("input:0", vec![1, 256, 256, 3], faces::to_tensor(&input))];
        let mut bare = Bare::new(Model::BlazeFaceBack256, args.threads, feeds)?;
        report("blazeface_back_256", "session", timing.measure(|| bare.run())?, "");
    }
    if wanted("mnist_cnn") {
        let read = vision.recognize_number(&page)?;
        let check: String = read.iter().map(|d| char::from(b'0' + d.digit)).collect();
        report("mnist_cnn", "method", timing.measure(|| used(vision.recognize_number(&page)))?, &check);
        let inputs =
            digits::split_digits(&page).iter().map(|c| digits::prepare(&c.image)).collect::<Result<Vec<_>, _>>()?;
        let values: Vec<f32> = inputs.iter().flat_map(|i| i.0).collect();
        let feeds = vec![("image", vec![inputs.len(), 28, 28, 1], values)];
        let mut bare = Bare::new(Model::Mnist, args.threads, feeds)?;
        report("mnist_cnn", "session", timing.measure(|| bare.run())?, "");
    }
    if wanted("efficientnet_lite0") {
        let found = vision.classify(&[&photo])?;
        let top = classify::top_k(&found.first().ok_or("no classification")?.probabilities, 1);
        let check = top.first().map_or("-".into(), |(i, p)| format!("{} {:.2}", classify::imagenet_labels()[*i], p));
        report("efficientnet_lite0", "method", timing.measure(|| used(vision.classify(&[&photo])))?, &check);
        let feeds = vec![("image", vec![1, 3, 224, 224], classify::prepare(&photo)?)];
        let mut bare = Bare::new(Model::EfficientNetLite0, args.threads, feeds)?;
        report("efficientnet_lite0", "session", timing.measure(|| bare.run())?, "");
    }
    if wanted("nsfw_mobilenet_v2") {
        let scores = *vision.moderate(&[&photo])?.first().ok_or("no moderation scores")?;
        let best = (0..5).max_by(|&a, &b| scores[a].total_cmp(&scores[b])).unwrap_or(0);
        let check = format!("{} {:.2}", atelier_vision::NSFW_LABELS[best], scores[best]);
        report("nsfw_mobilenet_v2", "method", timing.measure(|| used(vision.moderate(&[&photo])))?, &check);
        let feeds = vec![("input", vec![1, 224, 224, 3], moderate::to_tensor(&photo)?)];
        let mut bare = Bare::new(Model::Nsfw, args.threads, feeds)?;
        report("nsfw_mobilenet_v2", "session", timing.measure(|| bare.run())?, "");
    }
    if wanted("faceres+emotion") && !boxes.is_empty() {
        let found = vision.analyze_faces(&photo, &boxes)?;
        let a = *found.first().ok_or("no face attributes")?;
        let best = (0..7).max_by(|&x, &y| a.emotions[x].total_cmp(&a.emotions[y])).unwrap_or(0);
        let check = format!("{} faces, age {:.0}, male {:.2}, {}", found.len(), a.age, a.male, EMOTIONS[best]);
        report("faceres+emotion", "method", timing.measure(|| used(vision.analyze_faces(&photo, &boxes)))?, &check);
        let squares: Vec<_> = boxes.iter().filter_map(square_around).collect();
        let (mut ages, mut emotions) = (Vec::new(), Vec::new());
        for &square in &squares {
            ages.extend(age_gender_tensor(&crop_square(&photo, square, 224)?));
            emotions.extend(emotion_tensor(&crop_square(&photo, square, EMOTION_SIDE)?));
        }
        let n = squares.len();
        let mut age_gender =
            Bare::new(Model::AgeGender, args.threads, vec![("input_1:0", vec![n, 224, 224, 3], ages)])?;
        let mut emotion = Bare::new(Model::Emotion, args.threads, vec![("input_1:0", vec![n, 64, 64, 1], emotions)])?;
        let both = timing.measure(|| {
            age_gender.run()?;
            emotion.run()
        })?;
        report("faceres+emotion", "session", both, "");
    }
    if wanted("multistyle26") {
        let style = Style::builtin(7).ok_or("no style 7")?;
        let out = vision.stylize(&photo, &style, StyleOptions::default())?;
        let check = format!("{}x{} mean {:.1}", out.width(), out.height(), mean(&out));
        report(
            "multistyle26",
            "method",
            timing.measure(|| used(vision.stylize(&photo, &style, StyleOptions::default())))?,
            &check,
        );
        let (values, ph, pw) = style::to_nchw_padded(&photo);
        let mut weights = vec![0.0f32; style::BUILTIN_STYLES];
        weights[7] = 1.0;
        let feeds =
            vec![("image", vec![1, 3, ph, pw], values), ("style_weights", vec![style::BUILTIN_STYLES], weights)];
        let mut bare = Bare::new(Model::MultiStyle26, args.threads, feeds)?;
        report("multistyle26", "session", timing.measure(|| bare.run())?, "");
    }
    if wanted("arbitrary") {
        let style = Style::Image(&picture);
        let out = vision.stylize(&photo, &style, StyleOptions::default())?;
        let check = format!("{}x{} mean {:.1}", out.width(), out.height(), mean(&out));
        report(
            "arbitrary",
            "method",
            timing.measure(|| used(vision.stylize(&photo, &style, StyleOptions::default())))?,
            &check,
        );
        // The bare runs' input values do not change their cost: any 256 and 384 squares do.
        let side = picture.width().min(picture.height());
        let square = image::imageops::crop_imm(
            &picture,
            (picture.width() - side) / 2,
            (picture.height() - side) / 2,
            side,
            side,
        )
        .to_image();
        let square = image::imageops::resize(&square, 256, 256, FilterType::Lanczos3);
        let predict_feeds =
            vec![("style_image", vec![1, 256, 256, 3], square.iter().map(|&v| f32::from(v) / 255.0).collect())];
        let small = image::imageops::resize(&photo, 384, 384, FilterType::Lanczos3);
        let vector = vec![0.0f32; 100];
        let transform_feeds = vec![
            ("content_image", vec![1, 384, 384, 3], style::to_nhwc_padded(&small, 384)),
            ("mobilenet_conv/Conv/BiasAdd", vec![1, 1, 1, 100], vector),
        ];
        let mut predict = Bare::new(Model::ArbitraryStylePredict, args.threads, predict_feeds)?;
        let mut transform = Bare::new(Model::ArbitraryStyleTransform, args.threads, transform_feeds)?;
        let both = timing.measure(|| {
            predict.run()?;
            transform.run()
        })?;
        report("arbitrary", "session", both, "");
    }
    Ok(())
}

/// A timed call's result, kept from being optimised away, its error passed on.
fn used<T>(result: atelier_vision::Result<T>) -> Result<(), Failure> {
    std::hint::black_box(result?);
    Ok(())
}

fn mean(image: &RgbImage) -> f64 {
    image.iter().map(|&v| f64::from(v)).sum::<f64>() / image.as_raw().len().max(1) as f64
}
