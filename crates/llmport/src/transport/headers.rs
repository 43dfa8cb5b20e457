//! The headers every request carries, written once for both HTTP paths: `User-Agent`,
//! `Accept`, `Accept-Encoding`, then the caller's extra headers and static credentials.
//! Extra headers that would break HTTP framing or hop-by-hop semantics are refused here.

use http::{HeaderMap, HeaderName, HeaderValue, header};

use crate::error::{Error, Result};

/// Headers an extra header may not set: they describe the message's framing
/// (`Content-Length`, `Transfer-Encoding`, `Trailer`), the connection (`Connection`,
/// `Keep-Alive`, `Upgrade`, `TE`, `Host`) or a proxy hop (`Proxy-*`), which the HTTP client
/// decides. Sent anyway they cut a body short (`Content-Length: 3`), announce an encoding
/// the body does not have (`Transfer-Encoding: gzip`), or confuse a proxy.
const FORBIDDEN: [HeaderName; 8] = [
    header::CONTENT_LENGTH,
    header::TRANSFER_ENCODING,
    header::CONNECTION,
    header::HOST,
    header::UPGRADE,
    header::TE,
    header::TRAILER,
    HeaderName::from_static("keep-alive"),
];

/// Refuses extra headers the HTTP client must decide itself (see [`FORBIDDEN`]).
pub(crate) fn check_extra(headers: &HeaderMap) -> Result<()> {
    for name in headers.keys() {
        if FORBIDDEN.contains(name) || name.as_str().starts_with("proxy-") {
            return Err(Error::config(format!(
                "the header {name} cannot be set as an extra header: it belongs to HTTP's \
                 framing or to one connection hop, which the HTTP client decides (remove it)"
            )));
        }
    }
    Ok(())
}

/// What every request carries: `User-Agent`, `Accept: */*`, `Accept-Encoding: gzip` (the
/// transport decodes gzip itself, see [`super::decompress`]), then `fixed` (extra headers
/// and static credentials), which win over the defaults.
pub(crate) fn defaults(user_agent: &str, fixed: &HeaderMap) -> Result<HeaderMap> {
    // `new`, not `with_capacity(3 + …)`: a clone keeps the index table's size, and a table
    // sized to the entries would have to grow (one more allocation per request) when
    // `Content-Type` is added to the clone.
    let mut headers = HeaderMap::new();
    let ua = HeaderValue::from_str(user_agent).map_err(|_| {
        Error::config(format!(
            "the user agent {user_agent:?} has characters not allowed in HTTP headers"
        ))
    })?;
    headers.insert(header::USER_AGENT, ua);
    headers.insert(header::ACCEPT, HeaderValue::from_static("*/*"));
    headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
    for name in fixed.keys() {
        headers.remove(name);
    }
    for (name, value) in fixed {
        headers.append(name.clone(), value.clone());
    }
    Ok(headers)
}

/// Validates extra headers.
pub(crate) fn header_map(pairs: &[(String, String)]) -> Result<HeaderMap> {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        let n = HeaderName::from_bytes(name.trim().as_bytes())
            .map_err(|_| Error::config_for("header", format!("invalid header name {name:?}")))?;
        let v = HeaderValue::from_str(value.trim()).map_err(|_| {
            Error::config_for(
                "header",
                format!("the value of header {name} has characters not allowed in HTTP headers"),
            )
        })?;
        map.append(n, v);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_and_hop_by_hop_headers_are_refused() {
        for name in [
            "content-length",
            "Transfer-Encoding",
            "connection",
            "host",
            "upgrade",
            "te",
            "trailer",
            "keep-alive",
            "proxy-authorization",
            "Proxy-Connection",
        ] {
            let mut h = HeaderMap::new();
            h.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_static("1"),
            );
            let e = check_extra(&h).unwrap_err();
            assert!(matches!(e, Error::Config { .. }), "{name}: {e:?}");
            assert!(e.to_string().contains(&name.to_ascii_lowercase()), "{e}");
        }
        let mut ok = HeaderMap::new();
        ok.insert("x-request-source", HeaderValue::from_static("ci"));
        ok.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        check_extra(&ok).unwrap();
    }

    #[test]
    fn extra_headers_win_over_the_defaults_and_keep_every_value() {
        let mut fixed = HeaderMap::new();
        fixed.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        fixed.append("x-tag", HeaderValue::from_static("a"));
        fixed.append("x-tag", HeaderValue::from_static("b"));
        let h = defaults("llmport/test", &fixed).unwrap();
        assert_eq!(h[header::ACCEPT], "application/json");
        assert_eq!(h[header::USER_AGENT], "llmport/test");
        assert_eq!(h.get_all("x-tag").iter().count(), 2);
        assert!(defaults("bad\nagent", &HeaderMap::new()).is_err());
    }
}
