//! Reading one segment of a transform URL's options (`rs:cover:300:200`): its name, its
//! arguments as typed values, and the op they make, validated by [`Op::parse`] as pipeline
//! documents are.

use serde_json::{Map, Value};

use super::shown;
use crate::ops::{FieldError, Op, OpName};

/// Longest argument: room for any u64 (an expiry), any useful decimal and every enum name,
/// while keeping what a hostile URL can make us parse and echo small.
const MAX_ARG_LEN: usize = 20;

/// The kinds of segment, each with a short and a long name. A closed set, matched once to
/// build each op, so a new kind is listed by the compiler everywhere it matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Segment {
    Resize,
    Thumbnail,
    Crop,
    Rotate,
    Flip,
    Blur,
    Sharpen,
    Grayscale,
    Adjust,
    Brightness,
    Contrast,
    Saturation,
    Gamma,
    Quality,
    Expires,
}

impl Segment {
    const ALL: &'static [Segment] = &[
        Segment::Resize,
        Segment::Thumbnail,
        Segment::Crop,
        Segment::Rotate,
        Segment::Flip,
        Segment::Blur,
        Segment::Sharpen,
        Segment::Grayscale,
        Segment::Adjust,
        Segment::Brightness,
        Segment::Contrast,
        Segment::Saturation,
        Segment::Gamma,
        Segment::Quality,
        Segment::Expires,
    ];

    /// (short, long) names, and the arguments as a usage line.
    fn names(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Segment::Resize => ("rs", "resize", "rs:{fit}:{width}:{height}[:{gravity}]"),
            Segment::Thumbnail => ("th", "thumbnail", "th:{width}:{height}"),
            Segment::Crop => ("c", "crop", "c:{x}:{y}:{width}:{height} or c:{gravity}:{width}:{height}"),
            Segment::Rotate => ("rot", "rotate", "rot:{angle}"),
            Segment::Flip => ("fl", "flip", "fl:h, fl:v or fl:hv"),
            Segment::Blur => ("bl", "blur", "bl:{sigma}"),
            Segment::Sharpen => ("sh", "sharpen", "sh:{amount}[:{sigma}[:{threshold}]]"),
            Segment::Grayscale => ("gs", "grayscale", "gs"),
            Segment::Adjust => ("adj", "adjust", "adj:{brightness}[:{contrast}[:{saturation}[:{gamma}]]]"),
            Segment::Brightness => ("br", "brightness", "br:{brightness}"),
            Segment::Contrast => ("co", "contrast", "co:{contrast}"),
            Segment::Saturation => ("sat", "saturation", "sat:{saturation}"),
            Segment::Gamma => ("gam", "gamma", "gam:{gamma}"),
            Segment::Quality => ("q", "quality", "q:{quality}"),
            Segment::Expires => ("exp", "expires", "exp:{unix_seconds}"),
        }
    }

    /// Fewest and most arguments.
    fn arity(self) -> (usize, usize) {
        match self {
            Segment::Grayscale => (0, 0),
            Segment::Resize | Segment::Crop => (3, 4),
            Segment::Thumbnail => (2, 2),
            Segment::Sharpen => (1, 3),
            Segment::Adjust => (1, 4),
            Segment::Rotate
            | Segment::Flip
            | Segment::Blur
            | Segment::Brightness
            | Segment::Contrast
            | Segment::Saturation
            | Segment::Gamma
            | Segment::Quality
            | Segment::Expires => (1, 1),
        }
    }

    fn parse(name: &str) -> Option<Segment> {
        Segment::ALL.iter().copied().find(|segment| {
            let (short, long, _) = segment.names();
            name == short || name == long
        })
    }
}

/// What one segment contributes: an op, or a setting of the whole URL.
pub(super) enum Parsed {
    Op(Op),
    Quality(u8),
    Expires(u64),
}

