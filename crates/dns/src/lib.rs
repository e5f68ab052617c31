//! nubo's DNS: A records for the names nubo owns — load balancers'
//! `*.elb.localhost` names, instances' public and private DNS names — answered over UDP
//! on the host (beside the API, same address and port) and to instances (their
//! resolver). Authoritative only: a name nubo does not own is refused, never forwarded
//! (nubo does not reach outside the machine).
//!
//! The wire format is RFC 1035's, for the one-question queries resolvers send.

use std::net::Ipv4Addr;
use std::sync::Arc;

/// Who owns which name; the composition root asks the services.
pub trait Names: Send + Sync + 'static {
    /// `None`: not nubo's name. `Some(None)`: nubo's zone, but no such name (NXDOMAIN).
    fn lookup(&self, name: &str) -> Option<Option<Ipv4Addr>>;
}

const TTL: u32 = 60;
const TYPE_A: u16 = 1;
const CLASS_IN: u16 = 1;
const NOERROR: u8 = 0;
const FORMERR: u8 = 1;
const NXDOMAIN: u8 = 3;
const NOTIMP: u8 = 4;
const REFUSED: u8 = 5;

/// The question of a query: (name lowercased without the final dot, type, class, end offset).
fn question(q: &[u8]) -> Option<(String, u16, u16, usize)> {
    let mut at = 12;
    let mut labels: Vec<String> = Vec::new();
    loop {
        let len = *q.get(at)? as usize;
        at += 1;
        if len == 0 {
            break;
        }
        // No compression in a question; labels are at most 63 bytes.
        if len > 63 {
            return None;
        }
        labels.push(String::from_utf8_lossy(q.get(at..at + len)?).to_ascii_lowercase());
        at += len;
    }
    let kind = u16::from_be_bytes([*q.get(at)?, *q.get(at + 1)?]);
    let class = u16::from_be_bytes([*q.get(at + 2)?, *q.get(at + 3)?]);
    Some((labels.join("."), kind, class, at + 4))
}

/// The response to one query packet; `None` for what deserves no answer (a response, a runt).
pub fn answer(q: &[u8], names: &dyn Names) -> Option<Vec<u8>> {
    if q.len() < 12 || q[2] & 0x80 != 0 {
        return None;
    }
    let opcode = (q[2] >> 3) & 0x0f;
    let questions = u16::from_be_bytes([q[4], q[5]]);
    let reply = |rcode: u8, end: usize, record: Option<Ipv4Addr>, authoritative: bool| {
        let mut r = Vec::with_capacity(end + 16);
        r.extend_from_slice(&q[..2]);
        // QR, the opcode, AA, RD copied; RA clear: nubo does not recurse.
        r.push(0x80 | (q[2] & 0x79) | if authoritative { 0x04 } else { 0 });
        r.push(rcode);
        r.extend_from_slice(&(if end > 12 { 1u16 } else { 0 }).to_be_bytes());
        r.extend_from_slice(&(record.is_some() as u16).to_be_bytes());
        r.extend_from_slice(&[0, 0, 0, 0]);
        r.extend_from_slice(&q[12..end]);
        if let Some(ip) = record {
            r.extend_from_slice(&[0xc0, 0x0c]);
            r.extend_from_slice(&TYPE_A.to_be_bytes());
            r.extend_from_slice(&CLASS_IN.to_be_bytes());
            r.extend_from_slice(&TTL.to_be_bytes());
            r.extend_from_slice(&4u16.to_be_bytes());
            r.extend_from_slice(&ip.octets());
        }
        r
    };
    if opcode != 0 {
        return Some(reply(NOTIMP, 12, None, false));
    }
    if questions != 1 {
        return Some(reply(FORMERR, 12, None, false));
    }
    let Some((name, kind, class, end)) = question(q) else { return Some(reply(FORMERR, 12, None, false)) };
    Some(match names.lookup(&name) {
        None => reply(REFUSED, end, None, false),
        Some(None) => reply(NXDOMAIN, end, None, true),
        // Another type of a name nubo has: no data (NOERROR, no answer).
        Some(Some(ip)) => reply(NOERROR, end, (kind == TYPE_A && class == CLASS_IN).then_some(ip), true),
    })
}

/// Answers queries on `socket` until the task is dropped.
pub async fn serve(socket: tokio::net::UdpSocket, names: Arc<dyn Names>) {
    let mut buf = [0u8; 512];
    loop {
        let Ok((n, from)) = socket.recv_from(&mut buf).await else { continue };
        if let Some(r) = answer(&buf[..n], names.as_ref()) {
            let _ = socket.send_to(&r, from).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;

    impl Names for Fixed {
        fn lookup(&self, name: &str) -> Option<Option<Ipv4Addr>> {
            match name {
                "web-1.us-east-1.elb.localhost" => Some(Some(Ipv4Addr::new(127, 16, 0, 9))),
                n if n.ends_with(".elb.localhost") => Some(None),
                _ => None,
            }
        }
    }

    fn query(name: &str, kind: u16) -> Vec<u8> {
        let mut q = vec![0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in name.split('.') {
            q.push(label.len() as u8);
            q.extend_from_slice(label.as_bytes());
        }
        q.push(0);
        q.extend_from_slice(&kind.to_be_bytes());
        q.extend_from_slice(&CLASS_IN.to_be_bytes());
        q
    }

    #[test]
    fn a_name_nubo_owns_gets_its_address() {
        let q = query("Web-1.us-east-1.elb.localhost", TYPE_A);
        let r = answer(&q, &Fixed).unwrap();
        assert_eq!(&r[..2], &[0xab, 0xcd]);
        assert_eq!(r[3] & 0x0f, NOERROR);
        assert_eq!(u16::from_be_bytes([r[6], r[7]]), 1);
        assert_eq!(&r[r.len() - 4..], &[127, 16, 0, 9]);
        assert_ne!(r[2] & 0x04, 0, "authoritative");
    }

    #[test]
    fn unknown_names_in_the_zone_do_not_exist_and_others_are_refused() {
        let r = answer(&query("nope.us-east-1.elb.localhost", TYPE_A), &Fixed).unwrap();
        assert_eq!(r[3] & 0x0f, NXDOMAIN);
        let r = answer(&query("example.com", TYPE_A), &Fixed).unwrap();
        assert_eq!(r[3] & 0x0f, REFUSED);
    }

    #[test]
    fn other_types_get_no_data_and_garbage_gets_formerr() {
        let r = answer(&query("web-1.us-east-1.elb.localhost", 28), &Fixed).unwrap();
        assert_eq!((r[3] & 0x0f, u16::from_be_bytes([r[6], r[7]])), (NOERROR, 0));
        let mut bad = query("x", TYPE_A);
        bad.truncate(14);
        assert_eq!(answer(&bad, &Fixed).unwrap()[3] & 0x0f, FORMERR);
        assert!(answer(&[0; 5], &Fixed).is_none());
    }
}
