//! What the server received ([`RecordedRequest`]).

use bytes::Bytes;
use serde_json::Value;

/// A request as the server received it.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedRequest {
    /// The method, e.g. `"POST"`.
    pub method: String,
    /// The path with its query string, e.g. `"/api/tags?x=1"`.
    pub path: String,
    /// The headers, names lower-cased, in arrival order (values of a repeated
    /// header follow its first occurrence).
    pub headers: Vec<(String, String)>,
    /// The exact body bytes (as much as arrived, if the client broke off).
    pub body: Bytes,
}

impl RecordedRequest {
    /// The body parsed as JSON; [`Value::Null`] when the body is empty.
    pub fn json(&self) -> Result<Value, serde_json::Error> {
        if self.body.is_empty() {
            Ok(Value::Null)
        } else {
            serde_json::from_slice(&self.body)
        }
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The first value of a header, the name compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path without its query string.
    pub fn path_only(&self) -> &str {
        strip_query(&self.path)
    }

    /// The query string (without `?`), if any.
    pub fn query(&self) -> Option<&str> {
        self.path.split_once('?').map(|(_, q)| q)
    }
}

pub(super) fn strip_query(path: &str) -> &str {
    path.split_once('?').map_or(path, |(p, _)| p)
}
