//! A real OAuth 2.0 authorization server: `oidc-provider` from npm, run with node from
//! `crates/llmport/tests/oauth-server/server.js` (see that file), with clients the test
//! defines. `.ci/run` installs its packages with `npm ci`; on a developer machine they are
//! installed on first use when npm is there.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use serde_json::json;

use super::real::{random_secret, require_program, unavailable};

/// A client registered at the server.
#[derive(Debug, Clone)]
pub struct OAuthClient {
    /// Its client id.
    pub id: String,
    /// Its client secret.
    pub secret: String,
    /// `client_secret_basic` or `client_secret_post`.
    pub auth_method: &'static str,
    /// Lifetime of its access tokens, seconds.
    pub ttl: u64,
    /// Scopes it may ask for.
    pub scope: &'static str,
}

impl OAuthClient {
    /// A client with a random secret (with characters that must be form-encoded in HTTP
    /// Basic), allowed the scopes `chat embed`, tokens living `ttl` seconds.
    pub fn new(id: &str, auth_method: &'static str, ttl: u64) -> Self {
        OAuthClient {
            id: id.to_owned(),
            secret: format!("{}:/+ &%=", random_secret("cs")),
            auth_method,
            ttl,
            scope: "chat embed",
        }
    }
}

/// Counters kept by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Requests to the token endpoint (successful or not).
    pub token_requests: u64,
    /// Tokens issued.
    pub issued: u64,
    /// Gateway checks (one per request nginx let through or refused).
    pub checks: u64,
    /// Gateway checks that refused the token.
    pub rejected: u64,
}

/// The running server; killed on drop.
#[derive(Debug)]
pub struct OAuthServer {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    log: std::sync::Arc<Mutex<String>>,
}

impl OAuthServer {
    /// Starts the server with these clients; the gateway check accepts active tokens with
    /// scope `chat`. `None` (after a printed message) when node is not installed.
    pub fn start(clients: &[OAuthClient]) -> Option<OAuthServer> {
        let node = require_program("node", "apt-get install -y nodejs npm")?;
        let version = Command::new(&node)
            .args(["-p", "process.versions.node.split('.')[0]"])
            .output()
            .expect("node --version");
        let major: u32 = String::from_utf8_lossy(&version.stdout)
            .trim()
            .parse()
            .unwrap_or(0);
        if major < 20 {
            return unavailable(
                &format!("node {major} is too old for oidc-provider"),
                "install Node.js 20 or later",
            );
        }
        let dir = server_dir();
        install_packages(&dir)?;
        let gateway = ("gateway".to_owned(), random_secret("gw"));
        let config = json!({
            "clients": clients.iter().map(|c| json!({
                "client_id": c.id,
                "client_secret": c.secret,
                "auth_method": c.auth_method,
                "ttl": c.ttl,
                "scope": c.scope,
            })).collect::<Vec<_>>(),
            "gateway": {"client_id": gateway.0, "client_secret": gateway.1},
            "required_scope": "chat",
        });
        let mut child = Command::new(node)
            .arg(dir.join("server.js"))
            .current_dir(&dir)
            .env("LLMPORT_OAUTH_CONFIG", config.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn node");
        let log = std::sync::Arc::new(Mutex::new(String::new()));
        let mut stderr = child.stderr.take().expect("stderr");
        let stderr_log = log.clone();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            stderr_log.lock().expect("log").push_str(&text);
        });
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = tx.send(lines.next());
            for _ in lines {} // keep draining so node never blocks on a full pipe
        });
        let first = rx.recv_timeout(Duration::from_secs(20));
        let port = match &first {
            Ok(Some(Ok(line))) => serde_json::from_str::<serde_json::Value>(line)
                .ok()
                .and_then(|v| v["port"].as_u64())
                .and_then(|p| u16::try_from(p).ok()),
            _ => None,
        };
        let Some(port) = port else {
            let _ = child.kill();
            let _ = child.wait();
            std::thread::sleep(Duration::from_millis(100));
            panic!(
                "the OAuth server did not start: {:?}\n{}",
                first,
                log.lock().expect("log")
            );
        };
        Some(OAuthServer { child, port, log })
    }

    /// The token endpoint.
    pub fn token_url(&self) -> String {
        format!("http://127.0.0.1:{}/token", self.port)
    }

    /// The server's counters.
    pub async fn stats(&self) -> Stats {
        let body = reqwest::get(format!("http://127.0.0.1:{}/stats", self.port))
            .await
            .expect("stats")
            .bytes()
            .await
            .expect("stats body");
        let v: serde_json::Value = serde_json::from_slice(&body).expect("stats JSON");
        Stats {
            token_requests: v["token_requests"].as_u64().expect("token_requests"),
            issued: v["issued"].as_u64().expect("issued"),
            checks: v["checks"].as_u64().expect("checks"),
            rejected: v["rejected"].as_u64().expect("rejected"),
        }
    }

    /// Revokes an access token at the RFC 7009 revocation endpoint, as the client it was
    /// issued to (HTTP Basic, form-encoded as RFC 6749 §2.3.1 asks).
    pub async fn revoke(&self, token: &str, client: &OAuthClient) {
        let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let mut request = reqwest::Client::new()
            .post(format!("http://127.0.0.1:{}/token/revocation", self.port))
            .header("content-type", "application/x-www-form-urlencoded");
        let mut body = format!("token={}&token_type_hint=access_token", enc(token));
        if client.auth_method == "client_secret_post" {
            body.push_str(&format!(
                "&client_id={}&client_secret={}",
                enc(&client.id),
                enc(&client.secret)
            ));
        } else {
            let basic = base64::engine::general_purpose::STANDARD.encode(format!(
                "{}:{}",
                enc(&client.id),
                enc(&client.secret)
            ));
            request = request.header("authorization", format!("Basic {basic}"));
        }
        let resp = request.body(body).send().await.expect("revoke");
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        assert_eq!(status, 200, "revocation refused: {text}");
    }

    /// What the server printed on stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().expect("log").clone()
    }
}

impl Drop for OAuthServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn server_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../llmport/tests/oauth-server")
}

/// Makes sure `node_modules` is there: `.ci/run` runs `npm ci`; a developer machine gets it
/// on first use. `None` (skip) without npm.
fn install_packages(dir: &Path) -> Option<()> {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    if dir
        .join("node_modules/oidc-provider/package.json")
        .is_file()
    {
        return Some(());
    }
    let npm = require_program("npm", "apt-get install -y npm")?;
    INSTALLED.get_or_init(|| {
        eprintln!(
            "installing the OAuth test server's packages: npm ci in {}",
            dir.display()
        );
        let out = Command::new(npm)
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(dir)
            .output()
            .expect("run npm ci");
        assert!(
            out.status.success(),
            "npm ci failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
    Some(())
}
