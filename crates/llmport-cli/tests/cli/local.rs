//! `--local`: the in-process engine from the command line. Built without the CLI's `local`
//! feature (as `cargo test --workspace` builds it) the flag says how to get the engine; with
//! it (`cargo test -p llmport-cli --features local`), the real model answers, and an
//! unreachable Ollama points to `--local` when the model is in Ollama's store.

#[cfg(feature = "local")]
use llmport_test_support::cli::dead_host;
use llmport_test_support::cli::llmport;

#[cfg(not(feature = "local"))]
#[tokio::test(flavor = "multi_thread")]
async fn without_the_feature_local_says_how_to_build_it() {
    for args in [
        &["chat", "--local", "model.gguf", "hi"][..],
        &["embed", "--local", "-m", "model.gguf", "hi"][..],
    ] {
        let run = llmport(args, &[], None).await;
        assert_eq!(run.code, Some(7), "{run:?}");
        assert!(run.stderr.contains("--features local"), "{run:?}");
    }
}

/// A file of `.cache/models/`, or `None` (and SKIPPED printed, with the script that fetches it).
#[cfg(feature = "local")]
fn cached(name: &str, script: &str) -> Option<String> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../.cache/models")
        .join(name);
    if path.is_file() {
        return Some(path.to_string_lossy().into_owned());
    }
    eprintln!(
        "SKIPPED: no {name} at {}; fetch it with {script}",
        path.display()
    );
    None
}

/// The test model, SmolLM2-135M-Instruct.
#[cfg(feature = "local")]
fn model() -> Option<String> {
    cached(
        "smollm2-135m-instruct-q4_1.gguf",
        "scripts/fetch-smollm2.sh",
    )
}

#[cfg(feature = "local")]
#[tokio::test(flavor = "multi_thread")]
async fn chat_local_answers_with_no_server() {
    let Some(m) = model() else { return };
    let host = dead_host();
    let run = llmport(
        &[
            "--host",
            &host,
            "chat",
            "--temperature",
            "0",
            "--max-tokens",
            "12",
            "--local",
            &m,
            "What is the capital of France? Answer in one word.",
        ],
        &[],
        None,
    )
    .await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.contains("Paris"), "{run:?}");
    let run = llmport(&["embed", "--local", "-m", &m, "hello"], &[], None).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    assert!(run.stdout.starts_with("{\"model\":"), "{run:?}");
}

#[cfg(feature = "local")]
#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_ollama_points_to_local_for_a_stored_model() {
    let Some(m) = model() else { return };
    let store = tempfile::tempdir().unwrap();
    let hex = "d".repeat(64);
    std::fs::create_dir_all(store.path().join("blobs")).unwrap();
    std::fs::copy(&m, store.path().join(format!("blobs/sha256-{hex}"))).unwrap();
    let dir = store
        .path()
        .join("manifests/registry.ollama.ai/library/smol");
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = format!(
        r#"{{"layers":[{{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:{hex}"}}]}}"#
    );
    std::fs::write(dir.join("latest"), manifest).unwrap();
    let store_dir = store.path().to_str().unwrap();
    let host = dead_host();
    let run = llmport(
        &["--host", &host, "chat", "-m", "smol", "hi"],
        &[("OLLAMA_MODELS", store_dir)],
        None,
    )
    .await;
    assert_eq!(run.code, Some(3), "{run:?}");
    assert!(run.stderr.contains("add --local"), "{run:?}");
    let run = llmport(
        &["--host", &host, "chat", "-m", "not-stored", "hi"],
        &[("OLLAMA_MODELS", store_dir)],
        None,
    )
    .await;
    assert!(!run.stderr.contains("--local"), "{run:?}");
}

/// The tiny vision projector `scripts/fetch-vision.sh` makes for the test model.
#[cfg(feature = "local")]
fn projector() -> Option<String> {
    cached(
        "tiny-projector-smollm2-135m.gguf",
        "scripts/fetch-vision.sh",
    )
}

#[cfg(feature = "local")]
#[tokio::test(flavor = "multi_thread")]
async fn chat_local_sends_an_image_through_mmproj_and_refuses_it_without() {
    let (Some(m), Some(p)) = (model(), projector()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("pixel.png");
    std::fs::write(&image, super::cli::PIXEL_PNG).unwrap();
    let image = image.to_str().unwrap();
    let host = dead_host();
    let base = [
        "--host",
        host.as_str(),
        "chat",
        "--max-tokens",
        "4",
        "--json",
        "--local",
        m.as_str(),
    ];
    fn args<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
        [base, extra, &["What is in the picture?"]].concat()
    }
    let input_tokens = |stdout: &str| {
        let out: serde_json::Value = serde_json::from_str(stdout.trim()).expect("--json output");
        out["meta"]["usage"]["input_tokens"]
            .as_u64()
            .expect("input tokens")
    };
    // With the projector: the image becomes prompt tokens and the model answers.
    let run = llmport(&args(&base, &["--mmproj", &p, "--image", image]), &[], None).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let input = input_tokens(&run.stdout);
    // Without it: refused before generating, naming what to add.
    let run = llmport(&args(&base, &["--image", image]), &[], None).await;
    assert_ne!(run.code, Some(0), "{run:?}");
    assert!(run.stderr.contains("projector"), "{run:?}");
    // The projector's 16 image positions are in the prompt's count.
    let run = llmport(&args(&base, &[]), &[], None).await;
    assert_eq!(run.code, Some(0), "{run:?}");
    let text_input = input_tokens(&run.stdout);
    assert!(
        input >= text_input + 16,
        "an image adds its positions: {input} vs {text_input} without it"
    );
}
