//! [`ClientOptions`]: how the HTTP client connects, waits and trusts.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;

/// HTTP client settings shared by every provider. This is the only place the underlying HTTP
/// client (reqwest) is configured.
///
/// Timeouts are split by phase, because a single total deadline would cut off a long
/// generation: a stream may run for many minutes while it keeps producing chunks.
///
/// | setting | default | meaning |
/// |---|---|---|
/// | `connect_timeout` | 10 s | TCP + TLS connection set-up |
/// | `first_byte_timeout` | 300 s | from sending the request to the response headers (Ollama sends nothing while it loads a model, and a non-streaming answer arrives all at once) |
/// | `idle_timeout` | 120 s | longest silence between two chunks of a response body, streamed or not |
/// | `total_timeout` | none | a deadline for a whole non-streaming call; never applied to streams |
/// | `max_body_size` | 64 MiB | largest non-streaming body read into memory |
/// | `proxy` | none | an HTTP(S) proxy for all requests; when unset, `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY` apply |
/// | `ca_certs_pem`, `ca_cert_files` | none | extra root CAs, trusted besides the built-in (Mozilla) roots |
/// | `client_identity_pem`, `client_cert_file` + `client_key_file` | none | a client certificate for mutual TLS |
/// | `danger_accept_invalid_certs` | false | accept any server certificate (tests only) |
/// | `user_agent` | `llmport/<version>` | the `User-Agent` header |
/// | `pool_max_idle_per_host` | no limit | idle connections kept per host (each closes after 90 s idle) |
///
/// Certificate files are read when the provider is built; a missing or invalid file is an
/// [`Error::Config`](crate::Error::Config) naming it.
///
/// Redirects are followed only within the same scheme, host and port, at most 10 times: a
/// redirect to another server is not followed (the 3xx answer becomes an
/// [`Error::Api`](crate::Error::Api) saying where it pointed), so that neither credentials nor
/// prompts reach a server that was not configured.
#[derive(Clone)]
#[non_exhaustive]
pub struct ClientOptions {
    /// Longest time to establish a connection.
    pub connect_timeout: Option<Duration>,
    /// Longest time from sending a request to receiving the response headers.
    pub first_byte_timeout: Option<Duration>,
    /// Longest silence between two chunks of a response body (streamed or not).
    pub idle_timeout: Option<Duration>,
    /// A deadline for a whole non-streaming call (request and body). Not applied to streams.
    pub total_timeout: Option<Duration>,
    /// The largest non-streaming response body that is read into memory (counted after
    /// decompression).
    pub max_body_size: usize,
    /// An HTTP(S) proxy URL for all requests. When unset, the standard `HTTP_PROXY`,
    /// `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY` environment variables apply, unless
    /// [`ClientOptions::no_proxy`] is set.
    pub proxy: Option<String>,
    /// Ignore proxy environment variables.
    pub no_proxy: bool,
    /// Extra root CA certificates (PEM), e.g. a private CA of a reverse proxy.
    pub ca_certs_pem: Vec<Vec<u8>>,
    /// Files of extra root CA certificates (PEM, one or more certificates each), read when
    /// the provider is built.
    pub ca_cert_files: Vec<PathBuf>,
    /// A client certificate and its private key (PEM) for mutual TLS.
    pub client_identity_pem: Option<ClientIdentity>,
    /// A client certificate file (PEM) for mutual TLS, read when the provider is built;
    /// needs [`ClientOptions::client_key_file`].
    pub client_cert_file: Option<PathBuf>,
    /// The private key file (PEM) of [`ClientOptions::client_cert_file`].
    pub client_key_file: Option<PathBuf>,
    /// Accept any server certificate. Dangerous: only for testing.
    pub danger_accept_invalid_certs: bool,
    /// The `User-Agent` header.
    pub user_agent: String,
    /// The most idle connections kept per host (`usize::MAX`, the default: no limit; an idle
    /// connection is closed after 90 s either way).
    ///
    /// A limit below the number of requests in flight makes every burst close the surplus
    /// connections and open new ones for the next: with 32 (this crate's earlier default)
    /// and 64 requests in flight, the benchmark harness's batch opened 144 connections for
    /// 20,000 requests instead of 64, and paid for it in CPU.
    pub pool_max_idle_per_host: usize,
}

/// A client certificate with its private key, in PEM.
#[derive(Clone)]
pub struct ClientIdentity {
    /// The certificate chain, PEM.
    pub cert_pem: Vec<u8>,
    /// The private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key_pem: SecretString,
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("cert_pem", &format_args!("[{} bytes]", self.cert_pem.len()))
            .field("key_pem", &"[redacted]")
            .finish()
    }
}

