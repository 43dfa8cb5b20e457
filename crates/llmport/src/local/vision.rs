//! Images: a model's vision projector (an `mmproj` GGUF) run by llama.cpp's multimodal
//! library, `mtmd`.
//!
//! The conversation is rendered by the model's own chat template with each image replaced
//! by `mtmd`'s media marker; `mtmd` then tokenizes that prompt into chunks — text tokens and
//! image chunks, each image decoded (`stb_image`), resized and encoded by the projector into
//! embeddings that take their own positions in the context — and the worker evaluates the
//! chunks in place of the prompt's tokens. A model without a projector refuses images with
//! [`Error::Unsupported`] rather than dropping them.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use llama_cpp_2::context::LlamaContext;
use llama_cpp_2::model::LlamaModel;
use llama_cpp_2::mtmd::{
    MtmdBitmap, MtmdContext, MtmdContextParams, MtmdInputChunks, MtmdInputText, mtmd_default_marker,
};

use crate::error::{Error, Result};
use crate::message::{Message, Part};

use super::PROVIDER;

/// A loaded projector. Tokenizing is thread-safe in `mtmd`; encoding an image is not, so
/// the workers of one model take turns on it (the text model's decoding is not held up:
/// each worker has its own llama.cpp context).
pub(crate) struct Projector {
    ctx: Mutex<MtmdContext>,
    path: PathBuf,
}

/// A prompt with images, tokenized into chunks, for a worker to evaluate.
pub(crate) struct MediaPrompt {
    pub(crate) chunks: MtmdInputChunks,
    pub(crate) projector: Arc<Projector>,
}

/// The conversation with each image replaced by the media marker, and the images in order.
pub(crate) struct WithMarkers {
    pub(crate) messages: Vec<Message>,
    pub(crate) images: Vec<Bytes>,
}

impl Projector {
    /// Loads the projector at `path` for `model` (`name` is how errors call the model).
    pub(crate) fn load(path: &Path, model: &LlamaModel, threads: i32, name: &str) -> Result<Self> {
        let refused = |why: String| {
            Error::config_for(
                "projector",
                format!(
                    "the vision projector {} of {name} cannot be loaded: {why} — fetch it again \
                     (`ollama pull`, or the model's mmproj GGUF), or give the one made for this \
                     model",
                    path.display()
                ),
            )
        };
        super::check_gguf_magic(path).map_err(refused)?;
        let path_str = path
            .to_str()
            .ok_or_else(|| refused("its path is not UTF-8".into()))?;
        let params = MtmdContextParams {
            use_gpu: false,
            print_timings: false,
            n_threads: threads,
            ..MtmdContextParams::default()
        };
        let ctx = MtmdContext::init_from_file(path_str, model, &params).map_err(|e| {
            refused(format!(
                "llama.cpp refused it ({e}): it is damaged, of a kind this llama.cpp does not \
                 know, or made for another model (its output width must be the model's)"
            ))
        })?;
        if !ctx.support_vision() {
            return Err(refused("it has no vision encoder".into()));
        }
        Ok(Projector {
            ctx: Mutex::new(ctx),
            path: path.to_path_buf(),
        })
    }

    /// Tokenizes `prompt` (rendered with one media marker per image) and decodes `images`.
    pub(crate) fn tokenize(
        &self,
        prompt: &str,
        images: &[Bytes],
        add_special: bool,
    ) -> Result<MtmdInputChunks> {
        let ctx = self
            .ctx
            .lock()
            .map_err(|_| Error::stream("the vision projector failed in another request"))?;
        let mut bitmaps = Vec::with_capacity(images.len());
        for (i, data) in images.iter().enumerate() {
            let bitmap = MtmdBitmap::from_buffer(&ctx, data, false).map_err(|_| {
                Error::unsupported(
                    PROVIDER,
                    format!("image {} of the conversation", i + 1),
                    "it could not be decoded: the local engine reads JPEG, PNG, BMP, GIF, TGA \
                     and PNM images — convert it to PNG or JPEG",
                )
            })?;
            bitmaps.push(bitmap);
        }
        let refs: Vec<&MtmdBitmap> = bitmaps.iter().collect();
        let text = MtmdInputText {
            text: prompt.to_owned(),
            add_special,
            parse_special: true,
        };
        ctx.tokenize(text, &refs).map_err(|e| {
            Error::unsupported(
                PROVIDER,
                "this conversation with images",
                format!(
                    "llama.cpp could not tokenize it with the projector {} ({e}); a text that \
                     itself contains {:?} is read as an image's place — remove it",
                    self.path.display(),
                    mtmd_default_marker()
                ),
            )
        })
    }

    /// Evaluates `chunks` into `ctx` from position 0 (text decoded, images encoded by the
    /// projector), leaving the last position's logits; returns the positions used.
    pub(crate) fn eval(
        &self,
        chunks: &MtmdInputChunks,
        ctx: &mut LlamaContext<'_>,
        n_batch: u32,
    ) -> Result<u32> {
        let mut mtmd = self
            .ctx
            .lock()
            .map_err(|_| Error::stream("the vision projector failed in another request"))?;
        let n_batch = i32::try_from(n_batch).unwrap_or(i32::MAX);
        let n_past = chunks
            .eval_chunks(&mut mtmd, ctx, 0, 0, n_batch, true)
            .map_err(|e| {
                Error::stream(format!(
                    "llama.cpp could not read the prompt with its images ({e})"
                ))
            })?;
        Ok(u32::try_from(n_past).unwrap_or(0))
    }
}

