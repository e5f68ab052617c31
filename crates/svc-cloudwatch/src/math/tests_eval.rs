//! Evaluation tests, mostly the worked examples of the guide's tables.

use super::{Context, Expression, Series, Value};

pub(super) const BASE: i64 = 1_700_000_040_000; // 2023-11-14T22:14:00Z, a Tuesday
const STEP: i64 = 60_000;

/// A series on the test grid; None leaves a gap.
pub(super) fn ts(vals: &[Option<f64>]) -> Series {
    vals.iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (BASE + i as i64 * STEP, v)))
        .collect()
}

pub(super) fn s(vals: &[f64]) -> Series {
    ts(&vals.iter().map(|v| Some(*v)).collect::<Vec<_>>())
}

pub(super) struct Ctx {
    metrics: Vec<(String, Series)>,
    exprs: Vec<(String, Value)>,
    grid: Vec<i64>,
}

impl Context for Ctx {
    fn series(&self, id: &str) -> Result<Value, String> {
        if let Some((_, s)) = self.metrics.iter().find(|(m, _)| m == id) {
            return Ok(Value::Series(s.clone()));
        }
        self.exprs
            .iter()
            .find(|(e, _)| e == id)
            .map(|(_, v)| v.clone())
            .ok_or(format!("Unknown id {id}"))
    }
    fn metrics(&self) -> Vec<(String, Series)> {
        self.metrics.clone()
    }
    fn grid(&self) -> Vec<i64> {
        self.grid.clone()
    }
    fn period(&self) -> i64 {
        60
    }
}

impl Ctx {
    pub(super) fn with(mut self, id: &str, vals: &[Option<f64>]) -> Ctx {
        self.metrics.push((id.to_string(), ts(vals)));
        self
    }
    pub(super) fn eval(&self, src: &str) -> Value {
        Expression::parse(src)
            .unwrap_or_else(|e| panic!("{src}: {e}"))
            .eval(self)
            .unwrap_or_else(|e| panic!("{src}: {e}"))
    }
    pub(super) fn fail(&self, src: &str) -> String {
        Expression::parse(src).unwrap().eval(self).expect_err(src)
    }
    pub(super) fn series(&self, src: &str) -> Series {
        match self.eval(src) {
            Value::Series(s) => s,
            v => panic!("{src}: not a series: {v:?}"),
        }
    }
}

pub(super) fn empty(points: usize) -> Ctx {
    Ctx {
        metrics: vec![],
        exprs: vec![],
        grid: (0..points as i64).map(|i| BASE + i * STEP).collect(),
    }
}

/// m1 = [1,2,3,4,5], m2 = [10,-,30,-,50], m3 = [], errors_a/errors_b/requests_a for METRICS("…").
pub(super) fn ctx() -> Ctx {
    let mut c = empty(5)
        .with(
            "m1",
            &[Some(1.0), Some(2.0), Some(3.0), Some(4.0), Some(5.0)],
        )
        .with("m2", &[Some(10.0), None, Some(30.0), None, Some(50.0)])
        .with("m3", &[])
        .with(
            "errors_a",
            &[Some(1.0), Some(1.0), Some(1.0), Some(1.0), Some(1.0)],
        )
        .with("errors_b", &[Some(2.0), None, Some(2.0), None, Some(2.0)])
        .with(
            "requests_a",
            &[
                Some(100.0),
                Some(100.0),
                Some(100.0),
                Some(100.0),
                Some(100.0),
            ],
        );
    c.exprs
        .push(("e1".into(), Value::Series(s(&[7.0, 7.0, 7.0, 7.0, 7.0]))));
    c
}

fn docs_pair() -> Ctx {
    empty(4)
        .with("metric1", &[Some(30.0), Some(20.0), Some(0.0), Some(0.0)])
        .with("metric2", &[Some(20.0), None, Some(20.0), None])
}

#[test]
fn comparison_table_of_the_guide() {
    let c = docs_pair();
    assert_eq!(c.series("(metric1 < metric2)"), s(&[0.0, 0.0, 1.0, 0.0]));
    assert_eq!(c.series("(metric1 >= 30)"), s(&[1.0, 0.0, 0.0, 0.0]));
    assert_eq!(
        c.series("(metric1 > 15 AND metric2 > 15)"),
        s(&[1.0, 0.0, 0.0, 0.0])
    );
    assert_eq!(
        c.series("metric1 > 15 && metric2 > 15"),
        s(&[1.0, 0.0, 0.0, 0.0])
    );
    assert_eq!(
        c.series("metric1 == 0 OR metric2 == 20"),
        s(&[1.0, 0.0, 1.0, 1.0])
    );
    assert_eq!(c.series("NOT metric1"), s(&[0.0, 0.0, 1.0, 1.0]));
    assert_eq!(c.eval("3 > 2"), Value::Scalar(1.0));
}

