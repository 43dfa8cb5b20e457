//! Which redirects are followed, and how the request changes on the way: the policy for both
//! HTTP paths (reqwest's own redirect policy is `none`, as xh does it).

use http::{HeaderMap, Method, StatusCode, header};

/// The most redirects followed for one request.
pub(crate) const MAX_REDIRECTS: usize = 10;

/// The next hop of a redirect answer, if it is followed: a 301, 302, 303, 307 or 308 with a
/// `Location` within the same scheme, host and port, and fewer than [`MAX_REDIRECTS`] hops so
/// far. A redirect elsewhere is not followed (the 3xx answer becomes an error): reqwest would
/// drop `Authorization` on the way, but not an API key in a header of the gateway's choosing,
/// nor the prompt in the body, and neither should reach a server the caller did not
/// configure.
pub(crate) fn next_hop(
    status: StatusCode,
    headers: &HeaderMap,
    from: &url::Url,
    hops: usize,
) -> Option<url::Url> {
    if !matches!(
        status,
        StatusCode::MOVED_PERMANENTLY
            | StatusCode::FOUND
            | StatusCode::SEE_OTHER
            | StatusCode::TEMPORARY_REDIRECT
            | StatusCode::PERMANENT_REDIRECT
    ) || hops >= MAX_REDIRECTS
    {
        return None;
    }
    let location = headers.get(header::LOCATION)?.to_str().ok()?;
    from.join(location)
        .ok()
        .filter(|next| same_origin(from, next))
}

/// Whether the redirected request becomes a `GET` without a body, as reqwest (and browsers)
/// do it: after a 303 (unless the request was a `HEAD`), and after a 301 or 302 answering a
/// `POST`; 307 and 308 repeat the request as it was.
pub(crate) fn becomes_get(status: StatusCode, method: &Method) -> bool {
    status == StatusCode::SEE_OTHER && method != Method::HEAD
        || matches!(status, StatusCode::MOVED_PERMANENTLY | StatusCode::FOUND)
            && method == Method::POST
}

/// Whether two URLs have the same scheme, host and port.
fn same_origin(a: &url::Url, b: &url::Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    #[test]
    fn same_origin_compares_scheme_host_and_port() {
        assert!(same_origin(&u("http://h:80/a"), &u("http://h/b")));
        assert!(!same_origin(&u("http://h:8080/a"), &u("http://h:8081/a")));
        assert!(!same_origin(&u("http://h/a"), &u("https://h/a")));
        assert!(!same_origin(&u("http://h/a"), &u("http://h2/a")));
    }

    #[test]
    fn only_same_origin_redirects_are_followed_at_most_ten_times() {
        let mut h = HeaderMap::new();
        h.insert(header::LOCATION, "/v1/next".parse().unwrap());
        let from = u("http://h:1/v1/x");
        assert_eq!(
            next_hop(StatusCode::FOUND, &h, &from, 0),
            Some(u("http://h:1/v1/next"))
        );
        assert_eq!(next_hop(StatusCode::FOUND, &h, &from, MAX_REDIRECTS), None);
        assert_eq!(next_hop(StatusCode::OK, &h, &from, 0), None);
        h.insert(header::LOCATION, "http://elsewhere/v1".parse().unwrap());
        assert_eq!(next_hop(StatusCode::TEMPORARY_REDIRECT, &h, &from, 0), None);
    }

    #[test]
    fn methods_change_as_reqwest_changes_them() {
        assert!(becomes_get(StatusCode::SEE_OTHER, &Method::POST));
        assert!(becomes_get(StatusCode::SEE_OTHER, &Method::DELETE));
        assert!(!becomes_get(StatusCode::SEE_OTHER, &Method::HEAD));
        assert!(becomes_get(StatusCode::FOUND, &Method::POST));
        assert!(becomes_get(StatusCode::MOVED_PERMANENTLY, &Method::POST));
        assert!(!becomes_get(StatusCode::FOUND, &Method::DELETE));
        assert!(!becomes_get(StatusCode::TEMPORARY_REDIRECT, &Method::POST));
        assert!(!becomes_get(StatusCode::PERMANENT_REDIRECT, &Method::POST));
    }
}
