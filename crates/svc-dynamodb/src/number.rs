//! STUB (replaced by the real module).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Number(String);
impl Number {
    pub fn parse(s: &str) -> Result<Number, String> { Ok(Number(s.to_string())) }
    pub fn add(&self, _o: &Number) -> Result<Number, String> { todo!() }
    pub fn sub(&self, _o: &Number) -> Result<Number, String> { todo!() }
    pub fn ordered_bytes(&self) -> Vec<u8> { self.0.as_bytes().to_vec() }
    pub fn size_bytes(&self) -> usize { self.0.len() }
}
impl std::fmt::Display for Number {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(&self.0) }
}
