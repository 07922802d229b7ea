//! Reading an uploaded archive (zip, tar or tar.gz, told apart by magic bytes, never by
//! name) as a stream of entries, under [`ArchiveLimits`] enforced while reading.
//!
//! What happens to a bad entry, case by case:
//! - **The import fails** (an archive made to attack, or damaged, is refused whole, so a job
//!   never runs on half of it): an unsafe name (`..`, absolute, drive letter, backslash,
//!   control or invisible characters, over-long), links and special files, two entries with
//!   the same name, any limit passed (entries, entry size, total size, ratio), a truncated or
//!   corrupt archive, encrypted entries or compression methods other than stored and deflate.
//! - **Skipped silently**: directories (their names are still checked).
//! - **Listed as skipped, not fatal**: files whose bytes are not an image we decode (judged
//!   by magic bytes: JPEG, PNG, WebP, GIF, BMP, TIFF), empty files, AVIF. They are handed to
//!   the caller with their bytes and a [`SkipReason`], so a `styles.csv` inside the archive
//!   can still be read as metadata.
//!
//! Limits are counted on bytes actually decompressed, never on sizes that headers declare
//! (a header may only make a refusal come sooner), and nothing is allocated by a declared
//! size. The ratio (uncompressed / compressed) is checked per entry and overall, once more
//! than [`ArchiveLimits::ratio_floor_bytes`] came out, so small, very compressible files pass.
//! Overall, it counts file data (and tar's extension headers), not tar's fixed header blocks.
//! A legitimate file that compresses more than the ratio (a flat, uncompressed BMP or TIFF)
//! is refused as a bomb too: the operator raises `max_ratio` if such datasets are expected.
//!
//! Zip needs `Seek` (its directory is at the end): the service spools uploads to a file.

use std::collections::HashSet;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use atelier_imaging::Format;

use crate::error::{printable, Error, Result};
use crate::name::{EntryName, UnsafeReason};

mod tar;
mod zip;

/// Safe defaults for untrusted uploads; every field is configurable by the operator.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ArchiveLimits {
    /// Most entries (files and directories) an archive may hold.
    pub max_entries: u64,
    /// Largest entry, in bytes once decompressed.
    pub max_entry_bytes: u64,
    /// Most bytes the whole archive may expand to (for tar, headers and padding count too).
    pub max_total_bytes: u64,
    /// Largest accepted ratio of decompressed to compressed bytes, per entry and overall.
    pub max_ratio: u64,
    /// The ratio is checked only once this many bytes came out (of an entry, or in all).
    pub ratio_floor_bytes: u64,
}

impl Default for ArchiveLimits {
    fn default() -> Self {
        ArchiveLimits {
            max_entries: 100_000,
            max_entry_bytes: 64 * 1024 * 1024,
            max_total_bytes: 4 * 1024 * 1024 * 1024,
            max_ratio: 100,
            ratio_floor_bytes: 1024 * 1024,
        }
    }
}

/// The container, as sniffed from the first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveKind {
    Zip,
    Tar,
    TarGz,
}

/// One file of the archive, with all its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: EntryName,
    pub bytes: Vec<u8>,
    pub content: Content,
}

/// What a file holds, by its magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    Image(Format),
    /// Not fatal: the caller lists it as skipped (or reads it as metadata).
    Skipped(SkipReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    Empty,
    NotAnImage,
    /// An image format this build does not decode (AVIF).
    UnsupportedImage(Format),
}

/// What has been read so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    /// Entries seen: files and directories (not tar's extension headers).
    pub entries: u64,
    pub images: u64,
    pub skipped: u64,
    /// Bytes decompressed, as counted against [`ArchiveLimits::max_total_bytes`].
    pub bytes: u64,
}

/// Pulls entries out of an archive one at a time; an [`Iterator`] of `Result<Entry>` that
/// ends after the first error. Memory is one entry's bytes, the names seen (to refuse
/// duplicates) and, for zip, its central directory.
pub struct ArchiveReader<R: Read + Seek> {
    source: Source<R>,
    state: State,
    done: bool,
}

