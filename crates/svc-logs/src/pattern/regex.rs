//! The regular-expression dialect CloudWatch Logs accepts between `%` signs.
//!
//! AWS documents a deliberately small dialect: ASCII only, no groups, a fixed set of symbol characters.
//! That makes a Thompson-NFA ("Pike VM") simulation enough, and it keeps matching linear in the message
//! length: filter patterns run against every ingested event, so a backtracking engine would let one
//! pathological pattern stall the emulator.

use super::{invalid, invalid_chars};

/// Counted repetition and nesting are expanded into instructions; this bounds the expansion so that a
/// pattern like `%a{1000}{1000}%` is rejected instead of exhausting memory.
const MAX_PROGRAM: usize = 20_000;
const MAX_REPEAT: u32 = 1_000;

#[derive(Debug, Clone)]
pub(crate) struct Regex {
    prog: Vec<Inst>,
}

#[derive(Debug, Clone)]
enum Inst {
    Char(Matcher),
    Split(usize, usize),
    Jmp(usize),
    Bol,
    Eol,
    Match,
}

#[derive(Debug, Clone)]
enum Matcher {
    Any,
    Lit(char),
    Class {
        negated: bool,
        items: Vec<ClassItem>,
    },
}

#[derive(Debug, Clone)]
enum ClassItem {
    Range(char, char),
    Perl(Perl, bool),
}

#[derive(Debug, Clone, Copy)]
enum Perl {
    Digit,
    Space,
    Word,
}

#[derive(Debug)]
enum Node {
    Atom(Matcher),
    Bol,
    Eol,
    Seq(Vec<Node>),
    Alt(Vec<Node>),
    Repeat(Box<Node>, u32, Option<u32>),
}

impl Perl {
    fn matches(self, c: char) -> bool {
        match self {
            Perl::Digit => c.is_ascii_digit(),
            // AWS lists tab, space and newline; the other ASCII whitespace is included for parity with
            // every mainstream engine.
            Perl::Space => c.is_ascii_whitespace() || c == '\x0b',
            Perl::Word => c.is_ascii_alphanumeric() || c == '_',
        }
    }
}

impl Matcher {
    fn matches(&self, c: char) -> bool {
        match self {
            Matcher::Any => c != '\n',
            Matcher::Lit(l) => *l == c,
            Matcher::Class { negated, items } => {
                let hit = items.iter().any(|it| match it {
                    ClassItem::Range(a, b) => *a <= c && c <= *b,
                    ClassItem::Perl(p, neg) => p.matches(c) != *neg,
                });
                hit != *negated
            }
        }
    }
}

/// AWS's list of what may appear inside `%...%`: alphanumerics, a few symbols, the operators, and space
/// (its own example `%^starting|^initializing|^shutting down%` contains one).
fn allowed(c: char) -> bool {
    c.is_ascii_alphanumeric() || ":_#=@/;,- ^$?[]{}|\\*+.".contains(c)
}

impl Regex {
    /// `src` is the text between the `%` signs.
    pub(crate) fn parse(src: &[char]) -> Result<Regex, String> {
        if src.is_empty() {
            return Err(invalid());
        }
        for (i, &c) in src.iter().enumerate() {
            if !allowed(c) {
                return Err(invalid_chars(src, i, i));
            }
        }
        let mut p = Parser { s: src, i: 0 };
        let node = p.alternation()?;
        if p.i != src.len() {
            return Err(invalid());
        }
        let mut prog = Vec::new();
        emit(&node, &mut prog)?;
        prog.push(Inst::Match);
        Ok(Regex { prog })
    }

    /// Unanchored search: `%AUTHORIZED%` matches "UNAUTHORIZED REQUEST", as AWS's own example shows.
    pub(crate) fn is_match(&self, text: &str) -> bool {
        let chars: Vec<char> = text.chars().collect();
        let len = chars.len();
        let mut clist = Threads::new(self.prog.len());
        let mut nlist = Threads::new(self.prog.len());
        let mut stack = Vec::new();
        for pos in 0..=len {
            if self.add(&mut clist, 0, pos, len, &mut stack) {
                return true;
            }
            let Some(&c) = chars.get(pos) else { break };
            nlist.clear();
            for k in 0..clist.dense.len() {
                let pc = clist.dense[k];
                if let Inst::Char(m) = &self.prog[pc] {
                    if m.matches(c) && self.add(&mut nlist, pc + 1, pos + 1, len, &mut stack) {
                        return true;
                    }
                }
            }
            std::mem::swap(&mut clist, &mut nlist);
        }
        false
    }

