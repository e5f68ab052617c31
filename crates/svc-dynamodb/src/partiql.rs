//! PartiQL for DynamoDB: SELECT, INSERT, UPDATE and DELETE statements, translated into
//! the expressions and calls the rest of the service already implements, so a statement
//! behaves exactly as the equivalent Scan, PutItem, UpdateItem or DeleteItem.
//!
//! A statement is tokenized, parsed into a small tree, and rendered as expression text
//! with `#nN` names and `:vN` values (literals and `?` parameters alike); an UPDATE or
//! DELETE takes its key from the equalities on the key attributes in its WHERE clause.

use crate::error::{DynamoError, Result};
use crate::number::Number;
use crate::value::{AttrValue, Item};
use std::collections::BTreeMap;

fn malformed<T>(detail: impl std::fmt::Display) -> Result<T> {
    Err(DynamoError::Validation(format!("Statement wasn't well formed, can't be processed: {detail}")))
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    /// A double-quoted identifier: never a keyword.
    Quoted(String),
    Str(String),
    Num(String),
    Param,
    Punct(&'static str),
}

fn tokenize(src: &str) -> Result<Vec<Token>> {
    const PUNCT: [&str; 20] = ["<<", ">>", "<=", ">=", "<>", "!=", "=", "<", ">", ",", ".", "(", ")", "[", "]", "{", "}", ":", "+", "-"];
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' || c == '"' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return malformed("Unterminated quoted text"),
                    Some(&q) if q == c && chars.get(i + 1) == Some(&c) => {
                        s.push(c);
                        i += 2;
                    }
                    Some(&q) if q == c => {
                        i += 1;
                        break;
                    }
                    Some(&other) => {
                        s.push(other);
                        i += 1;
                    }
                }
            }
            out.push(if c == '\'' { Token::Str(s) } else { Token::Quoted(s) });
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.' || chars[i] == 'e' || chars[i] == 'E'
                || ((chars[i] == '+' || chars[i] == '-') && matches!(chars[i - 1], 'e' | 'E')))
            {
                i += 1;
            }
            out.push(Token::Num(chars[start..i].iter().collect()));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push(Token::Ident(chars[start..i].iter().collect()));
        } else if c == '?' {
            out.push(Token::Param);
            i += 1;
        } else if c == '*' {
            out.push(Token::Punct("*"));
            i += 1;
        } else if let Some(p) = PUNCT.iter().find(|p| chars[i..].iter().take(p.len()).copied().eq(p.chars())) {
            out.push(Token::Punct(p));
            i += p.len();
        } else {
            return malformed(format!("Unexpected character: {c}"));
        }
    }
    Ok(out)
}

