//! Ollama's blob store (`HEAD`/`POST /api/blobs/sha256:<hex>`): the files a
//! [`create`](OllamaProvider::create) refers to by digest must be on the server first.
//!
//! A model file is hashed and sent streamed from disk, never read whole into memory (it can
//! be larger than the machine's memory). The digest is always spelled `sha256:<64 lowercase
//! hex>`: the server compares the path with the digest it computes verbatim, so any other
//! spelling of the right digest is refused as a mismatch.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::OllamaProvider;
use crate::error::{Error, Result};
use crate::transport::{Request, Upload};

/// The size of the pieces a file is hashed in.
const HASH_CHUNK: usize = 1024 * 1024;

/// The SHA-256 digest of a local file, as Ollama names blobs: `sha256:<64 lowercase hex>`.
/// The file is read in 1 MiB pieces on a blocking thread, never whole.
///
/// ```no_run
/// # async fn run() -> llmport::Result<()> {
/// let digest = llmport::ollama::file_digest(std::path::Path::new("model.gguf")).await?;
/// assert!(digest.starts_with("sha256:"));
/// # Ok(()) }
/// ```
pub async fn file_digest(path: &Path) -> Result<String> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || hash_file(&path))
        .await
        .map_err(|e| Error::Config {
            setting: None,
            message: "hashing the file was interrupted".into(),
            source: Some(Box::new(e)),
        })?
}

fn hash_file(path: &Path) -> Result<String> {
    let cannot = |e: std::io::Error| Error::Config {
        setting: None,
        message: format!("cannot read {}: {e}", path.display()),
        source: Some(Box::new(e)),
    };
    let mut file = std::fs::File::open(path).map_err(cannot)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; HASH_CHUNK];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(buf.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(cannot(e)),
        }
    }
    Ok(format!("sha256:{:x}", hasher.finalize()))
}

/// `digest` in the one spelling the server accepts, `sha256:<64 lowercase hex>`; the
/// `sha256-` form and upper-case hex are rewritten, anything else is an [`Error::Config`]
/// naming `setting`.
pub(super) fn canonical_digest(digest: &str, setting: &str) -> Result<String> {
    let hex = digest
        .trim()
        .strip_prefix("sha256:")
        .or_else(|| digest.trim().strip_prefix("sha256-"))
        .unwrap_or("");
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::config_for(
            setting,
            format!(
                "{digest:?} is not a blob digest: use sha256:<64 hex digits>, as \
                 llmport::ollama::file_digest computes it"
            ),
        ));
    }
    Ok(format!("sha256:{}", hex.to_ascii_lowercase()))
}

impl OllamaProvider {
    /// Whether the server has the blob `digest` (`HEAD /api/blobs/<digest>`: 200 yes, 404
    /// no).
    pub async fn has_blob(&self, digest: &str) -> Result<bool> {
        let digest = canonical_digest(digest, "digest")?;
        let path = format!("api/blobs/{digest}");
        match self.native.send(&Request::head(&path)).await {
            Ok(_) => Ok(true),
            Err(e) if e.status() == Some(404) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Uploads the file at `path` as the blob `digest` (`POST /api/blobs/<digest>`), streamed
    /// from disk. Returns `true` when the server stored it (201), `false` when it had the
    /// blob already and did not read the upload (200). Bytes that do not hash to `digest`
    /// are refused by the server (400 `digest mismatch`). A retry sends the file again from
    /// its start.
    pub async fn upload_blob(&self, digest: &str, path: &Path) -> Result<bool> {
        let digest = canonical_digest(digest, "digest")?;
        let len = std::fs::metadata(path)
            .map_err(|e| Error::Config {
                setting: None,
                message: format!("cannot read {}: {e}", path.display()),
                source: Some(Box::new(e)),
            })?
            .len();
        let api_path = format!("api/blobs/{digest}");
        let req = Request::post_file(&api_path, Upload::file(path, len), None);
        let resp = self.native.send(&req).await?;
        Ok(resp.status() == http::StatusCode::CREATED)
    }

    /// Makes sure the server has the file at `path` as a blob: hashes it, asks whether the
    /// server has it ([`has_blob`](Self::has_blob)), and uploads it only if not. Returns its
    /// digest, for [`CreateOptionsBuilder::file`](super::CreateOptionsBuilder::file).
    pub async fn ensure_blob(&self, path: &Path) -> Result<String> {
        let digest = file_digest(path).await?;
        if !self.has_blob(&digest).await? {
            self.upload_blob(&digest, path).await?;
        }
        Ok(digest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_spelled_as_the_server_compares_them() {
        let hex = "D2A40D7BBD3FBBD1C3B1B4AC4A4B7B0AD31D8CFDBE80F2B3F4FA2B6F6A1B47C9";
        let want = format!("sha256:{}", hex.to_ascii_lowercase());
        assert_eq!(
            canonical_digest(&format!("sha256-{hex}"), "d").unwrap(),
            want
        );
        assert_eq!(
            canonical_digest(&format!("sha256:{hex}"), "d").unwrap(),
            want
        );
        let e = canonical_digest("sha256:abc", "CreateOptions::file").unwrap_err();
        assert_eq!(e.setting(), Some("CreateOptions::file"));
        assert!(canonical_digest(hex, "d").is_err());
    }

    #[test]
    fn a_file_hashes_to_its_sha256() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"abc").unwrap();
        assert_eq!(
            hash_file(&path).unwrap(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
