//! CloudWatch Logs filter patterns, shared by metric filters, subscription filters, FilterLogEvents and
//! Live Tail.
//!
//! Behaviour follows AWS's "Filter pattern syntax" page; where the page is silent the choice made here is
//! noted next to the code. Three shapes exist, chosen by the first character of the trimmed pattern:
//! `{ ... }` is a JSON pattern, `[ ... ]` a space-delimited one, anything else a list of terms.

mod regex;

use regex::Regex;
use serde_json::Value;

const INVALID: &str = "Invalid filter pattern";

/// Nesting bound for parentheses: evaluation recurses, and a stack overflow would abort the process
/// rather than surface as a parse error.
const MAX_DEPTH: usize = 64;

/// A space-delimited pattern with several ellipses is matched with a table of (pattern field, message
/// field) cells; past this size the event is treated as not matching instead of allocating without bound.
const MAX_TABLE: usize = 20_000_000;

pub(crate) fn invalid() -> String {
    INVALID.to_string()
}

/// AWS's wording for a lexical error, e.g. `Invalid character(s) in term ':'` for `?Status: timeout`
/// and `Invalid character(s) in term '$."'` for `{ $."sc-status" = 5* }`. Those two observed messages
/// suggest AWS reports the run of punctuation around the offending character, not crossing word
/// characters, whitespace, or `floor` (the start of the current token).
pub(crate) fn invalid_chars(cs: &[char], floor: usize, pos: usize) -> String {
    let plain = |c: char| c.is_alphanumeric() || c == '_' || c.is_whitespace();
    let mut a = pos.min(cs.len());
    while a > floor && !plain(cs[a - 1]) {
        a -= 1;
    }
    let mut b = pos.min(cs.len());
    while b < cs.len() && (b == pos || !plain(cs[b])) {
        b += 1;
    }
    let run: String = cs[a..b].iter().collect();
    format!("Invalid character(s) in term '{run}'")
}

/// A parsed filter pattern.
#[derive(Debug, Clone)]
pub struct FilterPattern {
    body: Body,
}

/// Which of AWS's pattern shapes a pattern is. Dimensions and `$`-valued metric values only make sense
/// for the structured shapes; AWS refuses them otherwise ("The specified filter pattern does not support
/// dimensions"), so callers need to tell the shapes apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternKind {
    MatchAll,
    Terms,
    Json,
    SpaceDelimited,
}

#[derive(Debug, Clone)]
enum Body {
    All,
    Terms(Terms),
    Json(Expr<Selector>),
    Delimited(Delimited),
}

#[derive(Debug, Clone)]
struct Terms {
    include: Vec<Term>,
    exclude: Vec<Term>,
    optional: Vec<Term>,
}

#[derive(Debug, Clone)]
enum Term {
    /// Case-sensitive substring: AWS's older guide shows `ERROR` matching "Exiting with ERRORCODE: -1"
    /// and `Exception` matching "IllegalArgumentException", so terms are not whole words.
    Text(String),
    /// `" "` and `""`, which AWS documents as "match everything".
    Always,
    Regex(Regex),
}

#[derive(Debug, Clone)]
enum Expr<S> {
    Or(Vec<Expr<S>>),
    And(Vec<Expr<S>>),
    Cond(S, Check),
}

#[derive(Debug, Clone)]
enum Check {
    Cmp(Op, Operand),
    IsTrue,
    IsFalse,
    IsNull,
    NotExists,
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

#[derive(Debug, Clone)]
enum Operand {
    /// The literal's text is kept for comparing against values that are not numbers.
    Num(f64, String),
    Str(StrPat),
    Regex(Regex),
}

/// A string with AWS's `*` wildcard. Only a leading and/or trailing `*` is special: the older guide says
/// `Ev*ent` "will only match the actual string Ev*ent".
#[derive(Debug, Clone)]
struct StrPat {
    text: String,
    any_prefix: bool,
    any_suffix: bool,
}

#[derive(Debug, Clone)]
struct Selector {
    segs: Vec<Seg>,
}

#[derive(Debug, Clone)]
enum Seg {
    Key(String),
    Index(usize),
    Any,
}

#[derive(Debug, Clone)]
struct Delimited {
    fields: Vec<Field>,
}

#[derive(Debug, Clone)]
enum Field {
    Ellipsis,
    /// A trailing comma (`[..., status_code=4*,]` in AWS's older guide) yields an unnamed field.
    Slot {
        name: Option<String>,
        cond: Option<Expr<String>>,
    },
}

/// What a matching event exposes to metric values and dimensions.
enum Captured {
    Nothing,
    Json(Value),
    Fields {
        named: Vec<(String, String)>,
        positional: Vec<String>,
    },
}

impl FilterPattern {
    /// Parses a pattern; the empty (or all-whitespace) pattern matches every event.
    pub fn parse(src: &str) -> Result<FilterPattern, String> {
        let trimmed = src.trim();
        let cs: Vec<char> = trimmed.chars().collect();
        let body = match cs.first() {
            None => Body::All,
            Some('{') => {
                if cs.len() < 2 || cs[cs.len() - 1] != '}' {
                    return Err(
                        "If a filter pattern starts with '{' it must end with '}'".to_string()
                    );
                }
                Body::Json(parse_json(&cs[1..cs.len() - 1])?)
            }
            Some('[') => {
                if cs.len() < 2 || cs[cs.len() - 1] != ']' {
                    return Err(
                        "If a filter pattern starts with '[' it must end with ']'".to_string()
                    );
                }
                Body::Delimited(parse_delimited(&cs[1..cs.len() - 1])?)
            }
            Some(_) => Body::Terms(parse_terms(&cs)?),
        };
        Ok(FilterPattern { body })
    }

    pub fn kind(&self) -> PatternKind {
        match self.body {
            Body::All => PatternKind::MatchAll,
            Body::Terms(_) => PatternKind::Terms,
            Body::Json(_) => PatternKind::Json,
            Body::Delimited(_) => PatternKind::SpaceDelimited,
        }
    }

    /// Whether a log event's message matches.
    pub fn matches(&self, message: &str) -> bool {
        match &self.body {
            Body::All => true,
            Body::Terms(t) => t.matches(message),
            Body::Json(e) => {
                parse_event(message).is_some_and(|v| e.eval(&|s, c| json_check(s, c, &v)))
            }
            Body::Delimited(d) => d.capture(message).is_some(),
        }
    }

    /// For metric filters: the value a metric transformation's `metricValue` names, from a matching
    /// message. `metric_value` is a literal number, `$.path` (JSON patterns), `$name` (a named field of a
    /// space-delimited pattern) or `$N` (the N-th field of the event, 1-based, which AWS reports for
    /// fields the pattern leaves unnamed). Numeric strings count as numbers, because space-delimited
    /// fields are always text.
    pub fn metric_value(&self, message: &str, metric_value: &str) -> Option<f64> {
        let captured = self.capture(message)?;
        let mv = metric_value.trim();
        if is_number(mv) {
            return mv.parse().ok();
        }
        match lookup(&captured, mv)? {
            Found::Json(Value::Number(n)) => n.as_f64(),
            Found::Json(Value::String(s)) | Found::Text(s) => number(&s),
            Found::Json(_) => None,
        }
    }

