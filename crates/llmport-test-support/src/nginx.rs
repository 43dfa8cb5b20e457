//! A real nginx (from Debian) as the reverse proxy / API gateway in front of the in-process
//! `TestServer`, configured per test in a temporary directory with ephemeral ports and run in
//! the foreground as a child process that is killed when the handle drops.
//!
//! Locations on the plain-HTTP port, each proxying to the test server with its prefix
//! stripped (so `/basic/v1/chat/completions` reaches the test server as
//! `/v1/chat/completions`):
//!
//! | location | check |
//! |---|---|
//! | `/open/` | none |
//! | `/basic/` | `auth_basic` with an htpasswd file made by `htpasswd` (apache2-utils) → 401 |
//! | `/bearer/` | `Authorization: Bearer <token>` must match → 401 |
//! | `/apikey/` | the API-key header must match → 403 |
//! | `/oauth/` | `auth_request` to the OAuth server's introspection-backed check → 401 |
//!
//! With TLS on, two more servers proxy everything: HTTPS with a certificate from the test CA,
//! and HTTPS with `ssl_verify_client on` (mutual TLS; the client certificate's subject is
//! passed on as `X-Client-Subject`). A forward-proxy server passes absolute-form requests on
//! to the host they name, adding `Via: 1.1 llmport-test-proxy`.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::pki::Pki;
use super::real::{free_ports, require_program, run, wait_for_port};

/// What the gateway checks.
#[derive(Debug, Default, Clone)]
pub struct Gateway {
    /// User and password accepted on `/basic/`.
    pub basic: Option<(String, String)>,
    /// The token accepted on `/bearer/`.
    pub bearer: Option<String>,
    /// The header and key accepted on `/apikey/`.
    pub api_key: Option<(String, String)>,
    /// The port of the OAuth server whose `/gateway/check` guards `/oauth/`.
    pub oauth_check_port: Option<u16>,
    /// Also serve HTTPS and mutual TLS with certificates from [`Pki`].
    pub tls: bool,
}

/// A running nginx.
#[derive(Debug)]
pub struct Nginx {
    child: Child,
    dir: tempfile::TempDir,
    /// The plain-HTTP port (the gateway locations).
    pub http_port: u16,
    /// The forward proxy's port.
    pub proxy_port: u16,
    /// The HTTPS port (with TLS on).
    pub https_port: u16,
    /// The mutual-TLS port (with TLS on).
    pub mtls_port: u16,
}

impl Nginx {
    /// Starts nginx in front of `upstream`, or returns `None` (after a printed message) when
    /// nginx, htpasswd or openssl is not installed.
    pub fn start(upstream: SocketAddr, gateway: &Gateway) -> Option<Nginx> {
        let nginx = require_program("nginx", "apt-get install -y nginx")?;
        let htpasswd = match gateway.basic {
            Some(_) => Some(require_program(
                "htpasswd",
                "apt-get install -y apache2-utils",
            )?),
            None => None,
        };
        let pki = if gateway.tls { Some(Pki::get()?) } else { None };
        let dir = tempfile::tempdir().expect("tempdir");
        if let (Some(htpasswd), Some((user, password))) = (&htpasswd, &gateway.basic) {
            run(Command::new(htpasswd)
                .arg("-bc")
                .arg(dir.path().join("htpasswd"))
                .args([user, password]));
        }
        for attempt in 0..5 {
            let ports = free_ports(4);
            let conf = config(dir.path(), upstream, gateway, pki, &ports);
            let conf_path = dir.path().join("nginx.conf");
            std::fs::write(&conf_path, conf).expect("write nginx.conf");
            let mut child = Command::new(&nginx)
                .arg("-e")
                .arg(dir.path().join("startup.log"))
                .arg("-p")
                .arg(dir.path())
                .arg("-c")
                .arg(&conf_path)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn nginx");
            let up = ports
                .iter()
                .all(|p| wait_for_port(*p, Duration::from_secs(5)));
            if up && child.try_wait().expect("try_wait").is_none() {
                return Some(Nginx {
                    child,
                    dir,
                    http_port: ports[0],
                    proxy_port: ports[1],
                    https_port: ports[2],
                    mtls_port: ports[3],
                });
            }
            let _ = child.kill();
            let out = child.wait_with_output().expect("nginx output");
            let log = std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default();
            let stderr = String::from_utf8_lossy(&out.stderr);
            if !(log.contains("Address already in use")
                || stderr.contains("Address already in use"))
                || attempt == 4
            {
                panic!("nginx did not start:\n{stderr}\n{log}");
            }
        }
        unreachable!("the loop returns or panics")
    }

    /// `http://127.0.0.1:PORT/<location>/v1`.
    pub fn v1_url(&self, location: &str) -> String {
        format!("http://127.0.0.1:{}/{location}/v1", self.http_port)
    }

    /// `https://127.0.0.1:PORT/v1` of the TLS server.
    pub fn https_v1_url(&self) -> String {
        format!("https://127.0.0.1:{}/v1", self.https_port)
    }

