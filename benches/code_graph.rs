//! Code graph benchmark: prints figures, never fails on time.
//!
//! 1. A generated 1,000-file repository (Python, TypeScript, JavaScript, Rust, Go, ~180 lines per
//!    file, committed with git) parsed end to end: checkout, tree-sitter on every core, graph
//!    assembly, and the graph write; files parsed per second and the write time, per backend
//!    (SQLite; Postgres when `DATABASE_URL` is set; FalkorDB when `CRAWLRAG_TEST_FALKORDB_URL`
//!    is, as `scripts/services.sh` exports). Target: under 30 s end to end on 2 cores.
//! 2. `check_ai_script_hallucinations` latency for a 300-line script against that graph: the first
//!    check (graph read back from the store and indexed) and warm checks (p50/p95). Target: < 200 ms.
//!
//! Run: `eval "$(scripts/services.sh)"; cargo bench --bench code_graph`
//! Env: CRAWLRAG_BENCH_FILES (default 1000), CRAWLRAG_BENCH_CHECKS (default 50).
#![allow(clippy::disallowed_macros, clippy::cast_precision_loss)]

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crawlrag::adapters::code_parser::TreeSitterParser;
use crawlrag::adapters::falkordb::FalkorGraph;
use crawlrag::adapters::git_checkout::GitCheckout;
use crawlrag::adapters::postgres::{PgConfig, PgStore};
use crawlrag::adapters::sqlite::SqliteStore;
use crawlrag::codegraph::{CheckRequest, CodeGraph, CodeGraphConfig, CodeGraphParts, ParseRequest};
use crawlrag::ports::CodeGraphStore;
use crawlrag::progress::NoProgress;

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("code graph benchmark: run it with `cargo bench --bench code_graph`");
        return;
    }
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    tokio::runtime::Runtime::new().expect("runtime").block_on(run());
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn run() {
    let files = env_usize("CRAWLRAG_BENCH_FILES", 1000);
    let checks = env_usize("CRAWLRAG_BENCH_CHECKS", 50);
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = dir.path().join("generated");
    let (lines, bytes) = generate_repository(&repo, files);
    println!("repository: {files} files, {lines} lines, {:.1} MiB, {} cores", bytes as f64 / 1_048_576.0, cores());

    let mut backends: Vec<(&str, Arc<dyn CodeGraphStore>)> = Vec::new();
    let sqlite = SqliteStore::open(&dir.path().join("bench.db")).await.expect("sqlite");
    backends.push(("sqlite", Arc::new(sqlite)));
    if let Ok(url) = std::env::var("DATABASE_URL") {
        let schema = format!("bench_code_{}", std::process::id());
        let config = PgConfig { url, schema: Some(schema), max_connections: 8 };
        match PgStore::connect(&config).await {
            Ok(pg) => backends.push(("postgres", Arc::new(pg))),
            Err(e) => println!("postgres: skipped ({e})"),
        }
    }
    if let Ok(url) = std::env::var("CRAWLRAG_TEST_FALKORDB_URL") {
        let graph = format!("bench_code_{}", std::process::id());
        match FalkorGraph::connect(&url, &graph).await {
            Ok(g) => backends.push(("falkordb", Arc::new(g))),
            Err(e) => println!("falkordb: skipped ({e})"),
        }
    }

    let script = script(files);
    println!(
        "{:<9} {:>9} {:>11} {:>9} {:>9} {:>9} | {:>11} {:>9} {:>9}",
        "backend", "total s", "files/s", "parse s", "write s", "reparse", "first check", "p50 ms", "p95 ms"
    );
    for (name, store) in backends {
        let code = CodeGraph::new(
            CodeGraphParts {
                repos: Arc::new(GitCheckout::default()),
                parser: Arc::new(TreeSitterParser),
                store,
                docs: None,
                cypher: None,
            },
            CodeGraphConfig::default(),
        );
        let request = ParseRequest { url: repo.display().to_string(), reference: None };
        let report = code.parse_repository(&request, &NoProgress).await.expect("parse");
        let again = code.parse_repository(&request, &NoProgress).await.expect("re-parse");
        let check = || CheckRequest {
            script_path: None,
            script_content: Some(script.clone()),
            language: Some("python".into()),
        };
        let started = Instant::now();
        let first = code.check(check()).await.expect("check");
        let cold = started.elapsed();
        let mut times = Vec::with_capacity(checks);
        for _ in 0..checks {
            let started = Instant::now();
            let outcome = code.check(check()).await.expect("check");
            times.push(started.elapsed());
            assert_eq!(outcome.report.validations.len(), first.report.validations.len());
        }
        times.sort();
        let parsed = report.counts.files as f64 / (report.parse_millis.max(1) as f64 / 1000.0);
        println!(
            "{name:<9} {:>9.2} {:>11.0} {:>9.2} {:>9.2} {:>9.2} | {:>9.1}ms {:>9.1} {:>9.1}",
            report.total_millis as f64 / 1000.0,
            parsed,
            report.parse_millis as f64 / 1000.0,
            report.write_millis as f64 / 1000.0,
            again.total_millis as f64 / 1000.0,
            ms(cold),
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.95)),
        );
        println!(
            "          graph: {} files, {} classes, {} methods, {} functions, {} attributes; script: {} checks, {} findings",
            report.counts.files,
            report.counts.classes,
            report.counts.methods,
            report.counts.functions,
            report.counts.attributes,
            first.report.validations.len(),
            first.report.findings().count(),
        );
        if let Err(e) = code.store().delete_repository(&report.repository.key).await {
            println!("          could not delete the benchmark graph: {e}");
        }
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Write `files` source files (40% Python, 25% TypeScript, 15% JavaScript, 10% Rust, 10% Go)
/// and commit them. Answers (lines, bytes).
fn generate_repository(root: &Path, files: usize) -> (usize, usize) {
    let (mut lines, mut bytes) = (0, 0);
    std::fs::create_dir_all(root.join("pkg")).unwrap();
    std::fs::write(root.join("pkg/__init__.py"), "").unwrap();
    std::fs::write(root.join("README.md"), "# generated\n").unwrap();
    std::fs::write(root.join("Cargo.toml"), "[package]\nname = \"gen\"\nversion = \"0.1.0\"\n").unwrap();
    std::fs::write(root.join("go.mod"), "module example.com/gen\n").unwrap();
    for i in 0..files {
        let (path, text) = match i % 20 {
            0..=7 => (format!("pkg/sub{}/mod{i}.py", i % 25), python(i)),
            8..=12 => (format!("web/src/part{}/panel{i}.ts", i % 10), typescript(i)),
            13..=15 => (format!("web/lib/legacy{i}.js"), javascript(i)),
            16 | 17 => (format!("src/m{}/unit{i}.rs", i % 10), rust(i)),
            _ => (format!("svc/p{}/store{i}.go", i % 10), go(i)),
        };
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        if path.extension().is_some_and(|e| e == "py") {
            let init = path.parent().unwrap().join("__init__.py");
            if !init.exists() {
                std::fs::write(init, "").unwrap();
            }
        }
        lines += text.lines().count();
        bytes += text.len();
        std::fs::write(path, text).unwrap();
    }
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .current_dir(root)
            .args(["-c", "user.name=bench", "-c", "user.email=bench@example.com", "-c", "commit.gpgsign=false"])
            .args(args)
            .output()
            .expect("git");
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "generated"]);
    (lines, bytes)
}

