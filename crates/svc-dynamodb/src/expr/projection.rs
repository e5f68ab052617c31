//! ProjectionExpression: which paths of an item to return.

use super::check::check_size;
use super::docpath::{check_overlaps, get_path, Path, PathElem};
use super::params::Params;
use super::parser::{parse_projection_tree, RawElem};
use super::reserved::is_reserved;
use crate::value::{AttrValue, Item};
use std::collections::BTreeMap;

pub fn parse_projection(src: &str, p: &Params) -> Result<Vec<Path>, String> {
    parse_inner(src, p).map_err(|e| format!("Invalid ProjectionExpression: {}", e))
}

fn parse_inner(src: &str, p: &Params) -> Result<Vec<Path>, String> {
    check_size(src, true)?;
    let raw = parse_projection_tree(src)?;
    let mut reserved = None;
    let mut undefined = None;
    let mut paths = Vec::with_capacity(raw.len());
    for elems in &raw {
        let mut path = Vec::with_capacity(elems.len());
        for e in elems {
            match e {
                RawElem::Ident(s) => {
                    if reserved.is_none() && is_reserved(s) {
                        reserved = Some(format!("Attribute name is a reserved keyword; reserved keyword: {}", s));
                    }
                    path.push(PathElem::Attr(s.clone()));
                }
                RawElem::Name(k) => {
                    if undefined.is_some() {
                        continue;
                    }
                    match p.name(k) {
                        Some(v) => path.push(PathElem::Attr(v)),
                        None => {
                            undefined = Some(format!(
                                "An expression attribute name used in the document path is not defined; attribute name: {}",
                                k
                            ))
                        }
                    }
                }
                RawElem::Index(i) => path.push(PathElem::Index(*i)),
            }
        }
        paths.push(path);
    }
    if let Some(e) = reserved.or(undefined) {
        return Err(e);
    }
    let refs: Vec<&Path> = paths.iter().collect();
    let (overlap, conflict) = check_overlaps(&refs);
    if let Some(e) = overlap.or(conflict) {
        return Err(e);
    }
    Ok(paths)
}

/// A partial copy being assembled: list elements are kept by index and compacted at the
/// end, so `a[3]` alone comes back as a one-element list, as DynamoDB returns it.
enum Tree {
    Leaf(AttrValue),
    Map(BTreeMap<String, Tree>),
    List(BTreeMap<usize, Tree>),
}

impl Tree {
    fn into_value(self) -> AttrValue {
        match self {
            Tree::Leaf(v) => v,
            Tree::Map(m) => AttrValue::M(m.into_iter().map(|(k, t)| (k, t.into_value())).collect()),
            Tree::List(l) => AttrValue::L(l.into_values().map(Tree::into_value).collect()),
        }
    }
}

fn insert(node: &mut Tree, rest: &[PathElem], v: AttrValue) {
    let Some((first, rest)) = rest.split_first() else {
        *node = Tree::Leaf(v);
        return;
    };
    let child = match (node, first) {
        (Tree::Map(m), PathElem::Attr(k)) => m.entry(k.clone()).or_insert_with(|| empty_for(rest)),
        (Tree::List(l), PathElem::Index(i)) => l.entry(*i).or_insert_with(|| empty_for(rest)),
        _ => return,
    };
    insert(child, rest, v);
}

fn empty_for(rest: &[PathElem]) -> Tree {
    match rest.first() {
        Some(PathElem::Index(_)) => Tree::List(BTreeMap::new()),
        _ => Tree::Map(BTreeMap::new()),
    }
}

pub fn project(item: &Item, paths: &[Path]) -> Item {
    let mut root: BTreeMap<String, Tree> = BTreeMap::new();
    for p in paths {
        let Some(v) = get_path(item, p) else { continue };
        let Some((PathElem::Attr(first), rest)) = p.split_first() else { continue };
        let node = root.entry(first.clone()).or_insert_with(|| empty_for(rest));
        insert(node, rest, v.clone());
    }
    root.into_iter().map(|(k, t)| (k, t.into_value())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::number::Number;
    use std::collections::HashMap;

    fn n(s: &str) -> AttrValue {
        AttrValue::N(Number::parse(s).unwrap())
    }

    fn parse(src: &str) -> Result<Vec<Path>, String> {
        let names: HashMap<String, String> = [("#a".to_string(), "a".to_string()), ("#n".to_string(), "name".to_string())].into_iter().collect();
        parse_projection(src, &Params::new(Some(&names), None))
    }

    #[test]
    fn errors() {
        assert_eq!(parse("").unwrap_err(), "Invalid ProjectionExpression: The expression can not be empty;");
        assert_eq!(parse("!!").unwrap_err(), "Invalid ProjectionExpression: Syntax error; token: \"!\", near: \"!!\"");
        assert_eq!(parse("a, name").unwrap_err(), "Invalid ProjectionExpression: Attribute name is a reserved keyword; reserved keyword: name");
        assert_eq!(
            parse("#b").unwrap_err(),
            "Invalid ProjectionExpression: An expression attribute name used in the document path is not defined; attribute name: #b"
        );
        assert_eq!(
            parse("a, #a.b").unwrap_err(),
            "Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, b]"
        );
        assert_eq!(
            parse("a.b, a[0]").unwrap_err(),
            "Invalid ProjectionExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a, [0]]"
        );
        // The reserved word outranks an undefined name, which outranks overlaps.
        assert!(parse("#zz, a, a, size").unwrap_err().contains("reserved keyword: size"));
        let long = format!("a{}", ",a".repeat(2100));
        assert!(parse(&long).unwrap_err().starts_with("Invalid ProjectionExpression: Expression size has exceeded the maximum allowed size; expression size: "));
    }

    #[test]
    fn projecting() {
        let paths = parse("#n, a[1], a[3].x, m.k, m.absent, nope, l[5]").unwrap();
        assert_eq!(paths[0], vec![PathElem::Attr("name".into())]);
        let mut inner = BTreeMap::new();
        inner.insert("x".to_string(), n("3"));
        inner.insert("y".to_string(), n("4"));
        let mut m = BTreeMap::new();
        m.insert("k".to_string(), n("1"));
        m.insert("other".to_string(), n("2"));
        let item: Item = [
            ("name".to_string(), AttrValue::S("n".into())),
            ("a".to_string(), AttrValue::L(vec![n("0"), n("1"), n("2"), AttrValue::M(inner)])),
            ("m".to_string(), AttrValue::M(m)),
            ("l".to_string(), AttrValue::L(vec![])),
            ("z".to_string(), n("9")),
        ]
        .into_iter()
        .collect();
        let out = project(&item, &paths);
        let mut want_inner = BTreeMap::new();
        want_inner.insert("x".to_string(), n("3"));
        let mut want_m = BTreeMap::new();
        want_m.insert("k".to_string(), n("1"));
        let want: Item = [
            ("name".to_string(), AttrValue::S("n".into())),
            ("a".to_string(), AttrValue::L(vec![n("1"), AttrValue::M(want_inner)])),
            ("m".to_string(), AttrValue::M(want_m)),
        ]
        .into_iter()
        .collect();
        assert_eq!(out, want);
        // Order of the listed paths does not change list order.
        let out2 = project(&item, &[vec![PathElem::Attr("a".into()), PathElem::Index(2)], vec![PathElem::Attr("a".into()), PathElem::Index(0)]]);
        assert_eq!(out2.get("a"), Some(&AttrValue::L(vec![n("0"), n("2")])));
    }
}
