//! JPEG decoding through libjpeg-turbo (mozjpeg's build of it), with shrink-on-load: the
//! IDCT produces 1/2, 1/4 or 1/8 of the size directly, which is most of what makes
//! thumbnailing fast and keeps memory at the size of the shrunk image.

use std::panic::{catch_unwind, AssertUnwindSafe};

use image::{DynamicImage, GrayImage, RgbImage};
use mozjpeg::{Decompress, Marker};

use super::exif::{orientation_from_app1, oriented_size, swaps_axes};
use super::{Decoded, SizeHint};
use crate::error::{Error, Result};
use crate::format::Format;
use crate::limits::Limits;

const MARKERS: &[Marker] = &[Marker::APP(1), Marker::APP(2), Marker::APP(14)];

pub(super) fn probe(bytes: &[u8]) -> Result<(u32, u32)> {
    guarded(|| {
        let decompress = open(bytes)?;
        let (width, height) = declared_size(&decompress)?;
        let orientation = orientation(&decompress);
        Ok(oriented_size(width, height, orientation))
    })
}

/// `hint` gets the size in display orientation once the header is read, and answers with
/// the smallest size the caller needs.
pub(super) fn decode(
    bytes: &[u8],
    limits: &Limits,
    hint: impl FnOnce(u32, u32) -> Option<SizeHint>,
) -> Result<Decoded> {
    guarded(|| decode_unguarded(bytes, limits, hint))
}

fn decode_unguarded(bytes: &[u8], limits: &Limits, hint: impl FnOnce(u32, u32) -> Option<SizeHint>) -> Result<Decoded> {
    let mut decompress = open(bytes)?;
    let (width, height) = declared_size(&decompress)?;
    limits.check_pixels(width, height)?;
    let orientation = orientation(&decompress);
    let icc_profile = icc_profile(&decompress);
    let adobe_inverted = decompress.markers().any(|m| m.marker == Marker::APP(14) && m.data.starts_with(b"Adobe"));

    let (source_width, source_height) = oriented_size(width, height, orientation);
    // The hint is in display orientation; the decoder works in stored orientation.
    let hint = hint(source_width, source_height).map(|h| {
        if swaps_axes(orientation) {
            SizeHint { width: h.height, height: h.width }
        } else {
            h
        }
    });
    let numerator = scale_numerator(width, height, hint);
    decompress.scale(numerator);
    let shrink = 8 / u32::from(numerator);

    let image = match decompress.image().map_err(io_error)? {
        mozjpeg::Format::RGB(mut started) => {
            let (w, h) = (started.width() as u32, started.height() as u32);
            let pixels = started.read_scanlines::<u8>().map_err(io_error)?;
            started.finish().map_err(io_error)?;
            DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, pixels).ok_or_else(short_read)?)
        }
        mozjpeg::Format::Gray(mut started) => {
            let (w, h) = (started.width() as u32, started.height() as u32);
            let pixels = started.read_scanlines::<u8>().map_err(io_error)?;
            started.finish().map_err(io_error)?;
            DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, pixels).ok_or_else(short_read)?)
        }
        mozjpeg::Format::CMYK(mut started) => {
            let (w, h) = (started.width() as u32, started.height() as u32);
            let cmyk = started.read_scanlines::<[u8; 4]>().map_err(io_error)?;
            started.finish().map_err(io_error)?;
            let rgb = cmyk_to_rgb(&cmyk, adobe_inverted);
            DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, rgb).ok_or_else(short_read)?)
        }
    };
    let mut image = image;
    image.apply_orientation(orientation);
    Ok(Decoded { image, format: Format::Jpeg, source_width, source_height, shrink, icc_profile })
}

/// The smallest of 1/8, 2/8, 4/8, 8/8 whose output still covers the hint on both axes.
/// Shrinking only starts at 1/2, so a target just under the source size keeps full quality.
fn scale_numerator(width: u32, height: u32, hint: Option<SizeHint>) -> u8 {
    let Some(hint) = hint else { return 8 };
    for numerator in [1u8, 2, 4] {
        let scaled_w = (u64::from(width) * u64::from(numerator)).div_ceil(8);
        let scaled_h = (u64::from(height) * u64::from(numerator)).div_ceil(8);
        if scaled_w >= u64::from(hint.width) && scaled_h >= u64::from(hint.height) {
            return numerator;
        }
    }
    8
}

fn open(bytes: &[u8]) -> Result<Decompress<&[u8]>> {
    Decompress::builder().with_err(strict::error_mgr()).with_markers(MARKERS).from_mem(bytes).map_err(io_error)
}

fn declared_size(decompress: &Decompress<&[u8]>) -> Result<(u32, u32)> {
    let (w, h) = decompress.size();
    match (u32::try_from(w), u32::try_from(h)) {
        (Ok(w), Ok(h)) if w > 0 && h > 0 => Ok((w, h)),
        _ => Err(Error::Corrupt { format: "JPEG", detail: format!("invalid dimensions {w}x{h}") }),
    }
}

fn orientation(decompress: &Decompress<&[u8]>) -> image::metadata::Orientation {
    decompress
        .markers()
        .find(|m| m.marker == Marker::APP(1) && m.data.starts_with(b"Exif\0\0"))
        .map(|m| orientation_from_app1(m.data))
        .unwrap_or(image::metadata::Orientation::NoTransforms)
}

