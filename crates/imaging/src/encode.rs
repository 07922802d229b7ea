//! Encoding pixels into bytes: JPEG (libjpeg-turbo via mozjpeg), PNG, WebP (libwebp) and,
//! with the `avif` feature, AVIF. Nothing from the source file is copied except, on request,
//! its ICC profile: EXIF (GPS positions included) and XMP are always dropped.

mod webp_mux;

use std::panic::{catch_unwind, AssertUnwindSafe};

use image::{DynamicImage, ImageEncoder};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{panic_message, Error, Result};
use crate::format::Format;

/// How an output image is written. The defaults suit the web: JPEG q80 4:2:0, metadata stripped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EncodeOptions {
    /// Output format. `None` keeps the input's format where it can be written, else PNG.
    pub format: Option<Format>,
    /// Lossy quality, 1..=100 (JPEG, lossy WebP, AVIF).
    #[schemars(range(min = 1, max = 100))]
    pub quality: u8,
    /// Progressive JPEG (loads coarse-to-fine; usually a little smaller).
    pub progressive: bool,
    /// JPEG chroma subsampling.
    pub subsampling: Subsampling,
    /// Lossless WebP instead of lossy.
    pub lossless: bool,
    /// PNG compression level, 0 (none) ..= 9 (smallest).
    #[schemars(range(max = 9))]
    pub compression: u8,
    /// Copy the source's ICC colour profile into the output (JPEG, PNG, WebP).
    pub keep_icc: bool,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            format: None,
            quality: 80,
            progressive: false,
            subsampling: Subsampling::Yuv420,
            lossless: false,
            compression: 6,
            keep_icc: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Subsampling {
    /// Chroma at half resolution both ways: the web default, smallest files.
    #[serde(rename = "4:2:0")]
    Yuv420,
    /// Full-resolution chroma: crisp coloured edges and text, larger files.
    #[serde(rename = "4:4:4")]
    Yuv444,
}

/// Writes `image` as `format`. The ICC profile is embedded only when `icc_profile` is given.
pub fn encode(
    image: &DynamicImage,
    format: Format,
    options: &EncodeOptions,
    icc_profile: Option<&[u8]>,
) -> Result<Vec<u8>> {
    let icc_profile = icc_profile.filter(|_| options.keep_icc);
    match format {
        Format::Jpeg => encode_jpeg(image, options, icc_profile),
        Format::Png => encode_png(image, options, icc_profile),
        Format::Webp => encode_webp(image, options, icc_profile),
        Format::Avif => encode_avif(image, options),
        Format::Gif | Format::Bmp | Format::Tiff => Err(Error::Encode {
            format: format.name(),
            detail: "writing this format is not supported; use jpeg, png, webp or avif".into(),
        }),
    }
}

/// The format an output gets when the pipeline does not choose one.
pub fn default_output_format(input: Format) -> Format {
    if input.can_encode() {
        input
    } else {
        Format::Png
    }
}

fn encode_jpeg(image: &DynamicImage, options: &EncodeOptions, icc_profile: Option<&[u8]>) -> Result<Vec<u8>> {
    use mozjpeg::{ColorSpace, Compress};
    let (pixels, color_space) = match image {
        DynamicImage::ImageLuma8(gray) => (gray.as_raw().clone(), ColorSpace::JCS_GRAYSCALE),
        DynamicImage::ImageRgb8(rgb) => (rgb.as_raw().clone(), ColorSpace::JCS_RGB),
        // JPEG has no alpha: composite over white, as browsers show a transparent PNG on a page.
        other => match flatten_on_white(other) {
            DynamicImage::ImageLuma8(gray) => (gray.into_raw(), ColorSpace::JCS_GRAYSCALE),
            flat => (flat.into_rgb8().into_raw(), ColorSpace::JCS_RGB),
        },
    };
    let (width, height) = (image.width() as usize, image.height() as usize);
    let quality = f32::from(options.quality.clamp(1, 100));
    let result = catch_unwind(AssertUnwindSafe(|| -> std::io::Result<Vec<u8>> {
        let mut compress = Compress::new(color_space);
        // libjpeg-turbo's settings, not mozjpeg's slow trellis search: thumbnails are served
        // on demand, and the speed is worth more than the last 5 % of bytes.
        compress.set_fastest_defaults();
        compress.set_size(width, height);
        compress.set_quality(quality);
        compress.set_optimize_coding(true);
        if options.progressive {
            compress.set_progressive_mode();
        }
        if color_space == ColorSpace::JCS_RGB {
            let px = match options.subsampling {
                Subsampling::Yuv420 => (2, 2),
                Subsampling::Yuv444 => (1, 1),
            };
            compress.set_chroma_sampling_pixel_sizes(px, px);
        }
        let mut started = compress.start_compress(Vec::with_capacity(width * height / 4 + 1024))?;
        if let Some(icc) = icc_profile {
            started.write_icc_profile(icc);
        }
        started.write_scanlines(&pixels)?;
        started.finish()
    }));
    match result {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(err)) => Err(Error::Encode { format: "JPEG", detail: err.to_string() }),
        Err(payload) => Err(Error::Encode {
            format: "JPEG",
            detail: panic_message(payload.as_ref()).unwrap_or_else(|| "the encoder failed".into()),
        }),
    }
}

