//! Applying an `Update` to an item. DynamoDB reads every SET operand from the item as it
//! was before the update, then performs the actions; any error leaves the item untouched
//! because the caller hands in a copy.

use super::docpath::{get_path, PathElem};
use super::update::{SetValue, UOperand, Update, UpdateAction};
use crate::value::{AttrValue, Item};
use std::cmp::Ordering;

const MISSING: &str = "The provided expression refers to an attribute that does not exist in the item";
const BAD_TYPE: &str = "An operand in the update expression has an incorrect data type";
const BAD_PATH: &str = "The document path provided in the update expression is invalid for update";
const LEGACY_MISMATCH: &str = "Type mismatch for attribute to update";

impl Update {
    pub fn apply(&self, item: &mut Item) -> Result<(), String> {
        let original = item.clone();
        let mut resolved: Vec<Option<AttrValue>> = Vec::with_capacity(self.actions.len());
        for a in &self.actions {
            resolved.push(match a {
                UpdateAction::Set(_, v) => Some(resolve_set(v, &original)?),
                _ => None,
            });
        }
        // REMOVE's list indexes all refer to the list as it was: remove from the back.
        let mut removes: Vec<&super::docpath::Path> = self
            .actions
            .iter()
            .filter_map(|a| if let UpdateAction::Remove(p) = a { Some(p) } else { None })
            .collect();
        removes.sort_by(|a, b| cmp_paths(b, a));
        let mut removed = false;
        for (a, r) in self.actions.iter().zip(resolved) {
            match a {
                UpdateAction::Set(p, _) => {
                    let v = r.ok_or_else(|| BAD_TYPE.to_string())?;
                    put(item, p, v)?;
                }
                UpdateAction::Remove(_) => {
                    if !removed {
                        removed = true;
                        for p in &removes {
                            remove(item, p)?;
                        }
                    }
                }
                UpdateAction::Add(p, v) => self.add(item, p, v)?,
                UpdateAction::Delete(p, v) => self.delete(item, p, v)?,
            }
        }
        Ok(())
    }

    fn mismatch(&self) -> String {
        if self.legacy { LEGACY_MISMATCH } else { BAD_TYPE }.to_string()
    }

    fn add(&self, item: &mut Item, path: &[PathElem], v: &AttrValue) -> Result<(), String> {
        let slot = slot(item, path)?;
        let new = match (slot.get(), v) {
            (None, _) => v.clone(),
            (Some(AttrValue::N(a)), AttrValue::N(b)) => AttrValue::N(a.add(b)?),
            (Some(AttrValue::SS(a)), AttrValue::SS(b)) => AttrValue::SS(union(a, b)),
            (Some(AttrValue::NS(a)), AttrValue::NS(b)) => AttrValue::NS(union(a, b)),
            (Some(AttrValue::BS(a)), AttrValue::BS(b)) => AttrValue::BS(union(a, b)),
            (Some(AttrValue::L(a)), AttrValue::L(b)) if self.legacy => {
                AttrValue::L(a.iter().chain(b.iter()).cloned().collect())
            }
            _ => return Err(self.mismatch()),
        };
        slot.set(new);
        Ok(())
    }

    fn delete(&self, item: &mut Item, path: &[PathElem], v: &AttrValue) -> Result<(), String> {
        let slot = slot(item, path)?;
        let rest = match (slot.get(), v) {
            (None, _) => return Ok(()),
            (Some(AttrValue::SS(a)), AttrValue::SS(b)) => minus(a, b).map(AttrValue::SS),
            (Some(AttrValue::NS(a)), AttrValue::NS(b)) => minus(a, b).map(AttrValue::NS),
            (Some(AttrValue::BS(a)), AttrValue::BS(b)) => minus(a, b).map(AttrValue::BS),
            _ => return Err(self.mismatch()),
        };
        match rest {
            Some(v) => slot.set(v),
            None => slot.remove(),
        }
        Ok(())
    }
}

fn union<T: Clone + PartialEq>(a: &[T], b: &[T]) -> Vec<T> {
    let mut out = a.to_vec();
    for x in b {
        if !out.contains(x) {
            out.push(x.clone());
        }
    }
    out
}

/// Set difference; `None` when nothing is left, since DynamoDB has no empty sets.
fn minus<T: Clone + PartialEq>(a: &[T], b: &[T]) -> Option<Vec<T>> {
    let out: Vec<T> = a.iter().filter(|x| !b.contains(x)).cloned().collect();
    (!out.is_empty()).then_some(out)
}

