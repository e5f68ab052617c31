//! Wildcard patterns as AWS matches them in many places (`ArnLike` conditions, ALB
//! host-header and path-pattern rules): `*` any run of characters, `?` exactly one.

/// Whether `text` matches `pattern`, optionally ignoring ASCII case.
pub fn matches(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let fold = |s: &str| if ignore_case { s.to_ascii_lowercase() } else { s.to_string() };
    let (p, t): (Vec<char>, Vec<char>) = (fold(pattern).chars().collect(), fold(text).chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stars_and_question_marks() {
        assert!(matches("arn:aws:elasticloadbalancing:*:*:targetgroup/web/*", "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/web/abc", false));
        assert!(!matches("arn:aws:s3:::a?c", "arn:aws:s3:::abcd", false));
        assert!(matches("*", "", false));
        assert!(matches("*.Example.com", "shop.example.COM", true));
        assert!(!matches("*.example.com", "shop.Example.com", false));
    }
}
