//! An instance's network: two namespaces nubo owns through file descriptors.
//!
//! The guest's namespace has a loopback and `eth0`, carrying the instance's private
//! address; `eth0` is one end of a veth pair whose other end, `gw0`, is in a small
//! namespace of nubo's beside it (the "router") carrying `169.254.169.254`. The metadata
//! service and the way to nubo's API listen in the router's namespace, so the guest's
//! own port space is whole (a web server on port 80 binds `0.0.0.0:80` as on EC2), and
//! nothing in either namespace can reach the host's network. The host reaches in only
//! through sockets nubo creates inside ([`NetNs::socket`]), as published ports and load
//! balancers do. A thread that enters a namespace is a thread of its own that ends right
//! after, so no thread of nubo's is ever left in an instance's namespace.

use nix::sched::{setns, unshare, CloneFlags};
use std::io;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

pub struct NetNs {
    /// The guest's namespace.
    fd: OwnedFd,
    /// The router's namespace, where nubo serves the guest.
    router: OwnedFd,
}

/// A namespace of its own, made on a thread of its own, with its loopback up.
fn new_namespace() -> io::Result<OwnedFd> {
    std::thread::spawn(|| -> io::Result<OwnedFd> {
        unshare(CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
        let fd = OwnedFd::from(std::fs::File::open("/proc/thread-self/ns/net")?);
        set_up(&ioctl_socket()?, "lo")?;
        Ok(fd)
    })
    .join()
    .map_err(|_| io::Error::other("the namespace thread panicked"))?
}

fn inside<T: Send + 'static>(ns: &OwnedFd, f: impl FnOnce() -> io::Result<T> + Send + 'static) -> io::Result<T> {
    let fd = ns.try_clone()?;
    std::thread::spawn(move || {
        setns(fd.as_fd(), CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
        f()
    })
    .join()
    .map_err(|_| io::Error::other("the namespace thread panicked"))?
}

impl NetNs {
    /// The guest's network: `eth0` with `private` (and `mac`), linked to the router,
    /// which carries `service` (the metadata address).
    pub fn create(private: Ipv4Addr, mac: Option<[u8; 6]>, service: Ipv4Addr) -> io::Result<NetNs> {
        let router = new_namespace()?;
        let fd = new_namespace()?;
        let router_fd = router.try_clone()?;
        inside(&fd, move || {
            crate::netlink::add_veth("eth0", mac, "gw0", router_fd.as_raw_fd())?;
            let sock = ioctl_socket()?;
            set_address(&sock, "eth0", private)?;
            set_up(&sock, "eth0")?;
            add_host_route(&sock, service, "eth0")
        })?;
        inside(&router, move || {
            let sock = ioctl_socket()?;
            set_address(&sock, "gw0", service)?;
            set_up(&sock, "gw0")?;
            add_host_route(&sock, private, "gw0")
        })?;
        Ok(NetNs { fd, router })
    }

    pub fn fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Runs `f` on a thread inside the guest's namespace; sockets it creates stay there.
    pub fn run<T: Send + 'static>(&self, f: impl FnOnce() -> io::Result<T> + Send + 'static) -> io::Result<T> {
        inside(&self.fd, f)
    }

    /// A listener of nubo's in the router's namespace (non-blocking, for tokio): what
    /// the guest reaches at the service address.
    pub fn listen(&self, addr: SocketAddr) -> io::Result<TcpListener> {
        inside(&self.router, move || {
            let l = TcpListener::bind(addr)?;
            l.set_nonblocking(true)?;
            Ok(l)
        })
    }

    /// A UDP socket of nubo's in the router's namespace (non-blocking): the guest's DNS
    /// resolver at the service address.
    pub fn listen_udp(&self, addr: SocketAddr) -> io::Result<std::net::UdpSocket> {
        inside(&self.router, move || {
            let s = std::net::UdpSocket::bind(addr)?;
            s.set_nonblocking(true)?;
            Ok(s)
        })
    }

    /// An unconnected TCP socket of the guest's namespace, to connect from the host's tasks.
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

/// An interface's address, with a /32 mask so that it claims no more than itself.
fn set_address(sock: &OwnedFd, name: &str, ip: Ipv4Addr) -> io::Result<()> {
    let label = name;
    let mut req = ifreq(label);
    req.ifr_ifru.ifru_addr = sockaddr(ip);
    ioctl(sock, libc::SIOCSIFADDR as libc::Ioctl, &mut req)?;
    let mut req = ifreq(label);
    req.ifr_ifru.ifru_netmask = sockaddr(Ipv4Addr::BROADCAST);
    ioctl(sock, libc::SIOCSIFNETMASK as libc::Ioctl, &mut req)
}

/// A route to one address through an interface (no gateway): `ip route add <ip>/32 dev <name>`.
fn add_host_route(sock: &OwnedFd, ip: Ipv4Addr, name: &str) -> io::Result<()> {
    const SIOCADDRT: libc::Ioctl = 0x890B;
    const RTF_UP: libc::c_ushort = 0x0001;
    const RTF_HOST: libc::c_ushort = 0x0004;
    let mut dev = std::ffi::CString::new(name).map_err(io::Error::other)?.into_bytes_with_nul();
    // SAFETY: rtentry is plain data; all zeroes is a valid value.
    let mut route: libc::rtentry = unsafe { std::mem::zeroed() };
    route.rt_dst = sockaddr(ip);
    route.rt_genmask = sockaddr(Ipv4Addr::BROADCAST);
    route.rt_flags = RTF_UP | RTF_HOST;
    route.rt_dev = dev.as_mut_ptr() as *mut libc::c_char;
    // SAFETY: SIOCADDRT takes a struct rtentry; `dev` outlives the call.
    if unsafe { libc::ioctl(sock.as_raw_fd(), SIOCADDRT, &mut route as *mut libc::rtentry) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
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
        let ns = NetNs::create(Ipv4Addr::new(172, 31, 9, 9), Some([0x0e, 1, 2, 3, 4, 5]), Ipv4Addr::new(169, 254, 169, 254)).unwrap();
        let listener = ns.run(|| TcpListener::bind("172.31.9.9:8080")).unwrap();
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
        // The guest reaches the router's service address, and binds its port itself.
        let service = ns.listen(SocketAddr::from(([169, 254, 169, 254], 80))).unwrap();
        service.set_nonblocking(false).unwrap();
        let guest = ns.run(|| TcpListener::bind("0.0.0.0:80")).unwrap();
        drop(guest);
        let client = std::thread::spawn(move || service.accept().map(|(_, from)| from.ip()));
        ns.run(|| TcpStream::connect("169.254.169.254:80").map(|_| ())).unwrap();
        assert_eq!(client.join().unwrap().unwrap(), Ipv4Addr::new(172, 31, 9, 9));
    }
}
