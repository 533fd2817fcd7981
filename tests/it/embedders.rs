//! Both embedder adapters for real: the local model on both forward passes (ONNX Runtime and
//! candle: the same vectors as sentence-transformers, meaning, norms, long-text windows) and the
//! OpenAI-compatible client over HTTP against a local server speaking the wire format
//! (batching, 429 with retry, 400 without retry, wrong dimensions).

use std::sync::atomic::Ordering;

use crate::common;
use crate::common::openai_stub::OpenAiStub;
use crawlrag::adapters::local_embedder::{DEFAULT_LOCAL_MODEL_NAME, LocalEmbedder, LocalRuntime};
use crawlrag::adapters::openai_embedder::{OpenAiEmbedder, OpenAiEmbedderConfig};
use crawlrag::ports::{EmbedError, Embedder};

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Vectors sentence-transformers 6.2 (PyTorch 2.15) computed for 24 texts (short, empty, non-ASCII,
/// code, real documentation chunks up to the 254-token window), made with
/// `benches/peers/sentence_transformers_embed.py`.
#[derive(serde::Deserialize)]
struct Reference {
    texts: Vec<String>,
    vectors: Vec<Vec<f32>>,
}

#[tokio::test]
async fn local_model_matches_sentence_transformers_on_both_runtimes() {
    let Some(services) = common::services() else { return };
    let reference: Reference =
        serde_json::from_str(include_str!("../fixtures/minilm_reference.json")).expect("reference vectors");
    let mut runtimes = vec![LocalRuntime::Candle];
    match &services.onnxruntime {
        Some(library) => runtimes.push(LocalRuntime::Onnx { onnxruntime: library.clone() }),
        None => eprintln!("ONNX Runtime not installed (CRAWLRAG_ONNXRUNTIME_LIB): checking candle only"),
    }
    for runtime in runtimes {
        let embedder = LocalEmbedder::load(&services.model_path, DEFAULT_LOCAL_MODEL_NAME, runtime.clone()).unwrap();
        let vectors = embedder.embed(&reference.texts).await.unwrap();
        let name = embedder.runtime_name().await.unwrap();
        assert_eq!(name, if runtime == LocalRuntime::Candle { "candle" } else { "onnxruntime" });
        for ((text, ours), theirs) in reference.texts.iter().zip(&vectors).zip(&reference.vectors) {
            let similarity = cosine(ours, theirs);
            assert!(similarity >= 0.999, "{name}: cosine {similarity} against sentence-transformers for {text:?}");
        }
    }
}

#[tokio::test]
async fn onnx_runtime_that_cannot_load_is_a_clear_error_or_a_candle_fallback() {
    let Some(services) = common::services() else { return };
    let missing = std::path::PathBuf::from("/nonexistent/libonnxruntime.so");
    let strict = LocalEmbedder::load(
        &services.model_path,
        DEFAULT_LOCAL_MODEL_NAME,
        LocalRuntime::Onnx { onnxruntime: missing.clone() },
    )
    .unwrap();
    match strict.embed(&["text".to_owned()]).await {
        Err(EmbedError::Load(message)) => {
            assert!(
                message.contains("ONNX Runtime") && message.contains("CRAWLRAG_EMBEDDING_BACKEND=candle"),
                "{message}"
            );
        }
        other => panic!("expected a load error, got {other:?}"),
    }
    let auto = LocalEmbedder::load(
        &services.model_path,
        DEFAULT_LOCAL_MODEL_NAME,
        LocalRuntime::Auto { onnxruntime: Some(missing) },
    )
    .unwrap();
    assert_eq!(auto.embed(&["text".to_owned()]).await.unwrap()[0].len(), 384);
    assert_eq!(auto.runtime_name().await.unwrap(), "candle");
}

#[tokio::test]
async fn local_model_embeds_meaning_and_keeps_long_text() {
    let Some(services) = common::services() else { return };
    let embedder = common::embedder(&services);
    assert_eq!(embedder.dimensions(), 384);
    let long_tail = "Quarterly tax filings for small bakeries require receipts. ".repeat(60);
    let texts = vec![
        "How do I install the package with cargo?".to_owned(),
        "Installing the crate using cargo install".to_owned(),
        "The cat sat on the warm windowsill all afternoon.".to_owned(),
        format!("Installing the crate using cargo install. {long_tail}"),
    ];
    let v = embedder.embed(&texts).await.unwrap();
    assert_eq!(v.len(), 4);
    for e in &v {
        assert_eq!(e.len(), 384);
        assert!((cosine(e, e) - 1.0).abs() < 1e-4, "unit length");
    }
    assert!(cosine(&v[0], &v[1]) > cosine(&v[0], &v[2]) + 0.2, "related texts are closer");
    // The tail past the 256-token window still moves the embedding (windowed, not truncated).
    assert!(cosine(&v[1], &v[3]) < 0.9, "long text keeps its tail: {}", cosine(&v[1], &v[3]));
    let tax = embedder.embed(&["tax filings for bakeries".to_owned()]).await.unwrap();
    assert!(cosine(&tax[0], &v[3]) > cosine(&tax[0], &v[1]) + 0.1, "tail content is searchable");
    let again = embedder.embed(&texts[..1]).await.unwrap();
    assert!((cosine(&again[0], &v[0]) - 1.0).abs() < 1e-5, "deterministic across batches");
}

fn client(base_url: String, model: &str, dimensions: usize, batch_size: usize) -> OpenAiEmbedder {
    OpenAiEmbedder::new(OpenAiEmbedderConfig {
        base_url,
        api_key: "sk-test".into(),
        model: model.into(),
        dimensions,
        batch_size,
        ..Default::default()
    })
    .unwrap()
}

#[tokio::test]
async fn openai_compatible_client_batches_retries_and_reports_errors() {
    let api = OpenAiStub { throttle_first: 1, dimensions: 8, ..OpenAiStub::default() };
    let base = api.clone().start().await;
    let embedder = client(base.clone(), "text-embedding-3-small", 8, 2);
    assert_eq!(embedder.model_id(), "openai:text-embedding-3-small");

    let texts: Vec<String> = (0..5).map(|i| "x".repeat(i + 1)).collect();
    let vectors = embedder.embed(&texts).await.unwrap();
    assert_eq!(vectors.len(), 5);
    // batches of 2 -> [0,1] [2,3] [4]; inside each batch the index order was restored
    assert_eq!(vectors[0][1], 1.0);
    assert_eq!(vectors[1][2], 2.0);
    assert_eq!(vectors[4][1], 5.0);
    assert_eq!(api.requests.load(Ordering::SeqCst), 3 + 1, "three batches plus one throttled retry");

    let rejected = client(base.clone(), "bad-model", 8, 2).embed(&texts[..1]).await.unwrap_err();
    assert!(matches!(rejected, EmbedError::Rejected(ref m) if m.contains("model not found")), "{rejected}");
    assert_eq!(api.requests.load(Ordering::SeqCst), 5, "a 400 is not retried");

    let wrong_dims = client(base, "text-embedding-3-small", 16, 2).embed(&texts[..1]).await.unwrap_err();
    assert!(wrong_dims.to_string().contains("CRAWLRAG_EMBEDDING_DIMENSIONS is 16"), "{wrong_dims}");
}

#[tokio::test]
async fn a_failing_provider_opens_the_circuit_and_later_calls_fail_fast() {
    let api = OpenAiStub { dimensions: 8, ..OpenAiStub::default() };
    let base_url = api.clone().start().await;
    let embedder = OpenAiEmbedder::new(OpenAiEmbedderConfig {
        base_url,
        api_key: "sk-test".into(),
        model: "down-model".into(),
        dimensions: 8,
        breaker_threshold: 1,
        breaker_cooldown: std::time::Duration::from_secs(60),
        ..Default::default()
    })
    .unwrap();
    let text = vec!["hello".to_owned()];
    let first = embedder.embed(&text).await.unwrap_err();
    assert!(matches!(first, EmbedError::Unavailable(ref m) if m.contains("upstream exploded")), "{first}");
    let sent = api.requests.load(Ordering::SeqCst);
    assert!(sent > 1, "500s are retried: {sent}");
    let second = embedder.embed(&text).await.unwrap_err();
    assert!(second.to_string().contains("circuit open"), "{second}");
    assert_eq!(api.requests.load(Ordering::SeqCst), sent, "an open circuit sends nothing");
}
