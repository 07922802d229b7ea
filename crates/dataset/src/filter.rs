//! A small expression language over an item's metadata, to choose which items a dataset job
//! runs on: `masterCategory = Apparel and year >= 2012`.
//!
//! ```text
//! expr       := or
//! or         := and ("or" and)*
//! and        := not ("and" not)*
//! not        := "not" not | "(" expr ")" | comparison
//! comparison := field op value | field ["not"] "in" "(" value ("," value)* ")"
//! op         := "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">="
//! field, value := word | "quoted text" | 'quoted text'
//! ```
//!
//! Keywords (`and`, `or`, `not`, `in`) are case-insensitive; `and` binds tighter than `or`.
//! A word is a run of anything but spaces, quotes, parentheses, commas and operator
//! characters; quotes (with `\"`, `\'` and `\\` escapes) hold spaces, operators and keywords:
//! `articleType = "Casual Shoes"`. Quoting only groups: `year = "2012"` is `year = 2012`.
//!
//! Semantics: two values compare as numbers when both read as finite decimal numbers
//! (`2012`, `-1.5`, `1e3`), else as strings, exactly (case-sensitive, by bytes). **A field the
//! item lacks (or holds empty) makes its comparison false**, whatever the operator: `a != x`
//! is false for an item without `a`, and `not (a = x)` is true for it.
//!
//! Bounded for hostile input: at most [`MAX_FILTER_LEN`] bytes and [`MAX_FILTER_DEPTH`]
//! levels of parentheses and `not`, so parsing and evaluation cannot overflow the stack.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;

mod parse;

/// Longest accepted filter, in bytes.
pub const MAX_FILTER_LEN: usize = 4096;
/// Deepest nesting of parentheses and `not`.
pub const MAX_FILTER_DEPTH: usize = 32;

/// A parsed filter; [`Filter::matches`] decides an item.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    expr: Expr,
}

/// What a filter reads: an item's fields by name. An empty value counts as missing.
pub trait Fields {
    fn field(&self, name: &str) -> Option<&str>;
}

/// Why a filter did not parse, and where: `column` counts characters from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at column {column}: {message}")]
pub struct FilterError {
    pub column: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    Compare { field: String, op: Op, value: Value },
    In { field: String, values: Vec<Value>, negated: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A literal, with its number read once at parse time.
#[derive(Debug, Clone, PartialEq)]
struct Value {
    text: String,
    number: Option<f64>,
}

impl Filter {
    pub fn parse(text: &str) -> Result<Filter, FilterError> {
        parse::parse(text).map(|expr| Filter { expr })
    }

    pub fn matches(&self, fields: &(impl Fields + ?Sized)) -> bool {
        eval(&self.expr, fields)
    }

    /// The field names the filter reads, sorted, each once: the service can refuse a filter
    /// naming a column the metadata does not have (a typo would otherwise match nothing).
    pub fn fields(&self) -> Vec<&str> {
        let mut out = Vec::new();
        collect_fields(&self.expr, &mut out);
        out.sort_unstable();
        out.dedup();
        out
    }
}

impl FromStr for Filter {
    type Err = FilterError;

    fn from_str(text: &str) -> Result<Filter, FilterError> {
        Filter::parse(text)
    }
}

/// The canonical form: single spaces, quotes and parentheses only where needed. It parses
/// back to the same filter (if still within [`MAX_FILTER_LEN`]: spaces may lengthen it).
impl fmt::Display for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_expr(&self.expr, 0, f)
    }
}

fn eval(expr: &Expr, fields: &(impl Fields + ?Sized)) -> bool {
    match expr {
        Expr::Or(parts) => parts.iter().any(|part| eval(part, fields)),
        Expr::And(parts) => parts.iter().all(|part| eval(part, fields)),
        Expr::Not(inner) => !eval(inner, fields),
        Expr::Compare { field, op, value } => match present(fields, field) {
            Some(actual) => op.holds(compare(actual, value)),
            None => false,
        },
        Expr::In { field, values, negated } => match present(fields, field) {
            Some(actual) => values.iter().any(|value| compare(actual, value).is_eq()) != *negated,
            None => false,
        },
    }
}

