//! Hostile archives: zip bombs (one entry, and many entries sharing one compressed kernel),
//! a tar.gz bomb, headers that understate sizes, floods of tiny entries, truncated uploads,
//! and random or mutated bytes, none of which may panic or get past the limits.

use std::io::Cursor;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::build::{crc32, deflated, deflated_open, deflated_zeros, gzip, gzip_raw, hand_zip, tar_of, zip_of};
use super::build::{Local, RawTar, JPEG, PNG};
use super::{read, read_with, refused};
use crate::archive::{ArchiveLimits, ArchiveReader, Entry};
use crate::error::{Code, Error};

/// Reads to the first error, and says how many bytes had come out by then.
fn refusal(bytes: Vec<u8>, limits: ArchiveLimits) -> (Error, u64, Duration) {
    let started = Instant::now();
    let mut reader = match ArchiveReader::open(Cursor::new(bytes), limits) {
        Ok(reader) => reader,
        Err(error) => return (error, 0, started.elapsed()),
    };
    loop {
        match reader.next_entry() {
            Ok(Some(_)) => {}
            Ok(None) => panic!("accepted whole: {:?}", reader.totals()),
            Err(error) => return (error, reader.totals().bytes, started.elapsed()),
        }
    }
}

fn one_gib_zip(declared_size: u32) -> Vec<u8> {
    let data = deflated_zeros(1024);
    // The CRC is never reached: the reader stops long before the end.
    let local = Local { name: "zeros.png", method: 8, crc: 0, declared_size, data: &data };
    hand_zip(&[local], &[("zeros.png".into(), 0, 0o100_644)])
}

#[test]
fn a_zip_bomb_is_refused_after_a_few_mebibytes() {
    let zip = one_gib_zip(1 << 30);
    let zip_len = zip.len();
    assert!(zip_len < 1_100_000, "{zip_len} bytes expanding to 1 GiB");
    // With an entry limit that does not stop it first, only the ratio can.
    let limits = ArchiveLimits { max_entry_bytes: 2 << 30, ..ArchiveLimits::default() };
    let (error, bytes_out, elapsed) = refusal(zip, limits);
    assert!(matches!(&error, Error::Bomb { name: Some(name), limit: 100 } if name == "zeros.png"), "{error}");
    assert_eq!(error.code(), Code::ArchiveBomb);
    assert!(bytes_out < 8 << 20, "{bytes_out} bytes decompressed before the refusal");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    eprintln!("zip bomb: {zip_len} bytes for 1 GiB, refused after {bytes_out} bytes out in {elapsed:?}");
}

#[test]
fn a_header_that_understates_the_size_does_not_fool_the_limits() {
    let (error, bytes_out, _) = refusal(one_gib_zip(100), ArchiveLimits::default());
    assert_eq!(error.code(), Code::ArchiveBomb, "{error}");
    assert!(bytes_out < 8 << 20, "{bytes_out}");
    let ratio_off = ArchiveLimits { max_ratio: u64::MAX, ..ArchiveLimits::default() };
    let (error, bytes_out, _) = refusal(one_gib_zip(100), ratio_off);
    assert!(matches!(error, Error::EntryTooLarge { .. }), "{error}");
    assert!(bytes_out <= (64 << 20) + (64 << 10), "stops within a chunk of the limit: {bytes_out}");
}

#[test]
fn entries_sharing_one_compressed_kernel_are_an_overall_bomb() {
    // 512 KiB of zeros per entry stays under the per-entry ratio floor; 2,000 entries
    // pointing at one kernel expand a ~110 KB file to 1000 MiB.
    let zeros = vec![0u8; 512 << 10];
    let kernel = deflated(&zeros);
    let local = Local { name: "k", method: 8, crc: crc32(&zeros), declared_size: zeros.len() as u32, data: &kernel };
    let central: Vec<(String, usize, u32)> = (0..2000).map(|i| (format!("{i}.bin"), 0, 0o100_644)).collect();
    let small = hand_zip(std::slice::from_ref(&local), &central[..2]);
    let lenient = ArchiveLimits { ratio_floor_bytes: 4 << 20, ..ArchiveLimits::default() };
    let entries = read_with(small, lenient).unwrap();
    assert_eq!(entries.len(), 2, "the bomb is made of a valid zip: its kernel decodes");
    assert!(entries.iter().all(|entry| entry.bytes == zeros));

    let zip = hand_zip(&[local], &central);
    let zip_len = zip.len();
    let (error, bytes_out, elapsed) = refusal(zip, ArchiveLimits::default());
    assert!(matches!(error, Error::Bomb { name: None, .. }), "{error}");
    assert!(bytes_out <= (zip_len as u64 * 100) + (512 << 10), "{bytes_out}");
    eprintln!("overlapping bomb: {zip_len} bytes for 1000 MiB, refused after {bytes_out} bytes out in {elapsed:?}");
}

