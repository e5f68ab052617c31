//! Equality and ordering between attribute values as DynamoDB's comparisons see them:
//! sets are unordered, numbers are numeric, strings and binaries order by unsigned bytes,
//! and values of different types are simply unequal.

use crate::value::AttrValue;
use std::cmp::Ordering;

pub fn values_equal(a: &AttrValue, b: &AttrValue) -> bool {
    use AttrValue::*;
    match (a, b) {
        (S(x), S(y)) => x == y,
        (N(x), N(y)) => x == y,
        (B(x), B(y)) => x == y,
        (Bool(x), Bool(y)) => x == y,
        (Null, Null) => true,
        (SS(x), SS(y)) => same_set(x, y),
        (NS(x), NS(y)) => same_set(x, y),
        (BS(x), BS(y)) => same_set(x, y),
        (L(x), L(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| values_equal(p, q)),
        (M(x), M(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| values_equal(v, w)))
        }
        _ => false,
    }
}

fn same_set<T: PartialEq>(x: &[T], y: &[T]) -> bool {
    x.len() == y.len() && x.iter().all(|v| y.contains(v))
}

/// Order between two scalars of the same orderable type (N, S, B); `None` otherwise,
/// which every ordering comparison treats as false.
pub fn compare_values(a: &AttrValue, b: &AttrValue) -> Option<Ordering> {
    match (a, b) {
        (AttrValue::N(x), AttrValue::N(y)) => Some(x.cmp(y)),
        (AttrValue::S(x), AttrValue::S(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (AttrValue::B(x), AttrValue::B(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::number::Number;
    use std::collections::BTreeMap;
    use AttrValue::*;

    fn n(s: &str) -> AttrValue {
        N(Number::parse(s).unwrap())
    }

    #[test]
    fn equality() {
        assert!(values_equal(&n("1.0"), &n("1")));
        assert!(!values_equal(&n("1"), &S("1".into())));
        assert!(values_equal(&SS(vec!["a".into(), "b".into()]), &SS(vec!["b".into(), "a".into()])));
        assert!(!values_equal(&SS(vec!["a".into()]), &SS(vec!["a".into(), "b".into()])));
        assert!(values_equal(&NS(vec![Number::parse("1").unwrap()]), &NS(vec![Number::parse("1.00").unwrap()])));
        assert!(values_equal(&L(vec![n("1"), Null]), &L(vec![n("1.0"), Null])));
        assert!(!values_equal(&L(vec![n("1"), Null]), &L(vec![Null, n("1")])));
        let m1: BTreeMap<String, AttrValue> = [("a".to_string(), n("2"))].into_iter().collect();
        let m2: BTreeMap<String, AttrValue> = [("a".to_string(), n("2.0"))].into_iter().collect();
        assert!(values_equal(&M(m1.clone()), &M(m2)));
        assert!(!values_equal(&M(m1), &M(BTreeMap::new())));
        assert!(values_equal(&Bool(true), &Bool(true)));
        assert!(values_equal(&BS(vec![vec![1]]), &BS(vec![vec![1]])));
    }

    #[test]
    fn ordering() {
        assert_eq!(compare_values(&n("10"), &n("9")), Some(Ordering::Greater));
        assert_eq!(compare_values(&S("a".into()), &S("B".into())), Some(Ordering::Greater));
        assert_eq!(compare_values(&S("é".into()), &S("z".into())), Some(Ordering::Greater));
        assert_eq!(compare_values(&B(vec![0xff]), &B(vec![0x01, 0x02])), Some(Ordering::Greater));
        assert_eq!(compare_values(&n("1"), &S("1".into())), None);
        assert_eq!(compare_values(&Bool(true), &Bool(false)), None);
    }
}
