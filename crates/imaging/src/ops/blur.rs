//! `blur`: Gaussian blur. Exact separable kernels for small sigmas, three box passes (within
//! a few percent of a Gaussian) for large ones, so the cost stays flat as sigma grows.
//! Alpha is premultiplied while filtering so transparent areas do not bleed dark edges.

use image::DynamicImage;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::color::with_pixels;
use super::{check_range, Ctx, FieldError, Params};
use crate::error::Result;
use crate::limits::Deadline;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Blur {
    /// Standard deviation of the Gaussian, in pixels (0.3..=200).
    #[schemars(range(min = 0.3, max = 200.0))]
    pub sigma: f32,
}

impl Default for Blur {
    fn default() -> Self {
        Blur { sigma: 2.0 }
    }
}

impl Params for Blur {
    fn validate(&self) -> Result<(), FieldError> {
        check_range("sigma", self.sigma, 0.3, 200.0)
    }
}

impl Blur {
    pub(crate) fn apply(&self, image: DynamicImage, ctx: &Ctx<'_>) -> Result<DynamicImage> {
        gaussian(&image, self.sigma, &ctx.deadline)
    }
}

/// Above this sigma, box passes replace the exact kernel.
const EXACT_SIGMA_MAX: f32 = 6.0;

/// Blurs any 8-bit layout; the result has the input's layout.
pub(crate) fn gaussian(image: &DynamicImage, sigma: f32, deadline: &Deadline) -> Result<DynamicImage> {
    let (width, height) = (image.width() as usize, image.height() as usize);
    let channels = usize::from(image.color().channel_count());
    let has_alpha = image.color().has_alpha();
    let mut pixels = image.as_bytes().to_vec();
    if has_alpha {
        premultiply(&mut pixels, channels);
    }
    let plane = Plane { width, height, channels };
    if sigma <= EXACT_SIGMA_MAX {
        let kernel = gaussian_kernel(sigma);
        pixels = plane.convolve_rows(&pixels, &kernel, deadline)?;
        pixels = plane.convolve_columns(&pixels, &kernel, deadline)?;
    } else {
        for radius in box_radii(sigma) {
            pixels = plane.box_rows(&pixels, radius, deadline)?;
            pixels = plane.box_columns(&pixels, radius, deadline)?;
        }
    }
    if has_alpha {
        unpremultiply(&mut pixels, channels);
    }
    Ok(with_pixels(image, pixels))
}

fn gaussian_kernel(sigma: f32) -> Vec<f32> {
    let radius = (sigma * 3.0).ceil() as i32;
    let mut kernel: Vec<f32> = (-radius..=radius).map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp()).collect();
    let sum: f32 = kernel.iter().sum();
    kernel.iter_mut().for_each(|k| *k /= sum);
    kernel
}

/// Radii of three box filters whose succession approximates a Gaussian of `sigma`
/// (W. Jarosz / P. Kovesi's construction).
fn box_radii(sigma: f32) -> [usize; 3] {
    let n = 3.0f32;
    let ideal = (12.0 * sigma * sigma / n + 1.0).sqrt();
    let mut lower = ideal.floor() as i32;
    if lower % 2 == 0 {
        lower -= 1;
    }
    let upper = lower + 2;
    let lower_f = lower as f32;
    let m = ((12.0 * sigma * sigma - n * lower_f * lower_f - 4.0 * n * lower_f - 3.0 * n) / (-4.0 * lower_f - 4.0))
        .round() as i32;
    let mut radii = [0usize; 3];
    for (i, radius) in radii.iter_mut().enumerate() {
        let size = if (i as i32) < m { lower } else { upper };
        *radius = ((size - 1) / 2).max(0) as usize;
    }
    radii
}

#[derive(Clone, Copy)]
struct Plane {
    width: usize,
    height: usize,
    channels: usize,
}

/// How often the loops look at the clock.
const ROWS_PER_CHECK: usize = 64;

impl Plane {
    fn row_len(&self) -> usize {
        self.width * self.channels
    }

    fn convolve_rows(&self, src: &[u8], kernel: &[f32], deadline: &Deadline) -> Result<Vec<u8>> {
        let (ch, radius) = (self.channels, kernel.len() / 2);
        let mut out = vec![0u8; src.len()];
        let mut padded = vec![0f32; (self.width + 2 * radius) * ch];
        let mut acc = vec![0f32; self.row_len()];
        for (y, (row, out_row)) in
            src.chunks_exact(self.row_len()).zip(out.chunks_exact_mut(self.row_len())).enumerate()
        {
            if y % ROWS_PER_CHECK == 0 {
                deadline.check()?;
            }
            for (x, px) in padded.chunks_exact_mut(ch).enumerate() {
                let sx = x.saturating_sub(radius).min(self.width - 1);
                for c in 0..ch {
                    px[c] = f32::from(row[sx * ch + c]);
                }
            }
            acc.iter_mut().for_each(|a| *a = 0.0);
            for (k, &weight) in kernel.iter().enumerate() {
                let shifted = &padded[k * ch..k * ch + acc.len()];
                for (a, &v) in acc.iter_mut().zip(shifted) {
                    *a += weight * v;
                }
            }
            for (o, &a) in out_row.iter_mut().zip(&acc) {
                *o = a.round().clamp(0.0, 255.0) as u8;
            }
        }
        Ok(out)
    }

