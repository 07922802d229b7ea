//! A dataset's metadata: a CSV file (a header row, then one row per item, like the Fashion
//! Product Images `styles.csv`) or JSON (an array of objects, or an object of objects keyed by
//! file name), read into rows of string values keyed by one column.
//!
//! - The key column is the caller's, or the first of `id`, `filename`, `file`, `name`,
//!   `image` found (case-insensitive).
//! - A row matches an archive entry by its whole name (`images/15970.jpg`), its file name
//!   (`15970.jpg`) or its file stem (`15970`, as `styles.csv` keys its images).
//! - Bad rows (wrong field count, bad UTF-8, an empty or duplicate key, a JSON item that is
//!   not an object) are dropped with a [`RowWarning`] naming the line (CSV) or the item
//!   (JSON); the good rows are kept. Only an unreadable file fails: CSV without a usable
//!   header, JSON that does not parse, or a file over [`MetadataLimits`].
//! - Values are strings, trimmed; an empty cell (or a JSON `null`) is no value. JSON numbers
//!   and booleans become their text, nested arrays and objects their compact JSON.

use std::collections::HashMap;
use std::io::Read;

use crate::error::{Error, Result};
use crate::filter::{Fields, Filter};
use crate::name::{file_name, stem};

mod csv;
mod json;

/// Safe defaults for untrusted metadata; every field is configurable by the operator.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetadataLimits {
    /// Largest accepted file, in bytes.
    pub max_bytes: u64,
    /// Most rows (items), good or bad.
    pub max_rows: u64,
    /// Most columns (distinct keys, for JSON).
    pub max_columns: usize,
    /// Most warnings kept; past it they are only counted.
    pub max_warnings: usize,
}

impl Default for MetadataLimits {
    fn default() -> Self {
        MetadataLimits { max_bytes: 32 * 1024 * 1024, max_rows: 1_000_000, max_columns: 256, max_warnings: 1_000 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetadataFormat {
    Csv,
    Json,
}

impl MetadataFormat {
    /// JSON when the first character (after a byte-order mark and spaces) is `[` or `{`.
    pub fn sniff(bytes: &[u8]) -> MetadataFormat {
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        match bytes.iter().find(|byte| !byte.is_ascii_whitespace()) {
            Some(b'[' | b'{') => MetadataFormat::Json,
            _ => MetadataFormat::Csv,
        }
    }
}

/// How to read a metadata file; the defaults sniff the format and pick the key column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetadataOptions {
    pub format: Option<MetadataFormat>,
    /// The key column (for JSON keyed by name: the field the keys are stored as).
    pub key: Option<String>,
    pub limits: MetadataLimits,
}

/// A row the file had but the metadata does not keep, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowWarning {
    /// The line the row starts on (CSV; the header is line 1).
    pub line: Option<u64>,
    /// The row's number among the data rows (CSV records, JSON items), from 1.
    pub row: u64,
    pub problem: RowProblem,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowProblem {
    FieldCount { expected: usize, found: usize },
    NotUtf8 { column: String },
    EmptyKey { column: String },
    DuplicateKey { key: String, first_row: u64 },
    NotAnObject,
}

/// The rows, their index by key, and the warnings.
#[derive(Debug, Clone)]
pub struct Metadata {
    key_column: String,
    columns: Vec<String>,
    column_index: HashMap<String, usize>,
    rows: Vec<Row>,
    by_key: HashMap<String, usize>,
    warnings: Vec<RowWarning>,
    warnings_omitted: usize,
}

#[derive(Debug, Clone)]
struct Row {
    line: Option<u64>,
    row: u64,
    key: String,
    values: Vec<Option<String>>,
}

/// One row, as the filter and the job see it.
#[derive(Debug, Clone, Copy)]
pub struct RowRef<'a> {
    metadata: &'a Metadata,
    row: &'a Row,
}

/// Reads a metadata file (at most [`MetadataLimits::max_bytes`] of it).
pub fn read_metadata(reader: impl Read, options: &MetadataOptions) -> Result<Metadata> {
    let limits = &options.limits;
    let mut bytes = Vec::new();
    reader.take(limits.max_bytes.saturating_add(1)).read_to_end(&mut bytes).map_err(Error::Io)?;
    if bytes.len() as u64 > limits.max_bytes {
        return Err(Error::MetadataTooLarge { limit: limits.max_bytes, unit: "bytes" });
    }
    parse_metadata(&bytes, options)
}

/// [`read_metadata`] for bytes already in memory (an entry of the archive).
pub fn parse_metadata(bytes: &[u8], options: &MetadataOptions) -> Result<Metadata> {
    let limits = &options.limits;
    if bytes.len() as u64 > limits.max_bytes {
        return Err(Error::MetadataTooLarge { limit: limits.max_bytes, unit: "bytes" });
    }
    let format = options.format.unwrap_or_else(|| MetadataFormat::sniff(bytes));
    let table = match format {
        MetadataFormat::Csv => csv::read(bytes, limits)?,
        MetadataFormat::Json => json::read(bytes, options.key.as_deref(), limits)?,
    };
    index(table, options)
}

/// What a parser hands over: columns, rows in file order, the rows it dropped, and the key
/// column when the format decides it (JSON keyed by name).
struct Table {
    columns: Vec<String>,
    rows: Vec<Row>,
    warnings: Vec<RowWarning>,
    key: Option<String>,
}

fn index(table: Table, options: &MetadataOptions) -> Result<Metadata> {
    let Table { columns, rows, mut warnings, key } = table;
    let column_index: HashMap<String, usize> =
        columns.iter().enumerate().filter(|(_, name)| !name.is_empty()).map(|(i, name)| (name.clone(), i)).collect();
    let key_index = pick_key(&columns, key.as_deref().or(options.key.as_deref()))?;
    let key_column = columns[key_index].clone();
    let mut kept = Vec::with_capacity(rows.len());
    let mut by_key = HashMap::with_capacity(rows.len());
    for mut row in rows {
        let key = row.values.get(key_index).cloned().flatten().unwrap_or_default();
        let key = key.strip_prefix("./").unwrap_or(&key).to_string();
        if key.is_empty() {
            let problem = RowProblem::EmptyKey { column: key_column.clone() };
            warnings.push(RowWarning { line: row.line, row: row.row, problem });
            continue;
        }
        if let Some(&first) = by_key.get(&key) {
            let first_row = kept.get(first).map_or(0, |row: &Row| row.row);
            warnings.push(RowWarning {
                line: row.line,
                row: row.row,
                problem: RowProblem::DuplicateKey { key, first_row },
            });
            continue;
        }
        by_key.insert(key.clone(), kept.len());
        row.key = key;
        kept.push(row);
    }
    warnings.sort_by_key(|warning| warning.row);
    let warnings_omitted = warnings.len().saturating_sub(options.limits.max_warnings);
    warnings.truncate(options.limits.max_warnings);
    Ok(Metadata { key_column, columns, column_index, rows: kept, by_key, warnings, warnings_omitted })
}

/// The named key column, or the first of the usual names; an error lists the columns.
fn pick_key(columns: &[String], wanted: Option<&str>) -> Result<usize> {
    let find = |name: &str| columns.iter().position(|column| !column.is_empty() && column.eq_ignore_ascii_case(name));
    let found = match wanted {
        Some(name) => columns.iter().position(|column| column == name).or_else(|| find(name)),
        None => ["id", "filename", "file", "name", "image"].into_iter().find_map(find),
    };
    found.ok_or_else(|| {
        let listed = columns.iter().filter(|c| !c.is_empty()).map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ");
        let detail = match wanted {
            Some(name) => format!("no column `{name}` to key rows by; the columns are {listed}"),
            None => format!("no key column (`id`, `filename`, `file`, `name` or `image`); the columns are {listed}"),
        };
        Error::MetadataInvalid { detail }
    })
}

impl Metadata {
    pub fn key_column(&self) -> &str {
        &self.key_column
    }