    /// Dimension values for metric filters: `$.field` / `$name` / `$N` resolved to strings. Objects,
    /// arrays and null yield None: AWS only publishes dimensions from value nodes.
    pub fn field(&self, message: &str, selector: &str) -> Option<String> {
        let captured = self.capture(message)?;
        match lookup(&captured, selector.trim())? {
            Found::Text(s) => Some(s),
            Found::Json(v) => scalar(&v).map(|(text, _)| text),
        }
    }

    fn capture(&self, message: &str) -> Option<Captured> {
        match &self.body {
            Body::All => Some(Captured::Nothing),
            Body::Terms(t) => t.matches(message).then_some(Captured::Nothing),
            Body::Json(e) => {
                let v = parse_event(message)?;
                e.eval(&|s, c| json_check(s, c, &v))
                    .then_some(Captured::Json(v))
            }
            Body::Delimited(d) => d.capture(message),
        }
    }
}

enum Found {
    Json(Value),
    Text(String),
}

fn lookup(captured: &Captured, sel: &str) -> Option<Found> {
    let cs: Vec<char> = sel.chars().collect();
    match captured {
        Captured::Json(v) if sel.starts_with("$.") || sel.starts_with("$[") => {
            let (selector, end) = parse_selector(&cs, 0).ok()?;
            if end != cs.len() {
                return None;
            }
            selector
                .select(v)
                .into_iter()
                .find(|x| !x.is_array() && !x.is_object())
                .cloned()
                .map(Found::Json)
        }
        Captured::Fields { named, positional } => {
            let name = sel.strip_prefix('$')?;
            if !name.is_empty() && name.chars().all(|c| c.is_ascii_digit()) {
                let n: usize = name.parse().ok()?;
                return positional.get(n.checked_sub(1)?).cloned().map(Found::Text);
            }
            named
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| Found::Text(v.clone()))
        }
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------------
// Unstructured terms

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn parse_terms(cs: &[char]) -> Result<Terms, String> {
    let mut terms = Terms {
        include: Vec::new(),
        exclude: Vec::new(),
        optional: Vec::new(),
    };
    let mut i = 0;
    loop {
        while i < cs.len() && cs[i].is_whitespace() {
            i += 1;
        }
        if i == cs.len() {
            break;
        }
        // AWS's older guide writes `"ERROR" - "Exiting"`, so the sign may stand apart from its term.
        let mut sign = None;
        if cs[i] == '?' || cs[i] == '-' {
            sign = Some(cs[i]);
            i += 1;
            while i < cs.len() && cs[i].is_whitespace() {
                i += 1;
            }
            if i == cs.len() {
                return Err(invalid());
            }
        }
        let start = i;
        let term = match cs[i] {
            '"' => {
                let (text, end) = quoted(cs, i)?;
                i = end;
                if text.trim().is_empty() {
                    Term::Always
                } else {
                    Term::Text(text)
                }
            }
            '%' => {
                let (re, end) = regex_at(cs, i)?;
                i = end;
                Term::Regex(re)
            }
            c if is_word(c) => {
                while i < cs.len() && !cs[i].is_whitespace() {
                    if !is_word(cs[i]) {
                        return Err(invalid_chars(cs, start, i));
                    }
                    i += 1;
                }
                Term::Text(cs[start..i].iter().collect())
            }
            _ => return Err(invalid_chars(cs, start, i)),
        };
        match sign {
            Some('?') => terms.optional.push(term),
            Some(_) => terms.exclude.push(term),
            None => terms.include.push(term),
        }
    }
    Ok(terms)
}

impl Term {
    fn found_in(&self, message: &str) -> bool {
        match self {
            Term::Text(t) => message.contains(t.as_str()),
            Term::Always => true,
            Term::Regex(r) => r.is_match(message),
        }
    }
}

impl Terms {
    /// AWS: "If you combine `?` with other filter patterns, all question mark terms will be ignored."
    fn matches(&self, message: &str) -> bool {
        if self.include.is_empty() && self.exclude.is_empty() {
            return self.optional.is_empty() || self.optional.iter().any(|t| t.found_in(message));
        }
        self.include.iter().all(|t| t.found_in(message))
            && !self.exclude.iter().any(|t| t.found_in(message))
    }
}

/// A double-quoted string starting at `cs[at]`; returns its text and the index after the closing quote.
/// Backslash escapes the quote and itself (a quoted term "with the backslashes escaped" is how users
/// match escaped JSON inside a message); any other backslash is kept as written.
fn quoted(cs: &[char], at: usize) -> Result<(String, usize), String> {
    let mut out = String::new();
    let mut i = at + 1;
    while i < cs.len() {
        match cs[i] {
            '"' => return Ok((out, i + 1)),
            '\\' if matches!(cs.get(i + 1), Some('"') | Some('\\')) => {
                out.push(cs[i + 1]);
                i += 2;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Err(invalid())
}

/// A `%regex%` starting at `cs[at]`; returns it and the index after the closing `%`.
fn regex_at(cs: &[char], at: usize) -> Result<(Regex, usize), String> {
    let close = (at + 1..cs.len())
        .find(|&k| cs[k] == '%')
        .ok_or_else(invalid)?;
    Ok((Regex::parse(&cs[at + 1..close])?, close + 1))
}

// ---------------------------------------------------------------------------------------------------
// Lexer shared by JSON and space-delimited patterns

#[derive(Debug, Clone)]
enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Comma,
    Op(Op),
    Quoted(String),
    Regex(Regex),
    Word(String),
    Selector(Selector),
}

/// Unquoted values: AWS's examples use `123.123.*`, `4*`, `*.html*`, `1e+3` and `-5` bare; anything
/// else must be quoted.
fn is_bare(c: char) -> bool {
    c.is_alphanumeric() || "_.*+-".contains(c)
}

fn is_name(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

fn lex(cs: &[char], json: bool) -> Result<Vec<Tok>, String> {
    let mut toks = Vec::new();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let next = cs.get(i + 1).copied();
        let (tok, end) = match c {
            '(' => (Tok::LParen, i + 1),
            ')' => (Tok::RParen, i + 1),
            '&' if next == Some('&') => (Tok::And, i + 2),
            '|' if next == Some('|') => (Tok::Or, i + 2),
            ',' if !json => (Tok::Comma, i + 1),
            '=' => (Tok::Op(Op::Eq), i + 1),
            '!' if next == Some('=') => (Tok::Op(Op::Ne), i + 2),
            '<' if next == Some('=') => (Tok::Op(Op::Le), i + 2),
            '<' => (Tok::Op(Op::Lt), i + 1),
            '>' if next == Some('=') => (Tok::Op(Op::Ge), i + 2),
            '>' => (Tok::Op(Op::Gt), i + 1),
            '"' => {
                let (s, end) = quoted(cs, i)?;
                (Tok::Quoted(s), end)
            }
            '%' => {
                let (r, end) = regex_at(cs, i)?;
                (Tok::Regex(r), end)
            }
            '$' if json => {
                let (s, end) = parse_selector(cs, i)?;
                (Tok::Selector(s), end)
            }
            c if is_bare(c) => {
                let mut end = i;
                while end < cs.len() && is_bare(cs[end]) {
                    end += 1;
                }
                (Tok::Word(cs[i..end].iter().collect()), end)
            }
            _ => return Err(invalid_chars(cs, i, i)),
        };
        toks.push(tok);
        i = end;
    }
    Ok(toks)
}

/// Parses `$.a.b[0]`, `$.a[*]`, `$.*`, `$.['cluster.name']` starting at `cs[at]` (the `$`).
fn parse_selector(cs: &[char], at: usize) -> Result<(Selector, usize), String> {
    let mut segs = Vec::new();
    let mut i = at + 1;
    loop {
        match cs.get(i) {
            Some('.') => {
                i += 1;
                match cs.get(i) {
                    Some('*') => {
                        segs.push(Seg::Any);
                        i += 1;
                    }
                    Some('[') => {}
                    Some(&c) if is_name(c) => {
                        let start = i;
                        while i < cs.len() && is_name(cs[i]) {
                            i += 1;
                        }
                        segs.push(Seg::Key(cs[start..i].iter().collect()));
                    }
                    Some(_) => return Err(invalid_chars(cs, at, i)),
                    None => return Err(invalid()),
                }
            }
            Some('[') => {
                i += 1;
                match cs.get(i) {
                    Some('*') => {
                        segs.push(Seg::Any);
                        i += 1;
                    }
                    Some(&q) if q == '\'' || q == '"' => {
                        let close = (i + 1..cs.len())
                            .find(|&k| cs[k] == q)
                            .ok_or_else(invalid)?;
                        segs.push(Seg::Key(cs[i + 1..close].iter().collect()));
                        i = close + 1;
                    }
                    Some(c) if c.is_ascii_digit() => {
                        let start = i;
                        while i < cs.len() && cs[i].is_ascii_digit() {
                            i += 1;
                        }
                        let text: String = cs[start..i].iter().collect();
                        segs.push(Seg::Index(text.parse().map_err(|_| invalid())?));
                    }
                    Some(_) => return Err(invalid_chars(cs, at, i)),
                    None => return Err(invalid()),
                }
                if cs.get(i) != Some(&']') {
                    return Err(invalid());
                }
                i += 1;
            }
            _ => break,
        }
    }
    if segs.is_empty() {
        return Err(invalid());
    }
    Ok((Selector { segs }, i))
}

impl Selector {
    /// A wildcard fans out, and the condition holds if any selected value satisfies it; AWS documents
    /// `$.arrayKey[*]` and `$.*` as selecting "any array element or any JSON object field".
    fn select<'a>(&self, root: &'a Value) -> Vec<&'a Value> {
        let mut cur = vec![root];
        for seg in &self.segs {
            let mut next = Vec::new();
            for v in cur {
                match (seg, v) {
                    (Seg::Key(k), Value::Object(m)) => next.extend(m.get(k)),
                    (Seg::Index(n), Value::Array(a)) => next.extend(a.get(*n)),
                    (Seg::Any, Value::Object(m)) => next.extend(m.values()),
                    (Seg::Any, Value::Array(a)) => next.extend(a.iter()),
                    _ => {}
                }
            }
            cur = next;
        }
        cur
    }
}

// ---------------------------------------------------------------------------------------------------
// Boolean expressions: AWS's precedence is () > && > ||

struct ExprParser<'a, S> {
    toks: &'a [Tok],
    i: usize,
    json: bool,
    subject: fn(&Tok) -> Option<S>,
}

impl<S> ExprParser<'_, S> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i)
    }

    fn or(&mut self, depth: usize) -> Result<Expr<S>, String> {
        let mut parts = vec![self.and(depth)?];
        while matches!(self.peek(), Some(Tok::Or)) {
            self.i += 1;
            parts.push(self.and(depth)?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::Or(parts)
        })
    }

    fn and(&mut self, depth: usize) -> Result<Expr<S>, String> {
        let mut parts = vec![self.unary(depth)?];
        while matches!(self.peek(), Some(Tok::And)) {
            self.i += 1;
            parts.push(self.unary(depth)?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::And(parts)
        })
    }

    fn unary(&mut self, depth: usize) -> Result<Expr<S>, String> {
        if matches!(self.peek(), Some(Tok::LParen)) {
            if depth >= MAX_DEPTH {
                return Err(invalid());
            }
            self.i += 1;
            let e = self.or(depth + 1)?;
            if !matches!(self.peek(), Some(Tok::RParen)) {
                return Err(invalid());
            }
            self.i += 1;
            return Ok(e);
        }
        let subject = self.peek().and_then(self.subject).ok_or_else(invalid)?;
        self.i += 1;
        let check = self.check()?;
        Ok(Expr::Cond(subject, check))
    }

    fn keyword(&mut self, kw: &str) -> bool {
        match self.peek() {
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case(kw) => {
                self.i += 1;
                true
            }
            _ => false,
        }
    }

    fn check(&mut self) -> Result<Check, String> {
        if self.json && self.keyword("IS") {
            // AWS: "The variables IS NOT and EXISTS currently aren't supported."
            return if self.keyword("TRUE") {
                Ok(Check::IsTrue)
            } else if self.keyword("FALSE") {
                Ok(Check::IsFalse)
            } else if self.keyword("NULL") {
                Ok(Check::IsNull)
            } else {
                Err(invalid())
            };
        }
        if self.json && self.keyword("NOT") {
            return if self.keyword("EXISTS") {
                Ok(Check::NotExists)
            } else {
                Err(invalid())
            };
        }
        let op = match self.peek() {
            Some(Tok::Op(op)) => *op,
            _ => return Err(invalid()),
        };
        self.i += 1;
        let relational = !matches!(op, Op::Eq | Op::Ne);
        let operand = match self.peek() {
            Some(Tok::Quoted(s)) if !relational => Operand::Str(StrPat::new(s)),
            Some(Tok::Regex(r)) if !relational => Operand::Regex(r.clone()),
            Some(Tok::Word(w)) if is_number(w) => {
                Operand::Num(w.parse().map_err(|_| invalid())?, w.clone())
            }
            Some(Tok::Word(w)) if !relational => Operand::Str(StrPat::new(w)),
            _ => return Err(invalid()),
        };
        self.i += 1;
        Ok(Check::Cmp(op, operand))
    }
}

