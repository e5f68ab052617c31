//! The functions of the guide's "Functions supported for metric math" table.
//! Argument shapes follow its Arguments / Return type columns; where it is silent,
//! the choice is noted on the function.

use super::eval::{eval, map_value};
use super::parse::{Arg, Node};
use super::{time, Context, Series, Value};

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Scalar(_) => "a scalar",
        Value::Series(_) => "a time series",
        Value::Array(_) => "an array of time series",
    }
}

fn bad(func: &str, v: &Value, want: &str) -> String {
    format!("{func} expects {want}, but was given {}", kind(v))
}

fn expr<'a>(func: &str, arg: &'a Arg) -> Result<&'a Node, String> {
    match arg {
        Arg::Expr(n) => Ok(n),
        _ => Err(format!("{func} received an argument of the wrong kind")),
    }
}

fn value(func: &str, arg: &Arg, ctx: &dyn Context) -> Result<Value, String> {
    eval(expr(func, arg)?, ctx)
}

fn scalar(func: &str, arg: &Arg, ctx: &dyn Context) -> Result<f64, String> {
    match value(func, arg, ctx)? {
        Value::Scalar(v) => Ok(v),
        v => Err(bad(func, &v, "a scalar")),
    }
}

fn array(func: &str, arg: &Arg, ctx: &dyn Context) -> Result<Vec<(String, Series)>, String> {
    match value(func, arg, ctx)? {
        Value::Array(a) => Ok(a),
        v => Err(bad(func, &v, "an array of time series")),
    }
}

/// Applies a series → series transform to a TS or to each member of a TS[].
fn per_series(func: &str, v: Value, f: impl Fn(&Series) -> Series) -> Result<Value, String> {
    match v {
        Value::Series(s) => Ok(Value::Series(f(&s))),
        Value::Array(a) => Ok(Value::Array(
            a.into_iter().map(|(l, s)| (l, f(&s))).collect(),
        )),
        v => Err(bad(func, &v, "a time series or an array of time series")),
    }
}

pub(crate) fn call(name: &str, args: &[Arg], ctx: &dyn Context) -> Result<Value, String> {
    let arg0 = || value(name, &args[0], ctx);
    match name {
        "ABS" => Ok(map_value(arg0()?, f64::abs)),
        "CEIL" => Ok(map_value(arg0()?, f64::ceil)),
        "FLOOR" => Ok(map_value(arg0()?, f64::floor)),
        "LOG" => Ok(map_value(arg0()?, f64::ln)),
        "LOG10" => Ok(map_value(arg0()?, f64::log10)),
        "SQRT" => Ok(map_value(arg0()?, f64::sqrt)),
        "AVG" | "MAX" | "MIN" | "SUM" | "STDDEV" | "DATAPOINT_COUNT" => {
            Ok(aggregate(name, arg0()?))
        }
        "DIFF" => per_series(name, arg0()?, |s| pairwise(s, |(_, a), (_, b)| b - a)),
        "DIFF_TIME" => per_series(name, arg0()?, |s| {
            pairwise(s, |(ta, _), (tb, _)| secs(ta, tb))
        }),
        "RATE" => per_series(name, arg0()?, |s| {
            pairwise(s, |(ta, a), (tb, b)| (b - a) / secs(ta, tb))
        }),
        "RUNNING_SUM" => per_series(name, arg0()?, running_sum),
        "FILL" => fill(args, ctx),
        "FIRST" | "LAST" => {
            let a = array(name, &args[0], ctx)?;
            let pick = if name == "FIRST" {
                a.into_iter().next()
            } else {
                a.into_iter().last()
            };
            Ok(Value::Series(pick.map(|(_, s)| s).unwrap_or_default()))
        }
        "IF" => if_fn(args, ctx),
        "METRIC_COUNT" => Ok(Value::Scalar(array(name, &args[0], ctx)?.len() as f64)),
        "METRICS" => {
            let filter = match args.first() {
                Some(Arg::Str(s)) => s.as_str(),
                _ => "",
            };
            Ok(Value::Array(
                ctx.metrics()
                    .into_iter()
                    .filter(|(id, _)| id.contains(filter))
                    .collect(),
            ))
        }
        "MINUTE" | "HOUR" | "DAY" | "DATE" | "MONTH" | "YEAR" | "EPOCH" => match arg0()? {
            Value::Series(s) => {
                let mut grid = ctx.grid();
                if grid.is_empty() {
                    grid = s.keys().copied().collect();
                }
                Ok(Value::Series(
                    grid.into_iter().map(|t| (t, time::part(name, t))).collect(),
                ))
            }
            v => Err(bad(name, &v, "a time series")),
        },
        "PERIOD" => period(args, ctx),
        "REMOVE_EMPTY" => Ok(Value::Array(
            array(name, &args[0], ctx)?
                .into_iter()
                .filter(|(_, s)| !s.is_empty())
                .collect(),
        )),
        "SLICE" => {
            let a = array(name, &args[0], ctx)?;
            let start = index(name, scalar(name, &args[1], ctx)?)?.min(a.len());
            let end = match args.get(2) {
                Some(arg) => index(name, scalar(name, arg, ctx)?)?.clamp(start, a.len()),
                None => a.len(),
            };
            Ok(Value::Array(a[start..end].to_vec()))
        }
        "SORT" => sort(args, ctx),
        "TIME_SERIES" => {
            let v = scalar(name, &args[0], ctx)?;
            let grid = if v.is_finite() {
                ctx.grid()
            } else {
                Vec::new()
            };
            Ok(Value::Series(grid.into_iter().map(|t| (t, v)).collect()))
        }
        _ => Err(format!("Unknown function {name}")),
    }
}

