//! The browser app: its files, embedded at build time from `assets/` (see `build.rs`), and
//! the lookup the server's thin handlers use. No IO, no HTTP: bytes and their metadata.

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// Path under the app's root, `/`-separated: `index.html`, `js/app.js`.
    pub path: &'static str,
    pub body: &'static [u8],
    /// The gzip form, when it is smaller than the body (never for JPEG or PNG).
    pub gzip: Option<&'static [u8]>,
    pub content_type: &'static str,
    /// A strong ETag, quoted, from the body's hash.
    pub etag: &'static str,
}

include!(concat!(env!("OUT_DIR"), "/assets.rs"));

/// The file at `path` (no leading `/`), if the app has one.
pub fn get(path: &str) -> Option<&'static Asset> {
    ASSETS.binary_search_by(|asset| asset.path.cmp(path)).ok().map(|index| &ASSETS[index])
}

/// The page every app URL starts from.
pub fn index() -> &'static Asset {
    get("index.html").expect("assets/index.html is embedded")
}

/// Every embedded file, sorted by path.
pub fn all() -> &'static [Asset] {
    ASSETS
}

#[cfg(test)]
mod tests;
