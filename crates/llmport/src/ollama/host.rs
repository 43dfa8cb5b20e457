//! `OLLAMA_HOST` parsing, exactly as Ollama's own `envconfig.Host()` does it.

/// Parses an `OLLAMA_HOST` value into the server's root URL (no trailing slash), following
/// Ollama's rules:
///
/// - `host` or `host:port` → `http`, default port 11434;
/// - `http://host` → port 80; `https://host` → port 443 (an explicit port wins);
/// - `ollama.com` → `https://ollama.com:443`;
/// - a trailing `/path` is kept as a base path;
/// - an invalid port falls back to the default; quotes and spaces around the value are
///   trimmed; empty → `http://127.0.0.1:11434`;
/// - `0.0.0.0` and `::` (addresses a server listens on, not ones to connect to) become
///   loopback, as Ollama's client does.
pub fn parse_ollama_host(value: &str) -> String {
    let s = value.trim().trim_matches(|c| c == '"' || c == '\'').trim();
    let mut default_port = "11434";
    let (scheme, hostport) = match s.split_once("://") {
        None => {
            if s == "ollama.com" {
                ("https", "ollama.com:443")
            } else {
                ("http", s)
            }
        }
        Some((scheme, rest)) => {
            match scheme {
                "http" => default_port = "80",
                "https" => default_port = "443",
                _ => {}
            }
            (scheme, rest)
        }
    };
    let (hostport, path) = match hostport.split_once('/') {
        Some((h, p)) => (h, p),
        None => (hostport, ""),
    };
    let (mut host, mut port) = match split_host_port(hostport) {
        Some((h, p)) => (h.to_owned(), p.to_owned()),
        None => {
            let bare = hostport.trim_start_matches('[').trim_end_matches(']');
            let host = if bare.parse::<std::net::IpAddr>().is_ok() || !hostport.is_empty() {
                bare.to_owned()
            } else {
                "127.0.0.1".to_owned()
            };
            (host, default_port.to_owned())
        }
    };
    if port.parse::<u16>().is_err() {
        port = default_port.to_owned();
    }
    // Connectable host: listening addresses (and an empty host) become loopback.
    match host.as_str() {
        "0.0.0.0" | "" => host = "127.0.0.1".into(),
        "::" => host = "::1".into(),
        _ => {}
    }
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host
    };
    let path = path.trim_end_matches('/');
    if path.is_empty() {
        format!("{scheme}://{host}:{port}")
    } else {
        format!("{scheme}://{host}:{port}/{path}")
    }
}

/// Go's `net.SplitHostPort`: `host:port` or `[v6]:port`; `None` when there is no port.
fn split_host_port(s: &str) -> Option<(&str, &str)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = after.strip_prefix(':')?;
        return Some((host, port));
    }
    let (host, port) = s.rsplit_once(':')?;
    if host.contains(':') {
        // A bare IPv6 address without brackets has no port.
        return None;
    }
    Some((host, port))
}

#[cfg(test)]
mod tests {
    use super::parse_ollama_host as p;

    #[test]
    fn follows_ollama_envconfig_rules() {
        assert_eq!(p(""), "http://127.0.0.1:11434");
        assert_eq!(p("example.com"), "http://example.com:11434");
        assert_eq!(p("example.com:1234"), "http://example.com:1234");
        assert_eq!(p("http://example.com"), "http://example.com:80");
        assert_eq!(p("https://example.com"), "https://example.com:443");
        assert_eq!(p("http://example.com:5678"), "http://example.com:5678");
        assert_eq!(p("ollama.com"), "https://ollama.com:443");
        assert_eq!(p("1.2.3.4"), "http://1.2.3.4:11434");
        assert_eq!(p(":1234"), "http://127.0.0.1:1234");
        assert_eq!(p("[::1]:9999"), "http://[::1]:9999");
        assert_eq!(p("::1"), "http://[::1]:11434");
        assert_eq!(p("0.0.0.0"), "http://127.0.0.1:11434");
        assert_eq!(p("0.0.0.0:5000"), "http://127.0.0.1:5000");
        assert_eq!(p("\"  example.com  \""), "http://example.com:11434");
        assert_eq!(p("example.com:notaport"), "http://example.com:11434");
        assert_eq!(p("example.com:99999"), "http://example.com:11434");
        assert_eq!(
            p("https://proxy.example.com/ollama/"),
            "https://proxy.example.com:443/ollama"
        );
    }
}
