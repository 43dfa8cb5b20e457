//! Secrets kept out of messages and logs: URLs shown without their user name and password.
//!
//! A neutral home: the transport, the credentials (`auth`) and the settings' `Debug` all word
//! URLs, and none of them should depend on another for it.

/// A URL with any user name and password removed, for messages and logs.
pub(crate) fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if !u.username().is_empty() || u.password().is_some() {
                let _ = u.set_username("");
                let _ = u.set_password(None);
            }
            let s = u.to_string();
            // Url adds a trailing slash to bare hosts; keep the caller's form.
            if !url.ends_with('/') && s.ends_with('/') && u.path() == "/" {
                s.trim_end_matches('/').to_owned()
            } else {
                s
            }
        }
        Err(_) => mask_userinfo(url),
    }
}

/// For strings that do not parse as URLs: hide anything that looks like `user:pass@`.
fn mask_userinfo(s: &str) -> String {
    let start = s.find("://").map_or(0, |i| i + 3);
    let (scheme, rest) = s.split_at(start.min(s.len()));
    let authority = rest.split('/').next().unwrap_or(rest);
    match authority.rfind('@') {
        Some(at) => format!("{scheme}***@{}", rest.get(at + 1..).unwrap_or("")),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_credentials() {
        assert_eq!(
            redact_url("http://user:secret@example.com:8080/v1"),
            "http://example.com:8080/v1"
        );
        assert_eq!(
            redact_url("http://localhost:11434"),
            "http://localhost:11434"
        );
        assert_eq!(redact_url("not a url"), "not a url");
        assert_eq!(
            redact_url("http://user:secret@exa mple.com/v1"),
            "http://***@exa mple.com/v1"
        );
    }
}