/// Whether `part` is an image the projector can be given: inline bytes of an `image/…` type,
/// or a file part of one (or of no stated type, as Ollama's own file parts are read).
fn is_image(part: &Part) -> bool {
    match part {
        Part::Binary { mime_type, .. } => mime_type.starts_with("image/"),
        Part::File { mime_type, .. } => mime_type.is_empty() || mime_type.starts_with("image/"),
        _ => false,
    }
}

/// The bytes of an image file part: a `file://` URI is read from disk, a `data:` URI
/// decoded; both must be images by their bytes. The engine fetches nothing from a network.
fn file_image(uri: &str, mime_type: &str) -> Result<Bytes> {
    let (bytes, _) = if uri.starts_with("data:") {
        crate::media::read_image_data_uri(uri, mime_type)?
    } else if uri.starts_with("file:") {
        crate::media::read_image_uri(uri, mime_type)?
    } else {
        return Err(Error::unsupported(
            PROVIDER,
            format!("the image URI {uri:?}"),
            "the local engine fetches nothing from a network: give the image as a file:// or \
             data: URI, or its bytes as a binary part",
        ));
    };
    Ok(Bytes::from(bytes))
}

/// `None` when the conversation has no image (the text-only path is taken, unchanged);
/// else the conversation with each image replaced by the media marker, and the images (file
/// parts read: an error names the one that could not be).
pub(crate) fn with_markers(messages: &[Message]) -> Result<Option<WithMarkers>> {
    if !messages.iter().flat_map(|m| &m.parts).any(is_image) {
        return Ok(None);
    }
    let mut images = Vec::new();
    let mut marked = Vec::with_capacity(messages.len());
    for m in messages {
        let mut m = m.clone();
        for part in &mut m.parts {
            if !is_image(part) {
                continue;
            }
            match part {
                Part::Binary { data, .. } => images.push(data.clone()),
                Part::File { uri, mime_type } => images.push(file_image(uri, mime_type)?),
                _ => continue,
            }
            *part = Part::text(mtmd_default_marker());
        }
        marked.push(m);
    }
    Ok(Some(WithMarkers {
        messages: marked,
        images,
    }))
}

/// The refusal of images by a model that has no projector.
pub(crate) fn no_projector(model: &str) -> Error {
    Error::unsupported(
        PROVIDER,
        "an image",
        format!(
            "{model} has no vision projector, so it cannot see images: give the projector GGUF \
             made for it (LocalEngineBuilder::projector), use a model whose Ollama \
             manifest has a projector layer, or send the image's description as text"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    fn marker_count(w: &WithMarkers) -> usize {
        w.messages
            .iter()
            .flat_map(|m| &m.parts)
            .filter(|p| matches!(p, Part::Text { text } if text == mtmd_default_marker()))
            .count()
    }

    #[test]
    fn image_parts_of_every_kind_become_markers_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.png");
        std::fs::write(&path, PNG).unwrap();
        let file_uri = url::Url::from_file_path(&path).unwrap().to_string();
        let data_uri = crate::media::data_uri("image/png", b"\x89PNG\r\n\x1a\n-data");
        let messages = [
            Message::user("first").add_binary("b.png", PNG.to_vec(), "image/png"),
            Message::user("then")
                .add_file(file_uri, "image/png")
                .add_file(data_uri, ""),
        ];
        let w = with_markers(&messages).unwrap().expect("images");
        assert_eq!(w.images.len(), 3);
        assert_eq!(marker_count(&w), 3);
        assert_eq!(&w.images[0][..], PNG);
        assert_eq!(&w.images[1][..], PNG);
        assert_eq!(&w.images[2][..], b"\x89PNG\r\n\x1a\n-data");
        // Text stays where it was.
        assert_eq!(
            w.messages[1].text_content(),
            format!("then{0}{0}", mtmd_default_marker())
        );
        assert!(
            with_markers(&[Message::user("no image")])
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn an_image_file_that_cannot_be_read_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("cat.png");
        std::fs::write(&text, "I am text").unwrap();
        let missing = dir.path().join("missing.png");
        let cases = [
            (
                url::Url::from_file_path(&text).unwrap().to_string(),
                "cat.png",
            ),
            (
                url::Url::from_file_path(&missing).unwrap().to_string(),
                "missing.png",
            ),
            ("data:image/png;base64,@@".to_owned(), "data:"),
        ];
        for (uri, named) in cases {
            let e = with_markers(&[Message::user("x").add_file(uri.as_str(), "image/png")])
                .err()
                .unwrap_or_else(|| panic!("{uri} was read"));
            assert!(matches!(e, Error::Config { .. }), "{uri}: {e:?}");
            assert!(e.to_string().contains(named), "{uri}: {e}");
        }
        let e =
            with_markers(&[Message::user("x").add_file("https://example.com/a.png", "image/png")])
                .err()
                .expect("a network URI is refused");
        assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
        assert!(
            e.to_string().contains("fetches nothing from a network"),
            "{e}"
        );
    }
}
