//! `Reranker` over HTTP: Cohere/Jina/vLLM-style `POST /rerank {model, query, documents}` answering
//! `{results: [{index, relevance_score}]}`, or Hugging Face TEI's `POST /rerank {query, texts}`
//! answering `[{index, score}]`; both shapes are read.

use async_trait::async_trait;
use serde_json::{Value, json};
use tracing::instrument;

use super::provider_http::{ProviderClient, ProviderConfig};
use crate::ports::{ModelError, Reranker};

#[derive(Debug)]
pub struct HttpReranker {
    client: ProviderClient,
    model: String,
    model_id: String,
}

impl HttpReranker {
    /// # Errors
    /// [`ModelError::Unavailable`] when the HTTP client cannot be built.
    pub fn new(provider: ProviderConfig, model: &str) -> Result<Self, ModelError> {
        let model_id = format!("http:{model}@{}", provider.base_url);
        Ok(Self { client: ProviderClient::new(provider)?, model: model.to_owned(), model_id })
    }
}

/// Scores by document index from either wire shape.
fn read_scores(answer: &Value, count: usize) -> Result<Vec<f64>, String> {
    let items = answer["results"].as_array().or_else(|| answer.as_array()).ok_or("no results array")?;
    let mut scores = vec![None; count];
    for item in items {
        let index = item["index"].as_u64().and_then(|i| usize::try_from(i).ok()).ok_or("a result without index")?;
        let score =
            item["relevance_score"].as_f64().or_else(|| item["score"].as_f64()).ok_or("a result without score")?;
        *scores.get_mut(index).ok_or("a result index out of range")? = Some(score);
    }
    // Services asked for top_n = all return every document; one missing ranks last.
    Ok(scores.into_iter().map(|s| s.unwrap_or(f64::NEG_INFINITY)).collect())
}

#[async_trait]
impl Reranker for HttpReranker {
    fn model_id(&self) -> &str {
        &self.model_id
    }

    #[instrument(skip_all, fields(documents = documents.len()))]
    async fn rerank(&self, query: &str, documents: &[String]) -> Result<Vec<f64>, ModelError> {
        if documents.is_empty() {
            return Ok(Vec::new());
        }
        let body = json!({
            "model": self.model,
            "query": query,
            "documents": documents,
            "texts": documents,
            "top_n": documents.len(),
            "return_documents": false,
        });
        let answer = self.client.post_json("/rerank", &body).await?;
        read_scores(&answer, documents.len()).map_err(|e| {
            ModelError::Malformed(format!("{}/rerank answered an unexpected shape: {e}", self.client.base_url()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_wire_shapes_are_read_in_document_order() {
        let cohere = json!({"results": [{"index": 1, "relevance_score": 0.9}, {"index": 0, "relevance_score": 0.1}]});
        assert_eq!(read_scores(&cohere, 2).unwrap(), vec![0.1, 0.9]);
        let tei = json!([{"index": 0, "score": 2.5}, {"index": 1, "score": -1.0}]);
        assert_eq!(read_scores(&tei, 2).unwrap(), vec![2.5, -1.0]);
        assert!(read_scores(&json!({"results": [{"index": 5, "score": 1.0}]}), 2).is_err());
        assert!(read_scores(&json!({"oops": true}), 2).is_err());
    }
}
