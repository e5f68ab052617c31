//! Tests of the functions that work along a series or reorder arrays.

use super::tests_eval::{approx, arr, ctx, empty, labels, s, ts, BASE};
use super::{Series, Value};

#[test]
fn diff_rate_running_sum() {
    let c = ctx();
    assert_eq!(
        c.series("DIFF(m1)"),
        ts(&[None, Some(1.0), Some(1.0), Some(1.0), Some(1.0)])
    );
    assert_eq!(
        c.series("DIFF(m2)"),
        ts(&[None, None, Some(20.0), None, Some(20.0)])
    );
    assert_eq!(
        c.series("DIFF_TIME(m2)"),
        ts(&[None, None, Some(120.0), None, Some(120.0)])
    );
    assert_eq!(
        arr(&c, "DIFF_TIME(METRICS())")[0].1,
        ts(&[None, Some(60.0), Some(60.0), Some(60.0), Some(60.0)])
    );
    approx(
        &c.series("RATE(m2)"),
        &ts(&[None, None, Some(20.0 / 120.0), None, Some(20.0 / 120.0)]),
    );
    assert_eq!(
        c.series("RUNNING_SUM(m2)"),
        ts(&[Some(10.0), None, Some(40.0), None, Some(90.0)])
    );
    let r = arr(&c, "RUNNING_SUM([m1,m2])");
    assert_eq!(r[0].1, s(&[1.0, 3.0, 6.0, 10.0, 15.0]));
    assert_eq!(
        r[1].1,
        ts(&[Some(10.0), None, Some(40.0), None, Some(90.0)])
    );
    assert_eq!(c.series("DIFF(m3)"), Series::new());
    assert_eq!(
        c.fail("DIFF(5)"),
        "DIFF expects a time series or an array of time series, but was given a scalar"
    );
}

#[test]
fn fill_variants() {
    let c = empty(6)
        .with("m1", &[None, Some(2.0), None, None, Some(8.0), None])
        .with(
            "m2",
            &[Some(9.0), Some(9.0), Some(9.0), None, Some(9.0), Some(9.0)],
        );
    assert_eq!(
        c.series("FILL(m1, 10)"),
        ts(&[
            Some(10.0),
            Some(2.0),
            Some(10.0),
            Some(10.0),
            Some(8.0),
            Some(10.0)
        ])
    );
    assert_eq!(
        c.series("FILL(m1, MIN(m1))"),
        ts(&[
            Some(2.0),
            Some(2.0),
            Some(2.0),
            Some(2.0),
            Some(8.0),
            Some(2.0)
        ])
    );
    assert_eq!(
        c.series("FILL(m1, m2)"),
        ts(&[Some(9.0), Some(2.0), Some(9.0), None, Some(8.0), Some(9.0)])
    );
    assert_eq!(
        c.series("FILL(m1, REPEAT)"),
        ts(&[None, Some(2.0), Some(2.0), Some(2.0), Some(8.0), Some(8.0)])
    );
    assert_eq!(
        c.series("FILL(m1, LINEAR)"),
        ts(&[None, Some(2.0), Some(4.0), Some(6.0), Some(8.0), None])
    );
    let a = arr(&c, "FILL(METRICS(), 0)");
    assert_eq!(labels(&a), vec!["m1", "m2"]);
    assert_eq!(
        a[1].1,
        ts(&[
            Some(9.0),
            Some(9.0),
            Some(9.0),
            Some(0.0),
            Some(9.0),
            Some(9.0)
        ])
    );
    assert_eq!(
        arr(&c, "FILL(METRICS(), m2)")[0].1,
        c.series("FILL(m1, m2)")
    );
    assert_eq!(arr(&c, "FILL(METRICS(), LINEAR)")[1].1.len(), 6);
    // A filled series no longer has holes, so arithmetic lines up the way users expect.
    assert_eq!(c.series("FILL(m1, 0) + m2").len(), 6);
    assert_eq!(c.fail("FILL(m1, METRICS())"), "FILL expects a scalar, a time series, REPEAT or LINEAR as its second argument, but was given an array of time series");
    assert_eq!(
        c.fail("FILL(3, 0)"),
        "FILL expects a time series or an array of time series, but was given a scalar"
    );
}

