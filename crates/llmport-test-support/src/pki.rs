//! A private certificate authority made with the `openssl` command line for the TLS tests:
//! a CA, a server certificate for 127.0.0.1/localhost, a client certificate for mutual TLS,
//! and a second, unrelated CA with its own client certificate (one the server must refuse).
//! Generated once per test binary into a temporary directory.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::real::{require_program, run};

/// Paths of the generated PEM files.
#[derive(Debug)]
pub struct Pki {
    _dir: tempfile::TempDir,
    /// The CA's certificate.
    pub ca_cert: PathBuf,
    /// The server certificate (127.0.0.1, localhost).
    pub server_cert: PathBuf,
    /// Its key.
    pub server_key: PathBuf,
    /// The client certificate for mutual TLS.
    pub client_cert: PathBuf,
    /// Its key.
    pub client_key: PathBuf,
    /// A client certificate from another CA, which the server does not trust.
    pub rogue_client_cert: PathBuf,
    /// Its key.
    pub rogue_client_key: PathBuf,
}

impl Pki {
    /// The CA and certificates, or `None` (after a printed message) without `openssl`.
    pub fn get() -> Option<&'static Pki> {
        static PKI: OnceLock<Option<Pki>> = OnceLock::new();
        PKI.get_or_init(|| {
            let openssl = require_program("openssl", "apt-get install -y openssl")?;
            Some(generate(&openssl))
        })
        .as_ref()
    }

    /// The CA certificate, PEM.
    pub fn ca_pem(&self) -> Vec<u8> {
        std::fs::read(&self.ca_cert).expect("CA readable")
    }
}

fn generate(openssl: &Path) -> Pki {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let p = |name: &str| d.join(name);
    let ca = |name: &str, cn: &str| {
        run(Command::new(openssl)
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
            ])
            .args(["-nodes", "-days", "2", "-subj", &format!("/CN={cn}")])
            .args(["-addext", "basicConstraints=critical,CA:TRUE"])
            .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"])
            .arg("-keyout")
            .arg(p(&format!("{name}.key")))
            .arg("-out")
            .arg(p(&format!("{name}.crt"))));
    };
    let leaf = |name: &str, cn: &str, ca_name: &str, ext: &str| {
        std::fs::write(p(&format!("{name}.ext")), ext).expect("write ext");
        run(Command::new(openssl)
            .args([
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
            ])
            .args(["-nodes", "-subj", &format!("/CN={cn}")])
            .arg("-keyout")
            .arg(p(&format!("{name}.key")))
            .arg("-out")
            .arg(p(&format!("{name}.csr"))));
        run(Command::new(openssl)
            .args(["x509", "-req", "-days", "2", "-set_serial"])
            .arg(format!("{}", fastrand::u32(1..u32::MAX)))
            .arg("-in")
            .arg(p(&format!("{name}.csr")))
            .arg("-CA")
            .arg(p(&format!("{ca_name}.crt")))
            .arg("-CAkey")
            .arg(p(&format!("{ca_name}.key")))
            .arg("-extfile")
            .arg(p(&format!("{name}.ext")))
            .arg("-out")
            .arg(p(&format!("{name}.crt"))));
    };
    ca("ca", "llmport test CA");
    ca("rogue-ca", "unrelated CA");
    leaf(
        "server",
        "localhost",
        "ca",
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n\
         extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
    );
    let client_ext = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n\
                      extendedKeyUsage=clientAuth\n";
    leaf("client", "llmport-test-client", "ca", client_ext);
    leaf("rogue-client", "rogue-client", "rogue-ca", client_ext);
    Pki {
        ca_cert: p("ca.crt"),
        server_cert: p("server.crt"),
        server_key: p("server.key"),
        client_cert: p("client.crt"),
        client_key: p("client.key"),
        rogue_client_cert: p("rogue-client.crt"),
        rogue_client_key: p("rogue-client.key"),
        _dir: dir,
    }
}
