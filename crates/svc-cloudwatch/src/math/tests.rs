//! Parser tests: the guide's example expressions parse, malformed input yields a
//! positioned message, and nothing panics on arbitrary input.

use super::tests_eval::{ctx, ts};
use super::{Expression, MAX_DEPTH, MAX_LENGTH};

fn err(src: &str) -> String {
    Expression::parse(src).expect_err(src)
}

#[test]
fn guide_examples_parse() {
    for src in [
        "m1+m2",
        "e1-MIN(e1)",
        "PERIOD(m1)/60",
        "5 * m1",
        "SUM(100/[m1, m2])",
        "AVG([m1,m2]/m3)",
        "METRICS()*100",
        "-5*m1",
        "SUM(-[m1, m2])",
        "(metric1 > 15 AND metric2 > 15)",
        "metric1 > 15 && metric2 > 15 || metric1 == 0",
        "MIN(ABS([m1, m2]))",
        "SUM(m1) / DATAPOINT_COUNT(m1)",
        "FILL(m1, MIN(m1))",
        "FILL(METRICS(), LINEAR)",
        "IF(FIRST(SORT(METRICS(), AVG, DESC))>100, 1, 0)",
        "SUM([METRICS(“4xx”), METRICS(“5xx”)])",
        "SUM(METRICS(\"errors\"))/SUM(METRICS(\"requests\"))*100",
        "SLICE(SORT(METRICS(), SUM, DESC), 0, 10)",
        "SORT(METRICS(), AVG, DESC, 10)",
        "IF((DAY(m1)<6 AND (HOUR(m1)>=9 AND HOUR(m1)<17)),m1)",
        "TIME_SERIES(5*AVG(m1))",
        "IF(latency>threshold, 1, 0)",
        "unhealthy / (healthy + unhealthy) * 100",
        "NOT m1 > 3",
        ".5 * q_2",
    ] {
        Expression::parse(src).unwrap_or_else(|e| panic!("{src}: {e}"));
    }
}

#[test]
fn references_are_ids_in_order_without_duplicates() {
    let e = Expression::parse("IF(m2 > 0, m1/m2, e1) + m1 + PERIOD(m3)").unwrap();
    assert_eq!(e.references(), vec!["m2", "m1", "e1", "m3"]);
    assert!(Expression::parse("SUM(METRICS(\"m9\"))")
        .unwrap()
        .references()
        .is_empty());
}

#[test]
fn precedence() {
    let c = ctx();
    let eval = |s: &str| Expression::parse(s).unwrap().eval(&c).unwrap();
    use super::Value::Scalar;
    assert_eq!(eval("1 + 2 * 3"), Scalar(7.0));
    assert_eq!(eval("(1 + 2) * 3"), Scalar(9.0));
    assert_eq!(eval("2 ^ 3 ^ 2"), Scalar(512.0));
    assert_eq!(eval("-2 ^ 2"), Scalar(-4.0));
    assert_eq!(eval("2 ^ -1"), Scalar(0.5));
    assert_eq!(eval("10 - 4 - 3"), Scalar(3.0));
    assert_eq!(eval("8 / 4 / 2"), Scalar(1.0));
    assert_eq!(eval("1 + 1 > 1 AND 0 OR 1"), Scalar(1.0));
    assert_eq!(eval("NOT 1 > 2"), Scalar(1.0));
    assert_eq!(eval("!0"), Scalar(1.0));
    assert_eq!(eval("3 >= 3 == 1"), Scalar(1.0));
}

#[test]
fn syntax_errors_name_the_position() {
    assert_eq!(
        err("m1 +"),
        "Syntax error at character 5: unexpected end of expression"
    );
    assert_eq!(
        err("m1 $ m2"),
        "Syntax error at character 4: unexpected character '$'"
    );
    assert_eq!(
        err("(m1 + m2"),
        "Syntax error at character 9: expected ')' but found end of expression"
    );
    assert_eq!(err("m1 m2"), "Syntax error at character 4: unexpected 'm2'");
    assert_eq!(
        err("[m1 m2]"),
        "Syntax error at character 5: expected ',' or ']' but found 'm2'"
    );
    assert_eq!(
        err("METRICS(\"abc)"),
        "Syntax error at character 9: unterminated string"
    );
    assert_eq!(
        err("1.2.3"),
        "Syntax error at character 1: malformed number"
    );
    assert_eq!(err("2e1"), "Syntax error at character 1: malformed number");
    assert_eq!(err("M1 + 1"), "Syntax error at character 1: 'M1' is not a valid id: ids must start with a lowercase letter");
    assert_eq!(
        err("m1 + REPEAT"),
        "Syntax error at character 6: keyword REPEAT is not allowed here"
    );
    assert_eq!(
        err("\"x\" + 1"),
        "Syntax error at character 1: unexpected string \"x\""
    );
    assert_eq!(
        err("SUM(m1,)"),
        "Syntax error at character 8: unexpected ')'"
    );
    assert_eq!(err("   "), "Expression must not be empty");
}

