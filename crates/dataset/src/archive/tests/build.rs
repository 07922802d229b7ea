//! Archive writers for the tests: the `zip` and `tar` crates' own writers for well-formed
//! archives, and hand-made records where a test needs what no honest writer produces
//! (names with `..`, headers that lie, entries that share their compressed bytes).

use std::io::{Cursor, Write};

use flate2::write::{DeflateEncoder, GzEncoder};
use flate2::Compression;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

/// The smallest "images": the magic bytes are all the archive reader looks at.
pub const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
pub const JPEG: &[u8] = b"\xFF\xD8\xFF\xE0\0\x10JFIF\0";

pub fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    for (name, data) in files {
        if let Some(dir) = name.strip_suffix('/') {
            writer.add_directory(dir, options).unwrap();
        } else {
            writer.start_file(*name, options).unwrap();
            writer.write_all(data).unwrap();
        }
    }
    writer.finish().unwrap().into_inner()
}

/// A tar made by the `tar` crate's builder, as any honest tool would (long names become GNU
/// long-name entries; names ending in `/` directories).
pub fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut header = tar::Header::new_gnu();
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_size(data.len() as u64);
        header.set_entry_type(if name.ends_with('/') { tar::EntryType::Directory } else { tar::EntryType::Regular });
        builder.append_data(&mut header, name, *data).unwrap();
    }
    builder.into_inner().unwrap()
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// A tar built block by block, so names and types can be anything.
#[derive(Default)]
pub struct RawTar {
    out: Vec<u8>,
}

impl RawTar {
    /// One header (the name in the 100-byte field, cut there) and its data.
    pub fn entry(mut self, name: &[u8], entry_type: u8, data: &[u8]) -> Self {
        self.out.extend_from_slice(header(name, entry_type, data.len() as u64, b"").as_bytes());
        self.data(data)
    }

    /// A header that declares `size` bytes, whatever follows it.
    pub fn header_only(mut self, name: &[u8], entry_type: u8, size: u64) -> Self {
        self.out.extend_from_slice(header(name, entry_type, size, b"").as_bytes());
        self
    }

    pub fn link(mut self, name: &[u8], entry_type: u8, target: &[u8]) -> Self {
        self.out.extend_from_slice(header(name, entry_type, 0, target).as_bytes());
        self
    }

    /// Data padded to a whole block.
    pub fn data(mut self, data: &[u8]) -> Self {
        self.out.extend_from_slice(data);
        self.out.resize(self.out.len().div_ceil(512) * 512, 0);
        self
    }

    /// The two zero blocks that end an archive.
    pub fn finish(mut self) -> Vec<u8> {
        self.out.extend_from_slice(&[0; 1024]);
        self.out
    }

    pub fn unfinished(self) -> Vec<u8> {
        self.out
    }
}

fn header(name: &[u8], entry_type: u8, size: u64, link: &[u8]) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    let old = header.as_old_mut();
    let len = name.len().min(100);
    old.name[..len].copy_from_slice(&name[..len]);
    old.linkname[..link.len()].copy_from_slice(link);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_size(size);
    header.set_entry_type(tar::EntryType::new(entry_type));
    header.set_cksum();
    header
}

/// Raw deflate data that expands to `megabytes` MiB of zeros, made without compressing them
/// all: one MiB is deflated once (at ~1000:1, deflate's best) and its blocks repeated.
pub fn deflated_zeros(megabytes: usize) -> Vec<u8> {
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(&vec![0; 1024 * 1024]).unwrap();
    // A sync flush ends the blocks on a byte boundary without ending the stream. The blocks
    // only refer back into their own output, so copies of them decode one after another.
    encoder.flush().unwrap();
    let chunk = encoder.get_ref().clone();
    let mut out = chunk.repeat(megabytes);
    // The last block: final, fixed codes, just the end-of-block symbol.
    out.extend_from_slice(&[0x03, 0x00]);
    out
}

/// Deflates `data` alone, as a whole (final) stream.
pub fn deflated(data: &[u8]) -> Vec<u8> {
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(data);
    crc.sum()
}

/// General-purpose flag bit 11: names are UTF-8 (else readers take them as code page 437).
const UTF8_NAMES: u16 = 0x0800;

/// A local record of a hand-made zip: its name, method (0 stored, 8 deflate), CRC, the
/// sizes its headers declare, and its compressed bytes.
pub struct Local<'a> {
    pub name: &'a str,
    pub method: u16,
    pub crc: u32,
    pub declared_size: u32,
    pub data: &'a [u8],
}

/// A zip with the given local records, and a central directory that lists `(name, local
/// index, Unix mode)` for each entry: two entries may point at one local record.
pub fn hand_zip(locals: &[Local<'_>], central: &[(String, usize, u32)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut offsets = Vec::new();
    for local in locals {
        offsets.push(out.len() as u32);
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        for field in [20u16, UTF8_NAMES, local.method, 0, 0x21] {
            out.extend_from_slice(&field.to_le_bytes());
        }
        for field in [local.crc, local.data.len() as u32, local.declared_size] {
            out.extend_from_slice(&field.to_le_bytes());
        }
        for field in [local.name.len() as u16, 0] {
            out.extend_from_slice(&field.to_le_bytes());
        }
        out.extend_from_slice(local.name.as_bytes());
        out.extend_from_slice(local.data);
    }
    let directory_start = out.len() as u32;
    for (name, index, mode) in central {
        let local = &locals[*index];
        out.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        // Made by Unix (3), version 2.0.
        for field in [0x0314u16, 20, UTF8_NAMES, local.method, 0, 0x21] {
            out.extend_from_slice(&field.to_le_bytes());
        }
        for field in [local.crc, local.data.len() as u32, local.declared_size] {
            out.extend_from_slice(&field.to_le_bytes());
        }
        for field in [name.len() as u16, 0, 0, 0, 0] {
            out.extend_from_slice(&field.to_le_bytes());
        }
        out.extend_from_slice(&(mode << 16).to_le_bytes());
        out.extend_from_slice(&offsets[*index].to_le_bytes());
        out.extend_from_slice(name.as_bytes());
    }
    let directory_len = out.len() as u32 - directory_start;
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    let count = central.len() as u16;
    for field in [0u16, 0, count, count] {
        out.extend_from_slice(&field.to_le_bytes());
    }
    out.extend_from_slice(&directory_len.to_le_bytes());
    out.extend_from_slice(&directory_start.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// A gzip member around raw deflate data; the trailer is left wrong, as a bomb's would be
/// (it is never reached).
pub fn gzip_raw(deflate: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
    out.extend_from_slice(deflate);
    out.extend_from_slice(&[0; 8]);
    out
}

/// Deflate blocks for `data` that end on a byte boundary but do not end the stream, so more
/// blocks (say, [`deflated_zeros`]) can follow.
pub fn deflated_open(data: &[u8]) -> Vec<u8> {
    let mut encoder = DeflateEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(data).unwrap();
    encoder.flush().unwrap();
    encoder.get_ref().clone()
}
