//! Semantic checks of a condition's raw tree, in DynamoDB's precedence, and its
//! conversion into a `Condition`. DynamoDB gathers the first error of each kind while it
//! parses and reports by kind, not by position; the slots below mirror that (as dynalite
//! reproduced it): redundant parentheses, unknown function, misused function, reserved
//! word, then the first leaf condition's own error (undefined placeholder, operand count,
//! non-distinct operands, operand type).

use super::condition::{Condition, Operand};
use super::docpath::{path_str, Path, PathElem};
use super::params::Params;
use super::parser::{parse_condition_tree, Kind, Node, RawElem};
use super::reserved::is_reserved;
use super::{compare::compare_values, MAX_EXPRESSION_BYTES, MAX_IN_OPERANDS};
use crate::value::AttrValue;
use std::cmp::Ordering;

pub fn parse_condition(src: &str, which: &str, p: &Params) -> Result<Condition, String> {
    parse_inner(src, p).map_err(|e| format!("Invalid {}: {}", which, e))
}

pub(crate) fn check_size(src: &str, with_size: bool) -> Result<(), String> {
    if src.is_empty() {
        return Err("The expression can not be empty;".into());
    }
    if src.len() > MAX_EXPRESSION_BYTES {
        return Err(if with_size {
            format!("Expression size has exceeded the maximum allowed size; expression size: {}", src.len())
        } else {
            "Expression size has exceeded the maximum allowed size;".to_string()
        });
    }
    Ok(())
}

fn parse_inner(src: &str, p: &Params) -> Result<Condition, String> {
    check_size(src, true)?;
    let (root, redundant) = parse_condition_tree(src)?;
    let mut c = Checker { p, s: Slots::default() };
    let cond = c.condition(&root);
    c.misused_size(&root);
    let s = c.s;
    let first = [
        redundant.then(|| "The expression has redundant parentheses;".to_string()),
        s.unknown_function,
        s.misused_function,
        s.reserved,
        s.condition,
        // Unreachable when the tree is well formed, kept so nothing slips through.
        s.attr_name_val,
        s.operand,
        s.distinct,
        s.function,
    ]
    .into_iter()
    .flatten()
    .next();
    match (first, cond) {
        (Some(e), _) => Err(e),
        (None, Some(c)) => Ok(c),
        (None, None) => Err("Syntax error; token: \"<EOF>\", near: \"\"".into()),
    }
}

#[derive(Default)]
struct Slots {
    unknown_function: Option<String>,
    misused_function: Option<String>,
    reserved: Option<String>,
    attr_name_val: Option<String>,
    operand: Option<String>,
    distinct: Option<String>,
    function: Option<String>,
    condition: Option<String>,
}

fn set(slot: &mut Option<String>, msg: String) {
    if slot.is_none() {
        *slot = Some(msg);
    }
}

/// An operand after placeholder resolution; `None` marks an undefined placeholder.
enum Op {
    Path(Option<Path>),
    Value(Option<AttrValue>),
    Func { name: String, args: Vec<Op>, ty: Option<&'static str> },
}

impl Op {
    fn ty(&self) -> Option<&'static str> {
        match self {
            Op::Value(Some(v)) => Some(v.type_name()),
            Op::Func { ty, .. } => *ty,
            _ => None,
        }
    }

    fn immediate(&self) -> Option<&AttrValue> {
        match self {
            Op::Value(Some(v)) => Some(v),
            _ => None,
        }
    }

    fn into_operand(self) -> Option<Operand> {
        match self {
            Op::Path(p) => p.map(Operand::Path),
            Op::Value(v) => v.map(Operand::Value),
            Op::Func { name, args, .. } if name == "size" && args.len() == 1 => {
                let a = args.into_iter().next()?.into_operand()?;
                Some(Operand::Size(Box::new(a)))
            }
            Op::Func { .. } => None,
        }
    }
}

struct Checker<'p, 'a> {
    p: &'p Params<'a>,
    s: Slots,
}

const TYPE_NAMES: [&str; 10] = ["S", "N", "B", "NULL", "SS", "BOOL", "L", "BS", "NS", "M"];

impl<'p, 'a> Checker<'p, 'a> {
    fn condition(&mut self, n: &Node) -> Option<Condition> {
        match &n.kind {
            Kind::And(a, b) | Kind::Or(a, b) => {
                let x = self.condition(a);
                let y = self.condition(b);
                self.misused_size(a);
                self.misused_size(b);
                let (x, y) = (Box::new(x?), Box::new(y?));
                Some(if matches!(n.kind, Kind::And(..)) { Condition::And(x, y) } else { Condition::Or(x, y) })
            }
            Kind::Not(a) => {
                let x = self.condition(a);
                self.misused_size(a);
                Some(Condition::Not(Box::new(x?)))
            }
            _ => {
                let c = self.leaf(n);
                self.condition_errors();
                c
            }
        }
    }

