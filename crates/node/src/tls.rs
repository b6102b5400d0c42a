//! The device certificate and rustls configurations that pin peers by node id (DESIGN §4, §7.3).
//!
//! Every device presents a self-signed X.509 certificate for its Ed25519 key. Trust never
//! comes from a CA: a client pins the node id it expects (the certificate's public key), and a
//! server records which node id a client certificate proves, for the seed-proof layer above.

use std::sync::Arc;

use ed25519_dalek::SigningKey;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    ClientConfig, DigitallySignedStruct, DistinguishedName, ServerConfig, SignatureScheme,
};

/// DER prefix of an Ed25519 SubjectPublicKeyInfo; the 32 key bytes follow it.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];
/// DER prefix of an Ed25519 PKCS#8 v1 private key; the 32 seed bytes follow it.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
/// Server name used in every client handshake (our verifier pins the key, not the name).
pub const SERVER_NAME: &str = "mayros-sync";

use crate::error::Error;

/// This device's certificate and private key, derived deterministically from its Ed25519 key.
#[derive(Debug, Clone)]
pub struct DeviceCert {
    cert: CertificateDer<'static>,
    key_pkcs8: Vec<u8>,
    node_id: String,
}

impl DeviceCert {
    /// Builds the self-signed certificate; the same key always gives the same certificate bytes.
    pub fn new(key: &SigningKey) -> Result<DeviceCert, Error> {
        let mut pkcs8 = ED25519_PKCS8_PREFIX.to_vec();
        pkcs8.extend_from_slice(&key.to_bytes());
        let der = PrivatePkcs8KeyDer::from(pkcs8.clone());
        let key_pair = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der, &rcgen::PKCS_ED25519)
            .map_err(|e| Error::Tls(format!("cannot load the device key: {e}")))?;
        let node_id = hex::encode(key.verifying_key().to_bytes());
        let mut params = rcgen::CertificateParams::new(vec![SERVER_NAME.to_string()])
            .map_err(|e| Error::Tls(format!("cannot build the device certificate: {e}")))?;
        params.not_before = rcgen::date_time_ymd(2024, 1, 1);
        params.not_after = rcgen::date_time_ymd(4000, 1, 1);
        params.serial_number = Some(rcgen::SerialNumber::from_slice(&[1]));
        let mut dn = rcgen::DistinguishedName::new();
        dn.push(
            rcgen::DnType::CommonName,
            format!("mayros-sync {}", &node_id[..16]),
        );
        params.distinguished_name = dn;
        let cert = params
            .self_signed(&key_pair)
            .map_err(|e| Error::Tls(format!("cannot sign the device certificate: {e}")))?;
        Ok(DeviceCert {
            cert: cert.der().clone(),
            key_pkcs8: pkcs8,
            node_id,
        })
    }

    /// The certificate in DER.
    pub fn cert_der(&self) -> &CertificateDer<'static> {
        &self.cert
    }

    /// The node id this certificate proves.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    fn key_der(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.key_pkcs8.clone()))
    }

    /// A server config that presents this certificate and asks (not requires) a client certificate.
    pub fn server_config(&self, alpn: &[&[u8]]) -> Result<Arc<ServerConfig>, Error> {
        let provider = provider();
        let verifier = Arc::new(AnyDeviceClient {
            provider: Arc::clone(&provider),
        });
        let mut cfg = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(tls_err)?
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![self.cert.clone()], self.key_der())
            .map_err(tls_err)?;
        cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(Arc::new(cfg))
    }

    /// A client config that presents this certificate and accepts only `expected_node_id`.
    pub fn client_config(
        &self,
        expected_node_id: &str,
        alpn: &[&[u8]],
    ) -> Result<Arc<ClientConfig>, Error> {
        self.client_config_with(Some(expected_node_id.to_ascii_lowercase()), alpn)
    }

    /// A client config that presents this certificate and accepts any device certificate (a
    /// pairing session to a typed address: the user checks the verification code instead).
    pub fn client_config_any(&self, alpn: &[&[u8]]) -> Result<Arc<ClientConfig>, Error> {
        self.client_config_with(None, alpn)
    }

    fn client_config_with(
        &self,
        expected: Option<String>,
        alpn: &[&[u8]],
    ) -> Result<Arc<ClientConfig>, Error> {
        let provider = provider();
        let verifier = Arc::new(PinnedServer {
            expected,
            provider: Arc::clone(&provider),
        });
        let mut cfg = ClientConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(tls_err)?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_client_auth_cert(vec![self.cert.clone()], self.key_der())
            .map_err(tls_err)?;
        cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(Arc::new(cfg))
    }
}

fn tls_err(e: rustls::Error) -> Error {
    Error::Tls(format!("cannot build the TLS configuration: {e}"))
}