/// Reassembles an ICC profile split over APP2 chunks ("ICC_PROFILE\0", seq, count, data).
fn icc_profile(decompress: &Decompress<&[u8]>) -> Option<Vec<u8>> {
    let mut chunks: Vec<(u8, &[u8])> = decompress
        .markers()
        .filter(|m| m.marker == Marker::APP(2) && m.data.len() > 14 && m.data.starts_with(b"ICC_PROFILE\0"))
        .map(|m| (m.data[12], &m.data[14..]))
        .collect();
    if chunks.is_empty() {
        return None;
    }
    chunks.sort_by_key(|(seq, _)| *seq);
    Some(chunks.into_iter().flat_map(|(_, data)| data.iter().copied()).collect())
}

/// Photoshop writes inverted CMYK (255 = no ink) and says so in an Adobe APP14 segment.
fn cmyk_to_rgb(cmyk: &[[u8; 4]], inverted: bool) -> Vec<u8> {
    let mut rgb = Vec::with_capacity(cmyk.len() * 3);
    for &[c, m, y, k] in cmyk {
        let (c, m, y, k) = if inverted { (c, m, y, k) } else { (255 - c, 255 - m, 255 - y, 255 - k) };
        let k = u16::from(k);
        rgb.extend_from_slice(&[
            (u16::from(c) * k / 255) as u8,
            (u16::from(m) * k / 255) as u8,
            (u16::from(y) * k / 255) as u8,
        ]);
    }
    rgb
}

fn short_read() -> Error {
    Error::Truncated { format: "JPEG" }
}

fn io_error(err: std::io::Error) -> Error {
    match err.kind() {
        std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::WouldBlock => Error::Truncated { format: "JPEG" },
        std::io::ErrorKind::OutOfMemory => {
            Error::Corrupt { format: "JPEG", detail: "not enough memory for the declared size".into() }
        }
        _ => Error::Corrupt { format: "JPEG", detail: err.to_string() },
    }
}

/// libjpeg reports fatal errors by unwinding out of its callbacks; this turns that unwind
/// back into a typed error. Nothing else may panic in here, so nothing else is swallowed.
fn guarded<T>(work: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(work)) {
        Ok(result) => result,
        Err(payload) => match payload.downcast::<strict::Fault>() {
            Ok(fault) => Err(fault.into_error()),
            Err(payload) => std::panic::resume_unwind(payload),
        },
    }
}

/// An error manager stricter than libjpeg's default: a file that ends early is an error,
/// not a grey-padded image, so a truncated upload is refused instead of stored half grey.
#[allow(unsafe_code)]
mod strict {
    use std::os::raw::c_int;

    use mozjpeg_sys as ffi;

    use crate::error::Error;

    pub(super) enum Fault {
        Truncated,
        Fatal(String),
    }

    impl Fault {
        pub(super) fn into_error(self) -> Error {
            match self {
                Fault::Truncated => Error::Truncated { format: "JPEG" },
                Fault::Fatal(detail) => Error::Corrupt { format: "JPEG", detail },
            }
        }
    }

    pub(super) fn error_mgr() -> ffi::jpeg_error_mgr {
        // SAFETY: jpeg_error_mgr is a plain C struct for which all-zero is a valid value,
        // and jpeg_std_error only fills in its fields.
        let mut err: ffi::jpeg_error_mgr = unsafe { std::mem::zeroed() };
        unsafe { ffi::jpeg_std_error(&mut err) };
        err.error_exit = Some(error_exit);
        err.emit_message = Some(emit_message);
        err.output_message = Some(output_message);
        err
    }

    extern "C-unwind" fn error_exit(cinfo: &mut ffi::jpeg_common_struct) {
        // SAFETY: libjpeg sets `err` before any call that can fail, and it outlives cinfo's use.
        let code = unsafe { (*cinfo.err).msg_code };
        let fault = if code == ffi::JERR_INPUT_EOF as c_int { Fault::Truncated } else { Fault::Fatal(message(cinfo)) };
        std::panic::resume_unwind(Box::new(fault));
    }

    extern "C-unwind" fn emit_message(cinfo: &mut ffi::jpeg_common_struct, level: c_int) {
        // SAFETY: as above.
        let code = unsafe { (*cinfo.err).msg_code };
        // Level -1 is a warning. Running out of data is the one we refuse; others (stray
        // bytes before a marker and the like) are tolerated, as browsers tolerate them.
        if level < 0 && code == ffi::JWRN_JPEG_EOF as c_int {
            std::panic::resume_unwind(Box::new(Fault::Truncated));
        }
    }

    extern "C-unwind" fn output_message(_cinfo: &mut ffi::jpeg_common_struct) {}

    fn message(cinfo: &mut ffi::jpeg_common_struct) -> String {
        // SAFETY: `err` is valid (see above); format_message writes at most 80 bytes, the
        // JMSG_LENGTH_MAX of libjpeg, into the buffer it is given.
        unsafe {
            let err = &*cinfo.err;
            let Some(format_message) = err.format_message else {
                return format!("libjpeg error {}", err.msg_code);
            };
            let buffer = [0u8; 80];
            format_message(cinfo, &buffer);
            let text = buffer.split(|&c| c == 0).next().unwrap_or_default();
            String::from_utf8_lossy(text).into_owned()
        }
    }
}
