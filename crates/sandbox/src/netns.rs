//! An instance's network namespace, owned by nubo through a file descriptor.
//!
//! Inside there is only a loopback interface, carrying the instance's private address and
//! the metadata address as /32 aliases: nothing in it can reach the host's network, and
//! the host reaches in only through sockets nubo creates inside ([`NetNs::socket`]), as
//! the published ports, the metadata service and load balancers do. A thread that enters
//! the namespace is a thread of its own that ends right after, so no thread of nubo's is
//! ever left in an instance's namespace.

use nix::sched::{setns, unshare, CloneFlags};
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

pub struct NetNs {
    fd: OwnedFd,
}

impl NetNs {
    /// A new namespace whose loopback carries `addresses` besides 127.0.0.1.
    pub fn create(addresses: &[Ipv4Addr]) -> io::Result<NetNs> {
        let addresses = addresses.to_vec();
        std::thread::spawn(move || -> io::Result<NetNs> {
            unshare(CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
            let fd = OwnedFd::from(std::fs::File::open("/proc/thread-self/ns/net")?);
            let sock = ioctl_socket()?;
            set_up(&sock, "lo")?;
            for (n, ip) in addresses.iter().enumerate() {
                add_alias(&sock, &format!("lo:{}", n + 1), *ip)?;
            }
            Ok(NetNs { fd })
        })
        .join()
        .map_err(|_| io::Error::other("the namespace thread panicked"))?
    }

    pub fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Runs `f` on a thread inside the namespace; sockets it creates stay there.
    pub fn run<T: Send + 'static>(&self, f: impl FnOnce() -> io::Result<T> + Send + 'static) -> io::Result<T> {
        let fd = self.fd.try_clone()?;
        std::thread::spawn(move || {
            setns(fd.as_fd(), CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
            f()
        })
        .join()
        .map_err(|_| io::Error::other("the namespace thread panicked"))?
    }

    /// A listener bound inside the namespace (non-blocking, for tokio).
    pub fn listen(&self, addr: SocketAddr) -> io::Result<TcpListener> {
        self.run(move || {
            let l = TcpListener::bind(addr)?;
            l.set_nonblocking(true)?;
            Ok(l)
        })
    }

    /// An unconnected TCP socket of the namespace, to connect from the host's tasks.
    pub fn socket(&self) -> io::Result<TcpStream> {
        self.run(|| {
            // SAFETY: a fresh descriptor from socket(2), owned by the stream from here on.
            let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK, 0) };
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(unsafe { TcpStream::from_raw_fd(fd) })
        })
    }
}

fn ioctl_socket() -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2); the descriptor is owned from here on.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn ifreq(name: &str) -> libc::ifreq {
    // SAFETY: ifreq is plain data; all zeroes is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (dst, src) in req.ifr_name.iter_mut().zip(name.bytes().take(libc::IFNAMSIZ - 1)) {
        *dst = src as libc::c_char;
    }
    req
}

fn ioctl(sock: &OwnedFd, request: libc::Ioctl, req: &mut libc::ifreq) -> io::Result<()> {
    // SAFETY: the request codes used here take a struct ifreq.
    if unsafe { libc::ioctl(sock.as_raw_fd(), request, req as *mut libc::ifreq) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn set_up(sock: &OwnedFd, name: &str) -> io::Result<()> {
    let mut req = ifreq(name);
    ioctl(sock, libc::SIOCGIFFLAGS as libc::Ioctl, &mut req)?;
    // SAFETY: SIOCGIFFLAGS filled the flags member of the union.
    unsafe { req.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short };
    ioctl(sock, libc::SIOCSIFFLAGS as libc::Ioctl, &mut req)
}

fn sockaddr(ip: Ipv4Addr) -> libc::sockaddr {
    let sin = libc::sockaddr_in { sin_family: libc::AF_INET as libc::sa_family_t, sin_port: 0, sin_addr: libc::in_addr { s_addr: u32::from(ip).to_be() }, sin_zero: [0; 8] };
    // SAFETY: sockaddr_in and sockaddr have the same size; the kernel reads it as sockaddr_in.
    unsafe { std::mem::transmute::<libc::sockaddr_in, libc::sockaddr>(sin) }
}

/// An address on a labelled alias of an interface (`lo:1`), with a /32 mask so that it
/// claims no more than itself.
fn add_alias(sock: &OwnedFd, label: &str, ip: Ipv4Addr) -> io::Result<()> {
    let mut req = ifreq(label);
    req.ifr_ifru.ifru_addr = sockaddr(ip);
    ioctl(sock, libc::SIOCSIFADDR as libc::Ioctl, &mut req)?;
    let mut req = ifreq(label);
    req.ifr_ifru.ifru_netmask = sockaddr(Ipv4Addr::BROADCAST);
    ioctl(sock, libc::SIOCSIFNETMASK as libc::Ioctl, &mut req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// Only where nubo may create namespaces (root): elsewhere there is nothing to test.
    fn may_create() -> bool {
        nix::unistd::geteuid().is_root()
    }

    #[test]
    fn a_namespace_listens_on_its_private_address_and_is_reached_through_its_sockets() {
        if !may_create() {
            return;
        }
        let ns = NetNs::create(&[Ipv4Addr::new(172, 31, 9, 9), Ipv4Addr::new(169, 254, 169, 254)]).unwrap();
        let listener = ns.listen(SocketAddr::from(([172, 31, 9, 9], 8080))).unwrap();
        listener.set_nonblocking(false).unwrap();
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            s.write_all(b"inside").unwrap();
        });
        let stream = ns.socket().unwrap();
        stream.set_nonblocking(false).unwrap();
        let addr = nix::sys::socket::SockaddrIn::from(std::net::SocketAddrV4::new(Ipv4Addr::new(172, 31, 9, 9), 8080));
        nix::sys::socket::connect(stream.as_raw_fd(), &addr).unwrap();
        let mut got = String::new();
        (&stream).read_to_string(&mut got).unwrap();
        server.join().unwrap();
        assert_eq!(got, "inside");
        // The host's own namespace has no such address.
        assert!(TcpListener::bind(("172.31.9.9", 0)).is_err());
    }
}
