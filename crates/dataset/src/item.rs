//! A dataset's items and what a job records for each: the metadata an item came with (in
//! its file's column order), the names its outputs get, and the per-item record that
//! `metadata.json` lists (the input metadata, the files written with their annotations,
//! each variant's parameters, or the error).

use std::collections::HashSet;
use std::fmt;

use atelier_imaging::ops::augment::Variant;
use atelier_imaging::{Annotations, Format};
use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::filter::Fields;
use crate::metadata::RowRef;

/// An item's metadata: `(column, value)` pairs in the metadata file's column order, empty
/// values left out. In JSON, an object in that order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemMetadata(pub Vec<(String, String)>);

impl ItemMetadata {
    pub fn get(&self, column: &str) -> Option<&str> {
        self.0.iter().find(|(c, _)| c == column).map(|(_, v)| v.as_str())
    }
}

impl From<RowRef<'_>> for ItemMetadata {
    fn from(row: RowRef<'_>) -> Self {
        ItemMetadata(row.iter().map(|(c, v)| (c.to_string(), v.to_string())).collect())
    }
}

impl Fields for ItemMetadata {
    fn field(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }
}

impl Serialize for ItemMetadata {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (column, value) in &self.0 {
            map.serialize_entry(column, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for ItemMetadata {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct InOrder;
        impl<'de> Visitor<'de> for InOrder {
            type Value = ItemMetadata;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object of text values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ItemMetadata, A::Error> {
                let mut pairs = Vec::new();
                while let Some((column, value)) = map.next_entry::<String, serde_json::Value>()? {
                    let value = match value {
                        serde_json::Value::String(text) => text,
                        serde_json::Value::Null => continue,
                        other => other.to_string(),
                    };
                    pairs.push((column, value));
                }
                Ok(ItemMetadata(pairs))
            }
        }
        deserializer.deserialize_map(InOrder)
    }
}

/// An item's output names without extension, one per name in order: the name without its
/// extension (folders kept: names are already safe relative paths), each character a blob
/// key cannot hold (outside `A-Z a-z 0-9 . _ - /`) as `_`, made unique where two would
/// collide (`a.jpg` and `a.png` become `a` and `a-2`). Deterministic, so a resumed job
/// writes the same keys.
pub fn unique_stems<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let names: Vec<&str> = names.into_iter().collect();
    let bare: Vec<String> = names.iter().map(|name| key_safe(strip_extension(name))).collect();
    // A name's own stem is reserved for it, so a suffix made for another name never takes it.
    let reserved: HashSet<&str> = bare.iter().map(String::as_str).collect();
    let mut used: HashSet<String> = HashSet::with_capacity(names.len());
    let mut out = Vec::with_capacity(names.len());
    for stem in &bare {
        let mut candidate = stem.to_string();
        let mut n = 1;
        while used.contains(&candidate) || (n > 1 && reserved.contains(candidate.as_str())) {
            n += 1;
            candidate = format!("{stem}-{n}");
        }
        used.insert(candidate.clone());
        out.push(candidate);
    }
    out
}

fn key_safe(name: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/');
    name.chars().map(|c| if safe(c) { c } else { '_' }).collect()
}

fn strip_extension(name: &str) -> &str {
    let file_start = name.rfind('/').map_or(0, |i| i + 1);
    match name[file_start..].rfind('.') {
        Some(dot) if dot > 0 => &name[..file_start + dot],
        _ => name,
    }
}

/// What `metadata.json` says of one item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemRecord {
    /// The item's position in the dataset.
    pub index: u64,
    /// Its name in the archive (or the image's upload name).
    pub name: String,
    pub metadata: ItemMetadata,
    pub status: ItemStatus,
    /// The original, or what the preparation steps made of it, under `images/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<FileRecord>,
    /// The augmented variants, under `augmentation/`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<VariantRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ItemError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    Succeeded,
    /// The item's input was at fault (or a model failed on it): recorded, not retried, and
    /// nothing of it written.
    Failed,
}

/// One file a job wrote for an item, relative to the job's folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileRecord {
    /// `images/10000.jpg`.
    pub file: String,
    pub format: Format,
    pub width: u32,
    pub height: u32,
    pub bytes: u64,
    #[serde(default, skip_serializing_if = "Annotations::is_empty")]
    pub annotations: Annotations,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantRecord {
    #[serde(flatten)]
    pub output: FileRecord,
    /// The seed and everything drawn for this variant: enough to make it again.
    pub params: Variant,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemError {
    /// The imaging core's stable code (`truncated_image`, `vision_unavailable`, ...).
    pub code: String,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_drop_the_extension_keep_folders_and_never_collide() {
        let names = ["a.jpg", "a.png", "shoes/10000.jpg", "a-2.jpg", ".hidden", "noext", "x.tar.gz", "dir.d/file"];
        assert_eq!(unique_stems(names), ["a", "a-3", "shoes/10000", "a-2", ".hidden", "noext", "x.tar", "dir.d/file"]);
        let spaced = ["Photo 1.jpg", "Photo_1.png", "été/ñ.jpg"];
        assert_eq!(unique_stems(spaced), ["Photo_1", "Photo_1-2", "_t_/_"]);
    }

    #[test]
    fn metadata_keeps_its_column_order_through_json() {
        let metadata =
            ItemMetadata(vec![("id".into(), "7".into()), ("b".into(), "x".into()), ("a".into(), "y".into())]);
        let text = serde_json::to_string(&metadata).unwrap();
        assert_eq!(text, r#"{"id":"7","b":"x","a":"y"}"#);
        assert_eq!(serde_json::from_str::<ItemMetadata>(&text).unwrap(), metadata);
        let numbers: ItemMetadata = serde_json::from_str(r#"{"year": 2012, "gone": null}"#).unwrap();
        assert_eq!(numbers.0, [("year".to_string(), "2012".to_string())]);
    }
}
