//! The grammars of DynamoDB's expressions, producing a raw tree that still holds the
//! `#name`/`:value` placeholders. Only syntax is judged here; DynamoDB reports syntax errors
//! before any semantic one, and the semantic checks (`check`, `update`, `projection`) walk
//! this tree afterwards to reproduce DynamoDB's error precedence.

use super::condition::CmpOp;
use super::lexer::{lex, syntax_error, Tok, Token};
use super::MAX_OPERATORS;

/// Recursion guard: 4 KB of text cannot nest meaningfully deeper than this, and it keeps
/// the parser and every walker over its tree well inside a thread's stack.
const MAX_DEPTH: usize = 200;

const COND_KEYWORDS: &[&str] = &["AND", "OR", "NOT", "BETWEEN", "IN"];
const UPDATE_KEYWORDS: &[&str] = &["SET", "REMOVE", "ADD", "DELETE"];

#[derive(Clone, Debug)]
pub(crate) enum RawElem {
    Ident(String),
    Name(String),
    Index(usize),
}

#[derive(Debug)]
pub(crate) enum Kind {
    Path(Vec<RawElem>),
    Value(String),
    Func(String, Vec<Node>),
    Cmp(CmpOp, Box<Node>, Box<Node>),
    Between(Box<Node>, Box<Node>, Box<Node>),
    In(Box<Node>, Vec<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Not(Box<Node>),
    /// `+` when true, `-` when false (update SET only).
    Arith(bool, Box<Node>, Box<Node>),
}

#[derive(Debug)]
pub(crate) struct Node {
    pub kind: Kind,
    /// The token that decided the node's kind, where a misplaced node is reported.
    pub op_tok: usize,
    /// Index of the first token after the node.
    pub end_tok: usize,
    /// Whether the node was written inside its own parentheses.
    pub paren: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Section {
    Set,
    Remove,
    Add,
    Delete,
}

impl Section {
    pub fn name(self) -> &'static str {
        match self {
            Section::Set => "SET",
            Section::Remove => "REMOVE",
            Section::Add => "ADD",
            Section::Delete => "DELETE",
        }
    }
}

#[derive(Debug)]
pub(crate) enum RawAction {
    Set(Vec<RawElem>, Node),
    Remove(Vec<RawElem>),
    Add(Vec<RawElem>, String),
    Delete(Vec<RawElem>, String),
}

pub(crate) struct Parser<'s> {
    src: &'s str,
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
    keywords: &'static [&'static str],
    pub redundant_parens: bool,
}

impl<'s> Parser<'s> {
    fn new(src: &'s str, keywords: &'static [&'static str]) -> Self {
        Parser { src, toks: lex(src), pos: 0, depth: 0, keywords, redundant_parens: false }
    }

    fn tok(&self) -> &Tok {
        &self.toks[self.pos.min(self.toks.len() - 1)].tok
    }

    fn tok_at(&self, i: usize) -> &Tok {
        &self.toks[i.min(self.toks.len() - 1)].tok
    }

    fn advance(&mut self) {
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
    }

    fn err(&self) -> String {
        self.err_at(self.pos)
    }

    fn err_at(&self, i: usize) -> String {
        syntax_error(self.src, &self.toks, i)
    }

    fn is_sym(&self, s: &str) -> bool {
        matches!(self.tok(), Tok::Sym(t) if *t == s)
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.tok(), Tok::Ident(t) if t.eq_ignore_ascii_case(kw))
    }

    fn is_keyword(&self, s: &str) -> bool {
        self.keywords.iter().any(|k| k.eq_ignore_ascii_case(s))
    }

    fn expect_sym(&mut self, s: &str) -> Result<(), String> {
        if self.is_sym(s) {
            self.advance();
            Ok(())
        } else {
            Err(self.err())
        }
    }

    fn expect_kw(&mut self, kw: &str) -> Result<(), String> {
        if self.is_kw(kw) {
            self.advance();
            Ok(())
        } else {
            Err(self.err())
        }
    }

