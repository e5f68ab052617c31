//! Document paths (`a.b[2].c`) and how they reach into an item.

use crate::value::{AttrValue, Item};

#[derive(Clone, Debug, PartialEq)]
pub enum PathElem {
    Attr(String),
    Index(usize),
}

pub type Path = Vec<PathElem>;

/// DynamoDB's rendering of a path inside messages: `[a, b, [2], c]`.
pub fn path_str(path: &[PathElem]) -> String {
    let parts: Vec<String> = path
        .iter()
        .map(|e| match e {
            PathElem::Attr(s) => s.clone(),
            PathElem::Index(i) => format!("[{}]", i),
        })
        .collect();
    format!("[{}]", parts.join(", "))
}

/// The value at `path`, if every step exists and has the right shape.
pub fn get_path<'i>(item: &'i Item, path: &[PathElem]) -> Option<&'i AttrValue> {
    let (first, rest) = path.split_first()?;
    let mut cur = match first {
        PathElem::Attr(name) => item.get(name)?,
        PathElem::Index(_) => return None,
    };
    for e in rest {
        cur = step(cur, e)?;
    }
    Some(cur)
}

pub(crate) fn step<'v>(v: &'v AttrValue, e: &PathElem) -> Option<&'v AttrValue> {
    match (v, e) {
        (AttrValue::M(m), PathElem::Attr(k)) => m.get(k),
        (AttrValue::L(l), PathElem::Index(i)) => l.get(*i),
        _ => None,
    }
}

/// The overlap and conflict checks DynamoDB makes between the paths of one projection or
/// update: a path may not equal or contain another (overlap), nor use the same prefix once
/// as a map and once as a list (conflict). Returns the messages in the order found; like
/// DynamoDB, the first overlap stops the scan, the latest conflict is kept.
pub(crate) fn check_overlaps(paths: &[&Path]) -> (Option<String>, Option<String>) {
    let mut seen: Vec<&Path> = Vec::new();
    let mut overlap = None;
    let mut conflict = None;
    'outer: for p in paths {
        for q in &seen {
            match relate(q, p) {
                Relation::Overlap => {
                    overlap = Some(format!(
                        "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: {}, path two: {}",
                        path_str(q),
                        path_str(p)
                    ));
                    break 'outer;
                }
                Relation::Conflict => {
                    conflict = Some(format!(
                        "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: {}, path two: {}",
                        path_str(q),
                        path_str(p)
                    ));
                }
                Relation::Apart => {}
            }
        }
        seen.push(p);
    }
    (overlap, conflict)
}

enum Relation {
    Overlap,
    Conflict,
    Apart,
}

fn relate(a: &[PathElem], b: &[PathElem]) -> Relation {
    for (x, y) in a.iter().zip(b.iter()) {
        match (x, y) {
            (PathElem::Attr(_), PathElem::Index(_)) | (PathElem::Index(_), PathElem::Attr(_)) => {
                return Relation::Conflict
            }
            _ if x != y => return Relation::Apart,
            _ => {}
        }
    }
    Relation::Overlap
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn a(s: &str) -> PathElem {
        PathElem::Attr(s.into())
    }

    #[test]
    fn rendering_and_lookup() {
        assert_eq!(path_str(&[a("ab"), a("bc"), PathElem::Index(1), a("a")]), "[ab, bc, [1], a]");
        let mut inner = BTreeMap::new();
        inner.insert("b".to_string(), AttrValue::L(vec![AttrValue::Bool(true), AttrValue::Null]));
        let mut item = Item::new();
        item.insert("a".into(), AttrValue::M(inner));
        assert_eq!(get_path(&item, &[a("a"), a("b"), PathElem::Index(1)]), Some(&AttrValue::Null));
        assert_eq!(get_path(&item, &[a("a"), a("b"), PathElem::Index(2)]), None);
        assert_eq!(get_path(&item, &[a("a"), PathElem::Index(0)]), None);
        assert_eq!(get_path(&item, &[a("a"), a("b"), a("c")]), None);
        assert_eq!(get_path(&item, &[]), None);
    }

    #[test]
    fn overlaps() {
        let p1 = vec![a("a")];
        let p2 = vec![a("a"), a("b")];
        let p3 = vec![a("a"), PathElem::Index(0)];
        let p4 = vec![a("c")];
        assert_eq!(
            check_overlaps(&[&p1, &p2]).0.unwrap(),
            "Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]"
        );
        let (o, c) = check_overlaps(&[&p2, &p3, &p4]);
        assert!(o.is_none());
        assert_eq!(
            c.unwrap(),
            "Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a, [0]]"
        );
        assert_eq!(check_overlaps(&[&p1, &p4]), (None, None));
    }
}
