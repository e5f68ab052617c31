//! Whole-crate properties: arbitrary documents and requests never panic, and every
//! decision can be reached. A deterministic generator, no dependencies.

use crate::*;

/// xorshift64*: deterministic, dependency-free noise.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const STRINGS: &[&str] = &[
    "*",
    "?",
    "",
    "s3:*",
    "s3:GetObject",
    "sts:AssumeRole",
    "arn:aws:s3:::b/*",
    "arn:aws:s3:::b/k",
    "arn:*",
    "${aws:username}",
    "${k, 'd'}",
    "${*}${?}${$}",
    "${",
    "${k, '",
    "ž*?",
    "111122223333",
    "arn:aws:iam::111122223333:root",
    "arn:aws:iam::111122223333:role/R",
    "10.0.0.0/8",
    "::/0",
    "2020-01-01",
    "1577836800",
    "true",
    "false",
    "YQ==",
    ":::",
    "arn:aws:sns:*:1:t",
    "🦀",
    "a:b:c:d:e:f:g",
];
const OPERATORS: &[&str] = &[
    "StringEquals",
    "StringNotLike",
    "ForAllValues:StringLike",
    "ForAnyValue:StringNotEquals",
    "NumericLessThanIfExists",
    "DateGreaterThan",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddress",
    "ArnLike",
    "ArnNotEquals",
    "Null",
    "StringEqualsIgnoreCase",
];
const KEYS: &[&str] = &[
    "k",
    "aws:username",
    "aws:SourceIp",
    "aws:CurrentTime",
    "aws:TagKeys",
];

const ACTIONS: &[&str] = &[
    "*",
    "s3:*",
    "s3:GetObject",
    "sts:AssumeRole",
    "s3:Get*",
    "sts:*",
    "GetObject",
];
const RESOURCES: &[&str] = &[
    "*",
    "arn:aws:s3:::b/*",
    "arn:*",
    "arn:aws:s3:::home/${aws:username}/*",
    "arn:aws:s3:::${k, 'd'}${*}",
    "b",
];
const PRINCIPALS: &[&str] = &[
    "*",
    "111122223333",
    "arn:aws:iam::111122223333:root",
    "arn:aws:iam::111122223333:role/R",
    "bob",
];

/// A string, or a list of two, from `items`, or now and then from the odd strings.
fn value(rng: &mut Rng, items: &[&str]) -> String {
    let one = |rng: &mut Rng| {
        let s = if rng.next() % 8 == 0 {
            rng.pick(STRINGS)
        } else {
            rng.pick(items)
        };
        serde_json::to_string(s).unwrap()
    };
    if rng.next() % 3 == 0 {
        let (a, b) = (one(rng), one(rng));
        format!("[{a},{b}]")
    } else {
        one(rng)
    }
}

fn document(rng: &mut Rng) -> String {
    let mut statements = Vec::new();
    for _ in 0..1 + rng.next() % 3 {
        let mut fields = vec![format!(
            r#""Effect":"{}""#,
            rng.pick(&["Allow", "Deny", "Allow", "Deny", "allow"])
        )];
        for (name, items) in [
            ("Action", ACTIONS),
            ("Resource", RESOURCES),
            ("Principal", PRINCIPALS),
        ] {
            match rng.next() % 6 {
                0 => {}
                1 => fields.push(format!(r#""Not{name}":{}"#, value(rng, items))),
                _ if name == "Principal" => {
                    fields.push(format!(r#""{name}":{{"AWS":{}}}"#, value(rng, items)))
                }
                _ => fields.push(format!(r#""{name}":{}"#, value(rng, items))),
            }
        }
        if rng.next() % 2 == 0 {
            let op = rng.pick(OPERATORS);
            let key = rng.pick(KEYS);
            fields.push(format!(
                r#""Condition":{{"{op}":{{"{key}":{}}}}}"#,
                value(rng, STRINGS)
            ));
        }
        statements.push(format!("{{{}}}", fields.join(",")));
    }
    let version = rng.pick(&[
        r#""Version":"2012-10-17","#,
        r#""Version":"2008-10-17","#,
        "",
    ]);
    let doc = format!(r#"{{{version}"Statement":[{}]}}"#, statements.join(","));
    // Sometimes cut the document short, to exercise the JSON error paths too.
    if rng.next() % 7 == 0 {
        let cut = (rng.next() as usize) % doc.len();
        doc.char_indices()
            .take_while(|(i, _)| *i < cut)
            .map(|(_, c)| c)
            .collect()
    } else {
        doc
    }
}

#[test]
fn random_documents_and_requests_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut parsed = 0;
    let mut seen = Vec::new();
    for _ in 0..4000 {
        let doc = document(&mut rng);
        for kind in [
            PolicyKind::Identity,
            PolicyKind::Resource,
            PolicyKind::Trust,
        ] {
            let Ok(policy) = Policy::parse(&doc, kind) else {
                continue;
            };
            parsed += 1;
            let mut ctx = Context::new();
            for key in KEYS {
                match rng.next() % 3 {
                    0 => {}
                    1 => ctx.set(key, rng.pick(STRINGS)),
                    _ => ctx.set_many(
                        key,
                        vec![rng.pick(STRINGS).into(), rng.pick(STRINGS).into()],
                    ),
                }
            }
            let principal = match rng.next() % 3 {
                0 => PrincipalInfo::anonymous(),
                1 => PrincipalInfo::service("sns.amazonaws.com"),
                _ => PrincipalInfo {
                    arn: "arn:aws:sts::111122223333:assumed-role/R/s".into(),
                    account: "111122223333".into(),
                    also: vec!["arn:aws:iam::111122223333:role/R".into()],
                    ..Default::default()
                },
            };
            let named = Named {
                name: "P",
                policy: &policy,
            };
            let set = PolicySet {
                identity: vec![named],
                resource: Some(named),
                session: if rng.next() % 2 == 0 {
                    vec![named]
                } else {
                    vec![]
                },
                same_account: rng.next() % 2 == 0,
            };
            let req = Request {
                action: rng.pick(STRINGS),
                resource: rng.pick(STRINGS),
                principal: &principal,
                context: &ctx,
            };
            let eval = evaluate(&set, &req);
            assert!(!explain(&eval, &req).is_empty());
            if !seen.contains(&eval.decision) {
                seen.push(eval.decision);
            }
        }
    }
    assert!(
        parsed > 100,
        "the generator should produce valid documents too ({parsed})"
    );
    assert_eq!(seen.len(), 3, "every decision should occur: {seen:?}");
}

#[test]
fn public_matchers_never_panic_on_odd_input() {
    let mut rng = Rng(42);
    for _ in 0..20_000 {
        let p = format!("{}{}", rng.pick(STRINGS), rng.pick(STRINGS));
        let t = format!("{}{}", rng.pick(STRINGS), rng.pick(STRINGS));
        let _ = action_matches(&p, &t);
        let _ = resource_matches(&p, &t);
    }
}
