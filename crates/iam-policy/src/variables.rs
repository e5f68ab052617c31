//! Policy variables: `${aws:username}` in a `Resource` or a condition value, replaced at
//! evaluation time by the value of that key in the request context.
//!
//! A policy string is parsed once into a [`Pattern`]: literal text, wildcards (where the
//! element allows them) and variables. Matching then reads variable values straight from
//! the [`Context`] — no string is rebuilt per request — and a substituted value is always
//! literal: a user named `a*` does not become a wildcard.
//!
//! The rules, from "IAM policy elements: Variables and tags":
//! * only documents with `"Version": "2012-10-17"` have variables; in older ones `${…}` is
//!   plain text;
//! * `${*}`, `${?}` and `${$}` stand for a literal `*`, `?` and `$`;
//! * `${key, 'default'}` supplies a value when the key is absent (a doubled `''` inside the
//!   quotes is one quote);
//! * key names are case-insensitive; only single-valued keys can be variables;
//! * a variable without a value "causes the statement to be invalid": the string that holds
//!   it matches nothing.

use crate::context::Context;
use crate::matching::{glob, Source, Unit};

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Lit(String),
    Star,
    One,
    Var {
        key: String,
        default: Option<String>,
    },
}

/// A policy string ready to match: literal runs, wildcards and variables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Pattern {
    parts: Vec<Part>,
    has_vars: bool,
}

impl Pattern {
    /// Parses `text`. `wildcards`: whether `*` and `?` are wildcards here (`StringLike`,
    /// `Resource`) or plain characters (`StringEquals`). `variables`: whether `${…}` is a
    /// variable (2012-10-17 documents, in elements that take variables).
    pub(crate) fn parse(text: &str, wildcards: bool, variables: bool) -> Pattern {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut rest = text;
        while let Some(c) = rest.chars().next() {
            if variables && rest.starts_with("${") {
                if let Some((var, used)) = parse_variable(&rest[2..]) {
                    match var {
                        Variable::Literal(ch) => lit.push(ch),
                        Variable::Key { key, default } => {
                            flush(&mut lit, &mut parts);
                            parts.push(Part::Var { key, default });
                        }
                    }
                    rest = &rest[2 + used..];
                    continue;
                }
            }
            match c {
                '*' if wildcards => {
                    flush(&mut lit, &mut parts);
                    parts.push(Part::Star);
                }
                '?' if wildcards => {
                    flush(&mut lit, &mut parts);
                    parts.push(Part::One);
                }
                c => lit.push(c),
            }
            rest = &rest[c.len_utf8()..];
        }
        flush(&mut lit, &mut parts);
        let has_vars = parts.iter().any(|p| matches!(p, Part::Var { .. }));
        Pattern { parts, has_vars }
    }

    #[cfg(test)]
    pub(crate) fn has_vars(&self) -> bool {
        self.has_vars
    }

    /// Whether every variable has a value (from the context or its default).
    pub(crate) fn resolvable(&self, ctx: &Context) -> bool {
        !self.has_vars
            || self.parts.iter().all(|p| match p {
                Part::Var { key, default } => default.is_some() || ctx.variable(key).is_some(),
                _ => true,
            })
    }

    /// Whether `text` matches; `None` when a variable has no value (the pattern then
    /// matches nothing, and negated operators must not read that as "different").
    pub(crate) fn matches(&self, text: &str, fold: bool, ctx: &Context) -> Option<bool> {
        if !self.has_vars {
            return Some(match self.parts.as_slice() {
                [] => text.is_empty(),
                [Part::Star] => true,
                [Part::Lit(s)] if !fold => s == text,
                [Part::Lit(s)] if s.is_ascii() && text.is_ascii() => s.eq_ignore_ascii_case(text),
                parts => glob(&Resolved { parts, ctx }, text, fold),
            });
        }
        if !self.resolvable(ctx) {
            return None;
        }
        Some(glob(
            &Resolved {
                parts: &self.parts,
                ctx,
            },
            text,
            fold,
        ))
    }

    /// Splits at the first five literal colons into the (up to) six ARN segments, for the
    /// ARN operators, which match segment by segment. Colons inside `${…}` or produced by a
    /// variable's value do not split.
    pub(crate) fn split_arn(&self) -> Vec<Pattern> {
        let mut done: Vec<Vec<Part>> = Vec::new();
        let mut current: Vec<Part> = Vec::new();
        for part in &self.parts {
            let Part::Lit(s) = part else {
                current.push(part.clone());
                continue;
            };
            let mut run = String::new();
            for c in s.chars() {
                if c == ':' && done.len() < 5 {
                    flush(&mut run, &mut current);
                    done.push(std::mem::take(&mut current));
                } else {
                    run.push(c);
                }
            }
            flush(&mut run, &mut current);
        }
        done.push(current);
        done.into_iter()
            .map(|parts| {
                let has_vars = parts.iter().any(|p| matches!(p, Part::Var { .. }));
                Pattern { parts, has_vars }
            })
            .collect()
    }
}

