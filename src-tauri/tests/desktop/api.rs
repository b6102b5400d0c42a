//! The engine's local control API as the test sees it: the address from
//! `<data-dir>/daemon.json`, the bearer token from `<data-dir>/control.token`, and a minimal
//! HTTP/1.1 client over a loopback `TcpStream` (one request per connection).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

/// Per-request I/O timeout (`POST /sync/now` answers when the sync is done).
const IO_TIMEOUT: Duration = Duration::from_secs(60);

/// A client of one engine's control API.
#[derive(Debug, Clone)]
pub struct Api {
    /// The bound local API address.
    pub addr: SocketAddr,
    token: String,
}

impl Api {
    /// Reads `daemon.json` and `control.token` of a running engine; `None` while either is
    /// missing or incomplete.
    pub fn from_data_dir(data_dir: &Path) -> Option<Api> {
        let info = std::fs::read_to_string(data_dir.join("daemon.json")).ok()?;
        let info: serde_json::Value = serde_json::from_str(&info).ok()?;
        let addr: SocketAddr = info.get("api")?.as_str()?.parse().ok()?;
        let token = std::fs::read_to_string(data_dir.join("control.token")).ok()?;
        let token = token.trim().to_string();
        if token.is_empty() {
            return None;
        }
        Some(Api { addr, token })
    }

    /// `GET path` → `(status, JSON body)`.
    pub fn get(&self, path: &str) -> Result<(u16, serde_json::Value), String> {
        self.request("GET", path, None)
    }

    /// `POST path` with a JSON body → `(status, JSON body)`.
    pub fn post(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<(u16, serde_json::Value), String> {
        self.request("POST", path, Some(body))
    }

    /// `GET /api/v1/sync/status`, which must answer 200.
    pub fn status(&self) -> Result<serde_json::Value, String> {
        match self.get("/api/v1/sync/status")? {
            (200, body) => Ok(body),
            (code, body) => Err(format!("status answered {code}: {body}")),
        }
    }

    fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(u16, serde_json::Value), String> {
        let what = format!("{method} http://{}{path}", self.addr);
        let mut stream = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5))
            .map_err(|e| format!("{what}: cannot connect: {e}"))?;
        stream
            .set_read_timeout(Some(IO_TIMEOUT))
            .and_then(|_| stream.set_write_timeout(Some(IO_TIMEOUT)))
            .map_err(|e| format!("{what}: {e}"))?;
        let payload = body.map(|b| b.to_string()).unwrap_or_default();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nAuthorization: Bearer {}\r\n\
             Accept: application/json\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr.port(),
            self.token,
            payload.len()
        );
        if body.is_some() {
            head.push_str("Content-Type: application/json\r\n");
        }
        head.push_str("\r\n");
        stream
            .write_all(head.as_bytes())
            .and_then(|_| stream.write_all(payload.as_bytes()))
            .map_err(|e| format!("{what}: cannot send: {e}"))?;
        let mut raw = Vec::new();
        stream
            .read_to_end(&mut raw)
            .map_err(|e| format!("{what}: cannot read the answer: {e}"))?;
        let (status, text) = parse_response(&raw).map_err(|e| format!("{what}: {e}"))?;
        let json = if text.trim().is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text)
                .map_err(|e| format!("{what}: answer {status} is not JSON ({e}): {text}"))?
        };
        Ok((status, json))
    }
}

/// Splits an HTTP/1.1 response into status and body (de-chunked when needed).
fn parse_response(raw: &[u8]) -> Result<(u16, String), String> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of headers in the answer")?;
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let body = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line in {head:?}"))?;
    let chunked = lines.any(|l| {
        let l = l.to_ascii_lowercase();
        l.starts_with("transfer-encoding:") && l.contains("chunked")
    });
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_vec()
    };
    Ok((status, String::from_utf8_lossy(&body).to_string()))
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let eol = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("truncated chunk size")?;
        let size_text = String::from_utf8_lossy(&data[..eol]).to_string();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        data = &data[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size {
            return Err("truncated chunk".to_string());
        }
        out.extend_from_slice(&data[..size]);
        data = data.get(size + 2..).unwrap_or(&[]);
    }
}

/// The status's peer entry named `name` (or with node id `name`).
pub fn peer<'a>(status: &'a serde_json::Value, name: &str) -> Option<&'a serde_json::Value> {
    status.get("peers")?.as_array()?.iter().find(|p| {
        p.get("name").and_then(|v| v.as_str()) == Some(name)
            || p.get("nodeId").and_then(|v| v.as_str()) == Some(name)
    })
}

/// A numeric field of a JSON object (0 when absent).
pub fn num(v: &serde_json::Value, key: &str) -> u64 {
    v.get(key).and_then(|x| x.as_u64()).unwrap_or(0)
}

/// A string field of a JSON object (empty when absent or null).
pub fn text(v: &serde_json::Value, key: &str) -> String {
    v.get(key)
        .and_then(|x| x.as_str())
        .unwrap_or_default()
        .to_string()
}
