//! IPv4 CIDR blocks as VPCs and subnets use them: parsing, containment, overlap, and the
//! five addresses AWS keeps in every subnet (network, router, DNS, future, broadcast).

use crate::error::{Ec2Error, Result};
use std::net::Ipv4Addr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    pub base: u32,
    pub prefix: u8,
}

impl Cidr {
    /// A block whose address is its network address (`10.0.0.0/16`, not `10.0.0.1/16`).
    pub fn parse(s: &str) -> Option<Cidr> {
        let (addr, prefix) = s.split_once('/')?;
        let addr: Ipv4Addr = addr.parse().ok()?;
        let prefix: u8 = prefix.parse().ok().filter(|p| *p <= 32)?;
        let base = u32::from(addr);
        (base & !mask(prefix) == 0).then_some(Cidr { base, prefix })
    }

    pub fn size(&self) -> u64 {
        1u64 << (32 - self.prefix)
    }

    pub fn contains(&self, other: &Cidr) -> bool {
        other.prefix >= self.prefix && other.base & mask(self.prefix) == self.base
    }

    pub fn overlaps(&self, other: &Cidr) -> bool {
        self.contains(other) || other.contains(self)
    }

    /// The address `offset` hosts into the block.
    pub fn host(&self, offset: u32) -> Ipv4Addr {
        Ipv4Addr::from(self.base.wrapping_add(offset))
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.base), self.prefix)
    }
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - prefix)
    }
}

/// A VPC's block: /16 to /28, as EC2 allows.
pub fn vpc_block(s: &str) -> Result<Cidr> {
    let c = Cidr::parse(s).ok_or_else(|| Ec2Error::InvalidParameterValue(format!("Value ({s}) for parameter cidrBlock is invalid. This is not a valid CIDR block.")))?;
    if !(16..=28).contains(&c.prefix) {
        return Err(Ec2Error::Invalid { code: "InvalidVpc.Range", message: format!("The CIDR '{s}' is invalid.") });
    }
    Ok(c)
}

/// A subnet's block: /16 to /28, inside its VPC's.
pub fn subnet_block(s: &str, vpc: &Cidr) -> Result<Cidr> {
    let c = Cidr::parse(s).ok_or_else(|| Ec2Error::InvalidParameterValue(format!("Value ({s}) for parameter cidrBlock is invalid. This is not a valid CIDR block.")))?;
    if !(16..=28).contains(&c.prefix) || !vpc.contains(&c) {
        return Err(Ec2Error::Invalid { code: "InvalidSubnet.Range", message: format!("The CIDR '{s}' is invalid.") });
    }
    Ok(c)
}

/// Addresses a subnet can hand out: all but the five AWS reserves.
pub fn usable(c: &Cidr) -> u64 {
    c.size().saturating_sub(5)
}

/// The next free host offset: after the four reserved at the start, before the broadcast.
pub fn next_host(c: &Cidr, used: &[u32]) -> Option<u32> {
    (4..(c.size() as u32).saturating_sub(1)).find(|o| !used.contains(o))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_parse_only_at_their_network_address() {
        assert_eq!(Cidr::parse("10.0.0.0/16").unwrap().size(), 65536);
        assert!(Cidr::parse("10.0.0.1/16").is_none());
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("nonsense").is_none());
    }

    #[test]
    fn containment_and_overlap() {
        let vpc = Cidr::parse("10.0.0.0/16").unwrap();
        let a = Cidr::parse("10.0.1.0/24").unwrap();
        let b = Cidr::parse("10.0.1.128/25").unwrap();
        assert!(vpc.contains(&a) && a.overlaps(&b) && !a.overlaps(&Cidr::parse("10.0.2.0/24").unwrap()));
        assert!(!vpc.contains(&Cidr::parse("10.1.0.0/24").unwrap()));
    }

    #[test]
    fn vpc_and_subnet_sizes_follow_ec2() {
        assert!(vpc_block("10.0.0.0/8").is_err());
        assert!(vpc_block("10.0.0.0/16").is_ok());
        let vpc = Cidr::parse("10.0.0.0/16").unwrap();
        assert!(subnet_block("10.1.0.0/24", &vpc).is_err());
        assert_eq!(usable(&Cidr::parse("10.0.0.0/24").unwrap()), 251);
    }

    #[test]
    fn hosts_skip_the_reserved_addresses() {
        let c = Cidr::parse("10.0.0.0/28").unwrap();
        assert_eq!(c.host(next_host(&c, &[]).unwrap()).to_string(), "10.0.0.4");
        assert_eq!(next_host(&c, &(4..15).collect::<Vec<_>>()), None);
    }
}