fn cmp_paths(a: &[PathElem], b: &[PathElem]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let o = match (x, y) {
            (PathElem::Attr(p), PathElem::Attr(q)) => p.cmp(q),
            (PathElem::Index(p), PathElem::Index(q)) => p.cmp(q),
            (PathElem::Attr(_), PathElem::Index(_)) => Ordering::Less,
            (PathElem::Index(_), PathElem::Attr(_)) => Ordering::Greater,
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

fn resolve_set(v: &SetValue, item: &Item) -> Result<AttrValue, String> {
    match v {
        SetValue::Operand(o) => resolve(o, item),
        SetValue::Plus(a, b) | SetValue::Minus(a, b) => {
            let x = resolve(a, item)?;
            let AttrValue::N(x) = x else { return Err(BAD_TYPE.into()) };
            let y = resolve(b, item)?;
            let AttrValue::N(y) = y else { return Err(BAD_TYPE.into()) };
            Ok(AttrValue::N(if matches!(v, SetValue::Plus(..)) { x.add(&y)? } else { x.sub(&y)? }))
        }
    }
}

fn resolve(o: &UOperand, item: &Item) -> Result<AttrValue, String> {
    match o {
        UOperand::Path(p) => get_path(item, p).cloned().ok_or_else(|| MISSING.to_string()),
        UOperand::Value(v) => Ok(v.clone()),
        UOperand::IfNotExists(p, d) => match get_path(item, p) {
            Some(v) => Ok(v.clone()),
            None => resolve(d, item),
        },
        UOperand::ListAppend(a, b) => {
            let AttrValue::L(mut x) = resolve(a, item)? else { return Err(BAD_TYPE.into()) };
            let AttrValue::L(y) = resolve(b, item)? else { return Err(BAD_TYPE.into()) };
            x.extend(y);
            Ok(AttrValue::L(x))
        }
    }
}

/// The place a path names inside its parent container.
enum Slot<'i> {
    Map(&'i mut std::collections::BTreeMap<String, AttrValue>, String),
    List(&'i mut Vec<AttrValue>, usize),
}

impl<'i> Slot<'i> {
    fn get(&self) -> Option<&AttrValue> {
        match self {
            Slot::Map(m, k) => m.get(k),
            Slot::List(l, i) => l.get(*i),
        }
    }

    /// Writing past a list's end appends, as DynamoDB does.
    fn set(self, v: AttrValue) {
        match self {
            Slot::Map(m, k) => {
                m.insert(k, v);
            }
            Slot::List(l, i) => {
                if i < l.len() {
                    l[i] = v;
                } else {
                    l.push(v);
                }
            }
        }
    }

    fn remove(self) {
        match self {
            Slot::Map(m, k) => {
                m.remove(&k);
            }
            Slot::List(l, i) => {
                if i < l.len() {
                    l.remove(i);
                }
            }
        }
    }
}

fn slot<'i>(item: &'i mut Item, path: &[PathElem]) -> Result<Slot<'i>, String> {
    let bad = || BAD_PATH.to_string();
    let (last, parents) = path.split_last().ok_or_else(bad)?;
    if parents.is_empty() {
        return match last {
            PathElem::Attr(k) => Ok(Slot::Map(item, k.clone())),
            PathElem::Index(_) => Err(bad()),
        };
    }
    let (first, rest) = parents.split_first().ok_or_else(bad)?;
    let PathElem::Attr(k) = first else { return Err(bad()) };
    let mut cur = item.get_mut(k).ok_or_else(bad)?;
    for e in rest {
        cur = match (cur, e) {
            (AttrValue::M(m), PathElem::Attr(k)) => m.get_mut(k).ok_or_else(bad)?,
            (AttrValue::L(l), PathElem::Index(i)) => l.get_mut(*i).ok_or_else(bad)?,
            _ => return Err(bad()),
        };
    }
    match (cur, last) {
        (AttrValue::M(m), PathElem::Attr(k)) => Ok(Slot::Map(m, k.clone())),
        (AttrValue::L(l), PathElem::Index(i)) => Ok(Slot::List(l, *i)),
        _ => Err(bad()),
    }
}

fn put(item: &mut Item, path: &[PathElem], v: AttrValue) -> Result<(), String> {
    slot(item, path)?.set(v);
    Ok(())
}

fn remove(item: &mut Item, path: &[PathElem]) -> Result<(), String> {
    slot(item, path)?.remove();
    Ok(())
}