/// The crypto provider every config uses (ring), installed explicitly so no global default is needed.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The node id (64 lowercase hex) a certificate proves, if it carries an Ed25519 key.
pub fn node_id_of(cert: &CertificateDer<'_>) -> Option<String> {
    let der = cert.as_ref();
    let at = der
        .windows(ED25519_SPKI_PREFIX.len())
        .position(|w| w == ED25519_SPKI_PREFIX)?;
    let start = at + ED25519_SPKI_PREFIX.len();
    der.get(start..start + 32).map(hex::encode)
}

fn verify13(
    provider: &CryptoProvider,
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    verify_tls13_signature(
        message,
        cert,
        dss,
        &provider.signature_verification_algorithms,
    )
}

/// Both configs speak TLS 1.3 only, so a TLS 1.2 signature never needs checking.
fn tls12_refused() -> Result<HandshakeSignatureValid, rustls::Error> {
    Err(rustls::Error::PeerIncompatible(
        rustls::PeerIncompatible::Tls12NotOffered,
    ))
}

/// Client-side verifier: the server's certificate must carry exactly the pinned Ed25519 key.
#[derive(Debug)]
struct PinnedServer {
    /// `None`: any well-formed device certificate (pairing by address).
    expected: Option<String>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedServer {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match node_id_of(end_entity) {
            Some(id) if self.expected.as_ref().is_none_or(|e| *e == id) => {
                Ok(ServerCertVerified::assertion())
            }
            Some(_) => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            )),
            None => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::BadEncoding,
            )),
        }
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        tls12_refused()
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify13(&self.provider, message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ED25519]
    }
}

/// Server-side verifier: any Ed25519 device certificate; membership is checked above TLS.
#[derive(Debug)]
struct AnyDeviceClient {
    provider: Arc<CryptoProvider>,
}

impl ClientCertVerifier for AnyDeviceClient {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        node_id_of(end_entity)
            .map(|_| ClientCertVerified::assertion())
            .ok_or(rustls::Error::InvalidCertificate(
                rustls::CertificateError::BadEncoding,
            ))
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        tls12_refused()
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify13(&self.provider, message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ED25519]
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn key(n: u8) -> SigningKey {
        SigningKey::from_bytes(&[n; 32])
    }

    #[test]
    fn certificate_is_stable_and_proves_the_node_id() {
        let a = DeviceCert::new(&key(1)).unwrap();
        let again = DeviceCert::new(&key(1)).unwrap();
        assert_eq!(
            a.cert_der(),
            again.cert_der(),
            "same key, same certificate bytes"
        );
        assert_eq!(node_id_of(a.cert_der()).unwrap(), a.node_id());
        assert_eq!(a.node_id(), hex::encode(key(1).verifying_key().to_bytes()));
        assert_ne!(DeviceCert::new(&key(2)).unwrap().node_id(), a.node_id());
    }

    /// Runs one handshake over an in-memory pipe; returns the client cert node id the server saw.
    async fn handshake(
        server: &DeviceCert,
        client: &DeviceCert,
        pin: &str,
    ) -> Result<Option<String>, String> {
        let (c, s) = tokio::io::duplex(64 * 1024);
        let acceptor = tokio_rustls::TlsAcceptor::from(server.server_config(&[b"t/1"]).unwrap());
        let connector =
            tokio_rustls::TlsConnector::from(client.client_config(pin, &[b"t/1"]).unwrap());
        let server_task = tokio::spawn(async move {
            let mut tls = acceptor.accept(s).await.map_err(|e| e.to_string())?;
            let seen = tls
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|c| c.first())
                .and_then(node_id_of);
            let mut buf = [0u8; 4];
            tls.read_exact(&mut buf).await.map_err(|e| e.to_string())?;
            Ok::<_, String>(seen)
        });
        let name = ServerName::try_from(SERVER_NAME).unwrap();
        let client_result = connector.connect(name, c).await;
        match client_result {
            Ok(mut tls) => {
                tls.write_all(b"ping").await.map_err(|e| e.to_string())?;
                server_task.await.unwrap()
            }
            Err(e) => Err(e.to_string()),
        }
    }

    #[tokio::test]
    async fn pinned_handshake_succeeds_and_server_sees_the_client() {
        let server = DeviceCert::new(&key(1)).unwrap();
        let client = DeviceCert::new(&key(2)).unwrap();
        let seen = handshake(&server, &client, server.node_id()).await.unwrap();
        assert_eq!(seen.as_deref(), Some(client.node_id()));
    }

    #[tokio::test]
    async fn a_different_server_key_is_refused() {
        let server = DeviceCert::new(&key(1)).unwrap();
        let client = DeviceCert::new(&key(2)).unwrap();
        let other = DeviceCert::new(&key(3)).unwrap();
        let err = handshake(&server, &client, other.node_id())
            .await
            .unwrap_err();
        assert!(err.to_lowercase().contains("certificate"), "{err}");
    }
}
