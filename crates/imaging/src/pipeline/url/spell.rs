//! Spelling ops back as URL segments: every argument explicit for canonical forms, short
//! names and no trailing defaults for paths.

use serde::Serialize;

use crate::ops::adjust::Adjust;
use crate::ops::flip::Direction;
use crate::ops::geometry::Gravity;
use crate::ops::sharpen::Sharpen;
use crate::ops::Op;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Form {
    /// Every argument written: for cache keys.
    Explicit,
    /// Trailing defaults left off, shorthands used: for links.
    Compact,
}

/// The segment for `op`; `None` for the `convert` step, which `q` and the extension spell.
pub(super) fn spell(op: &Op, form: Form) -> Option<String> {
    // `+ 0.0` turns -0 into 0: equal values must spell alike. f32's Display is the shortest
    // text that reads back to the same value, so `2.0` is `2` and `0.30000001` is `0.3`.
    let number = |value: f32| format!("{}", value + 0.0);
    let text = match op {
        Op::Resize(resize) => {
            let gravity = (serde_name(&resize.gravity), resize.gravity == Gravity::default());
            let required = [serde_name(&resize.fit), side_text(resize.width), side_text(resize.height)];
            join("rs", &required, &[gravity], form)
        }
        Op::Thumbnail(thumbnail) => format!("th:{}:{}", thumbnail.width, side_text(thumbnail.height)),
        Op::Crop(crop) => match (crop.x, crop.y) {
            (Some(x), Some(y)) => format!("c:{x}:{y}:{}:{}", crop.width, crop.height),
            _ => format!("c:{}:{}:{}", serde_name(&crop.gravity), crop.width, crop.height),
        },
        Op::Rotate(rotate) => format!("rot:{}", number(rotate.angle)),
        Op::Flip(flip) => {
            let direction = match flip.direction {
                Direction::Horizontal => "h",
                Direction::Vertical => "v",
                Direction::Both => "hv",
            };
            format!("fl:{direction}")
        }
        Op::Blur(blur) => format!("bl:{}", number(blur.sigma)),
        Op::Sharpen(sharpen) => {
            let defaults = Sharpen::default();
            let optional = [
                (number(sharpen.sigma), sharpen.sigma == defaults.sigma),
                (sharpen.threshold.to_string(), sharpen.threshold == defaults.threshold),
            ];
            join("sh", &[number(sharpen.amount)], &optional, form)
        }
        Op::Grayscale(_) => "gs".to_string(),
        Op::Adjust(adjust) => {
            let defaults = Adjust::default();
            let fields = [
                ("br", adjust.brightness, defaults.brightness),
                ("co", adjust.contrast, defaults.contrast),
                ("sat", adjust.saturation, defaults.saturation),
                ("gam", adjust.gamma, defaults.gamma),
            ];
            let mut changed = fields.iter().filter(|(_, value, default)| value != default);
            match (form, changed.next(), changed.next()) {
                (Form::Compact, None, _) => "br:0".to_string(),
                (Form::Compact, Some((name, value, _)), None) => format!("{name}:{}", number(*value)),
                _ => {
                    let optional: Vec<(String, bool)> =
                        fields[1..].iter().map(|(_, value, default)| (number(*value), value == default)).collect();
                    join("adj", &[number(adjust.brightness)], &optional, form)
                }
            }
        }
        // The URL parser never makes these; spelled by name so they still change a key.
        Op::Watermark(_)
        | Op::Augment(_)
        | Op::DetectFaces(_)
        | Op::BlurFaces(_)
        | Op::PixelateFaces(_)
        | Op::RecognizeDigit(_)
        | Op::Stylize(_)
        | Op::AnalyzeFaces(_)
        | Op::SmartCrop(_)
        | Op::DrawAnnotations(_)
        | Op::Classify(_)
        | Op::Moderate(_) => op.name().as_str().to_string(),
        Op::Convert(_) => return None,
    };
    Some(text)
}

/// `name:required...:optional...`, where compact form drops optional arguments that are
/// defaults from the end (so later ones keep their positions).
fn join(name: &str, required: &[String], optional: &[(String, bool)], form: Form) -> String {
    let keep = match form {
        Form::Explicit => optional.len(),
        Form::Compact => optional.iter().rposition(|(_, is_default)| !is_default).map_or(0, |last| last + 1),
    };
    let args = required.iter().chain(optional[..keep].iter().map(|(text, _)| text));
    std::iter::once(name).chain(args.map(String::as_str)).collect::<Vec<_>>().join(":")
}

fn side_text(side: Option<u32>) -> String {
    side.unwrap_or(0).to_string()
}

/// The name serde gives a unit enum variant (`cover`, `north_east`): the pipeline spelling.
fn serde_name<T: Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|value| value.as_str().map(str::to_string)).unwrap_or_default()
}
