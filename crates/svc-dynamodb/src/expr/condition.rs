//! A parsed condition (ConditionExpression, FilterExpression, the legacy Expected and
//! filters) and its evaluation against an item.

use super::compare::{compare_values, values_equal};
use super::docpath::{get_path, Path};
use crate::number::Number;
use crate::value::{AttrValue, Item};
use std::borrow::Cow;
use std::cmp::Ordering;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "<>",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

/// What a comparison compares: a document path, a literal, or the size of either.
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    Path(Path),
    Value(AttrValue),
    Size(Box<Operand>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    And(Box<Condition>, Box<Condition>),
    Or(Box<Condition>, Box<Condition>),
    Not(Box<Condition>),
    Cmp(CmpOp, Operand, Operand),
    Between(Operand, Operand, Operand),
    In(Operand, Vec<Operand>),
    AttributeExists(Path),
    AttributeNotExists(Path),
    AttributeType(Operand, Operand),
    BeginsWith(Operand, Operand),
    Contains(Operand, Operand),
    /// Matches every item; the neutral element for an empty legacy condition map.
    True,
}

impl Operand {
    fn resolve<'i>(&'i self, item: &'i Item) -> Option<Cow<'i, AttrValue>> {
        match self {
            Operand::Path(p) => get_path(item, p).map(Cow::Borrowed),
            Operand::Value(v) => Some(Cow::Borrowed(v)),
            Operand::Size(inner) => size_of(&*inner.resolve(item)?).map(|n| Cow::Owned(AttrValue::N(n))),
        }
    }
}

/// `size()`: strings count UTF-16 code units (DynamoDB's measure, observed against the
/// service), binaries bytes, collections elements. Other types have no size.
fn size_of(v: &AttrValue) -> Option<Number> {
    let n = match v {
        AttrValue::S(s) => s.encode_utf16().count(),
        AttrValue::B(b) => b.len(),
        AttrValue::SS(s) => s.len(),
        AttrValue::NS(s) => s.len(),
        AttrValue::BS(s) => s.len(),
        AttrValue::L(l) => l.len(),
        AttrValue::M(m) => m.len(),
        _ => return None,
    };
    Some(Number::from_u64(n as u64))
}

impl Condition {
    pub fn eval(&self, item: &Item) -> bool {
        match self {
            Condition::True => true,
            Condition::And(a, b) => a.eval(item) && b.eval(item),
            Condition::Or(a, b) => a.eval(item) || b.eval(item),
            Condition::Not(a) => !a.eval(item),
            Condition::Cmp(op, a, b) => {
                let (x, y) = (a.resolve(item), b.resolve(item));
                match op {
                    // A missing operand is unequal to anything.
                    CmpOp::Ne => !matches!((&x, &y), (Some(x), Some(y)) if values_equal(x, y)),
                    CmpOp::Eq => matches!((&x, &y), (Some(x), Some(y)) if values_equal(x, y)),
                    _ => {
                        let ord = match (&x, &y) {
                            (Some(x), Some(y)) => compare_values(x, y),
                            _ => None,
                        };
                        match ord {
                            Some(o) => match op {
                                CmpOp::Lt => o == Ordering::Less,
                                CmpOp::Le => o != Ordering::Greater,
                                CmpOp::Gt => o == Ordering::Greater,
                                _ => o != Ordering::Less,
                            },
                            None => false,
                        }
                    }
                }
            }
            Condition::Between(a, lo, hi) => {
                let (Some(x), Some(l), Some(h)) = (a.resolve(item), lo.resolve(item), hi.resolve(item)) else {
                    return false;
                };
                matches!(compare_values(&x, &l), Some(Ordering::Greater | Ordering::Equal))
                    && matches!(compare_values(&x, &h), Some(Ordering::Less | Ordering::Equal))
            }
            Condition::In(a, list) => match a.resolve(item) {
                Some(x) => list.iter().any(|c| c.resolve(item).is_some_and(|v| values_equal(&x, &v))),
                None => false,
            },
            Condition::AttributeExists(p) => get_path(item, p).is_some(),
            Condition::AttributeNotExists(p) => get_path(item, p).is_none(),
            Condition::AttributeType(a, t) => match (a.resolve(item), t.resolve(item)) {
                (Some(v), Some(t)) => matches!(&*t, AttrValue::S(s) if s == v.type_name()),
                _ => false,
            },
            Condition::BeginsWith(a, b) => match (a.resolve(item), b.resolve(item)) {
                (Some(x), Some(y)) => match (&*x, &*y) {
                    (AttrValue::S(s), AttrValue::S(p)) => s.starts_with(p.as_str()),
                    (AttrValue::B(s), AttrValue::B(p)) => s.starts_with(p),
                    _ => false,
                },
                _ => false,
            },
            Condition::Contains(a, b) => match (a.resolve(item), b.resolve(item)) {
                (Some(x), Some(y)) => contains(&x, &y),
                _ => false,
            },
        }
    }

    /// The top-level attribute names the condition reads, which a Query's filter may not
    /// name when they are key attributes.
    pub fn path_heads(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_heads(&mut out);
        out
    }

    fn collect_heads<'a>(&'a self, out: &mut Vec<&'a str>) {
        let op = |o: &'a Operand, out: &mut Vec<&'a str>| operand_heads(o, out);
        match self {
            Condition::True => {}
            Condition::And(a, b) | Condition::Or(a, b) => {
                a.collect_heads(out);
                b.collect_heads(out);
            }
            Condition::Not(a) => a.collect_heads(out),
            Condition::Cmp(_, a, b)
            | Condition::AttributeType(a, b)
            | Condition::BeginsWith(a, b)
            | Condition::Contains(a, b) => {
                op(a, out);
                op(b, out);
            }
            Condition::Between(a, b, c) => {
                op(a, out);
                op(b, out);
                op(c, out);
            }
            Condition::In(a, l) => {
                op(a, out);
                for x in l {
                    op(x, out);
                }
            }
            Condition::AttributeExists(p) | Condition::AttributeNotExists(p) => head(p, out),
        }
    }
}

fn operand_heads<'a>(o: &'a Operand, out: &mut Vec<&'a str>) {
    match o {
        Operand::Path(p) => head(p, out),
        Operand::Size(inner) => operand_heads(inner, out),
        Operand::Value(_) => {}
    }
}

fn head<'a>(p: &'a Path, out: &mut Vec<&'a str>) {
    if let Some(super::docpath::PathElem::Attr(s)) = p.first() {
        if !out.contains(&s.as_str()) {
            out.push(s);
        }
    }
}

/// `contains`: substring of a string or binary, member of a set, element of a list.
pub(crate) fn contains(hay: &AttrValue, needle: &AttrValue) -> bool {
    match (hay, needle) {
        (AttrValue::S(s), AttrValue::S(n)) => s.contains(n.as_str()),
        (AttrValue::B(s), AttrValue::B(n)) => n.is_empty() || s.windows(n.len()).any(|w| w == n.as_slice()),
        (AttrValue::SS(s), AttrValue::S(n)) => s.contains(n),
        (AttrValue::NS(s), AttrValue::N(n)) => s.contains(n),
        (AttrValue::BS(s), AttrValue::B(n)) => s.contains(n),
        (AttrValue::L(l), n) => l.iter().any(|e| values_equal(e, n)),
        _ => false,
    }
}
