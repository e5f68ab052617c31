//! STUB until the real filter-pattern module lands.
pub struct FilterPattern(String);
impl FilterPattern {
    pub fn parse(src: &str) -> Result<FilterPattern, String> { Ok(FilterPattern(src.trim().to_string())) }
    pub fn matches(&self, message: &str) -> bool { self.0.is_empty() || message.contains(&self.0) }
    pub fn metric_value(&self, message: &str, metric_value: &str) -> Option<f64> { if self.matches(message) { metric_value.parse().ok() } else { None } }
    pub fn field(&self, _message: &str, _selector: &str) -> Option<String> { None }
}