#[test]
fn a_tar_gz_bomb_is_refused_after_a_few_mebibytes() {
    let header = RawTar::default().header_only(b"zeros.png", b'0', 1 << 30).unfinished();
    let tar_gz = gzip_raw(&[deflated_open(&header), deflated_zeros(1024)].concat());
    let limits = ArchiveLimits { max_entry_bytes: 2 << 30, ..ArchiveLimits::default() };
    let (error, bytes_out, elapsed) = refusal(tar_gz.clone(), limits);
    assert!(matches!(&error, Error::Bomb { name: Some(name), .. } if name == "zeros.png"), "{error}");
    assert!(bytes_out < 8 << 20, "{bytes_out}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    let (error, ..) = refusal(tar_gz, ArchiveLimits::default());
    assert!(matches!(error, Error::EntryTooLarge { .. }), "the declared 1 GiB is over 64 MiB: {error}");
}

#[test]
fn a_tar_gz_of_zero_blocks_after_a_header_is_an_end_not_a_flood() {
    let header = RawTar::default().header_only(b"zeros.png", b'0', 0).unfinished();
    let tar_gz = gzip_raw(&[deflated_open(&header), deflated_zeros(1024)].concat());
    let mut reader = ArchiveReader::open(Cursor::new(tar_gz), ArchiveLimits::default()).unwrap();
    assert_eq!(reader.next_entry().unwrap().unwrap().bytes, b"");
    assert!(reader.next_entry().unwrap().is_none());
    assert_eq!(reader.totals().bytes, 1024, "reading stops at the end-of-archive block");
}

#[test]
fn a_flood_of_extension_headers_counts_like_data() {
    // Eight global PAX headers of 64 KiB of zeros, then a directory, over and over.
    let mut unit = RawTar::default();
    for _ in 0..8 {
        unit = unit.entry(b"pax_global_header", b'g', &[0; 64 << 10]);
    }
    let unit = unit.entry(b"dir/", b'5', b"").unfinished();
    let tar_gz = gzip_raw(&[deflated_open(&unit).repeat(400), vec![0x03, 0x00]].concat());
    let (error, bytes_out, elapsed) = refusal(tar_gz, ArchiveLimits::default());
    assert!(matches!(error, Error::Bomb { name: None, .. }), "{error}");
    assert!(bytes_out < 8 << 20, "{bytes_out}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    let too_many = RawTar::default()
        .entry(b"g", b'g', b"")
        .entry(b"g", b'g', b"")
        .entry(b"g", b'g', b"")
        .entry(b"g", b'g', b"")
        .entry(b"g", b'g', b"")
        .entry(b"g", b'g', b"")
        .entry(b"g", b'g', b"")
        .entry(b"g", b'g', b"")
        .entry(b"g", b'g', b"")
        .entry(b"a.png", b'0', PNG)
        .finish();
    assert_eq!(refused(too_many).code(), Code::ArchiveCorrupt);
}

#[test]
fn an_end_record_declaring_a_trillion_entries_is_refused_before_the_directory_is_read() {
    let mut zip = b"PK\x03\x04".to_vec();
    zip.resize(30, 0);
    let zip64_at = zip.len() as u64;
    zip.extend_from_slice(b"PK\x06\x06");
    zip.extend_from_slice(&44u64.to_le_bytes());
    zip.extend_from_slice(&[45, 0, 45, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    zip.extend_from_slice(&1_000_000_000_000u64.to_le_bytes());
    zip.extend_from_slice(&1_000_000_000_000u64.to_le_bytes());
    zip.extend_from_slice(&[0; 16]);
    zip.extend_from_slice(b"PK\x06\x07\0\0\0\0");
    zip.extend_from_slice(&zip64_at.to_le_bytes());
    zip.extend_from_slice(&1u32.to_le_bytes());
    zip.extend_from_slice(b"PK\x05\x06\0\0\0\0\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\0\0");
    let error = ArchiveReader::open(Cursor::new(zip), ArchiveLimits::default()).unwrap_err();
    assert!(matches!(error, Error::TooManyEntries { limit: 100_000 }), "{error}");
}

fn tiny_files(count: usize) -> Vec<(String, &'static [u8])> {
    (0..count).map(|i| (format!("img/{i:06}.png"), PNG)).collect()
}

fn as_refs<'a>(files: &'a [(String, &'static [u8])]) -> Vec<(&'a str, &'static [u8])> {
    files.iter().map(|(name, data)| (name.as_str(), *data)).collect()
}

#[test]
fn a_hundred_thousand_and_one_tiny_entries_are_refused_before_reading_them() {
    let files = tiny_files(100_001);
    let zip = zip_of(&as_refs(&files));
    let started = Instant::now();
    let error = ArchiveReader::open(Cursor::new(zip), ArchiveLimits::default()).unwrap_err();
    assert!(matches!(error, Error::TooManyEntries { limit: 100_000 }), "{error}");
    eprintln!("100,001-entry zip refused at open in {:?}", started.elapsed());
    let tar_gz = gzip(&tar_of(&as_refs(&files)));
    let (error, ..) = refusal(tar_gz, ArchiveLimits::default());
    assert_eq!(error.code(), Code::ArchiveTooManyEntries, "{error}");
}

#[test]
fn a_hundred_thousand_tiny_entries_are_accepted_quickly() {
    let files = tiny_files(100_000);
    for (kind, bytes) in [("zip", zip_of(&as_refs(&files))), ("tar.gz", gzip(&tar_of(&as_refs(&files))))] {
        let len = bytes.len();
        let started = Instant::now();
        let reader = ArchiveReader::open(Cursor::new(bytes), ArchiveLimits::default()).unwrap();
        let mut count = 0;
        for entry in reader {
            let entry: Entry = entry.unwrap();
            assert_eq!(entry.bytes, PNG);
            count += 1;
        }
        let elapsed = started.elapsed();
        assert_eq!(count, 100_000);
        assert!(elapsed < Duration::from_secs(20), "{kind}: {elapsed:?}");
        eprintln!("100,000-entry {kind} ({len} bytes) read in {elapsed:?}");
    }
}

#[test]
fn a_truncated_zip_tar_or_tar_gz_is_refused_as_truncated() {
    let big: Vec<u8> = (0..200_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let files: &[(&str, &[u8])] = &[("a.png", &[PNG, &big].concat()), ("b.jpg", &[JPEG, &big].concat())];
    for (kind, whole) in [("zip", zip_of(files)), ("tar", tar_of(files)), ("tar.gz", gzip(&tar_of(files)))] {
        let cut = whole[..whole.len() / 2].to_vec();
        let error = refused(cut);
        assert_eq!(error.code(), Code::ArchiveTruncated, "{kind}: {error}");
    }
    let unfinished = RawTar::default().entry(b"a.png", b'0', PNG).unfinished();
    let error = refused(unfinished);
    assert!(error.to_string().contains("end-of-archive"), "{error}");
}

/// The codes untrusted bytes may be answered with; anything else would be a bug.
const CONTENT_CODES: &[Code] = &[
    Code::ArchiveUnsupported,
    Code::ArchiveEntryUnsafe,
    Code::ArchiveTooManyEntries,
    Code::ArchiveTooLarge,
    Code::ArchiveBomb,
    Code::ArchiveTruncated,
    Code::ArchiveCorrupt,
];

#[test]
fn every_prefix_of_an_archive_is_refused_or_read_whole_never_half() {
    let files: &[(&str, &[u8])] = &[("a.png", PNG), ("dir/", b""), ("b.jpg", JPEG), ("c.txt", b"text")];
    for (kind, whole) in [("zip", zip_of(files)), ("tar", tar_of(files)), ("tar.gz", gzip(&tar_of(files)))] {
        let expected = read(whole.clone()).unwrap();
        for len in 0..whole.len() {
            match read(whole[..len].to_vec()) {
                Ok(entries) => assert_eq!(entries, expected, "{kind} cut at {len} read differently"),
                Err(error) => assert!(CONTENT_CODES.contains(&error.code()), "{kind} cut at {len}: {error}"),
            }
        }
    }
}

#[test]
fn random_and_mutated_bytes_never_panic() {
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let files: &[(&str, &[u8])] = &[("a.png", PNG), ("b/c.jpg", JPEG), ("d.txt", b"some text here")];
    let seeds = [zip_of(files), tar_of(files), gzip(&tar_of(files))];
    let limits = ArchiveLimits { max_entry_bytes: 1 << 20, max_total_bytes: 4 << 20, ..ArchiveLimits::default() };
    for round in 0..3_000 {
        let mut bytes = seeds[round % seeds.len()].clone();
        if round % 10 == 9 {
            let len = rng.gen_range(0..2048);
            bytes = (0..len).map(|_| rng.gen()).collect();
            let magic: &[u8] = [&b"PK\x03\x04"[..], b"\x1f\x8b\x08\0", b""][round % 3];
            bytes.splice(0..0, magic.iter().copied());
        } else {
            for _ in 0..rng.gen_range(1..8) {
                let at = rng.gen_range(0..bytes.len());
                bytes[at] = rng.gen();
            }
        }
        if let Err(error) = read_with(bytes, limits.clone()) {
            assert!(CONTENT_CODES.contains(&error.code()), "round {round}: {error}");
        }
    }
}
