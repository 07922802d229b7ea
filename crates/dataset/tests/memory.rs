//! Bounded memory, measured: refusing a 1 GiB zip bomb and a 1 GiB tar.gz bomb must not
//! raise the process's peak resident memory by more than a few MiB. One test in its own
//! binary, so nothing else running moves the peak (Linux only: it reads `/proc/self/status`).

use std::io::Cursor;

use atelier_dataset::{ArchiveLimits, ArchiveReader, Code};

#[allow(dead_code)]
#[path = "../src/archive/tests/build.rs"]
mod build;

/// The process's peak resident set size (`VmHWM`), in KiB.
#[cfg(target_os = "linux")]
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|line| line.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn refuse(bytes: Vec<u8>) -> Code {
    let limits = ArchiveLimits { max_entry_bytes: 2 << 30, ..ArchiveLimits::default() };
    let mut reader = ArchiveReader::open(Cursor::new(bytes), limits).unwrap();
    loop {
        match reader.next_entry() {
            Ok(Some(_)) => {}
            Ok(None) => panic!("a bomb was accepted"),
            Err(error) => return error.code(),
        }
    }
}

#[cfg(target_os = "linux")]
#[test]
fn refusing_one_gib_bombs_raises_peak_memory_by_a_few_mebibytes_at_most() {
    let zeros = build::deflated_zeros(1024);
    let local = build::Local { name: "zeros.png", method: 8, crc: 0, declared_size: 1 << 30, data: &zeros };
    let zip = build::hand_zip(&[local], &[("zeros.png".into(), 0, 0o100_644)]);
    let header = build::RawTar::default().header_only(b"zeros.png", b'0', 1 << 30).unfinished();
    let tar_gz = build::gzip_raw(&[build::deflated_open(&header), zeros.clone()].concat());
    drop(zeros);

    let before = peak_rss_kib();
    let started = std::time::Instant::now();
    assert_eq!(refuse(zip), Code::ArchiveBomb);
    assert_eq!(refuse(tar_gz), Code::ArchiveBomb);
    let elapsed = started.elapsed();
    let after = peak_rss_kib();
    eprintln!("two 1 GiB bombs refused in {elapsed:?}; peak RSS {before} KiB before, {after} KiB after");
    assert!(after - before < 16 * 1024, "peak RSS grew by {} KiB", after - before);
}