impl<S> Expr<S> {
    fn eval(&self, check: &dyn Fn(&S, &Check) -> bool) -> bool {
        match self {
            Expr::Or(parts) => parts.iter().any(|p| p.eval(check)),
            Expr::And(parts) => parts.iter().all(|p| p.eval(check)),
            Expr::Cond(s, c) => check(s, c),
        }
    }

    fn subjects<'a>(&'a self, out: &mut Vec<&'a S>) {
        match self {
            Expr::Or(parts) | Expr::And(parts) => parts.iter().for_each(|p| p.subjects(out)),
            Expr::Cond(s, _) => out.push(s),
        }
    }
}

impl StrPat {
    fn new(s: &str) -> StrPat {
        let any_prefix = s.starts_with('*');
        let rest = if any_prefix { &s[1..] } else { s };
        let any_suffix = rest.ends_with('*');
        let text = if any_suffix {
            &rest[..rest.len() - 1]
        } else {
            rest
        };
        StrPat {
            text: text.to_string(),
            any_prefix,
            any_suffix,
        }
    }

    fn matches(&self, v: &str) -> bool {
        match (self.any_prefix, self.any_suffix) {
            (false, false) => v == self.text,
            (true, false) => v.ends_with(self.text.as_str()),
            (false, true) => v.starts_with(self.text.as_str()),
            (true, true) => v.contains(self.text.as_str()),
        }
    }
}

