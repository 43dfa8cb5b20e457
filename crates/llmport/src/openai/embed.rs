//! [`Embedder`] for [`OpenAiProvider`]: `POST <base>/embeddings`.

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tracing::Instrument;

use super::OpenAiProvider;
use super::wire::{EmbeddingList, EmbeddingsRequest, WireVector};
use crate::embed::{EmbedOptions, Embedder, Embeddings};
use crate::error::{Error, Result};
use crate::json_body::encode_with_extra;
use crate::transport::{Request, Timer, excerpt};

impl OpenAiProvider {
    /// Embeds each input (any slice of strings: `&["hello"]`, `&[String]`, `&Vec<String>`);
    /// the vectors come back in input order. See [`Embedder`].
    pub async fn embed<S: AsRef<str>>(
        &self,
        model: &str,
        inputs: &[S],
        options: &EmbedOptions,
    ) -> Result<Embeddings> {
        crate::embed::embed_any(self, model, inputs, options).await
    }
}

#[async_trait]
impl Embedder for OpenAiProvider {
    /// Embeds `inputs` with `POST <base>/embeddings`.
    ///
    /// Sends `dimensions` and `encoding_format` only when set; decodes vectors whether the
    /// server sends them as numbers or base64 (little-endian `f32`). No inputs means no
    /// vectors, without a request. `truncate` and provider-specific extensions are not
    /// part of this API (Ollama's `/v1/embeddings` ignores them) and are refused.
    async fn embed_strs(
        &self,
        model: &str,
        inputs: &[&str],
        options: &EmbedOptions,
    ) -> Result<Embeddings> {
        let provider = self.inner.name;
        if options.truncate.is_some() {
            return Err(Error::unsupported(
                provider,
                "EmbedOptions::truncate",
                "the OpenAI embeddings API has no such setting (Ollama's /v1/embeddings \
                 ignores it): use Ollama's native embeddings API for it",
            ));
        }
        if let Some(name) = options.extensions.type_names().next() {
            return Err(Error::unsupported(
                provider,
                format!("{name} (an EmbedOptions extension)"),
                "the OpenAI embeddings API reads no provider-specific settings: use the \
                 provider they belong to (e.g. OllamaProvider for Ollama's)",
            ));
        }
        options.validate()?;
        if model.is_empty() {
            return Err(Error::config_for(
                "model",
                "no model given: name the model to use",
            ));
        }
        if inputs.is_empty() {
            return Ok(Embeddings::default());
        }
        let span = crate::telemetry::embeddings_span(provider, model);
        async {
            let body = request_body(model, inputs, options)?;
            let timer = Timer::start();
            let req = Request::post_json("embeddings", body, Some(model));
            let body = self.inner.http.send_for_body(&req).await?;
            let mut out = decode_embeddings(&body, inputs.len())?;
            out.total_time = Some(timer.elapsed());
            if let Some(n) = out.input_tokens {
                tracing::Span::current().record("gen_ai.usage.input_tokens", n);
            }
            Ok(out)
        }
        .instrument(span)
        .await
    }
}

fn request_body(model: &str, inputs: &[&str], options: &EmbedOptions) -> Result<Vec<u8>> {
    let req = EmbeddingsRequest {
        model,
        input: inputs,
        dimensions: options.dimensions,
        encoding_format: options.encoding.map(|e| e.as_str()),
    };
    encode_with_extra(&req, &options.extra)
}