    /// Follows the zero-width instructions from `pc`; returns whether `Match` is reachable.
    fn add(
        &self,
        list: &mut Threads,
        pc: usize,
        pos: usize,
        len: usize,
        stack: &mut Vec<usize>,
    ) -> bool {
        stack.clear();
        stack.push(pc);
        while let Some(pc) = stack.pop() {
            if !list.insert(pc) {
                continue;
            }
            match &self.prog[pc] {
                Inst::Jmp(x) => stack.push(*x),
                Inst::Split(a, b) => {
                    stack.push(*b);
                    stack.push(*a);
                }
                Inst::Bol => {
                    if pos == 0 {
                        stack.push(pc + 1)
                    }
                }
                Inst::Eol => {
                    if pos == len {
                        stack.push(pc + 1)
                    }
                }
                Inst::Match => return true,
                Inst::Char(_) => {}
            }
        }
        false
    }
}

struct Threads {
    dense: Vec<usize>,
    seen: Vec<bool>,
}

impl Threads {
    fn new(n: usize) -> Threads {
        Threads {
            dense: Vec::with_capacity(n),
            seen: vec![false; n],
        }
    }
    fn insert(&mut self, pc: usize) -> bool {
        if self.seen[pc] {
            return false;
        }
        self.seen[pc] = true;
        self.dense.push(pc);
        true
    }
    fn clear(&mut self) {
        for &pc in &self.dense {
            self.seen[pc] = false;
        }
        self.dense.clear();
    }
}

struct Parser<'a> {
    s: &'a [char],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    /// Without parentheses every `|` is top level: `%gra|ey%` is "gra" or "ey", as AWS documents.
    fn alternation(&mut self) -> Result<Node, String> {
        let mut alts = vec![self.sequence()?];
        while self.peek() == Some('|') {
            self.i += 1;
            alts.push(self.sequence()?);
        }
        Ok(if alts.len() == 1 {
            alts.pop().unwrap_or(Node::Seq(Vec::new()))
        } else {
            Node::Alt(alts)
        })
    }

    fn sequence(&mut self) -> Result<Node, String> {
        let mut items = Vec::new();
        while let Some(c) = self.peek() {
            if c == '|' {
                break;
            }
            self.i += 1;
            let mut node = match c {
                '^' => Node::Bol,
                '$' => Node::Eol,
                '.' => Node::Atom(Matcher::Any),
                '[' => Node::Atom(self.class()?),
                '\\' => Node::Atom(self.escape()?),
                '*' | '+' | '?' | '{' => return Err(invalid()),
                c => Node::Atom(Matcher::Lit(c)),
            };
            while let Some(q) = self.peek() {
                let (min, max) = match q {
                    '*' => (0, None),
                    '+' => (1, None),
                    '?' => (0, Some(1)),
                    '{' => {
                        self.i += 1;
                        self.counted()?
                    }
                    _ => break,
                };
                if q != '{' {
                    self.i += 1;
                }
                node = Node::Repeat(Box::new(node), min, max);
            }
            items.push(node);
        }
        Ok(Node::Seq(items))
    }

    /// `{m,n}`, `{m}`, `{m,}` and `{,n}`: AWS says either bound may be omitted.
    fn counted(&mut self) -> Result<(u32, Option<u32>), String> {
        let lo = self.number()?;
        let (lo, hi) = if self.peek() == Some(',') {
            self.i += 1;
            (lo.unwrap_or(0), self.number()?)
        } else {
            let n = lo.ok_or_else(invalid)?;
            (n, Some(n))
        };
        if self.peek() != Some('}') {
            return Err(invalid());
        }
        self.i += 1;
        if lo > MAX_REPEAT || hi.is_some_and(|h| h > MAX_REPEAT || h < lo) {
            return Err(invalid());
        }
        Ok((lo, hi))
    }

    fn number(&mut self) -> Result<Option<u32>, String> {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        if start == self.i {
            return Ok(None);
        }
        let text: String = self.s[start..self.i].iter().collect();
        text.parse().map(Some).map_err(|_| invalid())
    }

    fn escape(&mut self) -> Result<Matcher, String> {
        let item = self.escape_item()?;
        Ok(match item {
            ClassItem::Range(c, _) => Matcher::Lit(c),
            perl => Matcher::Class {
                negated: false,
                items: vec![perl],
            },
        })
    }

    /// Called just after a backslash.
    fn escape_item(&mut self) -> Result<ClassItem, String> {
        let c = self.peek().ok_or_else(invalid)?;
        self.i += 1;
        let lit = |c| Ok(ClassItem::Range(c, c));
        match c {
            'd' => Ok(ClassItem::Perl(Perl::Digit, false)),
            'D' => Ok(ClassItem::Perl(Perl::Digit, true)),
            's' => Ok(ClassItem::Perl(Perl::Space, false)),
            'S' => Ok(ClassItem::Perl(Perl::Space, true)),
            'w' => Ok(ClassItem::Perl(Perl::Word, false)),
            'W' => Ok(ClassItem::Perl(Perl::Word, true)),
            't' => lit('\t'),
            'n' => lit('\n'),
            'r' => lit('\r'),
            // The documented way to reach characters the dialect forbids, e.g. `\x28` for `(`.
            'x' => {
                let digits = self.s.get(self.i..self.i + 2).ok_or_else(invalid)?;
                if !digits.iter().all(|c| c.is_ascii_hexdigit()) {
                    return Err(invalid());
                }
                let hex: String = digits.iter().collect();
                let v = u8::from_str_radix(&hex, 16).map_err(|_| invalid())?;
                self.i += 2;
                lit(char::from(v))
            }
            // An unknown letter escape (\b, \A, ...) means something in other dialects; silently
            // reading it as a literal would match differently from AWS, so it is refused.
            c if c.is_ascii_alphanumeric() => Err(invalid()),
            c => lit(c),
        }
    }

    fn class(&mut self) -> Result<Matcher, String> {
        let mut negated = false;
        if self.peek() == Some('^') {
            negated = true;
            self.i += 1;
        }
        let mut items = Vec::new();
        let mut first = true;
        loop {
            let c = self.peek().ok_or_else(invalid)?;
            if c == ']' && !first {
                self.i += 1;
                break;
            }
            first = false;
            self.i += 1;
            let lo = if c == '\\' {
                self.escape_item()?
            } else {
                ClassItem::Range(c, c)
            };
            let lo_char = match lo {
                ClassItem::Range(a, _) => a,
                perl => {
                    items.push(perl);
                    continue;
                }
            };
            if self.peek() == Some('-') && self.s.get(self.i + 1).is_some_and(|&n| n != ']') {
                self.i += 1;
                let h = self.peek().ok_or_else(invalid)?;
                self.i += 1;
                let hi = if h == '\\' {
                    self.escape_item()?
                } else {
                    ClassItem::Range(h, h)
                };
                match hi {
                    ClassItem::Range(b, _) if b >= lo_char => {
                        items.push(ClassItem::Range(lo_char, b))
                    }
                    _ => return Err(invalid()),
                }
            } else {
                items.push(ClassItem::Range(lo_char, lo_char));
            }
        }
        Ok(Matcher::Class { negated, items })
    }
}

