//! The compact options of signed transform URLs (`rs:cover:300:200/bl:2/q:80`): parsing them
//! into a [`Pipeline`] through the ops' own validation, and spelling them back, canonically
//! for cache keys and compactly for links. The syntax reference is `docs/transform-urls.md`.

mod segment;
mod spell;

use serde_json::{Map, Value};

use self::segment::{parse_segment, Parsed};
use self::spell::{spell, Form};
use super::Pipeline;
use crate::encode::EncodeOptions;
use crate::error::Error;
use crate::format::Format;
use crate::ops::{Op, OpName};

/// Bump when encoded bytes change for the same options and source (a codec upgrade, new
/// encoder defaults, an op drawing different pixels): it is part of [`UrlOptions::canonical`],
/// so cached outputs keyed on it miss instead of serving stale bytes.
pub const ENCODER_VERSION: u32 = 1;

/// Longest options string accepted, in bytes.
pub const MAX_OPTIONS_LEN: usize = 1024;

/// Most `/`-separated segments accepted, `q` and `exp` included.
pub const MAX_SEGMENTS: usize = 16;

/// Segment text longer than this is cut short in error messages.
const MAX_SHOWN: usize = 32;

/// Options read from a transform URL. Only [`parse_url_options`] makes one, so every value
/// can be spelled back as a URL: the fields are private to keep it that way.
#[derive(Debug, Clone, PartialEq)]
pub struct UrlOptions {
    /// The ops in URL order, then one `convert` step with the quality and (unless `auto`) the format.
    pipeline: Pipeline,
    output: UrlFormat,
    expires: Option<u64>,
}

/// The output format a URL asks for with its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UrlFormat {
    /// `.auto`: the server chooses per request; see [`UrlFormat::negotiate`].
    Auto,
    /// `.jpg`/`.jpeg`, `.png`, `.webp` or `.avif`.
    Fixed(Format),
}

/// Why an options string was refused: where (`segment 2 (`bl:abc`)`, `extension`, or empty
/// for the string as a whole) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", if place.is_empty() { String::new() } else { format!("{place}: ") })]
pub struct UrlOptionsError {
    pub place: String,
    pub message: String,
}

impl UrlOptionsError {
    fn new(place: impl Into<String>, message: impl Into<String>) -> Self {
        UrlOptionsError { place: place.into(), message: message.into() }
    }
}

/// A URL the server refuses is a bad request like any invalid pipeline: same code, same kind.
impl From<UrlOptionsError> for Error {
    fn from(err: UrlOptionsError) -> Self {
        Error::InvalidPipeline(super::PipelineError::new(err.place, err.message))
    }
}

/// Parses the `{options}` part of `/t/{signature}/{options}/{image_id}.{ext}` and the
/// extension (`jpg`, `jpeg`, `png`, `webp`, `avif` or `auto`). Never panics, whatever the text.
pub fn parse_url_options(options: &str, ext: &str) -> Result<UrlOptions, UrlOptionsError> {
    if options.len() > MAX_OPTIONS_LEN {
        let message = format!("the options are {} bytes, over the limit of {MAX_OPTIONS_LEN}", options.len());
        return Err(UrlOptionsError::new("", message));
    }
    if options.is_empty() {
        return Err(UrlOptionsError::new("", "the options are empty: give at least one segment, e.g. `q:80`"));
    }
    let output = parse_extension(ext)?;
    let texts: Vec<&str> = options.split('/').collect();
    if texts.len() > MAX_SEGMENTS {
        let message = format!("{} segments, over the limit of {MAX_SEGMENTS}", texts.len());
        return Err(UrlOptionsError::new("", message));
    }
    let mut steps = Vec::with_capacity(texts.len() + 1);
    let (mut quality, mut expires) = (None::<(usize, u8)>, None);
    for (index, text) in texts.iter().enumerate() {
        let number = index + 1;
        if let Some(bad) = text.chars().find(|&c| !allowed(c)) {
            let message = format!(
                "`{}` is not allowed; options use lowercase letters, digits, `:`, `.`, `-` and `_`",
                bad.escape_default()
            );
            return Err(UrlOptionsError::new(format!("segment {number}"), message));
        }
        if text.is_empty() {
            return Err(UrlOptionsError::new(
                "",
                format!("segment {number} is empty (a doubled, leading or trailing `/`)"),
            ));
        }
        let place = || format!("segment {number} (`{}`)", shown(text));
        match parse_segment(text).map_err(|message| UrlOptionsError::new(place(), message))? {
            Parsed::Op(op) => steps.push(op),
            Parsed::Quality(value) => {
                if let Some((first, _)) = quality {
                    return Err(UrlOptionsError::new(place(), format!("quality is already set by segment {first}")));
                }
                quality = Some((number, value));
            }
            Parsed::Expires(at) => {
                if number != texts.len() {
                    return Err(UrlOptionsError::new(place(), "the expiry must be the last segment"));
                }
                expires = Some(at);
            }
        }
    }
    steps.push(convert_step(output, quality.map(|(_, value)| value))?);
    let pipeline = Pipeline::from_ops(steps).map_err(|err| UrlOptionsError::new("", err.to_string()))?;
    Ok(UrlOptions { pipeline, output, expires })
}

