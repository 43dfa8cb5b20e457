//! Images: binary parts and `file://` files become data URIs; http(s) URLs go to OpenAI as
//! they are but are refused for Ollama; image types Ollama cannot decode are refused for it.

use llmport_test_support as support;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use llmport::testing::TestServer;
use llmport::{Error, Message, Options, Provider};
use serde_json::json;
use support::*;

/// The 1×1 red PNG of the `openai_chat_image_input` transcript.
fn pixel_png() -> Vec<u8> {
    let fx = fixture_json("openai_chat_image_input");
    let url = fx["request"]["body"]["messages"][0]["content"][1]["image_url"]["url"]
        .as_str()
        .expect("url")
        .to_owned();
    STANDARD
        .decode(url.strip_prefix("data:image/png;base64,").expect("PNG"))
        .expect("base64")
}

fn sent_image_url(server: &TestServer) -> String {
    server
        .last_request()
        .expect("a request")
        .json()
        .expect("JSON")["messages"][0]["content"][1]["image_url"]["url"]
        .as_str()
        .expect("an image URL")
        .to_owned()
}

#[tokio::test]
async fn a_local_file_is_read_and_inlined_for_both_providers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pixel.png");
    std::fs::write(&path, pixel_png()).unwrap();
    let uri = url::Url::from_file_path(&path).unwrap().to_string();
    let server = TestServer::start([transcript("openai_chat_image_input")]).await;
    let mut expected =
        fixture_json("openai_chat_image_input")["request"]["body"]["messages"].clone();
    // The transcript asks for `detail: low`, which Ollama ignores; a part has no detail.
    expected[0]["content"][1]["image_url"]
        .as_object_mut()
        .unwrap()
        .remove("detail");
    let providers: [Box<dyn Provider>; 2] = [
        Box::new(ollama(&server.url())),
        Box::new(openai(&server.v1_url())),
    ];
    for p in providers {
        let msg = Message::user("What is in this image?").add_file(&uri, "image/png");
        let r = p
            .generate("gemma3:4b", &[msg], &Options::default())
            .await
            .unwrap();
        assert_eq!(r.text(), "The image is a single solid red pixel.");
        assert_eq!(
            server.last_request().unwrap().json().unwrap()["messages"],
            expected,
            "{}",
            p.name()
        );
    }

    let missing = Message::user("?").add_file("file:///no/such/llmport/file.png", "image/png");
    let e = openai(&server.v1_url())
        .generate("m", &[missing], &Options::default())
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Config { .. }) && e.to_string().contains("file.png"),
        "{e:?}"
    );
}

#[tokio::test]
async fn an_http_image_goes_to_openai_as_a_url() {
    let fx = fixture_json("openai_chat_image_url_rejected");
    let server = TestServer::start([transcript("openai_chat_image_url_rejected")]).await;
    let msg = Message::user("Describe").add_file("https://example.com/cat.png", "image/png");
    // The transcript's server is Ollama, which answers 400: the OpenAI provider has sent the
    // URL as it is, for a server that can fetch it.
    let e = openai(&server.v1_url())
        .generate_stream("gemma3:4b", &[msg], &Options::default())
        .await
        .unwrap_err();
    let Error::Api(api) = &e else { panic!("{e:?}") };
    assert_eq!(api.status, 400);
    assert_eq!(
        api.message,
        "image URLs are not currently supported, please use base64 encoded data instead"
    );
    let mut sent = server.last_request().unwrap().json().unwrap();
    sent.as_object_mut().unwrap().remove("stream_options");
    assert_eq!(sent, fx["request"]["body"]);
}

