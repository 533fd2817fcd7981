//! The code graph tools' parameters and results: `parse_github_repository`,
//! `parse_github_repositories_batch`, `check_ai_script_hallucinations` and
//! `query_knowledge_graph`, with the anchor's names and fields plus crawlrag's (commit, languages,
//! docs indexed, lines, closest names, retry delays).

use std::collections::BTreeMap;

use rmcp::schemars::{self, JsonSchema};
use serde::{Deserialize, Serialize};

use super::jobs::JobResult;
use crate::codegraph::batch::{BatchItem, BatchReport, BatchRequest};
use crate::codegraph::commands::CommandAnswer;
use crate::codegraph::{CheckOutcome, CheckRequest, ParseReport, ParseRequest};
use crate::domain::JobProgress;
use crate::domain::code_check::{CheckKind, CheckStatus};
use crate::error::{Error, Result};
use crate::jobs::{JobOutput, JobSpec, Wait};

fn wait(background: Option<bool>) -> Wait {
    if background.unwrap_or(false) { Wait::Background } else { Wait::Foreground }
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct ParseRepositoryParams {
    /// The repository: https://github.com/owner/repo (optionally /tree/<ref>), any git URL, a
    /// file:// URL or a local path (when the server allows local repositories).
    pub repo_url: String,
    /// Branch, tag or commit to parse. Default: the default branch.
    #[serde(default, rename = "ref", alias = "reference")]
    pub reference: Option<String>,
    /// Return a job_id at once and parse in the background (poll get_crawl_job). Default false.
    #[serde(default)]
    pub background: Option<bool>,
    /// Post the job's end (`job.completed`, `job.failed`, ...) to this http(s) URL, signed when the
    /// server has CRAWLRAG_WEBHOOK_SECRET; retried about 6 times over a minute. Private addresses
    /// are refused.
    #[serde(default)]
    pub webhook_url: Option<String>,
}

impl ParseRepositoryParams {
    pub(crate) fn into_job(self) -> (JobSpec, Wait) {
        let request = ParseRequest { url: self.repo_url.trim().to_owned(), reference: self.reference };
        (JobSpec::ParseRepository { request }, wait(self.background))
    }
}

/// The anchor's statistics of a parsed repository, plus imports and inheritance edges.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct RepositoryStatistics {
    pub repository: String,
    pub files_processed: usize,
    /// Classes, structs, traits, interfaces and enums.
    pub classes_created: usize,
    pub methods_created: usize,
    pub functions_created: usize,
    pub attributes_created: usize,
    pub imports_created: usize,
    pub inheritance_edges: usize,
    pub sample_modules: Vec<String>,
}

impl RepositoryStatistics {
    fn from_report(r: &ParseReport) -> Self {
        Self {
            repository: r.repository.name.clone(),
            files_processed: r.counts.files,
            classes_created: r.counts.classes,
            methods_created: r.counts.methods,
            functions_created: r.counts.functions,
            attributes_created: r.counts.attributes,
            imports_created: r.counts.imports,
            inheritance_edges: r.counts.inherits,
            sample_modules: r.sample_modules.clone(),
        }
    }
}

/// `parse_github_repository`'s result.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct ParseRepositoryResult {
    pub repo_url: String,
    /// The repository's name (the anchor's key).
    pub repo_name: String,
    /// The repository's unique key in the graph (host/owner/name or its path); also the
    /// source_id of its indexed docs.
    pub repository_key: Option<String>,
    pub message: String,
    pub commit: Option<String>,
    pub statistics: Option<RepositoryStatistics>,
    /// Files parsed per language.
    pub languages: BTreeMap<String, usize>,
    pub files_skipped: usize,
    /// README and docs pages indexed for perform_rag_query (source_id = repository_key).
    pub docs_indexed: usize,
    pub doc_chunks_stored: usize,
    pub parse_ms: u64,
    pub write_ms: u64,
    pub total_ms: u64,
    pub ready_for_validation: bool,
    pub next_steps: Vec<String>,
}