fn encode_png(image: &DynamicImage, options: &EncodeOptions, icc_profile: Option<&[u8]>) -> Result<Vec<u8>> {
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    let compression = match options.compression {
        0 => CompressionType::Uncompressed,
        level => CompressionType::Level(level.min(9)),
    };
    let mut out = Vec::new();
    let mut encoder = PngEncoder::new_with_quality(&mut out, compression, FilterType::Adaptive);
    if let Some(icc) = icc_profile {
        // A malformed profile is dropped rather than failing the whole image.
        let _ = encoder.set_icc_profile(icc.to_vec());
    }
    encoder
        .write_image(image.as_bytes(), image.width(), image.height(), image.color().into())
        .map_err(|err| Error::Encode { format: "PNG", detail: err.to_string() })?;
    Ok(out)
}

fn encode_webp(image: &DynamicImage, options: &EncodeOptions, icc_profile: Option<&[u8]>) -> Result<Vec<u8>> {
    // WebP stores sides in 14 bits. Over that is the request's fault, not ours.
    const MAX_SIDE: u32 = 16_383;
    if image.width() > MAX_SIDE || image.height() > MAX_SIDE {
        return Err(Error::OutputTooLarge {
            width: image.width().into(),
            height: image.height().into(),
            limit: MAX_SIDE,
        });
    }
    let has_alpha = image.color().has_alpha();
    let pixels = if has_alpha { image.to_rgba8().into_raw() } else { image.to_rgb8().into_raw() };
    let layout = if has_alpha { webp::PixelLayout::Rgba } else { webp::PixelLayout::Rgb };
    let encoder = webp::Encoder::new(&pixels, layout, image.width(), image.height());
    let webp_error = |detail: String| Error::Encode { format: "WebP", detail };
    let mut config = webp::WebPConfig::new().map_err(|()| webp_error("libwebp rejected its default config".into()))?;
    config.lossless = i32::from(options.lossless);
    // Lossless means every pixel, including the colour under fully transparent ones.
    config.exact = i32::from(options.lossless);
    config.quality = if options.lossless { 75.0 } else { f32::from(options.quality.clamp(1, 100)) };
    let encoded = encoder.encode_advanced(&config).map_err(|err| webp_error(format!("{err:?}")))?;
    let bytes = encoded.to_vec();
    if bytes.is_empty() {
        return Err(webp_error("libwebp produced no output".into()));
    }
    match icc_profile {
        Some(icc) => webp_mux::with_icc_profile(&bytes, icc, image.width(), image.height(), has_alpha)
            .ok_or_else(|| Error::Encode { format: "WebP", detail: "could not embed the ICC profile".into() }),
        None => Ok(bytes),
    }
}

#[cfg(feature = "avif")]
fn encode_avif(image: &DynamicImage, options: &EncodeOptions) -> Result<Vec<u8>> {
    use image::codecs::avif::AvifEncoder;
    let mut out = Vec::new();
    let rgba = image.to_rgba8();
    AvifEncoder::new_with_speed_quality(&mut out, 8, options.quality.clamp(1, 100))
        .write_image(rgba.as_raw(), rgba.width(), rgba.height(), image::ExtendedColorType::Rgba8)
        .map_err(|err| Error::Encode { format: "AVIF", detail: err.to_string() })?;
    Ok(out)
}

#[cfg(not(feature = "avif"))]
fn encode_avif(_image: &DynamicImage, _options: &EncodeOptions) -> Result<Vec<u8>> {
    Err(Error::Encode { format: "AVIF", detail: "this build has no AVIF encoder (cargo feature `avif`)".into() })
}

/// Composites an image with alpha over opaque white, keeping grey images grey.
pub(crate) fn flatten_on_white(image: &DynamicImage) -> DynamicImage {
    crate::ops::color::flatten(image, [255, 255, 255])
}

#[cfg(test)]
mod tests;