#[tokio::test]
async fn an_http_image_is_refused_for_ollama_before_sending() {
    let server = TestServer::start([transcript("openai_chat_image_url_rejected")]).await;
    for uri in ["https://example.com/cat.png", "HTTP://example.com/cat.png"] {
        let msg = Message::user("Describe").add_file(uri, "image/png");
        let e = ollama(&server.url())
            .generate_stream("gemma3:4b", &[msg], &Options::default())
            .await
            .unwrap_err();
        let Error::Unsupported {
            provider,
            option,
            reason,
        } = &e
        else {
            panic!("{e:?}")
        };
        assert_eq!(*provider, "ollama");
        assert_eq!(option, &format!("the image URL {uri}"));
        assert!(
            reason.contains("base64") && reason.contains("add_binary"),
            "{reason}"
        );
    }
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn image_types_ollama_cannot_decode_are_refused_for_it_only() {
    let server = TestServer::start([transcript("openai_chat_image_input")]).await;
    let gif = || Message::user("?").add_binary("a.gif", b"GIF89a".to_vec(), "image/gif");
    let e = ollama(&server.url())
        .generate("m", &[gif()], &Options::default())
        .await
        .unwrap_err();
    let Error::Unsupported { option, reason, .. } = &e else {
        panic!("{e:?}")
    };
    assert_eq!(option, "an image of type image/gif");
    assert!(reason.contains("PNG, JPEG and WebP"), "{reason}");
    let data_gif = Message::user("?").add_file("data:image/gif;base64,R0lGODlh", "image/gif");
    let e = ollama(&server.url())
        .generate("m", &[data_gif], &Options::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
    let not_base64 = Message::user("?").add_file("data:image/png,rawbytes", "image/png");
    let e = ollama(&server.url())
        .generate("m", &[not_base64], &Options::default())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("base64"), "{e}");
    assert!(server.requests().is_empty());

    // OpenAI takes GIF.
    openai(&server.v1_url())
        .generate("m", &[gif()], &Options::default())
        .await
        .unwrap();
    assert_eq!(
        sent_image_url(&server),
        format!("data:image/gif;base64,{}", STANDARD.encode(b"GIF89a"))
    );
}

#[tokio::test]
async fn png_jpeg_and_webp_pass_and_mime_case_does_not_matter() {
    let server = TestServer::start([transcript("openai_chat_image_input")]).await;
    let p = ollama(&server.url());
    for (given, sent) in [
        ("image/png", "image/png"),
        ("image/jpeg", "image/jpeg"),
        ("image/jpg", "image/jpg"),
        ("image/webp", "image/webp"),
        ("IMAGE/PNG", "image/png"),
        (" Image/WebP ", "image/webp"),
    ] {
        let msg = Message::user("?").add_binary("x", vec![1u8, 2, 3], given);
        p.generate("m", &[msg], &Options::default()).await.unwrap();
        assert_eq!(
            sent_image_url(&server),
            format!("data:{sent};base64,AQID"),
            "{given}"
        );
    }
    let data_png = Message::user("?").add_file("data:image/png;base64,AQID", "image/png");
    p.generate("m", &[data_png], &Options::default())
        .await
        .unwrap();
    assert_eq!(
        server.last_request().unwrap().json().unwrap()["messages"][0]["content"][1],
        json!({"type": "image_url", "image_url": {"url": "data:image/png;base64,AQID"}})
    );
}

/// Issue 13 #16: a file's image type comes from its bytes, not from its name or the type
/// the caller claims.
#[tokio::test]
async fn a_file_image_type_is_sniffed_from_its_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start([transcript("openai_chat_image_input")]).await;

    // A text file named .png is not sent as image/png, by either provider.
    let text = dir.path().join("notes.png");
    std::fs::write(&text, "just some text, not a picture").unwrap();
    let uri = url::Url::from_file_path(&text).unwrap().to_string();
    for p in [
        Box::new(ollama(&server.url())) as Box<dyn Provider>,
        Box::new(openai(&server.v1_url())),
    ] {
        let msg = Message::user("?").add_file(&uri, "image/png");
        let e = p
            .generate("m", &[msg], &Options::default())
            .await
            .unwrap_err();
        assert!(
            matches!(e, Error::Config { .. }) && e.to_string().contains("notes.png"),
            "{}: {e:?}",
            p.name()
        );
    }
    assert!(server.requests().is_empty());

    // A GIF named .png: refused for Ollama up front (it cannot decode GIF), on /v1 and on
    // the native chat alike.
    let gif = dir.path().join("anim.png");
    std::fs::write(&gif, b"GIF89a\x01\x00\x01\x00\x80\x00\x00").unwrap();
    let uri = url::Url::from_file_path(&gif).unwrap().to_string();
    let msg = || Message::user("?").add_file(&uri, "image/png");
    let e = ollama(&server.url())
        .generate("m", &[msg()], &Options::default())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Unsupported { option, .. } if option == "an image of type image/gif"),
        "{e:?}"
    );
    let native = llmport::OllamaProvider::builder()
        .host(server.url())
        .chat_api(llmport::ollama::OllamaChatApi::Native)
        .build()
        .unwrap();
    let e = native
        .generate("m", &[msg()], &Options::default())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
    assert!(server.requests().is_empty());

    // OpenAI takes GIF: it goes out as what it is.
    openai(&server.v1_url())
        .generate("m", &[msg()], &Options::default())
        .await
        .unwrap();
    assert!(
        sent_image_url(&server).starts_with("data:image/gif;base64,R0lGODlh"),
        "{}",
        sent_image_url(&server)
    );
}
