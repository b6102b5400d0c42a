//! Flood limits per source address (the buckets of `mayros_sync_proto::ratelimit`), with a
//! monotonic clock: new QUIC connections, click-to-pair requests, invite attempts and failed
//! proofs. A refusal says what was limited and when to try again.

use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use mayros_sync_proto::ratelimit::{self, Limit, Limiter, Verdict};

/// The four limiters of one listener (the QUIC endpoint or the peer API).
#[derive(Debug)]
pub struct Floodgate {
    start: Instant,
    connections: Mutex<Limiter<IpAddr>>,
    pair_requests: Mutex<Limiter<IpAddr>>,
    invite_attempts: Mutex<Limiter<IpAddr>>,
    failed_proofs: Mutex<Limiter<IpAddr>>,
}

impl Default for Floodgate {
    fn default() -> Self {
        Floodgate::new()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn refusal(what: &str, ip: IpAddr, limit: Limit, retry_after_ms: u64) -> String {
    format!(
        "too many {what} from {ip} (at most {} at once, then {} a minute); try again in {} s",
        limit.burst,
        limit.per_minute(),
        retry_after_ms.div_ceil(1_000)
    )
}

impl Floodgate {
    /// Limiters with the published limits (README "Flood limits").
    pub fn new() -> Floodgate {
        Floodgate {
            start: Instant::now(),
            connections: Mutex::new(Limiter::new(ratelimit::QUIC_CONNECTIONS)),
            pair_requests: Mutex::new(Limiter::new(ratelimit::PAIR_REQUESTS)),
            invite_attempts: Mutex::new(Limiter::new(ratelimit::INVITE_ATTEMPTS)),
            failed_proofs: Mutex::new(Limiter::new(ratelimit::FAILED_PROOFS)),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn take(&self, limiter: &Mutex<Limiter<IpAddr>>, what: &str, ip: IpAddr) -> Result<(), String> {
        let mut lim = lock(limiter);
        match lim.take(&ip, self.now_ms()) {
            Verdict::Allowed => Ok(()),
            Verdict::Limited { retry_after_ms } => {
                Err(refusal(what, ip, lim.limit(), retry_after_ms))
            }
        }
    }

    /// A new connection from `ip`: refused while `ip` has used up its failed proofs, or over
    /// the connection rate.
    pub fn admit_connection(&self, ip: IpAddr) -> Result<(), String> {
        self.admit_after_failures(ip)?;
        self.take(&self.connections, "new connections", ip)
    }

    /// Refused while `ip` has used up its failed proofs (nothing is spent).
    pub fn admit_after_failures(&self, ip: IpAddr) -> Result<(), String> {
        let lim = lock(&self.failed_proofs);
        match lim.exhausted(&ip, self.now_ms()) {
            None => Ok(()),
            Some(wait) => Err(refusal("failed proofs", ip, lim.limit(), wait)),
        }
    }

    /// A click-to-pair request from `ip`.
    pub fn admit_pair_request(&self, ip: IpAddr) -> Result<(), String> {
        self.take(&self.pair_requests, "pairing requests", ip)
    }

    /// An invite-code join attempt from `ip`.
    pub fn admit_invite_attempt(&self, ip: IpAddr) -> Result<(), String> {
        self.take(&self.invite_attempts, "invite attempts", ip)
    }

    /// Records a failed seed or invite proof from `ip`.
    pub fn proof_failed(&self, ip: IpAddr) {
        let now = self.now_ms();
        let _ = lock(&self.failed_proofs).take(&ip, now);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn failed_proofs_shut_an_address_out_and_say_why() {
        let gate = Floodgate::new();
        let bad: IpAddr = [192, 0, 2, 7].into();
        let good: IpAddr = [192, 0, 2, 8].into();
        for _ in 0..ratelimit::FAILED_PROOFS.burst {
            assert!(gate.admit_connection(bad).is_ok());
            gate.proof_failed(bad);
        }
        let err = gate.admit_connection(bad).unwrap_err();
        assert!(err.contains("failed proofs from 192.0.2.7"), "{err}");
        assert!(err.contains("try again in"), "{err}");
        assert!(gate.admit_connection(good).is_ok());
    }

    #[test]
    fn pair_requests_stop_after_the_burst() {
        let gate = Floodgate::new();
        let ip: IpAddr = [127, 0, 0, 1].into();
        let allowed = (0..50)
            .filter(|_| gate.admit_pair_request(ip).is_ok())
            .count();
        assert_eq!(allowed, ratelimit::PAIR_REQUESTS.burst as usize);
        let err = gate.admit_pair_request(ip).unwrap_err();
        assert!(
            err.starts_with("too many pairing requests from 127.0.0.1"),
            "{err}"
        );
    }
}
