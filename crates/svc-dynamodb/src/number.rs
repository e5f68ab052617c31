//! DynamoDB's number type: an exact decimal of at most 38 significant digits whose
//! magnitude lies between 1E-130 and 9.99…E+125. Held as digits and a power of ten so
//! that nothing ever passes through a float.

use std::cmp::Ordering;
use std::fmt;

const MAX_DIGITS: usize = 38;
const MAX_MAGNITUDE: i64 = 125;
const MIN_MAGNITUDE: i64 = -130;

pub const MSG_OVERFLOW: &str =
    "Number overflow. Attempting to store a number with magnitude larger than supported range";
pub const MSG_UNDERFLOW: &str =
    "Number underflow. Attempting to store a number with magnitude smaller than supported range";
pub const MSG_PRECISION: &str = "Attempting to store more than 38 significant digits in a Number";
pub const MSG_NOT_NUMERIC: &str = "The parameter cannot be converted to a numeric value";

/// Canonical form: `digits` has no leading or trailing zeros (empty means zero, which is
/// never negative), value = ±digits × 10^exp. Because the form is canonical, the derived
/// equality and hash are numeric (1.0 == 1).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Number {
    neg: bool,
    digits: Vec<u8>,
    exp: i64,
}

impl Number {
    pub fn zero() -> Number {
        Number { neg: false, digits: Vec::new(), exp: 0 }
    }

