//! How AWS names resources in host names, as nubo serves them on loopback:
//! S3 buckets as virtual hosts (`bucket.localhost`, `bucket.s3.localhost.localstack.cloud`)
//! and S3 website endpoints (`bucket.s3-website.localhost`,
//! `bucket.s3-website-us-east-1.localhost`, `bucket.s3-website.us-east-1.localhost`).

fn strip_port(host: &str) -> String {
    let h = host.rsplit_once(':').filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit())).map(|(h, _)| h).unwrap_or(host);
    h.to_ascii_lowercase()
}

/// The bucket of an S3 website endpoint host.
pub fn website_bucket(host: &str) -> Option<String> {
    let host = strip_port(host);
    let i = host.find(".s3-website")?;
    (i > 0).then(|| host[..i].to_string())
}

/// A fresh loopback address for something the host publishes as if public: an Elastic
/// IP, a load balancer, a function URL. Drawn at random from 127.16.0.0/12 (never a .0 or
/// .255), so that owners hardly ever meet; callers that keep a list of taken addresses
/// draw again on a collision.
pub fn public_loopback_address() -> std::net::Ipv4Addr {
    loop {
        let n: u32 = (127 << 24) | (16 << 16) | fastrand::u32(1..(1 << 20) - 1);
        let last = n & 0xff;
        if last != 0 && last != 255 {
            return std::net::Ipv4Addr::from(n);
        }
    }
}

/// Whether an address is from the pool [`public_loopback_address`] draws from.
pub fn is_public_loopback(ip: std::net::Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    a == 127 && (16..32).contains(&b)
}

/// Whether a `Host` is one of the names other services answer under `localhost`
/// (function URLs, load balancers) or one of their own addresses (see
/// [`public_loopback_address`]): never a bucket, never S3's.
pub fn names_another_service(host: &str) -> bool {
    let host = strip_port(host);
    if let Ok(ip) = host.parse::<std::net::Ipv4Addr>() {
        return is_public_loopback(ip);
    }
    host.contains(".lambda-url.") || host.ends_with(".elb.localhost")
}

/// The bucket named by a virtual-host-style `Host`: `bucket.s3.<anything>` or `bucket.localhost`.
pub fn virtual_host_bucket(host: &str) -> Option<String> {
    let host = strip_port(host);
    if host.contains(".s3-website") {
        return None;
    }
    if let Some(i) = host.find(".s3.").or_else(|| host.find(".s3-")) {
        return (i > 0).then(|| host[..i].to_string());
    }
    let bucket = host.strip_suffix(".localhost")?;
    if names_another_service(&host) {
        return None;
    }
    (!bucket.is_empty() && bucket != "s3" && !bucket.contains(".s3")).then(|| bucket.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_host_styles_name_their_bucket() {
        assert_eq!(virtual_host_bucket("my-bucket.s3.localhost.localstack.cloud:4566").as_deref(), Some("my-bucket"));
        assert_eq!(virtual_host_bucket("my.dotted.bucket.localhost:4566").as_deref(), Some("my.dotted.bucket"));
        assert_eq!(virtual_host_bucket("b.s3.amazonaws.com").as_deref(), Some("b"));
        assert_eq!(virtual_host_bucket("localhost:4566"), None);
        assert_eq!(virtual_host_bucket("127.0.0.1:4566"), None);
        assert_eq!(virtual_host_bucket("s3.localhost.localstack.cloud"), None);
        assert_eq!(virtual_host_bucket("site.s3-website.localhost"), None);
        assert_eq!(virtual_host_bucket("abc.lambda-url.us-east-1.localhost:4566"), None);
        assert_eq!(virtual_host_bucket("web-1.us-east-1.elb.localhost"), None);
        assert!(names_another_service("127.20.1.9:80") && !names_another_service("127.0.0.1:4566"));
    }

    #[test]
    fn website_hosts_name_their_bucket() {
        assert_eq!(website_bucket("site.s3-website.localhost:4566").as_deref(), Some("site"));
        assert_eq!(website_bucket("my.site.s3-website-us-east-1.localhost").as_deref(), Some("my.site"));
        assert_eq!(website_bucket("site.s3-website.eu-west-1.localhost").as_deref(), Some("site"));
        assert_eq!(website_bucket("site.localhost"), None);
    }
}