fn flush(lit: &mut String, parts: &mut Vec<Part>) {
    if !lit.is_empty() {
        parts.push(Part::Lit(std::mem::take(lit)));
    }
}

enum Variable {
    /// `${*}`, `${?}`, `${$}`.
    Literal(char),
    Key {
        key: String,
        default: Option<String>,
    },
}

/// Parses what follows `${`: `key}` or `key, 'default'}`. Returns the variable and the bytes
/// used (closing brace included), or `None` if this is no variable (then `${` is literal).
fn parse_variable(s: &str) -> Option<(Variable, usize)> {
    let end = s.find(['}', ','])?;
    let key = s[..end].trim();
    if key.is_empty() {
        return None;
    }
    if s[end..].starts_with('}') {
        let var = match key {
            "*" => Variable::Literal('*'),
            "?" => Variable::Literal('?'),
            "$" => Variable::Literal('$'),
            _ => Variable::Key {
                key: key.to_lowercase(),
                default: None,
            },
        };
        return Some((var, end + 1));
    }
    // `, 'default'}`
    let after_comma = &s[end + 1..];
    let quoted = after_comma.trim_start();
    let mut i = end + 1 + (after_comma.len() - quoted.len());
    let mut chars = quoted.char_indices();
    if chars.next()?.1 != '\'' {
        return None;
    }
    let mut default = String::new();
    let mut closed_at = None;
    let mut pending_quote = false;
    for (at, c) in chars {
        if pending_quote {
            if c == '\'' {
                default.push('\'');
                pending_quote = false;
                continue;
            }
            closed_at = Some(at);
            break;
        }
        if c == '\'' {
            pending_quote = true;
        } else {
            default.push(c);
        }
    }
    let tail_start = match (closed_at, pending_quote) {
        (Some(at), _) => at,
        (None, true) => quoted.len(),
        (None, false) => return None,
    };
    let tail = &quoted[tail_start..];
    let trimmed = tail.trim_start();
    if !trimmed.starts_with('}') {
        return None;
    }
    i += tail_start + (tail.len() - trimmed.len()) + 1;
    Some((
        Variable::Key {
            key: key.to_lowercase(),
            default: Some(default),
        },
        i,
    ))
}

/// A pattern's parts with variables read from the context: the matcher's view.
struct Resolved<'a> {
    parts: &'a [Part],
    ctx: &'a Context,
}

impl<'a> Resolved<'a> {
    fn text(&self, part: &'a Part) -> &'a str {
        match part {
            Part::Lit(s) => s,
            Part::Var { key, default } => {
                self.ctx.variable(key).or(default.as_deref()).unwrap_or("")
            }
            Part::Star | Part::One => "",
        }
    }
}

impl Source for Resolved<'_> {
    /// (part index, byte offset inside that part's text)
    type Cursor = (usize, usize);

    fn start(&self) -> (usize, usize) {
        (0, 0)
    }

