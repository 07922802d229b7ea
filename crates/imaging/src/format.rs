//! Image formats, and sniffing them from magic bytes. A file's name and a request's
//! `Content-Type` are never consulted: bytes are the only truth.

use serde::{Deserialize, Serialize};

/// The formats atelier reads. Writing is narrower: see [`Format::can_encode`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    #[serde(alias = "jpg")]
    Jpeg,
    Png,
    Webp,
    Gif,
    Bmp,
    #[serde(alias = "tif")]
    Tiff,
    Avif,
}

impl Format {
    /// Identifies the format from the first bytes, or `None` when they match nothing we read.
    pub fn sniff(bytes: &[u8]) -> Option<Format> {
        match bytes {
            [0xFF, 0xD8, 0xFF, ..] => Some(Format::Jpeg),
            [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some(Format::Png),
            [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Some(Format::Webp),
            [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some(Format::Gif),
            [b'B', b'M', ..] if bytes.len() >= 26 => Some(Format::Bmp),
            [b'I', b'I', 0x2A, 0x00, ..] | [b'M', b'M', 0x00, 0x2A, ..] => Some(Format::Tiff),
            [_, _, _, _, b'f', b't', b'y', b'p', b'a', b'v', b'i', b'f' | b's', ..] => Some(Format::Avif),
            _ => None,
        }
    }

    /// The lowercase name used in pipelines, JSON and stored records (`jpeg`, `png`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Jpeg => "jpeg",
            Format::Png => "png",
            Format::Webp => "webp",
            Format::Gif => "gif",
            Format::Bmp => "bmp",
            Format::Tiff => "tiff",
            Format::Avif => "avif",
        }
    }

    /// Reads a name as [`Format::as_str`] writes it, or a file extension (`jpg`, `tif`).
    pub fn from_name(text: &str) -> Option<Format> {
        const ALL: [Format; 7] =
            [Format::Jpeg, Format::Png, Format::Webp, Format::Gif, Format::Bmp, Format::Tiff, Format::Avif];
        let text = text.to_ascii_lowercase();
        let text = if text == "tif" { "tiff".to_string() } else { text };
        ALL.into_iter().find(|format| format.as_str() == text || format.extension() == text)
    }

    pub fn name(self) -> &'static str {
        match self {
            Format::Jpeg => "JPEG",
            Format::Png => "PNG",
            Format::Webp => "WebP",
            Format::Gif => "GIF",
            Format::Bmp => "BMP",
            Format::Tiff => "TIFF",
            Format::Avif => "AVIF",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Jpeg => "jpg",
            Format::Png => "png",
            Format::Webp => "webp",
            Format::Gif => "gif",
            Format::Bmp => "bmp",
            Format::Tiff => "tiff",
            Format::Avif => "avif",
        }
    }

    pub fn mime_type(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Webp => "image/webp",
            Format::Gif => "image/gif",
            Format::Bmp => "image/bmp",
            Format::Tiff => "image/tiff",
            Format::Avif => "image/avif",
        }
    }

    /// Whether this build can write the format. AVIF needs the `avif` cargo feature.
    pub fn can_encode(self) -> bool {
        match self {
            Format::Jpeg | Format::Png | Format::Webp => true,
            Format::Avif => cfg!(feature = "avif"),
            Format::Gif | Format::Bmp | Format::Tiff => false,
        }
    }

    /// Whether this build can read the format. AVIF decoding is not offered: it would pull
    /// in a C decoder (dav1d) for a format that is rarely uploaded.
    pub fn can_decode(self) -> bool {
        !matches!(self, Format::Avif)
    }
}

#[cfg(test)]
mod tests {
    use super::Format;

    #[test]
    fn sniffing_reads_magic_bytes_and_nothing_else() {
        let cases: &[(&[u8], Option<Format>)] = &[
            (b"\xFF\xD8\xFF\xE0\x00\x10JFIF", Some(Format::Jpeg)),
            (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", Some(Format::Png)),
            (b"RIFF\x24\0\0\0WEBPVP8 ", Some(Format::Webp)),
            (b"GIF89a\x01\0\x01\0", Some(Format::Gif)),
            (b"GIF87a\x01\0\x01\0", Some(Format::Gif)),
            (b"BM\x3a\0\0\0\0\0\0\0\x36\0\0\0\x28\0\0\0\x01\0\0\0\x01\0\0\0", Some(Format::Bmp)),
            (b"II*\0\x08\0\0\0", Some(Format::Tiff)),
            (b"MM\0*\0\0\0\x08", Some(Format::Tiff)),
            (b"\0\0\0\x1cftypavif", Some(Format::Avif)),
            (b"", None),
            (b"\xFF\xD8", None),
            (b"BM", None),
            (b"<svg xmlns=", None),
            (b"%PDF-1.7", None),
            (b"RIFF\x24\0\0\0WAVEfmt ", None),
        ];
        for (bytes, expected) in cases {
            assert_eq!(Format::sniff(bytes), *expected, "{:?}", String::from_utf8_lossy(bytes));
        }
    }

    #[test]
    fn names_and_extensions_read_back_as_the_serde_names() {
        for (text, expected) in [
            ("jpeg", Some(Format::Jpeg)),
            ("JPG", Some(Format::Jpeg)),
            ("tif", Some(Format::Tiff)),
            ("webp", Some(Format::Webp)),
            ("exe", None),
        ] {
            assert_eq!(Format::from_name(text), expected, "{text}");
        }
        for format in [Format::Jpeg, Format::Png, Format::Webp, Format::Gif, Format::Bmp, Format::Tiff, Format::Avif] {
            assert_eq!(serde_json::to_value(format).unwrap(), format.as_str());
        }
    }
}
