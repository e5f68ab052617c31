//! Splits an expression into tokens that remember where they came from, because
//! DynamoDB's syntax errors quote the offending token and its neighbours from the source.

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
    /// `[A-Za-z_][A-Za-z0-9_]*`; keywords are identifiers the grammar recognises.
    Ident(String),
    /// `#name` placeholder.
    Name(String),
    /// `:value` placeholder.
    Value(String),
    /// A run of digits (only meaningful as a list index).
    Num(String),
    Sym(&'static str),
    /// Anything else, one character: always a syntax error, but still a token to quote.
    Unknown,
    Eof,
}

#[derive(Clone, Debug)]
pub(crate) struct Token {
    pub tok: Tok,
    pub start: usize,
    pub end: usize,
}

const SYMS: [&str; 14] = ["<>", "<=", ">=", "(", ")", "[", "]", ".", ",", "=", "<", ">", "+", "-"];

fn ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Always ends with an `Eof` token positioned at the end of the source.
pub(crate) fn lex(src: &str) -> Vec<Token> {
    let b = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if matches!(c, b' ' | b'\t' | b'\r' | b'\n') {
            i += 1;
            continue;
        }
        let start = i;
        let tok = if c.is_ascii_alphabetic() || c == b'_' {
            while i < b.len() && ident_char(b[i]) {
                i += 1;
            }
            Tok::Ident(src[start..i].to_string())
        } else if c.is_ascii_digit() {
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            Tok::Num(src[start..i].to_string())
        } else if (c == b'#' || c == b':') && i + 1 < b.len() && ident_char(b[i + 1]) {
            i += 1;
            while i < b.len() && ident_char(b[i]) {
                i += 1;
            }
            let s = src[start..i].to_string();
            if c == b'#' {
                Tok::Name(s)
            } else {
                Tok::Value(s)
            }
        } else if let Some(s) = SYMS.iter().find(|s| src[i..].starts_with(**s)) {
            i += s.len();
            Tok::Sym(s)
        } else {
            // Step over one whole UTF-8 character so slices stay on boundaries.
            i += src[i..].chars().next().map_or(1, |ch| ch.len_utf8());
            Tok::Unknown
        };
        out.push(Token { tok, start, end: i });
    }
    out.push(Token { tok: Tok::Eof, start: src.len(), end: src.len() });
    out
}

/// DynamoDB's wording: the token, then the source from the previous token's start to the
/// next token's end.
pub(crate) fn syntax_error(src: &str, toks: &[Token], i: usize) -> String {
    let i = i.min(toks.len().saturating_sub(1));
    let t = &toks[i];
    let token = if t.tok == Tok::Eof { "<EOF>" } else { &src[t.start..t.end] };
    let start = if i > 0 { toks[i - 1].start } else { t.start };
    let end = match toks.get(i + 1) {
        Some(n) if n.tok != Tok::Eof => n.end,
        _ => t.end,
    };
    format!("Syntax error; token: \"{}\", near: \"{}\"", token, &src[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(s: &str) -> Vec<Tok> {
        lex(s).into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn tokens() {
        assert_eq!(
            kinds("a.#b[12] <> :c"),
            vec![
                Tok::Ident("a".into()),
                Tok::Sym("."),
                Tok::Name("#b".into()),
                Tok::Sym("["),
                Tok::Num("12".into()),
                Tok::Sym("]"),
                Tok::Sym("<>"),
                Tok::Value(":c".into()),
                Tok::Eof
            ]
        );
        assert_eq!(kinds("#"), vec![Tok::Unknown, Tok::Eof]);
        assert_eq!(kinds("ü>=_x"), vec![Tok::Unknown, Tok::Sym(">="), Tok::Ident("_x".into()), Tok::Eof]);
    }

    #[test]
    fn messages() {
        let err = |s: &str, i| syntax_error(s, &lex(s), i);
        assert_eq!(err("INVALID SYNTAX HERE", 0), "Syntax error; token: \"INVALID\", near: \"INVALID SYNTAX\"");
        assert_eq!(err("!!", 0), "Syntax error; token: \"!\", near: \"!!\"");
        assert_eq!(err("a-b", 1), "Syntax error; token: \"-\", near: \"a-b\"");
        assert_eq!(err("()", 1), "Syntax error; token: \")\", near: \"()\"");
        assert_eq!(err("a =", 2), "Syntax error; token: \"<EOF>\", near: \"=\"");
    }
}
