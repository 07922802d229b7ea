//! The filter's tokenizer and recursive-descent parser. Recursion goes one level per `(` or
//! `not`, and each level is counted against [`MAX_FILTER_DEPTH`]; `and`/`or` chains are
//! loops. Every error names the column (in characters, from 1) where it was found.

use super::{parse_number, Expr, FilterError, Op, Value, MAX_FILTER_DEPTH, MAX_FILTER_LEN};

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    Comma,
    Op(Op),
    /// A bare word: a keyword when it spells one.
    Word(String),
    Quoted(String),
    End,
}

struct Spanned {
    token: Token,
    column: usize,
}

pub(super) fn parse(text: &str) -> Result<Expr, FilterError> {
    if text.len() > MAX_FILTER_LEN {
        let end = (0..=MAX_FILTER_LEN).rev().find(|&end| text.is_char_boundary(end)).unwrap_or(0);
        return Err(FilterError {
            column: text[..end].chars().count(),
            message: format!("the filter is longer than {MAX_FILTER_LEN} bytes"),
        });
    }
    let tokens = tokenize(text)?;
    let mut parser = Parser { tokens, next: 0 };
    if parser.peek() == &Token::End {
        return Err(parser.error("the filter is empty"));
    }
    let expr = parser.or(0)?;
    match parser.peek() {
        Token::End => Ok(expr),
        Token::Close => Err(parser.error("`)` without a matching `(`")),
        _ => Err(parser.error("expected `and`, `or` or the end of the filter")),
    }
}

fn tokenize(text: &str) -> Result<Vec<Spanned>, FilterError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut at = 0;
    while at < chars.len() {
        let column = at + 1;
        let c = chars[at];
        let next = chars.get(at + 1).copied();
        let (token, len) = match c {
            c if c.is_whitespace() => {
                at += 1;
                continue;
            }
            '(' => (Token::Open, 1),
            ')' => (Token::Close, 1),
            ',' => (Token::Comma, 1),
            '=' if next == Some('=') => (Token::Op(Op::Eq), 2),
            '=' => (Token::Op(Op::Eq), 1),
            '!' if next == Some('=') => (Token::Op(Op::Ne), 2),
            '<' if next == Some('>') => (Token::Op(Op::Ne), 2),
            '<' if next == Some('=') => (Token::Op(Op::Le), 2),
            '<' => (Token::Op(Op::Lt), 1),
            '>' if next == Some('=') => (Token::Op(Op::Ge), 2),
            '>' => (Token::Op(Op::Gt), 1),
            '!' => return Err(FilterError { column, message: "`!` is not an operator; use `!=` or `not`".into() }),
            '"' | '\'' => quoted(&chars, at)?,
            c if c.is_control() => {
                return Err(FilterError { column, message: format!("unexpected character {:?}", c) });
            }
            _ => {
                let len = chars[at..].iter().take_while(|&&c| is_word_char(c)).count();
                (Token::Word(chars[at..at + len].iter().collect()), len)
            }
        };
        tokens.push(Spanned { token, column });
        at += len;
    }
    tokens.push(Spanned { token: Token::End, column: chars.len() + 1 });
    Ok(tokens)
}

pub(super) fn is_word_char(c: char) -> bool {
    !c.is_whitespace() && !c.is_control() && !matches!(c, '(' | ')' | ',' | '=' | '!' | '<' | '>' | '"' | '\'')
}

/// A quoted string starting at `start`; returns the token and how many characters it took.
fn quoted(chars: &[char], start: usize) -> Result<(Token, usize), FilterError> {
    let quote = chars[start];
    let mut text = String::new();
    let mut at = start + 1;
    while let Some(&c) = chars.get(at) {
        match c {
            '\\' => match chars.get(at + 1) {
                Some(&escaped @ ('"' | '\'' | '\\')) => {
                    text.push(escaped);
                    at += 2;
                }
                _ => {
                    let message = "a backslash in quotes must escape `\"`, `'` or `\\`".to_string();
                    return Err(FilterError { column: at + 1, message });
                }
            },
            c if c == quote => return Ok((Token::Quoted(text), at + 1 - start)),
            c => {
                text.push(c);
                at += 1;
            }
        }
    }
    Err(FilterError { column: start + 1, message: format!("the quote {quote} opened here is never closed") })
}

