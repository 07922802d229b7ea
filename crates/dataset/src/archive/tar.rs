//! Tar and tar.gz, read block by block here (the `tar` crate parses each header), so that
//! every byte, extension headers included, goes through the limits: GNU long names are
//! capped at the name limit and PAX headers at 64 KiB before they are read, never read whole
//! by a declared size. Regular files are read; directories passed over; links, devices,
//! FIFOs and long link names refuse the archive; sparse files and unknown types too.
//! An archive must end with its end-of-archive block: input that stops before is truncated.

use std::io::{self, Read, Seek};

use flate2::read::MultiGzDecoder;
use tar::Header;

use super::{input_error, read_full, unsafe_entry, Counted, State};
use crate::error::{printable_bytes, Error, Result};
use crate::name::{normalise, EntryName, UnsafeReason, MAX_NAME_BYTES};

const BLOCK: usize = 512;
/// Largest PAX extension header read (each record is a line; real ones are a few hundred bytes).
const MAX_PAX_BYTES: u64 = 64 * 1024;
/// Most extension headers (long names, PAX) in a row before the entry they describe.
const MAX_EXTENSIONS_IN_A_ROW: u32 = 8;

pub(crate) struct TarSource<R> {
    stream: Stream<R>,
    /// The first header decides whether gzip data holds a tar at all.
    first: bool,
}

enum Stream<R> {
    Plain(Counted<R>),
    Gzip(Box<MultiGzDecoder<Counted<R>>>),
}

impl<R: Read> Read for Stream<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Plain(input) => input.read(buf),
            Stream::Gzip(decoder) => decoder.read(buf),
        }
    }
}

/// What PAX and GNU extension headers said about the next entry.
#[derive(Default)]
struct Pending {
    long_name: Option<Vec<u8>>,
    pax_path: Option<Vec<u8>>,
    pax_size: Option<u64>,
    count: u32,
}

impl<R: Read + Seek> TarSource<R> {
    pub(crate) fn plain(input: Counted<R>) -> Self {
        TarSource { stream: Stream::Plain(input), first: true }
    }

    pub(crate) fn gzip(input: Counted<R>) -> Self {
        TarSource { stream: Stream::Gzip(Box::new(MultiGzDecoder::new(input))), first: true }
    }

    /// The next file's name and bytes; directories are checked and passed over.
    pub(crate) fn next_file(&mut self, state: &mut State) -> Result<Option<(EntryName, Vec<u8>)>> {
        let mut pending = Pending::default();
        loop {
            let mut block = [0u8; BLOCK];
            let len = read_full(&mut self.stream, &mut block).map_err(|e| self.error(e, state, "a tar header"))?;
            if len < BLOCK {
                let detail = "the tar data stops before its end-of-archive block".to_string();
                return Err(Error::Truncated { detail });
            }
            state.count_overhead(BLOCK as u64)?;
            if block.iter().all(|&byte| byte == 0) {
                if pending.count > 0 {
                    return Err(corrupt("extension headers describe an entry that never comes"));
                }
                return Ok(None);
            }
            let header = Header::from_byte_slice(&block);
            if !checksum_matches(header) {
                if std::mem::take(&mut self.first) && matches!(self.stream, Stream::Gzip(_)) {
                    return Err(Error::Unsupported { detail: "gzip data that is not a tar archive".to_string() });
                }
                return Err(corrupt("a tar header's checksum does not match (damaged or not a tar)"));
            }
            self.first = false;
            let entry_type = header.entry_type().as_byte();
            let header_size = header.entry_size().map_err(|e| corrupt(&format!("a tar header's size: {e}")))?;
            if matches!(entry_type, b'L' | b'x' | b'g') {
                pending.count += 1;
                if pending.count > MAX_EXTENSIONS_IN_A_ROW {
                    return Err(corrupt("too many extension headers in a row"));
                }
                self.read_extension(state, entry_type, header_size, &mut pending, header)?;
                continue;
            }
            let size = pending.pax_size.take().unwrap_or(header_size);
            let raw_name = match (pending.pax_path.take(), pending.long_name.take()) {
                (Some(path), _) | (None, Some(path)) => path,
                (None, None) => header.path_bytes().into_owned(),
            };
            pending.count = 0;
            state.count_entry()?;
            match entry_type {
                b'0' | b'\0' | b'7' if !raw_name.ends_with(b"/") => {}
                b'0' | b'\0' | b'7' | b'5' => {
                    check_dir_name(&raw_name)?;
                    self.skip(state, size, "a directory")?;
                    continue;
                }
                b'1' | b'2' | b'K' => return Err(unsafe_entry(&lossy(&raw_name), UnsafeReason::Link)),
                b'3' | b'4' | b'6' => return Err(unsafe_entry(&lossy(&raw_name), UnsafeReason::SpecialFile)),
                b'S' => return Err(unsupported(&raw_name, "is a sparse file")),
                other => return Err(unsupported(&raw_name, &format!("has the unknown tar type {:?}", other as char))),
            }
            let name = EntryName::parse_bytes(&raw_name).map_err(|reason| unsafe_entry(&lossy(&raw_name), reason))?;
            state.admit_name(&name)?;
            let bytes = state.read_file(&mut (&mut self.stream).take(size), &name, size)?;
            if (bytes.len() as u64) < size {
                let detail = format!("entry `{}` stops after {} of its {size} bytes", name, bytes.len());
                return Err(Error::Truncated { detail });
            }
            self.skip_padding(state, size)?;
            return Ok(Some((name, bytes)));
        }
    }

