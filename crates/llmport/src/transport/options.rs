//! [`ClientOptions`]: how the HTTP client connects, waits and trusts.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;

use super::proxy::Route;
use crate::redact::redact_url;

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
/// | `idle_timeout` | 120 s | longest silence between two pieces of a non-streaming body; for a stream, longest time without *progress* (a token, a reasoning delta, a tool-call fragment, a finish): keep-alive comments and empty deltas do not keep a stream alive |
/// | `total_timeout` | none | a deadline for a whole non-streaming call; never applied to streams |
/// | `stream_timeout` | none | a deadline for a whole streamed answer, from its response head to its end |
/// | `max_body_size` | 64 MiB | largest response body, non-streaming (read into memory) or streamed answer (which a caller may collect) |
/// | `proxy` | none | an HTTP(S) proxy for all requests; when unset, `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY` apply, never to `localhost` or loopback addresses |
/// | proxy variables | the process environment | read from given pairs instead with [`ClientOptionsBuilder::proxy_vars`] |
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
///
/// Built with [`ClientOptions::builder`]:
///
/// ```
/// use std::time::Duration;
/// let options = llmport::ClientOptions::builder()
///     .connect_timeout(Duration::from_secs(3))
///     .ca_cert_file("/etc/ssl/private-ca.pem")
///     .build();
/// # let _ = options;
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct ClientOptions {
    /// Longest time to establish a connection.
    pub connect_timeout: Option<Duration>,
    /// Longest time from sending a request to receiving the response headers.
    pub first_byte_timeout: Option<Duration>,
    /// Longest silence between two pieces of a non-streaming body; for a stream, the longest
    /// time without progress (a token, a reasoning delta, a tool-call fragment, a finish).
    pub idle_timeout: Option<Duration>,
    /// A deadline for a whole non-streaming call (request and body). Not applied to streams.
    pub total_timeout: Option<Duration>,
    /// A deadline for a whole streamed answer, from its response head to its end
    /// ([`TimeoutKind::Stream`](crate::TimeoutKind::Stream)). Not applied to non-streaming
    /// calls (see `total_timeout`).
    pub stream_timeout: Option<Duration>,
    /// The largest response body: a non-streaming one read into memory, or a streamed answer
    /// (counted after decompression; over it: [`Error::LimitExceeded`](crate::Error::LimitExceeded)).
    /// A pull's progress reports are not counted.
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
    /// The proxy variables to read instead of the process environment
    /// ([`ClientOptionsBuilder::proxy_vars`]).
    pub(crate) proxy_vars: Option<Vec<(String, String)>>,
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
            .field("stream_timeout", &self.stream_timeout)
            .field("max_body_size", &self.max_body_size)
            .field("proxy", &self.proxy.as_deref().map(redact_url))
            .field("no_proxy", &self.no_proxy)
            .field(
                "proxy_vars",
                &self
                    .proxy_vars
                    .as_ref()
                    .map(|v| v.iter().map(|(k, _)| k).collect::<Vec<_>>()),
            )
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
            stream_timeout: None,
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
            proxy_vars: None,
        }
    }
}

impl ClientOptions {
    /// A builder starting from the defaults (see the table above).
    ///
    /// ```
    /// use std::time::Duration;
    /// let options = llmport::ClientOptions::builder()
    ///     .connect_timeout(Duration::from_secs(3))
    ///     .idle_timeout(None)
    ///     .build();
    /// assert_eq!(options.connect_timeout, Some(Duration::from_secs(3)));
    /// ```
    pub fn builder() -> ClientOptionsBuilder {
        ClientOptionsBuilder::default()
    }

    /// A builder starting from these options.
    pub fn to_builder(&self) -> ClientOptionsBuilder {
        ClientOptionsBuilder {
            options: self.clone(),
        }
    }
}

/// Builds [`ClientOptions`]; every setting starts at its default. Nothing is checked here:
/// certificate files, the proxy URL and the rest are checked when the provider is built.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct ClientOptionsBuilder {
    options: ClientOptions,
}

impl ClientOptionsBuilder {
    /// The connect timeout (`None`: no limit).
    pub fn connect_timeout(mut self, d: impl Into<Option<Duration>>) -> Self {
        self.options.connect_timeout = d.into();
        self
    }

    /// The first-byte timeout (`None`: no limit).
    pub fn first_byte_timeout(mut self, d: impl Into<Option<Duration>>) -> Self {
        self.options.first_byte_timeout = d.into();
        self
    }

    /// The idle timeout between body chunks (`None`: no limit).
    pub fn idle_timeout(mut self, d: impl Into<Option<Duration>>) -> Self {
        self.options.idle_timeout = d.into();
        self
    }