struct Parser {
    tokens: Vec<Spanned>,
    next: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.next].token
    }

    fn column(&self) -> usize {
        self.tokens[self.next].column
    }

    fn bump(&mut self) -> Token {
        let token = self.tokens[self.next].token.clone();
        if self.next + 1 < self.tokens.len() {
            self.next += 1;
        }
        token
    }

    fn error(&self, message: &str) -> FilterError {
        FilterError { column: self.column(), message: message.to_string() }
    }

    fn at_keyword(&self, keyword: &str) -> bool {
        matches!(self.peek(), Token::Word(word) if word.eq_ignore_ascii_case(keyword))
    }

    fn or(&mut self, depth: usize) -> Result<Expr, FilterError> {
        let mut parts = vec![self.and(depth)?];
        while self.at_keyword("or") {
            self.bump();
            parts.push(self.and(depth)?);
        }
        Ok(if parts.len() == 1 { parts.pop().expect("one part") } else { Expr::Or(parts) })
    }

    fn and(&mut self, depth: usize) -> Result<Expr, FilterError> {
        let mut parts = vec![self.not(depth)?];
        while self.at_keyword("and") {
            self.bump();
            parts.push(self.not(depth)?);
        }
        Ok(if parts.len() == 1 { parts.pop().expect("one part") } else { Expr::And(parts) })
    }

    fn not(&mut self, depth: usize) -> Result<Expr, FilterError> {
        if (self.at_keyword("not") || self.peek() == &Token::Open) && depth >= MAX_FILTER_DEPTH {
            return Err(self.error(&format!("nested deeper than {MAX_FILTER_DEPTH} levels")));
        }
        if self.at_keyword("not") {
            self.bump();
            return Ok(Expr::Not(Box::new(self.not(depth + 1)?)));
        }
        if self.peek() == &Token::Open {
            let open = self.column();
            self.bump();
            let expr = self.or(depth + 1)?;
            if self.peek() != &Token::Close {
                return Err(self.error(&format!("expected `)` to close the `(` at column {open}")));
            }
            self.bump();
            return Ok(expr);
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Expr, FilterError> {
        let field = match self.peek() {
            Token::Word(word) if is_keyword(word) => {
                return Err(self.error(&format!("expected a field name, found the keyword `{word}`")));
            }
            Token::Word(word) | Token::Quoted(word) => word.clone(),
            _ => return Err(self.error("expected a field name")),
        };
        self.bump();
        if let Token::Op(op) = *self.peek() {
            self.bump();
            let value = self.value()?;
            return Ok(Expr::Compare { field, op, value });
        }
        let negated = self.at_keyword("not");
        if negated {
            self.bump();
        }
        if !self.at_keyword("in") {
            let expected = if negated {
                "expected `in` after `not`"
            } else {
                "expected an operator (`=`, `!=`, `<`, `<=`, `>`, `>=`, `in`) after the field"
            };
            return Err(self.error(expected));
        }
        self.bump();
        if self.peek() != &Token::Open {
            return Err(self.error("expected `(` to open the list after `in`"));
        }
        self.bump();
        let mut values = vec![self.value()?];
        while self.peek() == &Token::Comma {
            self.bump();
            values.push(self.value()?);
        }
        if self.peek() != &Token::Close {
            return Err(self.error("expected `,` or `)` in the list"));
        }
        self.bump();
        Ok(Expr::In { field, values, negated })
    }

    fn value(&mut self) -> Result<Value, FilterError> {
        let text = match self.peek() {
            Token::Word(word) if is_keyword(word) => {
                return Err(
                    self.error(&format!("expected a value, found the keyword `{word}` (quote it to mean the word)"))
                );
            }
            Token::Word(text) | Token::Quoted(text) => text.clone(),
            _ => return Err(self.error("expected a value")),
        };
        self.bump();
        let number = parse_number(&text);
        Ok(Value { text, number })
    }
}

pub(super) fn is_keyword(word: &str) -> bool {
    ["and", "or", "not", "in"].iter().any(|keyword| word.eq_ignore_ascii_case(keyword))
}
