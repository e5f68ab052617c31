//! UpdateExpression: parsing into actions with DynamoDB's semantic checks. Applying the
//! actions lives in `update_apply`.

use super::check::check_size;
use super::docpath::{check_overlaps, Path, PathElem};
use super::params::Params;
use super::parser::{parse_update_tree, Kind, Node, RawAction, RawElem, Section};
use super::reserved::is_reserved;
use crate::value::AttrValue;

/// A value a SET may read: a path of the item, a literal, or one of the update functions.
#[derive(Clone, Debug, PartialEq)]
pub enum UOperand {
    Path(Path),
    Value(AttrValue),
    IfNotExists(Path, Box<UOperand>),
    ListAppend(Box<UOperand>, Box<UOperand>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum SetValue {
    Operand(UOperand),
    Plus(UOperand, UOperand),
    Minus(UOperand, UOperand),
}

#[derive(Clone, Debug, PartialEq)]
pub enum UpdateAction {
    Set(Path, SetValue),
    Remove(Path),
    /// Numbers add, sets union; a list (legacy AttributeUpdates only) appends.
    Add(Path, AttrValue),
    Delete(Path, AttrValue),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Update {
    pub actions: Vec<UpdateAction>,
    /// Legacy AttributeUpdates report type clashes in their own words.
    pub(crate) legacy: bool,
}

impl Update {
    pub fn new(actions: Vec<UpdateAction>) -> Update {
        Update { actions, legacy: false }
    }

    pub fn top_level_attrs(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for p in self.paths() {
            if let Some(PathElem::Attr(a)) = p.first() {
                if !out.contains(&a.as_str()) {
                    out.push(a);
                }
            }
        }
        out
    }

    /// Every path the update writes or removes, in order (what UPDATED_OLD/NEW return).
    pub fn paths(&self) -> Vec<&Path> {
        self.actions
            .iter()
            .map(|a| match a {
                UpdateAction::Set(p, _) | UpdateAction::Remove(p) | UpdateAction::Add(p, _) | UpdateAction::Delete(p, _) => p,
            })
            .collect()
    }
}

pub fn parse_update(src: &str, p: &Params) -> Result<Update, String> {
    parse_inner(src, p).map_err(|e| format!("Invalid UpdateExpression: {}", e))
}

fn parse_inner(src: &str, p: &Params) -> Result<Update, String> {
    check_size(src, false)?;
    let sections = parse_update_tree(src)?;
    let mut c = UChecker { p, s: USlots::default(), seen: Vec::new() };
    let mut actions = Vec::new();
    let mut paths: Vec<Path> = Vec::new();
    for (sec, raw) in &sections {
        for a in raw {
            if let Some((act, path)) = c.action(a) {
                paths.push(path);
                actions.push(act);
            }
        }
        c.section(*sec);
    }
    let refs: Vec<&Path> = paths.iter().collect();
    let (overlap, conflict) = check_overlaps(&refs);
    let s = c.s;
    let first = [s.reserved, s.unknown_function, s.section, s.attr_name, s.attr_val, overlap, conflict, s.operand, s.function]
        .into_iter()
        .flatten()
        .next();
    match first {
        Some(e) => Err(e),
        None => Ok(Update::new(actions)),
    }
}

#[derive(Default)]
struct USlots {
    reserved: Option<String>,
    unknown_function: Option<String>,
    section: Option<String>,
    attr_name: Option<String>,
    attr_val: Option<String>,
    operand: Option<String>,
    function: Option<String>,
}

struct UChecker<'p, 'a> {
    p: &'p Params<'a>,
    s: USlots,
    seen: Vec<Section>,
}

/// A resolved operand plus its statically known type.
struct UOp {
    op: Option<UOperand>,
    is_path: bool,
    ty: Option<&'static str>,
    immediate: Option<&'static str>,
}

impl<'p, 'a> UChecker<'p, 'a> {
    fn section(&mut self, sec: Section) {
        if self.s.section.is_some() {
            return;
        }
        if self.seen.contains(&sec) {
            self.s.section =
                Some(format!("The \"{}\" section can only be used once in an update expression;", sec.name()));
            return;
        }
        self.seen.push(sec);
    }

    fn action(&mut self, a: &RawAction) -> Option<(UpdateAction, Path)> {
        match a {
            RawAction::Set(path, val) => {
                let p = self.path(path);
                let v = self.set_value(val);
                let p = p?;
                Some((UpdateAction::Set(p.clone(), v?), p))
            }
            RawAction::Remove(path) => {
                let p = self.path(path)?;
                Some((UpdateAction::Remove(p.clone()), p))
            }
            RawAction::Add(path, v) | RawAction::Delete(path, v) => {
                let add = matches!(a, RawAction::Add(..));
                let p = self.path(path);
                let v = self.value(v);
                if let Some(v) = &v {
                    self.operator(if add { "ADD" } else { "DELETE" }, v);
                }
                let (p, v) = (p?, v?);
                let act = if add { UpdateAction::Add(p.clone(), v) } else { UpdateAction::Delete(p.clone(), v) };
                Some((act, p))
            }
        }
    }

    fn operator(&mut self, op: &str, v: &AttrValue) {
        if self.s.operand.is_some() {
            return;
        }
        let t = match v {
            AttrValue::S(_) => "STRING",
            AttrValue::N(_) if op == "ADD" => return,
            AttrValue::N(_) => "NUMBER",
            AttrValue::B(_) => "BINARY",
            AttrValue::Null => "NULL",
            AttrValue::Bool(_) => "BOOLEAN",
            AttrValue::L(_) => "LIST",
            AttrValue::M(_) => "MAP",
            _ => return,
        };
        self.s.operand =
            Some(format!("Incorrect operand type for operator or function; operator: {}, operand type: {}", op, t));
    }

    fn path(&mut self, elems: &[RawElem]) -> Option<Path> {
        let mut out = Vec::with_capacity(elems.len());
        let mut ok = true;
        for e in elems {
            match e {
                RawElem::Ident(s) => {
                    if is_reserved(s) && self.s.reserved.is_none() {
                        self.s.reserved = Some(format!("Attribute name is a reserved keyword; reserved keyword: {}", s));
                    }
                    out.push(PathElem::Attr(s.clone()));
                }
                RawElem::Name(k) => {
                    if self.s.attr_name.is_some() {
                        ok = false;
                        continue;
                    }
                    match self.p.name(k) {
                        Some(v) => out.push(PathElem::Attr(v)),
                        None => {
                            ok = false;
                            self.s.attr_name = Some(format!(
                                "An expression attribute name used in the document path is not defined; attribute name: {}",
                                k
                            ));
                        }
                    }
                }
                RawElem::Index(i) => out.push(PathElem::Index(*i)),
            }
        }
        ok.then_some(out)
    }

    fn value(&mut self, k: &str) -> Option<AttrValue> {
        if self.s.attr_val.is_some() {
            return None;
        }
        let v = self.p.value(k);
        if v.is_none() {
            self.s.attr_val =
                Some(format!("An expression attribute value used in expression is not defined; attribute value: {}", k));
        }
        v
    }

    fn set_value(&mut self, n: &Node) -> Option<SetValue> {
        if let Kind::Arith(plus, a, b) = &n.kind {
            let x = self.operand(a);
            let y = self.operand(b);
            self.function(if *plus { "+" } else { "-" }, &[&x, &y]);
            let (x, y) = (x.op?, y.op?);
            return Some(if *plus { SetValue::Plus(x, y) } else { SetValue::Minus(x, y) });
        }
        self.operand(n).op.map(SetValue::Operand)
    }

    fn operand(&mut self, n: &Node) -> UOp {
        match &n.kind {
            Kind::Path(elems) => {
                let p = self.path(elems);
                UOp { op: p.map(UOperand::Path), is_path: true, ty: None, immediate: None }
            }
            Kind::Value(k) => {
                let v = self.value(k);
                let t = v.as_ref().map(|v| v.type_name());
                UOp { op: v.map(UOperand::Value), is_path: false, ty: t, immediate: t }
            }
            Kind::Func(name, args) => {
                let args: Vec<UOp> = args.iter().map(|a| self.operand(a)).collect();
                let refs: Vec<&UOp> = args.iter().collect();
                let ty = self.function(name, &refs);
                let mut it = args.into_iter().map(|a| a.op);
                let op = match (name.as_str(), it.next().flatten(), it.next().flatten(), it.next()) {
                    ("if_not_exists", Some(UOperand::Path(p)), Some(v), None) => Some(UOperand::IfNotExists(p, Box::new(v))),
                    ("list_append", Some(a), Some(b), None) => Some(UOperand::ListAppend(Box::new(a), Box::new(b))),
                    _ => None,
                };
                UOp { op, is_path: false, ty, immediate: None }
            }
            _ => UOp { op: None, is_path: false, ty: None, immediate: None },
        }
    }

    fn function(&mut self, name: &str, args: &[&UOp]) -> Option<&'static str> {
        if self.s.unknown_function.is_some() {
            return None;
        }
        if !matches!(name, "if_not_exists" | "list_append" | "+" | "-") {
            self.s.unknown_function = Some(format!("Invalid function name; function: {}", name));
            return None;
        }
        if self.s.function.is_some() {
            return None;
        }
        if args.len() != 2 {
            self.s.function = Some(format!(
                "Incorrect number of operands for operator or function; operator or function: {}, number of operands: {}",
                name,
                args.len()
            ));
            return None;
        }
        let want = match name {
            "if_not_exists" => {
                if !args[0].is_path {
                    self.s.function =
                        Some(format!("Operator or function requires a document path; operator or function: {}", name));
                    return None;
                }
                return args[1].ty;
            }
            "list_append" => "L",
            _ => "N",
        };
        for a in args {
            if let Some(t) = a.immediate {
                if t != want {
                    self.s.function = Some(format!(
                        "Incorrect operand type for operator or function; operator or function: {}, operand type: {}",
                        name, t
                    ));
                    return None;
                }
            }
        }
        Some(want)
    }
}

#[cfg(test)]
#[path = "update_tests.rs"]
mod tests;
