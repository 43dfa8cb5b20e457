//! Ollama's own model store: a model name → the GGUF blob Ollama pulled, with the manifest's
//! parameters and system prompt.
//!
//! Layout (`OLLAMA_MODELS`, else `~/.ollama/models`):
//! `manifests/<registry>/<namespace>/<model>/<tag>` is a JSON manifest whose layers name blobs
//! by digest; `blobs/sha256-<hex>` holds each blob. Name rules are Ollama's: `llama3.2` is
//! `registry.ollama.ai/library/llama3.2:latest`, `me/m:q4` is `registry.ollama.ai/me/m:q4`.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

const DEFAULT_REGISTRY: &str = "registry.ollama.ai";
const DEFAULT_NAMESPACE: &str = "library";
const DEFAULT_TAG: &str = "latest";
const MODEL_LAYER: &str = "application/vnd.ollama.image.model";
const PARAMS_LAYER: &str = "application/vnd.ollama.image.params";
const SYSTEM_LAYER: &str = "application/vnd.ollama.image.system";
const PROJECTOR_LAYER: &str = "application/vnd.ollama.image.projector";
/// A manifest or a params/system layer larger than this is not Ollama's: refuse it rather
/// than read it whole.
const MAX_SMALL_FILE: u64 = 1 << 20;

/// A model found in Ollama's store.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredModel {
    /// The fully qualified name, e.g. `registry.ollama.ai/library/llama3.2:latest`.
    pub name: String,
    /// The GGUF file (a blob of the store).
    pub gguf: PathBuf,
    /// The manifest's parameters layer (`temperature`, `stop`, `num_ctx`, …), if any.
    pub params: Map<String, Value>,
    /// The manifest's system prompt layer, if any.
    pub system: Option<String>,
    /// The manifest's vision projector layer (an `mmproj` GGUF blob), if any: the model
    /// can then be sent images.
    pub projector: Option<PathBuf>,
}

/// The store's directory: `OLLAMA_MODELS`, else `~/.ollama/models` (`None` when neither is
/// known).
pub fn default_store_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("OLLAMA_MODELS").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    let home = std::env::var_os("HOME").or_else(|| std::env::var_os("USERPROFILE"))?;
    Some(Path::new(&home).join(".ollama").join("models"))
}

/// A model name split by Ollama's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ModelName {
    registry: String,
    namespace: String,
    model: String,
    tag: String,
}

impl ModelName {
    fn parse(name: &str) -> Result<ModelName> {
        let bad = |why: &str| {
            Error::config_for(
                "model",
                format!(
                    "{name:?} is not an Ollama model name ({why}): write `model`, `model:tag`, \
                     `namespace/model:tag` or `registry/namespace/model:tag`, or give the path \
                     of a .gguf file"
                ),
            )
        };
        let name = name.trim();
        // The tag follows the last ':' after the last '/' (a registry may carry a port).
        let (path, tag) = match name.rsplit_once(':') {
            Some((p, t)) if !t.contains('/') => (p, t),
            _ => (name, DEFAULT_TAG),
        };
        let parts: Vec<&str> = path.split('/').collect();
        let (registry, namespace, model) = match parts.as_slice() {
            [m] => (DEFAULT_REGISTRY, DEFAULT_NAMESPACE, *m),
            [ns, m] => (DEFAULT_REGISTRY, *ns, *m),
            [r, ns, m] => (*r, *ns, *m),
            _ => return Err(bad("too many '/'")),
        };
        for (what, part, extra) in [
            ("registry", registry, ":"),
            ("namespace", namespace, ""),
            ("model", model, ""),
            ("tag", tag, ""),
        ] {
            let ok = !part.is_empty()
                && part != "."
                && part != ".."
                && !part.starts_with('.')
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c) || extra.contains(c));
            if !ok {
                return Err(bad(&format!(
                    "the {what} {part:?} is empty or has characters Ollama does not allow"
                )));
            }
        }
        Ok(ModelName {
            registry: registry.to_owned(),
            namespace: namespace.to_owned(),
            model: model.to_owned(),
            tag: tag.to_owned(),
        })
    }

    fn manifest_path(&self, store: &Path) -> PathBuf {
        store
            .join("manifests")
            .join(&self.registry)
            .join(&self.namespace)
            .join(&self.model)
            .join(&self.tag)
    }

    fn full(&self) -> String {
        format!(
            "{}/{}/{}:{}",
            self.registry, self.namespace, self.model, self.tag
        )
    }
}

#[derive(Deserialize)]
struct Manifest {
    #[serde(default)]
    layers: Vec<Layer>,
}

#[derive(Deserialize)]
struct Layer {
    #[serde(rename = "mediaType")]
    media_type: String,
    digest: String,
}

