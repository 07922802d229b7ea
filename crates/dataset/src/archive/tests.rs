//! Tests of the archive reader on well-formed archives (the three containers, skipped files,
//! directories, long names) and on entries that must refuse the archive (unsafe names,
//! links, special files, duplicates). Bombs, truncation and floods are in `tests/hostile.rs`.

use std::io::Cursor;

use super::{ArchiveKind, ArchiveLimits, ArchiveReader, Content, Entry, SkipReason};
use crate::error::{Code, Error};
use crate::name::UnsafeReason;
use atelier_imaging::Format;
use build::{gzip, hand_zip, tar_of, zip_of, Local, RawTar, JPEG, PNG};

mod build;
mod hostile;

fn read_with(bytes: Vec<u8>, limits: ArchiveLimits) -> Result<Vec<Entry>, Error> {
    ArchiveReader::open(Cursor::new(bytes), limits)?.collect()
}

fn read(bytes: Vec<u8>) -> Result<Vec<Entry>, Error> {
    read_with(bytes, ArchiveLimits::default())
}

/// Each entry as `name: what`, the way a listing would show it.
fn listing(entries: &[Entry]) -> Vec<String> {
    entries
        .iter()
        .map(|entry| match entry.content {
            Content::Image(format) => format!("{}: {}", entry.name, format.as_str()),
            Content::Skipped(reason) => format!("{}: skipped ({reason:?})", entry.name),
        })
        .collect()
}

fn refused(bytes: Vec<u8>) -> Error {
    match read(bytes) {
        Ok(entries) => panic!("accepted: {:?}", listing(&entries)),
        Err(error) => error,
    }
}

fn assert_unsafe(bytes: Vec<u8>, reason: UnsafeReason) {
    let error = refused(bytes);
    assert_eq!(error.code(), Code::ArchiveEntryUnsafe, "{error}");
    assert!(matches!(&error, Error::UnsafeEntry { reason: got, .. } if *got == reason), "{error}");
}

const DATASET: &[(&str, &[u8])] = &[
    ("images/", b""),
    ("images/15970.jpg", JPEG),
    ("images/39386.png", PNG),
    ("styles.csv", b"id,year\n15970,2011\n"),
    ("empty.jpg", b""),
    ("notes/readme.txt", b"hello"),
    ("images/cover.avif", b"\0\0\0\x1cftypavif\0\0"),
];

const DATASET_LISTING: [&str; 6] = [
    "images/15970.jpg: jpeg",
    "images/39386.png: png",
    "styles.csv: skipped (NotAnImage)",
    "empty.jpg: skipped (Empty)",
    "notes/readme.txt: skipped (NotAnImage)",
    "images/cover.avif: skipped (UnsupportedImage(Avif))",
];

#[test]
fn zip_tar_and_tar_gz_list_images_and_skip_the_rest_with_a_reason() {
    for (kind, bytes) in [
        (ArchiveKind::Zip, zip_of(DATASET)),
        (ArchiveKind::Tar, tar_of(DATASET)),
        (ArchiveKind::TarGz, gzip(&tar_of(DATASET))),
    ] {
        let mut reader = ArchiveReader::open(Cursor::new(bytes), ArchiveLimits::default()).unwrap();
        assert_eq!(reader.kind(), kind);
        let entries: Vec<Entry> = reader.by_ref().collect::<Result<_, _>>().unwrap();
        assert_eq!(listing(&entries), DATASET_LISTING, "{kind:?}");
        assert_eq!(entries[1].bytes, PNG, "{kind:?}");
        assert_eq!(entries[2].bytes, b"id,year\n15970,2011\n", "{kind:?}: skipped files keep their bytes");
        let totals = reader.totals();
        assert_eq!((totals.entries, totals.images, totals.skipped), (7, 2, 4), "{kind:?}");
    }
}

