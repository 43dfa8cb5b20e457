//! `OLLAMA_HOST` parsing: Ollama's own `envconfig.Host()` rules for every value Ollama
//! reads as meant, and an error (instead of Ollama's silent fallback) for the rest.

use crate::error::{Error, Result};

/// Parses an `OLLAMA_HOST` value into the server's root URL (no trailing slash), following
/// Ollama's rules:
///
/// - `host` or `host:port` → `http`, default port 11434;
/// - `http://host` → port 80; `https://host` → port 443 (an explicit port wins);
/// - `ollama.com` → `https://ollama.com:443`;
/// - a trailing `/path` is kept as a base path;
/// - quotes and spaces around the value are trimmed; empty → `http://127.0.0.1:11434`;
/// - `0.0.0.0` and `::` (addresses a server listens on, not ones to connect to) become
///   loopback, as Ollama's client does.
///
/// The port always appears in the result, so that messages show the one these rules chose.
///
/// Where Ollama logs a warning and carries on with something the user did not write, this
/// is an [`Error::Config`] saying what is wrong: a port that is not a number from 1 to
/// 65535 (Ollama would use the default port instead), an unclosed `[` of an IPv6 address,
/// a scheme other than `http`/`https`, characters no host name has, a query or fragment,
/// and credentials (`user:password@`), which belong in `Auth::basic` — from the environment,
/// `LLMPORT_BASIC_USER` and `LLMPORT_BASIC_PASSWORD` — so that they stay out of URLs,
/// messages and logs. The message never repeats a value that carries credentials.
pub fn parse_ollama_host(value: &str) -> Result<String> {
    let s = value.trim().trim_matches(|c| c == '"' || c == '\'').trim();
    let invalid = |reason: &str| {
        Error::config(format!(
            "invalid Ollama host {s:?} (read with OLLAMA_HOST's rules): {reason}"
        ))
    };
    let mut default_port = "11434";
    let (scheme, hostport) = match s.split_once("://") {
        None if s == "ollama.com" => ("https", "ollama.com:443"),
        None => ("http", s),
        Some(("http", rest)) => {
            default_port = "80";
            ("http", rest)
        }
        Some(("https", rest)) => {
            default_port = "443";
            ("https", rest)
        }
        Some((_, rest)) => {
            if rest.split('/').next().is_some_and(|a| a.contains('@')) {
                return Err(credentials_error());
            }
            return Err(invalid("the scheme must be http:// or https://"));
        }
    };
    let (hostport, path) = hostport.split_once('/').unwrap_or((hostport, ""));
    if hostport.contains('@') {
        return Err(credentials_error());
    }
    if hostport.contains(['?', '#']) || path.contains(['?', '#']) {
        return Err(invalid(
            "a query (?…) or fragment (#…) has no place in a host",
        ));
    }
    let (host, port) = split_host_port(hostport).map_err(|reason| invalid(&reason))?;
    let port = match port {
        None => default_port.to_owned(),
        Some(p) => match p.parse::<u16>() {
            Ok(0) => return Err(invalid("port 0 cannot be connected to")),
            Ok(n) => n.to_string(),
            Err(_) if p.is_empty() => {
                return Err(invalid("the port after `:` is empty"));
            }
            Err(_) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => {
                return Err(invalid(&format!("the port {p} is not within 1-65535")));
            }
            Err(_) => return Err(invalid(&format!("the port {p:?} is not a number"))),
        },
    };
    if let Some(c) = host.chars().find(|&c| !is_host_char(c)) {
        return Err(invalid(&format!("{c:?} cannot appear in a host name")));
    }
    // Connectable host: listening addresses (and an empty host) become loopback.
    let host = match host {
        "0.0.0.0" | "" => "127.0.0.1",
        "::" => "::1",
        h => h,
    };
    let host = if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    let path = path.trim_end_matches('/');
    let root = if path.is_empty() {
        format!("{scheme}://{host}:{port}")
    } else {
        format!("{scheme}://{host}:{port}/{path}")
    };
    // What is left (a malformed IPv6 address, a bad percent escape, …) the URL parser judges.
    url::Url::parse(&root).map_err(|e| invalid(&e.to_string()))?;
    Ok(root)
}