fn if_ctx() -> Ctx {
    empty(5)
        .with(
            "metric1",
            &[Some(1.0), Some(1.0), Some(0.0), Some(0.0), None],
        )
        .with(
            "metric2",
            &[Some(30.0), None, Some(0.0), Some(0.0), Some(30.0)],
        )
        .with(
            "metric3",
            &[Some(0.0), Some(0.0), Some(20.0), None, Some(20.0)],
        )
}

#[test]
fn if_tables_of_the_guide() {
    let c = if_ctx();
    assert_eq!(
        c.series("IF(metric1, metric2, metric3)"),
        ts(&[Some(30.0), Some(0.0), Some(20.0), None, None])
    );
    assert_eq!(
        c.series("IF(metric1, 5, metric3)"),
        ts(&[Some(5.0), Some(5.0), Some(20.0), None, None])
    );
    assert_eq!(
        c.series("IF(metric1, metric2, 5)"),
        ts(&[Some(30.0), Some(0.0), Some(5.0), Some(5.0), None])
    );
    assert_eq!(
        c.series("IF(metric1, metric2)"),
        ts(&[Some(30.0), Some(0.0), None, None, None])
    );
    assert_eq!(c.series("IF(1, metric2, metric3)"), c.series("metric2"));
    assert_eq!(c.series("IF(0, metric2, metric3)"), c.series("metric3"));
    assert_eq!(c.series("IF(0, metric2)"), Series::new());
}

#[test]
fn if_use_cases_of_the_guide() {
    let c = ctx();
    assert_eq!(
        c.series("IF(m2<40, m2)"),
        ts(&[Some(10.0), None, Some(30.0), None, None])
    );
    assert_eq!(c.series("IF(m1<3, 10, 2)"), s(&[10.0, 10.0, 2.0, 2.0, 2.0]));
    assert_eq!(c.series("IF(m1>m2, 1, 0)"), s(&[0.0, 1.0, 0.0, 1.0, 0.0]));
    assert_eq!(
        c.fail("IF(METRICS(), 1)"),
        "IF expects scalars or time series, but was given an array of time series"
    );
}

#[test]
fn arithmetic() {
    let c = ctx();
    assert_eq!(c.series("5 * m1"), s(&[5.0, 10.0, 15.0, 20.0, 25.0]));
    assert_eq!(c.series("-m1"), s(&[-1.0, -2.0, -3.0, -4.0, -5.0]));
    assert_eq!(c.series("-5*m1 + m1*5"), s(&[0.0; 5]));
    assert_eq!(c.series("m1 ^ 2"), s(&[1.0, 4.0, 9.0, 16.0, 25.0]));
    // Missing points count as 0 when two series meet.
    assert_eq!(c.series("m1 + m2"), s(&[11.0, 2.0, 33.0, 4.0, 55.0]));
    assert_eq!(c.series("m2 - m1"), s(&[9.0, -2.0, 27.0, -4.0, 45.0]));
    // …and a division by zero drops the point.
    assert_eq!(
        c.series("m1 / m2"),
        ts(&[Some(0.1), None, Some(0.1), None, Some(0.1)])
    );
    assert_eq!(
        c.series("m1 / (m1 - 3)"),
        ts(&[Some(-0.5), Some(-2.0), None, Some(4.0), Some(2.5)])
    );
    assert_eq!(c.series("m1 - AVG(m1)"), s(&[-2.0, -1.0, 0.0, 1.0, 2.0]));
    assert_eq!(c.series("MAX(m1)/m1"), s(&[5.0, 2.5, 5.0 / 3.0, 1.25, 1.0]));
    assert_eq!(c.series("m1 + e1"), s(&[8.0, 9.0, 10.0, 11.0, 12.0]));
    assert_eq!(c.series("m1 * (1/0)"), Series::new());
    assert_eq!(c.eval("PERIOD(m1)/60"), Value::Scalar(1.0));
    assert_eq!(c.series("m1/PERIOD(m1)"), c.series("m1/60"));
    assert_eq!(c.fail("m9 + 1"), "Unknown id m9");
}

pub(super) fn approx(a: &Series, b: &Series) {
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "{a:?} vs {b:?}"
    );
    for (x, y) in a.values().zip(b.values()) {
        assert!((x - y).abs() < 1e-9, "{a:?} vs {b:?}");
    }
}

pub(super) fn arr(c: &Ctx, src: &str) -> Vec<(String, Series)> {
    match c.eval(src) {
        Value::Array(a) => a,
        v => panic!("{src}: not an array: {v:?}"),
    }
}

pub(super) fn labels(a: &[(String, Series)]) -> Vec<&str> {
    a.iter().map(|(l, _)| l.as_str()).collect()
}

