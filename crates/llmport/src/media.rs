//! Media: what a part's bytes are and how they travel — MIME types (normalised, text or
//! not), image types sniffed from the bytes, `file://` URIs read from disk and `data:` URIs.
//!
//! Provider-neutral: both wire formats (Chat Completions and Ollama's native chat) inline
//! images, and both need to know whether a part is text. The type a caller (or a file
//! name) claims is not trusted for images: a text file named `cat.png` must not go out as
//! `image/png`, so [`sniff_image`] reads the magic bytes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::error::{Error, Result};

/// The image type `bytes` start with, from their magic numbers: `image/png`, `image/jpeg`,
/// `image/gif`, `image/webp`, `image/bmp`, `image/tiff`, `image/x-icon`, `image/avif`,
/// `image/heic`; `None` when the bytes are not one of these.
///
/// ```
/// use llmport::media::sniff_image;
/// assert_eq!(sniff_image(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), Some("image/png"));
/// assert_eq!(sniff_image(b"GIF89a\x01\0\x01\0"), Some("image/gif"));
/// assert_eq!(sniff_image(b"hello, I am text"), None);
/// ```
pub fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    const SIGNATURES: &[(&[u8], &str)] = &[
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        (b"BM", "image/bmp"),
        (b"II*\0", "image/tiff"),
        (b"MM\0*", "image/tiff"),
        (b"\0\0\x01\0", "image/x-icon"),
    ];
    if let Some((_, mime)) = SIGNATURES.iter().find(|(sig, _)| bytes.starts_with(sig)) {
        return Some(mime);
    }
    // RIFF containers: `RIFF <size:4> WEBP`.
    if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        return Some("image/webp");
    }
    // ISO base media files: `<size:4> ftyp <brand:4>`.
    if bytes.get(4..8) == Some(b"ftyp") {
        return match bytes.get(8..12) {
            Some(b"avif" | b"avis") => Some("image/avif"),
            Some(b"heic" | b"heix" | b"mif1" | b"msf1") => Some("image/heic"),
            _ => None,
        };
    }
    None
}

/// The type an image part is sent as: the sniffed type when the bytes are a known image,
/// whatever `declared` says; an error when `declared` claims an image but the bytes are
/// none (`what` names the part for the message, e.g. a file path).
pub(crate) fn image_type(declared: &str, bytes: &[u8], what: &str) -> Result<&'static str> {
    sniff_image(bytes).ok_or_else(|| {
        Error::config(format!(
            "{what} is said to be {declared} but its bytes are not a PNG, JPEG, GIF, WebP, \
             BMP, TIFF, ICO, AVIF or HEIC image: attach a real image file"
        ))
    })
}

/// MIME types that are sent as text.
pub(crate) fn is_text_mime(mime: &str) -> bool {
    let base = mime.split(';').next().unwrap_or("").trim();
    base.starts_with("text/") || base == "application/json" || base.ends_with("+json")
}

/// A MIME type as it is sent: trimmed and lower-case (MIME types are case-insensitive, but
/// Ollama matches `data:image/png;base64,` byte for byte).
pub(crate) fn normalize_mime(mime: &str) -> String {
    mime.trim().to_ascii_lowercase()
}

/// `data:<mime>;base64,<standard padded base64>` — the only image form every
/// OpenAI-compatible server (Ollama included) accepts.
pub(crate) fn data_uri(mime: &str, data: &[u8]) -> String {
    let prefix = format!("data:{};base64,", normalize_mime(mime));
    let mut s = String::with_capacity(prefix.len() + data.len().div_ceil(3) * 4);
    s.push_str(&prefix);
    STANDARD.encode_string(data, &mut s);
    s
}

/// The bytes of the local file a `file://` URI names.
pub(crate) fn read_file_uri(uri: &str) -> Result<Vec<u8>> {
    let url = url::Url::parse(uri)
        .map_err(|e| Error::config(format!("invalid file URI {uri:?}: {e}")))?;
    let path = url
        .to_file_path()
        .map_err(|()| Error::config(format!("the file URI {uri:?} is not a local path")))?;
    std::fs::read(&path).map_err(|e| Error::Config {
        setting: None,
        message: format!("cannot read {}", path.display()),
        source: Some(Box::new(e)),
    })
}