    /// `https://localhost:PORT/v1` of the mutual-TLS server.
    pub fn mtls_v1_url(&self) -> String {
        format!("https://localhost:{}/v1", self.mtls_port)
    }

    /// `http://127.0.0.1:PORT` of the forward proxy.
    pub fn proxy_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.proxy_port)
    }

    /// The access log: one `STATUS "REQUEST LINE"` per request, in order.
    ///
    /// nginx writes a line just *after* sending the response, so a client can see its
    /// answer before the line exists: this waits until the log has not changed for 100 ms
    /// (at most 3 s).
    pub fn access_log(&self) -> Vec<String> {
        let read =
            || std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default();
        let deadline = std::time::Instant::now() + Duration::from_secs(3);
        let mut text = read();
        loop {
            std::thread::sleep(Duration::from_millis(100));
            let again = read();
            if again == text || std::time::Instant::now() > deadline {
                break;
            }
            text = again;
        }
        text.lines().map(str::to_owned).collect()
    }

    /// The statuses nginx answered, in order, for requests whose path starts with `prefix`.
    pub fn statuses(&self, prefix: &str) -> Vec<u16> {
        self.access_log()
            .iter()
            .filter_map(|line| {
                let (status, request) = line.split_once(' ')?;
                let path = request.trim_matches('"').split(' ').nth(1)?;
                path.starts_with(prefix).then(|| status.parse().ok())?
            })
            .collect()
    }

    /// The directory nginx runs in.
    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_owned()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config(
    dir: &std::path::Path,
    upstream: SocketAddr,
    g: &Gateway,
    pki: Option<&Pki>,
    ports: &[u16],
) -> String {
    let d = dir.display();
    let mut c = String::new();
    let _ = write!(
        c,
        r#"master_process off;
daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 1024; }}
http {{
  log_format llmport '$status "$request"';
  access_log {d}/access.log llmport;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  proxy_http_version 1.1;
  proxy_set_header Connection "";
  proxy_buffering off;
  upstream backend {{ server {upstream}; keepalive 16; }}
"#
    );
    if let Some(token) = &g.bearer {
        let _ = writeln!(
            c,
            "  map $http_authorization $bearer_ok {{ default 0; \"Bearer {token}\" 1; }}"
        );
    }
    if let Some((header, key)) = &g.api_key {
        let var = header.to_ascii_lowercase().replace('-', "_");
        let _ = writeln!(
            c,
            "  map $http_{var} $api_key_ok {{ default 0; \"{key}\" 1; }}"
        );
    }
    let _ = writeln!(
        c,
        "  server {{\n    listen 127.0.0.1:{};\n    location /open/ {{ proxy_pass http://backend/; }}",
        ports[0]
    );
    if g.basic.is_some() {
        let _ = writeln!(
            c,
            "    location /basic/ {{ auth_basic \"llmport\"; auth_basic_user_file {d}/htpasswd; proxy_pass http://backend/; }}"
        );
    }
    if g.bearer.is_some() {
        let _ = writeln!(
            c,
            "    location /bearer/ {{ if ($bearer_ok = 0) {{ return 401; }} proxy_pass http://backend/; }}"
        );
    }
    if g.api_key.is_some() {
        let _ = writeln!(
            c,
            "    location /apikey/ {{ if ($api_key_ok = 0) {{ return 403; }} proxy_pass http://backend/; }}"
        );
    }
    if let Some(port) = g.oauth_check_port {
        let _ = writeln!(
            c,
            "    location /oauth/ {{ auth_request /_oauth_check; proxy_pass http://backend/; }}\n    \
             location = /_oauth_check {{ internal; proxy_pass http://127.0.0.1:{port}/gateway/check; \
             proxy_pass_request_body off; proxy_set_header Content-Length \"\"; }}"
        );
    }
    let _ = writeln!(c, "  }}");
    let _ = writeln!(
        c,
        "  server {{ listen 127.0.0.1:{}; location / {{ proxy_set_header Via \"1.1 llmport-test-proxy\"; proxy_pass http://$http_host; }} }}",
        ports[1]
    );
    if let Some(pki) = pki {
        let (cert, key, ca) = (
            pki.server_cert.display(),
            pki.server_key.display(),
            pki.ca_cert.display(),
        );
        let _ = writeln!(
            c,
            "  server {{ listen 127.0.0.1:{} ssl; ssl_certificate {cert}; ssl_certificate_key {key}; \
             location / {{ proxy_pass http://backend; }} }}",
            ports[2]
        );
        let _ = writeln!(
            c,
            "  server {{ listen 127.0.0.1:{} ssl; ssl_certificate {cert}; ssl_certificate_key {key}; \
             ssl_client_certificate {ca}; ssl_verify_client on; \
             location / {{ proxy_set_header X-Client-Subject $ssl_client_s_dn; proxy_pass http://backend; }} }}",
            ports[3]
        );
    } else {
        // Keep the ports listening so that start-up checks are uniform.
        let _ = writeln!(
            c,
            "  server {{ listen 127.0.0.1:{}; return 404; }}\n  server {{ listen 127.0.0.1:{}; return 404; }}",
            ports[2], ports[3]
        );
    }
    c.push_str("}\n");
    c
}
