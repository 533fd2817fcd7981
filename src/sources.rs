//! The sources service: what has been crawled, and forgetting a source with everything stored
//! under it. Knows only the `SourceCatalog` port (the graph port joins it when graphs are stored).

use std::sync::Arc;

use tracing::instrument;

use crate::domain::{SourceId, SourceInfo};
use crate::error::{Error, Result};
use crate::ports::{DeletedCounts, SourceCatalog};

#[derive(Debug)]
pub struct Sources {
    catalog: Arc<dyn SourceCatalog>,
}

impl Sources {
    pub fn new(catalog: Arc<dyn SourceCatalog>) -> Self {
        Self { catalog }
    }

    /// Every source with its counts.
    ///
    /// # Errors
    /// `Unavailable` when the database fails.
    pub async fn list(&self) -> Result<Vec<SourceInfo>> {
        Ok(self.catalog.list_sources().await?)
    }

    /// Delete a source and everything stored under it.
    ///
    /// # Errors
    /// `NotFound` when no such source exists; `Unavailable` when the database fails.
    #[instrument(skip(self))]
    pub async fn delete(&self, source: &SourceId) -> Result<DeletedCounts> {
        let counts = self.catalog.delete_source(source).await?;
        if counts.sources == 0 {
            return Err(Error::NotFound(format!(
                "no source '{source}' is stored; get_available_sources lists the source ids"
            )));
        }
        Ok(counts)
    }
}
