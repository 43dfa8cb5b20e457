//! `Content-Encoding: gzip` decoded as the body arrives, for both HTTP paths (reqwest's own
//! decompression is off: see [`super::options`]).

use futures::TryStreamExt;
use http::header;

use super::body::{Body, Response};
use crate::error::Error;

/// The answer with its body decoded when the server gzip-encoded it (as reqwest does: the
/// `Content-Encoding` and `Content-Length` of the encoded body are removed). Other answers
/// are handed back as they are, without a copy or a new box.
pub(crate) fn decoded(resp: Response) -> Response {
    let gzip = resp
        .headers()
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"));
    if !gzip {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    parts.headers.remove(header::CONTENT_ENCODING);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, gunzip(body))
}

/// A gzip-encoded body, decoded as it arrives: every member of it (RFC 1952 §2.2 lets a gzip
/// file be several members one after the other, as Go and Python decode them).
fn gunzip(body: Body) -> Body {
    use tokio_util::io::{ReaderStream, StreamReader};
    let reader = StreamReader::new(body.map_err(std::io::Error::other));
    let mut decoder = async_compression::tokio::bufread::GzipDecoder::new(reader);
    decoder.multiple_members(true);
    Box::pin(ReaderStream::new(decoder).map_err(|e| {
        // An error of the body itself comes back as it was; the decoder's own is corrupt
        // data.
        let corrupt = e.kind() == std::io::ErrorKind::InvalidData;
        let source = match e.into_inner().map(|inner| inner.downcast::<Error>()) {
            Some(Ok(inner)) => return *inner,
            Some(Err(other)) => Some(other),
            None => None,
        };
        if corrupt {
            Error::Decode {
                message: "the answer's compressed body is corrupt".into(),
                source,
            }
        } else {
            Error::Stream {
                message: "the connection broke while the answer was being received".into(),
                source,
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use bytes::Bytes;
    use futures::StreamExt;

    use super::*;

    fn gzip(text: &str) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(text.as_bytes()).unwrap();
        e.finish().unwrap()
    }

    async fn decode(chunks: Vec<Vec<u8>>) -> Result<Vec<u8>, Error> {
        let body: Body = Box::pin(futures::stream::iter(
            chunks.into_iter().map(|c| Ok(Bytes::from(c))),
        ));
        let resp = http::Response::builder()
            .header(header::CONTENT_ENCODING, "gzip")
            .body(body)
            .unwrap();
        let resp = decoded(resp);
        assert!(resp.headers().get(header::CONTENT_ENCODING).is_none());
        let mut out = Vec::new();
        let mut body = resp.into_body();
        while let Some(chunk) = body.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out)
    }

    #[tokio::test]
    async fn every_gzip_member_is_decoded() {
        let mut two = gzip("hello, ");
        two.extend(gzip("world"));
        assert_eq!(decode(vec![two.clone()]).await.unwrap(), b"hello, world");
        // Split in the middle of the second member's header.
        let cut = gzip("hello, ").len() + 3;
        let (a, b) = two.split_at(cut);
        assert_eq!(
            decode(vec![a.to_vec(), b.to_vec()]).await.unwrap(),
            b"hello, world"
        );
    }

    #[tokio::test]
    async fn corrupt_gzip_is_a_decode_error() {
        let mut bad = gzip("hello");
        let n = bad.len();
        bad[n / 2] ^= 0xff;
        bad[n - 5] ^= 0xff;
        let e = decode(vec![bad]).await.unwrap_err();
        assert!(matches!(e, Error::Decode { .. }), "{e:?}");
    }
}
