//! The dependency rule of `docs/architecture.md`, checked on the source: which top-level module
//! may name which (`crate::<module>` paths outside test code), and no module cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module -> the modules it names in non-test code.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stack = vec![src.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let relative = path.strip_prefix(&src).unwrap().to_string_lossy().into_owned();
            let module = relative.split('/').next().unwrap().trim_end_matches(".rs").to_owned();
            if matches!(module.as_str(), "lib" | "main") || relative.ends_with("tests.rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // Unit tests sit at the end of a file, after `#[cfg(test)]`.
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            let named = edges.entry(module.clone()).or_default();
            for (i, _) in code.match_indices("crate::") {
                let rest = &code[i + "crate::".len()..];
                let target: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
                if !target.is_empty() && target != module {
                    named.insert(target);
                }
            }
        }
    }
    edges
}

#[test]
fn modules_import_only_downwards_and_form_no_cycle() {
    let edges = imports();
    let may_not = |module: &str, forbidden: &[&str]| {
        let named = edges.get(module).cloned().unwrap_or_default();
        let bad: Vec<&String> = named.iter().filter(|m| forbidden.contains(&m.as_str())).collect();
        assert!(bad.is_empty(), "{module} must not import {bad:?}");
    };
    let services = ["crawl", "ingest", "retrieve", "graphrag", "sources", "jobs", "codegraph", "cluster"];
    let fronts = ["mcp", "transport", "cli", "app"];
    may_not(
        "domain",
        &[
            "adapters",
            "app",
            "cli",
            "cluster",
            "codegraph",
            "config",
            "crawl",
            "graphrag",
            "ingest",
            "jobs",
            "mcp",
            "ports",
            "retrieve",
            "sources",
            "transport",
        ],
    );
    may_not("config", &[&["adapters"][..], &services, &fronts].concat());
    may_not("ports", &[&["adapters", "config"][..], &services, &fronts].concat());
    may_not("adapters", &[&["config"][..], &services, &fronts].concat());
    for service in services {
        may_not(service, &[&["adapters", "config"][..], &fronts].concat());
    }
    may_not("mcp", &["adapters", "transport", "cli"]);
    // No cycle among the top-level modules.
    fn visit<'a>(
        node: &'a str,
        edges: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) {
        if done.contains(node) {
            return;
        }
        assert!(!path.contains(&node), "import cycle: {path:?} -> {node}");
        path.push(node);
        for next in edges.get(node).into_iter().flatten() {
            visit(next, edges, path, done);
        }
        path.pop();
        done.insert(node);
    }
    let mut done = BTreeSet::new();
    for module in edges.keys() {
        visit(module, &edges, &mut Vec::new(), &mut done);
    }
}
