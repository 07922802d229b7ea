//! Decoding untrusted bytes into pixels: sniff, check the header against [`Limits`], then
//! decode, applying EXIF orientation and shrinking JPEGs in the DCT domain when the caller
//! only needs a smaller image. Everything comes out as 8-bit L, LA, RGB or RGBA.

mod exif;
mod gif;
mod header;
mod jpeg;

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageReader};

use crate::error::{Error, Result};
use crate::format::Format;
use crate::limits::Limits;

/// The smallest size, in display orientation, that the caller will use. A decoder that can
/// produce a smaller image cheaply (JPEG's DCT scaling) stops at the first size that is at
/// least this big on both axes. Zero on an axis means "any size".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SizeHint {
    pub width: u32,
    pub height: u32,
}

/// What the header says, read without decoding any pixels.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Probe {
    pub format: Format,
    /// Width and height in display orientation (after EXIF rotation).
    pub width: u32,
    pub height: u32,
}

/// A decoded image and what we learnt on the way.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// 8-bit pixels, EXIF orientation applied.
    pub image: DynamicImage,
    pub format: Format,
    /// The source's size in display orientation, before any shrink-on-load.
    pub source_width: u32,
    pub source_height: u32,
    /// The shrink factor the decoder applied (1, 2, 4 or 8).
    pub shrink: u32,
    /// The embedded ICC profile, kept only if an encoder is asked to keep it.
    pub icc_profile: Option<Vec<u8>>,
}

/// Reads the format and size from the header, checking the limits; decodes no pixels.
pub fn probe(bytes: &[u8], limits: &Limits) -> Result<Probe> {
    let format = admit(bytes, limits)?;
    let (width, height) = match format {
        Format::Jpeg => jpeg::probe(bytes)?,
        _ => {
            let mut decoder = image_decoder(bytes, format, limits)?;
            let (w, h) = checked_size(format, decoder.dimensions())?;
            let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
            exif::oriented_size(w, h, orientation)
        }
    };
    limits.check_pixels(width, height)?;
    Ok(Probe { format, width, height })
}

/// Decodes untrusted bytes. `hint` enables shrink-on-load; `None` decodes at full size.
pub fn decode(bytes: &[u8], limits: &Limits, hint: Option<SizeHint>) -> Result<Decoded> {
    decode_with(bytes, limits, |_, _| hint)
}

/// Like [`decode`], with the hint computed from the source's size (display orientation)
/// once the header has been read: the header is parsed once, not once to probe and again
/// to decode.
pub fn decode_with(bytes: &[u8], limits: &Limits, hint: impl FnOnce(u32, u32) -> Option<SizeHint>) -> Result<Decoded> {
    let format = admit(bytes, limits)?;
    if format == Format::Jpeg {
        return jpeg::decode(bytes, limits, hint);
    }
    if format == Format::Gif {
        gif::check_frame_count(bytes, limits.max_frames)?;
    }
    let mut decoder = image_decoder(bytes, format, limits)?;
    let (width, height) = checked_size(format, decoder.dimensions())?;
    limits.check_pixels(width, height)?;
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let icc_profile = decoder.icc_profile().ok().flatten();
    let image = DynamicImage::from_decoder(decoder).map_err(|err| map_image_error(format, bytes, err))?;
    let mut image = to_8bit(image);
    image.apply_orientation(orientation);
    let (source_width, source_height) = (image.width(), image.height());
    Ok(Decoded { image, format, source_width, source_height, shrink: 1, icc_profile })
}

/// Checks what can be checked before a decoder library looks inside: emptiness, size, a
/// known magic, and the pixel count the header declares.
fn admit(bytes: &[u8], limits: &Limits) -> Result<Format> {
    if bytes.is_empty() {
        return Err(Error::Empty);
    }
    limits.check_input_bytes(bytes.len())?;
    let format = Format::sniff(bytes).ok_or(Error::UnsupportedFormat)?;
    if !format.can_decode() {
        return Err(Error::UnsupportedFormat);
    }
    if let Some((width, height)) = header::declared_size(bytes, format) {
        if width == 0 || height == 0 {
            return Err(Error::Corrupt {
                format: format.name(),
                detail: format!("the header declares a {width}x{height} image"),
            });
        }
        limits.check_pixels(width, height)?;
    }
    Ok(format)
}