fn secs(ta: i64, tb: i64) -> f64 {
    (tb as f64 - ta as f64) / 1000.0
}

/// DIFF, DIFF_TIME and RATE: each point against its predecessor, so the first point has
/// no result.
fn pairwise(s: &Series, f: impl Fn((i64, f64), (i64, f64)) -> f64) -> Series {
    let pts: Vec<(i64, f64)> = s.iter().map(|(t, v)| (*t, *v)).collect();
    pts.windows(2)
        .map(|w| (w[1].0, f(w[0], w[1])))
        .filter(|(_, v)| v.is_finite())
        .collect()
}

fn running_sum(s: &Series) -> Series {
    let mut acc = 0.0;
    let mut out = Series::new();
    for (t, v) in s {
        acc += v;
        if acc.is_finite() {
            out.insert(*t, acc);
        }
    }
    out
}

/// SLICE bounds: fractions are truncated; negative or non-numeric bounds are errors
/// because the guide defines only zero-based positions.
fn index(func: &str, v: f64) -> Result<usize, String> {
    if !v.is_finite() || v < 0.0 {
        return Err(format!(
            "{func} expects a non-negative number, but was given {v}"
        ));
    }
    Ok(v as usize)
}

/// One statistic over values; None when there is nothing to measure.
pub(crate) fn stat(func: &str, vals: &[f64]) -> Option<f64> {
    if func == "DATAPOINT_COUNT" {
        return Some(vals.len() as f64);
    }
    if vals.is_empty() {
        return if func == "SUM" { Some(0.0) } else { None };
    }
    let n = vals.len() as f64;
    let sum: f64 = vals.iter().sum();
    Some(match func {
        "SUM" => sum,
        "AVG" => sum / n,
        "MAX" => vals.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        "MIN" => vals.iter().copied().fold(f64::INFINITY, f64::min),
        // Population standard deviation; AWS does not say which one it uses.
        _ => (vals.iter().map(|v| (v - sum / n).powi(2)).sum::<f64>() / n).sqrt(),
    })
}

/// On one series: a scalar over its points. On an array: a series holding, for every
/// timestamp any member has, the statistic across members. AVG counts a member missing
/// at that timestamp as 0 (the guide says so); the others use only the values present.
fn aggregate(func: &str, v: Value) -> Value {
    match v {
        Value::Scalar(x) => Value::Scalar(stat(func, &[x]).unwrap_or(f64::NAN)),
        Value::Series(s) => {
            let vals: Vec<f64> = s.values().copied().collect();
            Value::Scalar(stat(func, &vals).unwrap_or(f64::NAN))
        }
        Value::Array(a) => {
            let mut at: std::collections::BTreeMap<i64, Vec<f64>> = Default::default();
            for (_, s) in &a {
                for (t, v) in s {
                    at.entry(*t).or_default().push(*v);
                }
            }
            let out = at.into_iter().filter_map(|(t, vals)| {
                let r = if func == "AVG" {
                    vals.iter().sum::<f64>() / a.len() as f64
                } else {
                    stat(func, &vals)?
                };
                r.is_finite().then_some((t, r))
            });
            Value::Series(out.collect())
        }
    }
}