enum Source<R: Read + Seek> {
    Zip(zip::ZipSource<R>),
    Tar(tar::TarSource<R>),
}

impl<R: Read + Seek> ArchiveReader<R> {
    /// Sniffs the container and reads what it needs to start (zip: the central directory,
    /// whose entry count is checked here). Refuses anything but zip, tar and tar.gz.
    pub fn open(reader: R, limits: ArchiveLimits) -> Result<Self> {
        let meter = Arc::new(InputMeter::default());
        let mut input = Counted { inner: reader, meter: meter.clone() };
        let kind = sniff(&mut input, &meter)?;
        input.seek(SeekFrom::Start(0)).map_err(Error::Io)?;
        let mut state = State {
            limits,
            totals: Totals::default(),
            names: HashSet::new(),
            meter,
            kind,
            ratio_bytes: 0,
            chunk: Vec::new(),
        };
        let source = match kind {
            ArchiveKind::Zip => Source::Zip(zip::ZipSource::open(input, &mut state)?),
            ArchiveKind::Tar => Source::Tar(tar::TarSource::plain(input)),
            ArchiveKind::TarGz => Source::Tar(tar::TarSource::gzip(input)),
        };
        Ok(ArchiveReader { source, state, done: false })
    }

    pub fn kind(&self) -> ArchiveKind {
        self.state.kind
    }

    pub fn totals(&self) -> &Totals {
        &self.state.totals
    }

    /// The next file, or `None` at the end of the archive.
    pub fn next_entry(&mut self) -> Result<Option<Entry>> {
        if self.done {
            return Ok(None);
        }
        let next = match &mut self.source {
            Source::Zip(source) => source.next_file(&mut self.state),
            Source::Tar(source) => source.next_file(&mut self.state),
        };
        let (name, bytes) = match next {
            Ok(Some(file)) => file,
            Ok(None) => {
                self.done = true;
                return Ok(None);
            }
            Err(error) => {
                self.done = true;
                return Err(error);
            }
        };
        let content = classify(&bytes);
        match content {
            Content::Image(_) => self.state.totals.images += 1,
            Content::Skipped(_) => self.state.totals.skipped += 1,
        }
        Ok(Some(Entry { name, bytes, content }))
    }
}

impl<R: Read + Seek> Iterator for ArchiveReader<R> {
    type Item = Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_entry().transpose()
    }
}

impl<R: Read + Seek> std::fmt::Debug for ArchiveReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArchiveReader").field("kind", &self.state.kind).field("totals", &self.state.totals).finish()
    }
}

/// Sorts a file's bytes into an image we decode or a reason to skip it.
pub fn classify(bytes: &[u8]) -> Content {
    match Format::sniff(bytes) {
        Some(format) if format.can_decode() => Content::Image(format),
        Some(format) => Content::Skipped(SkipReason::UnsupportedImage(format)),
        None if bytes.is_empty() => Content::Skipped(SkipReason::Empty),
        None => Content::Skipped(SkipReason::NotAnImage),
    }
}

fn sniff<R: Read>(input: &mut R, meter: &InputMeter) -> Result<ArchiveKind> {
    let mut head = [0u8; 512];
    let len = read_full(input, &mut head).map_err(|error| input_error(error, meter, "the start of the upload"))?;
    let head = &head[..len];
    let unsupported = |detail: &str| Err(Error::Unsupported { detail: detail.to_string() });
    match head {
        [] => unsupported("the upload is empty"),
        [b'P', b'K', 3, 4, ..] | [b'P', b'K', 5, 6, ..] | [b'P', b'K', 7, 8, ..] => Ok(ArchiveKind::Zip),
        [0x1F, 0x8B, ..] => Ok(ArchiveKind::TarGz),
        _ if tar::looks_like_tar(head) => Ok(ArchiveKind::Tar),
        [b'B', b'Z', b'h', ..] => unsupported("bzip2 data; use zip, tar or tar.gz"),
        [0xFD, b'7', b'z', b'X', b'Z', 0, ..] => unsupported("xz data; use zip, tar or tar.gz"),
        [0x28, 0xB5, 0x2F, 0xFD, ..] => unsupported("zstd data; use zip, tar or tar.gz"),
        [b'7', b'z', 0xBC, 0xAF, 0x27, 0x1C, ..] => unsupported("a 7-Zip archive; use zip, tar or tar.gz"),
        [b'R', b'a', b'r', b'!', ..] => unsupported("a RAR archive; use zip, tar or tar.gz"),
        _ if Format::sniff(head).is_some() => unsupported("a single image, not an archive of images"),
        _ => unsupported("the first bytes match no zip, tar or gzip header"),
    }
}

