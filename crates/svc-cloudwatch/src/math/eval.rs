//! Evaluation of the tree and the operators, which share one rule for combining
//! shapes: scalars broadcast, two series meet on the union of their timestamps with a
//! missing point counting as 0 (the guide says so for arithmetic and shows it for
//! comparisons), and arrays apply the operation member by member.

use super::parse::{Node, Op};
use super::{funcs, Context, Series, Value};

pub(crate) fn eval(n: &Node, ctx: &dyn Context) -> Result<Value, String> {
    match n {
        Node::Num(v) => Ok(Value::Scalar(*v)),
        Node::Id(id) => ctx.series(id),
        Node::Array(items) => {
            let mut out = Vec::new();
            for (node, label) in items {
                match eval(node, ctx)? {
                    Value::Series(s) => out.push((label.clone(), s)),
                    Value::Array(a) => out.extend(a),
                    Value::Scalar(_) => {
                        return Err(format!(
                            "An array can contain only time series, but '{label}' is a scalar"
                        ))
                    }
                }
            }
            Ok(Value::Array(out))
        }
        Node::Neg(x) => Ok(map_value(eval(x, ctx)?, |v| -v)),
        Node::Not(x) => Ok(map_value(eval(x, ctx)?, |v| truth(v == 0.0))),
        Node::Bin(..) => {
            // Walk the left spine instead of recursing: a chain like m1+m2+…+m500 is a
            // left-deep tree as tall as the chain is long.
            let mut rights = Vec::new();
            let mut cur = n;
            while let Node::Bin(op, l, r) = cur {
                rights.push((*op, r));
                cur = l;
            }
            let mut acc = eval(cur, ctx)?;
            for (op, r) in rights.into_iter().rev() {
                acc = binary(op, acc, eval(r, ctx)?)?;
            }
            Ok(acc)
        }
        Node::Call(name, args) => funcs::call(name, args, ctx),
    }
}

pub(crate) fn truth(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// Applies `f` to every point; points that stop being finite numbers (LOG of 0, a
/// division by zero, overflow) are dropped, as the guide says for division by zero.
pub(crate) fn map_series(s: &Series, f: impl Fn(f64) -> f64) -> Series {
    s.iter()
        .map(|(t, v)| (*t, f(*v)))
        .filter(|(_, v)| v.is_finite())
        .collect()
}

pub(crate) fn map_value(v: Value, f: impl Fn(f64) -> f64) -> Value {
    match v {
        Value::Scalar(x) => Value::Scalar(f(x)),
        Value::Series(s) => Value::Series(map_series(&s, f)),
        Value::Array(a) => Value::Array(
            a.into_iter()
                .map(|(l, s)| (l, map_series(&s, &f)))
                .collect(),
        ),
    }
}

fn apply(op: Op, a: f64, b: f64) -> f64 {
    match op {
        Op::Add => a + b,
        Op::Sub => a - b,
        Op::Mul => a * b,
        Op::Div if b == 0.0 => f64::NAN,
        Op::Div => a / b,
        Op::Pow => a.powf(b),
        Op::Lt => truth(a < b),
        Op::Gt => truth(a > b),
        Op::Le => truth(a <= b),
        Op::Ge => truth(a >= b),
        Op::Eq => truth(a == b),
        Op::Ne => truth(a != b),
        Op::And => truth(a != 0.0 && b != 0.0),
        Op::Or => truth(a != 0.0 || b != 0.0),
    }
}

fn zip_series(op: Op, a: &Series, b: &Series) -> Series {
    let mut out = Series::new();
    for t in a.keys().chain(b.keys()) {
        if out.contains_key(t) {
            continue;
        }
        let v = apply(
            op,
            a.get(t).copied().unwrap_or(0.0),
            b.get(t).copied().unwrap_or(0.0),
        );
        if v.is_finite() {
            out.insert(*t, v);
        }
    }
    out
}

fn symbol(op: Op) -> &'static str {
    match op {
        Op::Add => "+",
        Op::Sub => "-",
        Op::Mul => "*",
        Op::Div => "/",
        Op::Pow => "^",
        Op::Lt => "<",
        Op::Gt => ">",
        Op::Le => "<=",
        Op::Ge => ">=",
        Op::Eq => "==",
        Op::Ne => "!=",
        Op::And => "AND",
        Op::Or => "OR",
    }
}

pub(crate) fn binary(op: Op, l: Value, r: Value) -> Result<Value, String> {
    use Value::*;
    Ok(match (l, r) {
        (Scalar(a), Scalar(b)) => Scalar(apply(op, a, b)),
        (Series(s), Scalar(b)) => Series(map_series(&s, |a| apply(op, a, b))),
        (Scalar(a), Series(s)) => Series(map_series(&s, |b| apply(op, a, b))),
        (Series(a), Series(b)) => Series(zip_series(op, &a, &b)),
        (Array(arr), Scalar(b)) => Array(
            arr.into_iter()
                .map(|(l, s)| (l, map_series(&s, |a| apply(op, a, b))))
                .collect(),
        ),
        (Scalar(a), Array(arr)) => Array(
            arr.into_iter()
                .map(|(l, s)| (l, map_series(&s, |b| apply(op, a, b))))
                .collect(),
        ),
        (Array(arr), Series(b)) => Array(
            arr.into_iter()
                .map(|(l, s)| (l, zip_series(op, &s, &b)))
                .collect(),
        ),
        (Series(a), Array(arr)) => Array(
            arr.into_iter()
                .map(|(l, s)| (l, zip_series(op, &a, &s)))
                .collect(),
        ),
        (Array(_), Array(_)) => {
            return Err(format!(
                "The operator {} cannot combine two arrays of time series",
                symbol(op)
            ))
        }
    })
}
