//! Entry names: the one way a path from an archive becomes a name the service may use.
//! [`EntryName`] can only be made by [`EntryName::parse`], which refuses anything that could
//! climb out of a job's prefix or confuse a file system or a terminal; it never "repairs" a
//! hostile name (dropping `..` would change what the name means).

use std::fmt;

/// Longest accepted name, in bytes, after normalisation.
pub const MAX_NAME_BYTES: usize = 1024;
/// Longest accepted path component, in bytes (what common file systems allow).
pub const MAX_COMPONENT_BYTES: usize = 255;

/// A relative path of `/`-separated components, none of them empty, `.` or `..`, with no
/// control, format or path-special characters (`\`, `:`), valid UTF-8, at most
/// [`MAX_NAME_BYTES`] long. `./a//b.jpg` is read as `a/b.jpg`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntryName(String);

/// Why a name (or an entry) is refused. Each one fails the whole import: an archive that
/// carries one was made by a tool we should not trust, or to attack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnsafeReason {
    Empty,
    NotUtf8,
    /// A leading `/`.
    Absolute,
    /// A `..` component, wherever it is (`a/../b` included).
    ParentDir,
    /// `\`: a separator on Windows, so `..\x` would climb there.
    Backslash,
    /// `:`: a drive letter (`C:`) or an alternate data stream (`a.jpg:x`) on Windows.
    Colon,
    /// NUL or another control character (a newline, an escape sequence).
    ControlCharacter,
    /// A Unicode format character that hides or reorders text (bidi overrides, zero-width).
    InvisibleCharacter,
    TooLong,
    ComponentTooLong,
    /// A symbolic or hard link: followed by a later writer, it points anywhere.
    Link,
    /// A device, FIFO or socket.
    SpecialFile,
    /// Two entries with the same name after normalisation: which one is meant?
    Duplicate,
}

impl EntryName {
    /// Checks and normalises a name from an archive. Directories' trailing `/` is dropped.
    pub fn parse(raw: &str) -> Result<EntryName, UnsafeReason> {
        let name = normalise(raw)?;
        if name.is_empty() {
            return Err(UnsafeReason::Empty);
        }
        Ok(EntryName(name))
    }

    /// [`EntryName::parse`] for raw bytes (tar headers), which must be UTF-8.
    pub fn parse_bytes(raw: &[u8]) -> Result<EntryName, UnsafeReason> {
        EntryName::parse(std::str::from_utf8(raw).map_err(|_| UnsafeReason::NotUtf8)?)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last component: `15970.jpg` for `images/15970.jpg`.
    pub fn file_name(&self) -> &str {
        file_name(&self.0)
    }

    /// The file name without its last extension: `15970` for `images/15970.jpg`. A name
    /// without a dot (or only a leading one, `.hidden`) is its own stem.
    pub fn stem(&self) -> &str {
        stem(self.file_name())
    }
}

impl fmt::Display for EntryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for EntryName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UnsafeReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match self {
            UnsafeReason::Empty => "the name is empty",
            UnsafeReason::NotUtf8 => "the name is not UTF-8",
            UnsafeReason::Absolute => "the name is an absolute path",
            UnsafeReason::ParentDir => "the name has a `..` component",
            UnsafeReason::Backslash => "the name has a backslash",
            UnsafeReason::Colon => "the name has a `:` (a drive letter or a stream on Windows)",
            UnsafeReason::ControlCharacter => "the name has a NUL or control character",
            UnsafeReason::InvisibleCharacter => "the name has an invisible or bidi formatting character",
            UnsafeReason::TooLong => "the name is longer than 1024 bytes",
            UnsafeReason::ComponentTooLong => "a component of the name is longer than 255 bytes",
            UnsafeReason::Link => "links (symbolic or hard) are not accepted",
            UnsafeReason::SpecialFile => "devices, FIFOs and sockets are not accepted",
            UnsafeReason::Duplicate => "another entry has the same name",
        };
        f.write_str(text)
    }
}

/// Checks a name and returns its normal form, which is empty for the archive's root
/// directory (`./`, as `tar -C dir .` writes it). Directories may be the root; files not.
pub(crate) fn normalise(raw: &str) -> Result<String, UnsafeReason> {
    if raw.len() > MAX_NAME_BYTES {
        return Err(UnsafeReason::TooLong);
    }
    for c in raw.chars() {
        match c {
            '\\' => return Err(UnsafeReason::Backslash),
            ':' => return Err(UnsafeReason::Colon),
            c if c.is_control() => return Err(UnsafeReason::ControlCharacter),
            c if is_odd_char(c) => return Err(UnsafeReason::InvisibleCharacter),
            _ => {}
        }
    }
    if raw.starts_with('/') {
        return Err(UnsafeReason::Absolute);
    }
    let mut parts = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err(UnsafeReason::ParentDir),
            part if part.len() > MAX_COMPONENT_BYTES => return Err(UnsafeReason::ComponentTooLong),
            part => parts.push(part),
        }
    }
    Ok(parts.join("/"))
}

/// Unicode format characters that make a name read differently from what it is: zero-width
/// characters, bidi embeddings, overrides and isolates, the byte-order mark.
pub(crate) fn is_odd_char(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{00AD}')
}

pub(crate) fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

pub(crate) fn stem(file_name: &str) -> &str {
    match file_name.rfind('.') {
        Some(0) | None => file_name,
        Some(dot) => &file_name[..dot],
    }
}

#[cfg(test)]
mod tests;
