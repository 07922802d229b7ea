//! Tests of metadata files: `styles.csv` as the Fashion Product Images dataset ships it, bad
//! rows kept as warnings with their lines, JSON in both shapes, matching rows to entries,
//! filtering rows, and the limits.

use super::{parse_metadata, read_metadata, Metadata, MetadataFormat, MetadataLimits, MetadataOptions};
use crate::error::Code;
use crate::filter::Filter;

/// The first rows of the dataset's `styles.csv`, and one row with an unquoted comma in its
/// display name (line 12), as some rows of the real file have (pandas refuses the file for it).
const STYLES: &str = "\
id,gender,masterCategory,subCategory,articleType,baseColour,season,year,usage,productDisplayName
15970,Men,Apparel,Topwear,Shirts,Navy Blue,Fall,2011,Casual,Turtle Check Men Navy Blue Shirt
39386,Men,Apparel,Bottomwear,Jeans,Blue,Summer,2012,Casual,Peter England Men Party Blue Jeans
59263,Women,Accessories,Watches,Watches,Silver,Winter,2016,Casual,Titan Women Silver Watch
21379,Men,Apparel,Bottomwear,Track Pants,Black,Fall,2011,Casual,Manchester United Men Solid Black Track Pants
53759,Men,Apparel,Topwear,Tshirts,Grey,Summer,2012,Casual,Puma Men Grey T-shirt
1855,Men,Apparel,Topwear,Tshirts,Grey,Summer,2011,Casual,Inkfruit Mens Chain Reaction T-shirt
30805,Men,Apparel,Topwear,Shirts,Green,Summer,2012,Ethnic,Fabindia Men Striped Green Shirt
26960,Women,Apparel,Topwear,Shirts,Purple,Summer,2012,Casual,Jealous 21 Women Purple Shirt
29114,Men,Accessories,Socks,Socks,Navy Blue,Summer,2012,Casual,Puma Men Pack of 3 Socks
30039,Men,Accessories,Watches,Watches,Black,Winter,2016,Casual,Skagen Men Black Watch
11293,Men,Apparel,Topwear,Shirts,Blue,Fall,2011,Casual,Puma Men Blue Shirt, Formal
9036,Men,Footwear,Shoes,Casual Shoes,Black,Summer,2012,,Buckaroo Men Flores Black Shoes
";

fn csv(text: &[u8]) -> Metadata {
    parse_metadata(text, &MetadataOptions::default()).unwrap()
}

fn keys(metadata: &Metadata) -> Vec<&str> {
    metadata.rows().map(|row| row.key()).collect()
}

fn warnings(metadata: &Metadata) -> Vec<String> {
    metadata.warnings().iter().map(ToString::to_string).collect()
}

#[test]
fn styles_csv_is_keyed_by_id_with_every_column_and_its_bad_row_warned_about() {
    let metadata = csv(STYLES.as_bytes());
    assert_eq!(metadata.key_column(), "id");
    let columns: Vec<&str> = metadata.columns().collect();
    assert_eq!(columns, STYLES.lines().next().unwrap().split(',').collect::<Vec<_>>());
    assert_eq!(metadata.len(), 11);
    assert_eq!(warnings(&metadata), ["line 12: expected 10 fields, found 11"]);
    let shirt = metadata.get("15970").unwrap();
    assert_eq!(shirt.get("articleType"), Some("Shirts"));
    assert_eq!(shirt.get("baseColour"), Some("Navy Blue"));
    assert_eq!(shirt.line(), Some(2));
    assert_eq!(metadata.get("9036").unwrap().get("usage"), None, "an empty cell is no value");
}

#[test]
fn rows_match_entries_by_path_file_name_or_stem() {
    let metadata = csv(STYLES.as_bytes());
    assert_eq!(metadata.lookup("images/15970.jpg").map(|row| row.key()), Some("15970"));
    assert_eq!(metadata.lookup("15970.jpg").map(|row| row.key()), Some("15970"));
    assert_eq!(metadata.lookup("15970").map(|row| row.key()), Some("15970"));
    assert!(metadata.lookup("images/15971.jpg").is_none());

    let by_file = csv(b"filename,label\nimages/a.png,cat\nb.png,dog\n");
    assert_eq!(by_file.key_column(), "filename");
    assert_eq!(by_file.lookup("images/a.png").and_then(|row| row.get("label")), Some("cat"));
    assert_eq!(by_file.lookup("other/b.png").and_then(|row| row.get("label")), Some("dog"));
    assert!(by_file.lookup("a.png").is_none(), "a key with a folder matches that path only");
}