    fn expect_eof(&self) -> Result<(), String> {
        if *self.tok() == Tok::Eof {
            Ok(())
        } else {
            Err(self.err())
        }
    }

    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err());
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// One path element that may start a path or follow a dot.
    fn path_name(&mut self) -> Result<RawElem, String> {
        let e = match self.tok() {
            Tok::Ident(s) if !self.is_keyword(s) => RawElem::Ident(s.clone()),
            Tok::Name(s) => RawElem::Name(s.clone()),
            _ => return Err(self.err()),
        };
        self.advance();
        Ok(e)
    }

    /// `.name` and `[n]` steps after a path's head.
    fn path_tail(&mut self, elems: &mut Vec<RawElem>) -> Result<(), String> {
        loop {
            if self.is_sym(".") {
                self.advance();
                elems.push(self.path_name()?);
            } else if self.is_sym("[") {
                self.advance();
                let ix = match self.tok() {
                    Tok::Num(d) => d.parse::<usize>().unwrap_or(usize::MAX),
                    _ => return Err(self.err()),
                };
                self.advance();
                self.expect_sym("]")?;
                elems.push(RawElem::Index(ix));
            } else {
                return Ok(());
            }
        }
    }

    fn path(&mut self) -> Result<Vec<RawElem>, String> {
        let mut elems = vec![self.path_name()?];
        self.path_tail(&mut elems)?;
        Ok(elems)
    }

    fn node(&self, kind: Kind, op_tok: usize) -> Node {
        Node { kind, op_tok, end_tok: self.pos, paren: false }
    }

    // ----- condition grammar -----

    fn or_expr(&mut self) -> Result<Node, String> {
        let mut left = self.and_expr()?;
        while self.is_kw("OR") {
            let op = self.pos;
            self.advance();
            let right = self.and_expr()?;
            left = self.node(Kind::Or(Box::new(left), Box::new(right)), op);
        }
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Node, String> {
        let mut left = self.not_expr()?;
        while self.is_kw("AND") {
            let op = self.pos;
            self.advance();
            let right = self.not_expr()?;
            left = self.node(Kind::And(Box::new(left), Box::new(right)), op);
        }
        Ok(left)
    }

    fn not_expr(&mut self) -> Result<Node, String> {
        if self.is_kw("NOT") {
            let op = self.pos;
            self.advance();
            self.enter()?;
            let inner = self.not_expr()?;
            self.leave();
            return Ok(self.node(Kind::Not(Box::new(inner)), op));
        }
        self.cmp_expr()
    }

    fn cmp_expr(&mut self) -> Result<Node, String> {
        let left = self.primary()?;
        let op = self.pos;
        let cmp = match self.tok() {
            Tok::Sym("=") => Some(CmpOp::Eq),
            Tok::Sym("<>") => Some(CmpOp::Ne),
            Tok::Sym("<") => Some(CmpOp::Lt),
            Tok::Sym("<=") => Some(CmpOp::Le),
            Tok::Sym(">") => Some(CmpOp::Gt),
            Tok::Sym(">=") => Some(CmpOp::Ge),
            _ => None,
        };
        if let Some(c) = cmp {
            self.advance();
            let right = self.primary()?;
            return Ok(self.node(Kind::Cmp(c, Box::new(left), Box::new(right)), op));
        }
        if self.is_kw("BETWEEN") {
            self.advance();
            let lo = self.primary()?;
            self.expect_kw("AND")?;
            let hi = self.primary()?;
            return Ok(self.node(Kind::Between(Box::new(left), Box::new(lo), Box::new(hi)), op));
        }
        if self.is_kw("IN") {
            self.advance();
            self.expect_sym("(")?;
            let list = self.cond_args()?;
            self.expect_sym(")")?;
            return Ok(self.node(Kind::In(Box::new(left), list), op));
        }
        Ok(left)
    }

    fn cond_args(&mut self) -> Result<Vec<Node>, String> {
        let mut v = vec![self.primary()?];
        while self.is_sym(",") {
            self.advance();
            v.push(self.primary()?);
        }
        Ok(v)
    }

    fn primary(&mut self) -> Result<Node, String> {
        self.enter()?;
        let start = self.pos;
        let node = match self.tok().clone() {
            Tok::Sym("(") => {
                self.advance();
                let mut inner = self.or_expr()?;
                self.expect_sym(")")?;
                if inner.paren {
                    self.redundant_parens = true;
                }
                inner.paren = true;
                inner.end_tok = self.pos;
                // A parenthesised path may carry on: `(a.b).c`.
                if let Kind::Path(elems) = &mut inner.kind {
                    if self.is_sym(".") || self.is_sym("[") {
                        self.path_tail(elems)?;
                        inner.paren = false;
                        inner.end_tok = self.pos;
                    }
                }
                inner
            }
            Tok::Ident(name) if !self.is_keyword(&name) && *self.tok_at(self.pos + 1) == Tok::Sym("(") => {
                self.advance();
                self.advance();
                let args = self.cond_args()?;
                self.expect_sym(")")?;
                self.node(Kind::Func(name, args), start)
            }
            Tok::Value(v) => {
                self.advance();
                self.node(Kind::Value(v), start)
            }
            _ => {
                let p = self.path()?;
                self.node(Kind::Path(p), start)
            }
        };
        self.leave();
        Ok(node)
    }

    // ----- update grammar -----

    fn sections(&mut self) -> Result<Vec<(Section, Vec<RawAction>)>, String> {
        let mut out = Vec::new();
        loop {
            let sec = if self.is_kw("SET") {
                Section::Set
            } else if self.is_kw("REMOVE") {
                Section::Remove
            } else if self.is_kw("ADD") {
                Section::Add
            } else if self.is_kw("DELETE") {
                Section::Delete
            } else if out.is_empty() {
                return Err(self.err());
            } else {
                self.expect_eof()?;
                return Ok(out);
            };
            self.advance();
            let mut actions = vec![self.action(sec)?];
            while self.is_sym(",") {
                self.advance();
                actions.push(self.action(sec)?);
            }
            out.push((sec, actions));
        }
    }

    fn action(&mut self, sec: Section) -> Result<RawAction, String> {
        let path = self.path()?;
        Ok(match sec {
            Section::Set => {
                self.expect_sym("=")?;
                RawAction::Set(path, self.set_value()?)
            }
            Section::Remove => RawAction::Remove(path),
            Section::Add => RawAction::Add(path, self.value_name()?),
            Section::Delete => RawAction::Delete(path, self.value_name()?),
        })
    }

    fn value_name(&mut self) -> Result<String, String> {
        match self.tok().clone() {
            Tok::Value(v) => {
                self.advance();
                Ok(v)
            }
            _ => Err(self.err()),
        }
    }

    fn set_value(&mut self) -> Result<Node, String> {
        if self.is_sym("(") {
            let open = self.pos;
            self.advance();
            let mut inner = self.set_inner()?;
            self.expect_sym(")")?;
            if !matches!(inner.kind, Kind::Arith(..)) && (self.is_sym("+") || self.is_sym("-")) {
                // It was `(operand) + operand`.
                return self.arith_rest(inner, open);
            }
            inner.end_tok = self.pos;
            return Ok(inner);
        }
        self.set_inner()
    }

    fn set_inner(&mut self) -> Result<Node, String> {
        let start = self.pos;
        let left = self.operand_parens()?;
        if self.is_sym("+") || self.is_sym("-") {
            return self.arith_rest(left, start);
        }
        Ok(left)
    }

    fn arith_rest(&mut self, left: Node, _start: usize) -> Result<Node, String> {
        let op = self.pos;
        let plus = self.is_sym("+");
        self.advance();
        let right = self.operand_parens()?;
        Ok(self.node(Kind::Arith(plus, Box::new(left), Box::new(right)), op))
    }

    fn operand_parens(&mut self) -> Result<Node, String> {
        if self.is_sym("(") {
            self.advance();
            let mut n = self.update_operand()?;
            self.expect_sym(")")?;
            n.end_tok = self.pos;
            return Ok(n);
        }
        self.update_operand()
    }

    fn update_operand(&mut self) -> Result<Node, String> {
        self.enter()?;
        let start = self.pos;
        let node = match self.tok().clone() {
            Tok::Ident(name) if !self.is_keyword(&name) && *self.tok_at(self.pos + 1) == Tok::Sym("(") => {
                self.advance();
                self.advance();
                let mut args = vec![self.operand_parens()?];
                while self.is_sym(",") {
                    self.advance();
                    args.push(self.operand_parens()?);
                }
                self.expect_sym(")")?;
                self.node(Kind::Func(name, args), start)
            }
            Tok::Value(v) => {
                self.advance();
                self.node(Kind::Value(v), start)
            }
            _ => {
                let p = self.path()?;
                self.node(Kind::Path(p), start)
            }
        };
        self.leave();
        Ok(node)
    }

    /// DynamoDB's operator budget, counted on tokens so that an absurd expression is
    /// refused before any recursion.
    fn count_operators(&self) -> usize {
        let mut n = 0usize;
        let mut betweens = 0usize;
        let mut ands = 0usize;
        for (i, t) in self.toks.iter().enumerate() {
            match &t.tok {
                Tok::Sym("=" | "<>" | "<" | "<=" | ">" | ">=" | "+" | "-") => n += 1,
                Tok::Ident(s) => {
                    let up = s.to_ascii_uppercase();
                    match up.as_str() {
                        "BETWEEN" if self.is_keyword(s) => {
                            betweens += 1;
                            n += 1
                        }
                        "AND" if self.is_keyword(s) => ands += 1,
                        "OR" | "NOT" | "IN" if self.is_keyword(s) => n += 1,
                        _ if *self.tok_at(i + 1) == Tok::Sym("(") => n += 1,
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        n + ands.saturating_sub(betweens)
    }

    fn check_operators(&self) -> Result<(), String> {
        let n = self.count_operators();
        if n > MAX_OPERATORS {
            return Err(format!("The expression contains too many operators; operator count: {}", n));
        }
        Ok(())
    }
}

/// A condition's tree; `bool` reports redundant parentheses.
pub(crate) fn parse_condition_tree(src: &str) -> Result<(Node, bool), String> {
    let mut p = Parser::new(src, COND_KEYWORDS);
    p.check_operators()?;
    let node = p.or_expr()?;
    p.expect_eof()?;
    if let Some(i) = need_condition(&node) {
        return Err(p.err_at(i));
    }
    Ok((node, p.redundant_parens))
}

pub(crate) fn parse_update_tree(src: &str) -> Result<Vec<(Section, Vec<RawAction>)>, String> {
    let mut p = Parser::new(src, UPDATE_KEYWORDS);
    p.check_operators()?;
    p.sections()
}

pub(crate) fn parse_projection_tree(src: &str) -> Result<Vec<Vec<RawElem>>, String> {
    let mut p = Parser::new(src, &[]);
    let mut paths = vec![p.path()?];
    while p.is_sym(",") {
        p.advance();
        paths.push(p.path()?);
    }
    p.expect_eof()?;
    Ok(paths)
}

fn min_opt(a: Option<usize>, b: Option<usize>) -> Option<usize> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// The grammar distinguishes conditions from operands; the parser accepts both anywhere
/// and this finds the earliest token where one stands in for the other.
fn need_condition(n: &Node) -> Option<usize> {
    match &n.kind {
        Kind::Path(_) | Kind::Value(_) | Kind::Arith(..) => Some(n.end_tok),
        Kind::Func(_, args) => args.iter().fold(None, |acc, a| min_opt(acc, need_operand(a))),
        Kind::Cmp(_, a, b) => min_opt(need_operand(a), need_operand(b)),
        Kind::Between(a, b, c) => min_opt(min_opt(need_operand(a), need_operand(b)), need_operand(c)),
        Kind::In(a, list) => list.iter().fold(need_operand(a), |acc, x| min_opt(acc, need_operand(x))),
        Kind::And(a, b) | Kind::Or(a, b) => min_opt(need_condition(a), need_condition(b)),
        Kind::Not(a) => need_condition(a),
    }
}

fn need_operand(n: &Node) -> Option<usize> {
    match &n.kind {
        Kind::Path(_) | Kind::Value(_) => None,
        Kind::Func(_, args) => args.iter().fold(None, |acc, a| min_opt(acc, need_operand(a))),
        _ => Some(n.op_tok),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syntax(src: &str) -> String {
        parse_condition_tree(src).map(|_| "ok".to_string()).unwrap_or_else(|e| e)
    }

    #[test]
    fn condition_syntax_errors() {
        // dynalite's catalogue of expressions DynamoDB rejects as syntax errors.
        for e in [
            "things are not gonna be ok",
            "a > 4",
            "attribute_exists(Pictures-RearView)",
            "attribute_exists(\"Pictures.RearView\")",
            "attribute_exists(Pictures..RearView)",
            "attribute_exists(Pi#ctures.RearView)",
            "attribute_exists(asdf[a])",
            "a in b, c",
            "a > between",
            "a in b",
            "a in (b,c,)",
            "(a)between(b.(c.d))and(c)",
            "(a)between(b.c.d)and((c)",
            "#$.b > a",
            "a > :things.stuff",
            "b[:a] > a",
            "b[#_] > a",
            "ü > a",
            "(a)between(b.c[4.5].#d)and(:a)",
            "size(a).b > a",
            "(size(a)).b > a",
            "size(a)[0] > a",
            "(size(a))[0] > a",
            "a",
            "a AND b",
            "a = (b = c)",
            "NOT a",
            "a = b = c",
            "",
            "()",
        ] {
            assert!(syntax(e).starts_with("Syntax error; "), "{} -> {}", e, syntax(e));
        }
        assert_eq!(syntax("a = ="), "Syntax error; token: \"=\", near: \"= =\"");
        assert_eq!(syntax("a-b"), "Syntax error; token: \"-\", near: \"a-b\"");
        assert_eq!(
            syntax("#articleId attribute_not_exists :ckpst"),
            "Syntax error; token: \"attribute_not_exists\", near: \"#articleId attribute_not_exists :ckpst\""
        );
        assert_eq!(syntax("()"), "Syntax error; token: \")\", near: \"()\"");
        assert_eq!(syntax("a AND b"), "Syntax error; token: \"AND\", near: \"a AND b\"");
        assert_eq!(syntax("a"), "Syntax error; token: \"<EOF>\", near: \"a\"");
    }

    #[test]
    fn condition_shapes() {
        for e in [
            "a = b",
            "(a) = (b)",
            "((a = b) AND c = d)",
            "NOT a = b AND c < d OR e >= f",
            "a BETWEEN b AND c AND d <> e",
            "a IN (b, :c, d.e[1])",
            "size(a) > :b",
            "attribute_exists(a.b[3].#c)",
            "(a.b).c = d",
            "NOT NOT a = b",
            "a=a and a > ((views))",
            "contains(a, b)",
            "AnD_x = b",
        ] {
            assert_eq!(syntax(e), "ok", "{}", e);
        }
        assert!(parse_condition_tree("a=a and a > ((views))").unwrap().1);
        assert!(parse_condition_tree("(a)between(((b.c)).d)and(c)").unwrap().1);
        assert!(!parse_condition_tree("((a=a) OR (a=a))").unwrap().1);
    }

    #[test]
    fn precedence() {
        let (n, _) = parse_condition_tree("a = b OR c = d AND NOT e = f").unwrap();
        match n.kind {
            Kind::Or(_, r) => match r.kind {
                Kind::And(_, r2) => assert!(matches!(r2.kind, Kind::Not(_))),
                k => panic!("{:?}", k),
            },
            k => panic!("{:?}", k),
        }
    }

    #[test]
    fn update_syntax() {
        let ok = |s: &str| parse_update_tree(s).map(|_| ()).unwrap_or_else(|e| panic!("{}: {}", s, e));
        ok("SET a = :v");
        ok("set a = b + :v, c = (d - :w) remove x, y[2] ADD n :one DELETE s :set");
        ok("SET a = list_append(if_not_exists(a, :e), :v)");
        ok("SET a = (b) + c");
        ok("SET a = ((b))");
        ok("SET and = :v");
        let err = |s: &str| parse_update_tree(s).unwrap_err();
        assert_eq!(err("INVALID SYNTAX HERE"), "Syntax error; token: \"INVALID\", near: \"INVALID SYNTAX\"");
        assert!(err("SET a = b + c + d").starts_with("Syntax error; token: \"+\""));
        assert!(err("SET a = (((b)))").starts_with("Syntax error"));
        assert!(err("SET set = :v").starts_with("Syntax error"));
        assert!(err("SET a = :v,").starts_with("Syntax error; token: \"<EOF>\""));
        assert!(err("ADD a b").starts_with("Syntax error"));
        assert!(err("REMOVE").starts_with("Syntax error"));
        assert!(err("SET a = list_append(a + b, c)").starts_with("Syntax error"));
        assert!(err("").starts_with("Syntax error"));
    }

    #[test]
    fn projection_syntax() {
        assert_eq!(parse_projection_tree("a, b.c[1], #d").unwrap().len(), 3);
        assert_eq!(parse_projection_tree("!!").unwrap_err(), "Syntax error; token: \"!\", near: \"!!\"");
        assert!(parse_projection_tree("a,").is_err());
        assert!(parse_projection_tree("a b").is_err());
        assert!(parse_projection_tree(":a").is_err());
    }

    #[test]
    fn limits() {
        let many = vec!["a < b"; 301].join(" AND ");
        assert!(parse_condition_tree(&many).unwrap_err().starts_with("The expression contains too many operators; operator count: "));
        let deep = format!("{}a = b{}", "(".repeat(2000), ")".repeat(2000));
        assert!(parse_condition_tree(&deep).unwrap_err().starts_with("Syntax error"));
        let nots = format!("{}a = b", "NOT ".repeat(150));
        assert!(parse_condition_tree(&nots).is_ok());
    }
}
