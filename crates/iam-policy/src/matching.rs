//! Wildcard matching: the one glob behind `Action`, `Resource`, `StringLike` and the ARN
//! operators.
//!
//! IAM knows two wildcards: `*` (any run of characters, none included) and `?` (exactly one
//! character). Patterns come in two shapes — a raw policy string (`Action` values, the
//! public helpers) and a `variables::Pattern` whose policy variables are
//! resolved while matching — so the matcher walks an abstract [`Source`] of pattern units
//! instead of a string. Neither shape allocates while matching.

/// One step of a pattern as the matcher sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unit {
    Char(char),
    /// `*`: any run of characters.
    Star,
    /// `?`: exactly one character.
    One,
}

/// A pattern the matcher can walk one [`Unit`] at a time, from a copyable cursor (copyable
/// so the matcher can come back to the unit after a `*`).
pub(crate) trait Source {
    type Cursor: Copy;
    fn start(&self) -> Self::Cursor;
    /// The unit at `at` and the cursor after it; `None` at the end of the pattern.
    fn next(&self, at: Self::Cursor) -> Option<(Unit, Self::Cursor)>;
}

/// A raw pattern string: `*` and `?` are wildcards, every other character is literal.
pub(crate) struct Wild<'a>(pub &'a str);

impl Source for Wild<'_> {
    type Cursor = usize;
    fn start(&self) -> usize {
        0
    }
    fn next(&self, at: usize) -> Option<(Unit, usize)> {
        let c = self.0.get(at..)?.chars().next()?;
        let unit = match c {
            '*' => Unit::Star,
            '?' => Unit::One,
            c => Unit::Char(c),
        };
        Some((unit, at + c.len_utf8()))
    }
}

/// Whether `text` matches the pattern; `fold` compares letters case-insensitively.
///
/// The classic linear-space glob: on a mismatch, go back to the last `*` and let it swallow
/// one more character. Worst case O(pattern × text), no recursion, no allocation.
pub(crate) fn glob<S: Source + ?Sized>(pattern: &S, text: &str, fold: bool) -> bool {
    let mut p = pattern.start();
    let mut t = 0usize;
    // After the last `*`: where the pattern resumes, and where in the text the star stops.
    let mut retry: Option<(S::Cursor, usize)> = None;
    loop {
        let unit = pattern.next(p);
        let c = text.get(t..).and_then(|rest| rest.chars().next());
        match (unit, c) {
            (Some((Unit::Star, after)), _) => {
                retry = Some((after, t));
                p = after;
                continue;
            }
            (Some((Unit::One, after)), Some(c)) => {
                p = after;
                t += c.len_utf8();
                continue;
            }
            (Some((Unit::Char(want), after)), Some(c)) if chars_equal(want, c, fold) => {
                p = after;
                t += c.len_utf8();
                continue;
            }
            (None, None) => return true,
            _ => {}
        }
        // Mismatch: the last star takes one more character, or the match fails.
        let Some((after, star_end)) = retry else {
            return false;
        };
        let Some(c) = text.get(star_end..).and_then(|rest| rest.chars().next()) else {
            return false;
        };
        let next_end = star_end + c.len_utf8();
        retry = Some((after, next_end));
        p = after;
        t = next_end;
    }
}

fn chars_equal(a: char, b: char, fold: bool) -> bool {
    a == b || (fold && a.to_lowercase().eq(b.to_lowercase()))
}

/// Whether an `Action`/`NotAction` pattern covers `action`: case-insensitive, with `*`
/// and `?` (so `s3:Get*` covers `s3:GetObject`, and `*` covers everything).
pub fn action_matches(pattern: &str, action: &str) -> bool {
    pattern == "*" || glob(&Wild(pattern), action, true)
}

/// Whether a `Resource`/`NotResource` pattern covers `arn`: case-sensitive, with `*` and
/// `?` (`*` alone covers everything, including the `*` that actions without resource-level
/// permissions are asked about). Policy variables are not resolved here; statements do that.
pub fn resource_matches(pattern: &str, arn: &str) -> bool {
    pattern == "*" || glob(&Wild(pattern), arn, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        glob(&Wild(p), t, false)
    }

    #[test]
    fn star_matches_any_run_including_empty() {
        assert!(m("*", ""));
        assert!(m("*", "anything at all"));
        assert!(m("a*", "a"));
        assert!(m("a*c", "abbbc"));
        assert!(m("*c", "abc"));
        assert!(m("a*b*c", "a-b-b-c"));
        assert!(!m("a*c", "abcd"));
        assert!(!m("a*", "ba"));
    }

    #[test]
    fn question_mark_matches_exactly_one_character() {
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(!m("a?c", "abbc"));
        assert!(m("???", "héé"));
        assert!(!m("?", ""));
    }

    #[test]
    fn literal_patterns_match_only_themselves() {
        assert!(m("abc", "abc"));
        assert!(!m("abc", "abcd"));
        assert!(!m("abcd", "abc"));
        assert!(m("", ""));
        assert!(!m("", "a"));
    }

    #[test]
    fn backtracking_finds_the_later_split() {
        assert!(m("*aab", "aaaab"));
        assert!(m("a*a*a", "aaa"));
        assert!(!m("a*a*a", "aa"));
        assert!(m("*x*y*z", "xxyyzz-xyz"));
        assert!(m("**", ""));
    }

    #[test]
    fn folding_is_for_letters_only_when_asked() {
        assert!(glob(&Wild("S3:get*"), "s3:GetObject", true));
        assert!(!glob(&Wild("S3:get*"), "s3:GetObject", false));
        assert!(glob(&Wild("ÄBC"), "äbc", true));
    }

    #[test]
    fn action_matching_is_case_insensitive_with_wildcards() {
        assert!(action_matches("*", "s3:GetObject"));
        assert!(action_matches("s3:*", "s3:GetObject"));
        assert!(action_matches("S3:getobject", "s3:GetObject"));
        assert!(action_matches("s3:Get*", "s3:GetObjectAcl"));
        assert!(action_matches("s3:?etObject", "s3:GetObject"));
        assert!(action_matches("iam:*AccessKey*", "iam:CreateAccessKey"));
        assert!(!action_matches("s3:Get*", "s3:PutObject"));
        assert!(!action_matches("s3:*", "sqs:SendMessage"));
        assert!(!action_matches("s3:GetObject", "s3:GetObjectAcl"));
    }

    #[test]
    fn resource_matching_is_case_sensitive_with_wildcards() {
        assert!(resource_matches("*", "arn:aws:s3:::b/k"));
        assert!(resource_matches("*", "*"));
        assert!(resource_matches(
            "arn:aws:s3:::b/*",
            "arn:aws:s3:::b/k/deeper"
        ));
        assert!(resource_matches("arn:aws:s3:::b/?", "arn:aws:s3:::b/k"));
        assert!(resource_matches(
            "arn:aws:sqs:*:123456789012:q",
            "arn:aws:sqs:us-east-1:123456789012:q"
        ));
        assert!(!resource_matches("arn:aws:s3:::B/*", "arn:aws:s3:::b/k"));
        assert!(!resource_matches("arn:aws:s3:::b/*", "arn:aws:s3:::b"));
        assert!(!resource_matches("arn:aws:s3:::*", "*"));
    }
}
