//! The classifier's pure parts: the embedded label files, the input tensor, and the
//! arithmetic on probabilities and fingerprints, on handmade values.

use image::Rgb;

use super::*;

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() < 1e-5
}

#[test]
fn there_are_exactly_1000_imagenet_labels_in_output_order() {
    let labels = imagenet_labels();
    assert_eq!(labels.len(), CLASSES);
    assert!(labels.iter().all(|l| !l.trim().is_empty() && !l.contains('\r')));
    // Spot checks against SOURCES.md's figures and its case-only pair.
    assert_eq!(labels[967], "espresso");
    assert_eq!(labels[282], "tiger cat");
    assert_eq!((labels[264], labels[474]), ("Cardigan", "cardigan"));
}

#[test]
fn every_product_category_names_existing_classes_and_its_labels_column_agrees() {
    let categories = product_categories();
    assert_eq!(categories.len(), 22);
    assert_eq!(categories.iter().map(|c| c.classes.len()).sum::<usize>(), 70);
    for category in categories {
        assert!(!category.name.is_empty() && !category.classes.is_empty(), "{category:?}");
        assert!(category.classes.iter().all(|&i| i < CLASSES), "{category:?}");
    }
    // The third column names each index's label: an off-by-one in the table shows here.
    for line in CATEGORIES_TSV.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let columns: Vec<&str> = line.split('\t').collect();
        let category = categories.iter().find(|c| c.name == columns[0]).unwrap();
        let named: Vec<&str> = columns[2].split(';').map(str::trim).collect();
        let looked_up: Vec<&str> = category.classes.iter().map(|&i| imagenet_labels()[i]).collect();
        assert_eq!(named, looked_up, "{}", category.name);
    }
    // No class belongs to two categories, so category scores never double-count.
    let mut all: Vec<usize> = categories.iter().flat_map(|c| c.classes.iter().copied()).collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 70);
}

#[test]
fn a_malformed_category_row_is_reported_with_its_line() {
    let err = parse_categories("# header\ntops\t610,x\tjersey\n").unwrap_err();
    assert!(err.contains("line 2") && err.contains("\"x\""), "{err}");
    assert!(parse_categories("tops only\n").unwrap_err().contains("line 1"));
}

#[test]
fn category_scores_sum_each_categorys_classes_best_first() {
    let mut p = vec![0.0; CLASSES];
    p[610] = 0.2; // jersey: tops
    p[841] = 0.1; // sweatshirt: tops
    p[770] = 0.35; // running shoe: shoes
    p[893] = 0.05; // wallet
    p[967] = 0.3; // espresso: no category
    let scores = category_scores(&p);
    assert_eq!(scores.len(), product_categories().len());
    assert_eq!(scores[0].0, "shoes");
    assert!(close(scores[0].1, 0.35));
    assert_eq!(scores[1].0, "tops");
    assert!(close(scores[1].1, 0.3));
    assert_eq!(scores[2].0, "wallets");
    assert!(close(scores[2].1, 0.05));
    // The rest score nothing and keep the table's order.
    assert!(scores[3..].iter().all(|&(_, s)| s == 0.0));
    assert_eq!(scores[3].0, "dresses");
}

#[test]
fn category_scores_of_a_short_vector_count_missing_classes_as_zero() {
    let scores = category_scores(&[0.5; 10]);
    assert!(scores.iter().all(|&(_, s)| s == 0.0), "{scores:?}");
}

#[test]
fn top_k_ranks_by_probability_and_breaks_ties_by_index() {
    let p = [0.1, 0.3, f32::NAN, 0.3, 0.05];
    assert_eq!(top_k(&p, 3), vec![(1, 0.3), (3, 0.3), (0, 0.1)]);
    assert_eq!(top_k(&p, 0), vec![]);
    assert_eq!(top_k(&p, 99).len(), 5);
    assert_eq!(top_k(&p, 99)[4].0, 2, "NaN ranks last");
    assert_eq!(top_k(&[], 3), vec![]);
}

#[test]
fn softmax_sums_to_one_and_survives_huge_logits() {
    let p = softmax(&[1000.0, 1000.0, -1000.0]);
    assert!(close(p[0], 0.5) && close(p[1], 0.5) && p[2] == 0.0, "{p:?}");
    let p = softmax(&[1.0, 2.0, 3.0]);
    assert!(close(p.iter().sum(), 1.0));
    assert!(p[2] > p[1] && p[1] > p[0]);
    assert!(softmax(&[]).is_empty());
}

