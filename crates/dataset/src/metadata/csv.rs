//! CSV metadata: the first row names the columns (a UTF-8 byte-order mark is dropped, an
//! empty name, such as the index column pandas writes, makes a column nobody can filter on),
//! and each later row must have exactly as many fields. Fields are read as bytes, so a row
//! with bad UTF-8 is one warning, not a failed file.

use csv::{ByteRecord, ReaderBuilder, Trim};

use super::{cell, MetadataLimits, Row, RowProblem, RowWarning, Table};
use crate::error::{Error, Result};

pub(super) fn read(bytes: &[u8], limits: &MetadataLimits) -> Result<Table> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = ReaderBuilder::new().has_headers(true).flexible(true).trim(Trim::All).from_reader(bytes);
    let header = reader.byte_headers().map_err(|e| invalid(&format!("the header row: {e}")))?.clone();
    if header.is_empty() {
        return Err(invalid("the file is empty: a CSV needs a header row naming its columns"));
    }
    if header.len() > limits.max_columns {
        return Err(Error::MetadataTooLarge { limit: limits.max_columns as u64, unit: "columns" });
    }
    let mut columns = Vec::with_capacity(header.len());
    for name in header.iter() {
        let name = std::str::from_utf8(name).map_err(|_| invalid("the header row is not UTF-8"))?.to_string();
        if !name.is_empty() && columns.contains(&name) {
            return Err(invalid(&format!("the column `{name}` appears twice in the header row")));
        }
        columns.push(name);
    }
    let mut rows = Vec::new();
    let mut warnings = Vec::new();
    let mut record = ByteRecord::new();
    let mut count = 0u64;
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(invalid(&format!("after row {count}: {e}"))),
        }
        count += 1;
        if count > limits.max_rows {
            return Err(Error::MetadataTooLarge { limit: limits.max_rows, unit: "rows" });
        }
        let line = record.position().map(|position| position.line());
        match row_values(&record, &columns) {
            Ok(values) => rows.push(Row { line, row: count, key: String::new(), values }),
            Err(problem) => warnings.push(RowWarning { line, row: count, problem }),
        }
    }
    Ok(Table { columns, rows, warnings, key: None })
}

fn row_values(record: &ByteRecord, columns: &[String]) -> Result<Vec<Option<String>>, RowProblem> {
    if record.len() != columns.len() {
        return Err(RowProblem::FieldCount { expected: columns.len(), found: record.len() });
    }
    let mut values = Vec::with_capacity(columns.len());
    for (field, column) in record.iter().zip(columns) {
        let text = std::str::from_utf8(field).map_err(|_| RowProblem::NotUtf8 { column: column.clone() })?;
        values.push(cell(text));
    }
    Ok(values)
}

fn invalid(detail: &str) -> Error {
    Error::MetadataInvalid { detail: detail.to_string() }
}