impl UrlOptions {
    /// The ops to run, ending in a `convert` step; for `auto` that step names no format, so
    /// run [`UrlOptions::pipeline_for`] the negotiated one instead.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    pub fn output(&self) -> UrlFormat {
        self.output
    }

    /// The `exp` segment: Unix seconds after which the URL is no longer served.
    pub fn expires(&self) -> Option<u64> {
        self.expires
    }

    /// Whether the URL has expired at `now` (Unix seconds). It is good through its last second.
    pub fn is_expired_at(&self, now: u64) -> bool {
        self.expires.is_some_and(|expires| now > expires)
    }

    /// The pipeline, writing `format`: what to run once `auto` has been negotiated.
    pub fn pipeline_for(&self, format: Format) -> Pipeline {
        let mut pipeline = self.pipeline.clone();
        if let Some(Op::Convert(convert)) = pipeline.steps.iter_mut().rev().find(|op| matches!(op, Op::Convert(_))) {
            convert.0.format = Some(format);
        }
        pipeline
    }

    /// One string for every URL that asks for the same output: short names, normalized
    /// numbers, every argument explicit, the quality, the format and [`ENCODER_VERSION`].
    /// The expiry is left out because it does not change the bytes. For `auto` this names
    /// `fmt:auto`: key a cache on [`UrlOptions::canonical_for`] the negotiated format instead.
    pub fn canonical(&self) -> String {
        self.canonical_with(self.output)
    }

    /// [`UrlOptions::canonical`] as if the URL had asked for `format`, so an `auto` URL
    /// negotiated to WebP shares its cache entry with the same URL ending in `.webp`.
    pub fn canonical_for(&self, format: Format) -> String {
        self.canonical_with(UrlFormat::Fixed(format))
    }

    /// The shortest options string that parses back to these options (with the extension
    /// [`UrlFormat::extension`]): short names, defaults left off, the expiry last.
    pub fn to_path(&self) -> String {
        let mut segments: Vec<String> = self.pipeline.steps.iter().filter_map(|op| spell(op, Form::Compact)).collect();
        let quality = self.quality();
        // A URL needs at least one segment: an options string with no ops spells its quality.
        if quality != EncodeOptions::default().quality || segments.is_empty() {
            segments.push(format!("q:{quality}"));
        }
        if let Some(expires) = self.expires {
            segments.push(format!("exp:{expires}"));
        }
        segments.join("/")
    }

    fn canonical_with(&self, output: UrlFormat) -> String {
        let mut segments = vec![format!("enc:{ENCODER_VERSION}")];
        segments.extend(self.pipeline.steps.iter().filter_map(|op| spell(op, Form::Explicit)));
        segments.push(format!("q:{}", self.quality()));
        segments.push(format!("fmt:{}", output.name()));
        segments.join("/")
    }

    fn quality(&self) -> u8 {
        self.pipeline.encode_options().map_or(EncodeOptions::default().quality, |options| options.quality)
    }
}

impl UrlFormat {
    /// The extension a URL for this output ends in (`jpg` for JPEG).
    pub fn extension(self) -> &'static str {
        match self {
            UrlFormat::Auto => "auto",
            UrlFormat::Fixed(format) => format.extension(),
        }
    }

    /// The format to write for a client that accepts AVIF and/or WebP (from its `Accept`
    /// header) and a source with or without alpha. `auto` prefers AVIF (when this build
    /// writes it), then WebP, then PNG for sources with alpha and JPEG for the rest.
    pub fn negotiate(self, accepts_avif: bool, accepts_webp: bool, source_has_alpha: bool) -> Format {
        match self {
            UrlFormat::Fixed(format) => format,
            UrlFormat::Auto if accepts_avif && Format::Avif.can_encode() => Format::Avif,
            UrlFormat::Auto if accepts_webp => Format::Webp,
            UrlFormat::Auto if source_has_alpha => Format::Png,
            UrlFormat::Auto => Format::Jpeg,
        }
    }

    fn name(self) -> &'static str {
        match self {
            UrlFormat::Auto => "auto",
            UrlFormat::Fixed(format) => format.as_str(),
        }
    }
}

fn convert_step(output: UrlFormat, quality: Option<u8>) -> Result<Op, UrlOptionsError> {
    let mut params = Map::new();
    if let UrlFormat::Fixed(format) = output {
        params.insert("format".into(), Value::from(format.as_str()));
    }
    if let Some(quality) = quality {
        params.insert("quality".into(), Value::from(quality));
    }
    // The field is the format, which the place already names.
    Op::parse(OpName::Convert, Value::Object(params)).map_err(|err| UrlOptionsError::new("extension", err.message))
}

fn parse_extension(ext: &str) -> Result<UrlFormat, UrlOptionsError> {
    let unknown = || {
        let shown: String = ext.chars().take(MAX_SHOWN).flat_map(char::escape_default).collect();
        let message = format!("`{shown}` is not an output format; use jpg, jpeg, png, webp, avif or auto");
        UrlOptionsError::new("extension", message)
    };
    // Lowercase only, so one output has one spelling; `Format::from_name` would fold case.
    if ext.is_empty() || !ext.bytes().all(|b| b.is_ascii_lowercase()) {
        return Err(unknown());
    }
    if ext == "auto" {
        return Ok(UrlFormat::Auto);
    }
    Format::from_name(ext).map(UrlFormat::Fixed).ok_or_else(unknown)
}

fn allowed(c: char) -> bool {
    matches!(c, 'a'..='z' | '0'..='9' | ':' | '.' | '-' | '_')
}

/// A segment as quoted in a message: at most [`MAX_SHOWN`] characters, escaped.
fn shown(text: &str) -> String {
    let mut out: String = text.chars().take(MAX_SHOWN).flat_map(char::escape_default).collect();
    if text.chars().nth(MAX_SHOWN).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests;
