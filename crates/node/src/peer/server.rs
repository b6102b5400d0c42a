//! TLS accept loop for the peer HTTPS API; each request carries a [`PeerConnInfo`] extension.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::TokioIo;
use mayros_sync_proto::seedproof::EXPORTER_LABEL;
use rustls::ServerConfig;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt;
use tracing::Instrument;

use crate::tls::node_id_of;

/// Time allowed for a TLS handshake before the connection is dropped.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause after a failed accept (e.g. out of file descriptors), so the loop does not spin.
const ACCEPT_RETRY: Duration = Duration::from_millis(500);

/// Who is on the other end of a peer connection, as TLS established it.
#[derive(Debug, Clone)]
pub struct PeerConnInfo {
    /// Node id proven by the client certificate, when one was presented.
    pub client_node_id: Option<String>,
    /// TLS exporter for this connection (binds proofs to the channel).
    pub exporter: [u8; 32],
    /// The remote socket address.
    pub remote: SocketAddr,
}

/// Serves `app` over TLS on `listener` until `stop` turns true.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    app: Router,
    mut stop: watch::Receiver<bool>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let mut conns = JoinSet::new();
    loop {
        let accepted = tokio::select! {
            r = listener.accept() => r,
            _ = stop.changed() => break,
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
        };
        let (tcp, remote) = match accepted {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "peer API accept failed; retrying shortly");
                tokio::select! {
                    _ = tokio::time::sleep(ACCEPT_RETRY) => {}
                    _ = stop.changed() => break,
                }
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        let span = tracing::info_span!("peer_conn", %remote);
        conns.spawn(
            async move {
                let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await
                {
                    Ok(Ok(tls)) => tls,
                    Ok(Err(e)) => {
                        tracing::debug!(error = %e, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!("TLS handshake timed out");
                        return;
                    }
                };
                let conn = tls.get_ref().1;
                let client_node_id = conn
                    .peer_certificates()
                    .and_then(|c| c.first())
                    .and_then(node_id_of);
                let mut exporter = [0u8; 32];
                if let Err(e) = conn.export_keying_material(&mut exporter, EXPORTER_LABEL, None) {
                    tracing::warn!(error = %e, "no TLS exporter; dropping connection");
                    return;
                }
                let info = PeerConnInfo {
                    client_node_id,
                    exporter,
                    remote,
                };
                let svc = hyper::service::service_fn(
                    move |mut req: hyper::Request<hyper::body::Incoming>| {
                        req.extensions_mut().insert(info.clone());
                        app.clone().oneshot(req)
                    },
                );
                if let Err(e) = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), svc)
                    .await
                {
                    tracing::debug!(error = %e, "peer connection ended with an error");
                }
            }
            .instrument(span),
        );
    }
    conns.shutdown().await;
}