#[test]
fn function_errors_name_the_function() {
    assert_eq!(err("FOO(m1)"), "Unknown function FOO at character 1");
    assert_eq!(
        err("1 + avg(m1)"),
        "Unknown function avg at character 5 (function names must be written in uppercase)"
    );
    assert_eq!(err("SUM(m1, m2)"), "SUM takes 1 argument(s), got 2");
    assert_eq!(err("IF(m1)"), "IF takes 2 to 3 argument(s), got 1");
    assert_eq!(
        err("METRICS(m1)"),
        "Syntax error at character 9: METRICS expects a string in quotes, found 'm1'"
    );
    assert_eq!(
        err("SORT(METRICS(), MEDIAN, ASC)"),
        "Syntax error at character 17: SORT argument 2 must be one of AVG, MIN, MAX, SUM"
    );
    assert_eq!(
        err("SORT(METRICS(), SUM, UP)"),
        "Syntax error at character 22: SORT argument 3 must be one of ASC, DESC"
    );
    assert_eq!(err("FILL(m1, NEAREST)"), "Syntax error at character 10: 'NEAREST' is not a valid id: ids must start with a lowercase letter");
    assert_eq!(
        err("SEARCH('{AWS/EC2,InstanceId} MetricName=\"CPUUtilization\"', 'Average', 300)"),
        "The function SEARCH is not supported"
    );
    assert_eq!(
        err("ANOMALY_DETECTION_BAND(m1, 2)"),
        "The function ANOMALY_DETECTION_BAND is not supported"
    );
    assert_eq!(
        err("SELECT AVG(CPUUtilization) FROM \"AWS/EC2\""),
        "Metrics Insights queries (SELECT ...) are not supported"
    );
}

#[test]
fn limits() {
    let long = format!("m1{}", " ".repeat(MAX_LENGTH - 1));
    assert_eq!(
        err(&long),
        format!("Expression is 2049 characters long; the maximum is {MAX_LENGTH}")
    );
    let ok = format!(
        "{}m1{}",
        "(".repeat(MAX_DEPTH - 1),
        ")".repeat(MAX_DEPTH - 1)
    );
    assert!(Expression::parse(&ok).is_ok());
    let deep = format!("{}m1{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
    assert_eq!(
        err(&deep),
        "Expression is nested too deeply (more than 100 levels)"
    );
    assert!(Expression::parse(&"-".repeat(500)).is_err());
    assert!(Expression::parse(&format!("{}1", "ABS(".repeat(300))).is_err());
    assert!(Expression::parse(&format!("{}1", "[".repeat(300))).is_err());
}

/// The longest flat chains the length limit allows build the deepest trees; they must
/// evaluate (and drop) on a small thread stack, as a server worker thread would have.
#[test]
fn longest_chains_fit_a_small_stack() {
    let run = || {
        let chain = vec!["1"; 1024].join("+");
        let v = Expression::parse(&chain).unwrap().eval(&ctx()).unwrap();
        assert_eq!(v, super::Value::Scalar(1024.0));
        let chain = vec!["m1"; 683].join("-");
        assert!(Expression::parse(&chain).unwrap().eval(&ctx()).is_ok());
        let chain = format!("{}1", "1<".repeat(1023));
        assert!(Expression::parse(&chain).unwrap().eval(&ctx()).is_ok());
        for deepest in [
            format!(
                "{}m1{}",
                "ABS(".repeat(MAX_DEPTH - 1),
                ")".repeat(MAX_DEPTH - 1)
            ),
            format!(
                "{}m1{}",
                "[".repeat(MAX_DEPTH - 1),
                "]".repeat(MAX_DEPTH - 1)
            ),
            format!(
                "{}1{}",
                "-1+(".repeat(MAX_DEPTH / 2 - 1),
                ")".repeat(MAX_DEPTH / 2 - 1)
            ),
            format!("{}1", "-".repeat(MAX_DEPTH - 1)),
        ] {
            assert!(
                Expression::parse(&deepest).unwrap().eval(&ctx()).is_ok(),
                "{deepest}"
            );
        }
    };
    std::thread::Builder::new()
        .stack_size(1 << 20)
        .spawn(run)
        .unwrap()
        .join()
        .unwrap();
}

/// Deterministic pseudo-random input built from the language's own pieces, so most of it
/// gets deep into the parser and evaluator; the only requirement is no panic.
#[test]
fn garbage_never_panics() {
    const PIECES: &[&str] = &[
        "m1",
        "m2",
        "e1",
        "zz",
        "(",
        ")",
        "[",
        "]",
        ",",
        "+",
        "-",
        "*",
        "/",
        "^",
        "<",
        ">=",
        "==",
        "!=",
        "!",
        "AND",
        "OR",
        "NOT",
        "&&",
        "||",
        "0",
        "1",
        "2.5",
        "-1",
        "1e9",
        "\"m\"",
        "'x",
        "“4xx”",
        "REPEAT",
        "LINEAR",
        "ASC",
        "DESC",
        "SUM",
        "AVG",
        "MIN",
        "MAX",
        "ABS(",
        "FILL(",
        "IF(",
        "SORT(",
        "SLICE(",
        "METRICS(",
        "METRICS()",
        "FIRST(",
        "LAST(",
        "RATE(",
        "DIFF(",
        "DIFF_TIME(",
        "RUNNING_SUM(",
        "TIME_SERIES(",
        "STDDEV(",
        "DATAPOINT_COUNT(",
        "REMOVE_EMPTY(",
        "METRIC_COUNT(",
        "PERIOD(",
        "LOG(",
        "LOG10(",
        "SQRT(",
        "DAY(",
        "EPOCH(",
        "SEARCH(",
        " ",
        "é",
        "\u{0}",
        "$",
        "{",
        ".",
        "999999999999999999999",
        "1/0",
    ];
    let c = ctx();
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..20_000 {
        let mut src = String::new();
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let n = (seed >> 59) as usize + 1;
        for _ in 0..n {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            src.push_str(PIECES[(seed >> 33) as usize % PIECES.len()]);
        }
        if let Ok(e) = Expression::parse(&src) {
            let _ = e.eval(&c);
        }
    }
    for bytes in [
        &b"\xff\xfe"[..],
        b"((((",
        b"))))",
        b"[[[",
        b",,,",
        b"\"",
        b"'",
        b"\xe2\x80\x9c",
    ] {
        let _ = Expression::parse(&String::from_utf8_lossy(bytes));
    }
    let _ = ts(&[]);
}
