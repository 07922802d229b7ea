//! Helpers shared by the integration tests: where the fixtures live; byte-level builders
//! for small image files (PNG chunks with their CRCs, zlib streams, JPEG segments, EXIF and
//! TIFF IFDs, BMP, GIF and RIFF/WebP, seeded random bytes), which never depend on an
//! encoder's version; and [`metered`], which runs a call behind a panic boundary and reports
//! its wall time and peak heap. For the heap meter this module registers the binary's
//! global allocator: `System` plus two thread-local counters. Helpers only: nothing here
//! asserts anything about atelier's behaviour, so every test module can use them.
#![allow(dead_code)] // Each test module uses a different subset.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod builders;

pub use builders::*;

// ---------------------------------------------------------------------------------------
// Fixtures on disk.

/// The repository's `test-data/` directory.
pub fn test_data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../test-data")
}

/// The bytes of `test-data/photos/<name>`, a committed real photo (see test-data/README.md).
pub fn photo(name: &str) -> Vec<u8> {
    let path = test_data_dir().join("photos").join(name);
    std::fs::read(&path).unwrap_or_else(|err| panic!("cannot read {}: {err}", path.display()))
}

/// The plain files directly inside `dir`, sorted by name; empty if `dir` does not exist.
pub fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_file()))
        .map(|entry| entry.path())
        .collect();
    files.sort();
    files
}

/// Whether an environment flag such as `UPDATE_CORPUS=1` is set to a true value.
pub fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|value| !value.is_empty() && value != "0")
}

// ---------------------------------------------------------------------------------------
// Running untrusted work under a meter.

/// What [`metered`] saw: the closure's result (or its panic message), how long it ran,
/// and the most heap the Rust allocator had handed out on this thread at any point during
/// the call, above what was live when it started.
#[derive(Debug)]
pub struct Metered<T> {
    pub result: Result<T, String>,
    pub elapsed: Duration,
    pub peak_heap_bytes: usize,
}

impl<T> Metered<T> {
    /// The same measurement with the result transformed (to drop what a caller ignores).
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Metered<U> {
        Metered { result: self.result.map(f), elapsed: self.elapsed, peak_heap_bytes: self.peak_heap_bytes }
    }
}

/// Runs `work` behind `catch_unwind`, timing it and tracking its peak heap use. Only
/// allocations made through Rust's global allocator on the calling thread are counted:
/// C libraries that call `malloc` themselves (libjpeg, libwebp) are invisible here.
pub fn metered<T>(work: impl FnOnce() -> T) -> Metered<T> {
    let start_live = heap::live();
    heap::reset_peak();
    let started = Instant::now();
    let result = catch_unwind(AssertUnwindSafe(work)).map_err(|payload| panic_message(payload.as_ref()));
    let elapsed = started.elapsed();
    let peak_heap_bytes = heap::peak().saturating_sub(start_live);
    Metered { result, elapsed, peak_heap_bytes }
}

/// The text of a panic payload (`panic!` gives a `&str` or a `String`).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_string()))
        .unwrap_or_else(|| "a panic with a non-text payload".to_string())
}

/// Counts bytes per thread. Registered as the global allocator of this test binary; it
/// only adds two thread-local counters to [`System`], so every other test is unaffected.
mod heap {
    use super::*;

    thread_local! {
        static LIVE: Cell<usize> = const { Cell::new(0) };
        static PEAK: Cell<usize> = const { Cell::new(0) };
    }

    pub(super) fn live() -> usize {
        LIVE.try_with(Cell::get).unwrap_or(0)
    }

    pub(super) fn peak() -> usize {
        PEAK.try_with(Cell::get).unwrap_or(0)
    }

    pub(super) fn reset_peak() {
        let _ = PEAK.try_with(|peak| peak.set(live()));
    }

    fn grow(bytes: usize) {
        let _ = LIVE.try_with(|live| {
            let now = live.get().saturating_add(bytes);
            live.set(now);
            let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
        });
    }

    fn shrink(bytes: usize) {
        // Memory freed on another thread than it was allocated on makes this thread's
        // count drift low; saturating keeps that harmless for a peak-above-start meter.
        let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub(bytes)));
    }

    pub(super) struct Counting;

    // SAFETY: every method forwards to `System` unchanged and only updates counters,
    // which neither allocate nor unwind.
    #[allow(unsafe_code)]
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let ptr = unsafe { System.alloc(layout) };
            if !ptr.is_null() {
                grow(layout.size());
            }
            ptr
        }

        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            let ptr = unsafe { System.alloc_zeroed(layout) };
            if !ptr.is_null() {
                grow(layout.size());
            }
            ptr
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            unsafe { System.dealloc(ptr, layout) };
            shrink(layout.size());
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            let new_ptr = unsafe { System.realloc(ptr, layout, new_size) };
            if !new_ptr.is_null() {
                shrink(layout.size());
                grow(new_size);
            }
            new_ptr
        }
    }

    #[global_allocator]
    static GLOBAL: Counting = Counting;
}
