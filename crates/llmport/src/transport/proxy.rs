//! The proxy decision: which proxy, if any, carries the requests to one origin.
//!
//! Written once for both HTTP paths (see [`super::service`]): the direct path is only taken
//! when this decides "no proxy".
//!
//! | configured | origin | route |
//! |---|---|---|
//! | a proxy ([`ClientOptions::proxy`], `LLMPORT_PROXY`) | any | that proxy |
//! | [`ClientOptions::no_proxy`] | any | none |
//! | nothing | `localhost`, `127.0.0.0/8`, `::1` | none: a proxy from the environment is never used for loopback |
//! | nothing | other | `HTTP_PROXY` / `HTTPS_PROXY` / `ALL_PROXY` unless `NO_PROXY` exempts it |
//!
//! The loopback rule is Go's `httpproxy` (what Ollama's own client uses): prompts for a local
//! Ollama never leave the machine because a shell exported a proxy for the internet. An
//! explicitly configured proxy still applies, as it does in Go.

use hyper_util::client::proxy::matcher::Matcher;

use super::options::ClientOptions;

/// Where requests to one origin go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// Straight to the server.
    Direct,
    /// Through the proxy configured in [`ClientOptions::proxy`].
    Configured,
    /// Through a proxy from the environment.
    Environment {
        /// Its URL.
        url: String,
        /// Its credentials (from the URL in the variable), as a `Proxy-Authorization`
        /// value marked sensitive.
        auth: Option<http::HeaderValue>,
    },
}

impl Route {
    /// The route for requests to `base`. `env` is the environment's proxy settings: the
    /// process environment unless [`ClientOptions`] was given variables to read instead.
    pub(crate) fn for_base(base: &url::Url, options: &ClientOptions, env: &Matcher) -> Route {
        if options.proxy.is_some() {
            return Route::Configured;
        }
        if options.no_proxy || is_loopback(base) {
            return Route::Direct;
        }
        let Ok(uri) = base.as_str().parse::<http::Uri>() else {
            return Route::Direct;
        };
        match env.intercept(&uri) {
            Some(proxy) => Route::Environment {
                url: proxy_url(&proxy),
                auth: proxy.basic_auth().map(|v| {
                    let mut v = v.clone();
                    v.set_sensitive(true);
                    v
                }),
            },
            None => Route::Direct,
        }
    }
}

/// The environment's proxy settings: from the variables given to
/// [`ClientOptionsBuilder::proxy_vars`](super::ClientOptionsBuilder::proxy_vars), else from
/// the process environment (as reqwest and curl read it).
pub(crate) fn environment(options: &ClientOptions) -> Matcher {
    let Some(vars) = &options.proxy_vars else {
        return Matcher::from_system();
    };
    let get = |upper: &str| {
        let lower = upper.to_ascii_lowercase();
        vars.iter()
            .find(|(k, v)| (k == &lower || k == upper) && !v.is_empty())
            .map(|(_, v)| v.clone())
    };
    let mut b = Matcher::builder();
    if let Some(v) = get("HTTP_PROXY") {
        b = b.http(v);
    }
    if let Some(v) = get("HTTPS_PROXY") {
        b = b.https(v);
    }
    if let Some(v) = get("ALL_PROXY") {
        b = b.all(v);
    }
    if let Some(v) = get("NO_PROXY") {
        b = b.no(v);
    }
    b.build()
}

/// Whether a URL names this machine: the name `localhost`, or a loopback address
/// (`127.0.0.0/8`, `::1`, and `::ffff:127.0.0.0/104`), as Go's `httpproxy` decides it.
pub(crate) fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => {
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        None => false,
    }
}

/// A proxy from the environment as a URL reqwest takes (credentials other than Basic, as a
/// SOCKS proxy has them, put back in).
fn proxy_url(proxy: &hyper_util::client::proxy::matcher::Intercept) -> String {
    let text = proxy.uri().to_string();
    let Some((user, password)) = proxy.raw_auth() else {
        return text;
    };
    match url::Url::parse(&text) {
        Ok(mut u) => {
            let _ = u.set_username(user);
            let _ = u.set_password(Some(password));
            u.to_string()
        }
        Err(_) => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(base: &str, options: &ClientOptions, env: &Matcher) -> Route {
        Route::for_base(&url::Url::parse(base).unwrap(), options, env)
    }

    #[test]
    fn the_environment_proxy_is_never_used_for_loopback() {
        let env = Matcher::builder()
            .http("http://user:pw@proxy.internal:3128")
            .https("http://proxy.internal:3128")
            .all("http://proxy.internal:3128")
            .build();
        let opts = ClientOptions::default();
        for local in [
            "http://localhost:11434",
            "http://LOCALHOST:11434/v1",
            "http://127.0.0.1:11434",
            "http://127.8.9.10/",
            "http://[::1]:11434/v1",
            "http://[::ffff:127.0.0.1]:11434/v1",
            "https://localhost:8443/v1",
        ] {
            assert_eq!(route(local, &opts, &env), Route::Direct, "{local}");
        }
        for remote in [
            "http://gpu-box:11434/v1",
            "http://10.1.2.3:8080/",
            "http://localhost.example.com/",
            "http://128.0.0.1/",
            "http://[::2]/",
        ] {
            assert!(
                matches!(route(remote, &opts, &env), Route::Environment { .. }),
                "{remote}"
            );
        }
        // The proxy's credentials come along, kept out of `Debug`.
        let Route::Environment { url, auth } = route("http://gpu-box/", &opts, &env) else {
            panic!("not proxied");
        };
        assert_eq!(url, "http://proxy.internal:3128/");
        let auth = auth.expect("credentials");
        assert_eq!(auth, "Basic dXNlcjpwdw==");
        assert!(!format!("{auth:?}").contains("dXNlcjpwdw"));
        // A configured proxy applies to loopback too; `no_proxy` turns the environment off.
        let configured = ClientOptions::builder()
            .proxy("http://proxy.internal:3128")
            .build();
        assert_eq!(
            route("http://127.0.0.1:11434", &configured, &env),
            Route::Configured
        );
        let off = ClientOptions::builder().no_proxy(true).build();
        assert_eq!(route("http://gpu-box/", &off, &env), Route::Direct);
        // NO_PROXY exempts a host.
        let exempt = Matcher::builder()
            .http("http://proxy.internal:3128")
            .no("gpu-box")
            .build();
        assert_eq!(route("http://gpu-box/", &opts, &exempt), Route::Direct);
    }

    #[test]
    fn proxy_variables_can_be_given_instead_of_the_environment() {
        let opts = ClientOptions::builder()
            .proxy_vars([("http_proxy", "http://p:1"), ("NO_PROXY", "exempt")])
            .build();
        let env = environment(&opts);
        assert!(matches!(
            route("http://gpu-box/", &opts, &env),
            Route::Environment { .. }
        ));
        assert_eq!(route("http://exempt/", &opts, &env), Route::Direct);
        assert_eq!(route("http://127.0.0.1/", &opts, &env), Route::Direct);
        assert_eq!(route("https://gpu-box/", &opts, &env), Route::Direct);
    }
}