/// A WHERE clause or SET value, before rendering.
#[derive(Debug, Clone)]
enum Expr {
    Path(Vec<PathPart>),
    Value(AttrValue),
    Func(String, Vec<Expr>),
    Cmp(Box<Expr>, &'static str, Box<Expr>),
    Between(Box<Expr>, Box<Expr>, Box<Expr>),
    In(Box<Expr>, Vec<Expr>),
    Missing(Box<Expr>, bool),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Arith(Box<Expr>, &'static str, Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
enum PathPart {
    Name(String),
    Index(usize),
}

struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    params: &'a [AttrValue],
    next_param: usize,
    /// How deep the recursive descent is: bounded, so no statement exhausts the stack.
    depth: usize,
}

/// Nesting deeper than this (parentheses, maps, lists) is refused.
const MAX_DEPTH: usize = 64;
/// DynamoDB's limit on a statement's length.
const MAX_STATEMENT: usize = 8192;

impl Parser<'_> {
    fn deeper(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return malformed("Statement is nested too deeply");
        }
        Ok(())
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn keyword(&mut self, word: &str) -> bool {
        match self.peek() {
            Some(Token::Ident(w)) if w.eq_ignore_ascii_case(word) => {
                self.pos += 1;
                true
            }
            _ => false,
        }
    }

    fn expect_keyword(&mut self, word: &str) -> Result<()> {
        if self.keyword(word) {
            Ok(())
        } else {
            malformed(format!("Expected keyword {}", word.to_uppercase()))
        }
    }

    fn punct(&mut self, p: &str) -> bool {
        if matches!(self.peek(), Some(Token::Punct(q)) if *q == p) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, p: &str) -> Result<()> {
        if self.punct(p) {
            Ok(())
        } else {
            malformed(format!("Expected {p}"))
        }
    }

    fn name(&mut self) -> Result<String> {
        match self.tokens.get(self.pos).cloned() {
            Some(Token::Ident(s)) | Some(Token::Quoted(s)) => {
                self.pos += 1;
                Ok(s)
            }
            other => malformed(format!("Expected identifier, found {other:?}")),
        }
    }

    fn path(&mut self) -> Result<Vec<PathPart>> {
        let mut parts = vec![PathPart::Name(self.name()?)];
        loop {
            if self.punct(".") {
                parts.push(PathPart::Name(self.name()?));
            } else if self.punct("[") {
                match self.tokens.get(self.pos).cloned() {
                    Some(Token::Num(n)) => {
                        self.pos += 1;
                        parts.push(PathPart::Index(n.parse().map_err(|_| DynamoError::Validation("Statement wasn't well formed, can't be processed: Invalid list index".into()))?));
                    }
                    Some(Token::Str(s)) => {
                        self.pos += 1;
                        parts.push(PathPart::Name(s));
                    }
                    _ => return malformed("Expected list index"),
                }
                self.expect("]")?;
            } else {
                return Ok(parts);
            }
        }
    }

    fn literal(&mut self) -> Result<Option<AttrValue>> {
        self.deeper()?;
        let v = self.literal_inner();
        self.depth -= 1;
        v
    }

    fn literal_inner(&mut self) -> Result<Option<AttrValue>> {
        let v = match self.tokens.get(self.pos).cloned() {
            Some(Token::Str(s)) => AttrValue::S(s),
            Some(Token::Num(n)) => AttrValue::N(Number::parse(&n).map_err(DynamoError::Validation)?),
            Some(Token::Punct("-")) if matches!(self.tokens.get(self.pos + 1), Some(Token::Num(_))) => {
                self.pos += 1;
                let Some(Token::Num(n)) = self.tokens.get(self.pos).cloned() else { unreachable!() };
                AttrValue::N(Number::parse(&format!("-{n}")).map_err(DynamoError::Validation)?)
            }
            Some(Token::Param) => {
                let Some(v) = self.params.get(self.next_param).cloned() else {
                    return Err(DynamoError::Validation("Number of parameters in request and statement don't match.".into()));
                };
                self.next_param += 1;
                v
            }
            Some(Token::Ident(w)) if w.eq_ignore_ascii_case("true") || w.eq_ignore_ascii_case("false") => AttrValue::Bool(w.eq_ignore_ascii_case("true")),
            Some(Token::Ident(w)) if w.eq_ignore_ascii_case("null") => AttrValue::Null,
            Some(Token::Punct("{")) => {
                self.pos += 1;
                let mut m = BTreeMap::new();
                if !self.punct("}") {
                    loop {
                        let key = match self.tokens.get(self.pos).cloned() {
                            Some(Token::Str(s)) | Some(Token::Quoted(s)) | Some(Token::Ident(s)) => s,
                            _ => return malformed("Expected a map key"),
                        };
                        self.pos += 1;
                        self.expect(":")?;
                        let Some(v) = self.literal()? else { return malformed("Expected a value") };
                        m.insert(key, v);
                        if self.punct("}") {
                            break;
                        }
                        self.expect(",")?;
                    }
                }
                return Ok(Some(AttrValue::M(m)));
            }
            Some(Token::Punct("[")) => {
                self.pos += 1;
                let mut l = Vec::new();
                if !self.punct("]") {
                    loop {
                        let Some(v) = self.literal()? else { return malformed("Expected a value") };
                        l.push(v);
                        if self.punct("]") {
                            break;
                        }
                        self.expect(",")?;
                    }
                }
                return Ok(Some(AttrValue::L(l)));
            }
            Some(Token::Punct("<<")) => {
                self.pos += 1;
                let mut members = Vec::new();
                loop {
                    let Some(v) = self.literal()? else { return malformed("Expected a value") };
                    members.push(v);
                    if self.punct(">>") {
                        break;
                    }
                    self.expect(",")?;
                }
                return set(members).map(Some);
            }
            _ => return Ok(None),
        };
        self.pos += 1;
        Ok(Some(v))
    }

    fn operand(&mut self) -> Result<Expr> {
        if let Some(v) = self.literal()? {
            return Ok(Expr::Value(v));
        }
        if self.punct("(") {
            self.deeper()?;
            let e = self.or()?;
            self.depth -= 1;
            self.expect(")")?;
            return Ok(e);
        }
        let is_call = matches!(self.peek(), Some(Token::Ident(_))) && self.tokens.get(self.pos + 1) == Some(&Token::Punct("("));
        if is_call {
            let f = self.name()?.to_ascii_lowercase();
            self.expect("(")?;
            let mut args = Vec::new();
            if !self.punct(")") {
                loop {
                    args.push(self.sum()?);
                    if self.punct(")") {
                        break;
                    }
                    self.expect(",")?;
                }
            }
            return Ok(Expr::Func(f, args));
        }
        Ok(Expr::Path(self.path()?))
    }

    fn sum(&mut self) -> Result<Expr> {
        let mut left = self.operand()?;
        loop {
            let op = if self.punct("+") { "+" } else if self.punct("-") { "-" } else { return Ok(left) };
            left = Expr::Arith(Box::new(left), op, Box::new(self.operand()?));
        }
    }

    fn comparison(&mut self) -> Result<Expr> {
        let left = self.sum()?;
        for (p, op) in [("=", "="), ("<>", "<>"), ("!=", "<>"), ("<=", "<="), (">=", ">="), ("<", "<"), (">", ">")] {
            if self.punct(p) {
                return Ok(Expr::Cmp(Box::new(left), op, Box::new(self.sum()?)));
            }
        }
        if self.keyword("between") {
            let lo = self.sum()?;
            self.expect_keyword("and")?;
            return Ok(Expr::Between(Box::new(left), Box::new(lo), Box::new(self.sum()?)));
        }
        if self.keyword("in") {
            let close = if self.punct("[") { "]" } else { self.expect("(")?; ")" };
            let mut items = Vec::new();
            loop {
                items.push(self.sum()?);
                if self.punct(close) {
                    break;
                }
                self.expect(",")?;
            }
            return Ok(Expr::In(Box::new(left), items));
        }
        if self.keyword("is") {
            let negated = self.keyword("not");
            if self.keyword("missing") {
                return Ok(Expr::Missing(Box::new(left), !negated));
            }
            if self.keyword("null") {
                let null = Expr::Cmp(Box::new(left), "=", Box::new(Expr::Value(AttrValue::Null)));
                return Ok(if negated { Expr::Not(Box::new(null)) } else { null });
            }
            return malformed("Expected MISSING or NULL");
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr> {
        if self.keyword("not") {
            self.deeper()?;
            let inner = self.not()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        self.comparison()
    }

    fn and(&mut self) -> Result<Expr> {
        let mut left = self.not()?;
        while self.keyword("and") {
            left = Expr::And(Box::new(left), Box::new(self.not()?));
        }
        Ok(left)
    }

    fn or(&mut self) -> Result<Expr> {
        let mut left = self.and()?;
        while self.keyword("or") {
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn done(&self) -> Result<()> {
        match self.peek() {
            None => Ok(()),
            Some(t) => malformed(format!("Unexpected token {t:?}")),
        }
    }
}

fn set(members: Vec<AttrValue>) -> Result<AttrValue> {
    match members.first() {
        Some(AttrValue::S(_)) => members.into_iter().map(|m| if let AttrValue::S(s) = m { Ok(s) } else { malformed("Set members must have one type") }).collect::<Result<_>>().map(AttrValue::SS),
        Some(AttrValue::N(_)) => members.into_iter().map(|m| if let AttrValue::N(n) = m { Ok(n) } else { malformed("Set members must have one type") }).collect::<Result<_>>().map(AttrValue::NS),
        Some(AttrValue::B(_)) => members.into_iter().map(|m| if let AttrValue::B(b) = m { Ok(b) } else { malformed("Set members must have one type") }).collect::<Result<_>>().map(AttrValue::BS),
        _ => malformed("Sets hold strings, numbers or binaries"),
    }
}

/// Expression text with its substitutions, as the expression parser takes them.
#[derive(Default, Debug)]
pub struct Rendered {
    pub names: BTreeMap<String, String>,
    pub values: BTreeMap<String, AttrValue>,
}

impl Rendered {
    fn name(&mut self, n: &str) -> String {
        if let Some((k, _)) = self.names.iter().find(|(_, v)| *v == n) {
            return k.clone();
        }
        let k = format!("#n{}", self.names.len());
        self.names.insert(k.clone(), n.to_string());
        k
    }

    fn value(&mut self, v: AttrValue) -> String {
        let k = format!(":v{}", self.values.len());
        self.values.insert(k.clone(), v);
        k
    }

    fn path(&mut self, p: &[PathPart]) -> String {
        let mut out = String::new();
        for part in p {
            match part {
                PathPart::Name(n) => {
                    if !out.is_empty() {
                        out.push('.');
                    }
                    out += &self.name(n);
                }
                PathPart::Index(i) => out += &format!("[{i}]"),
            }
        }
        out
    }

    fn expr(&mut self, e: &Expr) -> Result<String> {
        Ok(match e {
            Expr::Path(p) => self.path(p),
            Expr::Value(v) => self.value(v.clone()),
            Expr::Func(f, args) => {
                let f = match f.as_str() {
                    "begins_with" | "contains" | "attribute_type" | "size" | "list_append" | "if_not_exists" => f.clone(),
                    "exists" | "attribute_exists" => "attribute_exists".into(),
                    other => return malformed(format!("Unsupported function: {other}")),
                };
                let args = args.iter().map(|a| self.expr(a)).collect::<Result<Vec<_>>>()?;
                format!("{f}({})", args.join(", "))
            }
            Expr::Cmp(a, op, b) => format!("{} {op} {}", self.expr(a)?, self.expr(b)?),
            Expr::Between(a, lo, hi) => format!("{} BETWEEN {} AND {}", self.expr(a)?, self.expr(lo)?, self.expr(hi)?),
            Expr::In(a, items) => {
                let a = self.expr(a)?;
                let items = items.iter().map(|i| self.expr(i)).collect::<Result<Vec<_>>>()?;
                format!("{a} IN ({})", items.join(", "))
            }
            Expr::Missing(a, missing) => format!("{}({})", if *missing { "attribute_not_exists" } else { "attribute_exists" }, self.expr(a)?),
            Expr::Not(a) => format!("NOT ({})", self.expr(a)?),
            Expr::And(a, b) => format!("({}) AND ({})", self.expr(a)?, self.expr(b)?),
            Expr::Or(a, b) => format!("({}) OR ({})", self.expr(a)?, self.expr(b)?),
            Expr::Arith(a, op, b) => format!("{} {op} {}", self.expr(a)?, self.expr(b)?),
        })
    }
}

/// A parsed statement, ready to run as the operation it amounts to.
#[derive(Debug)]
pub enum Statement {
    /// A SELECT is planned against the key schema it reads ([`Select::plan`]).
    Select(Select),
    Insert { table: String, item: Item },
    Update { table: String, key_where: Vec<(String, AttrValue)>, update: String, condition: Option<String>, subs: Rendered, returning: Option<String> },
    Delete { table: String, key_where: Vec<(String, AttrValue)>, condition: Option<String>, subs: Rendered, returning: Option<String> },
}

pub fn parse(src: &str, params: &[AttrValue]) -> Result<Statement> {
    if src.len() > MAX_STATEMENT {
        return Err(DynamoError::Validation(format!(
            "1 validation error detected: Value at 'statement' failed to satisfy constraint: Member must have length less than or equal to {MAX_STATEMENT}"
        )));
    }
    let mut p = Parser { tokens: tokenize(src)?, pos: 0, params, next_param: 0, depth: 0 };
    let statement = if p.keyword("select") {
        select(&mut p)?
    } else if p.keyword("insert") {
        p.expect_keyword("into")?;
        let table = p.name()?;
        p.expect_keyword("value")?;
        match p.literal()? {
            Some(AttrValue::M(item)) => Statement::Insert { table, item },
            _ => return malformed("INSERT takes a map: VALUE {'key': value, ...}"),
        }
    } else if p.keyword("update") {
        update(&mut p)?
    } else if p.keyword("delete") {
        p.expect_keyword("from")?;
        let table = p.name()?;
        p.expect_keyword("where")?;
        let w = p.or()?;
        let returning = returning(&mut p)?;
        let (key_where, rest) = split_where(w);
        let mut subs = Rendered::default();
        let condition = rest.map(|r| subs.expr(&r)).transpose()?;
        Statement::Delete { table, key_where, condition, subs, returning }
    } else {
        return malformed("Expected SELECT, INSERT, UPDATE or DELETE");
    };
    p.done()?;
    if p.next_param != params.len() {
        return Err(DynamoError::Validation("Number of parameters in request and statement don't match.".into()));
    }
    Ok(statement)
}

fn select(p: &mut Parser) -> Result<Statement> {
    let paths = if p.punct("*") {
        None
    } else {
        let mut paths = vec![p.path()?];
        while p.punct(",") {
            paths.push(p.path()?);
        }
        Some(paths)
    };
    p.expect_keyword("from")?;
    let table = p.name()?;
    let index = if p.punct(".") { Some(p.name()?) } else { None };
    let filter = if p.keyword("where") { Some(p.or()?) } else { None };
    Ok(Statement::Select(Select { table, index, paths, filter }))
}

#[derive(Debug)]
pub struct Select {
    pub table: String,
    pub index: Option<String>,
    paths: Option<Vec<Vec<PathPart>>>,
    filter: Option<Expr>,
}

/// A SELECT as the read it amounts to: a Query when the WHERE clause fixes the
/// partition key by equality (then `key_condition` is set), a Scan otherwise.
#[derive(Debug, Default)]
pub struct SelectPlan {
    pub key_condition: Option<String>,
    /// The key attributes fixed by equality, and their values.
    pub key: Vec<(String, AttrValue)>,
    pub filter: Option<String>,
    pub projection: Option<String>,
    pub subs: Rendered,
}

impl Select {
    pub fn plan(&self, hash: &str, range: Option<&str>) -> Result<SelectPlan> {
        let mut plan = SelectPlan::default();
        plan.projection = self.paths.as_ref().map(|paths| paths.iter().map(|p| plan.subs.path(p)).collect::<Vec<_>>().join(", "));
        let Some(filter) = self.filter.clone() else { return Ok(plan) };
        let mut conjuncts = Vec::new();
        flatten(filter.clone(), &mut conjuncts);
        // The key condition: the partition key's equality, and one condition on the sort key.
        let mut key = Vec::new();
        let mut sort = None;
        let mut others = Vec::new();
        for c in conjuncts {
            match key_equality(&c) {
                Some((n, v)) if (n == hash || Some(n) == range) && !key.iter().any(|(k, _)| *k == n) => key.push((n.to_string(), v.clone())),
                _ if sort.is_none() && range.is_some_and(|r| sort_condition(&c, r)) && !key.iter().any(|(k, _)| Some(k.as_str()) == range) => sort = Some(c),
                _ => others.push(c),
            }
        }
        let touches_key = |e: &Expr| mentions(e, hash) || range.is_some_and(|r| mentions(e, r));
        if !key.iter().any(|(k, _)| k == hash) || others.iter().any(touches_key) {
            // Not a key lookup: the whole clause filters a Scan.
            plan.filter = Some(plan.subs.expr(&filter)?);
            return Ok(plan);
        }
        let mut parts = Vec::new();
        for (n, v) in &key {
            parts.push(format!("{} = {}", plan.subs.name(n), plan.subs.value(v.clone())));
        }
        if let Some(c) = &sort {
            parts.push(plan.subs.expr(c)?);
        }
        plan.key = key;
        plan.key_condition = Some(parts.join(" AND "));
        let rendered = others.iter().map(|o| plan.subs.expr(o).map(|r| format!("({r})"))).collect::<Result<Vec<_>>>()?;
        plan.filter = (!rendered.is_empty()).then(|| rendered.join(" AND "));
        Ok(plan)
    }
}

fn flatten(e: Expr, out: &mut Vec<Expr>) {
    match e {
        Expr::And(a, b) => {
            flatten(*a, out);
            flatten(*b, out);
        }
        other => out.push(other),
    }
}

/// `attribute = value` on a top-level attribute.
fn key_equality(e: &Expr) -> Option<(&str, &AttrValue)> {
    match e {
        Expr::Cmp(a, "=", b) => match (&**a, &**b) {
            (Expr::Path(p), Expr::Value(v)) | (Expr::Value(v), Expr::Path(p)) => match p.as_slice() {
                [PathPart::Name(n)] => Some((n.as_str(), v)),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

/// A condition a Query can put on its sort key: a comparison, BETWEEN or begins_with.
fn sort_condition(e: &Expr, sort: &str) -> bool {
    let is_key = |x: &Expr| matches!(x, Expr::Path(p) if p.as_slice() == [PathPart::Name(sort.to_string())]);
    let is_value = |x: &Expr| matches!(x, Expr::Value(_));
    match e {
        Expr::Cmp(a, op, b) => *op != "<>" && is_key(a) && is_value(b),
        Expr::Between(a, lo, hi) => is_key(a) && is_value(lo) && is_value(hi),
        Expr::Func(f, args) => f == "begins_with" && args.len() == 2 && is_key(&args[0]) && is_value(&args[1]),
        _ => false,
    }
}

/// Whether an expression refers to a top-level attribute.
fn mentions(e: &Expr, name: &str) -> bool {
    match e {
        Expr::Path(p) => matches!(p.first(), Some(PathPart::Name(n)) if n == name),
        Expr::Value(_) => false,
        Expr::Func(_, args) | Expr::In(_, args) if args.iter().any(|a| mentions(a, name)) => true,
        Expr::Func(_, _) => false,
        Expr::In(a, _) | Expr::Missing(a, _) | Expr::Not(a) => mentions(a, name),
        Expr::Cmp(a, _, b) | Expr::And(a, b) | Expr::Or(a, b) | Expr::Arith(a, _, b) => mentions(a, name) || mentions(b, name),
        Expr::Between(a, b, c) => mentions(a, name) || mentions(b, name) || mentions(c, name),
    }
}


fn update(p: &mut Parser) -> Result<Statement> {
    let table = p.name()?;
    let mut subs = Rendered::default();
    let (mut set, mut remove, mut add, mut delete) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    loop {
        if p.keyword("set") {
            loop {
                let path = p.path()?;
                p.expect("=")?;
                let value = p.sum()?;
                let target = subs.path(&path);
                match &value {
                    Expr::Func(f, args) if f == "set_add" || f == "set_delete" => {
                        let [_, arg] = args.as_slice() else { return malformed(format!("{f} takes two arguments")) };
                        let rendered = subs.expr(arg)?;
                        if f == "set_add" { add.push(format!("{target} {rendered}")) } else { delete.push(format!("{target} {rendered}")) }
                    }
                    _ => {
                        let rendered = subs.expr(&value)?;
                        set.push(format!("{target} = {rendered}"));
                    }
                }
                if !p.punct(",") {
                    break;
                }
            }
        } else if p.keyword("remove") {
            let path = p.path()?;
            remove.push(subs.path(&path));
        } else {
            break;
        }
    }
    if set.is_empty() && remove.is_empty() && add.is_empty() && delete.is_empty() {
        return malformed("UPDATE needs a SET or REMOVE clause");
    }
    p.expect_keyword("where")?;
    let w = p.or()?;
    let returning = returning(p)?;
    let (key_where, rest) = split_where(w);
    let mut update = String::new();
    for (clause, parts) in [("SET", &set), ("REMOVE", &remove), ("ADD", &add), ("DELETE", &delete)] {
        if !parts.is_empty() {
            update += &format!("{clause} {} ", parts.join(", "));
        }
    }
    let condition = rest.map(|r| subs.expr(&r)).transpose()?;
    Ok(Statement::Update { table, key_where, update: update.trim_end().to_string(), condition, subs, returning })
}

/// `RETURNING ALL OLD *` and friends, as the ReturnValues they mean.
fn returning(p: &mut Parser) -> Result<Option<String>> {
    if !p.keyword("returning") {
        return Ok(None);
    }
    let scope = if p.keyword("all") { "ALL" } else if p.keyword("modified") { "UPDATED" } else { return malformed("Expected ALL or MODIFIED") };
    let age = if p.keyword("old") { "OLD" } else if p.keyword("new") { "NEW" } else { return malformed("Expected OLD or NEW") };
    p.expect("*")?;
    Ok(Some(format!("{scope}_{age}")))
}

/// Splits a WHERE clause into its top-level equalities between a top-level attribute and
/// a value (candidates for the key) and the rest.
fn split_where(e: Expr) -> (Vec<(String, AttrValue)>, Option<Expr>) {
    let mut conjuncts = Vec::new();
    flatten(e, &mut conjuncts);
    let mut keys = Vec::new();
    let mut rest: Option<Expr> = None;
    for c in conjuncts {
        match key_equality(&c) {
            Some((n, v)) => keys.push((n.to_string(), v.clone())),
            None => {
                rest = Some(match rest {
                    None => c,
                    Some(r) => Expr::And(Box::new(r), Box::new(c)),
                })
            }
        }
    }
    (keys, rest)
}

impl Statement {
    pub fn table(&self) -> &str {
        match self {
            Statement::Select(Select { table, .. }) | Statement::Insert { table, .. } | Statement::Update { table, .. } | Statement::Delete { table, .. } => table,
        }
    }
}

/// The key an UPDATE or DELETE names, and the equalities on other attributes that become
/// part of its condition.
pub fn key_and_rest(table: &crate::schema::TableRecord, key_where: &[(String, AttrValue)], subs: &mut Rendered) -> Result<(Item, Vec<String>)> {
    let mut key = Item::new();
    let mut rest = Vec::new();
    for (n, v) in key_where {
        if table.key.names().any(|k| k == n) && !key.contains_key(n) {
            key.insert(n.clone(), v.clone());
        } else {
            let name = subs.name(n);
            let value = subs.value(v.clone());
            rest.push(format!("{name} = {value}"));
        }
    }
    if key.len() != table.key.names().count() {
        return Err(DynamoError::Validation("Where clause does not contain a mandatory equality on all key attributes".into()));
    }
    Ok((key, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn select_renders_projection_and_filter() {
        let s = parse(r#"SELECT name, address.city FROM "Employees"."by-dept" WHERE dept = 'eng' AND age >= ? AND nick IS MISSING"#, &[AttrValue::N(Number::parse("30").unwrap())]).unwrap();
        let Statement::Select(select) = s else { panic!() };
        assert_eq!((select.table.as_str(), select.index.as_deref()), ("Employees", Some("by-dept")));
        let scan = select.plan("id", None).unwrap();
        assert_eq!(scan.projection.as_deref(), Some("#n0, #n1.#n2"));
        assert_eq!(scan.key_condition, None);
        assert_eq!(scan.filter.as_deref(), Some("((#n3 = :v0) AND (#n4 >= :v1)) AND (attribute_not_exists(#n5))"));
        let query = select.plan("dept", Some("age")).unwrap();
        assert_eq!(query.key_condition.as_deref(), Some("#n3 = :v0 AND #n4 >= :v1"));
        assert_eq!(query.filter.as_deref(), Some("(attribute_not_exists(#n5))"));
        // A condition on a key attribute that a Query cannot take makes it a Scan.
        let Statement::Select(odd) = parse("SELECT * FROM t WHERE dept = 'x' AND dept <> 'y'", &[]).unwrap() else { panic!() };
        assert_eq!(odd.plan("dept", None).unwrap().key_condition, None);
        assert_eq!(query.subs.values[":v1"], AttrValue::N(Number::parse("30").unwrap()));
    }

    #[test]
    fn insert_takes_a_map_of_literals() {
        let s = parse("INSERT INTO t VALUE {'id': 'a', 'n': -1.5, 'ok': true, 'tags': <<'x','y'>>, 'l': [1, null]}", &[]).unwrap();
        let Statement::Insert { item, .. } = s else { panic!() };
        assert_eq!(item["tags"], AttrValue::SS(vec!["x".into(), "y".into()]));
        assert_eq!(item["n"], AttrValue::N(Number::parse("-1.5").unwrap()));
    }

    #[test]
    fn update_splits_key_from_condition() {
        let s = parse("UPDATE t SET a = a + 1, s = set_add(s, <<'z'>>) REMOVE b WHERE id = 'k' AND a < 10 RETURNING ALL NEW *", &[]).unwrap();
        let Statement::Update { key_where, update, condition, returning, .. } = s else { panic!() };
        assert_eq!(key_where.len(), 1);
        assert_eq!(update, "SET #n0 = #n0 + :v0 REMOVE #n2 ADD #n1 :v1");
        assert_eq!(condition.as_deref(), Some("#n0 < :v2"));
        assert_eq!(returning.as_deref(), Some("ALL_NEW"));
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        for deep in ["(".repeat(5000), format!("SELECT * FROM t WHERE {}a = 1", "(".repeat(3000)), format!("INSERT INTO t VALUE {}", "[".repeat(3000)),
                     format!("SELECT * FROM t WHERE {}a = 1", "NOT ".repeat(1500))] {
            assert!(parse(&deep, &[]).is_err());
        }
    }

    #[test]
    fn garbage_is_refused_not_panicked_on() {
        for s in ["", "SELECT", "SELECT * FROM", "INSERT INTO t VALUE 1", "UPDATE t WHERE", "DELETE FROM t", "SELECT * FROM t WHERE a IN (", "'open", "SELECT * FROM t WHERE a = ?"] {
            assert!(parse(s, &[]).is_err(), "{s}");
        }
    }
}
