//! Tests of the filter language: the issue's example, precedence, quoting, numbers against
//! strings, missing fields, errors with their columns, and hostile nesting.

use super::{Filter, FilterError, MAX_FILTER_DEPTH};

/// A `styles.csv` row: `15970,Men,Apparel,Topwear,Shirts,Navy Blue,Fall,2011,Casual,...`.
const SHIRT: &[(&str, &str)] = &[
    ("id", "15970"),
    ("gender", "Men"),
    ("masterCategory", "Apparel"),
    ("subCategory", "Topwear"),
    ("articleType", "Shirts"),
    ("baseColour", "Navy Blue"),
    ("season", "Fall"),
    ("year", "2011"),
    ("usage", "Casual"),
    ("productDisplayName", "Turtle Check Men Navy Blue Shirt"),
];

const SHOES: &[(&str, &str)] = &[
    ("id", "9036"),
    ("gender", "Men"),
    ("masterCategory", "Footwear"),
    ("articleType", "Casual Shoes"),
    ("year", "2012"),
    ("usage", ""),
];

const JEANS: &[(&str, &str)] = &[("id", "39386"), ("masterCategory", "Apparel"), ("year", "2012.0")];

fn check(filter: &str, expected: [bool; 3]) {
    let parsed = Filter::parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
    let got = [SHIRT, SHOES, JEANS].map(|row| parsed.matches(row));
    assert_eq!(got, expected, "{filter} (shirt, shoes, jeans)");
    let again = Filter::parse(&parsed.to_string()).unwrap_or_else(|e| panic!("{parsed}: {e}"));
    assert_eq!(again, parsed, "the canonical form of {filter} reads back the same: {parsed}");
}

fn check_error(filter: &str, column: usize, message_part: &str) {
    let FilterError { column: got, message } = Filter::parse(filter).expect_err(filter);
    assert_eq!(got, column, "{filter}: {message}");
    assert!(message.contains(message_part), "{filter}: `{message}` lacks `{message_part}`");
}

#[test]
fn the_issues_example_picks_apparel_from_2012_on() {
    check("masterCategory = Apparel and year >= 2012", [false, false, true]);
}

#[test]
fn each_operator_compares_as_written() {
    check("year = 2011", [true, false, false]);
    check("year == 2011", [true, false, false]);
    check("year != 2011", [false, true, true]);
    check("year <> 2011", [false, true, true]);
    check("year < 2012", [true, false, false]);
    check("year <= 2012", [true, true, true]);
    check("year > 2011", [false, true, true]);
    check("year>=2012", [false, true, true]);
    check("gender in (Men, Women)", [true, true, false]);
    check("masterCategory not in (Apparel)", [false, true, false]);
}

#[test]
fn numbers_compare_numerically_and_other_values_as_strings() {
    check("year = 2012", [false, true, true]);
    check("id < 10000", [false, true, false]);
    check("id < \"10000\"", [false, true, false]);
    // As strings, "15970" < "9036"; as numbers it is not.
    check("id > 9036", [true, false, true]);
    check("season > Fall", [false, false, false]);
    check("season >= Fall", [true, false, false]);
    check("year < abc", [true, true, true]);
}

#[test]
fn and_binds_tighter_than_or_and_parentheses_regroup() {
    check("masterCategory = Footwear or masterCategory = Apparel and year = 2011", [true, true, false]);
    check("(masterCategory = Footwear or masterCategory = Apparel) and year = 2011", [true, false, false]);
    check("not masterCategory = Apparel or year = 2011", [true, true, false]);
    check("not (masterCategory = Apparel or year = 2011)", [false, true, false]);
    check("not not gender = Men", [true, true, false]);
}

#[test]
fn keywords_are_case_insensitive() {
    check("masterCategory = Apparel AND year >= 2012", [false, false, true]);
    check("gender IN (Men) Or NOT year = 2012", [true, true, false]);
}

