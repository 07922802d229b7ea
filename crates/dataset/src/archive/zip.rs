//! Zip archives, through the `zip` crate: the central directory says what the entries are
//! (its entry count is checked before any entry is read), each entry's name and Unix mode
//! are checked, and its bytes are read through [`State::read_file`]. Stored and deflated
//! entries only; an encrypted entry or another method refuses the archive.

use std::io::{Read, Seek, SeekFrom};

use zip::result::ZipError;
use zip::ZipArchive;

use super::{input_error, unsafe_entry, Counted, State};
use crate::error::{printable, Error, Result};
use crate::name::{normalise, EntryName, UnsafeReason};

/// The file-type bits of a Unix mode, and the types they name.
const S_IFMT: u32 = 0o170_000;
const S_IFREG: u32 = 0o100_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFLNK: u32 = 0o120_000;

pub(crate) struct ZipSource<R> {
    archive: ZipArchive<Counted<R>>,
    next: usize,
}

impl<R: Read + Seek> ZipSource<R> {
    pub(crate) fn open(mut input: Counted<R>, state: &mut State) -> Result<Self> {
        let len = input.seek(SeekFrom::End(0)).map_err(Error::Io)?;
        input.seek(SeekFrom::Start(0)).map_err(Error::Io)?;
        state.meter().set_archive_len(len);
        // The `zip` crate reads the whole central directory before anyone can count it: a
        // count over the limit in the end record is refused before that. (The count of what
        // it did read is checked after too; the end record is only a way to refuse sooner.)
        let declared = declared_entries(&mut input, len).map_err(Error::Io)?;
        if declared.is_some_and(|count| count > state.limits().max_entries) {
            return Err(Error::TooManyEntries { limit: state.limits().max_entries });
        }
        input.seek(SeekFrom::Start(0)).map_err(Error::Io)?;
        let archive = ZipArchive::new(input).map_err(|error| zip_error(error, state, "the zip directory"))?;
        if archive.len() as u64 > state.limits().max_entries {
            return Err(Error::TooManyEntries { limit: state.limits().max_entries });
        }
        Ok(ZipSource { archive, next: 0 })
    }

    /// The next file's name and bytes; directories are checked and passed over.
    pub(crate) fn next_file(&mut self, state: &mut State) -> Result<Option<(EntryName, Vec<u8>)>> {
        while self.next < self.archive.len() {
            let index = self.next;
            self.next += 1;
            state.count_entry()?;
            let raw_name = self.archive.name_for_index(index).unwrap_or_default().to_string();
            let what = format!("entry `{}`", printable(&raw_name));
            let mut file = self.archive.by_index(index).map_err(|error| zip_error(error, state, &what))?;
            let file_type = file.unix_mode().map_or(0, |mode| mode & S_IFMT);
            match file_type {
                S_IFLNK => return Err(unsafe_entry(&raw_name, UnsafeReason::Link)),
                0 | S_IFREG | S_IFDIR => {}
                _ => return Err(unsafe_entry(&raw_name, UnsafeReason::SpecialFile)),
            }
            if file.is_dir() || file_type == S_IFDIR {
                normalise(&raw_name).map_err(|reason| unsafe_entry(&raw_name, reason))?;
                continue;
            }
            let name = EntryName::parse(&raw_name).map_err(|reason| unsafe_entry(&raw_name, reason))?;
            state.admit_name(&name)?;
            if file.encrypted() {
                return Err(Error::Unsupported { detail: format!("{what} is encrypted") });
            }
            let declared = file.size();
            let bytes = state.read_file(&mut file, &name, declared)?;
            return Ok(Some((name, bytes)));
        }
        Ok(None)
    }
}

/// The entry count the end-of-central-directory record declares (or its zip64 form's),
/// found as readers find it: the last signature in the final 64 KiB + 22 bytes.
fn declared_entries<R: Read + Seek>(input: &mut R, len: u64) -> std::io::Result<Option<u64>> {
    const EOCD: &[u8] = b"PK\x05\x06";
    const ZIP64_LOCATOR: &[u8] = b"PK\x06\x07";
    const ZIP64_EOCD: &[u8] = b"PK\x06\x06";
    let tail_len = len.min(65_535 + 22 + 20);
    let tail_start = len - tail_len;
    input.seek(SeekFrom::Start(tail_start))?;
    let mut tail = Vec::new();
    input.take(tail_len).read_to_end(&mut tail)?;
    let Some(at) = (0..tail.len().saturating_sub(21)).rev().find(|&at| tail[at..].starts_with(EOCD)) else {
        return Ok(None);
    };
    let count = u64::from(u16::from_le_bytes([tail[at + 10], tail[at + 11]]));
    if count != 0xFFFF || at < 20 || !tail[at - 20..].starts_with(ZIP64_LOCATOR) {
        return Ok(Some(count));
    }
    let locator = &tail[at - 20..at];
    let zip64_at = u64::from_le_bytes(locator[8..16].try_into().expect("8 bytes"));
    let mut record = [0u8; 40];
    input.seek(SeekFrom::Start(zip64_at))?;
    if super::read_full(input, &mut record)? < record.len() || !record.starts_with(ZIP64_EOCD) {
        return Ok(Some(count));
    }
    Ok(Some(u64::from_le_bytes(record[32..40].try_into().expect("8 bytes"))))
}

fn zip_error(error: ZipError, state: &State, what: &str) -> Error {
    match error {
        ZipError::Io(error) => input_error(error, state.meter(), what),
        // The end record is the last thing written: without it, the upload stopped early.
        ZipError::InvalidArchive(detail) if detail.contains("EOCD") || detail.contains("end of central directory") => {
            Error::Truncated { detail: format!("{what}: no end-of-archive record ({detail})") }
        }
        ZipError::InvalidArchive(detail) => Error::Corrupt { detail: format!("{what}: {detail}") },
        ZipError::UnsupportedArchive(detail) => Error::Unsupported { detail: format!("{what}: {detail}") },
        ZipError::CompressionMethodNotSupported(method) => Error::Unsupported {
            detail: format!("{what} uses compression method {method}; only stored and deflate are read"),
        },
        ZipError::InvalidPassword => Error::Unsupported { detail: format!("{what} is encrypted") },
        other => Error::Corrupt { detail: format!("{what}: {other}") },
    }
}