const METHODS: usize = 10;

fn python(i: usize) -> String {
    let mut s =
        format!("\"\"\"Module {i}.\"\"\"\nfrom typing import Optional\n\nfrom pkg.sub0.mod0 import Widget0\n\n\n");
    let base = if i == 0 { "object".to_owned() } else { "Widget0".to_owned() };
    let _ = write!(
        s,
        "class Widget{i}({base}):\n    \"\"\"Widget {i}.\"\"\"\n\n    size: int = 0\n    label: Optional[str] = None\n\n    \
         def __init__(self, name: str, *, size: int = 0, **extra) -> None:\n        self.name = name\n        \
         self._cache = {{}}\n        self.size = size\n\n"
    );
    for m in 0..METHODS {
        let _ = write!(
            s,
            "    def action_{m}(self, value: int, scale: float = 1.0, *rest, flag: bool = False) -> int:\n        \
             \"\"\"Action {m}.\"\"\"\n        total = value * scale\n        for item in rest:\n            \
             total += item\n        if flag:\n            total = -total\n        return int(total)\n\n"
        );
    }
    let _ = write!(
        s,
        "    @classmethod\n    def create(cls, name: str) -> \"Widget{i}\":\n        return cls(name)\n\n    \
         @property\n    def area(self) -> int:\n        return self.size * self.size\n\n\n\
         def helper_{i}(a: int, b: int = 2, *args, **kwargs) -> int:\n    return a + b\n"
    );
    s
}