    /// A total deadline for non-streaming calls (`None`: no limit).
    pub fn total_timeout(mut self, d: impl Into<Option<Duration>>) -> Self {
        self.options.total_timeout = d.into();
        self
    }

    /// A deadline for whole streamed answers, from the response head to the end (`None`: no
    /// limit, the default).
    pub fn stream_timeout(mut self, d: impl Into<Option<Duration>>) -> Self {
        self.options.stream_timeout = d.into();
        self
    }

    /// The largest response body: non-streaming (read into memory), or a streamed answer.
    pub fn max_body_size(mut self, bytes: usize) -> Self {
        self.options.max_body_size = bytes;
        self
    }

    /// Sends every request through this HTTP(S) proxy, loopback included.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.options.proxy = Some(url.into());
        self
    }

    /// Ignores the proxy environment variables (`HTTP_PROXY`, …).
    pub fn no_proxy(mut self, yes: bool) -> Self {
        self.options.no_proxy = yes;
        self
    }

    /// Reads the proxy variables (`HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`, in
    /// either case) from these pairs instead of the process environment, so that a program
    /// (or a test) can decide them without touching the environment.
    pub fn proxy_vars<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.options.proxy_vars = Some(
            vars.into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        );
        self
    }

    /// Trusts an extra root CA certificate (PEM).
    pub fn ca_cert_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.options.ca_certs_pem.push(pem.into());
        self
    }

    /// Trusts the extra root CA certificates in this PEM file (read when the provider is
    /// built).
    pub fn ca_cert_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.options.ca_cert_files.push(path.into());
        self
    }

    /// Presents the client certificate and key in these PEM files (mutual TLS; read when the
    /// provider is built).
    pub fn client_identity_files(
        mut self,
        cert: impl Into<PathBuf>,
        key: impl Into<PathBuf>,
    ) -> Self {
        self.options.client_cert_file = Some(cert.into());
        self.options.client_key_file = Some(key.into());
        self
    }

    /// Presents this client certificate (mutual TLS).
    pub fn client_identity(mut self, identity: ClientIdentity) -> Self {
        self.options.client_identity_pem = Some(identity);
        self
    }

    /// How many idle connections are kept per host.
    pub fn pool_max_idle_per_host(mut self, n: usize) -> Self {
        self.options.pool_max_idle_per_host = n;
        self
    }

    /// Accepts any server certificate. Dangerous: only for testing.
    pub fn danger_accept_invalid_certs(mut self, yes: bool) -> Self {
        self.options.danger_accept_invalid_certs = yes;
        self
    }

    /// The `User-Agent` header.
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.options.user_agent = ua.into();
        self
    }

    /// The options.
    pub fn build(self) -> ClientOptions {
        self.options
    }
}

impl ClientOptions {
    /// Builds the reqwest client for requests on `route` (see [`super::proxy`]);
    /// `for_loopback` when they go to this machine.
    ///
    /// It only sends: redirects, decompression and the default headers are the transport's
    /// (written once, above both HTTP paths), so reqwest's own redirect policy is `none` and
    /// its gzip decoding is off.
    pub(crate) fn build_client(
        &self,
        route: &Route,
        for_loopback: bool,
    ) -> crate::Result<reqwest::Client> {
        let mut b = reqwest::Client::builder()
            .pool_max_idle_per_host(self.pool_max_idle_per_host)
            .redirect(reqwest::redirect::Policy::none())
            .no_gzip()
            .tcp_nodelay(true);
        if let Some(d) = self.connect_timeout {
            b = b.connect_timeout(d);
        }
        let (proxy, auth) = match route {
            Route::Direct => {
                // reqwest reads the environment's proxies per URL, which only matters for
                // another host (an OAuth2 token endpoint): keep that unless the environment
                // is off, given as variables, or the requests are for this machine.
                if self.no_proxy || self.proxy_vars.is_some() || for_loopback {
                    b = b.no_proxy();
                }
                (None, None)
            }
            Route::Configured => (self.proxy.as_deref(), None),
            // From the process environment: reqwest reads it the same way (hyper-util's
            // matcher), per URL, so that another host (an OAuth2 token endpoint) gets its own
            // decision.
            Route::Environment { .. } if self.proxy_vars.is_none() => (None, None),
            Route::Environment { url, auth } => {
                b = b.no_proxy();
                (Some(url.as_str()), auth.as_ref())
            }
        };
        if let Some(p) = proxy {
            let mut proxy = reqwest::Proxy::all(p).map_err(|e| crate::Error::Config {
                setting: Some("ClientOptions::proxy".into()),
                message: format!("invalid proxy URL {}", redact_url(p)),
                source: Some(Box::new(e)),
            })?;
            if let Some(auth) = auth {
                proxy = proxy.custom_http_auth(auth.clone());
            }
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
