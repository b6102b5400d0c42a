//! Diagnostics for a window that stays blank: WebKitGTK's remote inspector
//! (`WEBKIT_INSPECTOR_HTTP_SERVER=127.0.0.1:<port>` in the app's environment) is asked, over a
//! minimal WebSocket client, for the page's console messages (WebKit replays them on
//! `Console.enable`), so the failure names the script error instead of only "blank".
//! Loopback only; used only to explain a failure, never to decide one.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// The environment variable that makes WebKitGTK serve its inspector.
pub const ENV: &str = "WEBKIT_INSPECTOR_HTTP_SERVER";

const TIMEOUT: Duration = Duration::from_secs(10);

/// A free loopback address for the inspector (bound and released: the app binds it next).
pub fn free_addr() -> Option<SocketAddr> {
    TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()
}

/// The page's console messages (`level: text (url:line:column)`), oldest first.
pub fn console_messages(addr: SocketAddr) -> Result<Vec<String>, String> {
    let page = http_get(addr, "/")?;
    // The target list links to `Main.html?ws=' + host + '/socket/<conn>/<target>/WebPage`.
    let path = page
        .split("/socket/")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .map(|rest| format!("/socket/{rest}"))
        .ok_or_else(|| format!("no inspectable page listed at http://{addr}/"))?;
    let mut ws = WebSocket::connect(addr, &path)?;
    let deadline = Instant::now() + TIMEOUT;
    let mut target = None;
    let mut messages = Vec::new();
    while Instant::now() < deadline {
        let frame = ws.read_text()?;
        let msg: serde_json::Value =
            serde_json::from_str(&frame).map_err(|e| format!("inspector sent non-JSON: {e}"))?;
        match msg.get("method").and_then(|m| m.as_str()) {
            Some("Target.targetCreated") if target.is_none() => {
                let id = msg
                    .pointer("/params/targetInfo/targetId")
                    .and_then(|v| v.as_str())
                    .ok_or("targetCreated without a targetId")?
                    .to_string();
                let inner = serde_json::json!({"id": 1, "method": "Console.enable"}).to_string();
                let outer = serde_json::json!({
                    "id": 2,
                    "method": "Target.sendMessageToTarget",
                    "params": {"targetId": id, "message": inner},
                });
                ws.send_text(&outer.to_string())?;
                target = Some(id);
            }
            Some("Target.dispatchMessageFromTarget") => {
                let inner = msg
                    .pointer("/params/message")
                    .and_then(|v| v.as_str())
                    .unwrap_or("{}");
                let inner: serde_json::Value =
                    serde_json::from_str(inner).unwrap_or(serde_json::Value::Null);
                if inner.get("id").and_then(|v| v.as_u64()) == Some(1) {
                    // Console.enable answered: every earlier message has been replayed.
                    return Ok(messages);
                }
                if inner.get("method").and_then(|m| m.as_str()) == Some("Console.messageAdded") {
                    let m = &inner["params"]["message"];
                    let s = |k: &str| {
                        m.get(k)
                            .map(|v| v.to_string().trim_matches('"').to_string())
                    };
                    messages.push(format!(
                        "{}: {} ({}:{}:{})",
                        s("level").unwrap_or_default(),
                        s("text").unwrap_or_default(),
                        s("url").unwrap_or_default(),
                        s("line").unwrap_or_default(),
                        s("column").unwrap_or_default()
                    ));
                }
            }
            _ => {}
        }
    }
    Err(format!("the inspector did not answer within {TIMEOUT:?}"))
}

fn http_get(addr: SocketAddr, path: &str) -> Result<String, String> {
    let mut s = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&out).to_string())
}

/// Just enough of RFC 6455 for text frames to and from a local server.
struct WebSocket {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl WebSocket {
    fn connect(addr: SocketAddr, path: &str) -> Result<WebSocket, String> {
        let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(TIMEOUT))
            .map_err(|e| e.to_string())?;
        let key = base64(&nonce());
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        .map_err(|e| e.to_string())?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let end = loop {
            if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break p + 4;
            }
            let n = stream.read(&mut chunk).map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("the inspector closed the connection during the handshake".into());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_string();
        if !head.starts_with("HTTP/1.1 101") {
            return Err(format!("no WebSocket upgrade: {head}"));
        }
        buf.drain(..end);
        Ok(WebSocket { stream, buf })
    }

    fn send_text(&mut self, text: &str) -> Result<(), String> {
        let payload = text.as_bytes();
        let mut frame = vec![0x81u8];
        match payload.len() {
            n if n < 126 => frame.push(0x80 | n as u8),
            n if n <= 0xffff => {
                frame.push(0x80 | 126);
                frame.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                frame.push(0x80 | 127);
                frame.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        let mask = nonce();
        frame.extend_from_slice(&mask[..4]);
        frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        self.stream.write_all(&frame).map_err(|e| e.to_string())
    }

    fn fill(&mut self, want: usize) -> Result<(), String> {
        let mut chunk = [0u8; 8192];
        while self.buf.len() < want {
            let n = self.stream.read(&mut chunk).map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("the inspector closed the connection".into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
        Ok(())
    }

    /// The next text message (continuation frames joined; control frames skipped).
    fn read_text(&mut self) -> Result<String, String> {
        let mut message = Vec::new();
        loop {
            self.fill(2)?;
            let (b0, b1) = (self.buf[0], self.buf[1]);
            let (fin, opcode) = (b0 & 0x80 != 0, b0 & 0x0f);
            let masked = b1 & 0x80 != 0;
            let (len, mut at) = match b1 & 0x7f {
                126 => {
                    self.fill(4)?;
                    (u16::from_be_bytes([self.buf[2], self.buf[3]]) as usize, 4)
                }
                127 => {
                    self.fill(10)?;
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&self.buf[2..10]);
                    (u64::from_be_bytes(b) as usize, 10)
                }
                n => (n as usize, 2),
            };
            let mask = if masked {
                self.fill(at + 4)?;
                let m = [
                    self.buf[at],
                    self.buf[at + 1],
                    self.buf[at + 2],
                    self.buf[at + 3],
                ];
                at += 4;
                Some(m)
            } else {
                None
            };
            self.fill(at + len)?;
            let mut payload: Vec<u8> = self.buf[at..at + len].to_vec();
            self.buf.drain(..at + len);
            if let Some(m) = mask {
                for (i, b) in payload.iter_mut().enumerate() {
                    *b ^= m[i % 4];
                }
            }
            match opcode {
                0x8 => return Err("the inspector closed the WebSocket".into()),
                0x9 | 0xA => continue,
                _ => message.extend_from_slice(&payload),
            }
            if fin {
                return Ok(String::from_utf8_lossy(&message).to_string());
            }
        }
    }
}

fn nonce() -> [u8; 16] {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
        ^ u128::from(std::process::id()) << 64;
    t.to_le_bytes()
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}