    /// Parses what DynamoDB accepts for an `N`: `-?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?`,
    /// with the range and precision checks in DynamoDB's order (overflow, underflow, digits).
    pub fn parse(s: &str) -> Result<Number, String> {
        if s.is_empty() {
            return Err(MSG_NOT_NUMERIC.to_string());
        }
        let bad = || format!("{}: {}", MSG_NOT_NUMERIC, s);
        let b = s.as_bytes();
        let mut i = 0;
        let neg = b[0] == b'-';
        if neg {
            i += 1;
        }
        let mut mant: Vec<u8> = Vec::new();
        let mut frac_len: i64 = 0;
        let mut int_digits = 0usize;
        while i < b.len() && b[i].is_ascii_digit() {
            mant.push(b[i] - b'0');
            int_digits += 1;
            i += 1;
        }
        let mut frac_digits = 0usize;
        if i < b.len() && b[i] == b'.' {
            i += 1;
            while i < b.len() && b[i].is_ascii_digit() {
                mant.push(b[i] - b'0');
                frac_digits += 1;
                frac_len += 1;
                i += 1;
            }
        }
        if int_digits == 0 && frac_digits == 0 {
            return Err(bad());
        }
        let mut exp: i64 = 0;
        if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
            i += 1;
            let mut eneg = false;
            if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
                eneg = b[i] == b'-';
                i += 1;
            }
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                // Saturate: anything this large is out of range anyway.
                exp = (exp * 10 + (b[i] - b'0') as i64).min(1_000_000_000_000);
                i += 1;
            }
            if i == start {
                return Err(bad());
            }
            if eneg {
                exp = -exp;
            }
        }
        if i != b.len() {
            return Err(bad());
        }
        let n = Number::normalize(neg, mant, exp - frac_len);
        n.check_range()?;
        Ok(n)
    }

    fn normalize(neg: bool, mut digits: Vec<u8>, mut exp: i64) -> Number {
        let lead = digits.iter().take_while(|&&d| d == 0).count();
        digits.drain(..lead);
        while let Some(&0) = digits.last() {
            digits.pop();
            exp += 1;
        }
        if digits.is_empty() {
            return Number::zero();
        }
        Number { neg, digits, exp }
    }

    /// Power of ten of the leading digit (1.5E3 → 3).
    fn magnitude(&self) -> i64 {
        self.digits.len() as i64 - 1 + self.exp
    }

    fn check_range(&self) -> Result<(), String> {
        if self.is_zero() {
            return Ok(());
        }
        let m = self.magnitude();
        if m > MAX_MAGNITUDE {
            return Err(MSG_OVERFLOW.to_string());
        }
        if m < MIN_MAGNITUDE {
            return Err(MSG_UNDERFLOW.to_string());
        }
        if self.digits.len() > MAX_DIGITS {
            return Err(MSG_PRECISION.to_string());
        }
        Ok(())
    }

    pub fn is_zero(&self) -> bool {
        self.digits.is_empty()
    }

    pub fn is_negative(&self) -> bool {
        self.neg
    }

    pub fn from_u64(v: u64) -> Number {
        let digits: Vec<u8> = v.to_string().bytes().map(|c| c - b'0').collect();
        Number::normalize(false, digits, 0)
    }

    pub fn add(&self, other: &Number) -> Result<Number, String> {
        let n = Number::sum(self, other.neg, other);
        n.check_range()?;
        Ok(n)
    }

    pub fn sub(&self, other: &Number) -> Result<Number, String> {
        let n = Number::sum(self, !other.neg, other);
        n.check_range()?;
        Ok(n)
    }

    /// self + (±other), exact. Both operands are in range, so aligning them needs at most
    /// a few hundred digits.
    fn sum(a: &Number, b_neg: bool, b: &Number) -> Number {
        if b.is_zero() {
            return a.clone();
        }
        if a.is_zero() {
            return Number { neg: b_neg, digits: b.digits.clone(), exp: b.exp };
        }
        let e = a.exp.min(b.exp);
        let widen = |n: &Number| {
            let mut v = n.digits.clone();
            v.extend(std::iter::repeat_n(0, (n.exp - e) as usize));
            v
        };
        let (x, y) = (widen(a), widen(b));
        if a.neg == b_neg {
            return Number::normalize(a.neg, add_mag(&x, &y), e);
        }
        match cmp_mag(&x, &y) {
            Ordering::Equal => Number::zero(),
            Ordering::Greater => Number::normalize(a.neg, sub_mag(&x, &y), e),
            Ordering::Less => Number::normalize(b_neg, sub_mag(&y, &x), e),
        }
    }

    /// A key encoding whose byte order is numeric order. Layout: class byte (1 negative,
    /// 2 zero, 3 positive), then magnitude+130 as one byte, then one byte per digit, then a
    /// terminator; negatives invert every byte's sense so larger magnitudes sort first.
    /// The terminator sorts below (positive) or above (negative) every digit byte, so no
    /// encoding is a prefix of another and suffixes appended by the store keep the order.
    pub fn ordered_bytes(&self) -> Vec<u8> {
        if self.is_zero() {
            return vec![2];
        }
        let m = (self.magnitude() - MIN_MAGNITUDE).clamp(0, 255) as u8;
        let mut out = Vec::with_capacity(self.digits.len() + 3);
        if self.neg {
            out.push(1);
            out.push(255 - m);
            out.extend(self.digits.iter().map(|d| 10 - d));
            out.push(0xFF);
        } else {
            out.push(3);
            out.push(m);
            out.extend(self.digits.iter().map(|d| d + 1));
            out.push(0);
        }
        out
    }

    /// DynamoDB's storage cost, as dynalite measured it: base-100 digits plus one byte of
    /// exponent, plus one for a negative sign.
    pub fn size_bytes(&self) -> usize {
        if self.is_zero() {
            return 1;
        }
        let n = self.digits.len();
        let pad = if n % 2 == 1 || self.magnitude() % 2 != 0 { 0 } else { 1 };
        1 + n.div_ceil(2) + pad + usize::from(self.neg)
    }
}

fn add_mag(x: &[u8], y: &[u8]) -> Vec<u8> {
    let len = x.len().max(y.len());
    let mut out = vec![0u8; len + 1];
    let mut carry = 0u8;
    for i in 0..len {
        let a = if i < x.len() { x[x.len() - 1 - i] } else { 0 };
        let b = if i < y.len() { y[y.len() - 1 - i] } else { 0 };
        let s = a + b + carry;
        out[len - i] = s % 10;
        carry = s / 10;
    }
    out[0] = carry;
    out
}

/// x - y for x >= y.
fn sub_mag(x: &[u8], y: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; x.len()];
    let mut borrow = 0i8;
    for i in 0..x.len() {
        let a = x[x.len() - 1 - i] as i8;
        let b = if i < y.len() { y[y.len() - 1 - i] as i8 } else { 0 };
        let mut d = a - b - borrow;
        borrow = 0;
        if d < 0 {
            d += 10;
            borrow = 1;
        }
        out[x.len() - 1 - i] = d as u8;
    }
    out
}

fn cmp_mag(x: &[u8], y: &[u8]) -> Ordering {
    let strip = |v: &[u8]| v.iter().position(|&d| d != 0).map_or(v.len(), |p| p);
    let (x, y) = (&x[strip(x)..], &y[strip(y)..]);
    x.len().cmp(&y.len()).then_with(|| x.cmp(y))
}

