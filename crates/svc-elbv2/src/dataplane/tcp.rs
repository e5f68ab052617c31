//! NLB listeners: TCP passed through to a target chosen by a hash of the client's flow
//! (source address and port), so a flow stays on one target.

use super::Plane;
use std::sync::Arc;

pub async fn serve(plane: Arc<Plane>, listener_arn: String, listener: tokio::net::TcpListener) {
    loop {
        let Ok((inbound, client)) = listener.accept().await else { continue };
        let (me, arn) = (plane.clone(), listener_arn.clone());
        plane.on_engine(inbound, move |mut inbound| async move {
            let plane = me;
            let view = plane.view();
            let Some(l) = view.listeners.get(&arn) else { return };
            if let Some(c) = view.counts.get(&l.load_balancer_arn) {
                c.connection();
            }
            let Some(action) = l.default_actions.iter().find(|a| a.kind == "forward") else { return };
            let Some((tg_arn, _)) = action.target_groups.first() else { return };
            let (Some((scope, tg)), Some(routing)) = (view.target_groups.get(tg_arn), view.routing.get(tg_arn)) else { return };
            let targets = routing.routable(tg);
            if targets.is_empty() {
                return;
            }
            let flow = nubo_core::ids::stable_hash(&[&client.ip().to_string(), &client.port().to_string()]);
            let t = &tg.targets[targets[(flow % targets.len() as u64) as usize]];
            if let Ok(mut outbound) = plane.connect(scope, tg, t, t.port as u16).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
    }
}

/// A TLS listener: TLS terminated here, then TCP to the target as for a TCP listener.
pub async fn serve_tls(plane: Arc<Plane>, listener_arn: String, listener: tokio::net::TcpListener, acceptor: tokio_rustls::TlsAcceptor) {
    loop {
        let Ok((inbound, client)) = listener.accept().await else { continue };
        let (me, arn, acceptor) = (plane.clone(), listener_arn.clone(), acceptor.clone());
        plane.on_engine(inbound, move |inbound| async move {
            let plane = me;
            let Ok(mut inbound) = acceptor.accept(inbound).await else { return };
            let view = plane.view();
            let Some(l) = view.listeners.get(&arn) else { return };
            if let Some(c) = view.counts.get(&l.load_balancer_arn) {
                c.connection();
            }
            let Some((tg_arn, _)) = l.default_actions.iter().find(|a| a.kind == "forward").and_then(|a| a.target_groups.first()) else { return };
            let (Some((scope, tg)), Some(routing)) = (view.target_groups.get(tg_arn), view.routing.get(tg_arn)) else { return };
            let targets = routing.routable(tg);
            if targets.is_empty() {
                return;
            }
            let flow = nubo_core::ids::stable_hash(&[&client.ip().to_string(), &client.port().to_string()]);
            let t = &tg.targets[targets[(flow % targets.len() as u64) as usize]];
            if let Ok(mut outbound) = plane.connect(scope, tg, t, t.port as u16).await {
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            }
        });
    }
}