/// FILL fills the request's grid timestamps a series lacks. REPEAT carries the last
/// earlier value forward; LINEAR interpolates between the values either side of the gap.
/// Gaps before the first (REPEAT, LINEAR) or after the last (LINEAR) value stay empty,
/// since there is nothing to repeat or interpolate from.
fn fill(args: &[Arg], ctx: &dyn Context) -> Result<Value, String> {
    let target = value("FILL", &args[0], ctx)?;
    enum Filler {
        Const(f64),
        From(Series),
        Repeat,
        Linear,
    }
    let filler = match &args[1] {
        Arg::Word(w) if w == "REPEAT" => Filler::Repeat,
        Arg::Word(_) => Filler::Linear,
        arg => match value("FILL", arg, ctx)? {
            Value::Scalar(v) => Filler::Const(v),
            Value::Series(s) => Filler::From(s),
            v => {
                return Err(bad(
                    "FILL",
                    &v,
                    "a scalar, a time series, REPEAT or LINEAR as its second argument",
                ))
            }
        },
    };
    let grid = ctx.grid();
    per_series("FILL", target, |s| {
        let mut out = s.clone();
        for &t in grid.iter().filter(|t| !s.contains_key(t)) {
            let before = s.range(..t).next_back();
            let v = match &filler {
                Filler::Const(v) => Some(*v),
                Filler::From(f) => f.get(&t).copied(),
                Filler::Repeat => before.map(|(_, v)| *v),
                Filler::Linear => match (before, s.range(t..).next()) {
                    (Some((&t0, &v0)), Some((&t1, &v1))) => {
                        Some(v0 + (v1 - v0) * (t as f64 - t0 as f64) / (t1 as f64 - t0 as f64))
                    }
                    _ => None,
                },
            };
            if let Some(v) = v.filter(|v| v.is_finite()) {
                out.insert(t, v);
            }
        }
        out
    })
}

/// IF per the guide's "Using IF expressions": a series condition yields a point for each
/// timestamp of the condition; a true condition with the true branch missing there gives
/// 0; a false condition with the false branch missing (or omitted) drops the point.
fn if_fn(args: &[Arg], ctx: &dyn Context) -> Result<Value, String> {
    let mut vals = Vec::new();
    for a in args {
        match value("IF", a, ctx)? {
            v @ Value::Array(_) => return Err(bad("IF", &v, "scalars or time series")),
            v => vals.push(v),
        }
    }
    let mut it = vals.into_iter();
    let (cond, yes, no) = (it.next(), it.next(), it.next());
    let (Some(cond), Some(yes)) = (cond, yes) else {
        return Err("IF takes 2 to 3 argument(s)".to_string());
    };
    match cond {
        Value::Scalar(c) if c != 0.0 && !c.is_nan() => Ok(yes),
        Value::Scalar(_) => Ok(no.unwrap_or(Value::Series(Series::new()))),
        Value::Series(c) => {
            let mut out = Series::new();
            for (t, cv) in c {
                let v = if cv != 0.0 {
                    match &yes {
                        Value::Series(s) => Some(s.get(&t).copied().unwrap_or(0.0)),
                        Value::Scalar(v) => Some(*v),
                        Value::Array(_) => None,
                    }
                } else {
                    match &no {
                        Some(Value::Series(s)) => s.get(&t).copied(),
                        Some(Value::Scalar(v)) => Some(*v),
                        _ => None,
                    }
                };
                if let Some(v) = v.filter(|v| v.is_finite()) {
                    out.insert(t, v);
                }
            }
            Ok(Value::Series(out))
        }
        v => Err(bad("IF", &v, "a scalar or a time series as its condition")),
    }
}

/// The guide: "Valid input is metrics, not the results of other expressions", so the
/// argument must name a MetricStat query. Every query shares the request's period here.
fn period(args: &[Arg], ctx: &dyn Context) -> Result<Value, String> {
    match expr("PERIOD", &args[0])? {
        Node::Id(id) if ctx.metrics().iter().any(|(m, _)| m == id) => {
            Ok(Value::Scalar(ctx.period() as f64))
        }
        Node::Id(id) => Err(format!(
            "PERIOD accepts only the id of a metric, and '{id}' is not one"
        )),
        _ => Err("PERIOD accepts only the id of a metric".to_string()),
    }
}

/// SORT orders by one statistic of each member (stable, so ties keep request order);
/// members without data have no statistic and go last in either order.
fn sort(args: &[Arg], ctx: &dyn Context) -> Result<Value, String> {
    let a = array("SORT", &args[0], ctx)?;
    let (Arg::Word(func), Arg::Word(order)) = (&args[1], &args[2]) else {
        return Err(
            "SORT expects a function (AVG, MIN, MAX, SUM) and an order (ASC, DESC)".to_string(),
        );
    };
    let limit = match args.get(3) {
        Some(arg) => index("SORT", scalar("SORT", arg, ctx)?)?,
        None => usize::MAX,
    };
    let mut keyed: Vec<(Option<f64>, (String, Series))> = a
        .into_iter()
        .map(|m| {
            (
                stat(func, &m.1.values().copied().collect::<Vec<_>>()).filter(|v| v.is_finite()),
                m,
            )
        })
        .collect();
    let desc = order == "DESC";
    keyed.sort_by(|x, y| match (x.0, y.0) {
        (Some(a), Some(b)) if desc => b.total_cmp(&a),
        (Some(a), Some(b)) => a.total_cmp(&b),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
    Ok(Value::Array(
        keyed.into_iter().take(limit).map(|(_, m)| m).collect(),
    ))
}