/// Decodes an embeddings `list`, vectors put in input order by their `index`.
fn decode_embeddings(body: &[u8], inputs: usize) -> Result<Embeddings> {
    let wire: EmbeddingList<'_> = serde_json::from_slice(body).map_err(|e| Error::Decode {
        message: format!("the embeddings answer is not valid JSON: {}", excerpt(body)),
        source: Some(Box::new(e)),
    })?;
    let data = match wire.data {
        Some(data) => data,
        // `null` is Ollama's "no vectors"; no `data` at all is not an embeddings list, and
        // "0 vectors" would not say what was wrong.
        None if !has_key(body, "data") => {
            let ollama = if has_key(body, "embeddings") {
                " (it looks like Ollama's native /api/embed answer: is the base URL right?)"
            } else {
                ""
            };
            return Err(Error::decode(format!(
                "the embeddings answer has no `data` list{ollama}: {}",
                excerpt(body)
            )));
        }
        None => Vec::new(),
    };
    if data.len() != inputs {
        return Err(Error::decode(format!(
            "the server returned {} vectors for {inputs} inputs",
            data.len()
        )));
    }
    let mut vectors: Vec<Option<Vec<f32>>> = vec![None; inputs];
    for (pos, item) in data.into_iter().enumerate() {
        let index = item.index.unwrap_or(pos);
        let slot = vectors.get_mut(index).ok_or_else(|| {
            Error::decode(format!(
                "the server returned a vector for input {index}, but there are only {inputs}"
            ))
        })?;
        if slot.is_some() {
            return Err(Error::decode(format!(
                "the server returned two vectors for input {index}"
            )));
        }
        *slot = Some(match item.embedding {
            WireVector::Floats(v) => v,
            WireVector::Base64(text) => decode_base64_f32(&text, index)?,
        });
    }
    Ok(Embeddings {
        // Every slot is filled: as many items as inputs, each index in range, none twice.
        vectors: vectors.into_iter().flatten().collect(),
        model: wire.model.map(Into::into),
        input_tokens: wire.usage.map(|u| u.prompt_tokens),
        total_time: None,
    })
}

/// Whether `body` is a JSON object with `key`.
fn has_key(body: &[u8], key: &str) -> bool {
    serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(body)
        .is_ok_and(|m| m.contains_key(key))
}

/// Standard base64 of little-endian IEEE-754 `f32`s (OpenAI's and Ollama's
/// `encoding_format: base64`).
fn decode_base64_f32(text: &str, index: usize) -> Result<Vec<f32>> {
    let bytes = STANDARD.decode(text).map_err(|e| Error::Decode {
        message: format!(
            "the base64 vector for input {index} does not decode: {}",
            excerpt(text.as_bytes())
        ),
        source: Some(Box::new(e)),
    })?;
    if bytes.len() % 4 != 0 {
        return Err(Error::decode(format!(
            "the base64 vector for input {index} has {} bytes, not a whole number of 32-bit floats",
            bytes.len()
        )));
    }
    Ok(bytes
        .chunks_exact(4)
        .filter_map(|b| <[u8; 4]>::try_from(b).ok())
        .map(f32::from_le_bytes)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_is_little_endian_f32() {
        // Ollama's own test vector (openai/openai_encoding_format_test.go).
        assert_eq!(
            decode_base64_f32("zczMPc3MTL6amZk+", 0).unwrap(),
            [0.1f32, -0.2, 0.3]
        );
        assert!(matches!(
            decode_base64_f32("zczM", 0),
            Err(Error::Decode { .. })
        ));
        assert!(matches!(
            decode_base64_f32("not base64!", 0),
            Err(Error::Decode { .. })
        ));
    }

    #[test]
    fn vectors_are_placed_by_index_and_checked() {
        let body = br#"{"data":[{"embedding":[2.0],"index":1},{"embedding":"AACAPw==","index":0}],"model":"m","usage":{"prompt_tokens":3,"total_tokens":3}}"#;
        let e = decode_embeddings(body, 2).unwrap();
        assert_eq!(e.vectors, [vec![1.0f32], vec![2.0]]);
        assert_eq!(e.input_tokens, Some(3));
        assert_eq!(e.model.as_deref(), Some("m"));
        let dup = br#"{"data":[{"embedding":[2.0],"index":0},{"embedding":[1.0],"index":0}]}"#;
        assert!(decode_embeddings(dup, 2).is_err());
        let out_of_range = br#"{"data":[{"embedding":[2.0],"index":5}]}"#;
        assert!(decode_embeddings(out_of_range, 1).is_err());
        let null = br#"{"data":null}"#;
        assert!(
            decode_embeddings(null, 1)
                .unwrap_err()
                .to_string()
                .contains("0 vectors")
        );
    }

    #[test]
    fn an_answer_without_data_says_so_instead_of_counting_zero_vectors() {
        let ollama_shaped = br#"{"model":"m","embeddings":[[0.5]]}"#;
        let e = decode_embeddings(ollama_shaped, 1).unwrap_err().to_string();
        assert!(e.contains("no `data` list"), "{e}");
        assert!(e.contains("Ollama's native /api/embed"), "{e}");
        assert!(!e.contains("0 vectors"), "{e}");
        let other = br#"{"vectors":[[0.5]]}"#;
        let e = decode_embeddings(other, 1).unwrap_err().to_string();
        assert!(e.contains("no `data` list") && e.contains("vectors"), "{e}");
    }
}