/// AWS's number grammar: optional sign, integer or decimal, optional exponent. Written out by hand
/// because `f64::from_str` also accepts "inf" and "NaN".
fn is_number(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'+') | Some(b'-')) {
        i += 1;
    }
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut digits = i - int_start;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        let frac_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        digits += i - frac_start;
    }
    if digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if matches!(b.get(i), Some(b'+') | Some(b'-')) {
            i += 1;
        }
        let exp_start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == exp_start {
            return false;
        }
    }
    i == b.len()
}

fn number(s: &str) -> Option<f64> {
    if is_number(s) {
        s.parse().ok()
    } else {
        None
    }
}

/// One comparison against a value's text and (if it is numeric) its number. A numeric literal compares
/// numerically against numeric values (so `1e+3` equals 1000) and textually otherwise.
fn compare(op: Op, operand: &Operand, text: &str, num: Option<f64>) -> bool {
    match operand {
        Operand::Num(x, lit) => match (op, num) {
            (Op::Eq, Some(n)) => n == *x,
            (Op::Ne, Some(n)) => n != *x,
            (Op::Eq, None) => text == lit,
            (Op::Ne, None) => text != lit,
            (Op::Lt, Some(n)) => n < *x,
            (Op::Le, Some(n)) => n <= *x,
            (Op::Gt, Some(n)) => n > *x,
            (Op::Ge, Some(n)) => n >= *x,
            _ => false,
        },
        Operand::Str(p) => match op {
            Op::Eq => p.matches(text),
            Op::Ne => !p.matches(text),
            _ => false,
        },
        Operand::Regex(r) => match op {
            Op::Eq => r.is_match(text),
            Op::Ne => !r.is_match(text),
            _ => false,
        },
    }
}

// ---------------------------------------------------------------------------------------------------
// JSON patterns

fn parse_json(cs: &[char]) -> Result<Expr<Selector>, String> {
    let toks = lex(cs, true)?;
    let mut p = ExprParser {
        toks: &toks,
        i: 0,
        json: true,
        subject: |t| match t {
            Tok::Selector(s) => Some(s.clone()),
            _ => None,
        },
    };
    let e = p.or(0)?;
    if p.i != toks.len() {
        return Err(invalid());
    }
    Ok(e)
}

/// Events that are not JSON never match a JSON pattern.
fn parse_event(message: &str) -> Option<Value> {
    serde_json::from_str(message.trim()).ok()
}

/// AWS: a selector must point at a value node; one pointing at an array or object fails both `=` and
/// `!=` (`{$.users = 1}` and `{$.users != 1}` both fail when users is an array). Null is likewise only
/// reachable through `IS NULL`.
fn scalar(v: &Value) -> Option<(String, Option<f64>)> {
    match v {
        Value::String(s) => Some((s.clone(), number(s))),
        Value::Number(n) => Some((n.to_string(), n.as_f64())),
        Value::Bool(b) => Some((b.to_string(), None)),
        _ => None,
    }
}

fn json_check(sel: &Selector, check: &Check, root: &Value) -> bool {
    let vals = sel.select(root);
    match check {
        Check::NotExists => vals.is_empty(),
        Check::IsNull => vals.iter().any(|v| v.is_null()),
        Check::IsTrue => vals.iter().any(|v| v.as_bool() == Some(true)),
        Check::IsFalse => vals.iter().any(|v| v.as_bool() == Some(false)),
        Check::Cmp(op, operand) => vals
            .iter()
            .any(|v| scalar(v).is_some_and(|(text, num)| compare(*op, operand, &text, num))),
    }
}

// ---------------------------------------------------------------------------------------------------
// Space-delimited patterns

fn parse_delimited(cs: &[char]) -> Result<Delimited, String> {
    let toks = lex(cs, false)?;
    let mut fields = Vec::new();
    for group in toks.split(|t| matches!(t, Tok::Comma)) {
        let field = match group {
            [] => Field::Slot {
                name: None,
                cond: None,
            },
            [Tok::Word(w)] if w == "..." => Field::Ellipsis,
            [Tok::Word(w)] => Field::Slot {
                name: Some(field_name(w)?),
                cond: None,
            },
            _ => {
                let mut p = ExprParser {
                    toks: group,
                    i: 0,
                    json: false,
                    subject: |t| match t {
                        Tok::Word(w) => Some(w.clone()),
                        _ => None,
                    },
                };
                let e = p.or(0)?;
                if p.i != group.len() {
                    return Err(invalid());
                }
                // A condition may only test its own field: AWS rejects the once-documented
                // `[..., status_code = 4* && bytes > 1000]` with "Invalid filter pattern".
                let mut names = Vec::new();
                e.subjects(&mut names);
                let name = field_name(names[0])?;
                if names.iter().any(|n| **n != name) {
                    return Err(invalid());
                }
                Field::Slot {
                    name: Some(name),
                    cond: Some(e),
                }
            }
        };
        fields.push(field);
    }
    if fields.len() == 1 && matches!(fields[0], Field::Slot { name: None, .. }) {
        return Err(invalid());
    }
    Ok(Delimited { fields })
}

fn field_name(w: &str) -> Result<String, String> {
    if w.chars().all(is_word) {
        Ok(w.to_string())
    } else {
        let cs: Vec<char> = w.chars().collect();
        let bad = cs.iter().position(|&c| !is_word(c)).unwrap_or(0);
        Err(invalid_chars(&cs, bad, bad))
    }
}

/// Splits an event into fields. AWS: "Characters between brackets ([]) and double quotation marks ("")
/// are considered single fields"; the brackets and quotes themselves are not part of the value (its
/// example extracts `$timestamp` as `10/Oct/2000:13:25:15 -0700`). Returns each field's value and the
/// byte offset where it starts in the message.
fn split_fields(message: &str) -> Vec<(usize, String)> {
    let b = message.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let close = match b[i] {
            b'"' => Some(b'"'),
            b'[' => Some(b']'),
            _ => None,
        };
        // Offsets only ever land on ASCII bytes, so slicing stays on char boundaries.
        if let Some(close_at) = close.and_then(|c| b[i + 1..].iter().position(|&x| x == c)) {
            let end = i + 1 + close_at;
            out.push((i, message[i + 1..end].to_string()));
            i = end + 1;
        } else {
            let start = i;
            while i < b.len() && !b[i].is_ascii_whitespace() {
                i += 1;
            }
            out.push((start, message[start..i].to_string()));
        }
    }
    out
}

impl Field {
    fn accepts(&self, value: &str) -> bool {
        match self {
            Field::Ellipsis => true,
            Field::Slot { cond: None, .. } => true,
            Field::Slot { cond: Some(e), .. } => {
                let num = number(value);
                e.eval(&|_, check| match check {
                    Check::Cmp(op, operand) => compare(*op, operand, value, num),
                    _ => false,
                })
            }
        }
    }
}

