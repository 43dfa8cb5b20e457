//! Embeddings through the OpenAI-compatible `/embeddings` endpoint: float and base64
//! vectors, dimensions, usage, and the errors.

use llmport_test_support as support;

use std::sync::Arc;

use llmport::testing::{Reply, TestServer};
use llmport::{EmbedEncoding, EmbedOptions, Embedder, Error};
use serde_json::json;
use support::*;

fn inputs(texts: &[&str]) -> Vec<String> {
    texts.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn float_transcript_replays_exactly() {
    let fx = fixture_json("openai_embeddings_float");
    let server = TestServer::start([transcript("openai_embeddings_float")]).await;
    let options = EmbedOptions::builder()
        .dimensions(4)
        .encoding(EmbedEncoding::Float)
        .extra("user", json!("ignored"))
        .build();
    // Through `dyn Embedder`.
    let embedder: Arc<dyn Embedder> = Arc::new(openai(&server.v1_url()));
    let e = embedder
        .embed(
            "nomic-embed-text",
            &inputs(&["hello world", "goodbye"]),
            &options,
        )
        .await
        .unwrap();
    let req = server.last_request().unwrap();
    assert_eq!(req.path, "/v1/embeddings");
    assert_eq!(req.json().unwrap(), fx["request"]["body"]);

    let expected: Vec<Vec<f32>> = fx["response"]["body"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            d["embedding"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect()
        })
        .collect();
    assert_eq!(e.vectors, expected);
    assert_eq!(e.dimension(), 4);
    assert_eq!(e.input_tokens, Some(8));
    assert_eq!(e.model.as_deref(), Some("nomic-embed-text"));
    assert!(e.total_time.is_some());
}

#[tokio::test]
async fn base64_vectors_are_decoded_as_little_endian_f32() {
    let server = TestServer::builder()
        .route(
            "POST",
            "/v1/embeddings",
            // Ollama's own test vector: [0.1, -0.2, 0.3] (openai_encoding_format_test.go).
            Reply::json(
                200,
                &json!({"object": "list", "data": [
                    {"object": "embedding", "embedding": "zczMPc3MTL6amZk+", "index": 0}
                ], "model": "nomic-embed-text", "usage": {"prompt_tokens": 2, "total_tokens": 2}}),
            ),
        )
        .start()
        .await;
    let e = openai(&server.v1_url())
        .embed(
            "nomic-embed-text",
            &inputs(&["x"]),
            &EmbedOptions::builder()
                .encoding(EmbedEncoding::Base64)
                .build(),
        )
        .await
        .unwrap();
    assert_eq!(e.vectors, [vec![0.1f32, -0.2, 0.3]]);
    assert_eq!(
        server.last_request().unwrap().json().unwrap(),
        json!({"model": "nomic-embed-text", "input": ["x"], "encoding_format": "base64"})
    );
}

#[tokio::test]
async fn nothing_optional_is_sent_by_default() {
    let server = TestServer::start([transcript("openai_embeddings_float")]).await;
    openai(&server.v1_url())
        .embed(
            "nomic-embed-text",
            &inputs(&["hello world", "goodbye"]),
            &EmbedOptions::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        server.last_request().unwrap().json().unwrap(),
        json!({"model": "nomic-embed-text", "input": ["hello world", "goodbye"]})
    );
}

#[tokio::test]
async fn a_bad_encoding_is_the_servers_400() {
    let server = TestServer::start([transcript("openai_embeddings_bad_encoding_format")]).await;
    let mut options = EmbedOptions::new();
    options
        .extra
        .insert("encoding_format".into(), json!("int8"));
    let e = openai(&server.v1_url())
        .embed("nomic-embed-text", &inputs(&["x"]), &options)
        .await
        .unwrap_err();
    let Error::Api(api) = &e else { panic!("{e:?}") };
    assert_eq!(api.status, 400);
    assert_eq!(api.kind.as_deref(), Some("invalid_request_error"));
    assert_eq!(
        api.message,
        "Invalid value for 'encoding_format' = int8. Supported values: ['float', 'base64']."
    );
    assert_eq!(
        server.last_request().unwrap().json().unwrap()["encoding_format"],
        "int8"
    );
}

#[tokio::test]
async fn a_short_or_malformed_answer_is_a_decode_error() {
    let server = TestServer::builder()
        .route(
            "POST",
            "/v1/embeddings",
            Reply::json(200, &json!({"object": "list", "data": null})),
        )
        .route(
            "POST",
            "/v1/embeddings",
            Reply::json(
                200,
                &json!({"data": [{"embedding": "zczMPc3M", "index": 0}]}),
            ),
        )
        .start()
        .await;
    let p = openai(&server.v1_url());
    let e = p
        .embed("m", &inputs(&["a", "b"]), &EmbedOptions::new())
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Decode { .. }) && e.to_string().contains("0 vectors for 2 inputs"),
        "{e}"
    );
    let e = p
        .embed("m", &inputs(&["a"]), &EmbedOptions::new())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not a whole number"), "{e}");
}

#[tokio::test]
async fn settings_this_api_lacks_are_refused_and_no_input_sends_nothing() {
    let server = TestServer::start([transcript("openai_embeddings_float")]).await;
    let p = openai(&server.v1_url());
    let e = p
        .embed(
            "m",
            &inputs(&["a"]),
            &EmbedOptions::builder().truncate(false).build(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Unsupported { option, .. } if option == "EmbedOptions::truncate"),
        "{e:?}"
    );
    let none = p
        .embed("m", &[] as &[&str], &EmbedOptions::new())
        .await
        .unwrap();
    assert!(none.vectors.is_empty());
    assert_eq!(none.dimension(), 0);
    assert!(server.requests().is_empty());
}

/// Issue 13 #21: `embed` takes any slice of strings — `&["hello"]`, `&[String]`, a
/// `&Vec<String>` — on a provider and through `dyn Embedder`, and sends the same body.
#[tokio::test]
async fn embed_takes_str_slices_and_string_vectors() {
    let server = TestServer::builder()
        .route(
            "POST",
            "/v1/embeddings",
            Reply::json(
                200,
                &json!({"data": [{"embedding": [0.5, 0.25], "index": 0}]}),
            ),
        )
        .start()
        .await;
    let p = openai(&server.v1_url());
    let owned: Vec<String> = vec!["hello".to_owned()];
    let options = EmbedOptions::default();
    p.embed("m", &["hello"], &options).await.unwrap();
    p.embed("m", owned.as_slice(), &options).await.unwrap();
    p.embed("m", &owned, &options).await.unwrap();
    let shared: Arc<dyn Embedder> = Arc::new(p);
    let e = shared.embed("m", &owned, &options).await.unwrap();
    assert_eq!(e.vectors, [vec![0.5, 0.25]]);
    let bodies: Vec<_> = server
        .requests()
        .iter()
        .map(|r| r.json().unwrap())
        .collect();
    assert_eq!(bodies.len(), 4);
    for b in &bodies {
        assert_eq!(b["input"], json!(["hello"]));
    }
}