fn emit(node: &Node, prog: &mut Vec<Inst>) -> Result<(), String> {
    if prog.len() > MAX_PROGRAM {
        return Err(invalid());
    }
    match node {
        Node::Atom(m) => prog.push(Inst::Char(m.clone())),
        Node::Bol => prog.push(Inst::Bol),
        Node::Eol => prog.push(Inst::Eol),
        Node::Seq(items) => {
            for it in items {
                emit(it, prog)?;
            }
        }
        Node::Alt(alts) => {
            let mut jumps = Vec::new();
            for (k, alt) in alts.iter().enumerate() {
                if k + 1 < alts.len() {
                    let split = prog.len();
                    prog.push(Inst::Split(split + 1, 0));
                    emit(alt, prog)?;
                    jumps.push(prog.len());
                    prog.push(Inst::Jmp(0));
                    let next = prog.len();
                    prog[split] = Inst::Split(split + 1, next);
                } else {
                    emit(alt, prog)?;
                }
            }
            let end = prog.len();
            for j in jumps {
                prog[j] = Inst::Jmp(end);
            }
        }
        Node::Repeat(inner, min, max) => {
            for _ in 0..*min {
                emit(inner, prog)?;
            }
            match max {
                None => {
                    let split = prog.len();
                    prog.push(Inst::Split(split + 1, 0));
                    emit(inner, prog)?;
                    prog.push(Inst::Jmp(split));
                    let out = prog.len();
                    prog[split] = Inst::Split(split + 1, out);
                }
                Some(max) => {
                    let mut splits = Vec::new();
                    for _ in *min..*max {
                        splits.push(prog.len());
                        prog.push(Inst::Split(0, 0));
                        emit(inner, prog)?;
                    }
                    let out = prog.len();
                    for s in splits {
                        prog[s] = Inst::Split(s + 1, out);
                    }
                }
            }
        }
    }
    if prog.len() > MAX_PROGRAM {
        return Err(invalid());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Regex;

    fn re(s: &str) -> Regex {
        let cs: Vec<char> = s.chars().collect();
        Regex::parse(&cs).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn err(s: &str) -> String {
        let cs: Vec<char> = s.chars().collect();
        Regex::parse(&cs).expect_err(s)
    }

    // Each case is one of AWS's documented operator examples.
    #[test]
    fn documented_operators() {
        assert!(re("^[hc]at").is_match("hat trick"));
        assert!(re("^[hc]at").is_match("cat"));
        assert!(!re("^[hc]at").is_match("the cat"));
        assert!(re("[hc]at$").is_match("the hat"));
        assert!(!re("[hc]at$").is_match("hats"));
        assert!(re("colou?r").is_match("color"));
        assert!(re("colou?r").is_match("colour"));
        assert!(re("[abcx-z]").is_match("y"));
        assert!(!re("[abcx-z]").is_match("w"));
        let a35 = re("^a{3,5}$");
        assert!(!a35.is_match("aa"));
        assert!(a35.is_match("aaa"));
        assert!(a35.is_match("aaaaa"));
        assert!(!a35.is_match("aaaaaa"));
        assert!(re("^a{,2}$").is_match(""));
        assert!(re("^a{2,}$").is_match("aaaaaaa"));
        assert!(!re("^a{2,}$").is_match("a"));
        assert!(re("gra|ey").is_match("grey"));
        let starting = re("^starting|^initializing|^shutting down");
        assert!(starting.is_match("shutting down now"));
        assert!(!starting.is_match("skipping initializing ..."));
        let abcc = re("abcc|ab[^c]$");
        assert!(abcc.is_match("abcc ..."));
        assert!(abcc.is_match("aba"));
        assert!(!abcc.is_match("aac ..."));
        let bracket = re("\\[.\\]");
        for s in ["[a]", "[7]", "[@]", "[]]", "[ ]"] {
            assert!(bracket.is_match(s), "{s}");
        }
        assert!(re("10\\.10\\.0\\.1").is_match("ip 10.10.0.1"));
        assert!(!re("10\\.10\\.0\\.1").is_match("10010,051"));
        assert!(re("10.10.0.1").is_match("10010,051"));
        for s in ["ac", "abc", "abbbc"] {
            assert!(re("ab*c").is_match(s));
        }
        assert!(re("^ab[0-9]*$").is_match("ab129"));
        assert!(re("ab+c").is_match("abbc"));
        assert!(!re("ab+c").is_match("ac"));
        assert!(re(".at").is_match(" at"));
        assert!(re("\\d").is_match("x1") && !re("\\d").is_match("xy"));
        assert!(re("^\\D+$").is_match("xy"));
        assert!(re("a\\sb").is_match("a\tb") && !re("a\\Sb").is_match("a b"));
        assert!(re("^\\w+$").is_match("a_Z9") && re("\\W").is_match("a-b"));
        assert!(re("\\x3A").is_match("a:b"));
        assert!(re("\\x28").is_match("f(x)"));
        assert!(re("[\\d_]").is_match("_"));
        assert!(re("AUTHORIZED").is_match("[ERROR 401] UNAUTHORIZED REQUEST"));
    }

    #[test]
    fn rejects_what_aws_rejects() {
        assert_eq!(err("something!"), "Invalid character(s) in term '!'");
        assert_eq!(err("(a)"), "Invalid character(s) in term '('");
        assert_eq!(err("\\("), "Invalid character(s) in term '('");
        assert_eq!(err("é"), "Invalid character(s) in term 'é'");
        for bad in [
            "",
            "*a",
            "a{2",
            "a{3,1}",
            "[abc",
            "[z-a]",
            "\\",
            "\\b",
            "a{99999}",
            "a{1000}{1000}",
            "\\x+1",
            "\\xg0",
        ] {
            assert_eq!(err(bad), "Invalid filter pattern", "{bad}");
        }
    }

    #[test]
    fn linear_on_pathological_input() {
        let r = re("^a*a*a*a*a*a*a*a*a*a*b$");
        let s = "a".repeat(20_000);
        assert!(!r.is_match(&s));
    }
}