impl Delimited {
    fn capture(&self, message: &str) -> Option<Captured> {
        let tokens = split_fields(message);
        let fields = &self.fields;
        let assigned: Vec<String> = if fields.iter().any(|f| matches!(f, Field::Ellipsis)) {
            self.align(&tokens)?
        } else {
            // Without an ellipsis the last field takes the rest of the event. AWS's `[w1=ERROR, w2]`
            // example matches "ERROR 09/25/2014 12:00:02 Failed to process request", and the guide
            // insists on the trailing `w2` "blank indicator", which only matters if it soaks up the tail.
            if tokens.len() < fields.len() {
                return None;
            }
            let last = fields.len() - 1;
            let mut vals: Vec<String> = tokens[..last].iter().map(|(_, v)| v.clone()).collect();
            vals.push(if tokens.len() == fields.len() {
                tokens[last].1.clone()
            } else {
                message[tokens[last].0..].trim_end().to_string()
            });
            if !fields.iter().zip(&vals).all(|(f, v)| f.accepts(v)) {
                return None;
            }
            vals
        };
        let mut named = Vec::new();
        let mut slots = fields.iter().filter(|f| !matches!(f, Field::Ellipsis));
        for v in assigned {
            if let Some(Field::Slot { name: Some(n), .. }) = slots.next() {
                named.push((n.clone(), v));
            }
        }
        let positional = tokens.into_iter().map(|(_, v)| v).collect();
        Some(Captured::Fields { named, positional })
    }

