//! Just enough rtnetlink to make a veth pair with its peer in another namespace: the one
//! link operation that has no ioctl. (Addresses and routes use the IPv4 ioctls.)

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

const RTM_NEWLINK: u16 = 16;
const NLM_F_REQUEST: u16 = 0x01;
const NLM_F_ACK: u16 = 0x04;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;
const NLMSG_ERROR: u16 = 2;
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_LINKINFO: u16 = 18;
const IFLA_NET_NS_FD: u16 = 28;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const VETH_INFO_PEER: u16 = 1;
const NLA_F_NESTED: u16 = 0x8000;
/// struct ifinfomsg: family, pad, type, index, flags, change.
const IFINFOMSG_LEN: usize = 16;

fn align(n: usize) -> usize {
    (n + 3) & !3
}

/// An attribute: length, type, payload, padding.
fn attr(kind: u16, payload: &[u8]) -> Vec<u8> {
    let len = 4 + payload.len();
    let mut out = Vec::with_capacity(align(len));
    out.extend_from_slice(&(len as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(payload);
    out.resize(align(len), 0);
    out
}

fn name(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

/// Creates `name` (in the calling thread's namespace) and its peer `peer`, which goes
/// into the namespace of `peer_ns_fd`.
pub fn add_veth(name_: &str, mac: Option<[u8; 6]>, peer: &str, peer_ns_fd: i32) -> io::Result<()> {
    let mut peer_info = vec![0u8; IFINFOMSG_LEN];
    peer_info.extend(attr(IFLA_IFNAME, &name(peer)));
    peer_info.extend(attr(IFLA_NET_NS_FD, &(peer_ns_fd as u32).to_ne_bytes()));
    let data = attr(VETH_INFO_PEER | NLA_F_NESTED, &peer_info);
    let mut link_info = attr(IFLA_INFO_KIND, &name("veth")[..4]);
    link_info.extend(attr(IFLA_INFO_DATA | NLA_F_NESTED, &data));
    let mut body = vec![0u8; IFINFOMSG_LEN];
    body.extend(attr(IFLA_IFNAME, &name(name_)));
    if let Some(mac) = mac {
        body.extend(attr(IFLA_ADDRESS, &mac));
    }
    body.extend(attr(IFLA_LINKINFO | NLA_F_NESTED, &link_info));
    request(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, &body)
}

/// Sends one request to the kernel and reads its acknowledgement.
fn request(kind: u16, flags: u16, body: &[u8]) -> io::Result<()> {
    // SAFETY: socket(2); the descriptor is owned from here on.
    let fd = unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_RAW | libc::SOCK_CLOEXEC, libc::NETLINK_ROUTE) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let sock = unsafe { OwnedFd::from_raw_fd(fd) };
    let len = 16 + body.len();
    let mut msg = Vec::with_capacity(len);
    msg.extend_from_slice(&(len as u32).to_ne_bytes());
    msg.extend_from_slice(&kind.to_ne_bytes());
    msg.extend_from_slice(&flags.to_ne_bytes());
    msg.extend_from_slice(&1u32.to_ne_bytes()); // sequence
    msg.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel assigns it
    msg.extend_from_slice(body);
    // SAFETY: sockaddr_nl is plain data; all zeroes (then the family) addresses the kernel.
    let mut kernel: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    kernel.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    let sent = unsafe {
        libc::sendto(sock.as_raw_fd(), msg.as_ptr() as *const libc::c_void, msg.len(), 0, &kernel as *const libc::sockaddr_nl as *const libc::sockaddr, std::mem::size_of::<libc::sockaddr_nl>() as u32)
    };
    if sent < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut buf = [0u8; 4096];
    // SAFETY: recv(2) into a buffer of the length given.
    let n = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr() as *mut libc::c_void, buf.len(), 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let n = n as usize;
    if n < 20 {
        return Err(io::Error::other("short netlink answer"));
    }
    let answer_kind = u16::from_ne_bytes([buf[4], buf[5]]);
    if answer_kind != NLMSG_ERROR {
        return Err(io::Error::other(format!("unexpected netlink answer {answer_kind}")));
    }
    let errno = i32::from_ne_bytes([buf[16], buf[17], buf[18], buf[19]]);
    if errno != 0 {
        return Err(io::Error::from_raw_os_error(-errno));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_padded_to_four_bytes() {
        assert_eq!(attr(3, b"eth0\0"), vec![9, 0, 3, 0, b'e', b't', b'h', b'0', 0, 0, 0, 0]);
    }
}