    fn leaf(&mut self, n: &Node) -> Option<Condition> {
        match &n.kind {
            Kind::Cmp(op, a, b) => {
                let x = self.operand(a);
                let y = self.operand(b);
                self.misused_function(&[&x, &y]);
                self.distinct(op.symbol(), &[&x, &y]);
                Some(Condition::Cmp(*op, x.into_operand()?, y.into_operand()?))
            }
            Kind::Between(a, b, c) => {
                let x = self.operand(a);
                let lo = self.operand(b);
                let hi = self.operand(c);
                self.misused_function(&[&x, &lo, &hi]);
                self.between_args(&lo, &hi);
                Some(Condition::Between(x.into_operand()?, lo.into_operand()?, hi.into_operand()?))
            }
            Kind::In(a, list) => {
                let x = self.operand(a);
                let items: Vec<Op> = list.iter().map(|i| self.operand(i)).collect();
                let mut all: Vec<&Op> = vec![&x];
                all.extend(items.iter());
                self.misused_function(&all);
                if items.len() > MAX_IN_OPERANDS {
                    set(
                        &mut self.s.function,
                        format!("The IN operator is provided with too many operands; number of operands: {}", items.len()),
                    );
                }
                let ops: Option<Vec<Operand>> = items.into_iter().map(Op::into_operand).collect();
                Some(Condition::In(x.into_operand()?, ops?))
            }
            Kind::Func(..) => match self.operand(n) {
                Op::Func { name, args, .. } => func_condition(&name, args),
                _ => None,
            },
            // The parser only lets conditions through here.
            _ => None,
        }
    }

    fn operand(&mut self, n: &Node) -> Op {
        match &n.kind {
            Kind::Path(elems) => Op::Path(self.path(elems)),
            Kind::Value(name) => Op::Value(self.value(name)),
            Kind::Func(name, args) => {
                let args: Vec<Op> = args.iter().map(|a| self.operand(a)).collect();
                let refs: Vec<&Op> = args.iter().collect();
                self.misused_function(&refs);
                let ty = self.function(name, &args);
                Op::Func { name: name.clone(), args, ty }
            }
            _ => Op::Path(None),
        }
    }

    fn path(&mut self, elems: &[RawElem]) -> Option<Path> {
        let mut out = Vec::with_capacity(elems.len());
        let mut ok = true;
        for e in elems {
            match e {
                RawElem::Ident(s) => {
                    if is_reserved(s) {
                        set(&mut self.s.reserved, format!("Attribute name is a reserved keyword; reserved keyword: {}", s));
                    }
                    out.push(PathElem::Attr(s.clone()));
                }
                RawElem::Name(k) => match self.name(k) {
                    Some(v) => out.push(PathElem::Attr(v)),
                    None => ok = false,
                },
                RawElem::Index(i) => out.push(PathElem::Index(*i)),
            }
        }
        ok.then_some(out)
    }

    fn name(&mut self, k: &str) -> Option<String> {
        if self.s.attr_name_val.is_some() {
            return None;
        }
        let v = self.p.name(k);
        if v.is_none() {
            self.s.attr_name_val = Some(format!(
                "An expression attribute name used in the document path is not defined; attribute name: {}",
                k
            ));
        }
        v
    }

    fn value(&mut self, k: &str) -> Option<AttrValue> {
        if self.s.attr_name_val.is_some() {
            return None;
        }
        let v = self.p.value(k);
        if v.is_none() {
            self.s.attr_name_val =
                Some(format!("An expression attribute value used in expression is not defined; attribute value: {}", k));
        }
        v
    }

    fn condition_errors(&mut self) {
        if self.s.condition.is_some() {
            return;
        }
        let s = &self.s;
        let first = [&s.attr_name_val, &s.operand, &s.distinct, &s.function].into_iter().flatten().next().cloned();
        self.s.condition = first;
    }

    fn misused_function(&mut self, args: &[&Op]) {
        for a in args {
            if let Op::Func { name, .. } = a {
                if name != "size" {
                    set(
                        &mut self.s.misused_function,
                        format!("The function is not allowed to be used this way in an expression; function: {}", name),
                    );
                    return;
                }
            }
        }
    }

    fn misused_size(&mut self, n: &Node) {
        if let Kind::Func(name, _) = &n.kind {
            if name == "size" {
                set(
                    &mut self.s.misused_function,
                    "The function is not allowed to be used this way in an expression; function: size".into(),
                );
            }
        }
    }

    fn distinct(&mut self, name: &str, args: &[&Op]) {
        if self.s.distinct.is_some() || args.len() != 2 {
            return;
        }
        if let (Op::Path(Some(a)), Op::Path(Some(b))) = (args[0], args[1]) {
            if a == b {
                self.s.distinct = Some(format!(
                    "The first operand must be distinct from the remaining operands for this operator or function; operator: {}, first operand: {}",
                    name,
                    path_str(a)
                ));
            }
        }
    }

