//! One pinned TLS connection to a peer's HTTPS API, carrying HTTP/1.1 requests.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use mayros_sync_proto::seedproof::EXPORTER_LABEL;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;

use super::{HTTPS_ALPN, MAX_PEER_BODY};
use crate::error::Error;
use crate::tls::{DeviceCert, SERVER_NAME};

/// Time allowed to open TCP and finish the TLS handshake.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// An open, authenticated-by-TLS connection to one peer.
#[derive(Debug)]
pub struct PeerSession {
    sender: SendRequest<Full<Bytes>>,
    exporter: [u8; 32],
    addr: SocketAddr,
    conn_task: tokio::task::JoinHandle<()>,
    bytes_out: u64,
    bytes_in: u64,
    clock_offset_ms: i64,
}

impl Drop for PeerSession {
    fn drop(&mut self) {
        self.conn_task.abort();
    }
}

fn peer_err(addr: SocketAddr, what: impl std::fmt::Display) -> Error {
    Error::Peer(format!("{addr}: {what}"))
}

impl PeerSession {
    /// Dials `addr`, requires its certificate to prove `expected_node_id`, and presents ours.
    pub async fn connect(
        addr: SocketAddr,
        expected_node_id: &str,
        cert: &DeviceCert,
    ) -> Result<PeerSession, Error> {
        let cfg = cert.client_config(expected_node_id, &[HTTPS_ALPN])?;
        let connector = tokio_rustls::TlsConnector::from(cfg);
        let name = ServerName::try_from(SERVER_NAME).map_err(|e| peer_err(addr, e))?;
        let tls = tokio::time::timeout(CONNECT_TIMEOUT, async {
            let tcp = TcpStream::connect(addr)
                .await
                .map_err(|e| peer_err(addr, format!("cannot connect: {e}")))?;
            let _ = tcp.set_nodelay(true);
            connector.connect(name, tcp).await.map_err(|e| {
                peer_err(
                    addr,
                    format!("TLS handshake failed (is it the expected device?): {e}"),
                )
            })
        })
        .await
        .map_err(|_| peer_err(addr, "connection timed out"))??;
        let mut exporter = [0u8; 32];
        tls.get_ref()
            .1
            .export_keying_material(&mut exporter, EXPORTER_LABEL, None)
            .map_err(|e| peer_err(addr, e))?;
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| peer_err(addr, e))?;
        let conn_task = tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "peer client connection ended");
            }
        });
        Ok(PeerSession {
            sender,
            exporter,
            addr,
            conn_task,
            bytes_out: 0,
            bytes_in: 0,
            clock_offset_ms: 0,
        })
    }

    /// The TLS exporter of this connection.
    pub fn exporter(&self) -> &[u8; 32] {
        &self.exporter
    }

    /// The address dialled.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// How far the peer's clock is ahead of ours, as learned from a stale-timestamp refusal.
    pub fn clock_offset_ms(&self) -> i64 {
        self.clock_offset_ms
    }

    /// Records the peer's clock offset for signing later requests.
    pub fn set_clock_offset_ms(&mut self, offset: i64) {
        self.clock_offset_ms = offset;
    }

    /// Request and response body bytes carried so far (HTTP headers and TLS framing excluded).
    pub fn body_bytes(&self) -> (u64, u64) {
        (self.bytes_out, self.bytes_in)
    }

    /// Sends one request and reads the whole response body (bounded).
    pub async fn send(
        &mut self,
        method: Method,
        path_and_query: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
    ) -> Result<(StatusCode, Bytes), Error> {
        self.sender
            .ready()
            .await
            .map_err(|e| peer_err(self.addr, e))?;
        let mut req = Request::builder()
            .method(method)
            .uri(path_and_query)
            .header("host", self.addr.to_string())
            .header("content-type", "application/json");
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        self.bytes_out += body.len() as u64;
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| peer_err(self.addr, e))?;
        let resp = self
            .sender
            .send_request(req)
            .await
            .map_err(|e| peer_err(self.addr, format!("request failed: {e}")))?;
        let status = resp.status();
        let bytes = Limited::new(resp.into_body(), MAX_PEER_BODY)
            .collect()
            .await
            .map_err(|e| peer_err(self.addr, format!("reading the response failed: {e}")))?
            .to_bytes();
        self.bytes_in += bytes.len() as u64;
        Ok((status, bytes))
    }
}
