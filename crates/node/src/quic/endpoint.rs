//! A quinn endpoint that serves and dials with this device's certificate.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use quinn::crypto::rustls::{QuicClientConfig, QuicServerConfig};
use quinn::{ClientConfig, Connection, Endpoint, ServerConfig, TransportConfig};

use super::{PAIR_ALPN, SYNC_ALPN};
use crate::error::Error;
use crate::tls::{node_id_of, DeviceCert, SERVER_NAME};

/// Time allowed for a QUIC + TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection with no traffic for this long is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Keep-alive interval, well under the idle timeout.
pub const KEEP_ALIVE: Duration = Duration::from_secs(5);

fn transport() -> Arc<TransportConfig> {
    let mut t = TransportConfig::default();
    t.keep_alive_interval(Some(KEEP_ALIVE));
    if let Ok(idle) = IDLE_TIMEOUT.try_into() {
        t.max_idle_timeout(Some(idle));
    }
    Arc::new(t)
}

/// This device's QUIC endpoint.
#[derive(Debug, Clone)]
pub struct QuicEndpoint {
    endpoint: Endpoint,
    cert: DeviceCert,
}

impl QuicEndpoint {
    /// Binds `addr` (UDP) and serves both ALPNs with this device's certificate.
    pub fn bind(addr: SocketAddr, cert: &DeviceCert) -> Result<QuicEndpoint, Error> {
        let tls = cert.server_config(&[SYNC_ALPN, PAIR_ALPN])?;
        let quic_tls = QuicServerConfig::try_from(tls)
            .map_err(|e| Error::Tls(format!("QUIC server TLS: {e}")))?;
        let mut server = ServerConfig::with_crypto(Arc::new(quic_tls));
        server.transport_config(transport());
        let endpoint =
            Endpoint::server(server, addr).map_err(|cause| Error::QuicBind { addr, cause })?;
        Ok(QuicEndpoint {
            endpoint,
            cert: cert.clone(),
        })
    }

    /// The bound UDP address.
    pub fn local_addr(&self) -> Result<SocketAddr, Error> {
        self.endpoint
            .local_addr()
            .map_err(|e| Error::Peer(format!("QUIC endpoint has no address: {e}")))
    }

    /// Dials `addr`, requiring its certificate to prove `expected_node_id`.
    pub async fn connect(
        &self,
        addr: SocketAddr,
        expected_node_id: &str,
        alpn: &[u8],
    ) -> Result<Connection, Error> {
        let tls = self.cert.client_config(expected_node_id, &[alpn])?;
        self.connect_with(addr, tls).await
    }

    /// Dials `addr` accepting any device certificate (pairing with a typed address; read the
    /// peer's node id from the connection).
    pub async fn connect_any(&self, addr: SocketAddr, alpn: &[u8]) -> Result<Connection, Error> {
        let tls = self.cert.client_config_any(&[alpn])?;
        self.connect_with(addr, tls).await
    }

    async fn connect_with(
        &self,
        addr: SocketAddr,
        tls: Arc<rustls::ClientConfig>,
    ) -> Result<Connection, Error> {
        let quic_tls = QuicClientConfig::try_from(tls)
            .map_err(|e| Error::Tls(format!("QUIC client TLS: {e}")))?;
        let mut client = ClientConfig::new(Arc::new(quic_tls));
        client.transport_config(transport());
        let connecting = self
            .endpoint
            .connect_with(client, addr, SERVER_NAME)
            .map_err(|e| Error::Peer(format!("{addr}: cannot start a QUIC connection: {e}")))?;
        tokio::time::timeout(HANDSHAKE_TIMEOUT, connecting)
            .await
            .map_err(|_| Error::Peer(format!("{addr}: QUIC handshake timed out")))?
            .map_err(|e| {
                Error::Peer(format!(
                    "{addr}: QUIC handshake failed (is it the expected device?): {e}"
                ))
            })
    }

    /// Waits for the next incoming connection attempt; `None` once the endpoint is closed.
    pub async fn accept(&self) -> Option<quinn::Incoming> {
        self.endpoint.accept().await
    }

    /// Closes every connection and stops accepting.
    pub fn close(&self) {
        self.endpoint.close(0u32.into(), b"shutting down");
    }
}

/// The node id proven by the peer's certificate on an established connection.
pub fn peer_node_id(conn: &Connection) -> Option<String> {
    let certs = conn
        .peer_identity()?
        .downcast::<Vec<rustls::pki_types::CertificateDer<'static>>>()
        .ok()?;
    certs.first().and_then(node_id_of)
}

/// The ALPN negotiated on a connection.
pub fn alpn_of(conn: &Connection) -> Option<Vec<u8>> {
    conn.handshake_data()?
        .downcast::<quinn::crypto::rustls::HandshakeData>()
        .ok()?
        .protocol
}
