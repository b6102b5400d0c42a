//! Frame IO of an established link: its reader turns the stream into frame events, its
//! writer drains the frames the owner queued.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use mayros_sync_proto::frame::FrameDecoder;
use quinn::{Connection, ConnectionError, RecvStream, SendStream};
use tokio::sync::mpsc;
use tracing::{debug, info_span, warn, Instrument};

use super::shared::Shared;
use super::short;
use crate::quic::handshake::KIND_SEED_PROOF;

/// Bytes asked of the stream per read.
const READ_CHUNK: usize = 64 * 1024;

/// A read or write failure named with its cause (quinn's own text drops the close reason).
fn lost(what: &str, err: &dyn std::fmt::Display, conn: Option<ConnectionError>) -> String {
    match conn {
        Some(ConnectionError::LocallyClosed) | None => format!("{what} failed: {err}"),
        Some(cause) => format!("{what} failed: {cause}"),
    }
}

/// What a link's reader and writer know about their link.
pub(super) struct LinkCtx {
    /// The link manager.
    pub(super) shared: Arc<Shared>,
    /// The peer's node id.
    pub(super) peer: String,
    /// The link's id in the link table.
    pub(super) id: u64,
    /// The link's QUIC connection.
    pub(super) conn: Connection,
}

impl LinkCtx {
    /// Starts the link's reader and writer tasks; the writer sends what arrives on `rx`.
    pub(super) fn spawn_io(
        self: Arc<Self>,
        streams: (SendStream, RecvStream),
        rx: mpsc::UnboundedReceiver<Vec<u8>>,
        queued: Arc<AtomicUsize>,
    ) {
        let span = info_span!("link", peer = %short(&self.peer), link = self.id);
        let (send, recv) = streams;
        let runtime = self.shared.runtime.clone();
        runtime.spawn(self.clone().run_reader(recv).instrument(span.clone()));
        runtime.spawn(self.run_writer(send, rx, queued).instrument(span));
    }

    /// Reads the link's stream into frames, in order, until it ends; then ends the session.
    async fn run_reader(self: Arc<Self>, mut recv: RecvStream) {
        if let Some(reason) = self.read_frames(&mut recv).await {
            self.shared.end_link(&self.peer, self.id, reason).await;
        }
        debug!("reader ended");
    }

    /// Decodes and delivers frames; returns why the link ended, or `None` if its frames are
    /// no longer wanted (session gone, or shutting down).
    async fn read_frames(&self, recv: &mut RecvStream) -> Option<String> {
        let mut dec = FrameDecoder::new();
        let mut buf = vec![0u8; READ_CHUNK];
        loop {
            loop {
                match dec.next_frame() {
                    Ok(Some(frame)) if frame.kind == KIND_SEED_PROOF => {
                        debug!("ignoring a seed proof frame after the handshake");
                    }
                    Ok(Some(frame)) => {
                        let (kind, body) = (frame.kind, frame.body);
                        if !self
                            .shared
                            .emit_frame(&self.peer, self.id, kind, body)
                            .await
                        {
                            return None;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        warn!(error = %e, "malformed frame: closing the link");
                        return Some(format!("malformed frame from the peer: {e}"));
                    }
                }
            }
            match recv.read(&mut buf).await {
                Ok(Some(n)) => {
                    self.shared.bytes_in.fetch_add(n as u64, Ordering::Relaxed);
                    dec.push(&buf[..n]);
                }
                Ok(None) if dec.buffered() == 0 => {
                    return Some("the peer closed the sync stream".to_string())
                }
                Ok(None) => return Some("the peer ended the stream inside a frame".to_string()),
                Err(e) => return Some(lost("reading", &e, self.conn.close_reason())),
            }
        }
    }

    /// Writes the peer's queued frames in order until the session ends or a write fails.
    async fn run_writer(
        self: Arc<Self>,
        mut send: SendStream,
        mut rx: mpsc::UnboundedReceiver<Vec<u8>>,
        queued: Arc<AtomicUsize>,
    ) {
        while let Some(frame) = rx.recv().await {
            let len = frame.len();
            let written = send.write_all(&frame).await;
            queued.fetch_sub(len, Ordering::Relaxed);
            if let Err(e) = written {
                let reason = lost("writing", &e, self.conn.close_reason());
                self.shared.end_link(&self.peer, self.id, reason).await;
                return;
            }
            self.shared
                .bytes_out
                .fetch_add(len as u64, Ordering::Relaxed);
        }
        debug!("writer ended");
    }
}
