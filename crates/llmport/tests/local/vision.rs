//! Images through a vision projector (llama.cpp's `mtmd`): SmolLM2-135M-Instruct with the tiny
//! projector `scripts/make-tiny-projector.py` makes for it (`scripts/fetch-vision.sh`; no
//! registry this project may use ships a vision model). Its weights are nonsense, so what is
//! asserted is the plumbing: an image is decoded and encoded into the projector's 16
//! embeddings, which take 16 positions of the prompt, and generation runs on them.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] functions

use std::io::Write;

use futures::StreamExt;
use llmport::{Error, LocalEngine, Message, Options, Provider};

use super::{cached_file, greedy, model};

const FETCH: &str = "scripts/fetch-vision.sh";

/// What the tiny projector turns one image into: (56 / 14)² patches.
const IMAGE_TOKENS: u64 = 16;

/// The projector's path, or `None` (and SKIPPED printed) when it is not there.
fn projector() -> Option<String> {
    cached_file(
        "LLMPORT_LOCAL_PROJECTOR",
        "tiny-projector-smollm2-135m.gguf",
        FETCH,
    )
}

/// The model and its projector, when both are there.
fn both() -> Option<(String, String)> {
    Some((model()?, projector()?))
}

/// A `w`×`h` RGB PNG filled by `pixel(x, y)` (stored with zlib, checked by CRC, as any
/// decoder expects).
fn png(w: u32, h: u32, pixel: impl Fn(u32, u32) -> [u8; 3]) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    }
    let mut raw = Vec::new();
    for y in 0..h {
        raw.push(0); // filter: none
        for x in 0..w {
            raw.extend_from_slice(&pixel(x, y));
        }
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&raw).unwrap();
    let idat = z.finish().unwrap();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, no interlace
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &idat);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn gradient() -> Vec<u8> {
    png(64, 48, |x, y| [(x * 4) as u8, (y * 5) as u8, 128])
}

fn engine_with(model: &str, projector: &str) -> LocalEngine {
    LocalEngine::builder()
        .projector(model, projector)
        .num_ctx(512)
        .parallel(1)
        .build()
        .unwrap()
}

fn input_tokens(r: &llmport::GenResponse) -> u64 {
    r.meta.usage.as_ref().expect("usage").input_tokens
}

#[tokio::test]
async fn an_image_is_encoded_by_the_projector_into_its_own_prompt_positions() {
    let Some((m, p)) = both() else { return };
    let engine = engine_with(&m, &p);
    let o = greedy().max_tokens(6).build();
    let text_only = [Message::user("Describe the picture.")];
    let one = [Message::user("Describe the picture.").add_binary(
        "gradient.png",
        gradient(),
        "image/png",
    )];
    let two = [Message::user("Describe the picture.")
        .add_binary("a.png", gradient(), "image/png")
        .add_binary("b.png", png(20, 90, |_, _| [255, 0, 0]), "image/png")];
    let base = engine.generate(&m, &text_only, &o).await.unwrap();
    let r1 = engine.generate(&m, &one, &o).await.unwrap();
    let r2 = engine.generate(&m, &two, &o).await.unwrap();
    // Each image takes the projector's 16 tokens in the prompt, whatever its size.
    assert_eq!(input_tokens(&r1), input_tokens(&base) + IMAGE_TOKENS);
    assert_eq!(input_tokens(&r2), input_tokens(&base) + 2 * IMAGE_TOKENS);
    for r in [&r1, &r2] {
        assert!(r.finish_reason().is_some(), "{r:?}");
        let usage = r.meta.usage.as_ref().unwrap();
        assert!(
            usage.output_tokens >= 1 && usage.output_tokens <= 6,
            "{usage:?}"
        );
    }
    // Greedy decoding on the same image gives the same text again.
    let again = engine.generate(&m, &one, &o).await.unwrap();
    assert_eq!(again.text(), r1.text());
}