#[test]
fn the_issues_filter_selects_apparel_from_2012_on() {
    let metadata = csv(STYLES.as_bytes());
    let filter = Filter::parse("masterCategory = Apparel and year >= 2012").unwrap();
    let chosen: Vec<&str> = metadata.rows().filter(|row| filter.matches(row)).map(|row| row.key()).collect();
    assert_eq!(chosen, ["39386", "53759", "30805", "26960"]);
    let filter = Filter::parse("articleType in (\"Casual Shoes\", Watches) and not year = 2016").unwrap();
    let chosen: Vec<&str> = metadata.rows().filter(|row| filter.matches(row)).map(|row| row.key()).collect();
    assert_eq!(chosen, ["9036"]);
}

#[test]
fn unknown_fields_names_the_filters_typos() {
    let metadata = csv(STYLES.as_bytes());
    let filter = Filter::parse("mastercategory = Apparel and year >= 2012 or colour = Red").unwrap();
    assert_eq!(metadata.unknown_fields(&filter), ["colour", "mastercategory"]);
}

#[test]
fn bad_rows_become_warnings_with_line_numbers_and_good_rows_are_kept() {
    let mut text = b"id,label,note\n1,cat,ok\n2,dog\n3,\"multi\nline\",fine\n".to_vec();
    text.extend_from_slice(b"4,\xff\xfe,bad utf-8\n,empty,key\n1,again,duplicate\n5,x,y,z\n  6 , bird , trimmed \n");
    let metadata = csv(&text);
    assert_eq!(keys(&metadata), ["1", "3", "6"]);
    assert_eq!(
        warnings(&metadata),
        [
            "line 3: expected 3 fields, found 2",
            "line 6: the `label` value is not UTF-8",
            "line 7: the key `id` is empty",
            "line 8: the key `1` is already used by row 1",
            "line 9: expected 3 fields, found 4",
        ]
    );
    assert_eq!(metadata.get("3").unwrap().get("label"), Some("multi\nline"));
    assert_eq!(metadata.get("6").unwrap().get("label"), Some("bird"));
    assert_eq!(metadata.get("1").unwrap().get("label"), Some("cat"), "the first of two keys wins");
}

#[test]
fn a_byte_order_mark_and_a_pandas_index_column_are_ignored() {
    let metadata = csv(b"\xEF\xBB\xBF,id,year\n0,15970,2011\n1,39386,2012\n");
    assert_eq!(metadata.key_column(), "id");
    assert_eq!(metadata.columns().collect::<Vec<_>>(), ["id", "year"]);
    assert_eq!(keys(&metadata), ["15970", "39386"]);
}

#[test]
fn the_key_column_can_be_named_and_a_missing_one_lists_the_columns() {
    let options = MetadataOptions { key: Some("sku".into()), ..MetadataOptions::default() };
    let metadata = parse_metadata(b"sku,id\nA1,7\n", &options).unwrap();
    assert_eq!((metadata.key_column(), keys(&metadata)), ("sku", vec!["A1"]));

    let error = parse_metadata(b"colour,size\nred,M\n", &MetadataOptions::default()).unwrap_err();
    assert_eq!(error.code(), Code::MetadataInvalid);
    assert!(error.to_string().contains("the columns are `colour`, `size`"), "{error}");
    let options = MetadataOptions { key: Some("sku".into()), ..MetadataOptions::default() };
    let error = parse_metadata(b"id\n1\n", &options).unwrap_err();
    assert!(error.to_string().contains("no column `sku`"), "{error}");
}

#[test]
fn unreadable_headers_fail_the_file() {
    for (text, part) in
        [(&b""[..], "empty"), (b"id,id\n1,2\n", "appears twice"), (b"id,\xff\n1,2\n", "header row is not UTF-8")]
    {
        let error = parse_metadata(text, &MetadataOptions::default()).unwrap_err();
        assert_eq!(error.code(), Code::MetadataInvalid, "{error}");
        assert!(error.to_string().contains(part), "{error}");
    }
}