#[test]
fn the_container_is_told_by_magic_bytes_and_anything_else_is_unsupported() {
    for (bytes, part) in [
        (Vec::new(), "empty"),
        (PNG.to_vec(), "a single image"),
        (b"BZh91AY&SY".to_vec(), "bzip2"),
        (b"\xFD7zXZ\0\0\x04".to_vec(), "xz"),
        (b"7z\xBC\xAF\x27\x1C\0\x04".to_vec(), "7-Zip"),
        (b"Rar!\x1a\x07\0".to_vec(), "RAR"),
        (b"id,year\n15970,2011\n".to_vec(), "no zip, tar or gzip"),
        (vec![0; 4096], "no zip, tar or gzip"),
        (gzip(b"just some text, not a tar, but long enough to fill a block".repeat(20).as_slice()), "not a tar"),
    ] {
        let error = refused(bytes);
        assert_eq!(error.code(), Code::ArchiveUnsupported, "{error}");
        assert!(error.to_string().contains(part), "{error} lacks {part}");
    }
}

#[test]
fn an_empty_zip_and_an_empty_tar_list_nothing() {
    assert!(read(zip_of(&[])).unwrap().is_empty());
    assert!(read(RawTar::default().entry(b"dir/", b'5', b"").finish()).unwrap().is_empty());
}

#[test]
fn long_names_in_gnu_and_pax_headers_are_read_and_checked() {
    let long = format!("{}photo.png", "deep/".repeat(40));
    let entries = read(tar_of(&[(&long, PNG)])).unwrap();
    assert_eq!(listing(&entries), [format!("{long}: png")]);

    let mut builder = tar::Builder::new(Vec::new());
    builder.append_pax_extensions([("path", long.as_bytes())]).unwrap();
    let mut header = tar::Header::new_ustar();
    header.set_size(PNG.len() as u64);
    header.set_mode(0o644);
    builder.append_data(&mut header, "short.png", PNG).unwrap();
    let entries = read(builder.into_inner().unwrap()).unwrap();
    assert_eq!(listing(&entries), [format!("{long}: png")]);

    let hostile_long = format!("{}../../etc/passwd", "deep/".repeat(40));
    let raw = RawTar::default().entry(b"././@LongLink", b'L', format!("{hostile_long}\0").as_bytes());
    assert_unsafe(raw.entry(b"innocent.png", b'0', PNG).finish(), UnsafeReason::ParentDir);
    let raw = RawTar::default().entry(b"././@LongLink", b'L', "a/".repeat(600).as_bytes());
    assert_unsafe(raw.entry(b"innocent.png", b'0', PNG).finish(), UnsafeReason::TooLong);
}

#[test]
fn path_traversal_absolute_and_windows_names_refuse_the_archive() {
    for (name, reason) in [
        ("../../etc/passwd", UnsafeReason::ParentDir),
        ("a/../../b", UnsafeReason::ParentDir),
        ("/abs", UnsafeReason::Absolute),
        ("C:/Windows/win.ini", UnsafeReason::Colon),
        ("..\\..\\evil.png", UnsafeReason::Backslash),
        ("bell\u{7}.png", UnsafeReason::ControlCharacter),
        ("gpj.\u{202E}exe", UnsafeReason::InvisibleCharacter),
    ] {
        let zip = hand_zip(
            &[Local {
                name: "good.png",
                method: 0,
                crc: build::crc32(PNG),
                declared_size: PNG.len() as u32,
                data: PNG,
            }],
            &[("good.png".into(), 0, 0o100_644), (name.into(), 0, 0o100_644)],
        );
        assert_unsafe(zip, reason.clone());
        let tar = RawTar::default().entry(b"good.png", b'0', PNG).entry(name.as_bytes(), b'0', PNG).finish();
        assert_unsafe(tar.clone(), reason.clone());
        assert_unsafe(gzip(&tar), reason);
    }
    let tar = RawTar::default().entry(b"bad\xff.png", b'0', PNG).finish();
    assert_unsafe(tar, UnsafeReason::NotUtf8);
    let tar = RawTar::default().entry(b"../up/", b'5', b"").finish();
    assert_unsafe(tar, UnsafeReason::ParentDir);
}

