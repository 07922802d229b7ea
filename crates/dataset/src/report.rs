//! `metadata.json`, the file a dataset job leaves beside its images: what was asked (the
//! job's spec), what happened overall (counts, entries skipped at import, metadata rows
//! that could not be read), and one record per item in dataset order. The worker and the
//! CLI write the same document, so a data set made either way reads the same.

use serde::{Deserialize, Serialize};

use crate::item::{ItemRecord, ItemStatus};
use crate::job::JobSpec;

/// The document's version; bump it when a field changes meaning.
pub const METADATA_VERSION: u32 = 1;

/// `metadata.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetadataDocument {
    pub version: u32,
    /// The job that made it (absent for `atelier process`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    /// The dataset it ran on (absent for `atelier process`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
    pub spec: JobSpec,
    pub summary: Summary,
    /// Import problems that are not items: entries skipped, metadata rows unreadable.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    pub items: Vec<ItemRecord>,
}

/// What the job came to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Summary {
    /// Items in the dataset.
    pub items: u64,
    /// Items the filter left out (not listed under `items`).
    pub filtered_out: u64,
    pub succeeded: u64,
    pub failed: u64,
    /// Files written under `images/` and `augmentation/`.
    pub files: u64,
}

impl MetadataDocument {
    /// The document for `records` (each item the job ran, in any order: they are sorted by
    /// index), counting from them.
    pub fn new(spec: JobSpec, dataset_items: u64, mut records: Vec<ItemRecord>) -> MetadataDocument {
        records.sort_by_key(|r| r.index);
        records.dedup_by_key(|r| r.index);
        let succeeded = records.iter().filter(|r| r.status == ItemStatus::Succeeded).count() as u64;
        let files = records.iter().map(|r| u64::from(r.image.is_some()) + r.variants.len() as u64).sum();
        let summary = Summary {
            items: dataset_items,
            filtered_out: dataset_items.saturating_sub(records.len() as u64),
            succeeded,
            failed: records.len() as u64 - succeeded,
            files,
        };
        MetadataDocument {
            version: METADATA_VERSION,
            job: None,
            dataset: None,
            spec,
            summary,
            notes: Vec::new(),
            items: records,
        }
    }

    /// Pretty JSON, as people open it.
    pub fn to_json(&self) -> Vec<u8> {
        // Only maps with string keys and plain values: serialising cannot fail.
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::{ItemError, ItemMetadata};

    fn record(index: u64, ok: bool) -> ItemRecord {
        ItemRecord {
            index,
            name: format!("{index}.jpg"),
            metadata: ItemMetadata::default(),
            status: if ok { ItemStatus::Succeeded } else { ItemStatus::Failed },
            image: None,
            variants: Vec::new(),
            error: (!ok).then(|| ItemError { code: "truncated_image".into(), message: "cut short".into() }),
        }
    }

    #[test]
    fn the_document_lists_each_item_once_in_dataset_order_and_counts_them() {
        let records = vec![record(4, true), record(1, false), record(4, true), record(2, true)];
        let doc = MetadataDocument::new(JobSpec::default(), 10, records);
        assert_eq!(doc.items.iter().map(|r| r.index).collect::<Vec<_>>(), [1, 2, 4]);
        assert_eq!(doc.summary, Summary { items: 10, filtered_out: 7, succeeded: 2, failed: 1, files: 0 });
        let back: MetadataDocument = serde_json::from_slice(&doc.to_json()).unwrap();
        assert_eq!(back, doc);
    }
}