/// The limits, what has been counted against them, and the names already seen.
pub(crate) struct State {
    limits: ArchiveLimits,
    totals: Totals,
    names: HashSet<String>,
    meter: Arc<InputMeter>,
    kind: ArchiveKind,
    /// What the overall ratio counts: file data and tar extension payloads.
    ratio_bytes: u64,
    chunk: Vec<u8>,
}

/// How much is read from an entry at a time, and so how far past a limit reading may go.
const CHUNK: usize = 64 * 1024;

impl State {
    pub(crate) fn limits(&self) -> &ArchiveLimits {
        &self.limits
    }

    /// Counts one entry (a file or a directory) against [`ArchiveLimits::max_entries`].
    pub(crate) fn count_entry(&mut self) -> Result<()> {
        self.totals.entries += 1;
        if self.totals.entries > self.limits.max_entries {
            return Err(Error::TooManyEntries { limit: self.limits.max_entries });
        }
        Ok(())
    }

    /// Refuses a second file with the same (normalised) name.
    pub(crate) fn admit_name(&mut self, name: &EntryName) -> Result<()> {
        if !self.names.insert(name.as_str().to_string()) {
            return Err(unsafe_entry(name.as_str(), UnsafeReason::Duplicate));
        }
        Ok(())
    }

    /// Counts bytes that came out of the decompressor outside any file: tar's header blocks
    /// and padding. They count toward the total but not the ratio: they are mostly zeros, so
    /// 100,000 tiny files alone would look like a bomb, and the entry limit bounds them.
    pub(crate) fn count_overhead(&mut self, bytes: u64) -> Result<()> {
        self.totals.bytes += bytes;
        self.check_totals()
    }

    /// Counts bytes whose size the archive chooses, outside files (tar extension headers):
    /// toward the total and the ratio, like file data.
    pub(crate) fn count_payload(&mut self, bytes: u64) -> Result<()> {
        self.totals.bytes += bytes;
        self.ratio_bytes += bytes;
        self.check_totals()
    }

    /// Reads one file's bytes to its end, checking every limit after each chunk. `declared`
    /// is the header's size: over the entry limit, the file is refused before reading;
    /// otherwise it is not used (the bytes are counted as they come).
    pub(crate) fn read_file(&mut self, reader: &mut dyn Read, name: &EntryName, declared: u64) -> Result<Vec<u8>> {
        if declared > self.limits.max_entry_bytes {
            return Err(self.entry_too_large(name));
        }
        let raw_start = self.meter.consumed();
        let mut bytes = Vec::new();
        // One buffer for all entries: 100,000 small files must not mean 100,000 allocations.
        let mut chunk = std::mem::take(&mut self.chunk);
        chunk.resize(CHUNK, 0);
        let result = self.read_chunks(reader, name, raw_start, &mut chunk, &mut bytes);
        self.chunk = chunk;
        result.map(|()| bytes)
    }