    fn next(&self, (mut i, mut off): (usize, usize)) -> Option<(Unit, (usize, usize))> {
        loop {
            let part = self.parts.get(i)?;
            match part {
                Part::Star => return Some((Unit::Star, (i + 1, 0))),
                Part::One => return Some((Unit::One, (i + 1, 0))),
                Part::Lit(_) | Part::Var { .. } => {
                    let text = self.text(part);
                    match text.get(off..).and_then(|rest| rest.chars().next()) {
                        Some(c) => {
                            let after = off + c.len_utf8();
                            let cursor = if after >= text.len() {
                                (i + 1, 0)
                            } else {
                                (i, after)
                            };
                            return Some((Unit::Char(c), cursor));
                        }
                        None => {
                            i += 1;
                            off = 0;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(pairs: &[(&str, &str)]) -> Context {
        let mut c = Context::new();
        for (k, v) in pairs {
            c.set(k, *v);
        }
        c
    }

    fn like(p: &str) -> Pattern {
        Pattern::parse(p, true, true)
    }

    #[test]
    fn variable_is_replaced_by_the_context_value() {
        let c = ctx(&[("aws:username", "alice")]);
        let p = like("arn:aws:s3:::b/home/${aws:username}/*");
        assert!(p.has_vars());
        assert_eq!(
            p.matches("arn:aws:s3:::b/home/alice/x", false, &c),
            Some(true)
        );
        assert_eq!(
            p.matches("arn:aws:s3:::b/home/bob/x", false, &c),
            Some(false)
        );
    }

    #[test]
    fn variable_keys_are_case_insensitive() {
        let c = ctx(&[("aws:PrincipalTag/Team", "blue")]);
        let p = like("${AWS:principaltag/team}-*");
        assert_eq!(p.matches("blue-1", false, &c), Some(true));
    }

    #[test]
    fn missing_variable_matches_nothing() {
        let p = like("arn:aws:s3:::b/${aws:username}/*");
        assert_eq!(p.matches("arn:aws:s3:::b//x", false, &Context::new()), None);
        assert!(!p.resolvable(&Context::new()));
    }

    #[test]
    fn multivalued_key_is_not_a_variable() {
        let mut c = Context::new();
        c.set_many("aws:tagkeys", vec!["a".into(), "b".into()]);
        assert_eq!(like("${aws:TagKeys}").matches("a", false, &c), None);
    }

    #[test]
    fn default_applies_only_when_the_key_is_absent() {
        let p = like("home/${aws:username, 'anonymous'}/*");
        assert_eq!(
            p.matches("home/anonymous/x", false, &Context::new()),
            Some(true)
        );
        let c = ctx(&[("aws:username", "alice")]);
        assert_eq!(p.matches("home/alice/x", false, &c), Some(true));
        assert_eq!(p.matches("home/anonymous/x", false, &c), Some(false));
    }

    #[test]
    fn default_may_hold_quotes_braces_and_spaces() {
        let p = like("${k ,   'it''s {x}' }!");
        assert_eq!(p.matches("it's {x}!", false, &Context::new()), Some(true));
        let empty = like("${k, ''}");
        assert_eq!(empty.matches("", false, &Context::new()), Some(true));
    }

    #[test]
    fn substituted_values_are_literal_not_wildcards() {
        let c = ctx(&[("aws:username", "a*")]);
        let p = like("${aws:username}");
        assert_eq!(p.matches("a*", false, &c), Some(true));
        assert_eq!(p.matches("abc", false, &c), Some(false));
    }

    #[test]
    fn escapes_stand_for_literal_special_characters() {
        let p = like("a${*}b${?}c${$}d*");
        let c = Context::new();
        assert!(!p.has_vars());
        assert_eq!(p.matches("a*b?c$d-anything", false, &c), Some(true));
        assert_eq!(p.matches("aXb?c$d", false, &c), Some(false));
        assert_eq!(p.matches("a*bXc$d", false, &c), Some(false));
    }

    #[test]
    fn version_2008_keeps_dollar_braces_literal() {
        let p = Pattern::parse("home/${aws:username}/*", true, false);
        assert!(!p.has_vars());
        let c = ctx(&[("aws:username", "alice")]);
        assert_eq!(p.matches("home/${aws:username}/x", false, &c), Some(true));
        assert_eq!(p.matches("home/alice/x", false, &c), Some(false));
    }

    #[test]
    fn malformed_variables_stay_literal() {
        let c = Context::new();
        for text in [
            "${unterminated",
            "${}",
            "${k, noquote}",
            "${k, 'open}",
            "${k, 'x' y}",
        ] {
            let p = like(text);
            assert!(!p.has_vars(), "{text}");
            assert_eq!(p.matches(text, false, &c), Some(true), "{text}");
        }
    }

    #[test]
    fn exact_patterns_treat_wildcards_as_characters() {
        let p = Pattern::parse("a*?", false, true);
        let c = Context::new();
        assert_eq!(p.matches("a*?", false, &c), Some(true));
        assert_eq!(p.matches("abc", false, &c), Some(false));
        assert_eq!(p.matches("A*?", true, &c), Some(true));
    }

    #[test]
    fn folding_applies_to_variable_values_too() {
        let c = ctx(&[("aws:username", "Alice")]);
        let p = Pattern::parse("user-${aws:username}", false, true);
        assert_eq!(p.matches("USER-ALICE", true, &c), Some(true));
        assert_eq!(p.matches("USER-ALICE", false, &c), Some(false));
    }

    #[test]
    fn arn_split_keeps_colons_of_the_resource_part_and_of_variables() {
        let p = like("arn:aws:sns:${aws:region}:123:topic:sub:x");
        let segs = p.split_arn();
        assert_eq!(segs.len(), 6);
        let c = ctx(&[("aws:region", "us-east-1")]);
        assert_eq!(segs[3].matches("us-east-1", false, &c), Some(true));
        assert_eq!(segs[5].matches("topic:sub:x", false, &c), Some(true));
        assert_eq!(like("*").split_arn().len(), 1);
        assert_eq!(like("arn:aws:s3:::b").split_arn().len(), 6);
    }

    #[test]
    fn unicode_text_never_splits_a_character() {
        let c = ctx(&[("k", "žluť")]);
        let p = like("?${k}?");
        assert_eq!(p.matches("éžluťé", false, &c), Some(true));
        assert_eq!(like("${k}").matches("ž", false, &c), Some(false));
    }
}