/// A decoder that reports a zero side has misread its header; treat the file as corrupt.
fn checked_size(format: Format, (width, height): (u32, u32)) -> Result<(u32, u32)> {
    if width == 0 || height == 0 {
        return Err(Error::Corrupt {
            format: format.name(),
            detail: format!("the header declares a {width}x{height} image"),
        });
    }
    Ok((width, height))
}

fn image_decoder<'a>(bytes: &'a [u8], format: Format, limits: &Limits) -> Result<impl ImageDecoder + 'a> {
    let image_format = match format {
        Format::Png => image::ImageFormat::Png,
        Format::Webp => image::ImageFormat::WebP,
        Format::Gif => image::ImageFormat::Gif,
        Format::Bmp => image::ImageFormat::Bmp,
        Format::Tiff => image::ImageFormat::Tiff,
        Format::Jpeg | Format::Avif => return Err(Error::UnsupportedFormat),
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), image_format);
    reader.limits(image_limits(limits));
    reader.into_decoder().map_err(|err| map_image_error(format, bytes, err))
}

/// The decoder crates enforce these while parsing, so a header that lies about its size
/// cannot make them allocate more than our pixel limit allows (16-bit RGBA, the widest
/// layout we read, is 8 bytes a pixel).
fn image_limits(limits: &Limits) -> image::Limits {
    let side = u32::try_from(limits.max_pixels).unwrap_or(u32::MAX);
    let mut out = image::Limits::default();
    out.max_image_width = Some(side);
    out.max_image_height = Some(side);
    out.max_alloc = Some(limits.max_pixels.saturating_mul(8).saturating_add(16 << 20));
    out
}

fn map_image_error(format: Format, bytes: &[u8], err: image::ImageError) -> Error {
    use image::error::{ImageError, LimitErrorKind};
    let truncated = Error::Truncated { format: format.name() };
    match err {
        ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => truncated,
        // The header check in `admit` normally answers first; a decoder can still find a
        // larger size further in (a later IFD, a frame), so say the same thing here.
        ImageError::Limits(limit) if matches!(limit.kind(), LimitErrorKind::DimensionError) => {
            Error::Corrupt { format: format.name(), detail: "a size inside the file exceeds the pixel limit".into() }
        }
        ImageError::Limits(_) => Error::Corrupt {
            format: format.name(),
            detail: "decoding would need more memory than the pixel limit allows".into(),
        },
        _ if format == Format::Webp && header::riff_is_truncated(bytes) => truncated,
        other => {
            let detail = other.to_string();
            let lower = detail.to_ascii_lowercase();
            if lower.contains("end of file") || lower.contains("eof") || lower.contains("unexpected end") {
                truncated
            } else {
                Error::Corrupt { format: format.name(), detail }
            }
        }
    }
}

/// Narrows anything wider than 8 bits a channel: every op works on 8-bit pixels.
fn to_8bit(image: DynamicImage) -> DynamicImage {
    match image {
        DynamicImage::ImageLuma8(_)
        | DynamicImage::ImageLumaA8(_)
        | DynamicImage::ImageRgb8(_)
        | DynamicImage::ImageRgba8(_) => image,
        DynamicImage::ImageLuma16(_) => DynamicImage::ImageLuma8(image.to_luma8()),
        DynamicImage::ImageLumaA16(_) => DynamicImage::ImageLumaA8(image.to_luma_alpha8()),
        other if other.color().has_alpha() => DynamicImage::ImageRgba8(other.to_rgba8()),
        other => DynamicImage::ImageRgb8(other.to_rgb8()),
    }
}

#[cfg(test)]
mod tests;