    fn read_chunks(
        &mut self,
        reader: &mut dyn Read,
        name: &EntryName,
        raw_start: u64,
        chunk: &mut [u8],
        bytes: &mut Vec<u8>,
    ) -> Result<()> {
        loop {
            let len = match reader.read(chunk) {
                Ok(0) => break,
                Ok(len) => len,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    return Err(input_error(error, &self.meter, &format!("entry `{}`", printable(name.as_str()))))
                }
            };
            if (bytes.len() + len) as u64 > self.limits.max_entry_bytes {
                return Err(self.entry_too_large(name));
            }
            bytes.extend_from_slice(&chunk[..len]);
            self.totals.bytes += len as u64;
            self.ratio_bytes += len as u64;
            self.check_entry_ratio(name, bytes.len() as u64, raw_start)?;
            self.check_totals()?;
        }
        Ok(())
    }

    fn check_entry_ratio(&self, name: &EntryName, bytes: u64, raw_start: u64) -> Result<()> {
        if self.kind == ArchiveKind::Tar || bytes <= self.limits.ratio_floor_bytes {
            return Ok(());
        }
        let compressed = self.meter.consumed().saturating_sub(raw_start).max(1);
        if bytes > compressed.saturating_mul(self.limits.max_ratio) {
            return Err(Error::Bomb { name: Some(printable(name.as_str())), limit: self.limits.max_ratio });
        }
        Ok(())
    }

    fn check_totals(&self) -> Result<()> {
        if self.totals.bytes > self.limits.max_total_bytes {
            return Err(Error::TooLarge { limit: self.limits.max_total_bytes });
        }
        let total = self.ratio_bytes;
        let base = match self.kind {
            ArchiveKind::Tar => return Ok(()),
            // Zip entries may share their compressed bytes (an "overlapping" bomb): what the
            // whole archive may expand to is measured against its length, not reads.
            ArchiveKind::Zip => self.meter.archive_len.load(Ordering::Relaxed),
            ArchiveKind::TarGz => self.meter.consumed(),
        };
        if total > self.limits.ratio_floor_bytes && total > base.max(1).saturating_mul(self.limits.max_ratio) {
            return Err(Error::Bomb { name: None, limit: self.limits.max_ratio });
        }
        Ok(())
    }

    fn entry_too_large(&self, name: &EntryName) -> Error {
        Error::EntryTooLarge { name: printable(name.as_str()), limit: self.limits.max_entry_bytes }
    }

    pub(crate) fn meter(&self) -> &InputMeter {
        &self.meter
    }
}

pub(crate) fn unsafe_entry(raw_name: &str, reason: UnsafeReason) -> Error {
    Error::UnsafeEntry { name: printable(raw_name), reason }
}

/// What the raw upload stream has given: bytes read (compressed, for zip and tar.gz),
/// whether it failed itself, and (zip) its length.
#[derive(Debug, Default)]
pub(crate) struct InputMeter {
    consumed: AtomicU64,
    failed: AtomicBool,
    archive_len: AtomicU64,
}

impl InputMeter {
    pub(crate) fn consumed(&self) -> u64 {
        self.consumed.load(Ordering::Relaxed)
    }

    pub(crate) fn set_archive_len(&self, len: u64) {
        self.archive_len.store(len, Ordering::Relaxed);
    }
}

/// The raw upload, counted. Errors the stream itself returns are marked, so they are told
/// apart from a decoder's complaints about the bytes (see [`input_error`]).
pub(crate) struct Counted<R> {
    inner: R,
    meter: Arc<InputMeter>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(len) => {
                self.meter.consumed.fetch_add(len as u64, Ordering::Relaxed);
                Ok(len)
            }
            Err(error) => {
                if error.kind() != io::ErrorKind::Interrupted {
                    self.meter.failed.store(true, Ordering::Relaxed);
                }
                Err(error)
            }
        }
    }
}

impl<R: Seek> Seek for Counted<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos).inspect_err(|_| self.meter.failed.store(true, Ordering::Relaxed))
    }
}

/// Sorts an IO error met while reading the archive: the stream's own failure, the data
/// ending early, or data a decoder refused.
pub(crate) fn input_error(error: io::Error, meter: &InputMeter, what: &str) -> Error {
    if meter.failed.load(Ordering::Relaxed) {
        return Error::Io(error);
    }
    match error.kind() {
        io::ErrorKind::UnexpectedEof => Error::Truncated { detail: format!("{what} ends early") },
        _ => Error::Corrupt { detail: format!("{what}: {error}") },
    }
}

/// Reads until `buf` is full or the input ends; returns how much was read.
pub(crate) fn read_full(reader: &mut (impl Read + ?Sized), buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(len) => filled += len,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests;
