//! Face recall and precision on real photos against hand-marked face centres, with the
//! tiled passes on and off (`bench/faces-recall.sh` fetches the photos and runs this).
//!
//! ```text
//! cargo run -p atelier-vision --release --example face_recall -- <dir> <truth.json> \
//!     [--draw <out dir>] [--tile-threshold <score>]
//! ```
//!
//! `truth.json` holds `{"photos": {"<file in dir>": [[x, y], ...]}, "ignore": {...}}`: one
//! centre per face, in the photo's pixels after its EXIF orientation, and points where a
//! detection counts neither way (a face in a painting). A detection matches a face when the
//! centre is inside its box, one to one (the most matches: a small bipartite matching).
//! Besides each photo, it scores a mosaic of all of them scaled down (faces of 47 to 81
//! px in a 2560 px image: what the tiles are for). `--draw` writes each at half size with
//! the tiled run's boxes and the marked centres on it. False positives go to stderr.

use std::path::{Path, PathBuf};
use std::time::Instant;

use atelier_vision::{Face, FaceOptions, SessionConfig, Vision};
use image::{ImageDecoder, ImageReader, Rgb, RgbImage};

type Failure = Box<dyn std::error::Error>;

const USAGE: &str = "usage: face_recall <dir> <truth.json> [--draw <out dir>] [--tile-threshold <score>]";

/// The mosaic: every photo scaled to this width, four to a row, so the faces of 94 to
/// 242 px in the bench photos come out at 47 to 81 px in a 2560 px wide image.
const MOSAIC_WIDTH: u32 = 640;
const MOSAIC_COLUMNS: usize = 4;

struct Photo {
    name: String,
    image: RgbImage,
    faces: Vec<[f32; 2]>,
    ignore: Vec<[f32; 2]>,
}

fn main() -> Result<(), Failure> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut defaults = FaceOptions::default();
    if let Some(k) = args.iter().position(|a| a == "--tile-threshold") {
        let value = args.get(k + 1).ok_or("--tile-threshold needs a value")?;
        defaults.tile_threshold = value.parse()?;
        args.drain(k..k + 2);
    }
    let (dir, truth, draw) = match args.as_slice() {
        [dir, truth] => (PathBuf::from(dir), PathBuf::from(truth), None),
        [dir, truth, flag, out] if flag == "--draw" => {
            (PathBuf::from(dir), PathBuf::from(truth), Some(PathBuf::from(out)))
        }
        _ => return Err(USAGE.into()),
    };
    let truth: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&truth)?)?;
    let listed = truth["photos"].as_object().ok_or("truth.json: no \"photos\" object")?;
    let mut photos = Vec::new();
    for (name, faces) in listed {
        let ignore = truth["ignore"].get(name).cloned().unwrap_or(serde_json::json!([]));
        photos.push(Photo {
            name: name.clone(),
            image: load(&dir.join(name))?,
            faces: serde_json::from_value(faces.clone())?,
            ignore: serde_json::from_value(ignore)?,
        });
    }
    if let Some(out) = &draw {
        std::fs::create_dir_all(out)?;
    }

    let vision = Vision::new(SessionConfig::default());
    let mosaic = mosaic(&photos)?;
    println!(
        "| photo | size | faces | one pass: found / detections | tiled: found / detections | ms one pass / tiled |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    let mut totals = [Tally::default(); 2];
    for photo in photos.iter().chain([&mosaic]) {
        let mut row =
            format!("| {} | {}x{} | {} |", photo.name, photo.image.width(), photo.image.height(), photo.faces.len());
        let mut times = Vec::new();
        for (k, tiles) in [false, true].into_iter().enumerate() {
            let options = FaceOptions { tiles, ..defaults };
            vision.detect_faces(&photo.image, options)?; // warm-up: loading the model is not timed
            let start = Instant::now();
            let faces = vision.detect_faces(&photo.image, options)?;
            times.push(start.elapsed().as_millis().to_string());
            let (tally, matched) = score(&faces, photo);
            if !std::ptr::eq(photo, &mosaic) {
                totals[k].add(tally);
            }
            row += &format!(" {} / {} |", tally.matched, tally.detections);
            for (face, matched) in faces.iter().zip(&matched) {
                if matched.is_none() && !photo.ignore.iter().any(|&p| face.bbox.contains(p)) {
                    let b = face.bbox;
                    let pass = if tiles { "tiled" } else { "one pass" };
                    eprintln!(
                        "{}, {pass}: false positive at {:.0},{:.0} {:.0}x{:.0}, score {:.2}",
                        photo.name, b.x, b.y, b.width, b.height, face.score
                    );
                }
            }
            if let (Some(out), true) = (&draw, tiles) {
                drawn(&photo.image, &faces, photo, &matched).save(out.join(&photo.name).with_extension("png"))?;
            }
        }
        println!("{row} {} |", times.join(" / "));
    }
    println!();
    for (mode, tally) in ["one pass", "tiled"].iter().zip(totals) {
        println!(
            "{mode}, the {} photos: recall {}/{} = {:.1} %, precision {}/{} = {:.1} %",
            photos.len(),
            tally.matched,
            tally.truth,
            percent(tally.matched, tally.truth),
            tally.matched,
            tally.detections,
            percent(tally.matched, tally.detections)
        );
    }
    Ok(())
}

