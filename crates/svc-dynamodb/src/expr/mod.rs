//! STUB (replaced by the real module).
use crate::value::{AttrValue, Item};
use std::collections::HashMap;
pub struct Params<'a> { pub names: Option<&'a HashMap<String, String>>, pub values: Option<&'a HashMap<String, AttrValue>> }
impl<'a> Params<'a> {
    pub fn new(names: Option<&'a HashMap<String, String>>, values: Option<&'a HashMap<String, AttrValue>>) -> Self { Params { names, values } }
    pub fn check_unused(&self) -> Result<(), String> { Ok(()) }
}
#[derive(Clone, Debug, PartialEq)] pub enum PathElem { Attr(String), Index(usize) }
pub type Path = Vec<PathElem>;
pub struct Condition;
impl Condition { pub fn eval(&self, _item: &Item) -> bool { true } }
pub fn parse_condition(_src: &str, _which: &str, _p: &Params) -> Result<Condition, String> { Ok(Condition) }
pub fn parse_projection(_src: &str, _p: &Params) -> Result<Vec<Path>, String> { Ok(vec![]) }
pub fn project(item: &Item, _paths: &[Path]) -> Item { item.clone() }
pub struct Update;
pub fn parse_update(_src: &str, _p: &Params) -> Result<Update, String> { Ok(Update) }
impl Update {
    pub fn top_level_attrs(&self) -> Vec<&str> { vec![] }
    pub fn apply(&self, _item: &mut Item) -> Result<(), String> { Ok(()) }
}
pub enum RangeCond { Eq(AttrValue), Lt(AttrValue), Le(AttrValue), Gt(AttrValue), Ge(AttrValue), Between(AttrValue, AttrValue), BeginsWith(AttrValue) }
pub struct KeyCondition { pub hash: AttrValue, pub range: Option<RangeCond> }
pub fn parse_key_condition(_src: &str, _p: &Params, _hash_key: &str, _range_key: Option<&str>) -> Result<KeyCondition, String> { todo!() }
pub struct ExpectedAttr { pub value: Option<AttrValue>, pub exists: Option<bool>, pub comparison_operator: Option<String>, pub attribute_value_list: Option<Vec<AttrValue>> }
pub fn expected_to_condition(_expected: &HashMap<String, ExpectedAttr>, _op: Option<&str>) -> Result<Condition, String> { todo!() }
pub fn conditions_to_condition(_c: &HashMap<String, ExpectedAttr>, _op: Option<&str>, _which: &str) -> Result<Condition, String> { todo!() }
pub fn key_conditions_to_key_condition(_c: &HashMap<String, ExpectedAttr>, _h: &str, _r: Option<&str>) -> Result<KeyCondition, String> { todo!() }
pub struct AttributeUpdate { pub action: Option<String>, pub value: Option<AttrValue> }
pub fn attribute_updates_to_update(_m: &HashMap<String, AttributeUpdate>) -> Result<Update, String> { todo!() }
