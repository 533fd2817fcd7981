//! Jobs as the queue keeps them: any replica can answer for any job.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A job's life: `queued` until a worker claims it, `running` until it ends in one of the
/// other states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
    /// The process running it stopped (restart, crash) before it finished.
    Interrupted,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
            Self::Interrupted => "interrupted",
        }
    }

    /// Parse a stored state; unknown text (a newer binary's state) reads as interrupted.
    pub fn parse(text: &str) -> Self {
        match text {
            "queued" => Self::Queued,
            "running" => Self::Running,
            "succeeded" => Self::Succeeded,
            "failed" => Self::Failed,
            "cancelled" => Self::Cancelled,
            _ => Self::Interrupted,
        }
    }

    pub fn is_finished(self) -> bool {
        !matches!(self, Self::Queued | Self::Running)
    }
}

/// Live counters of a running crawl (also its final tally).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct JobProgress {
    pub pages_done: u64,
    pub pages_queued: u64,
    pub pages_failed: u64,
    pub chunks_stored: u64,
}

/// One job as stored.
#[derive(Debug, Clone, Serialize)]
pub struct JobRecord {
    pub job_id: String,
    /// The tool that started it (`smart_crawl_url`, ...).
    pub tool: String,
    /// What it crawls (the start URL, or a summary of several).
    pub target: String,
    pub state: JobState,
    pub progress: JobProgress,
    /// Why it failed or was interrupted.
    pub error: Option<String>,
    /// The tool's full result once it succeeded.
    pub result: Option<serde_json::Value>,
    pub cancel_requested: bool,
    pub created_at: DateTime<Utc>,
    /// Last heartbeat of the process running it.
    pub updated_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_and_unknown_reads_as_interrupted() {
        for state in [
            JobState::Queued,
            JobState::Running,
            JobState::Succeeded,
            JobState::Failed,
            JobState::Cancelled,
            JobState::Interrupted,
        ] {
            assert_eq!(JobState::parse(state.as_str()), state);
        }
        assert_eq!(JobState::parse("paused"), JobState::Interrupted);
        assert!(
            !JobState::Running.is_finished() && !JobState::Queued.is_finished() && JobState::Cancelled.is_finished()
        );
    }
}
