//! EfficientNet-Lite0 on scikit-image's photos (`test-data/photos/`): the classes
//! `models/SOURCES.md` reports for them, batches against single runs, and fingerprints:
//! views of one photo against different photos, and user categories built from examples.

use std::io::Write;

use atelier_vision::classify::{centroid, cosine, imagenet_labels, nearest, top_k};
use atelier_vision::{Classification, Vision};
use image::imageops::{crop_imm, flip_horizontal, resize, FilterType};
use image::RgbImage;

use crate::support;

fn photo(name: &str) -> RgbImage {
    image::open(support::repo().join("test-data/photos").join(name)).unwrap().to_rgb8()
}

/// The part of `image` between the given fractions of its width and height.
fn view(image: &RgbImage, (x0, y0): (f32, f32), (x1, y1): (f32, f32)) -> RgbImage {
    let (w, h) = (image.width() as f32, image.height() as f32);
    let (x, y) = ((x0 * w) as u32, (y0 * h) as u32);
    crop_imm(image, x, y, ((x1 - x0) * w) as u32, ((y1 - y0) * h) as u32).to_image()
}

fn scaled(image: &RgbImage, factor: f32) -> RgbImage {
    let (w, h) = (image.width() as f32 * factor, image.height() as f32 * factor);
    resize(image, w.round() as u32, h.round() as u32, FilterType::Triangle)
}

fn one(vision: &Vision, image: &RgbImage) -> Classification {
    vision.classify(&[image]).unwrap().remove(0)
}

/// The top three as "label 0.123", for messages and the report.
fn top3(c: &Classification) -> String {
    let labels = imagenet_labels();
    top_k(&c.probabilities, 3).iter().map(|&(i, p)| format!("{} {p:.3}", labels[i])).collect::<Vec<_>>().join(", ")
}

fn report(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn in_top3(c: &Classification, wanted: &[&str]) -> bool {
    top_k(&c.probabilities, 3).iter().any(|&(i, _)| wanted.contains(&imagenet_labels()[i]))
}

#[test]
fn the_coffee_photo_is_most_likely_an_espresso() {
    let Some(vision) = support::vision() else { return };
    let c = one(vision, &photo("coffee-16bit.png"));
    report(&format!("coffee-16bit.png: {}", top3(&c)));
    let (best, p) = top_k(&c.probabilities, 1)[0];
    assert_eq!(imagenet_labels()[best], "espresso", "{}", top3(&c));
    // SOURCES.md's 0.96 is for scikit-image's 600 x 400 original, and this code gives 0.956
    // there (checked once by hand; the original is not in test-data). The copy here is
    // 160 x 107, scaled up 2.4 times to fill the input: blurrier, so less sure (0.59).
    assert!(p > 0.5, "{}", top3(&c));
    let total: f32 = c.probabilities.iter().sum();
    assert!((total - 1.0).abs() < 1e-4 && c.probabilities.len() == 1000, "{total}");
}

#[test]
fn chelsea_is_a_cat_and_the_rocket_a_missile_in_their_top_three() {
    let Some(vision) = support::vision() else { return };
    let chelsea = one(vision, &photo("chelsea.png"));
    report(&format!("chelsea.png: {}", top3(&chelsea)));
    assert!(in_top3(&chelsea, &["tiger cat", "Egyptian cat", "tabby"]), "{}", top3(&chelsea));
    let rocket = one(vision, &photo("rocket.jpg"));
    report(&format!("rocket.jpg: {}", top3(&rocket)));
    assert!(in_top3(&rocket, &["missile", "projectile"]), "{}", top3(&rocket));
}

#[test]
fn a_batch_across_two_runs_gives_what_one_image_at_a_time_gives() {
    let Some(vision) = support::vision() else { return };
    let photos = [photo("chelsea.png"), photo("coffee-16bit.png"), photo("rocket.jpg"), photo("astronaut.jpg")];
    // 18 images: a full run of 16, then 2, with the photos in changing neighbours.
    let batch: Vec<&RgbImage> = (0..18).map(|i| &photos[(i * 3 + i / 4) % photos.len()]).collect();
    let together = vision.classify(&batch).unwrap();
    assert_eq!(together.len(), batch.len());
    let alone: Vec<Classification> = photos.iter().map(|p| one(vision, p)).collect();
    let mut worst = 0.0f32;
    for (i, got) in together.iter().enumerate() {
        let want = &alone[(i * 3 + i / 4) % photos.len()];
        assert_eq!(got.fingerprint.len(), 1280);
        let pairs =
            got.probabilities.iter().zip(&want.probabilities).chain(got.fingerprint.iter().zip(&want.fingerprint));
        worst = pairs.fold(worst, |m, (a, b)| m.max((a - b).abs()));
    }
    report(&format!("batch of 18 vs single runs: max abs difference {worst:.2e}"));
    assert!(worst < 1e-4, "{worst}");
    assert!(vision.classify(&[]).unwrap().is_empty());
}

#[test]
fn two_views_of_one_photo_are_more_alike_than_two_different_photos() {
    let Some(vision) = support::vision() else { return };
    let (chelsea, coffee, rocket) = (photo("chelsea.png"), photo("coffee-16bit.png"), photo("rocket.jpg"));
    let images = [
        view(&chelsea, (0.0, 0.0), (0.8, 1.0)),
        scaled(&view(&chelsea, (0.15, 0.1), (1.0, 0.95)), 0.5),
        view(&coffee, (0.1, 0.0), (1.0, 0.9)),
        scaled(&view(&coffee, (0.0, 0.1), (0.85, 1.0)), 2.0),
        view(&rocket, (0.0, 0.0), (0.75, 1.0)),
        scaled(&view(&rocket, (0.2, 0.05), (1.0, 1.0)), 0.6),
    ];
    let refs: Vec<&RgbImage> = images.iter().collect();
    let f: Vec<Vec<f32>> = vision.classify(&refs).unwrap().into_iter().map(|c| c.fingerprint).collect();
    for fingerprint in &f {
        let norm = fingerprint.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4, "{norm}");
    }
    let same = [cosine(&f[0], &f[1]), cosine(&f[2], &f[3]), cosine(&f[4], &f[5])];
    let different = [0, 1].iter().flat_map(|&a| [2, 3, 4, 5].map(|b| (a, b))).chain([(2, 4), (3, 5), (2, 5), (3, 4)]);
    let different: Vec<f32> = different.map(|(a, b)| cosine(&f[a], &f[b])).collect();
    let least_same = same.iter().copied().fold(f32::INFINITY, f32::min);
    let most_different = different.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    report(&format!("cosine, same photo: {same:.3?}; different photos: {most_different:.3} at most"));
    assert!(least_same > most_different, "same {same:?}, different {different:?}");
}