impl ClientIdentity {
    /// Reads a certificate and key from PEM files.
    pub fn from_files(cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> std::io::Result<Self> {
        let cert_pem = std::fs::read(cert.into())?;
        let key_pem = std::fs::read_to_string(key.into())?;
        Ok(ClientIdentity {
            cert_pem,
            key_pem: SecretString::from(key_pem),
        })
    }
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("connect_timeout", &self.connect_timeout)
            .field("first_byte_timeout", &self.first_byte_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("total_timeout", &self.total_timeout)
            .field("max_body_size", &self.max_body_size)
            .field(
                "proxy",
                &self.proxy.as_deref().map(crate::transport::redact_url),
            )
            .field("no_proxy", &self.no_proxy)
            .field("ca_certs_pem", &self.ca_certs_pem.len())
            .field("ca_cert_files", &self.ca_cert_files)
            .field("client_identity_pem", &self.client_identity_pem)
            .field("client_cert_file", &self.client_cert_file)
            .field("client_key_file", &self.client_key_file)
            .field(
                "danger_accept_invalid_certs",
                &self.danger_accept_invalid_certs,
            )
            .field("user_agent", &self.user_agent)
            .field("pool_max_idle_per_host", &self.pool_max_idle_per_host)
            .finish()
    }
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            connect_timeout: Some(Duration::from_secs(10)),
            first_byte_timeout: Some(Duration::from_secs(300)),
            idle_timeout: Some(Duration::from_secs(120)),
            total_timeout: None,
            max_body_size: 64 * 1024 * 1024,
            proxy: None,
            no_proxy: false,
            ca_certs_pem: Vec::new(),
            ca_cert_files: Vec::new(),
            client_identity_pem: None,
            client_cert_file: None,
            client_key_file: None,
            danger_accept_invalid_certs: false,
            user_agent: concat!("llmport/", env!("CARGO_PKG_VERSION")).to_owned(),
            pool_max_idle_per_host: usize::MAX,
        }
    }
}

impl ClientOptions {
    /// The defaults (see the table above).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the connect timeout (`None`: no limit).
    #[must_use]
    pub fn with_connect_timeout(mut self, d: impl Into<Option<Duration>>) -> Self {
        self.connect_timeout = d.into();
        self
    }

    /// Sets the first-byte timeout (`None`: no limit).
    #[must_use]
    pub fn with_first_byte_timeout(mut self, d: impl Into<Option<Duration>>) -> Self {
        self.first_byte_timeout = d.into();
        self
    }

    /// Sets the idle timeout between stream chunks (`None`: no limit).
    #[must_use]
    pub fn with_idle_timeout(mut self, d: impl Into<Option<Duration>>) -> Self {
        self.idle_timeout = d.into();
        self
    }

    /// Sets a total deadline for non-streaming calls (`None`: no limit).
    #[must_use]
    pub fn with_total_timeout(mut self, d: impl Into<Option<Duration>>) -> Self {
        self.total_timeout = d.into();
        self
    }

    /// Sets the largest non-streaming body read into memory.
    #[must_use]
    pub fn with_max_body_size(mut self, bytes: usize) -> Self {
        self.max_body_size = bytes;
        self
    }