#[test]
fn arrays_and_metrics() {
    let c = ctx();
    assert_eq!(
        labels(&arr(&c, "METRICS()")),
        vec!["m1", "m2", "m3", "errors_a", "errors_b", "requests_a"]
    );
    assert_eq!(
        labels(&arr(&c, "METRICS(\"errors\")")),
        vec!["errors_a", "errors_b"]
    );
    assert_eq!(
        labels(&arr(&c, "[METRICS(“errors”), m1 * 2, e1]")),
        vec!["errors_a", "errors_b", "m1 * 2", "e1"]
    );
    assert_eq!(
        c.series("SUM(METRICS(\"errors\"))"),
        s(&[3.0, 1.0, 3.0, 1.0, 3.0])
    );
    assert_eq!(
        c.series("SUM(METRICS(\"errors\"))/SUM(METRICS(\"requests\"))*100"),
        s(&[3.0, 1.0, 3.0, 1.0, 3.0])
    );
    assert_eq!(
        arr(&c, "METRICS()/100")[0].1,
        s(&[0.01, 0.02, 0.03, 0.04, 0.05])
    );
    assert_eq!(
        c.series("SUM(-[m1, m2])"),
        s(&[-11.0, -2.0, -33.0, -4.0, -55.0])
    );
    assert_eq!(
        c.series("SUM(100/[m1, m2])"),
        s(&[110.0, 50.0, 100.0 / 3.0 + 100.0 / 30.0, 25.0, 22.0])
    );
    approx(&c.series("AVG([m1,m2]/e1)"), &c.series("AVG([m1,m2])/7"));
    assert_eq!(
        c.series("SUM([m1,m2])/AVG(m2)"),
        s(&[
            11.0 / 30.0,
            2.0 / 30.0,
            33.0 / 30.0,
            4.0 / 30.0,
            55.0 / 30.0
        ])
    );
    assert_eq!(
        c.eval("m1/METRIC_COUNT(METRICS())"),
        Value::Series(s(&[1.0, 2.0, 3.0, 4.0, 5.0].map(|v| v / 6.0)))
    );
    assert_eq!(
        c.fail("[m1, 2]"),
        "An array can contain only time series, but '2' is a scalar"
    );
    assert_eq!(
        c.fail("METRICS() + [m1]"),
        "The operator + cannot combine two arrays of time series"
    );
    let grouped = Ctx {
        exprs: vec![("q1".into(), Value::Array(vec![("a".into(), s(&[1.0]))]))],
        ..empty(1)
    };
    assert_eq!(
        arr(&grouped, "q1/1024"),
        vec![("a".to_string(), s(&[1.0 / 1024.0]))]
    );
}

#[test]
fn aggregates() {
    let c = ctx();
    assert_eq!(c.eval("AVG(m1)"), Value::Scalar(3.0));
    assert_eq!(c.eval("SUM(m2)"), Value::Scalar(90.0));
    assert_eq!(c.eval("MIN(m2)"), Value::Scalar(10.0));
    assert_eq!(c.eval("MAX(m2)"), Value::Scalar(50.0));
    assert_eq!(c.eval("STDDEV(m1)"), Value::Scalar(2f64.sqrt()));
    assert_eq!(c.eval("DATAPOINT_COUNT(m2)"), Value::Scalar(3.0));
    assert_eq!(
        c.series("SUM(m2) / DATAPOINT_COUNT(m2) + 0 * m1"),
        s(&[30.0; 5])
    );
    // AVG over an array counts a missing member as 0; MIN/MAX use what is there.
    assert_eq!(c.series("AVG([m1, m2])"), s(&[5.5, 1.0, 16.5, 2.0, 27.5]));
    assert_eq!(c.series("MAX([m1, m2])"), s(&[10.0, 2.0, 30.0, 4.0, 50.0]));
    assert_eq!(c.series("MIN([m1, m2])"), s(&[1.0, 2.0, 3.0, 4.0, 5.0]));
    assert_eq!(c.series("STDDEV([m1, e1])"), s(&[3.0, 2.5, 2.0, 1.5, 1.0]));
    assert_eq!(
        c.series("DATAPOINT_COUNT([m1, m2, m3])"),
        s(&[2.0, 1.0, 2.0, 1.0, 2.0])
    );
    assert_eq!(
        c.series("MIN(ABS([m1 - 20, m2]))"),
        s(&[10.0, 18.0, 17.0, 16.0, 15.0])
    );
    // No data, no statistic: an empty series stays empty downstream.
    assert!(matches!(c.eval("AVG(m3)"), Value::Scalar(v) if v.is_nan()));
    assert_eq!(c.series("m1 - AVG(m3)"), Series::new());
    assert_eq!(c.eval("SUM(m3)"), Value::Scalar(0.0));
    assert_eq!(c.series("SUM(METRICS(\"nothing\"))"), Series::new());
}

#[test]
fn pointwise_functions() {
    let c = ctx();
    assert_eq!(c.series("ABS(m1-m2)"), s(&[9.0, 2.0, 27.0, 4.0, 45.0]));
    assert_eq!(c.series("CEIL(m1/2)"), s(&[1.0, 1.0, 2.0, 2.0, 3.0]));
    assert_eq!(c.series("FLOOR(m1/2)"), s(&[0.0, 1.0, 1.0, 2.0, 2.0]));
    assert_eq!(
        c.series("SUM(CEIL(METRICS()/2))"),
        c.series("CEIL(m1/2) + CEIL(m2/2) + 1 + CEIL(errors_b/2) + 50")
    );
}