    fn convolve_columns(&self, src: &[u8], kernel: &[f32], deadline: &Deadline) -> Result<Vec<u8>> {
        let radius = kernel.len() / 2;
        let len = self.row_len();
        let mut out = vec![0u8; src.len()];
        let mut acc = vec![0f32; len];
        for (y, out_row) in out.chunks_exact_mut(len).enumerate() {
            if y % ROWS_PER_CHECK == 0 {
                deadline.check()?;
            }
            acc.iter_mut().for_each(|a| *a = 0.0);
            for (k, &weight) in kernel.iter().enumerate() {
                let sy = (y + k).saturating_sub(radius).min(self.height - 1);
                for (a, &v) in acc.iter_mut().zip(&src[sy * len..(sy + 1) * len]) {
                    *a += weight * f32::from(v);
                }
            }
            for (o, &a) in out_row.iter_mut().zip(&acc) {
                *o = a.round().clamp(0.0, 255.0) as u8;
            }
        }
        Ok(out)
    }

    fn box_rows(&self, src: &[u8], radius: usize, deadline: &Deadline) -> Result<Vec<u8>> {
        let ch = self.channels;
        let window = (2 * radius + 1) as u32;
        let last = self.width - 1;
        let mut out = vec![0u8; src.len()];
        for (y, (row, out_row)) in
            src.chunks_exact(self.row_len()).zip(out.chunks_exact_mut(self.row_len())).enumerate()
        {
            if y % ROWS_PER_CHECK == 0 {
                deadline.check()?;
            }
            for c in 0..ch {
                let at = |x: usize| u32::from(row[x.min(last) * ch + c]);
                // Window [x - r, x + r] with edges clamped; start it at x = 0.
                let mut sum = at(0) * (radius as u32 + 1) + (1..=radius).map(at).sum::<u32>();
                for x in 0..self.width {
                    out_row[x * ch + c] = ((sum + window / 2) / window) as u8;
                    sum += at(x + radius + 1);
                    sum -= at(x.saturating_sub(radius));
                }
            }
        }
        Ok(out)
    }

    fn box_columns(&self, src: &[u8], radius: usize, deadline: &Deadline) -> Result<Vec<u8>> {
        let len = self.row_len();
        let window = (2 * radius + 1) as u32;
        let last = self.height - 1;
        let row = |y: usize| &src[y.min(last) * len..(y.min(last) + 1) * len];
        let mut sum: Vec<u32> = row(0).iter().map(|&v| u32::from(v) * (radius as u32 + 1)).collect();
        for y in 1..=radius {
            sum.iter_mut().zip(row(y)).for_each(|(s, &v)| *s += u32::from(v));
        }
        let mut out = vec![0u8; src.len()];
        for (y, out_row) in out.chunks_exact_mut(len).enumerate() {
            if y % ROWS_PER_CHECK == 0 {
                deadline.check()?;
            }
            for (o, &s) in out_row.iter_mut().zip(&sum) {
                *o = ((s + window / 2) / window) as u8;
            }
            let (add, sub) = (row(y + radius + 1), row(y.saturating_sub(radius)));
            for ((s, &a), &b) in sum.iter_mut().zip(add).zip(sub) {
                *s = *s + u32::from(a) - u32::from(b);
            }
        }
        Ok(out)
    }
}

fn premultiply(pixels: &mut [u8], channels: usize) {
    for px in pixels.chunks_exact_mut(channels) {
        let alpha = u32::from(px[channels - 1]);
        for v in &mut px[..channels - 1] {
            *v = ((u32::from(*v) * alpha + 127) / 255) as u8;
        }
    }
}

fn unpremultiply(pixels: &mut [u8], channels: usize) {
    for px in pixels.chunks_exact_mut(channels) {
        let alpha = u32::from(px[channels - 1]);
        if alpha == 0 {
            continue;
        }
        for v in &mut px[..channels - 1] {
            *v = ((u32::from(*v) * 255 + alpha / 2) / alpha).min(255) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{box_radii, gaussian_kernel};

    #[test]
    fn kernels_sum_to_one_and_are_symmetric() {
        for sigma in [0.3f32, 1.0, 2.5, 6.0] {
            let kernel = gaussian_kernel(sigma);
            assert!((kernel.iter().sum::<f32>() - 1.0).abs() < 1e-5);
            assert!(kernel.iter().zip(kernel.iter().rev()).all(|(a, b)| (a - b).abs() < 1e-7));
        }
    }

    #[test]
    fn three_boxes_have_the_variance_of_the_gaussian() {
        for sigma in [7.0f32, 12.0, 50.0, 200.0] {
            // A box of radius r has variance ((2r+1)^2 - 1) / 12; variances add.
            let variance: f32 = box_radii(sigma).iter().map(|&r| (((2 * r + 1).pow(2) - 1) as f32) / 12.0).sum();
            let relative = (variance.sqrt() - sigma).abs() / sigma;
            assert!(relative < 0.08, "sigma {sigma}: boxes give {}", variance.sqrt());
        }
    }
}