#[test]
fn first_last_sort_slice() {
    let c = empty(3)
        .with("a", &[Some(1.0), Some(1.0), Some(1.0)])
        .with("b", &[Some(5.0), Some(0.0), Some(0.0)])
        .with("c", &[Some(3.0), Some(3.0), Some(3.0)])
        .with("d", &[]);
    let sorted = |src: &str| {
        labels(&arr(&c, src))
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>()
    };
    assert_eq!(sorted("SORT(METRICS(), AVG, DESC)"), ["c", "b", "a", "d"]);
    assert_eq!(sorted("SORT(METRICS(), AVG, ASC)"), ["a", "b", "c", "d"]);
    assert_eq!(sorted("SORT(METRICS(), MAX, DESC)"), ["b", "c", "a", "d"]);
    assert_eq!(sorted("SORT(METRICS(), MIN, ASC)"), ["b", "a", "c", "d"]);
    assert_eq!(sorted("SORT(METRICS(), SUM, DESC, 2)"), ["c", "b"]);
    assert_eq!(
        sorted("SLICE(SORT(METRICS(), SUM, DESC), 0, 2)"),
        ["c", "b"]
    );
    assert_eq!(
        sorted("SLICE(SORT(METRICS(), AVG, ASC), 1)"),
        ["b", "c", "d"]
    );
    assert_eq!(sorted("SLICE(METRICS(), 3, 1)"), Vec::<String>::new());
    assert_eq!(sorted("SLICE(METRICS(), 10)"), Vec::<String>::new());
    assert_eq!(sorted("SLICE(METRICS(), 1.9, 2.2)"), ["b"]);
    assert_eq!(sorted("REMOVE_EMPTY(METRICS())"), ["a", "b", "c"]);
    assert_eq!(c.series("FIRST(SORT(METRICS(), AVG, DESC))"), c.series("c"));
    assert_eq!(c.series("LAST(REMOVE_EMPTY(METRICS()))"), c.series("c"));
    assert_eq!(
        c.series("IF(FIRST(SORT(METRICS(), AVG, DESC))>2, 1, 0)"),
        s(&[1.0, 1.0, 1.0])
    );
    assert_eq!(c.series("FIRST(METRICS(\"zzz\"))"), Series::new());
    assert_eq!(c.eval("METRIC_COUNT(METRICS())"), Value::Scalar(4.0));
    assert_eq!(
        c.fail("FIRST(a)"),
        "FIRST expects an array of time series, but was given a time series"
    );
    assert_eq!(
        c.fail("SLICE(METRICS(), -1)"),
        "SLICE expects a non-negative number, but was given -1"
    );
    assert_eq!(
        c.fail("SORT(METRICS(), SUM, ASC, a)"),
        "SORT expects a scalar, but was given a time series"
    );
}

#[test]
fn time_series_and_calendar() {
    let c = ctx();
    assert_eq!(c.series("TIME_SERIES(10)"), s(&[10.0; 5]));
    assert_eq!(c.series("TIME_SERIES(MAX(m1))"), s(&[5.0; 5]));
    assert_eq!(c.series("TIME_SERIES(5*AVG(m1))"), s(&[15.0; 5]));
    assert_eq!(c.series("TIME_SERIES(AVG(m3))"), Series::new());
    assert_eq!(
        c.fail("TIME_SERIES(m1)"),
        "TIME_SERIES expects a scalar, but was given a time series"
    );
    // BASE is 2023-11-14T22:14:00Z, a Tuesday; the grid steps one minute.
    assert_eq!(c.series("MINUTE(m3)"), s(&[14.0, 15.0, 16.0, 17.0, 18.0]));
    assert_eq!(c.series("HOUR(m1)"), s(&[22.0; 5]));
    assert_eq!(c.series("DAY(m1)"), s(&[2.0; 5]));
    assert_eq!(c.series("DATE(m1)"), s(&[14.0; 5]));
    assert_eq!(c.series("MONTH(m1)"), s(&[11.0; 5]));
    assert_eq!(c.series("YEAR(m1)"), s(&[2023.0; 5]));
    assert_eq!(c.series("EPOCH(m1)")[&BASE], (BASE / 1000) as f64);
    assert_eq!(c.series("IF(DAY(m1)<6, m1)"), c.series("m1"));
    assert_eq!(c.series("IF(MONTH(m1) == 4, m1)"), Series::new());
    assert_eq!(
        c.series("IF((DAY(m1)<6 AND (HOUR(m1)>=9 AND HOUR(m1)<17)),m1)"),
        Series::new()
    );
    let leap = super::time::part("DATE", 951_782_400_000); // 2000-02-29T00:00:00Z
    assert_eq!(
        (
            leap,
            super::time::part("DAY", 0),
            super::time::part("YEAR", -1)
        ),
        (29.0, 4.0, 1969.0)
    );
}

#[test]
fn math_functions_drop_undefined_points() {
    let c = ctx();
    approx(
        &c.series("LOG(m1 - 1)"),
        &ts(&[
            None,
            Some(0.0),
            Some(2f64.ln()),
            Some(3f64.ln()),
            Some(4f64.ln()),
        ]),
    );
    assert_eq!(
        c.series("LOG10(m2)"),
        ts(&[
            Some(1.0),
            None,
            Some(30f64.log10()),
            None,
            Some(50f64.log10())
        ])
    );
    assert_eq!(
        c.series("SQRT(m1 - 2)"),
        ts(&[
            None,
            Some(0.0),
            Some(1.0),
            Some(2f64.sqrt()),
            Some(3f64.sqrt())
        ])
    );
    assert_eq!(arr(&c, "LOG(METRICS())").len(), 6);
}

#[test]
fn period_needs_a_metric() {
    let c = ctx();
    assert_eq!(c.eval("PERIOD(m1)"), Value::Scalar(60.0));
    assert_eq!(
        c.fail("PERIOD(e1)"),
        "PERIOD accepts only the id of a metric, and 'e1' is not one"
    );
    assert_eq!(
        c.fail("PERIOD(m1 + 1)"),
        "PERIOD accepts only the id of a metric"
    );
}
