//! Tests of entry names: what is accepted and how it is normalised, and every hostile form
//! refused with its reason.

use super::{normalise, EntryName, UnsafeReason};

fn check(raw: &str, expected: Result<&str, UnsafeReason>) {
    let got = EntryName::parse(raw);
    assert_eq!(got.as_ref().map(EntryName::as_str), expected.as_ref().map(|s| *s), "{raw:?}");
}

#[test]
fn ordinary_names_are_kept_and_dot_segments_and_doubled_slashes_are_dropped() {
    check("15970.jpg", Ok("15970.jpg"));
    check("images/15970.jpg", Ok("images/15970.jpg"));
    check("./images//15970.jpg", Ok("images/15970.jpg"));
    check("images/./a b (1).jpg", Ok("images/a b (1).jpg"));
    check("photos/été/café.png", Ok("photos/été/café.png"));
    check("a...b.jpg", Ok("a...b.jpg"));
    check("dir/", Ok("dir"));
}

#[test]
fn names_that_climb_out_or_are_absolute_are_refused() {
    check("../../etc/passwd", Err(UnsafeReason::ParentDir));
    check("a/../../b", Err(UnsafeReason::ParentDir));
    check("a/../b", Err(UnsafeReason::ParentDir));
    check("a/..", Err(UnsafeReason::ParentDir));
    check("/abs", Err(UnsafeReason::Absolute));
    check("//server/share/x.jpg", Err(UnsafeReason::Absolute));
    check("C:/Windows/x.jpg", Err(UnsafeReason::Colon));
    check("C:x.jpg", Err(UnsafeReason::Colon));
    check("a.jpg:stream", Err(UnsafeReason::Colon));
    check("..\\..\\x.jpg", Err(UnsafeReason::Backslash));
    check("dir\\x.jpg", Err(UnsafeReason::Backslash));
}

#[test]
fn control_and_invisible_characters_are_refused() {
    check("a\0b.jpg", Err(UnsafeReason::ControlCharacter));
    check("a\nb.jpg", Err(UnsafeReason::ControlCharacter));
    check("\u{1b}[31mred.jpg", Err(UnsafeReason::ControlCharacter));
    check("a\u{7f}.jpg", Err(UnsafeReason::ControlCharacter));
    check("a\u{85}.jpg", Err(UnsafeReason::ControlCharacter));
    check("gpj.\u{202E}exe", Err(UnsafeReason::InvisibleCharacter));
    check("a\u{200B}.jpg", Err(UnsafeReason::InvisibleCharacter));
}

#[test]
fn empty_and_overlong_names_are_refused() {
    check("", Err(UnsafeReason::Empty));
    check(".", Err(UnsafeReason::Empty));
    check("./", Err(UnsafeReason::Empty));
    check(&"a".repeat(256), Err(UnsafeReason::ComponentTooLong));
    check(&"a".repeat(255), Ok(&"a".repeat(255)));
    check(&"abcdefgh/".repeat(120), Err(UnsafeReason::TooLong));
    assert_eq!(EntryName::parse_bytes(b"\xff\xfe.jpg"), Err(UnsafeReason::NotUtf8));
}

#[test]
fn the_root_directory_normalises_to_the_empty_name() {
    assert_eq!(normalise("./").unwrap(), "");
    assert_eq!(normalise("").unwrap(), "");
}

#[test]
fn file_names_and_stems_are_the_last_component_with_and_without_the_extension() {
    let name = EntryName::parse("images/15970.jpg").unwrap();
    assert_eq!((name.file_name(), name.stem()), ("15970.jpg", "15970"));
    let name = EntryName::parse("a.b.png").unwrap();
    assert_eq!((name.file_name(), name.stem()), ("a.b.png", "a.b"));
    let name = EntryName::parse("dir/.hidden").unwrap();
    assert_eq!((name.file_name(), name.stem()), (".hidden", ".hidden"));
    let name = EntryName::parse("noext").unwrap();
    assert_eq!(name.stem(), "noext");
}