/// All the photos scaled to [`MOSAIC_WIDTH`] on one grey canvas, their faces moved along.
fn mosaic(photos: &[Photo]) -> Result<Photo, Failure> {
    let scaled: Vec<(RgbImage, f32)> = photos
        .iter()
        .map(|p| {
            let s = MOSAIC_WIDTH as f32 / p.image.width() as f32;
            let h = (p.image.height() as f32 * s).round().max(1.0) as u32;
            (image::imageops::resize(&p.image, MOSAIC_WIDTH, h, image::imageops::FilterType::Triangle), s)
        })
        .collect();
    let rows: Vec<u32> =
        scaled.chunks(MOSAIC_COLUMNS).map(|row| row.iter().map(|(i, _)| i.height()).max().unwrap_or(0)).collect();
    let width = MOSAIC_WIDTH * photos.len().clamp(1, MOSAIC_COLUMNS) as u32;
    let height: u32 = rows.iter().sum::<u32>().max(1);
    let mut canvas = RgbImage::from_pixel(width, height, Rgb([128, 128, 128]));
    let (mut faces, mut ignore) = (Vec::new(), Vec::new());
    for (k, ((image, s), photo)) in scaled.iter().zip(photos).enumerate() {
        let x = (k % MOSAIC_COLUMNS) as u32 * MOSAIC_WIDTH;
        let y: u32 = rows[..k / MOSAIC_COLUMNS].iter().sum();
        image::imageops::replace(&mut canvas, image, i64::from(x), i64::from(y));
        let moved = |[px, py]: [f32; 2]| [px * s + x as f32, py * s + y as f32];
        faces.extend(photo.faces.iter().copied().map(moved));
        ignore.extend(photo.ignore.iter().copied().map(moved));
    }
    Ok(Photo { name: format!("mosaic of all at {MOSAIC_WIDTH} px wide"), image: canvas, faces, ignore })
}

/// Matches detections to the photo's faces; a detection left over that holds an ignore
/// point is not counted. Returns the tally and, per detection, the face it matched.
fn score(faces: &[Face], photo: &Photo) -> (Tally, Vec<Option<usize>>) {
    let matched = matching(faces, &photo.faces);
    let ignored = faces
        .iter()
        .zip(&matched)
        .filter(|(f, m)| m.is_none() && photo.ignore.iter().any(|&p| f.bbox.contains(p)))
        .count();
    let found = matched.iter().flatten().count();
    (Tally { truth: photo.faces.len(), detections: faces.len() - ignored, matched: found }, matched)
}

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    truth: usize,
    detections: usize,
    matched: usize,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.truth += other.truth;
        self.detections += other.detections;
        self.matched += other.matched;
    }
}

fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        100.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// The photo upright, as the imaging core decodes it: EXIF orientation applied.
fn load(path: &Path) -> Result<RgbImage, Failure> {
    let mut decoder = ImageReader::open(path)?.with_guessed_format()?.into_decoder()?;
    let orientation = decoder.orientation()?;
    let mut image = image::DynamicImage::from_decoder(decoder)?;
    image.apply_orientation(orientation);
    Ok(image.to_rgb8())
}

/// The largest one-to-one matching of detections to face centres (a centre matches a face
/// whose box holds it), by augmenting paths: per detection, the centre it matched.
fn matching(faces: &[Face], centres: &[[f32; 2]]) -> Vec<Option<usize>> {
    let mut owner: Vec<Option<usize>> = vec![None; centres.len()];
    for f in 0..faces.len() {
        let mut seen = vec![false; centres.len()];
        augment(f, faces, centres, &mut owner, &mut seen);
    }
    let mut matched = vec![None; faces.len()];
    for (c, f) in owner.iter().enumerate() {
        if let Some(f) = f {
            matched[*f] = Some(c);
        }
    }
    matched
}

fn augment(f: usize, faces: &[Face], centres: &[[f32; 2]], owner: &mut [Option<usize>], seen: &mut [bool]) -> bool {
    for c in 0..centres.len() {
        if seen[c] || !faces[f].bbox.contains(centres[c]) {
            continue;
        }
        seen[c] = true;
        if owner[c].is_none_or(|other| augment(other, faces, centres, owner, seen)) {
            owner[c] = Some(f);
            return true;
        }
    }
    false
}

/// The photo at half size with the boxes (green: matched, red: false positive, grey:
/// ignored) and the face centres (blue: found, yellow: missed) drawn on it.
fn drawn(image: &RgbImage, faces: &[Face], photo: &Photo, matched: &[Option<usize>]) -> RgbImage {
    let (w, h) = ((image.width() / 2).max(1), (image.height() / 2).max(1));
    let mut out = image::imageops::resize(image, w, h, image::imageops::FilterType::Triangle);
    for (face, m) in faces.iter().zip(matched) {
        let b = face.bbox;
        let colour = match m {
            Some(_) => Rgb([0, 255, 0]),
            None if photo.ignore.iter().any(|&p| b.contains(p)) => Rgb([160, 160, 160]),
            None => Rgb([255, 0, 0]),
        };
        rectangle(&mut out, [b.x / 2.0, b.y / 2.0, (b.x + b.width) / 2.0, (b.y + b.height) / 2.0], colour);
    }
    for (c, &[x, y]) in photo.faces.iter().enumerate() {
        let colour = if matched.contains(&Some(c)) { Rgb([0, 128, 255]) } else { Rgb([255, 255, 0]) };
        rectangle(&mut out, [x / 2.0 - 3.0, y / 2.0 - 3.0, x / 2.0 + 3.0, y / 2.0 + 3.0], colour);
    }
    out
}

/// A two-pixel outline, clipped to the image.
fn rectangle(image: &mut RgbImage, [x0, y0, x1, y1]: [f32; 4], colour: Rgb<u8>) {
    let (w, h) = (image.width() as i64, image.height() as i64);
    let (x0, y0, x1, y1) = (x0 as i64, y0 as i64, x1 as i64, y1 as i64);
    for y in y0..=y1 {
        for x in x0..=x1 {
            let edge = x - x0 < 2 || x1 - x < 2 || y - y0 < 2 || y1 - y < 2;
            if edge && (0..w).contains(&x) && (0..h).contains(&y) {
                image.put_pixel(x as u32, y as u32, colour);
            }
        }
    }
}