#[test]
fn cosine_is_one_for_parallel_vectors_and_zero_for_zero_or_mismatched_ones() {
    assert!(close(cosine(&[1.0, 2.0], &[2.0, 4.0]), 1.0));
    assert!(close(cosine(&[1.0, 0.0], &[0.0, 3.0]), 0.0));
    assert!(close(cosine(&[1.0, 0.0], &[-1.0, 0.0]), -1.0));
    assert_eq!(cosine(&[0.0, 0.0], &[1.0, 1.0]), 0.0);
    assert_eq!(cosine(&[1.0, 0.0], &[1.0, 0.0, 0.0]), 0.0);
    assert_eq!(cosine(&[], &[]), 0.0);
}

#[test]
fn a_fingerprint_is_unit_length_unless_the_features_are_all_zero() {
    let n = normalise(&[3.0, 4.0]);
    assert!(close(n[0], 0.6) && close(n[1], 0.8));
    assert_eq!(normalise(&[0.0; 4]), vec![0.0; 4]);
    assert_eq!(normalise(&[f32::INFINITY, 1.0]), vec![0.0; 2]);
}

#[test]
fn a_centroid_is_the_normalised_mean_of_its_examples() {
    let (a, b) = ([1.0, 0.0, 0.0], [0.0, 1.0, 0.0]);
    let c = centroid(&[&a, &b]).unwrap();
    let h = std::f32::consts::FRAC_1_SQRT_2;
    assert!(close(c[0], h) && close(c[1], h) && c[2] == 0.0, "{c:?}");
    assert_eq!(centroid(&[&a]).unwrap(), a.to_vec());
    assert_eq!(centroid(&[]), None);
    assert_eq!(centroid(&[&a, &[1.0, 0.0]]), None);
}

#[test]
fn nearest_picks_the_most_similar_centre_at_or_above_the_threshold() {
    let centres: [&[f32]; 3] = [&[1.0, 0.0], &[0.0, 1.0], &[0.0, 1.0]];
    let (i, s) = nearest(&[0.1, 0.9], &centres, 0.5).unwrap();
    assert_eq!(i, 1, "the first of two equal centres wins");
    assert!(s > 0.99);
    assert_eq!(nearest(&[1.0, 1.0], &centres, 0.8), None, "0.71 is below 0.8");
    assert_eq!(nearest(&[1.0, 0.0], &centres, 1.0).map(|(i, _)| i), Some(0));
    assert_eq!(nearest(&[1.0, 0.0], &[], 0.0), None);
    assert_eq!(nearest(&[0.0, 0.0], &centres, 0.1), None);
}

#[test]
fn the_input_is_the_centre_square_in_planar_rgb_scaled_around_127() {
    // 600 x 200: the centre 200 x 200 is red, the sides (cut away) are blue.
    let image =
        RgbImage::from_fn(600, 200, |x, _| if (200..400).contains(&x) { Rgb([255, 0, 127]) } else { Rgb([0, 0, 255]) });
    let t = prepare(&image).unwrap();
    let plane = (SIDE * SIDE) as usize;
    assert_eq!(t.len(), 3 * plane);
    let (r, g, b) = (&t[..plane], &t[plane..2 * plane], &t[2 * plane..]);
    assert!(r.iter().all(|&v| close(v, 1.0)), "R plane is 255 everywhere");
    assert!(g.iter().all(|&v| close(v, -127.0 / 128.0)));
    assert!(b.iter().all(|&v| close(v, 0.0)));
}

#[test]
fn the_crop_keeps_the_middle_224_of_256() {
    // A vertical stripe 16 px from the left of a 256 x 256 image sits on the crop's edge.
    let image = RgbImage::from_fn(256, 256, |x, _| if x < 16 { Rgb([0, 0, 0]) } else { Rgb([255, 255, 255]) });
    let t = prepare(&image).unwrap();
    assert!(t[..SIDE as usize].iter().all(|&v| close(v, 1.0)), "the dark band was cropped away");
}

#[test]
fn empty_tiny_and_extreme_images_give_an_error_or_a_full_tensor() {
    assert!(prepare(&RgbImage::new(0, 10)).is_err());
    assert!(prepare(&RgbImage::new(10, 0)).is_err());
    let len = 3 * (SIDE * SIDE) as usize;
    assert_eq!(prepare(&RgbImage::from_pixel(1, 1, Rgb([9, 9, 9]))).unwrap().len(), len);
    assert_eq!(prepare(&RgbImage::new(100_000, 1)).unwrap().len(), len);
    assert_eq!(prepare(&RgbImage::new(3, 40_000)).unwrap().len(), len);
}