    pub fn columns(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(String::as_str).filter(|name| !name.is_empty())
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn rows(&self) -> impl Iterator<Item = RowRef<'_>> {
        self.rows.iter().map(|row| RowRef { metadata: self, row })
    }

    /// The rows dropped, in file order (at most [`MetadataLimits::max_warnings`]).
    pub fn warnings(&self) -> &[RowWarning] {
        &self.warnings
    }

    /// How many warnings were counted past [`MetadataLimits::max_warnings`].
    pub fn warnings_omitted(&self) -> usize {
        self.warnings_omitted
    }

    /// The row whose key is exactly `key`.
    pub fn get(&self, key: &str) -> Option<RowRef<'_>> {
        self.by_key.get(key).map(|&index| RowRef { metadata: self, row: &self.rows[index] })
    }

    /// The row for an archive entry: by its whole name, else its file name, else its stem.
    /// Two entries in different folders with the same file name find the same row.
    pub fn lookup(&self, entry_name: &str) -> Option<RowRef<'_>> {
        let file = file_name(entry_name);
        self.get(entry_name).or_else(|| self.get(file)).or_else(|| self.get(stem(file)))
    }

    /// The fields a filter reads that no column has: a typo would match nothing.
    pub fn unknown_fields<'f>(&self, filter: &'f Filter) -> Vec<&'f str> {
        filter.fields().into_iter().filter(|field| !self.column_index.contains_key(*field)).collect()
    }
}

impl<'a> RowRef<'a> {
    pub fn key(&self) -> &'a str {
        &self.row.key
    }

    /// The line the row starts on (CSV only).
    pub fn line(&self) -> Option<u64> {
        self.row.line
    }

    pub fn get(&self, column: &str) -> Option<&'a str> {
        let index = *self.metadata.column_index.get(column)?;
        self.row.values.get(index)?.as_deref()
    }

    /// The row's values in column order, without the empty ones.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a str)> {
        let columns = &self.metadata.columns;
        columns.iter().zip(&self.row.values).filter_map(|(column, value)| match value {
            Some(value) if !column.is_empty() => Some((column.as_str(), value.as_str())),
            _ => None,
        })
    }
}

impl Fields for RowRef<'_> {
    fn field(&self, name: &str) -> Option<&str> {
        self.get(name)
    }
}

impl std::fmt::Display for RowWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: ")?,
            None => write!(f, "item {}: ", self.row)?,
        }
        match &self.problem {
            RowProblem::FieldCount { expected, found } => write!(f, "expected {expected} fields, found {found}"),
            RowProblem::NotUtf8 { column } => write!(f, "the `{column}` value is not UTF-8"),
            RowProblem::EmptyKey { column } => write!(f, "the key `{column}` is empty"),
            RowProblem::DuplicateKey { key, first_row } => {
                write!(f, "the key `{key}` is already used by row {first_row}")
            }
            RowProblem::NotAnObject => write!(f, "not an object"),
        }
    }
}

/// A cell as a value: trimmed, and empty means none.
fn cell(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

#[cfg(test)]
mod tests;