fn typescript(i: usize) -> String {
    let mut s = format!(
        "import {{ Base }} from '../base';\n\nexport interface Shape{i} {{\n  area(): number;\n  name: string;\n}}\n\n\
         export class Panel{i} implements Shape{i} {{\n  name = 'panel';\n  private hidden = 0;\n  \
         constructor(public width: number, private height = 10) {{}}\n"
    );
    for m in 0..METHODS {
        let _ = write!(
            s,
            "  step{m}(delta: number, label?: string, ...more: number[]): number {{\n    let total = delta;\n    \
             for (const x of more) {{\n      total += x;\n    }}\n    return label ? total : -total;\n  }}\n"
        );
    }
    s.push_str("  area(): number {\n    return this.width * this.height;\n  }\n}\n\n");
    let _ = writeln!(s, "export const makePanel{i} = (w: number): Panel{i} => new Panel{i}(w);");
    s
}

fn javascript(i: usize) -> String {
    let mut s = format!("const events = require('events');\n\nclass Legacy{i} extends events.EventEmitter {{\n");
    s.push_str("  constructor(name) {\n    super();\n    this.name = name;\n  }\n");
    for m in 0..METHODS {
        let _ = write!(
            s,
            "  handle{m}(payload, ...rest) {{\n    this.emit('h{m}', payload, rest);\n    return rest.length;\n  }}\n"
        );
    }
    s.push_str("}\n\nmodule.exports = { Legacy");
    let _ = writeln!(s, "{i} }};");
    s
}

fn rust(i: usize) -> String {
    let mut s = format!(
        "//! Unit {i}.\nuse std::collections::HashMap;\n\npub trait Work{i} {{\n    fn work(&self, n: u32) -> u32;\n}}\n\n\
         pub struct Unit{i} {{\n    pub name: String,\n    cache: HashMap<u32, u32>,\n}}\n\nimpl Unit{i} {{\n    \
         pub fn new(name: &str) -> Self {{\n        Self {{ name: name.to_owned(), cache: HashMap::new() }}\n    }}\n"
    );
    for m in 0..METHODS {
        let _ = write!(
            s,
            "    pub fn op{m}(&mut self, key: u32, value: u32) -> Option<u32> {{\n        let old = self.cache.insert(key, value);\n        \
             old.map(|v| v + {m})\n    }}\n"
        );
    }
    let _ = write!(
        s,
        "}}\n\nimpl Work{i} for Unit{i} {{\n    fn work(&self, n: u32) -> u32 {{\n        n * 2\n    }}\n}}\n"
    );
    s
}

fn go(i: usize) -> String {
    let mut s = format!(
        "package p{}\n\nimport (\n\t\"errors\"\n\t\"strings\"\n)\n\ntype Base{i} struct {{\n\tID int\n}}\n\n\
         type Store{i} struct {{\n\tBase{i}\n\tName  string\n\titems map[string]int\n}}\n\n",
        i % 10
    );
    for m in 0..METHODS {
        let _ = write!(
            s,
            "func (s *Store{i}) Put{m}(name string, qty int, tags ...string) error {{\n\tif qty < 0 {{\n\t\treturn errors.New(\"negative\")\n\t}}\n\t\
             s.items[strings.TrimSpace(name)] += qty\n\treturn nil\n}}\n\n"
        );
    }
    s
}

/// A 300-line AI-style script using the generated package: mostly right, some planted mistakes.
fn script(files: usize) -> String {
    let modules: Vec<usize> = (0..files).filter(|i| i % 20 <= 7).take(40).collect();
    let mut s = String::from("import os\nimport json\n");
    for i in &modules {
        let _ = writeln!(s, "from pkg.sub{}.mod{i} import Widget{i}, helper_{i}", i % 25);
    }
    let mut n = 0;
    while s.lines().count() < 300 {
        let i = modules[n % modules.len()];
        let _ = writeln!(s, "w{n} = Widget{i}(\"w{n}\", size={n})");
        let _ = writeln!(s, "r{n} = w{n}.action_{}({n}, scale=2.0, flag=True)", n % METHODS);
        if n % 7 == 3 {
            let _ = writeln!(s, "w{n}.actionn_{}({n})", n % METHODS);
        }
        let _ = writeln!(s, "print(w{n}.area, w{n}.name, helper_{i}(r{n}, b=3))");
        n += 1;
    }
    s
}
