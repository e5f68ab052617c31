//! NLB UDP listeners (`UDP`, and the UDP half of `TCP_UDP`): each client flow (source
//! address and port) is pinned by its hash to a target, and relayed through a socket of
//! its own toward the target (in the instance's network for `instance` targets), so the
//! target's replies come back to that client. A flow idle for 120 seconds (NLB's UDP
//! idle timeout) is forgotten.

use super::Plane;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::UdpSocket;

const IDLE: Duration = Duration::from_secs(120);

type Flows = Arc<Mutex<HashMap<SocketAddr, Arc<UdpSocket>>>>;

pub async fn serve(plane: Arc<Plane>, listener_arn: String, socket: UdpSocket) {
    let socket = Arc::new(socket);
    let flows: Flows = Default::default();
    let mut buf = vec![0u8; 65_535];
    loop {
        let Ok((n, client)) = socket.recv_from(&mut buf).await else { continue };
        let existing = flows.lock().unwrap().get(&client).cloned();
        let upstream = match existing {
            Some(u) => u,
            None => match plane.open_flow(&listener_arn, client) {
                Some(u) => {
                    let u = Arc::new(u);
                    flows.lock().unwrap().insert(client, u.clone());
                    tokio::spawn(replies(socket.clone(), u.clone(), client, flows.clone()));
                    u
                }
                None => continue,
            },
        };
        let _ = upstream.send(&buf[..n]).await;
    }
}

/// Passes a flow's replies back to its client until the flow is idle.
async fn replies(socket: Arc<UdpSocket>, upstream: Arc<UdpSocket>, client: SocketAddr, flows: Flows) {
    let mut buf = vec![0u8; 65_535];
    while let Ok(Ok(n)) = tokio::time::timeout(IDLE, upstream.recv(&mut buf)).await {
        let _ = socket.send_to(&buf[..n], client).await;
    }
    flows.lock().unwrap().remove(&client);
}

impl Plane {
    /// A socket connected to the target a new flow goes to.
    fn open_flow(&self, listener_arn: &str, client: SocketAddr) -> Option<UdpSocket> {
        let view = self.view();
        let l = view.listeners.get(listener_arn)?;
        if let Some(c) = view.counts.get(&l.load_balancer_arn) {
            c.connection();
        }
        let (tg_arn, _) = l.default_actions.iter().find(|a| a.kind == "forward")?.target_groups.first()?;
        let ((scope, tg), routing) = (view.target_groups.get(tg_arn)?, view.routing.get(tg_arn)?);
        let targets = routing.routable(tg);
        if targets.is_empty() {
            return None;
        }
        let flow = nubo_core::ids::stable_hash(&[&client.ip().to_string(), &client.port().to_string()]);
        let t = &tg.targets[targets[(flow % targets.len() as u64) as usize]];
        let (socket, to) = match tg.target_type.as_str() {
            "instance" => {
                let ip: std::net::Ipv4Addr = self.network.instance(scope, &t.id)?.private_ip.parse().ok()?;
                (self.network.udp(&t.id).ok()?, SocketAddr::from((ip, t.port as u16)))
            }
            _ => {
                let ip: std::net::IpAddr = t.id.parse().ok()?;
                // Only loopback from the host, as for TCP.
                if !ip.is_loopback() {
                    return None;
                }
                let s = std::net::UdpSocket::bind((ip, 0)).ok()?;
                s.set_nonblocking(true).ok()?;
                (s, SocketAddr::new(ip, t.port as u16))
            }
        };
        socket.connect(to).ok()?;
        UdpSocket::from_std(socket).ok()
    }
}
