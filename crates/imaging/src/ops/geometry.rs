//! Shared parameter types: where a box sits in a larger one (gravity), and colours.

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Where to place a smaller box inside a larger one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Gravity {
    #[default]
    #[serde(alias = "center")]
    Centre,
    North,
    South,
    East,
    West,
    NorthEast,
    NorthWest,
    SouthEast,
    SouthWest,
}

impl Gravity {
    /// Top-left corner of an `inner` box placed in an `outer` one, `margin` from the edges
    /// it touches. Never negative: an inner box larger than the outer one sits at 0.
    pub fn place(self, outer: (u32, u32), inner: (u32, u32), margin: u32) -> (u32, u32) {
        let along = |edge: Edge, free: u32| match edge {
            Edge::Start => margin.min(free),
            Edge::Middle => free / 2,
            Edge::End => free.saturating_sub(margin),
        };
        let (ex, ey) = self.edges();
        (along(ex, outer.0.saturating_sub(inner.0)), along(ey, outer.1.saturating_sub(inner.1)))
    }

    /// As [`Gravity::place`] with no margin, in fractional pixels (a resampling window).
    pub(crate) fn place_f64(self, outer: (f64, f64), inner: (f64, f64)) -> (f64, f64) {
        let along = |edge: Edge, free: f64| match edge {
            Edge::Start => 0.0,
            Edge::Middle => free / 2.0,
            Edge::End => free,
        };
        let (ex, ey) = self.edges();
        (along(ex, (outer.0 - inner.0).max(0.0)), along(ey, (outer.1 - inner.1).max(0.0)))
    }

    /// Which edge the box hugs horizontally and vertically.
    fn edges(self) -> (Edge, Edge) {
        let x = match self {
            Gravity::West | Gravity::NorthWest | Gravity::SouthWest => Edge::Start,
            Gravity::East | Gravity::NorthEast | Gravity::SouthEast => Edge::End,
            Gravity::Centre | Gravity::North | Gravity::South => Edge::Middle,
        };
        let y = match self {
            Gravity::North | Gravity::NorthEast | Gravity::NorthWest => Edge::Start,
            Gravity::South | Gravity::SouthEast | Gravity::SouthWest => Edge::End,
            Gravity::Centre | Gravity::East | Gravity::West => Edge::Middle,
        };
        (x, y)
    }
}

#[derive(Clone, Copy)]
enum Edge {
    Start,
    Middle,
    End,
}

/// An RGBA colour, written `#rgb`, `#rrggbb`, `#rrggbbaa`, `transparent`, `white` or `black`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Color(pub [u8; 4]);

impl Color {
    pub const BLACK: Color = Color([0, 0, 0, 255]);
    pub const WHITE: Color = Color([255, 255, 255, 255]);
    pub const TRANSPARENT: Color = Color([0, 0, 0, 0]);

    pub fn parse(text: &str) -> Option<Color> {
        match text.trim().to_ascii_lowercase().as_str() {
            "transparent" => return Some(Color::TRANSPARENT),
            "white" => return Some(Color::WHITE),
            "black" => return Some(Color::BLACK),
            _ => {}
        }
        let hex = text.trim().strip_prefix('#')?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let nibble = |i: usize| u8::from_str_radix(&hex[i..=i], 16).ok().map(|v| v * 17);
        let byte = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
        match hex.len() {
            3 => Some(Color([nibble(0)?, nibble(1)?, nibble(2)?, 255])),
            6 => Some(Color([byte(0)?, byte(2)?, byte(4)?, 255])),
            8 => Some(Color([byte(0)?, byte(2)?, byte(4)?, byte(6)?])),
            _ => None,
        }
    }

    pub fn is_opaque(self) -> bool {
        self.0[3] == 255
    }

    pub fn rgb(self) -> [u8; 3] {
        [self.0[0], self.0[1], self.0[2]]
    }
}

impl Serialize for Color {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let [r, g, b, a] = self.0;
        let text = if a == 255 { format!("#{r:02x}{g:02x}{b:02x}") } else { format!("#{r:02x}{g:02x}{b:02x}{a:02x}") };
        serializer.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for Color {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Color::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "`{text}` is not a colour: use #rgb, #rrggbb, #rrggbbaa, transparent, white or black"
            ))
        })
    }
}

impl JsonSchema for Color {
    fn schema_name() -> String {
        "Color".into()
    }

    fn json_schema(_gen: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
        let mut schema = schemars::schema::SchemaObject {
            instance_type: Some(schemars::schema::InstanceType::String.into()),
            ..Default::default()
        };
        schema.string().pattern =
            Some("^(#([0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})|transparent|white|black)$".into());
        schema.metadata().description = Some("A colour: #rgb, #rrggbb, #rrggbbaa, transparent, white or black".into());
        schema.into()
    }
}

#[cfg(test)]
mod tests {
    use super::{Color, Gravity};

    #[test]
    fn colours_parse_from_every_documented_spelling() {
        let cases = [
            ("#fff", Some([255, 255, 255, 255])),
            ("#FF8000", Some([255, 128, 0, 255])),
            ("#00000080", Some([0, 0, 0, 128])),
            ("transparent", Some([0, 0, 0, 0])),
            ("White", Some([255, 255, 255, 255])),
            ("#12345", None),
            ("#ggg", None),
            ("red", None),
            ("#ééé", None),
            ("", None),
        ];
        for (text, expected) in cases {
            assert_eq!(Color::parse(text).map(|c| c.0), expected, "{text}");
        }
    }

    #[test]
    fn gravity_places_boxes_at_edges_with_margins_and_never_outside() {
        let cases = [
            (Gravity::Centre, (100, 50), (20, 10), 0, (40, 20)),
            (Gravity::NorthWest, (100, 50), (20, 10), 5, (5, 5)),
            (Gravity::SouthEast, (100, 50), (20, 10), 5, (75, 35)),
            (Gravity::North, (100, 50), (20, 10), 5, (40, 5)),
            (Gravity::East, (100, 50), (20, 10), 200, (0, 20)),
            (Gravity::SouthWest, (10, 10), (20, 20), 3, (0, 0)),
        ];
        for (gravity, outer, inner, margin, expected) in cases {
            assert_eq!(gravity.place(outer, inner, margin), expected, "{gravity:?}");
        }
    }
}