    /// Sends every request through this HTTP(S) proxy.
    #[must_use]
    pub fn with_proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = Some(url.into());
        self
    }

    /// Trusts an extra root CA certificate (PEM).
    #[must_use]
    pub fn with_ca_cert_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_certs_pem.push(pem.into());
        self
    }

    /// Ignores the proxy environment variables (`HTTP_PROXY`, …).
    #[must_use]
    pub fn with_no_proxy(mut self, yes: bool) -> Self {
        self.no_proxy = yes;
        self
    }

    /// Trusts the extra root CA certificates in this PEM file (read when the provider is
    /// built).
    #[must_use]
    pub fn with_ca_cert_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_cert_files.push(path.into());
        self
    }

    /// Presents the client certificate and key in these PEM files (mutual TLS; read when the
    /// provider is built).
    #[must_use]
    pub fn with_client_identity_files(
        mut self,
        cert: impl Into<PathBuf>,
        key: impl Into<PathBuf>,
    ) -> Self {
        self.client_cert_file = Some(cert.into());
        self.client_key_file = Some(key.into());
        self
    }

    /// Sets how many idle connections are kept per host.
    #[must_use]
    pub fn with_pool_max_idle_per_host(mut self, n: usize) -> Self {
        self.pool_max_idle_per_host = n;
        self
    }

    /// Presents this client certificate (mutual TLS).
    #[must_use]
    pub fn with_client_identity(mut self, identity: ClientIdentity) -> Self {
        self.client_identity_pem = Some(identity);
        self
    }

    /// Accepts any server certificate. Dangerous: only for testing.
    #[must_use]
    pub fn with_danger_accept_invalid_certs(mut self, yes: bool) -> Self {
        self.danger_accept_invalid_certs = yes;
        self
    }

    /// Sets the `User-Agent` header.
    #[must_use]
    pub fn with_user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = ua.into();
        self
    }

    /// Builds the reqwest client.
    pub(crate) fn build_client(&self) -> crate::Result<reqwest::Client> {
        let mut b = reqwest::Client::builder()
            .user_agent(self.user_agent.clone())
            .pool_max_idle_per_host(self.pool_max_idle_per_host)
            .redirect(reqwest::redirect::Policy::custom(same_origin_redirect))
            .tcp_nodelay(true);
        if let Some(d) = self.connect_timeout {
            b = b.connect_timeout(d);
        }
        if self.no_proxy {
            b = b.no_proxy();
        }
        if let Some(p) = &self.proxy {
            let proxy = reqwest::Proxy::all(p.as_str()).map_err(|e| crate::Error::Config {
                setting: None,
                message: format!("invalid proxy URL {}", crate::transport::redact_url(p)),
                source: Some(Box::new(e)),
            })?;
            b = b.proxy(proxy);
        }
        let ca_files = self
            .ca_cert_files
            .iter()
            .map(|path| Ok((read_file(path, "CA certificate")?, Some(path))))
            .collect::<crate::Result<Vec<_>>>()?;
        let ca_pems = self.ca_certs_pem.iter().map(|pem| (pem.clone(), None));
        for (pem, path) in ca_pems.chain(ca_files) {
            let what = match path {
                Some(p) => format!("the CA certificate file {}", p.display()),
                None => "the CA certificate".to_owned(),
            };
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| crate::Error::Config {
                    setting: None,
                    message: format!("{what} is not valid PEM"),
                    source: Some(Box::new(e)),
                })?;
            if certs.is_empty() {
                return Err(crate::Error::config(format!(
                    "{what} holds no PEM certificate"
                )));
            }
            for c in certs {
                b = b.add_root_certificate(c);
            }
        }
        let identity = match (&self.client_cert_file, &self.client_key_file) {
            (Some(cert), Some(key)) => Some(ClientIdentity {
                cert_pem: read_file(cert, "client certificate")?,
                key_pem: SecretString::from(
                    String::from_utf8(read_file(key, "client key")?).map_err(|_| {
                        crate::Error::config(format!(
                            "the client key file {} is not PEM text",
                            key.display()
                        ))
                    })?,
                ),
            }),
            (Some(_), None) => {
                return Err(crate::Error::config(
                    "a client certificate file was given without its key file",
                ));
            }
            (None, Some(_)) => {
                return Err(crate::Error::config(
                    "a client key file was given without its certificate file",
                ));
            }
            (None, None) => self.client_identity_pem.clone(),
        };
        if let Some(id) = &identity {
            use secrecy::ExposeSecret;
            let mut pem = id.cert_pem.clone();
            pem.push(b'\n');
            pem.extend_from_slice(id.key_pem.expose_secret().as_bytes());
            let identity = reqwest::Identity::from_pem(&pem).map_err(|e| crate::Error::Config {
                setting: None,
                message: "the client certificate or key is not valid PEM".into(),
                source: Some(Box::new(e)),
            })?;
            b = b.identity(identity);
        }
        if self.danger_accept_invalid_certs {
            b = b.danger_accept_invalid_certs(true);
        }
        b.build().map_err(|e| crate::Error::Config {
            setting: None,
            message: "could not build the HTTP client".into(),
            source: Some(Box::new(e)),
        })
    }
}

/// Reads a certificate or key file, naming it in the error.
fn read_file(path: &Path, what: &str) -> crate::Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| crate::Error::Config {
        setting: None,
        message: format!("cannot read the {what} file {}", path.display()),
        source: Some(Box::new(e)),
    })
}

/// The most redirects followed for one request.
pub(crate) const MAX_REDIRECTS: usize = 10;

/// Follows a redirect only within the same scheme, host and port, at most
/// [`MAX_REDIRECTS`] times. A redirect elsewhere is not followed (the 3xx answer becomes an
/// error): reqwest would drop `Authorization` on the way, but not an API key in a header of
/// the gateway's choosing, nor the prompt in the body, and neither should reach a server the
/// caller did not configure.
fn same_origin_redirect(attempt: reqwest::redirect::Attempt<'_>) -> reqwest::redirect::Action {
    let next = attempt.url();
    let same_origin = attempt.previous().last().is_some_and(|prev| {
        prev.scheme() == next.scheme()
            && prev.host_str() == next.host_str()
            && prev.port_or_known_default() == next.port_or_known_default()
    });
    if same_origin && attempt.previous().len() <= MAX_REDIRECTS {
        attempt.follow()
    } else {
        attempt.stop()
    }
}