    /// Places each ellipsis over zero or more event fields so every other pattern field lands on exactly
    /// one event field that satisfies it. `reach[p][t]` says whether pattern fields `p..` can consume
    /// event fields `t..`; ellipses then take as few fields as possible, which makes the extracted values
    /// deterministic. Returns the values assigned to the non-ellipsis fields, in order.
    fn align(&self, tokens: &[(usize, String)]) -> Option<Vec<String>> {
        let fields = &self.fields;
        let (p_len, t_len) = (fields.len(), tokens.len());
        let width = t_len + 1;
        if (p_len + 1).saturating_mul(width) > MAX_TABLE {
            return None;
        }
        let mut reach = vec![false; (p_len + 1) * width];
        reach[p_len * width + t_len] = true;
        for p in (0..p_len).rev() {
            for t in (0..=t_len).rev() {
                reach[p * width + t] = match &fields[p] {
                    Field::Ellipsis => {
                        reach[(p + 1) * width + t] || (t < t_len && reach[p * width + t + 1])
                    }
                    f => t < t_len && reach[(p + 1) * width + t + 1] && f.accepts(&tokens[t].1),
                };
            }
        }
        if !reach[0] {
            return None;
        }
        let (mut p, mut t) = (0, 0);
        let mut out = Vec::new();
        while p < p_len {
            match &fields[p] {
                Field::Ellipsis => {
                    if reach[(p + 1) * width + t] {
                        p += 1;
                    } else {
                        t += 1;
                    }
                }
                _ => {
                    out.push(tokens[t].1.clone());
                    p += 1;
                    t += 1;
                }
            }
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pat(s: &str) -> FilterPattern {
        FilterPattern::parse(s).unwrap_or_else(|e| panic!("{s:?} should parse: {e}"))
    }

    fn err(s: &str) -> String {
        match FilterPattern::parse(s) {
            Ok(p) => panic!("{s:?} should not parse: {p:?}"),
            Err(e) => e,
        }
    }

    /// Asserts which of `events` the pattern matches, by index.
    fn check(pattern: &str, events: &[&str], expected: &[usize]) {
        let p = pat(pattern);
        let got: Vec<usize> = (0..events.len())
            .filter(|&i| p.matches(events[i]))
            .collect();
        assert_eq!(got, expected, "pattern {pattern:?}");
    }

    const BRACKETED: [&str; 4] = [
        "[ERROR 400] BAD REQUEST",
        "[ERROR 401] UNAUTHORIZED REQUEST",
        "[ERROR 419] MISSING ARGUMENTS",
        "[ERROR 420] INVALID ARGUMENTS",
    ];

    #[test]
    fn empty_pattern_matches_everything() {
        for s in ["", "   ", "\t\n"] {
            let p = pat(s);
            assert_eq!(p.kind(), PatternKind::MatchAll);
            assert!(p.matches("") && p.matches("anything"));
        }
    }

    #[test]
    fn unstructured_terms_from_the_guide() {
        check("ERROR", &BRACKETED, &[0, 1, 2, 3]);
        check("ERROR ARGUMENTS", &BRACKETED, &[2, 3]);
        check("?ERROR ?ARGUMENTS", &BRACKETED, &[0, 1, 2, 3]);
        check("ERROR -ARGUMENTS", &BRACKETED, &[0, 1]);
        check(
            "\"INTERNAL SERVER ERROR\"",
            &[
                "[ERROR 500] INTERNAL SERVER ERROR",
                "[ERROR 500] INTERNAL SERVER",
            ],
            &[0],
        );
        check("\" \"", &["[ERROR 400] BAD REQUEST", "x", ""], &[0, 1, 2]);
        check("\"\"", &["[ERROR 400] BAD REQUEST", ""], &[0, 1]);
        // "?" terms are ignored once other terms are present.
        check(
            "?ERROR ?ARGUMENTS REQUEST",
            &[
                "[INFO] REQUEST FAILED",
                "[WARN] UNAUTHORIZED REQUEST",
                "[ERROR] 400 BAD REQUEST",
                "[ERROR 419] MISSING ARGUMENTS",
            ],
            &[0, 1, 2],
        );
        check("?ERROR ?ARGUMENTS", &["nothing here"], &[]);
        check(
            "%AUTHORIZED%",
            &[
                "[ERROR 401] UNAUTHORIZED REQUEST",
                "[SUCCESS 200] AUTHORIZED REQUEST",
                "nope",
            ],
            &[0, 1],
        );
        check("-ERROR", &["[ERROR] x", "fine"], &[1]);
    }

    // The older edition of the guide, which spells out that terms are substrings.
    #[test]
    fn unstructured_terms_from_the_older_guide() {
        let events = [
            "[ERROR] A fatal exception has occurred",
            "Exiting with ERRORCODE: -1",
        ];
        check("ERROR", &events, &[0, 1]);
        check("\"ERROR\" - \"Exiting\"", &events, &[0]);
        check(
            "ERROR Exception",
            &[
                "[ERROR] Caught IllegalArgumentException",
                "[ERROR] Unhandled Exception",
                "[ERROR] other",
            ],
            &[0, 1],
        );
        check(
            "\"Failed to process the request\"",
            &[
                "[WARN] Failed to process the request",
                "[ERROR] Unable to continue: Failed to process the request",
                "Failed to process",
            ],
            &[0, 1],
        );
        let or_events = ["ERROR WARN message", "ERROR message", "WARN message"];
        check("ERROR", &or_events, &[0, 1]);
        check("?ERROR ?WARN", &or_events, &[0, 1, 2]);
        check("ERROR WARN", &or_events, &[0]);
        check("ERROR -WARN", &or_events, &[1]);
    }

    #[test]
    fn terms_are_case_sensitive_and_quoted_phrases_exact() {
        check(
            "ERROR",
            &["ERRORNEOUS PROGRAM", "NotFoundError", "rpc error", "ErRoR"],
            &[0],
        );
        check(
            "\"ERROR][grpc\"",
            &["2025-03-28 [ERROR][grpc] failed", "[ERROR] [grpc]"],
            &[0],
        );
        check(
            "?\"clean up\" ?xyz",
            &[
                "map clean up",
                "xyz",
                "xyz will do clean up",
                "abc xy yz xz",
                "map is cleaned up",
            ],
            &[0, 1, 2],
        );
        check(
            "\"#Cloud\" \"#watch\"",
            &["#Cloud #watch", "#Cloud watch"],
            &[0],
        );
        check(
            "\"say \\\"hi\\\"\"",
            &["they say \"hi\" loudly", "say hi"],
            &[0],
        );
    }

    #[test]
    fn unquoted_punctuation_is_rejected_with_aws_wording() {
        assert_eq!(err("?Status: timeout"), "Invalid character(s) in term ':'");
        assert_eq!(err("#Cloud"), "Invalid character(s) in term '#'");
        assert_eq!(err("Task (timed out)"), "Invalid character(s) in term '('");
        assert_eq!(err("a\\b"), "Invalid character(s) in term '\\'");
        assert_eq!(err("`ERROR`"), "Invalid character(s) in term '`'");
        assert_eq!(err("ERROR \"unterminated"), "Invalid filter pattern");
        assert_eq!(err("ERROR ?"), "Invalid filter pattern");
        assert_eq!(err("%something!%"), "Invalid character(s) in term '!'");
        assert_eq!(err("%(a)%"), "Invalid character(s) in term '('");
        assert_eq!(err("%abc"), "Invalid filter pattern");
    }

    const TRAIL: &str = r#"{"eventType": "UpdateTrail", "sourceIPAddress": "111.111.111.111", "arrayKey": ["value", "another value"], "objectList": [{"name": "a", "id": 1}, {"name": "b", "id": 2}], "SomeObject": null, "ThisFlag": true, "cluster.name": "c"}"#;

    #[test]
    fn json_examples_from_the_guide() {
        for p in [
            r#"{ $.eventType = "UpdateTrail" }"#,
            "{ $.eventType = UpdateTrail }",
            "{ $.sourceIPAddress != 123.123.* }",
            r#"{ $.arrayKey[0] = "value" }"#,
            "{ $.objectList[1].id = 2 }",
            "{ $.SomeObject IS NULL }",
            "{ $.SomeOtherObject NOT EXISTS }",
            "{ $.ThisFlag IS TRUE }",
            "{ $.eventType = %Trail% }",
            "{ $.arrayKey[*] = %val.{2}% }",
            r"{ $.* = %111\.111\.111\.1[0-9]{1,2}% }",
            r#"{ $.['cluster.name'] = "c" }"#,
            r#"{ $.eventType = "*" && $.sourceIPAddress != 123.123.* }"#,
            "{ $.objectList[*].name = b }",
            "{$.eventType=Update*}",
        ] {
            let fp = pat(p);
            assert_eq!(fp.kind(), PatternKind::Json);
            assert!(fp.matches(TRAIL), "{p} should match");
        }
        for p in [
            r#"{ $.eventType = "Update" }"#,
            "{ $.sourceIPAddress != 111.111.* }",
            "{ $.arrayKey[1] = value }",
            "{ $.objectList[1].id = 1 }",
            "{ $.eventType IS NULL }",
            "{ $.SomeObject NOT EXISTS }",
            "{ $.ThisFlag IS FALSE }",
            "{ $.eventType = %^Trail% }",
            "{ $.arrayKey[5] = value }",
            "{ $.objectList = 1 }",
            "{ $.objectList != 1 }",
            "{ $.missing != x }",
            "{ $.eventType = Ev*ent }",
        ] {
            assert!(!pat(p).matches(TRAIL), "{p} should not match");
        }
    }

    #[test]
    fn json_compound_expressions_from_the_guide() {
        let ev = r#"{"user": {"id": 1, "email": "John.Stiles@example.com"}, "users": [{"id": 2, "email": "John.Doe@example.com"}, {"id": 3, "email": "Jane.Doe@example.com"}], "actions": ["GET", "PUT", "DELETE"], "coordinates": [[0, 1, 2], [4, 5, 6], [7, 8, 9]]}"#;
        assert!(
            pat(r#"{ ($.user.id = 1) && ($.users[0].email = "John.Doe@example.com") }"#)
                .matches(ev)
        );
        assert!(pat(r#"{ $.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch" && $.actions[2] = "nonmatch" }"#).matches(ev));
        assert!(!pat(r#"{ ($.user.email = "John.Stiles@example.com" || $.coordinates[0][1] = "nonmatch") && $.actions[2] = "nonmatch" }"#).matches(ev));
        assert!(!pat(
            r#"{ ($.user.id = 2 && $.users[0].email = "nonmatch") || $.actions[2] = "GET" }"#
        )
        .matches(ev));
        assert!(pat("{ $.coordinates[2][0] = 7 }").matches(ev));
        let foo = [r#"{"foo": "bar"}"#, r#"{"foo": "baz"}"#];
        check("{$.foo = bar}", &foo, &[0]);
        check("{$.foo = baz }", &foo, &[1]);
        check("{$.foo = bar || $.foo = baz }", &foo, &[0, 1]);
    }

    #[test]
    fn json_numbers() {
        let ev = r#"{"bandwidth": 80, "latency": 40, "refreshRate": 60, "responseTime": 5, "errorCode": 400, "number": [1000, 0.5], "code": "404", "processes": [0,0,0,0,{"averageRuntime": 55.5}]}"#;
        for p in [
            "{ $.bandwidth > 75 }",
            "{ $.latency < 50 }",
            "{ $.refreshRate >= 60 }",
            "{ $.responseTime <= 5 }",
            "{ $.errorCode = 400}",
            "{ $.errorCode != 500 }",
            "{ $.number[0] = 1e+3 }",
            "{ $.number[0] != 1e-3 }",
            "{ $.number[1] < 10e-1 }",
            "{ $.processes[4].averageRuntime <= 55.5 }",
            "{ $.latency > +10 }",
            "{ $.latency > -1.5e1 }",
            "{ $.errorCode = 4* }",
            "{ $.code = 404 }",
            "{ $.code > 403 }",
        ] {
            assert!(pat(p).matches(ev), "{p}");
        }
        for p in [
            "{ $.bandwidth < 75 }",
            "{ $.errorCode = 500 }",
            "{ $.errorCode != 400 }",
            "{ $.missing > 1 }",
        ] {
            assert!(!pat(p).matches(ev), "{p}");
        }
        // Relational operators need a number.
        assert_eq!(err("{ $.latency > abc }"), "Invalid filter pattern");
        assert_eq!(err("{ $.latency > \"5\" }"), "Invalid filter pattern");
        assert_eq!(err("{ $.latency > 5* }"), "Invalid filter pattern");
    }

    #[test]
    fn json_patterns_never_match_other_events() {
        let p = pat("{ $.a NOT EXISTS }");
        assert!(p.matches("{}"));
        assert!(!p.matches("not json"));
        assert!(!p.matches("[ERROR] {\"a\": 1}"));
        assert!(!p.matches(""));
    }

    #[test]
    fn json_syntax_errors() {
        assert_eq!(
            err(r#"{ $.message = "error-response", $.path = "/authenticate" }"#),
            "Invalid character(s) in term ','"
        );
        assert_eq!(
            err(r#"{ $."sc-status" = 5* }"#),
            "Invalid character(s) in term '$.\"'"
        );
        assert_eq!(
            err("{ $.a = 1"),
            "If a filter pattern starts with '{' it must end with '}'"
        );
        assert_eq!(
            err("{"),
            "If a filter pattern starts with '{' it must end with '}'"
        );
        for bad in [
            "{}",
            "{ }",
            "{ $.a IS NOT NULL }",
            "{ $.a EXISTS }",
            "{ $.a IS MAYBE }",
            "{ $.a == 1 }",
            "{ $.a = }",
            "{ $ = 1 }",
            "{ $.a = 1 && }",
            "{ ($.a = 1 }",
            "{ $.a = 1) }",
            "{ $.a = 1 $.b = 2 }",
            "{ a = 1 }",
            "{ $.a[x] = 1 }",
            "{ $.a[0 = 1 }",
            "{ $.a = %% }",
        ] {
            assert!(FilterPattern::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(err("{ $.a = b@c }"), "Invalid character(s) in term '@'");
        let deep = format!("{{ {}$.a = 1{} }}", "(".repeat(1000), ")".repeat(1000));
        assert_eq!(err(&deep), "Invalid filter pattern");
    }

    #[test]
    fn json_metric_values_and_dimensions() {
        let p = pat("{ $.latency = * }");
        let ev = r#"{"latency": 50, "requestType": "GET", "nested": {"n": "2.5"}, "list": [1, 2]}"#;
        assert_eq!(p.metric_value(ev, "$.latency"), Some(50.0));
        assert_eq!(p.metric_value(ev, "1"), Some(1.0));
        assert_eq!(p.metric_value(ev, " 2.5 "), Some(2.5));
        assert_eq!(p.metric_value(ev, "$.nested.n"), Some(2.5));
        assert_eq!(p.metric_value(ev, "$.requestType"), None);
        assert_eq!(p.metric_value(ev, "$.list"), None);
        assert_eq!(p.metric_value(ev, "$.missing"), None);
        assert_eq!(p.metric_value(r#"{"other": 1}"#, "$.latency"), None);
        assert_eq!(p.metric_value(r#"{"other": 1}"#, "1"), None);
        assert_eq!(p.field(ev, "$.requestType").as_deref(), Some("GET"));
        assert_eq!(p.field(ev, "$.latency").as_deref(), Some("50"));
        assert_eq!(p.field(ev, "$.nested"), None);
        assert_eq!(p.field(ev, "$.list[1]").as_deref(), Some("2"));
        assert_eq!(p.field(ev, "$requestType"), None);

        let dim = pat(r#"{ $.eventType = "*" && $.sourceIPAddress != 123.123.* }"#);
        assert_eq!(
            dim.field(TRAIL, "$.eventType").as_deref(),
            Some("UpdateTrail")
        );
    }

    const APACHE: &str =
        r#"127.0.0.1 Prod frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534"#;

    #[test]
    fn space_delimited_examples_from_the_guide() {
        for p in [
            "[ip, user, username, timestamp, request, status_code, bytes]",
            r"[ip=%127\.0\.0\.[1-9]%, user, username, timestamp, request =*.html*, status_code = 4*, bytes]",
            "[ip, user, username, timestamp, request =*.html*, status_code = 4*, bytes]",
            "[..., request =*.html*, status_code = 4*, bytes]",
            "[ip, user, username, timestamp, request =*.html*, status_code = 404 || status_code = 410, bytes]",
            "[ip, server, username, timestamp, request, status_code, bytes > 1000]",
            "[ip, user, ..., status_code, bytes]",
            "[ip, user, ...]",
            "[..., status_code = 404, bytes]",
            "[ip, user, ..., status = 4*, size > 1000]",
            "[ip, user = Prod, username = \"frank\", ...]",
            "[..., status_code = 4* || status_code = 5*, bytes]",
            "[ip, ..., timestamp = *-0700, ...]",
        ] {
            let fp = pat(p);
            assert_eq!(fp.kind(), PatternKind::SpaceDelimited);
            assert!(fp.matches(APACHE), "{p} should match");
        }
        for p in [
            r"[ip=%127\.0\.0\.[2-9]%, user, username, timestamp, request, status_code, bytes]",
            "[ip, user, username, timestamp, request =*.php*, status_code, bytes]",
            "[ip, user, username, timestamp, request, status_code = 403 || status_code = 410, bytes]",
            "[ip, user, username, timestamp, request, status_code, bytes > 2000]",
            "[ip, user, username, timestamp, request, status_code, bytes, extra]",
            "[..., status_code = 500, bytes]",
            "[ip, user, username, timestamp, request, status_code = 4*, bytes < 1000]",
        ] {
            assert!(!pat(p).matches(APACHE), "{p} should not match");
        }
    }

    #[test]
    fn space_delimited_extraction() {
        let p = pat("[ip, server, username, timestamp, request, status_code, bytes > 1000]");
        let f = |s| p.field(APACHE, s);
        assert_eq!(f("$bytes").as_deref(), Some("1534"));
        assert_eq!(f("$status_code").as_deref(), Some("404"));
        assert_eq!(f("$request").as_deref(), Some("GET /index.html HTTP/1.0"));
        assert_eq!(
            f("$timestamp").as_deref(),
            Some("10/Oct/2000:13:25:15 -0700")
        );
        assert_eq!(f("$username").as_deref(), Some("frank"));
        assert_eq!(f("$server").as_deref(), Some("Prod"));
        assert_eq!(f("$ip").as_deref(), Some("127.0.0.1"));
        assert_eq!(f("$nope"), None);
        assert_eq!(p.metric_value(APACHE, "$bytes"), Some(1534.0));
        assert_eq!(p.metric_value(APACHE, "$request"), None);
        assert_eq!(p.metric_value(APACHE, "$.bytes"), None);

        // The older guide's extraction example: unnamed fields are reported by position.
        let ev =
            r#"127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] "GET /index.html HTTP/1.0" 404 1534"#;
        let p = pat("[..., request=*.html*, status_code=4*,]");
        assert!(p.matches(ev));
        assert_eq!(p.field(ev, "$status_code").as_deref(), Some("404"));
        assert_eq!(
            p.field(ev, "$request").as_deref(),
            Some("GET /index.html HTTP/1.0")
        );
        assert_eq!(p.field(ev, "$7").as_deref(), Some("1534"));
        assert_eq!(
            p.field(ev, "$4").as_deref(),
            Some("10/Oct/2000:13:25:15 -0700")
        );
        assert_eq!(p.field(ev, "$2").as_deref(), Some("-"));
        assert_eq!(p.field(ev, "$1").as_deref(), Some("127.0.0.1"));
        assert_eq!(p.field(ev, "$0"), None);
        assert_eq!(p.field(ev, "$8"), None);
        assert_eq!(p.metric_value(ev, "$7"), Some(1534.0));
    }

    #[test]
    fn space_delimited_word_order_examples() {
        let events = [
            "INFO 09/25/2014 12:00:00 GET /service/resource/67 1200",
            "INFO 09/25/2014 12:00:01 POST /service/resource/67/part/111 1310",
            "WARNING 09/25/2014 12:00:02 Invalid user request",
            "ERROR 09/25/2014 12:00:02 Failed to process request",
        ];
        check("[w1=ERROR, w2]", &events, &[3]);
        check("[w1=ERROR || w1=WARNING, w2]", &events, &[2, 3]);
        check("[w1!=ERROR && w1!=WARNING, w2]", &events, &[0, 1]);
        check(
            "[logLevel, date, time, method, url=%/service/resource/[0-9]+$%, response_time]",
            &events,
            &[0],
        );
        check(
            "[logLevel, date, time, method, url=%/service/resource/[0-9]+/part/[0-9]+$%, response_time]",
            &events,
            &[1],
        );
        // The last field soaks up the rest of the event.
        let p = pat("[w1=ERROR, w2]");
        assert_eq!(
            p.field(events[3], "$w2").as_deref(),
            Some("09/25/2014 12:00:02 Failed to process request")
        );
        // ...which is why AWS insists on the blank `w2`: alone, `w1` would hold the whole line.
        check("[w1=ERROR]", &["ERROR", "ERROR and more", "INFO"], &[0]);
        check("[a, b]", &["one"], &[]);
    }

    #[test]
    fn space_delimited_field_splitting() {
        let ev = r#"  a   "b c"  [d e] f"#;
        let p = pat("[w, x, y, z]");
        assert!(p.matches(ev));
        assert_eq!(p.field(ev, "$x").as_deref(), Some("b c"));
        assert_eq!(p.field(ev, "$y").as_deref(), Some("d e"));
        assert_eq!(p.field(ev, "$z").as_deref(), Some("f"));
        // An unclosed quote is an ordinary field.
        let ev = r#"a "b c"#;
        assert_eq!(pat("[x, y, z]").field(ev, "$y").as_deref(), Some("\"b"));
        check(
            "[a, ..., b, ..., c = 3]",
            &["1 2 3", "1 x 2 y 3", "1 3", "1 2 3 4"],
            &[0, 1],
        );
        check(
            "[..., a = x, ..., b = y, ...]",
            &["x y", "q x q q y q", "y x"],
            &[0, 1],
        );
        check("[...]", &["", "anything at all"], &[0, 1]);
    }

    #[test]
    fn space_delimited_syntax_errors() {
        assert_eq!(
            err("[ip, user, username, timestamp, request, status_code = 4* && bytes > 1000]"),
            "Invalid filter pattern"
        );
        assert_eq!(
            err("[w1=ERROR || W1=WARNING, w2]"),
            "Invalid filter pattern"
        );
        assert_eq!(
            err("[a, b"),
            "If a filter pattern starts with '[' it must end with ']'"
        );
        for bad in [
            "[]",
            "[ ]",
            "[a = ]",
            "[= 1]",
            "[a = 1 2]",
            "[a IS NULL]",
            "[a b]",
            "[a > x]",
            "[....]",
        ] {
            assert!(FilterPattern::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(err("[a, b@c]"), "Invalid character(s) in term '@'");
        assert_eq!(err("[a.b, c]"), "Invalid character(s) in term '.'");
    }

    #[test]
    fn numbers_follow_aws_grammar() {
        for s in ["1", "-1", "+1", "1.5", ".5", "5.", "1e3", "1E+3", "10e-3"] {
            assert!(is_number(s), "{s}");
        }
        for s in [
            "", "-", ".", "e3", "1e", "inf", "NaN", "1.2.3", "0x10", "1_000",
        ] {
            assert!(!is_number(s), "{s}");
        }
    }

    /// A tiny deterministic generator so the test needs no extra crate.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
            xs[(self.next() % xs.len() as u64) as usize]
        }
    }

    #[test]
    fn garbage_never_panics() {
        let pieces = [
            "{", "}", "[", "]", "(", ")", "$", "$.", "$.a", "$.a[0]", "$.*", "[*]", "['x.y']",
            "\"", "\"q s\"", "%", "%a.b*%", "%[a-", "\\", "\\x4", "=", "!=", "<", "<=", ">", ">=",
            "&&", "||", "&", "|", "?", "-", ",", "...", "..", " ", "  ", "\t", "IS", "NOT",
            "EXISTS", "TRUE", "NULL", "1e+3", "-5", "4*", "*", "ERROR", "é", "💥", "{1,", "}",
            "a{2,1}", "\u{0}", "'", "`", "#", ":",
        ];
        let messages = [
            "",
            " ",
            "ERROR x",
            "{\"a\": [1, {\"b\": null}], \"x.y\": \"z\"}",
            "{\"a\": 1",
            "[1, 2, 3]",
            "127.0.0.1 - frank [10/Oct/2000:13:25:15 -0700] \"GET /x HTTP/1.0\" 404 1534",
            "\"unterminated [bracket é 💥",
            "{\"a\":{\"a\":{\"a\":{\"a\":1}}}}",
        ];
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut parsed = 0;
        for _ in 0..20_000 {
            let n = 1 + rng.next() % 8;
            let mut src = String::new();
            if rng.next().is_multiple_of(3) {
                src.push(if rng.next().is_multiple_of(2) {
                    '{'
                } else {
                    '['
                });
            }
            for _ in 0..n {
                src.push_str(rng.pick(&pieces));
            }
            if src.starts_with('{') && rng.next().is_multiple_of(2) {
                src.push('}');
            } else if src.starts_with('[') && rng.next().is_multiple_of(2) {
                src.push(']');
            }
            if let Ok(p) = FilterPattern::parse(&src) {
                parsed += 1;
                for m in messages {
                    let _ = p.matches(m);
                    let _ = p.metric_value(
                        m,
                        rng.pick(&["1", "$.a", "$a", "$1", "$", "$.", "$[0]", "x", "$.a[*]"]),
                    );
                    let _ = p.field(
                        m,
                        rng.pick(&["$.a.b", "$x", "$0", "$99999999999999999999", "$.['x.y']"]),
                    );
                }
            }
        }
        assert!(
            parsed > 100,
            "generator should produce some valid patterns ({parsed})"
        );

        // Raw random characters, including multi-byte ones.
        let alphabet: Vec<char> = "{}[]()$.\"%\\=!<>&|?-,* aZ09_éß💥\t\n'`#:@"
            .chars()
            .collect();
        for _ in 0..20_000 {
            let n = rng.next() % 24;
            let src: String = (0..n)
                .map(|_| alphabet[(rng.next() % alphabet.len() as u64) as usize])
                .collect();
            if let Ok(p) = FilterPattern::parse(&src) {
                for m in messages {
                    let _ = p.matches(m);
                    let _ = p.matches(&src);
                }
            }
        }
    }
}
