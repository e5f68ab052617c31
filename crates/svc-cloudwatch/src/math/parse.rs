//! Parser. AWS documents no precedence table, so this uses the conventional one,
//! loosest first: OR or ||, AND or &&, prefix NOT or !, comparisons, `+ -`, `* /`,
//! unary minus, and `^` (right-associative, so -2^2 is -4 as in math).

use super::lex::{lex, syntax, Spanned, Tok};
use super::{MAX_DEPTH, MAX_LENGTH};

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
    Lt,
    Gt,
    Le,
    Ge,
    Eq,
    Ne,
    And,
    Or,
}

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Num(f64),
    Id(String),
    /// Members with the source text that labels them when they are not plain ids.
    Array(Vec<(Node, String)>),
    Neg(Box<Node>),
    Not(Box<Node>),
    Bin(Op, Box<Node>, Box<Node>),
    Call(String, Vec<Arg>),
}

/// Function arguments that are not values: METRICS' filter string and the bare
/// keywords of FILL (REPEAT, LINEAR) and SORT (AVG/MIN/MAX/SUM, ASC/DESC).
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Expr(Node),
    Str(String),
    Word(String),
}

impl Node {
    pub(crate) fn collect_ids(&self, out: &mut Vec<String>) {
        match self {
            Node::Id(id) => {
                if !out.contains(id) {
                    out.push(id.clone());
                }
            }
            Node::Num(_) => {}
            Node::Array(items) => items.iter().for_each(|(n, _)| n.collect_ids(out)),
            Node::Neg(n) | Node::Not(n) => n.collect_ids(out),
            Node::Bin(_, l, r) => {
                l.collect_ids(out);
                r.collect_ids(out);
            }
            Node::Call(_, args) => args.iter().for_each(|a| {
                if let Arg::Expr(n) = a {
                    n.collect_ids(out)
                }
            }),
        }
    }
}

/// Functions AWS offers that need data this emulator does not have.
const UNSUPPORTED: &[&str] = &[
    "SEARCH",
    "ANOMALY_DETECTION_BAND",
    "SERVICE_QUOTA",
    "INSIGHT_RULE_METRIC",
    "LAMBDA",
    "DB_PERF_INSIGHTS",
];

/// (name, min args, max args) of every supported function.
const FUNCS: &[(&str, usize, usize)] = &[
    ("ABS", 1, 1),
    ("AVG", 1, 1),
    ("CEIL", 1, 1),
    ("DATAPOINT_COUNT", 1, 1),
    ("DATE", 1, 1),
    ("DAY", 1, 1),
    ("DIFF", 1, 1),
    ("DIFF_TIME", 1, 1),
    ("EPOCH", 1, 1),
    ("FILL", 2, 2),
    ("FIRST", 1, 1),
    ("FLOOR", 1, 1),
    ("HOUR", 1, 1),
    ("IF", 2, 3),
    ("LAST", 1, 1),
    ("LOG", 1, 1),
    ("LOG10", 1, 1),
    ("MAX", 1, 1),
    ("METRICS", 0, 1),
    ("METRIC_COUNT", 1, 1),
    ("MIN", 1, 1),
    ("MINUTE", 1, 1),
    ("MONTH", 1, 1),
    ("PERIOD", 1, 1),
    ("RATE", 1, 1),
    ("REMOVE_EMPTY", 1, 1),
    ("RUNNING_SUM", 1, 1),
    ("SLICE", 2, 3),
    ("SORT", 3, 4),
    ("SQRT", 1, 1),
    ("STDDEV", 1, 1),
    ("SUM", 1, 1),
    ("TIME_SERIES", 1, 1),
    ("YEAR", 1, 1),
];

const OR: u8 = 1;
const AND: u8 = 2;
const CMP: u8 = 3;
const ADD: u8 = 4;
const MUL: u8 = 5;
const POW: u8 = 6;

pub(crate) const SORT_FUNCS: &[&str] = &["AVG", "MIN", "MAX", "SUM"];

pub(crate) fn parse(src: &str) -> Result<Node, String> {
    let chars: Vec<char> = src.chars().collect();
    if chars.len() > MAX_LENGTH {
        return Err(format!(
            "Expression is {} characters long; the maximum is {MAX_LENGTH}",
            chars.len()
        ));
    }
    if chars.iter().all(|c| c.is_whitespace()) {
        return Err("Expression must not be empty".to_string());
    }
    let toks = lex(&chars)?;
    if matches!(&toks[0].tok, Tok::Word(w) if w.eq_ignore_ascii_case("SELECT")) {
        return Err("Metrics Insights queries (SELECT ...) are not supported".to_string());
    }
    let mut p = Parser {
        toks,
        i: 0,
        depth: 0,
        chars,
    };
    let node = p.expr()?;
    match p.peek() {
        Tok::End => Ok(node),
        t => Err(syntax(p.pos(), &format!("unexpected {}", t.describe()))),
    }
}