#[test]
fn quoted_values_hold_spaces_keywords_and_escaped_quotes() {
    check("articleType = \"Casual Shoes\"", [false, true, false]);
    check("baseColour = 'Navy Blue'", [true, false, false]);
    check("productDisplayName = \"Turtle Check Men Navy Blue Shirt\"", [true, false, false]);
    check("\"articleType\" in ('Casual Shoes', \"Shirts\")", [true, true, false]);
    check("usage = \"and\"", [false, false, false]);
    let filter = Filter::parse(r#"name = "say \"hi\" \\ o'k""#).unwrap();
    assert!(filter.matches([("name", r#"say "hi" \ o'k"#)].as_slice()));
}

#[test]
fn a_missing_or_empty_field_makes_every_comparison_false() {
    check("usage = Casual", [true, false, false]);
    check("usage != Casual", [false, false, false]);
    check("not usage = Casual", [false, true, true]);
    check("colour != Red", [false, false, false]);
    check("colour not in (Red)", [false, false, false]);
}

#[test]
fn inf_nan_and_hex_are_compared_as_strings_not_numbers() {
    let row = [("a", "NaN"), ("b", "0x10"), ("c", "1e3"), ("d", "inf")];
    let row = row.as_slice();
    // As numbers, NaN would equal nothing, itself included.
    assert!(Filter::parse("a = NaN").unwrap().matches(row));
    assert!(!Filter::parse("b = 16").unwrap().matches(row));
    assert!(Filter::parse("c = 1000").unwrap().matches(row));
    assert!(!Filter::parse("d = 1e999").unwrap().matches(row));
}

#[test]
fn the_canonical_form_quotes_and_groups_only_where_needed() {
    let filter = Filter::parse("(a=1 OR b in ('x y',\"and\")) and NOT (c>=2 and d='')").unwrap();
    assert_eq!(filter.to_string(), r#"(a = 1 or b in ("x y", "and")) and not (c >= 2 and d = "")"#);
}

#[test]
fn fields_lists_each_field_once() {
    let filter = Filter::parse("b = 1 or (a = 2 and b in (3)) or not c = 4").unwrap();
    assert_eq!(filter.fields(), ["a", "b", "c"]);
}

#[test]
fn parse_errors_name_the_column() {
    check_error("", 1, "empty");
    check_error("   ", 4, "empty");
    check_error("year >=", 8, "expected a value");
    check_error("year 2012", 6, "expected an operator");
    check_error("= 2012", 1, "expected a field name");
    check_error("year = 2012 and", 16, "expected a field name");
    check_error("and = 1", 1, "keyword `and`");
    check_error("a = or", 5, "keyword `or`");
    check_error("(a = 1", 7, "close the `(` at column 1");
    check_error("a = 1)", 6, "`)` without a matching `(`");
    check_error("a = 1 b = 2", 7, "expected `and`, `or`");
    check_error("a ! b", 3, "`!` is not an operator");
    check_error("a = \"open", 5, "never closed");
    check_error("a = \"x\\y\"", 7, "backslash");
    check_error("a not b", 7, "expected `in` after `not`");
    check_error("a in b", 6, "expected `(`");
    check_error("a in (1 2)", 9, "expected `,` or `)`");
    check_error("a in ()", 7, "expected a value");
    check_error("a = \u{1b}", 5, "unexpected character");
    check_error("é = 1 and", 10, "expected a field name");
}

#[test]
fn a_hundred_thousand_deep_parenthesis_bomb_is_refused_without_recursing() {
    let bomb = format!("{}a = 1{}", "(".repeat(100_000), ")".repeat(100_000));
    check_error(&bomb, 4096, "longer than 4096 bytes");
    let within_length = format!("{}a = 1{}", "(".repeat(2_000), ")".repeat(2_000));
    check_error(&within_length, MAX_FILTER_DEPTH + 1, "nested deeper than 32");
    let nots = format!("{}a = 1", "not ".repeat(1_000));
    check_error(&nots, 4 * MAX_FILTER_DEPTH + 1, "nested deeper than 32");
}

#[test]
fn nesting_up_to_the_limit_parses_and_evaluates() {
    let deepest = format!("{}year = 2011{}", "(".repeat(MAX_FILTER_DEPTH), ")".repeat(MAX_FILTER_DEPTH));
    check(&deepest, [true, false, false]);
    let nots = format!("{}year = 2011", "not ".repeat(MAX_FILTER_DEPTH));
    check(&nots, [true, false, false]);
}

#[test]
fn long_flat_chains_are_loops_not_recursion() {
    let chain = vec!["year = 1"; 250].join(" or ") + " or year = 2011";
    check(&chain, [true, false, false]);
}