/// Reads one segment (already checked to be non-empty and of allowed characters).
pub(super) fn parse_segment(text: &str) -> Result<Parsed, String> {
    let mut parts = text.split(':');
    let name = parts.next().unwrap_or_default();
    let args: Vec<&str> = parts.collect();
    let segment = Segment::parse(name).ok_or_else(|| refusal(name))?;
    let (_, long, usage) = segment.names();
    let (min, max) = segment.arity();
    if args.len() < min || args.len() > max {
        let takes = match (min, max) {
            (0, 0) => "no arguments".to_string(),
            (1, 1) => "1 argument".to_string(),
            (min, max) if min == max => format!("{min} arguments"),
            (min, max) => format!("{min} to {max} arguments"),
        };
        return Err(format!("{long} takes {takes} (`{usage}`), got {}", args.len()));
    }
    let arg = |i: usize| args.get(i).copied().unwrap_or_default();
    let mut params = Map::new();
    let op = match segment {
        Segment::Resize => {
            params.insert("fit".into(), word("fit", arg(0))?);
            side(&mut params, "width", arg(1))?;
            side(&mut params, "height", arg(2))?;
            if args.len() == 4 {
                params.insert("gravity".into(), word("gravity", arg(3))?);
            }
            OpName::Resize
        }
        Segment::Thumbnail => {
            params.insert("width".into(), Value::from(whole::<u32>("width", arg(0))?));
            side(&mut params, "height", arg(1))?;
            OpName::Thumbnail
        }
        Segment::Crop => {
            // Four arguments place the box exactly; three place it by gravity.
            let size_at = args.len().saturating_sub(2);
            if args.len() == 4 {
                params.insert("x".into(), Value::from(whole::<u32>("x", arg(0))?));
                params.insert("y".into(), Value::from(whole::<u32>("y", arg(1))?));
            } else {
                params.insert("gravity".into(), word("gravity", arg(0))?);
            }
            params.insert("width".into(), Value::from(whole::<u32>("width", arg(size_at))?));
            params.insert("height".into(), Value::from(whole::<u32>("height", arg(size_at + 1))?));
            OpName::Crop
        }
        Segment::Rotate => decimals(&mut params, &["angle"], &args, OpName::Rotate)?,
        Segment::Flip => {
            let direction = match arg(0) {
                "h" => "horizontal",
                "v" => "vertical",
                "hv" => "both",
                other => other,
            };
            params.insert("direction".into(), word("direction", direction)?);
            OpName::Flip
        }
        Segment::Blur => decimals(&mut params, &["sigma"], &args, OpName::Blur)?,
        Segment::Sharpen => {
            let op = decimals(&mut params, &["amount", "sigma"], &args, OpName::Sharpen)?;
            if let Some(threshold) = args.get(2) {
                params.insert("threshold".into(), Value::from(whole::<u8>("threshold", threshold)?));
            }
            op
        }
        Segment::Grayscale => OpName::Grayscale,
        Segment::Adjust => {
            decimals(&mut params, &["brightness", "contrast", "saturation", "gamma"], &args, OpName::Adjust)?
        }
        Segment::Brightness => decimals(&mut params, &["brightness"], &args, OpName::Adjust)?,
        Segment::Contrast => decimals(&mut params, &["contrast"], &args, OpName::Adjust)?,
        Segment::Saturation => decimals(&mut params, &["saturation"], &args, OpName::Adjust)?,
        Segment::Gamma => decimals(&mut params, &["gamma"], &args, OpName::Adjust)?,
        Segment::Quality => {
            let quality = whole::<u8>("quality", arg(0))?;
            // Checked here, by the convert op, so the error names this segment.
            params.insert("quality".into(), Value::from(quality));
            Op::parse(OpName::Convert, Value::Object(params)).map_err(field_message)?;
            return Ok(Parsed::Quality(quality));
        }
        Segment::Expires => {
            let at = whole::<u64>("expires", arg(0))
                .map_err(|_| "expires must be a whole number of seconds since 1970-01-01 UTC".to_string())?;
            return Ok(Parsed::Expires(at));
        }
    };
    Op::parse(op, Value::Object(params)).map(Parsed::Op).map_err(field_message)
}

/// Why `name` is not a segment: ops a URL cannot express get their reason.
fn refusal(name: &str) -> String {
    match name {
        "watermark" | "wm" => {
            "watermark is not available in URLs: it needs an overlay image; use a pipeline document".into()
        }
        "augment" | "aug" => "augment is not available in URLs: it makes many images and a URL serves one".into(),
        "convert" | "format" | "fmt" => {
            format!("`{name}` is not a segment: the format comes from the extension and the quality from `q`")
        }
        _ => {
            let known: Vec<&str> = Segment::ALL.iter().map(|segment| segment.names().0).collect();
            format!("unknown segment `{}`; known: {}", shown(name), known.join(", "))
        }
    }
}

/// Puts each argument present as a decimal under its field name; returns `op` for the caller.
fn decimals(params: &mut Map<String, Value>, fields: &[&str], args: &[&str], op: OpName) -> Result<OpName, String> {
    for (field, text) in fields.iter().zip(args) {
        params.insert((*field).into(), decimal(field, text)?);
    }
    Ok(op)
}

/// A width or height where 0 means "follow the aspect ratio": the field is left out.
fn side(params: &mut Map<String, Value>, field: &str, text: &str) -> Result<(), String> {
    match whole::<u32>(field, text)? {
        0 => {}
        value => {
            params.insert(field.into(), Value::from(value));
        }
    }
    Ok(())
}

/// A name (`cover`, `north_east`), which the op's serde enum then checks.
fn word(field: &str, text: &str) -> Result<Value, String> {
    arg_text(field, text).map(|text| Value::String(text.to_string()))
}

fn arg_text<'a>(field: &str, text: &'a str) -> Result<&'a str, String> {
    if text.is_empty() {
        return Err(format!("{field} is empty"));
    }
    if text.len() > MAX_ARG_LEN {
        return Err(format!("{field} is too long (at most {MAX_ARG_LEN} characters)"));
    }
    Ok(text)
}

/// Digits only: no sign, no point, no exponent.
fn whole<T: TryFrom<u64>>(field: &str, text: &str) -> Result<T, String> {
    let text = arg_text(field, text)?;
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{field} must be a whole number"));
    }
    text.parse::<u64>().ok().and_then(|value| T::try_from(value).ok()).ok_or_else(|| format!("{field} is too large"))
}

/// `-?digits(.digits)?`: no exponent, `inf` or `nan`, so every value is finite and short.
fn decimal(field: &str, text: &str) -> Result<Value, String> {
    let text = arg_text(field, text)?;
    let unsigned = text.strip_prefix('-').unwrap_or(text);
    let (integer, fraction) = unsigned.split_once('.').map_or((unsigned, None), |(i, f)| (i, Some(f)));
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    let value = text.parse::<f64>().ok().filter(|_| digits(integer) && fraction.is_none_or(digits));
    value
        // `+ 0.0` makes -0 plain 0, so the op never holds a negative zero.
        .and_then(|value| serde_json::Number::from_f64(value + 0.0).map(Value::Number))
        .ok_or_else(|| format!("{field} must be a number"))
}

/// Range checks read as sentences after the field name (`sigma must be 0.3..=200, got -1`);
/// other messages (serde's) follow it after a colon.
fn field_message(err: FieldError) -> String {
    match (err.field.is_empty(), err.message.starts_with("must ")) {
        (true, _) => err.message,
        (false, true) => format!("{} {}", err.field, err.message),
        (false, false) => format!("{}: {}", err.field, err.message),
    }
}