#[test]
fn a_refusal_message_shows_the_hostile_name_escaped() {
    let tar = RawTar::default().entry(b"\x1b[2J../x.png", b'0', PNG).finish();
    let message = refused(tar).to_string();
    assert_eq!(message, "entry `\\u{1b}[2J../x.png` is refused: the name has a NUL or control character");
}

#[test]
fn symlinks_hardlinks_and_devices_in_tar_refuse_the_archive() {
    let cases: [(u8, UnsafeReason); 6] = [
        (b'2', UnsafeReason::Link),
        (b'1', UnsafeReason::Link),
        (b'K', UnsafeReason::Link),
        (b'3', UnsafeReason::SpecialFile),
        (b'4', UnsafeReason::SpecialFile),
        (b'6', UnsafeReason::SpecialFile),
    ];
    for (entry_type, reason) in cases {
        let tar = RawTar::default().entry(b"a.png", b'0', PNG).link(b"passwd.png", entry_type, b"/etc/passwd").finish();
        assert_unsafe(tar, reason);
    }
    let tar = RawTar::default().link(b"sparse.png", b'S', b"").finish();
    assert_eq!(refused(tar).code(), Code::ArchiveUnsupported);
    let tar = RawTar::default().link(b"volume", b'V', b"").finish();
    assert_eq!(refused(tar).code(), Code::ArchiveUnsupported);
}

#[test]
fn symlink_and_device_entries_in_zip_refuse_the_archive() {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default();
    writer.start_file("a.png", options).unwrap();
    std::io::Write::write_all(&mut writer, PNG).unwrap();
    writer.add_symlink("passwd.png", "../../etc/passwd", options).unwrap();
    assert_unsafe(writer.finish().unwrap().into_inner(), UnsafeReason::Link);

    let local = Local { name: "x", method: 0, crc: build::crc32(PNG), declared_size: PNG.len() as u32, data: PNG };
    for (mode, reason) in [
        (0o120_777, UnsafeReason::Link),
        (0o020_644, UnsafeReason::SpecialFile),
        (0o010_644, UnsafeReason::SpecialFile),
        (0o140_644, UnsafeReason::SpecialFile),
    ] {
        assert_unsafe(hand_zip(std::slice::from_ref(&local), &[("x.png".into(), 0, mode)]), reason);
    }
    let plain = hand_zip(&[local], &[("x.png".into(), 0, 0o644)]);
    assert_eq!(listing(&read(plain).unwrap()), ["x.png: png"], "permissions without a type are a file");
}

#[test]
fn two_entries_with_one_name_after_normalisation_refuse_the_archive() {
    let tar = tar_of(&[("a/b.png", PNG), ("a/./b.png", JPEG)]);
    assert_unsafe(tar, UnsafeReason::Duplicate);
    let local = Local { name: "x", method: 0, crc: build::crc32(PNG), declared_size: PNG.len() as u32, data: PNG };
    let zip = hand_zip(&[local], &[("a//b.png".into(), 0, 0), ("./a/b.png".into(), 0, 0)]);
    assert_unsafe(zip, UnsafeReason::Duplicate);
    let ok = tar_of(&[("a/b.png", PNG), ("A/b.png", PNG), ("a/", b"")]);
    assert_eq!(read(ok).unwrap().len(), 2, "names differing in case are two names");
}

#[test]
fn encrypted_and_unknown_method_zip_entries_are_unsupported() {
    let local = Local { name: "x.png", method: 12, crc: 0, declared_size: 10, data: b"BZh9......" };
    let error = refused(hand_zip(&[local], &[("x.png".into(), 0, 0)]));
    assert_eq!(error.code(), Code::ArchiveUnsupported, "{error}");
    assert!(error.to_string().contains("x.png"), "{error}");
}