    /// Reads a GNU long name (`L`) or a PAX header (`x`, `g`) into `pending`, capped first.
    fn read_extension(
        &mut self,
        state: &mut State,
        entry_type: u8,
        size: u64,
        pending: &mut Pending,
        header: &Header,
    ) -> Result<()> {
        let cap = if entry_type == b'L' { MAX_NAME_BYTES as u64 + 1 } else { MAX_PAX_BYTES };
        if size > cap {
            if entry_type == b'L' {
                return Err(unsafe_entry(&lossy(&header.path_bytes()), UnsafeReason::TooLong));
            }
            return Err(corrupt("a PAX extension header is larger than 64 KiB"));
        }
        let mut bytes = vec![0u8; size as usize];
        let len =
            read_full(&mut self.stream, &mut bytes).map_err(|e| self.error(e, state, "a tar extension header"))?;
        if len < bytes.len() {
            return Err(Error::Truncated { detail: "a tar extension header stops early".to_string() });
        }
        state.count_payload(size)?;
        self.skip_padding(state, size)?;
        match entry_type {
            b'L' => {
                if pending.long_name.is_some() {
                    return Err(corrupt("two long names describe one entry"));
                }
                let end = bytes.iter().rposition(|&byte| byte != 0).map_or(0, |last| last + 1);
                bytes.truncate(end);
                pending.long_name = Some(bytes);
            }
            b'x' => read_pax(&bytes, pending)?,
            // Global PAX headers set defaults (times, owners) that nothing here uses.
            _ => {}
        }
        Ok(())
    }

    /// Reads and discards `size` bytes and the padding after them, counting them like data
    /// (a directory's size is the archive's choice).
    fn skip(&mut self, state: &mut State, size: u64, what: &str) -> Result<()> {
        let padded = size.div_ceil(BLOCK as u64) * BLOCK as u64;
        let mut left = padded;
        let mut chunk = [0u8; 8 * BLOCK];
        while left > 0 {
            let want = left.min(chunk.len() as u64) as usize;
            let len = read_full(&mut self.stream, &mut chunk[..want]).map_err(|e| self.error(e, state, what))?;
            if len == 0 {
                return Err(Error::Truncated { detail: format!("{what} in the tar data stops early") });
            }
            left -= len as u64;
            state.count_payload(len as u64)?;
        }
        Ok(())
    }

    fn skip_padding(&mut self, state: &mut State, size: u64) -> Result<()> {
        let padding = (BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64;
        let mut block = [0u8; BLOCK];
        let len = read_full(&mut self.stream, &mut block[..padding as usize])
            .map_err(|e| self.error(e, state, "the tar padding"))?;
        if (len as u64) < padding {
            return Err(Error::Truncated { detail: "the tar data stops inside an entry's padding".to_string() });
        }
        state.count_overhead(padding)
    }

    fn error(&self, error: io::Error, state: &State, what: &str) -> Error {
        input_error(error, state.meter(), what)
    }
}

/// Plain tar has no magic in old (v7) archives: a header is one whose checksum matches.
pub(crate) fn looks_like_tar(head: &[u8]) -> bool {
    head.len() == BLOCK && (&head[257..262] == b"ustar" || checksum_matches(Header::from_byte_slice(head)))
}

/// The header checksum: the sum of its bytes with the checksum field read as spaces.
fn checksum_matches(header: &Header) -> bool {
    let bytes = header.as_bytes();
    let sum: u32 =
        bytes[..148].iter().chain(&bytes[156..]).map(|&byte| u32::from(byte)).sum::<u32>() + 8 * u32::from(b' ');
    header.cksum().is_ok_and(|stored| stored == sum)
}

/// PAX records: `path` renames the next entry, `size` overrides its header's size (as every
/// reader must, or two readers would see two archives); sparse files are not read.
fn read_pax(bytes: &[u8], pending: &mut Pending) -> Result<()> {
    for record in tar::PaxExtensions::new(bytes) {
        let record = record.map_err(|e| corrupt(&format!("a PAX record: {e}")))?;
        match record.key_bytes() {
            b"path" => pending.pax_path = Some(record.value_bytes().to_vec()),
            b"size" => {
                let size = record.value().ok().and_then(|text| text.parse().ok());
                pending.pax_size = Some(size.ok_or_else(|| corrupt("a PAX size is not a number"))?);
            }
            key if key.starts_with(b"GNU.sparse.") => {
                return Err(Error::Unsupported { detail: "a tar entry is a sparse file".to_string() });
            }
            _ => {}
        }
    }
    Ok(())
}

fn check_dir_name(raw_name: &[u8]) -> Result<()> {
    let text = std::str::from_utf8(raw_name).map_err(|_| unsafe_entry(&lossy(raw_name), UnsafeReason::NotUtf8))?;
    normalise(text).map(drop).map_err(|reason| unsafe_entry(text, reason))
}

fn lossy(raw: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(raw)
}

fn corrupt(detail: &str) -> Error {
    Error::Corrupt { detail: detail.to_string() }
}

fn unsupported(raw_name: &[u8], what: &str) -> Error {
    Error::Unsupported { detail: format!("entry `{}` {what}", printable_bytes(raw_name)) }
}