struct Parser {
    toks: Vec<Spanned>,
    i: usize,
    depth: usize,
    chars: Vec<char>,
}

impl Parser {
    fn peek(&self) -> &Tok {
        &self.toks[self.i].tok
    }
    fn pos(&self) -> usize {
        self.toks[self.i].pos
    }
    fn next(&mut self) -> Tok {
        let t = self.toks[self.i].tok.clone();
        if self.i + 1 < self.toks.len() {
            self.i += 1;
        }
        t
    }
    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Tok::Word(x) if x == w)
    }
    fn expect(&mut self, t: Tok) -> Result<(), String> {
        if *self.peek() == t {
            self.next();
            Ok(())
        } else {
            Err(syntax(
                self.pos(),
                &format!(
                    "expected {} but found {}",
                    t.describe(),
                    self.peek().describe()
                ),
            ))
        }
    }

    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!(
                "Expression is nested too deeply (more than {MAX_DEPTH} levels)"
            ));
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Node, String> {
        self.nested(0)
    }

    /// Parses an operand one level deeper. Right operands count too: they are what makes
    /// the tree deep (the left spine of a chain like a+b+c is evaluated iteratively), so
    /// the depth limit bounds the evaluator's recursion as well as the parser's.
    fn nested(&mut self, min_prec: u8) -> Result<Node, String> {
        self.enter()?;
        let r = self.binary(min_prec);
        self.depth -= 1;
        r
    }

    /// Precedence climbing, which keeps the number of stack frames per nesting level small.
    fn binary(&mut self, min_prec: u8) -> Result<Node, String> {
        let mut l = self.prefix()?;
        while let Some((op, prec)) = self.infix() {
            if prec < min_prec {
                break;
            }
            self.next();
            // ^ is right-associative; everything else is left-associative.
            let r = self.nested(if op == Op::Pow { prec } else { prec + 1 })?;
            l = Node::Bin(op, Box::new(l), Box::new(r));
        }
        Ok(l)
    }

    fn infix(&self) -> Option<(Op, u8)> {
        Some(match self.peek() {
            Tok::OrOr => (Op::Or, OR),
            Tok::AndAnd => (Op::And, AND),
            Tok::Word(w) if w == "OR" => (Op::Or, OR),
            Tok::Word(w) if w == "AND" => (Op::And, AND),
            Tok::Lt => (Op::Lt, CMP),
            Tok::Gt => (Op::Gt, CMP),
            Tok::Le => (Op::Le, CMP),
            Tok::Ge => (Op::Ge, CMP),
            Tok::EqEq => (Op::Eq, CMP),
            Tok::Ne => (Op::Ne, CMP),
            Tok::Plus => (Op::Add, ADD),
            Tok::Minus => (Op::Sub, ADD),
            Tok::Star => (Op::Mul, MUL),
            Tok::Slash => (Op::Div, MUL),
            Tok::Caret => (Op::Pow, POW),
            _ => return None,
        })
    }

    fn prefix(&mut self) -> Result<Node, String> {
        if self.is_word("NOT") || *self.peek() == Tok::Bang {
            self.next();
            return Ok(Node::Not(Box::new(self.nested(CMP)?)));
        }
        if *self.peek() == Tok::Minus {
            self.next();
            return Ok(match self.nested(POW)? {
                Node::Num(n) => Node::Num(-n),
                n => Node::Neg(Box::new(n)),
            });
        }
        self.primary()
    }

    // primary → call → arg → expr recurse once per nesting level, so their frames are
    // kept lean (debug builds especially): error text is built in separate cold functions.

    fn primary(&mut self) -> Result<Node, String> {
        let pos = self.pos();
        match self.next() {
            Tok::Num(n) => Ok(Node::Num(n)),
            Tok::LParen => {
                let n = self.expr()?;
                self.expect(Tok::RParen)?;
                Ok(n)
            }
            Tok::LBrack => self.array(),
            Tok::Word(w) if *self.peek() == Tok::LParen => self.call(w, pos),
            Tok::Word(w) if w.starts_with(|c: char| c.is_ascii_lowercase()) => Ok(Node::Id(w)),
            t => Err(misplaced(pos, t)),
        }
    }

    fn array(&mut self) -> Result<Node, String> {
        let mut items = Vec::new();
        loop {
            let start = self.toks[self.i].pos - 1;
            let node = self.expr()?;
            let label = self.label(&node, start);
            items.push((node, label));
            let p = self.pos();
            match self.next() {
                Tok::Comma => continue,
                Tok::RBrack => break,
                t => return Err(expected_list_end(p, t)),
            }
        }
        Ok(Node::Array(items))
    }

    /// How an array member is labelled: its id, or else its source text.
    #[inline(never)]
    fn label(&self, node: &Node, start: usize) -> String {
        let end = self.toks[self.i.saturating_sub(1)].end.max(start);
        match node {
            Node::Id(id) => id.clone(),
            _ => self.chars[start..end]
                .iter()
                .collect::<String>()
                .trim()
                .to_string(),
        }
    }

    fn call(&mut self, name: String, pos: usize) -> Result<Node, String> {
        let (min, max) = signature(&name, pos)?;
        self.next(); // (
        let mut args = Vec::new();
        if *self.peek() != Tok::RParen {
            loop {
                args.push(self.arg(&name, args.len())?);
                if *self.peek() == Tok::Comma {
                    self.next();
                } else {
                    break;
                }
            }
        }
        self.expect(Tok::RParen)?;
        if args.len() < min || args.len() > max {
            return Err(arity(&name, min, max, args.len()));
        }
        Ok(Node::Call(name, args))
    }

    fn arg(&mut self, func: &str, idx: usize) -> Result<Arg, String> {
        match self.special_arg(func, idx) {
            Some(r) => r,
            None => Ok(Arg::Expr(self.expr()?)),
        }
    }

    /// Keyword and string positions are fixed per function, so they are recognised here
    /// rather than being values that could leak into arithmetic.
    #[inline(never)]
    fn special_arg(&mut self, func: &str, idx: usize) -> Option<Result<Arg, String>> {
        let pos = self.pos();
        let word = match self.peek() {
            Tok::Word(w)
                if is_keyword(w)
                    && matches!(self.toks[self.i + 1].tok, Tok::Comma | Tok::RParen) =>
            {
                Some(w.clone())
            }
            _ => None,
        };
        match (func, idx) {
            ("METRICS", 0) => Some(match self.next() {
                Tok::Str(s) => Ok(Arg::Str(s)),
                t => Err(syntax(
                    pos,
                    &format!("METRICS expects a string in quotes, found {}", t.describe()),
                )),
            }),
            ("FILL", 1)
                if word
                    .as_deref()
                    .is_some_and(|w| w == "REPEAT" || w == "LINEAR") =>
            {
                self.next();
                Some(Ok(Arg::Word(word.unwrap_or_default())))
            }
            ("SORT", 1) | ("SORT", 2) => {
                let ok: &[&str] = if idx == 1 {
                    SORT_FUNCS
                } else {
                    &["ASC", "DESC"]
                };
                Some(match word {
                    Some(w) if ok.contains(&w.as_str()) => {
                        self.next();
                        Ok(Arg::Word(w))
                    }
                    _ => Err(syntax(
                        pos,
                        &format!("SORT argument {} must be one of {}", idx + 1, ok.join(", ")),
                    )),
                })
            }
            _ => None,
        }
    }
}