/// The image type of the local file a `file://` URI names, from its first bytes only (to
/// check an image before the request is built, without reading it whole).
pub(crate) fn sniff_file_uri(uri: &str, declared: &str) -> Result<&'static str> {
    use std::io::Read;
    let url = url::Url::parse(uri)
        .map_err(|e| Error::config(format!("invalid file URI {uri:?}: {e}")))?;
    let path = url
        .to_file_path()
        .map_err(|()| Error::config(format!("the file URI {uri:?} is not a local path")))?;
    let mut head = Vec::with_capacity(16);
    std::fs::File::open(&path)
        .and_then(|f| f.take(16).read_to_end(&mut head))
        .map_err(|e| Error::Config {
            setting: None,
            message: format!("cannot read {}", path.display()),
            source: Some(Box::new(e)),
        })?;
    image_type(declared, &head, &format!("the file {uri}"))
}

/// The local image a `file://` URI names, with the type its bytes show (see
/// [`image_type`]).
pub(crate) fn read_image_uri(uri: &str, declared: &str) -> Result<(Vec<u8>, &'static str)> {
    let bytes = read_file_uri(uri)?;
    let mime = image_type(declared, &bytes, &format!("the file {uri}"))?;
    Ok((bytes, mime))
}

/// The declared type and the base64 payload of a `data:<mime>;base64,<payload>` URI; `None`
/// for any other URI, or a `data:` URI that is not base64.
pub(crate) fn base64_data_uri(uri: &str) -> Option<(&str, &str)> {
    let (header, payload) = uri.strip_prefix("data:")?.split_once(',')?;
    Some((header.strip_suffix(";base64")?, payload))
}

/// The image a `data:<mime>;base64,<data>` URI holds, with the type its bytes show (see
/// [`image_type`]).
#[cfg_attr(
    not(feature = "local"),
    allow(dead_code, reason = "read by the local engine only")
)]
pub(crate) fn read_image_data_uri(uri: &str, declared: &str) -> Result<(Vec<u8>, &'static str)> {
    let not_base64 = || Error::config("an image's data: URI is not data:<mime>;base64,<data>");
    let (own, payload) = base64_data_uri(uri).ok_or_else(not_base64)?;
    let bytes = STANDARD.decode(payload.trim()).map_err(|_| not_base64())?;
    let declared = if own.is_empty() { declared } else { own };
    let mime = image_type(declared, &bytes, "the data: URI's image")?;
    Ok((bytes, mime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_uri_gives_its_image_and_anything_else_is_refused() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        let uri = data_uri("image/png", png);
        let (bytes, mime) = read_image_data_uri(&uri, "").unwrap();
        assert_eq!((bytes.as_slice(), mime), (&png[..], "image/png"));
        for bad in [
            "data:image/png,plain",
            "data:image/png;base64,***",
            "data:image/png;base64",
            &data_uri("image/png", b"not an image at all"),
        ] {
            let e = read_image_data_uri(bad, "image/png").unwrap_err();
            assert!(matches!(e, Error::Config { .. }), "{bad}: {e:?}");
        }
    }

    #[test]
    fn sniffs_the_common_image_types_and_nothing_else() {
        assert_eq!(
            sniff_image(b"\xff\xd8\xff\xe0\0\x10JFIF"),
            Some("image/jpeg")
        );
        assert_eq!(sniff_image(b"RIFF\x24\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff_image(b"RIFF\x24\0\0\0WAVEfmt "), None);
        assert_eq!(sniff_image(b"BM\x36\0"), Some("image/bmp"));
        assert_eq!(sniff_image(b"\0\0\0\x1cftypavif"), Some("image/avif"));
        assert_eq!(sniff_image(b"\0\0\0\x1cftypisom"), None);
        assert_eq!(sniff_image(b""), None);
        assert_eq!(sniff_image(b"\x89PN"), None);
        assert!(image_type("image/png", b"not an image", "x.png").is_err());
    }
}