impl Ord for Number {
    fn cmp(&self, other: &Number) -> Ordering {
        let class = |n: &Number| if n.is_zero() { 1 } else if n.neg { 0 } else { 2 };
        let (ca, cb) = (class(self), class(other));
        if ca != cb || ca == 1 {
            return ca.cmp(&cb);
        }
        let mag = self
            .magnitude()
            .cmp(&other.magnitude())
            .then_with(|| self.digits.cmp(&other.digits));
        if self.neg {
            mag.reverse()
        } else {
            mag
        }
    }
}

impl PartialOrd for Number {
    fn partial_cmp(&self, other: &Number) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Plain notation, as DynamoDB returns numbers: no exponent, no superfluous zeros.
impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_zero() {
            return f.write_str("0");
        }
        let mut s = String::with_capacity(self.digits.len() + 8);
        if self.neg {
            s.push('-');
        }
        let ds: String = self.digits.iter().map(|d| (b'0' + d) as char).collect();
        if self.exp >= 0 {
            s.push_str(&ds);
            s.extend(std::iter::repeat_n('0', self.exp as usize));
        } else {
            let point = self.digits.len() as i64 + self.exp;
            if point > 0 {
                s.push_str(&ds[..point as usize]);
                s.push('.');
                s.push_str(&ds[point as usize..]);
            } else {
                s.push_str("0.");
                s.extend(std::iter::repeat_n('0', (-point) as usize));
                s.push_str(&ds);
            }
        }
        f.write_str(&s)
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Number({})", self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Number {
        Number::parse(s).expect(s)
    }

    #[test]
    fn canonical_display() {
        for (i, o) in [
            ("1.50", "1.5"),
            ("1E+2", "100"),
            ("1e2", "100"),
            ("-0", "0"),
            ("0.00", "0"),
            ("1e-3", "0.001"),
            ("00042", "42"),
            ("1.5E2", "150"),
            ("3.1400", "3.14"),
            ("-12.5e-1", "-1.25"),
            (".5", "0.5"),
            ("5.", "5"),
            ("-.5e1", "-5"),
            ("0e999999999999999999", "0"),
            ("1E-130", &format!("0.{}1", "0".repeat(129))),
        ] {
            assert_eq!(n(i).to_string(), o, "{}", i);
        }
        assert_eq!(n("123e123").to_string(), format!("123{}", "0".repeat(123)));
        let max = "9.9999999999999999999999999999999999999E+125";
        assert_eq!(n(max).to_string().len(), 126);
    }

    #[test]
    fn parse_errors() {
        assert_eq!(Number::parse("").unwrap_err(), MSG_NOT_NUMERIC);
        for bad in ["b", "1e", "-", ".", "+1", " 1", "1 ", "1.2.3", "e5", "1e+", "0x10", "NaN", "١"] {
            assert_eq!(
                Number::parse(bad).unwrap_err(),
                format!("The parameter cannot be converted to a numeric value: {}", bad)
            );
        }
        assert_eq!(Number::parse("123456789012345678901234567890123456789").unwrap_err(), MSG_PRECISION);
        assert_eq!(Number::parse("-1.23456789012345678901234567890123456789").unwrap_err(), MSG_PRECISION);
        assert_eq!(Number::parse("1e126").unwrap_err(), MSG_OVERFLOW);
        assert_eq!(Number::parse("-1e126").unwrap_err(), MSG_OVERFLOW);
        assert_eq!(Number::parse("1e-131").unwrap_err(), MSG_UNDERFLOW);
        assert_eq!(Number::parse("-1e-131").unwrap_err(), MSG_UNDERFLOW);
        assert_eq!(Number::parse("1e99999999999999999999999").unwrap_err(), MSG_OVERFLOW);
        // Overflow is reported before precision.
        assert_eq!(Number::parse(&format!("{}e100", "1".repeat(39))).unwrap_err(), MSG_OVERFLOW);
        // Leading and trailing zeros are not significant.
        assert!(Number::parse(&format!("000{}000", "1".repeat(38))).is_ok());
        assert!(Number::parse("99999999999999999999999999999999999999").is_ok());
        assert!(Number::parse("9.9999999999999999999999999999999999999E+125").is_ok());
    }

    #[test]
    fn ordering_and_equality() {
        assert_eq!(n("1.0"), n("1"));
        assert_eq!(n("-0"), n("0"));
        let mut v: Vec<Number> = ["10", "-1", "0", "1e-130", "-1e-130", "5", "1.5", "-1.5", "-100", "1e125", "-9e125", "0.001"]
            .iter()
            .map(|s| n(s))
            .collect();
        v.sort();
        let out: Vec<String> = v.iter().map(|x| x.to_string()).collect();
        assert_eq!(out[0], format!("-9{}", "0".repeat(125)));
        assert_eq!(&out[1..4], ["-100", "-1.5", "-1"]);
        assert_eq!(out[4], format!("-0.{}1", "0".repeat(129)));
        assert_eq!(out[5], "0");
        assert_eq!(out[7], "0.001");
        assert_eq!(&out[8..11], ["1.5", "5", "10"]);
        use std::collections::hash_map::DefaultHasher;
        use std::hash::{Hash, Hasher};
        let h = |x: &Number| {
            let mut s = DefaultHasher::new();
            x.hash(&mut s);
            s.finish()
        };
        assert_eq!(h(&n("1.50")), h(&n("15e-1")));
    }

    #[test]
    fn arithmetic() {
        assert_eq!(n("0.3").sub(&n("0.1")).unwrap().to_string(), "0.2");
        assert_eq!(n("100000000000000000000.00000001").sub(&n("1")).unwrap().to_string(), "99999999999999999999.00000001");
        assert_eq!(n("5").add(&n("-5")).unwrap().to_string(), "0");
        assert_eq!(n("-5").add(&n("3")).unwrap().to_string(), "-2");
        assert_eq!(n("-5").sub(&n("-7")).unwrap().to_string(), "2");
        assert_eq!(n("99").add(&n("1")).unwrap().to_string(), "100");
        assert_eq!(n("1e-5").add(&n("1e5")).unwrap().to_string(), "100000.00001");
        assert_eq!(n("0").add(&n("-3")).unwrap().to_string(), "-3");
        assert_eq!(n("0").sub(&n("3")).unwrap().to_string(), "-3");
        assert_eq!(n("9.9999999999999999999999999999999999999E+125").add(&n("1e125")).unwrap_err(), MSG_OVERFLOW);
        assert_eq!(n("1e30").add(&n("1e-30")).unwrap_err(), MSG_PRECISION);
        assert_eq!(n("1e-130").sub(&n("1.1e-130")).unwrap_err(), MSG_UNDERFLOW);
    }

    #[test]
    fn arithmetic_underflow() {
        // 1.1e-130 - 1e-130 = 1e-131: below the supported range.
        assert_eq!(n("1.1e-130").sub(&n("1e-130")).unwrap_err(), MSG_UNDERFLOW);
    }

    #[test]
    fn ordered_bytes_follow_numeric_order() {
        let vals = ["-1e125", "-100", "-10", "-9.99", "-1.2", "-1", "-0.5", "-1e-130", "0", "1e-130", "0.5", "1", "1.2", "9.99", "10", "100", "1e125"];
        for w in vals.windows(2) {
            let (a, b) = (n(w[0]).ordered_bytes(), n(w[1]).ordered_bytes());
            assert!(a < b, "{} < {}", w[0], w[1]);
            // Prefix-free: a suffix never reverses the order.
            let mut a2 = a.clone();
            a2.extend([0xFF, 0xFF]);
            let mut b2 = b.clone();
            b2.push(0);
            assert!(a2 < b2, "{} < {} with suffixes", w[0], w[1]);
        }
        assert_eq!(n("1.0").ordered_bytes(), n("1").ordered_bytes());
    }

    #[test]
    fn size() {
        for (s, sz) in [
            ("0", 1),
            ("1", 2),
            ("10", 2),
            ("12", 2),
            ("1.2", 3),
            ("123.45", 4),
            ("12.34", 3),
            ("1.234", 4),
            ("-1", 3),
            ("27", 2),
            ("-27", 3),
            ("461", 3),
            ("99999999999999999999999999999999999999", 20),
        ] {
            assert_eq!(n(s).size_bytes(), sz, "{}", s);
        }
    }

    #[test]
    fn from_u64() {
        assert_eq!(Number::from_u64(0), Number::zero());
        assert_eq!(Number::from_u64(1200).to_string(), "1200");
    }
}