#[test]
fn new_views_land_in_the_user_category_built_from_examples_of_the_same_subject() {
    let Some(vision) = support::vision() else { return };
    let (chelsea, coffee, rocket) = (photo("chelsea.png"), photo("coffee-16bit.png"), photo("rocket.jpg"));
    let examples: [Vec<RgbImage>; 3] = [
        vec![view(&chelsea, (0.0, 0.0), (0.8, 1.0)), photo("chelsea.gif")],
        vec![view(&coffee, (0.1, 0.0), (1.0, 0.9)), photo("coffee-gray.png")],
        vec![rocket.clone(), view(&rocket, (0.2, 0.05), (1.0, 1.0))],
    ];
    let centres: Vec<Vec<f32>> = examples
        .iter()
        .map(|set| {
            let refs: Vec<&RgbImage> = set.iter().collect();
            let prints: Vec<Vec<f32>> = vision.classify(&refs).unwrap().into_iter().map(|c| c.fingerprint).collect();
            centroid(&prints.iter().map(Vec::as_slice).collect::<Vec<_>>()).unwrap()
        })
        .collect();
    let centres: Vec<&[f32]> = centres.iter().map(Vec::as_slice).collect();
    // New views: mirrored, cropped differently, at other sizes.
    let cat = flip_horizontal(&view(&photo("chelsea.webp"), (0.1, 0.05), (0.95, 1.0)));
    let cup = flip_horizontal(&scaled(&view(&coffee, (0.0, 0.15), (0.9, 1.0)), 1.5));
    let astronaut = photo("astronaut.jpg");
    let found: Vec<Classification> = vision.classify(&[&cat, &cup, &astronaut]).unwrap();
    let similarities =
        |c: &Classification| centres.iter().map(|centre| cosine(&c.fingerprint, centre)).collect::<Vec<_>>();
    report(&format!(
        "cosine to (cat, coffee, rocket) centres: chelsea view {:.3?}, coffee view {:.3?}, astronaut {:.3?}",
        similarities(&found[0]),
        similarities(&found[1]),
        similarities(&found[2])
    ));
    let threshold = 0.5;
    assert_eq!(
        nearest(&found[0].fingerprint, &centres, threshold).map(|n| n.0),
        Some(0),
        "{:?}",
        similarities(&found[0])
    );
    assert_eq!(
        nearest(&found[1].fingerprint, &centres, threshold).map(|n| n.0),
        Some(1),
        "{:?}",
        similarities(&found[1])
    );
    // A portrait is none of the three: no centre is near enough.
    assert_eq!(nearest(&found[2].fingerprint, &centres, threshold), None, "{:?}", similarities(&found[2]));
}