fn present<'a>(fields: &'a (impl Fields + ?Sized), name: &str) -> Option<&'a str> {
    fields.field(name).filter(|value| !value.is_empty())
}

fn compare(actual: &str, value: &Value) -> std::cmp::Ordering {
    match (parse_number(actual), value.number) {
        // Both are finite, so `partial_cmp` always answers.
        (Some(left), Some(right)) => left.partial_cmp(&right).unwrap_or(std::cmp::Ordering::Equal),
        _ => actual.cmp(value.text.as_str()),
    }
}

/// A finite decimal number: digits, at most a sign, a point and an exponent. `inf`, `NaN`
/// and `0x10` stay strings.
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    let plausible = text.bytes().any(|byte| byte.is_ascii_digit())
        && text.bytes().all(|byte| byte.is_ascii_digit() || matches!(byte, b'+' | b'-' | b'.' | b'e' | b'E'));
    if !plausible {
        return None;
    }
    text.parse::<f64>().ok().filter(|number| number.is_finite())
}

impl Op {
    fn holds(self, ordering: std::cmp::Ordering) -> bool {
        match self {
            Op::Eq => ordering.is_eq(),
            Op::Ne => ordering.is_ne(),
            Op::Lt => ordering.is_lt(),
            Op::Le => ordering.is_le(),
            Op::Gt => ordering.is_gt(),
            Op::Ge => ordering.is_ge(),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        }
    }
}

fn collect_fields<'a>(expr: &'a Expr, out: &mut Vec<&'a str>) {
    match expr {
        Expr::Or(parts) | Expr::And(parts) => parts.iter().for_each(|part| collect_fields(part, out)),
        Expr::Not(inner) => collect_fields(inner, out),
        Expr::Compare { field, .. } | Expr::In { field, .. } => out.push(field),
    }
}

/// Writes `expr`, in parentheses when it binds looser than its place needs (`or` = 1,
/// `and` = 2, the rest = 3).
fn write_expr(expr: &Expr, needed: u8, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let (binds, keyword, parts) = match expr {
        Expr::Or(parts) => (1, "or", parts),
        Expr::And(parts) => (2, "and", parts),
        Expr::Not(inner) => {
            f.write_str("not ")?;
            return write_expr(inner, 3, f);
        }
        Expr::Compare { field, op, value } => {
            return write!(f, "{} {} {}", Quoted(field), op.as_str(), Quoted(&value.text))
        }
        Expr::In { field, values, negated } => {
            write!(f, "{} {}in (", Quoted(field), if *negated { "not " } else { "" })?;
            for (index, value) in values.iter().enumerate() {
                if index > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{}", Quoted(&value.text))?;
            }
            return f.write_str(")");
        }
    };
    if binds < needed {
        f.write_str("(")?;
    }
    for (index, part) in parts.iter().enumerate() {
        if index > 0 {
            write!(f, " {keyword} ")?;
        }
        write_expr(part, binds + 1, f)?;
    }
    if binds < needed {
        f.write_str(")")?;
    }
    Ok(())
}

/// A field or value, quoted only when it must be (empty, a keyword, or holding a space,
/// a quote or an operator character).
struct Quoted<'a>(&'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0;
        if !text.is_empty() && !parse::is_keyword(text) && text.chars().all(parse::is_word_char) {
            return f.write_str(text);
        }
        f.write_str("\"")?;
        for c in text.chars() {
            if matches!(c, '"' | '\\') {
                f.write_str("\\")?;
            }
            write!(f, "{c}")?;
        }
        f.write_str("\"")
    }
}

impl Fields for HashMap<String, String> {
    fn field(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

impl Fields for BTreeMap<String, String> {
    fn field(&self, name: &str) -> Option<&str> {
        self.get(name).map(String::as_str)
    }
}

impl Fields for [(&str, &str)] {
    fn field(&self, name: &str) -> Option<&str> {
        self.iter().find(|(key, _)| *key == name).map(|(_, value)| *value)
    }
}

#[cfg(test)]
mod tests;