#[tokio::test]
async fn an_image_as_a_file_or_data_uri_is_the_same_image() {
    let Some((m, p)) = both() else { return };
    let engine = engine_with(&m, &p);
    let o = greedy().max_tokens(6).build();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gradient.png");
    std::fs::write(&path, gradient()).unwrap();
    let file_uri = url::Url::from_file_path(&path).unwrap().to_string();
    let data_uri = format!(
        "data:image/png;base64,{}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, gradient())
    );
    let ask = |m: Message| [m];
    let inline = engine
        .generate(
            &m,
            &ask(Message::user("Describe it.").add_binary("g.png", gradient(), "image/png")),
            &o,
        )
        .await
        .unwrap();
    for uri in [file_uri, data_uri] {
        let r = engine
            .generate(
                &m,
                &ask(Message::user("Describe it.").add_file(uri.as_str(), "image/png")),
                &o,
            )
            .await
            .unwrap();
        let what = &uri[..uri.len().min(30)];
        assert_eq!(input_tokens(&r), input_tokens(&inline), "{what}");
        assert_eq!(r.text(), inline.text(), "greedy on the same image: {what}");
    }
    // A network URI is not fetched.
    let e = engine
        .generate(
            &m,
            &ask(Message::user("x").add_file("http://127.0.0.1:9/a.png", "image/png")),
            &o,
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
}

#[tokio::test]
async fn an_image_prompt_streams_like_the_whole_answer() {
    let Some((m, p)) = both() else { return };
    let engine = engine_with(&m, &p);
    let o = greedy().max_tokens(12).build();
    let q = [Message::user("What is in this image?").add_binary("g.png", gradient(), "image/png")];
    let whole = engine.generate(&m, &q, &o).await.unwrap();
    let mut stream = engine.generate_stream(&m, &q, &o).await.unwrap();
    let mut acc = llmport::Accumulator::new();
    while let Some(c) = stream.next().await {
        acc.push(&c.unwrap());
    }
    let streamed = acc.finish();
    assert_eq!(streamed.text(), whole.text());
    assert_eq!(streamed.meta.usage, whole.meta.usage);
}

#[tokio::test]
async fn images_without_a_projector_or_undecodable_are_refused() {
    let Some((m, p)) = both() else { return };
    let image = [Message::user("What is this?").add_binary("g.png", gradient(), "image/png")];
    let plain = LocalEngine::builder().num_ctx(512).build().unwrap();
    let e = plain
        .generate(&m, &image, &Options::default())
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
    assert!(
        text.contains("has no vision projector") && text.contains("LocalEngineBuilder::projector"),
        "{text}"
    );

    let engine = engine_with(&m, &p);
    let broken = [Message::user("What is this?").add_binary(
        "x.png",
        b"\x89PNG not really".to_vec(),
        "image/png",
    )];
    let e = engine
        .generate(&m, &broken, &Options::default())
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Unsupported { .. }) && e.to_string().contains("could not be decoded"),
        "{e}"
    );
    // The engine is still fine afterwards.
    let ok = engine
        .generate(&m, &image, &greedy().max_tokens(2).build())
        .await
        .unwrap();
    assert!(ok.finish_reason().is_some());
}

#[tokio::test]
async fn a_damaged_projector_is_a_typed_error_not_a_crash() {
    let Some((m, p)) = both() else { return };
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(&p).unwrap();
    let cases = [
        ("garbage.gguf", b"not a projector".to_vec()),
        ("truncated.gguf", bytes[..bytes.len() / 2].to_vec()),
        // A GGUF, but a text model's, not a projector.
        (
            "text-model.gguf",
            std::fs::read(&m).unwrap()[..1 << 20].to_vec(),
        ),
    ];
    for (name, content) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        let engine = engine_with(&m, path.to_str().unwrap());
        let image = [Message::user("x").add_binary("g.png", gradient(), "image/png")];
        let e = engine
            .generate(&m, &image, &Options::default())
            .await
            .unwrap_err();
        assert!(matches!(e, Error::Config { .. }), "{name}: {e:?}");
        assert!(e.to_string().contains("vision projector"), "{name}: {e}");
        // Text needs no projector: the model still answers it.
        let text = engine
            .generate(&m, &[Message::user("x")], &greedy().max_tokens(2).build())
            .await
            .unwrap();
        assert!(text.finish_reason().is_some(), "{name}");
    }
}

#[tokio::test]
async fn the_projector_layer_of_an_ollama_manifest_is_used() {
    let Some((m, p)) = both() else { return };
    let store = tempfile::tempdir().unwrap();
    let (gguf_hex, proj_hex) = ("d".repeat(64), "e".repeat(64));
    std::fs::create_dir_all(store.path().join("blobs")).unwrap();
    for (src, hex) in [(&m, &gguf_hex), (&p, &proj_hex)] {
        let blob = store.path().join(format!("blobs/sha256-{hex}"));
        if std::fs::hard_link(src, &blob).is_err() {
            std::fs::copy(src, &blob).unwrap();
        }
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "layers": [
            {"mediaType": "application/vnd.ollama.image.model", "digest": format!("sha256:{gguf_hex}")},
            {"mediaType": "application/vnd.ollama.image.projector", "digest": format!("sha256:{proj_hex}")},
        ]
    });
    let dir = store
        .path()
        .join("manifests/registry.ollama.ai/library/smolvision");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("latest"), manifest.to_string()).unwrap();
    let engine = LocalEngine::builder()
        .store_dir(store.path())
        .num_ctx(512)
        .build()
        .unwrap();
    let o = greedy().max_tokens(3).build();
    let text = engine
        .generate("smolvision", &[Message::user("Hi.")], &o)
        .await
        .unwrap();
    let image = engine
        .generate(
            "smolvision",
            &[Message::user("Hi.").add_binary("g.png", gradient(), "image/png")],
            &o,
        )
        .await
        .unwrap();
    assert_eq!(input_tokens(&image), input_tokens(&text) + IMAGE_TOKENS);
}