/// The (min, max) argument counts of a function, or why it cannot be called.
#[inline(never)]
fn signature(name: &str, pos: usize) -> Result<(usize, usize), String> {
    if let Some(u) = UNSUPPORTED.iter().find(|u| **u == name) {
        return Err(format!("The function {u} is not supported"));
    }
    if let Some(&(_, min, max)) = FUNCS.iter().find(|f| f.0 == name) {
        return Ok((min, max));
    }
    let hint = if FUNCS.iter().any(|f| f.0.eq_ignore_ascii_case(name)) {
        " (function names must be written in uppercase)"
    } else {
        ""
    };
    Err(format!("Unknown function {name} at character {pos}{hint}"))
}

#[cold]
#[inline(never)]
fn arity(name: &str, min: usize, max: usize, got: usize) -> String {
    let want = if min == max {
        format!("{min}")
    } else {
        format!("{min} to {max}")
    };
    format!("{name} takes {want} argument(s), got {got}")
}

#[cold]
#[inline(never)]
fn misplaced(pos: usize, t: Tok) -> String {
    match t {
        Tok::Word(w) if is_keyword(&w) => syntax(pos, &format!("keyword {w} is not allowed here")),
        Tok::Word(w) => syntax(
            pos,
            &format!("'{w}' is not a valid id: ids must start with a lowercase letter"),
        ),
        t => syntax(pos, &format!("unexpected {}", t.describe())),
    }
}

#[cold]
#[inline(never)]
fn expected_list_end(pos: usize, t: Tok) -> String {
    syntax(
        pos,
        &format!("expected ',' or ']' but found {}", t.describe()),
    )
}

fn is_keyword(w: &str) -> bool {
    matches!(
        w,
        "REPEAT" | "LINEAR" | "ASC" | "DESC" | "AND" | "OR" | "NOT"
    ) || SORT_FUNCS.contains(&w)
}
