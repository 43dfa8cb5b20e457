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

/// Whether `part` is an image the projector can be given.
fn is_image(part: &Part) -> bool {
    matches!(part, Part::Binary { mime_type, .. } if mime_type.starts_with("image/"))
}

/// `None` when the conversation has no image (the text-only path is taken, unchanged);
/// else the conversation with each image replaced by the media marker, and the images.
pub(crate) fn with_markers(messages: &[Message]) -> Option<WithMarkers> {
    if !messages.iter().flat_map(|m| &m.parts).any(is_image) {
        return None;
    }
    let mut images = Vec::new();
    let messages = messages
        .iter()
        .map(|m| {
            let mut m = m.clone();
            for part in &mut m.parts {
                if is_image(part) {
                    if let Part::Binary { data, .. } = part {
                        images.push(data.clone());
                    }
                    *part = Part::text(mtmd_default_marker());
                }
            }
            m
        })
        .collect();
    Some(WithMarkers { messages, images })
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