impl JobResult for ParseRepositoryResult {
    fn from_output(output: JobOutput) -> Option<Self> {
        let JobOutput::Repository(r) = output else { return None };
        let key = r.repository.key.clone();
        Some(Self {
            repo_url: r.url.clone(),
            repo_name: r.repository.name.clone(),
            message: format!(
                "parsed {} files of {} at {}: {} classes, {} methods, {} functions",
                r.counts.files,
                r.repository.name,
                short(&r.repository.commit),
                r.counts.classes,
                r.counts.methods,
                r.counts.functions
            ),
            commit: Some(r.repository.commit.clone()),
            statistics: Some(RepositoryStatistics::from_report(&r)),
            languages: r.languages.clone(),
            files_skipped: r.files_skipped,
            docs_indexed: r.docs_indexed,
            doc_chunks_stored: r.doc_chunks_stored,
            parse_ms: r.parse_millis,
            write_ms: r.write_millis,
            total_ms: r.total_millis,
            ready_for_validation: true,
            next_steps: vec![
                format!("query_knowledge_graph \"explore {key}\" to see what was parsed"),
                "check_ai_script_hallucinations with script_content to check a script against it".to_owned(),
                format!("perform_rag_query with source_filter \"{key}\" to search its docs"),
            ],
            repository_key: Some(key),
        })
    }

    fn running(target: &str, _progress: &JobProgress) -> Self {
        Self {
            repo_url: target.to_owned(),
            repo_name: target.rsplit('/').next().unwrap_or(target).trim_end_matches(".git").to_owned(),
            repository_key: None,
            message: "parsing in the background".to_owned(),
            commit: None,
            statistics: None,
            languages: BTreeMap::new(),
            files_skipped: 0,
            docs_indexed: 0,
            doc_chunks_stored: 0,
            parse_ms: 0,
            write_ms: 0,
            total_ms: 0,
            ready_for_validation: false,
            next_steps: vec!["poll get_crawl_job with the job_id".to_owned()],
        }
    }
}