#[test]
fn declared_sizes_over_the_entry_limit_are_refused_before_reading() {
    let limits = ArchiveLimits { max_entry_bytes: 1000, ..ArchiveLimits::default() };
    let tar = RawTar::default().header_only(b"huge.png", b'0', 1 << 40).unfinished();
    let error = read_with(tar, limits.clone()).unwrap_err();
    assert_eq!(error.code(), Code::ArchiveTooLarge, "{error}");
    assert!(error.to_string().contains("huge.png"), "{error}");
    let big = vec![7u8; 1001];
    let error = read_with(zip_of(&[("big.bin", &big)]), limits).unwrap_err();
    assert_eq!(error.code(), Code::ArchiveTooLarge, "{error}");
}

#[test]
fn entries_and_totals_past_their_limits_are_refused_while_reading() {
    let files: Vec<(String, Vec<u8>)> = (0..5).map(|i| (format!("{i}.png"), [PNG, &[0; 300]].concat())).collect();
    let files: Vec<(&str, &[u8])> = files.iter().map(|(name, data)| (name.as_str(), data.as_slice())).collect();
    let limits = ArchiveLimits { max_total_bytes: 1000, ..ArchiveLimits::default() };
    for bytes in [zip_of(&files), gzip(&tar_of(&files))] {
        let error = read_with(bytes, limits.clone()).unwrap_err();
        assert!(matches!(error, Error::TooLarge { limit: 1000 }), "{error}");
        assert_eq!(error.code(), Code::ArchiveTooLarge);
    }
    let limits = ArchiveLimits { max_entries: 4, ..ArchiveLimits::default() };
    for bytes in [zip_of(&files), tar_of(&files)] {
        let error = read_with(bytes, limits.clone()).unwrap_err();
        assert_eq!(error.code(), Code::ArchiveTooManyEntries, "{error}");
    }
    let limits = ArchiveLimits { max_entries: 5, ..ArchiveLimits::default() };
    assert_eq!(read_with(zip_of(&files), limits).unwrap().len(), 5);
}

/// An upload stream that fails (a spool file on a dying disk) after `ok` bytes.
struct FailingStream {
    inner: Cursor<Vec<u8>>,
    ok: u64,
}

impl std::io::Read for FailingStream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.inner.position() >= self.ok {
            return Err(std::io::Error::other("disk on fire"));
        }
        let room = (self.ok - self.inner.position()).min(buf.len() as u64) as usize;
        self.inner.read(&mut buf[..room])
    }
}

impl std::io::Seek for FailingStream {
    fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
        self.inner.seek(pos)
    }
}

#[test]
fn a_failing_stream_is_an_internal_error_not_the_uploads_fault() {
    let big: Vec<u8> = (0..100_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let files: &[(&str, &[u8])] = &[("a.png", &[PNG, &big].concat())];
    for bytes in [tar_of(files), gzip(&tar_of(files))] {
        let stream = FailingStream { ok: bytes.len() as u64 / 2, inner: Cursor::new(bytes) };
        let error = ArchiveReader::open(stream, ArchiveLimits::default()).unwrap().next().unwrap().unwrap_err();
        assert_eq!(
            (error.code(), error.kind()),
            (Code::ArchiveReadFailed, crate::error::ErrorKind::Internal),
            "{error}"
        );
    }
}

#[test]
fn every_code_is_distinct_and_snake_case() {
    let mut seen = std::collections::HashSet::new();
    for code in Code::ALL {
        assert!(seen.insert(code.as_str()), "{code}");
        assert!(code.as_str().bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "{code}");
    }
}

#[test]
fn skipped_files_say_why() {
    assert_eq!(super::classify(b""), Content::Skipped(SkipReason::Empty));
    assert_eq!(super::classify(b"GIF89a\x01\0\x01\0"), Content::Image(Format::Gif));
    assert_eq!(super::classify(b"<svg"), Content::Skipped(SkipReason::NotAnImage));
}