    fn function(&mut self, name: &str, args: &[Op]) -> Option<&'static str> {
        if self.s.unknown_function.is_some() {
            return None;
        }
        let want = match name {
            "attribute_exists" | "attribute_not_exists" | "size" => 1,
            "attribute_type" | "begins_with" | "contains" => 2,
            _ => {
                self.s.unknown_function = Some(format!("Invalid function name; function: {}", name));
                return None;
            }
        };
        if self.s.operand.is_some() {
            return None;
        }
        if want != args.len() {
            self.s.operand = Some(format!(
                "Incorrect number of operands for operator or function; operator or function: {}, number of operands: {}",
                name,
                args.len()
            ));
            return None;
        }
        let refs: Vec<&Op> = args.iter().collect();
        self.distinct(name, &refs);
        if self.s.function.is_some() {
            return None;
        }
        let bad_type = |t: &str| {
            format!("Incorrect operand type for operator or function; operator or function: {}, operand type: {}", name, t)
        };
        match name {
            "attribute_exists" | "attribute_not_exists" => {
                if !matches!(args[0], Op::Path(_)) {
                    self.s.function = Some(format!(
                        "Operator or function requires a document path; operator or function: {}",
                        name
                    ));
                }
                None
            }
            "begins_with" => {
                for a in args {
                    if let Some(t) = a.ty() {
                        if t != "S" && t != "B" {
                            self.s.function = Some(bad_type(t));
                            return None;
                        }
                    }
                }
                Some("BOOL")
            }
            "attribute_type" => {
                match (args[1].ty(), args[1].immediate()) {
                    (Some("S"), Some(AttrValue::S(t))) => {
                        if !TYPE_NAMES.contains(&t.as_str()) {
                            self.s.function = Some(format!(
                                "Invalid attribute type name found; type: {}, valid types: {{B,NULL,SS,BOOL,L,BS,N,NS,S,M}}",
                                t
                            ));
                            return None;
                        }
                    }
                    (t, _) => {
                        self.s.function = Some(bad_type(t.unwrap_or("{NS,SS,L,BS,N,M,B,BOOL,NULL,S}")));
                        return None;
                    }
                }
                Some("BOOL")
            }
            "size" => {
                if let Some(t @ ("N" | "BOOL" | "NULL")) = args[0].ty() {
                    self.s.function = Some(bad_type(t));
                    return None;
                }
                Some("N")
            }
            _ => Some("BOOL"),
        }
    }

    fn between_args(&mut self, lo: &Op, hi: &Op) {
        if self.s.function.is_some() {
            return;
        }
        let (Some(x), Some(y)) = (lo.immediate(), hi.immediate()) else { return };
        let bounds = format!(
            "lower bound operand: AttributeValue: {{{}:{}}}, upper bound operand: AttributeValue: {{{}:{}}}",
            x.type_name(),
            render(x),
            y.type_name(),
            render(y)
        );
        if x.type_name() != y.type_name() {
            self.s.function = Some(format!("The BETWEEN operator requires same data type for lower and upper bounds; {}", bounds));
        } else if compare_values(x, y) == Some(Ordering::Greater) {
            self.s.function = Some(format!(
                "The BETWEEN operator requires upper bound to be greater than or equal to lower bound; {}",
                bounds
            ));
        }
    }
}

fn func_condition(name: &str, args: Vec<Op>) -> Option<Condition> {
    let mut it = args.into_iter();
    let mut next = || it.next().and_then(Op::into_operand);
    Some(match name {
        "attribute_exists" | "attribute_not_exists" => {
            let Some(Operand::Path(p)) = next() else { return None };
            if name == "attribute_exists" {
                Condition::AttributeExists(p)
            } else {
                Condition::AttributeNotExists(p)
            }
        }
        "attribute_type" => Condition::AttributeType(next()?, next()?),
        "begins_with" => Condition::BeginsWith(next()?, next()?),
        "contains" => Condition::Contains(next()?, next()?),
        _ => return None,
    })
}

/// A value as DynamoDB prints it inside the BETWEEN messages.
pub(crate) fn render(v: &AttrValue) -> String {
    match v {
        AttrValue::S(s) => s.clone(),
        AttrValue::N(n) => n.to_string(),
        AttrValue::B(b) => base64(b),
        AttrValue::Bool(b) => b.to_string(),
        AttrValue::Null => "true".into(),
        AttrValue::SS(s) => s.join(","),
        AttrValue::NS(s) => s.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(","),
        AttrValue::BS(s) => s.iter().map(|b| base64(b)).collect::<Vec<_>>().join(","),
        AttrValue::L(l) => vec!["[object Object]"; l.len()].join(","),
        AttrValue::M(_) => "[object Object]".into(),
    }
}

fn base64(b: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(b.len().div_ceil(3) * 4);
    for c in b.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
#[path = "check_tests.rs"]
mod tests;