fn short(commit: &str) -> &str {
    commit.get(..12).unwrap_or(commit)
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct ParseBatchParams {
    /// A JSON array of repository URLs or paths, e.g. ["https://github.com/a/b", "https://github.com/c/d"].
    pub repo_urls_json: String,
    /// Repositories parsed at the same time, 1-16. Default 3.
    #[serde(default)]
    pub max_concurrent: Option<usize>,
    /// Retries per repository on transient failures, with exponential backoff and jitter, 0-10. Default 2.
    #[serde(default)]
    pub max_retries: Option<u32>,
    /// Return a job_id at once and parse in the background. Default false.
    #[serde(default)]
    pub background: Option<bool>,
    /// Post the job's end (`job.completed`, `job.failed`, ...) to this http(s) URL, signed when the
    /// server has CRAWLRAG_WEBHOOK_SECRET; retried about 6 times over a minute. Private addresses
    /// are refused.
    #[serde(default)]
    pub webhook_url: Option<String>,
}

impl ParseBatchParams {
    /// # Errors
    /// `BadInput` when `repo_urls_json` is not a JSON array of strings, or the numbers are out of range.
    pub(crate) fn into_job(self) -> Result<(JobSpec, Wait)> {
        let urls: Vec<String> = serde_json::from_str(&self.repo_urls_json)
            .map_err(|e| Error::bad_input(format!("repo_urls_json must be a JSON array of repository URLs: {e}")))?;
        let request = BatchRequest {
            urls,
            max_concurrent: self.max_concurrent.unwrap_or(3),
            max_retries: self.max_retries.unwrap_or(2),
        };
        request.check()?;
        Ok((JobSpec::ParseRepositories { request }, wait(self.background)))
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct BatchSummary {
    pub total_repositories: usize,
    pub successful: usize,
    pub failed: usize,
    /// Repositories that needed more than one attempt.
    pub retried: usize,
    pub validation_errors: usize,
    pub elapsed_seconds: f64,
    pub average_time_per_repo: f64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct BatchItemOutput {
    pub url: String,
    pub repository: String,
    /// `success` or `failed`.
    pub status: String,
    /// Attempts made.
    pub attempt: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statistics: Option<RepositoryStatistics>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub retries_exhausted: bool,
    /// The wait before each retry, in milliseconds.
    pub retry_delays_ms: Vec<u64>,
}

impl BatchItemOutput {
    fn from_item(i: &BatchItem) -> Self {
        Self {
            url: i.url.clone(),
            repository: i.repository.clone(),
            status: if i.report.is_some() { "success" } else { "failed" }.to_owned(),
            attempt: i.attempts,
            statistics: i.report.as_ref().map(RepositoryStatistics::from_report),
            repository_key: i.report.as_ref().map(|r| r.repository.key.clone()),
            error: i.error.clone(),
            retries_exhausted: i.retries_exhausted,
            retry_delays_ms: i.retry_delays_ms.clone(),
        }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct ValidationErrorOutput {
    pub url: String,
    pub error: String,
}

#[derive(Debug, Default, Serialize, JsonSchema)]
pub(crate) struct AggregateStatistics {
    pub total_files_processed: usize,
    pub total_classes_created: usize,
    pub total_methods_created: usize,
    pub total_functions_created: usize,
    pub total_attributes_created: usize,
}

/// `parse_github_repositories_batch`'s result.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct ParseBatchResult {
    /// Every repository parsed (the anchor's `success`).
    pub all_succeeded: bool,
    pub summary: BatchSummary,
    pub results: Vec<BatchItemOutput>,
    pub validation_errors: Vec<ValidationErrorOutput>,
    pub failed_repositories: Vec<String>,
    /// The failed URLs, to pass to a later batch.
    pub retry_urls: Vec<String>,
    pub aggregate_statistics: AggregateStatistics,
}

impl JobResult for ParseBatchResult {
    fn from_output(output: JobOutput) -> Option<Self> {
        let JobOutput::Repositories(r) = output else { return None };
        Some(Self::from_report(&r))
    }

    fn running(_target: &str, _progress: &JobProgress) -> Self {
        Self {
            all_succeeded: false,
            summary: BatchSummary {
                total_repositories: 0,
                successful: 0,
                failed: 0,
                retried: 0,
                validation_errors: 0,
                elapsed_seconds: 0.0,
                average_time_per_repo: 0.0,
            },
            results: Vec::new(),
            validation_errors: Vec::new(),
            failed_repositories: Vec::new(),
            retry_urls: Vec::new(),
            aggregate_statistics: AggregateStatistics::default(),
        }
    }
}

impl ParseBatchResult {
    fn from_report(r: &BatchReport) -> Self {
        let failed: Vec<&BatchItem> = r.failed().collect();
        let successful = r.items.len() - failed.len();
        let mut aggregate = AggregateStatistics::default();
        for report in r.items.iter().filter_map(|i| i.report.as_ref()) {
            aggregate.total_files_processed += report.counts.files;
            aggregate.total_classes_created += report.counts.classes;
            aggregate.total_methods_created += report.counts.methods;
            aggregate.total_functions_created += report.counts.functions;
            aggregate.total_attributes_created += report.counts.attributes;
        }
        #[expect(clippy::cast_precision_loss, reason = "milliseconds and counts shown as seconds")]
        let elapsed = r.elapsed_millis as f64 / 1000.0;
        #[expect(clippy::cast_precision_loss, reason = "counts are small")]
        let average = elapsed / r.items.len().max(1) as f64;
        Self {
            all_succeeded: failed.is_empty() && r.validation_errors.is_empty(),
            summary: BatchSummary {
                total_repositories: r.items.len() + r.validation_errors.len(),
                successful,
                failed: failed.len(),
                retried: r.items.iter().filter(|i| i.attempts > 1).count(),
                validation_errors: r.validation_errors.len(),
                elapsed_seconds: elapsed,
                average_time_per_repo: average,
            },
            results: r.items.iter().map(BatchItemOutput::from_item).collect(),
            validation_errors: r
                .validation_errors
                .iter()
                .map(|(url, error)| ValidationErrorOutput { url: url.clone(), error: error.clone() })
                .collect(),
            failed_repositories: failed.iter().map(|i| i.repository.clone()).collect(),
            retry_urls: failed.iter().map(|i| i.url.clone()).collect(),
            aggregate_statistics: aggregate,
        }
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct CheckScriptParams {
    /// A script file on the server, inside the folders of CRAWLRAG_SCRIPT_ROOTS (relative paths
    /// are taken relative to them). Give this or script_content.
    #[serde(default)]
    pub script_path: Option<String>,
    /// The script's text (works when the server runs in a container). Wins over script_path.
    #[serde(default)]
    pub script_content: Option<String>,
    /// `python` (default), `javascript` or `typescript`; default from script_path's extension.
    #[serde(default)]
    pub language: Option<String>,
}

impl CheckScriptParams {
    pub(crate) fn into_request(self) -> CheckRequest {
        CheckRequest { script_path: self.script_path, script_content: self.script_content, language: self.language }
    }
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct ValidationSummary {
    pub total_validations: usize,
    pub valid_count: usize,
    pub invalid_count: usize,
    pub uncertain_count: usize,
    pub not_found_count: usize,
    /// (invalid + not found) / (valid + invalid + not found), over checks about parsed code.
    pub hallucination_rate: f64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct HallucinationOutput {
    /// METHOD_NOT_FOUND, ATTRIBUTE_NOT_FOUND, INVALID_PARAMETERS, CLASS_NOT_FOUND,
    /// FUNCTION_NOT_FOUND or IMPORT_NOT_FOUND.
    #[serde(rename = "type")]
    pub kind: String,
    /// `line N`.
    pub location: String,
    pub line: u32,
    /// The name as the script used it.
    pub name: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
    /// The closest real names.
    pub closest_names: Vec<String>,
    pub confidence: f64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct AnalysisMetadata {
    pub total_imports: usize,
    pub total_classes: usize,
    pub total_methods: usize,
    pub total_attributes: usize,
    pub total_functions: usize,
    pub language: String,
    pub script_lines: u32,
    /// Lines with syntax errors (the rest was still checked).
    pub syntax_error_lines: Vec<u32>,
    /// Repositories the script was checked against, by key.
    pub repositories_checked: Vec<String>,
    pub check_ms: u64,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct LibraryOutput {
    pub module_name: String,
    /// `valid` (parsed), `not_found` (parsed package, no such module) or `uncertain` (not parsed).
    pub import_status: String,
    pub import_confidence: f64,
    pub classes_used: Vec<String>,
    pub methods_called: Vec<String>,
    pub attributes_accessed: Vec<String>,
    pub functions_called: Vec<String>,
}

/// `check_ai_script_hallucinations`'s result.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct CheckScriptOutput {
    pub success: bool,
    pub script_path: Option<String>,
    /// Mean confidence of the checks about parsed repositories (1.0 when there are none).
    pub overall_confidence: f64,
    pub validation_summary: ValidationSummary,
    pub hallucinations_detected: Vec<HallucinationOutput>,
    pub recommendations: Vec<String>,
    pub analysis_metadata: AnalysisMetadata,
    pub libraries_analyzed: Vec<LibraryOutput>,
}

impl CheckScriptOutput {
    pub(crate) fn new(outcome: CheckOutcome) -> Self {
        let r = &outcome.report;
        let kinds = |k: CheckKind| r.validations.iter().filter(|v| v.kind == k).count();
        let hallucinations: Vec<HallucinationOutput> = r
            .findings()
            .map(|v| HallucinationOutput {
                kind: v.finding_type().unwrap_or_default().to_owned(),
                location: format!("line {}", v.line),
                line: v.line,
                name: v.name.clone(),
                description: v.message.clone(),
                suggestion: v.suggestions.first().map(|s| format!("did you mean '{s}'?")),
                closest_names: v.suggestions.clone(),
                confidence: v.confidence,
            })
            .collect();
        let libraries = r
            .imports
            .iter()
            .map(|(module, repository, status)| {
                let used = |k: CheckKind| -> Vec<String> {
                    let mut names: Vec<String> = r
                        .validations
                        .iter()
                        .filter(|v| v.kind == k && repository.is_some() && &v.repository == repository)
                        .map(|v| v.name.clone())
                        .collect();
                    names.sort();
                    names.dedup();
                    names
                };
                LibraryOutput {
                    module_name: module.clone(),
                    import_status: match status {
                        CheckStatus::Valid | CheckStatus::Invalid => "valid",
                        CheckStatus::NotFound => "not_found",
                        CheckStatus::Uncertain => "uncertain",
                    }
                    .to_owned(),
                    import_confidence: match status {
                        CheckStatus::Valid | CheckStatus::Invalid => 0.9,
                        CheckStatus::NotFound => 0.2,
                        CheckStatus::Uncertain => 0.8,
                    },
                    classes_used: used(CheckKind::Class),
                    methods_called: used(CheckKind::Method),
                    attributes_accessed: used(CheckKind::Attribute),
                    functions_called: used(CheckKind::Function),
                }
            })
            .collect();
        Self {
            success: true,
            script_path: outcome.script_path.clone(),
            overall_confidence: round(r.overall_confidence()),
            validation_summary: ValidationSummary {
                total_validations: r.validations.len(),
                valid_count: r.count(CheckStatus::Valid),
                invalid_count: r.count(CheckStatus::Invalid),
                uncertain_count: r.count(CheckStatus::Uncertain),
                not_found_count: r.count(CheckStatus::NotFound),
                hallucination_rate: round(r.hallucination_rate()),
            },
            recommendations: recommendations(&outcome),
            analysis_metadata: AnalysisMetadata {
                total_imports: kinds(CheckKind::Import),
                total_classes: kinds(CheckKind::Class),
                total_methods: kinds(CheckKind::Method),
                total_attributes: kinds(CheckKind::Attribute),
                total_functions: kinds(CheckKind::Function),
                language: outcome.language.as_str().to_owned(),
                script_lines: outcome.line_count,
                syntax_error_lines: r.syntax_error_lines.clone(),
                repositories_checked: outcome.repositories.clone(),
                check_ms: outcome.millis,
            },
            hallucinations_detected: hallucinations,
            libraries_analyzed: libraries,
        }
    }
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// The anchor's canned advice, per kind of finding.
fn recommendations(outcome: &CheckOutcome) -> Vec<String> {
    let r = &outcome.report;
    let mut out = Vec::new();
    if outcome.repositories.is_empty() {
        out.push(
            "No repository has been parsed yet: parse the libraries this script uses with parse_github_repository \
             so their APIs can be checked."
                .to_owned(),
        );
    }
    let has = |t: &str| r.findings().any(|v| v.finding_type() == Some(t));
    let advice = [
        (
            "METHOD_NOT_FOUND",
            "Some methods do not exist on their classes: check the names (see closest_names) in the library's documentation.",
        ),
        (
            "ATTRIBUTE_NOT_FOUND",
            "Some attributes do not exist on their objects: verify them against the class definitions.",
        ),
        (
            "INVALID_PARAMETERS",
            "Some calls pass arguments the function does not take: check the parameter names and counts.",
        ),
        ("CLASS_NOT_FOUND", "Some classes do not exist in the parsed library: check the imports and class names."),
        ("FUNCTION_NOT_FOUND", "Some functions do not exist in the parsed library: check their names and modules."),
        ("IMPORT_NOT_FOUND", "Some imports name modules or names the parsed library does not have."),
    ];
    for (kind, text) in advice {
        if has(kind) {
            out.push(text.to_owned());
        }
    }
    if !r.syntax_error_lines.is_empty() {
        out.push(format!("The script has syntax errors on lines {:?}; the rest was checked.", r.syntax_error_lines));
    }
    if r.overall_confidence() < 0.7 {
        out.push("Overall confidence is moderate: review the flagged calls before running the script.".to_owned());
    }
    out
}

#[derive(Debug, Deserialize, JsonSchema)]
pub(crate) struct QueryKnowledgeGraphParams {
    /// `repos`, `explore <repo>`, `classes [repo]`, `class <name>`, `method <name> [class]` or
    /// `query <cypher>` (read-only).
    pub command: String,
}

#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct CommandMetadata {
    pub total_results: usize,
    /// More matched than were returned.
    pub limited: bool,
}

/// `query_knowledge_graph`'s result.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct QueryKnowledgeGraphOutput {
    pub success: bool,
    pub command: String,
    /// The command's answer (`repositories`, `statistics`, `classes`, `class`, `methods`, `results`).
    pub data: serde_json::Map<String, serde_json::Value>,
    pub metadata: CommandMetadata,
}

impl QueryKnowledgeGraphOutput {
    pub(crate) fn new(answer: CommandAnswer) -> Self {
        let data = match answer.data {
            serde_json::Value::Object(map) => map,
            other @ (serde_json::Value::Null
            | serde_json::Value::Bool(_)
            | serde_json::Value::Number(_)
            | serde_json::Value::String(_)
            | serde_json::Value::Array(_)) => std::iter::once(("value".to_owned(), other)).collect(),
        };
        Self {
            success: true,
            command: answer.command,
            data,
            metadata: CommandMetadata { total_results: answer.total_results, limited: answer.limited },
        }
    }
}