/// The error for a host with `user:password@`; it never repeats the value.
fn credentials_error() -> Error {
    Error::config(
        "the Ollama host carries credentials (user:password@); pass them with `Auth::basic` \
         instead — from the environment, LLMPORT_BASIC_USER and LLMPORT_BASIC_PASSWORD",
    )
}

/// Characters a host name or IP address may have (IPv6 ones without their brackets, IPv6
/// zones with `%`). Anything else would change what the URL means or could not be looked up.
fn is_host_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | ':' | '%')
}

/// Go's `net.SplitHostPort` as Ollama uses it: `host:port` or `[v6]:port` give a port; a
/// bare host, `[v6]` or an unbracketed IPv6 address (`::1`) give none. Unlike Go, a `[`
/// that is not closed or text after `]` is an error rather than a host name.
fn split_host_port(s: &str) -> std::result::Result<(&str, Option<&str>), String> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or("the `[` of an IPv6 address is not closed with `]`")?;
        return match after {
            "" => Ok((host, None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((host, Some(port))),
                None => Err(format!("{after:?} after `]` is not `:port`")),
            },
        };
    }
    match s.rsplit_once(':') {
        None => Ok((s, None)),
        // A bare IPv6 address without brackets has no port.
        Some((host, _)) if host.contains(':') => match s.parse::<std::net::Ipv6Addr>() {
            Ok(_) => Ok((s, None)),
            Err(_) => Err(
                "not a host, host:port or IPv6 address (write an IPv6 address with a port as \
                 [address]:port)"
                    .to_owned(),
            ),
        },
        Some((host, port)) => Ok((host, Some(port))),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_ollama_host;

    fn p(value: &str) -> String {
        parse_ollama_host(value).unwrap_or_else(|e| panic!("{value:?}: {e}"))
    }

    /// The reason given for an invalid value.
    fn reason(value: &str) -> String {
        match parse_ollama_host(value) {
            Ok(url) => panic!("{value:?} was accepted as {url}"),
            Err(e) => e.to_string(),
        }
    }

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
        assert_eq!(p("[::1]"), "http://[::1]:11434");
        assert_eq!(p("::1"), "http://[::1]:11434");
        assert_eq!(p("0.0.0.0"), "http://127.0.0.1:11434");
        assert_eq!(p("0.0.0.0:5000"), "http://127.0.0.1:5000");
        assert_eq!(p("\"  example.com  \""), "http://example.com:11434");
        assert_eq!(p("'1.2.3.4'"), "http://1.2.3.4:11434");
        assert_eq!(
            p("https://proxy.example.com/ollama/"),
            "https://proxy.example.com:443/ollama"
        );
        assert_eq!(p("http://"), "http://127.0.0.1:80");
    }

    #[test]
    fn values_ollama_would_silently_replace_are_errors_with_the_reason() {
        // Ollama falls back to the default port for these two.
        let r = reason("example.com:notaport");
        assert!(r.contains("\"notaport\" is not a number"), "{r}");
        let r = reason("localhost:99999");
        assert!(r.contains("99999 is not within 1-65535"), "{r}");
        let r = reason("http://host:notaport");
        assert!(r.contains("not a number"), "{r}");
        assert!(reason("localhost:").contains("empty"));
        assert!(reason(":0").contains("port 0"));
        // Ollama connects to a host named "bad" for this one.
        let r = reason("http://[bad");
        assert!(r.contains("not closed"), "{r}");
        assert!(r.contains("\"http://[bad\""), "the value is named: {r}");
        assert!(reason("[::1]x").contains("not `:port`"));
        assert!(reason("a:b:c").contains("IPv6"));
        assert!(reason("ftp://example.com").contains("http:// or https://"));
        assert!(reason("exa mple.com").contains("' '"));
        assert!(reason("example.com/v1?x=1").contains("query"));
        assert!(reason("[fe80::zz]").contains("invalid"));
    }

    #[test]
    fn credentials_are_refused_without_repeating_them() {
        for value in [
            "http://ann:s3cret@127.0.0.1:8080",
            "ann:s3cret@gpu-box",
            "https://ann:s3cret@gpu-box/ollama",
            "ftp://ann:s3cret@gpu-box",
        ] {
            let r = reason(value);
            assert!(!r.contains("s3cret"), "{r}");
            assert!(r.contains("LLMPORT_BASIC_USER"), "{r}");
            assert!(!r.contains(']'), "not garbled: {r}");
        }
    }
}
