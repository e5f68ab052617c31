//! Pagination of Describe answers: `MaxResults` items at a time, the `NextToken` saying
//! where the next page starts. The token is the offset in the (stable, id-ordered)
//! answer, opaque to clients.

use crate::error::{Ec2Error, Result};
use base64::Engine;

/// One page of `items`; `bounds` are the MaxResults the operation accepts.
pub fn page<T>(items: Vec<T>, max_results: Option<i32>, next_token: Option<String>, bounds: (i32, i32)) -> Result<(Vec<T>, Option<String>)> {
    let start = match &next_token {
        None => 0,
        Some(t) => base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(t)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix("nubo:").and_then(|n| n.parse::<usize>().ok()))
            .ok_or_else(|| Ec2Error::Invalid { code: "InvalidNextToken", message: "The provided token is malformed or otherwise invalid.".into() })?,
    };
    let Some(max) = max_results else {
        return Ok((items.into_iter().skip(start).collect(), None));
    };
    let (lo, hi) = bounds;
    if max < lo || max > hi {
        return Err(Ec2Error::InvalidParameterValue(format!("Value ( {max} ) for parameter maxResults is invalid. Expecting a value {}.", if max < lo { format!("greater than {lo}") } else { format!("less than {hi}") })));
    }
    let total = items.len();
    let page: Vec<T> = items.into_iter().skip(start).take(max as usize).collect();
    let next = start + page.len();
    let token = (next < total).then(|| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("nubo:{next}")));
    Ok((page, token))
}

/// Some Describe calls refuse ids together with MaxResults.
pub fn ids_or_max(ids: bool, max: Option<i32>, set_name: &str) -> Result<()> {
    if ids && max.is_some() {
        return Err(Ec2Error::InvalidParameterCombination(format!("The parameter {set_name} cannot be used with the parameter maxResults")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_their_tokens() {
        let (first, token) = page((1..=12).collect(), Some(5), None, (5, 1000)).unwrap();
        assert_eq!(first, vec![1, 2, 3, 4, 5]);
        let (second, token) = page((1..=12).collect(), Some(5), token, (5, 1000)).unwrap();
        assert_eq!(second, vec![6, 7, 8, 9, 10]);
        let (last, token) = page((1..=12).collect::<Vec<i32>>(), Some(5), token, (5, 1000)).unwrap();
        assert_eq!((last, token), (vec![11, 12], None));
        assert!(page(vec![1], Some(3), None, (5, 1000)).is_err());
        assert!(page(vec![1], None, Some("garbage".into()), (5, 1000)).is_err());
    }
}
