//! A real TLS endpoint in front of the collector: socat from Debian terminating TLS with
//! certificates made by `testkit/bin/tls-endpoint` (the same script the Ruby and Python
//! suites use), so an exporter's TLS is tested against OpenSSL, not against itself.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

/// The script that makes the certificates and runs socat.
pub fn tls_endpoint_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("bin/tls-endpoint")
}

/// A CA, a server certificate for localhost and 127.0.0.1, a client certificate, and an
/// unrelated CA, in a fresh directory.
#[derive(Debug)]
pub struct TestCerts {
    pub dir: PathBuf,
}

impl TestCerts {
    /// Makes them with openssl. Panics with openssl's output if it cannot.
    pub fn generate() -> Self {
        let dir = std::env::temp_dir().join(format!(
            "tasker-tls-{}-{}",
            std::process::id(),
            free_port().port()
        ));
        let out = Command::new(tls_endpoint_script())
            .arg("certs")
            .arg(&dir)
            .output()
            .expect("run testkit/bin/tls-endpoint (needs openssl)");
        assert!(
            out.status.success(),
            "making test certificates failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Self { dir }
    }

    /// The CA that signed the server and client certificates.
    pub fn ca(&self) -> String {
        self.path("ca.pem")
    }

    /// A CA that signed nothing here.
    pub fn other_ca(&self) -> String {
        self.path("other-ca.pem")
    }

    /// The client certificate.
    pub fn client_certificate(&self) -> String {
        self.path("client.pem")
    }

    /// The client certificate's key.
    pub fn client_key(&self) -> String {
        self.path("client.key")
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

/// socat listening with TLS on a free loopback port, forwarding to `target`. Stopped on drop.
#[derive(Debug)]
pub struct TlsEndpoint {
    child: Child,
    /// Where TLS is accepted.
    pub addr: SocketAddr,
}

impl TlsEndpoint {
    /// Terminates TLS for `target`; with `mutual`, clients must present a certificate from
    /// `certs`' CA.
    pub fn start(certs: &TestCerts, target: SocketAddr, mutual: bool) -> Self {
        let addr = free_port();
        let mut cmd = Command::new(tls_endpoint_script());
        cmd.arg("serve")
            .arg(&certs.dir)
            .arg(addr.port().to_string())
            .arg(target.port().to_string());
        if mutual {
            cmd.arg("mtls");
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start socat through testkit/bin/tls-endpoint (needs socat: make setup)");
        let mut endpoint = Self { child, addr };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            if let Ok(Some(status)) = endpoint.child.try_wait() {
                panic!("socat exited at start ({status})");
            }
            assert!(
                Instant::now() < deadline,
                "socat did not listen within 10 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        endpoint
    }

    /// `https://localhost:PORT`.
    pub fn url(&self) -> String {
        format!("https://localhost:{}", self.addr.port())
    }
}

impl Drop for TlsEndpoint {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
