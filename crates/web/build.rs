//! Embeds `assets/`: one table row per file, with its bytes, its gzip form (when that is
//! smaller), its content type and a content-hash ETag, so the binary serves the app with
//! no files beside it and `cargo build` needs no Node.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("assets");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap());
    println!("cargo:rerun-if-changed={}", root.display());
    let mut files = Vec::new();
    walk(&root, &mut files);
    let mut rows: Vec<(String, PathBuf)> = files
        .into_iter()
        .map(|path| {
            let rel = path.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
            (rel, path)
        })
        .collect();
    // Sorted, so lookups can binary-search.
    rows.sort();
    let mut table = String::from("static ASSETS: &[Asset] = &[\n");
    for (index, (rel, path)) in rows.iter().enumerate() {
        let bytes = std::fs::read(path).unwrap();
        let content_type = content_type(rel).unwrap_or_else(|| panic!("no content type for assets/{rel}"));
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&bytes).unwrap();
        let gzip = encoder.finish().unwrap();
        let gzip = if gzip.len() < bytes.len() {
            let gz_path = out.join(format!("asset-{index}.gz"));
            std::fs::write(&gz_path, &gzip).unwrap();
            format!("Some(include_bytes!({:?}))", gz_path.display().to_string())
        } else {
            "None".to_string()
        };
        writeln!(
            table,
            "    Asset {{ path: {rel:?}, body: include_bytes!({:?}), gzip: {gzip}, content_type: {content_type:?}, etag: \"\\\"{:016x}\\\"\" }},",
            path.display().to_string(),
            fnv1a(&bytes),
        )
        .unwrap();
    }
    table.push_str("];\n");
    std::fs::write(out.join("assets.rs"), table).unwrap();
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, files);
        } else if !path.file_name().is_some_and(|name| name.to_string_lossy().starts_with('.')) {
            files.push(path);
        }
    }
}

fn content_type(path: &str) -> Option<&'static str> {
    let extension = path.rsplit_once('.')?.1;
    Some(match extension {
        "html" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        _ => return None,
    })
}

/// FNV-1a, 64 bits: an ETag only has to change when the bytes do.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}
