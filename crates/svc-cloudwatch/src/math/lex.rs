//! Tokens of metric math. Positions are 1-based character offsets so error messages
//! can point at the character a user sees in the console.

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Num(f64),
    Str(String),
    Word(String),
    LParen,
    RParen,
    LBrack,
    RBrack,
    Comma,
    Plus,
    Minus,
    Star,
    Slash,
    Caret,
    Lt,
    Gt,
    Le,
    Ge,
    EqEq,
    Ne,
    AndAnd,
    OrOr,
    Bang,
    End,
}

impl Tok {
    /// How a token reads in "unexpected …" messages.
    pub(crate) fn describe(&self) -> String {
        match self {
            Tok::Num(n) => format!("'{n}'"),
            Tok::Str(s) => format!("string \"{s}\""),
            Tok::Word(w) => format!("'{w}'"),
            Tok::End => "end of expression".to_string(),
            t => format!("'{}'", t.symbol()),
        }
    }

    fn symbol(&self) -> &'static str {
        match self {
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBrack => "[",
            Tok::RBrack => "]",
            Tok::Comma => ",",
            Tok::Plus => "+",
            Tok::Minus => "-",
            Tok::Star => "*",
            Tok::Slash => "/",
            Tok::Caret => "^",
            Tok::Lt => "<",
            Tok::Gt => ">",
            Tok::Le => "<=",
            Tok::Ge => ">=",
            Tok::EqEq => "==",
            Tok::Ne => "!=",
            Tok::AndAnd => "&&",
            Tok::OrOr => "||",
            Tok::Bang => "!",
            _ => "?",
        }
    }
}

/// A token with its first character (1-based) and the index just past its last char (0-based),
/// the latter so array members can be labelled with their source text.
#[derive(Debug, Clone)]
pub(crate) struct Spanned {
    pub tok: Tok,
    pub pos: usize,
    pub end: usize,
}

pub(crate) fn syntax(pos: usize, what: &str) -> String {
    format!("Syntax error at character {pos}: {what}")
}

pub(crate) fn lex(chars: &[char]) -> Result<Vec<Spanned>, String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let two = |a: char, b: char| c == a && chars.get(i + 1) == Some(&b);
        let (tok, len) = if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            let (n, len) = number(&chars[i..], i + 1)?;
            (Tok::Num(n), len)
        } else if c.is_ascii_alphabetic() || c == '_' {
            let len = chars[i..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                .count();
            (Tok::Word(chars[i..i + len].iter().collect()), len)
        } else if let Some(close) = closing_quote(c) {
            // The guide's own examples use typographic quotes (METRICS(“4xx”)), so accept them.
            let body = chars[i + 1..].iter().take_while(|&&d| d != close).count();
            if i + 1 + body >= chars.len() {
                return Err(syntax(i + 1, "unterminated string"));
            }
            (
                Tok::Str(chars[i + 1..i + 1 + body].iter().collect()),
                body + 2,
            )
        } else if two('<', '=') {
            (Tok::Le, 2)
        } else if two('>', '=') {
            (Tok::Ge, 2)
        } else if two('=', '=') {
            (Tok::EqEq, 2)
        } else if two('!', '=') {
            (Tok::Ne, 2)
        } else if two('&', '&') {
            (Tok::AndAnd, 2)
        } else if two('|', '|') {
            (Tok::OrOr, 2)
        } else {
            let t = match c {
                '(' => Tok::LParen,
                ')' => Tok::RParen,
                '[' => Tok::LBrack,
                ']' => Tok::RBrack,
                ',' => Tok::Comma,
                '+' => Tok::Plus,
                '-' => Tok::Minus,
                '*' => Tok::Star,
                '/' => Tok::Slash,
                '^' => Tok::Caret,
                '<' => Tok::Lt,
                '>' => Tok::Gt,
                '!' => Tok::Bang,
                _ => return Err(syntax(i + 1, &format!("unexpected character '{c}'"))),
            };
            (t, 1)
        };
        i += len;
        out.push(Spanned {
            tok,
            pos: start + 1,
            end: i,
        });
    }
    out.push(Spanned {
        tok: Tok::End,
        pos: chars.len() + 1,
        end: chars.len(),
    });
    Ok(out)
}

fn closing_quote(c: char) -> Option<char> {
    match c {
        '"' => Some('"'),
        '\'' => Some('\''),
        '“' => Some('”'),
        _ => None,
    }
}

/// Plain decimals only (2, 50.25, .5): the guide shows no exponent form, and `2e1`
/// must not silently become a number when `e1` is a perfectly good id.
fn number(s: &[char], pos: usize) -> Result<(f64, usize), String> {
    let int = s.iter().take_while(|c| c.is_ascii_digit()).count();
    let mut len = int;
    if s.get(len) == Some(&'.') {
        let frac = s[len + 1..]
            .iter()
            .take_while(|c| c.is_ascii_digit())
            .count();
        if frac == 0 {
            return Err(syntax(pos, "malformed number"));
        }
        len += 1 + frac;
    }
    if s.get(len)
        .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
    {
        return Err(syntax(pos, "malformed number"));
    }
    let text: String = s[..len].iter().collect();
    text.parse::<f64>()
        .map(|n| (n, len))
        .map_err(|_| syntax(pos, "malformed number"))
}