#[test]
fn a_json_array_of_objects_reads_like_csv() {
    let text = br#"[
        {"id": 15970, "masterCategory": "Apparel", "year": 2011, "tags": ["a", 1], "sale": true, "usage": null},
        "not an object",
        {"id": 39386, "masterCategory": "Apparel", "year": 2012},
        {"masterCategory": "Footwear"},
        {"id": "39386", "year": 2013}
    ]"#;
    let metadata = parse_metadata(text, &MetadataOptions::default()).unwrap();
    assert_eq!(keys(&metadata), ["15970", "39386"]);
    let first = metadata.get("15970").unwrap();
    assert_eq!(first.get("year"), Some("2011"));
    assert_eq!(first.get("tags"), Some(r#"["a",1]"#));
    assert_eq!(first.get("sale"), Some("true"));
    assert_eq!(first.get("usage"), None);
    assert_eq!(
        warnings(&metadata),
        ["item 2: not an object", "item 4: the key `id` is empty", "item 5: the key `39386` is already used by row 3"]
    );
    let filter = Filter::parse("masterCategory = Apparel and year >= 2012").unwrap();
    assert_eq!(metadata.rows().filter(|row| filter.matches(row)).map(|row| row.key()).collect::<Vec<_>>(), ["39386"]);
}

#[test]
fn a_json_object_keyed_by_file_name_uses_its_keys() {
    let text = br#"{"15970.jpg": {"id": 1, "year": 2011}, "a/b.png": {"year": 2012}, "x": 3}"#;
    let metadata = parse_metadata(text, &MetadataOptions::default()).unwrap();
    assert_eq!(metadata.key_column(), "name");
    assert_eq!(keys(&metadata), ["15970.jpg", "a/b.png"]);
    assert_eq!(metadata.lookup("images/15970.jpg").and_then(|row| row.get("year")), Some("2011"));
    assert_eq!(metadata.lookup("a/b.png").and_then(|row| row.get("name")), Some("a/b.png"));
    assert_eq!(warnings(&metadata), ["item 3: not an object"]);
    let empty = parse_metadata(b"{}", &MetadataOptions::default()).unwrap();
    assert!(empty.is_empty());
}

#[test]
fn broken_json_fails_with_its_position() {
    let error = parse_metadata(b"[{\"id\": 1},\n {\"id\": 2,,}]", &MetadataOptions::default()).unwrap_err();
    assert_eq!(error.code(), Code::MetadataInvalid);
    assert!(error.to_string().contains("line 2, column"), "{error}");
    let error = parse_metadata(b"[1] [2]", &MetadataOptions::default()).unwrap_err();
    assert_eq!(error.code(), Code::MetadataInvalid, "{error}");
    let json = MetadataOptions { format: Some(MetadataFormat::Json), ..MetadataOptions::default() };
    let error = parse_metadata(b"\"just a string\"", &json).unwrap_err();
    assert!(error.to_string().contains("an array of objects"), "{error}");
    let deep = format!("[{}{}]", "[".repeat(10_000), "]".repeat(10_000));
    let error = parse_metadata(deep.as_bytes(), &MetadataOptions::default()).unwrap_err();
    assert_eq!(error.code(), Code::MetadataInvalid, "deep nesting is refused, not a stack overflow: {error}");
}

#[test]
fn the_format_is_sniffed_from_the_first_character() {
    assert_eq!(MetadataFormat::sniff(b"  \n[{}]"), MetadataFormat::Json);
    assert_eq!(MetadataFormat::sniff(b"\xEF\xBB\xBF{}"), MetadataFormat::Json);
    assert_eq!(MetadataFormat::sniff(b"id,name\n"), MetadataFormat::Csv);
    assert_eq!(MetadataFormat::sniff(b""), MetadataFormat::Csv);
}

#[test]
fn files_rows_and_columns_over_the_limits_are_refused() {
    let limits = MetadataLimits { max_bytes: 64, max_rows: 3, max_columns: 4, max_warnings: 2 };
    let options = MetadataOptions { limits, ..MetadataOptions::default() };
    let error = read_metadata(&[b'x'; 65][..], &options).unwrap_err();
    assert_eq!((error.code(), error.to_string().contains("64 bytes")), (Code::MetadataTooLarge, true), "{error}");
    let error = parse_metadata(b"id\n1\n2\n3\n4\n", &options).unwrap_err();
    assert!(error.to_string().contains("3 rows"), "{error}");
    let error = parse_metadata(b"id,a,b,c,d\n", &options).unwrap_err();
    assert!(error.to_string().contains("4 columns"), "{error}");
    let error = parse_metadata(br#"[{"id":1,"a":1,"b":1,"c":1,"d":1}]"#, &options).unwrap_err();
    assert_eq!(error.code(), Code::MetadataTooLarge, "{error}");
    let error = parse_metadata(br#"[{"id":1},{"id":2},{"id":3},{"id":4}]"#, &options).unwrap_err();
    assert!(error.to_string().contains("3 rows"), "{error}");

    let metadata = parse_metadata(b"id,a\n1\n2\n3\n", &options).unwrap();
    assert_eq!((metadata.warnings().len(), metadata.warnings_omitted()), (2, 1));
}

#[test]
fn a_large_styles_csv_reads_quickly() {
    let mut text = String::from(STYLES.lines().next().unwrap());
    for id in 0..44_000 {
        text.push_str(&format!("\n{id},Men,Apparel,Topwear,Shirts,Navy Blue,Fall,{},Casual,Shirt {id}", 2010 + id % 8));
    }
    let started = std::time::Instant::now();
    let metadata = csv(text.as_bytes());
    let filter = Filter::parse("masterCategory = Apparel and year >= 2012").unwrap();
    let chosen = metadata.rows().filter(|row| filter.matches(row)).count();
    assert_eq!((metadata.len(), chosen), (44_000, 33_000));
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
}