/// Finds `name` in the store at `store`.
///
/// A name that is not there is an [`Error::Config`] naming the manifest looked for and
/// saying `ollama pull` brings it; a manifest or blob that is damaged is one too.
pub fn resolve(store: &Path, name: &str) -> Result<StoredModel> {
    let parsed = ModelName::parse(name)?;
    let manifest_path = parsed.manifest_path(store);
    if !manifest_path.is_file() {
        return Err(Error::config_for(
            "model",
            format!(
                "model {name:?} is not in Ollama's model store ({} does not exist): pull it \
                 with `ollama pull {name}`, set OLLAMA_MODELS to the store that has it, or give \
                 the path of a .gguf file",
                manifest_path.display()
            ),
        ));
    }
    let text = read_small(&manifest_path)?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| {
        Error::config_for(
            "model",
            format!(
                "the manifest {} of {name:?} is not valid JSON ({e}): pull the model again \
                 with `ollama pull {name}`",
                manifest_path.display()
            ),
        )
    })?;
    let mut gguf = None;
    let mut params = Map::new();
    let mut system = None;
    let mut projector = None;
    for layer in &manifest.layers {
        match layer.media_type.as_str() {
            MODEL_LAYER => gguf = Some(blob_path(store, &layer.digest)?),
            PARAMS_LAYER => {
                let text = read_small(&blob_path(store, &layer.digest)?)?;
                if let Ok(Value::Object(map)) = serde_json::from_str(&text) {
                    params = map;
                }
            }
            SYSTEM_LAYER => system = Some(read_small(&blob_path(store, &layer.digest)?)?),
            PROJECTOR_LAYER => projector = Some(blob_path(store, &layer.digest)?),
            _ => {}
        }
    }
    let gguf = gguf.ok_or_else(|| {
        Error::config_for(
            "model",
            format!(
                "the manifest {} of {name:?} has no {MODEL_LAYER} layer: pull the model again \
                 with `ollama pull {name}`",
                manifest_path.display()
            ),
        )
    })?;
    if !gguf.is_file() {
        return Err(Error::config_for(
            "model",
            format!(
                "the model blob {} of {name:?} is missing: pull the model again with \
                 `ollama pull {name}`",
                gguf.display()
            ),
        ));
    }
    Ok(StoredModel {
        name: parsed.full(),
        gguf,
        params,
        system,
        projector,
    })
}

/// `sha256:<64 hex>` → `blobs/sha256-<hex>`; anything else is refused (a digest is never a
/// path).
fn blob_path(store: &Path, digest: &str) -> Result<PathBuf> {
    let hex = digest.strip_prefix("sha256:").unwrap_or_default();
    if hex.len() != 64 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::config_for(
            "model",
            format!("the manifest names a blob by {digest:?}, which is not a sha256 digest"),
        ));
    }
    Ok(store.join("blobs").join(format!("sha256-{hex}")))
}

fn read_small(path: &Path) -> Result<String> {
    let fail = |e: &dyn std::fmt::Display| {
        Error::config_for(
            "model",
            format!("cannot read {} of Ollama's store: {e}", path.display()),
        )
    };
    let len = std::fs::metadata(path).map_err(|e| fail(&e))?.len();
    if len > MAX_SMALL_FILE {
        return Err(fail(&format!(
            "{len} bytes is too large for a manifest or a layer of text"
        )));
    }
    std::fs::read_to_string(path).map_err(|e| fail(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_ollamas_rules() {
        let n = ModelName::parse("llama3.2").unwrap();
        assert_eq!(n.full(), "registry.ollama.ai/library/llama3.2:latest");
        let n = ModelName::parse("me/m:q4").unwrap();
        assert_eq!(n.full(), "registry.ollama.ai/me/m:q4");
        let n = ModelName::parse("localhost:5000/ns/m:v1").unwrap();
        assert_eq!(n.full(), "localhost:5000/ns/m:v1");
        let n = ModelName::parse("localhost:5000/ns/m").unwrap();
        assert_eq!(n.tag, "latest");
        for bad in ["", "../x", "a/b/c/d", "m:..", "m:", "x/../../etc"] {
            assert!(ModelName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_digest_is_never_a_path() {
        let store = Path::new("/s");
        assert!(blob_path(store, "sha256:../../etc/passwd").is_err());
        assert!(blob_path(store, "md5:abc").is_err());
        let hex = "a".repeat(64);
        assert_eq!(
            blob_path(store, &format!("sha256:{hex}")).unwrap(),
            Path::new("/s/blobs").join(format!("sha256-{hex}"))
        );
    }

    #[test]
    fn a_missing_model_says_how_to_pull_it() {
        let dir = tempfile::tempdir().unwrap();
        let e = resolve(dir.path(), "nothere").unwrap_err().to_string();
        assert!(e.contains("ollama pull nothere"), "{e}");
    }
}
