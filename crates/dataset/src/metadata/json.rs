//! JSON metadata: an array of objects (`[{"id": 15970, ...}]`), or an object of objects
//! keyed by file name (`{"15970.jpg": {...}}`), whose keys become the key column's values.
//! Items are parsed one at a time (a whole document is never held as one tree); an item that
//! is not an object is a warning. A syntax error fails the file: past one, nothing can be
//! trusted to line up.

use std::collections::HashMap;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::{MetadataLimits, Row, RowProblem, RowWarning, Table};
use crate::error::{Error, Result};

/// The column keys are stored under in the keyed form when the caller names none.
const DEFAULT_KEY: &str = "name";

pub(super) fn read(bytes: &[u8], key: Option<&str>, limits: &MetadataLimits) -> Result<Table> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut builder = Builder {
        limits,
        key_column: key.unwrap_or(DEFAULT_KEY),
        columns: Vec::new(),
        column_index: HashMap::new(),
        rows: Vec::new(),
        warnings: Vec::new(),
        count: 0,
        keyed: false,
        over: None,
    };
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let parsed = TopLevel(&mut builder).deserialize(&mut deserializer).and_then(|()| deserializer.end());
    if let Some(over) = builder.over {
        return Err(over);
    }
    parsed.map_err(|e| Error::MetadataInvalid {
        detail: format!("JSON at line {}, column {}: {e}", e.line(), e.column()),
    })?;
    let key = builder.keyed.then(|| builder.key_column.to_string());
    let Builder { columns, rows, warnings, .. } = builder;
    Ok(Table { columns, rows, warnings, key })
}

struct Builder<'l> {
    limits: &'l MetadataLimits,
    key_column: &'l str,
    columns: Vec<String>,
    column_index: HashMap<String, usize>,
    rows: Vec<Row>,
    warnings: Vec<RowWarning>,
    count: u64,
    /// Whether the document is an object keyed by name (then the keys are the key column).
    keyed: bool,
    /// A limit passed inside the visitor, reported instead of serde's message.
    over: Option<Error>,
}

impl Builder<'_> {
    /// Adds one item; `key` is the map key in the keyed form.
    fn add<E: de::Error>(&mut self, key: Option<String>, item: Value) -> Result<(), E> {
        self.count += 1;
        if self.count > self.limits.max_rows {
            return Err(self.stop(Error::MetadataTooLarge { limit: self.limits.max_rows, unit: "rows" }));
        }
        let Value::Object(object) = item else {
            self.warnings.push(RowWarning { line: None, row: self.count, problem: RowProblem::NotAnObject });
            return Ok(());
        };
        // Rows made before a later column existed stay shorter: a missing tail is no value.
        let mut values = vec![None; self.columns.len()];
        let key_pair = key.map(|key| (self.key_column.to_string(), Value::String(key)));
        for (name, value) in object.into_iter().chain(key_pair) {
            let index = self.column(name)?;
            if index >= values.len() {
                values.resize(index + 1, None);
            }
            values[index] = text(value);
        }
        self.rows.push(Row { line: None, row: self.count, key: String::new(), values });
        Ok(())
    }

    fn column<E: de::Error>(&mut self, name: String) -> Result<usize, E> {
        if let Some(&index) = self.column_index.get(&name) {
            return Ok(index);
        }
        if self.columns.len() >= self.limits.max_columns {
            let limit = self.limits.max_columns as u64;
            return Err(self.stop(Error::MetadataTooLarge { limit, unit: "columns" }));
        }
        self.column_index.insert(name.clone(), self.columns.len());
        self.columns.push(name);
        Ok(self.columns.len() - 1)
    }

    fn stop<E: de::Error>(&mut self, error: Error) -> E {
        let message = error.to_string();
        self.over = Some(error);
        E::custom(message)
    }
}

/// A value as text: strings trimmed, numbers and booleans as written, `null` and empty as no
/// value, arrays and objects as compact JSON.
fn text(value: Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) => super::cell(&text),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Number(number) => Some(number.to_string()),
        nested => Some(nested.to_string()),
    }
}

struct TopLevel<'b, 'l>(&'b mut Builder<'l>);

impl<'de> DeserializeSeed<'de> for TopLevel<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for TopLevel<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of objects, or an object of objects keyed by file name")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(item) = seq.next_element::<Value>()? {
            self.0.add(None, item)?;
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.0.keyed = true;
        let key_column = self.0.key_column.to_string();
        self.0.column(key_column)?;
        while let Some((key, item)) = map.next_entry::<String, Value>()? {
            self.0.add(Some(key), item)?;
        }
        Ok(())
    }
}
