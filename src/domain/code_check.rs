//! The hallucination checker: a script's imports, instantiations, calls and attribute reads
//! ([`Script`]) resolved against parsed repositories ([`CodeIndex`]). Variables are followed in
//! source order (`x = Foo()` makes `x` a `Foo`; return-type and parameter annotations type
//! their results), members are looked up through inheritance, and calls are checked the way
//! Python binds arguments (positional-or-keyword parameters passed by keyword, `self`/`cls`,
//! `*args`, `**kwargs`, keyword-only and positional-only parameters).
//!
//! Anything that comes from a package that was never parsed is "uncertain", never a
//! hallucination. Confidence values follow mcp-crawl4ai-rag's checker, so reports compare.

use std::collections::HashMap;

use super::code::{Language, MethodBinding, ParamKind, SymbolKind};
use super::code_index::{CodeIndex, MemberLookup, ModuleMember, SymbolRef, bare_type_name, closest_names};
use super::script::{CallArgs, Script, ScriptEvent, ScriptExpr};

/// Suggestions listed per finding.
const SUGGESTIONS: usize = 3;

/// What was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    Import,
    Class,
    Method,
    Attribute,
    Function,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CheckStatus {
    Valid,
    /// Exists, but called wrongly.
    Invalid,
    /// Does not exist in a parsed repository.
    NotFound,
    /// Cannot be told (not from a parsed repository, or the type is unknown).
    Uncertain,
}

/// One checked use in the script.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Validation {
    pub kind: CheckKind,
    pub status: CheckStatus,
    pub confidence: f64,
    pub line: u32,
    /// The name as the script used it (`agent.run_stream`, `Agent`, `pkg.sub`).
    pub name: String,
    pub message: String,
    /// The closest real names, for a missing one or a wrong keyword.
    pub suggestions: Vec<String>,
    /// The repository (key) the checked name belongs to, when it is in the graph.
    pub repository: Option<String>,
}

impl Validation {
    /// Whether it counts towards confidence and the hallucination rate (it is about a parsed
    /// repository).
    pub fn in_graph(&self) -> bool {
        self.repository.is_some()
    }

    /// The anchor's hallucination type, for findings.
    pub fn finding_type(&self) -> Option<&'static str> {
        Some(match (self.status, self.kind) {
            (CheckStatus::Invalid, _) => "INVALID_PARAMETERS",
            (CheckStatus::NotFound, CheckKind::Method) => "METHOD_NOT_FOUND",
            (CheckStatus::NotFound, CheckKind::Attribute) => "ATTRIBUTE_NOT_FOUND",
            (CheckStatus::NotFound, CheckKind::Class) => "CLASS_NOT_FOUND",
            (CheckStatus::NotFound, CheckKind::Function) => "FUNCTION_NOT_FOUND",
            (CheckStatus::NotFound, CheckKind::Import) => "IMPORT_NOT_FOUND",
            (CheckStatus::Valid | CheckStatus::Uncertain, _) => return None,
        })
    }
}

/// What a script was found to do.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct CheckReport {
    pub validations: Vec<Validation>,
    /// Imports by module, with the repository that answered (`None`: not parsed).
    pub imports: Vec<(String, Option<String>, CheckStatus)>,
    pub syntax_error_lines: Vec<u32>,
}

impl CheckReport {
    /// Mean confidence of the checks about parsed repositories (1.0 when there are none).
    pub fn overall_confidence(&self) -> f64 {
        let graph: Vec<f64> = self.validations.iter().filter(|v| v.in_graph()).map(|v| v.confidence).collect();
        if graph.is_empty() {
            return 1.0;
        }
        #[expect(clippy::cast_precision_loss, reason = "counts are small")]
        let n = graph.len() as f64;
        graph.iter().sum::<f64>() / n
    }

    pub fn count(&self, status: CheckStatus) -> usize {
        self.validations.iter().filter(|v| v.status == status).count()
    }

    /// (invalid + not found) / (valid + invalid + not found), over checks about parsed code.
    pub fn hallucination_rate(&self) -> f64 {
        let graph = || self.validations.iter().filter(|v| v.in_graph());
        let bad = graph().filter(|v| matches!(v.status, CheckStatus::Invalid | CheckStatus::NotFound)).count();
        let decided = graph().filter(|v| v.status != CheckStatus::Uncertain).count();
        #[expect(clippy::cast_precision_loss, reason = "counts are small")]
        let rate = bad as f64 / decided.max(1) as f64;
        rate
    }

    pub fn findings(&self) -> impl Iterator<Item = &Validation> {
        self.validations.iter().filter(|v| v.finding_type().is_some())
    }
}

/// What an expression is known to be.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    /// A module of a parsed repository.
    Module {
        repo: usize,
        module: String,
    },
    /// A module (or anything) from code that was never parsed.
    External,
    /// A class or function of a parsed repository (not an instance).
    Symbol(SymbolRef),
    /// An instance of a parsed type.
    Instance(SymbolRef),
    /// Methods (overloads) bound to an instance or read off the class.
    Methods {
        methods: Vec<SymbolRef>,
        on_class: bool,
    },
    /// Defined by the script itself.
    Local,
    Unknown,
}

/// Check `script` (written in `language`) against `index`.
pub fn check_script(index: &CodeIndex, language: Language, script: &Script) -> CheckReport {
    let mut checker = Checker { index, language, env: HashMap::new(), report: CheckReport::default() };
    checker.report.syntax_error_lines.clone_from(&script.syntax_error_lines);
    for event in &script.events {
        match event {
            ScriptEvent::Import(import) => checker.import(import),
            ScriptEvent::Assign { target, value, annotation, .. } => {
                let mut v = checker.eval(value);
                if let Some(t) = annotation.as_deref().and_then(|a| checker.annotated(a)) {
                    v = t;
                }
                checker.env.insert(target.clone(), v);
            }
            ScriptEvent::Call { expr, line } => checker.call(expr, *line),
            ScriptEvent::AttributeRead { expr, line } => checker.attribute_read(expr, *line),
            ScriptEvent::LocalDefinition { name, .. } => {
                checker.env.insert(name.clone(), Value::Local);
            }
        }
    }
    checker.report
}

/// A name that is not where the script looks for it.
struct Missing<'a> {
    kind: CheckKind,
    line: u32,
    /// As the script wrote it.
    used: String,
    /// The missing name itself.
    name: &'a str,
}

struct Checker<'a> {
    index: &'a CodeIndex,
    language: Language,
    env: HashMap<String, Value>,
    report: CheckReport,
}

impl Checker<'_> {
    fn record(&mut self, v: Validation) {
        self.report.validations.push(v);
    }

    fn repo_of(&self, s: SymbolRef) -> Option<String> {
        Some(self.index.repository_key(s.repo).to_owned())
    }

    // ---- imports ----

    fn import(&mut self, import: &super::code::ParsedImport) {
        let module = import.module.as_str();
        let line = import.line;
        if module.starts_with('.') {
            // The script's own package: nothing to check.
            bind_import(&mut self.env, import, Value::Local);
            return;
        }
        let found = self.index.modules(module, self.language);
        let known = self.index.knows_package(module, self.language);
        if !known {
            self.report.imports.push((module.to_owned(), None, CheckStatus::Uncertain));
            self.record(uncertain(CheckKind::Import, line, module, "not from a parsed repository (external)", 0.8));
            bind_import(&mut self.env, import, Value::External);
            return;
        }
        let Some((repo, resolved)) = found.first().cloned() else {
            // The package is parsed but this module of it does not exist.
            let repository =
                self.index.package_repository(module, self.language).map(|r| self.index.repository_key(r).to_owned());
            if self.language_is_js() {
                // Package entry points are not always known: look names up across the package.
                self.import_js_names(import, repository);
                return;
            }
            self.report.imports.push((module.to_owned(), repository.clone(), CheckStatus::NotFound));
            self.record(Validation {
                kind: CheckKind::Import,
                status: CheckStatus::NotFound,
                confidence: 0.2,
                line,
                name: module.to_owned(),
                message: format!("module '{module}' does not exist in the parsed package"),
                suggestions: Vec::new(),
                repository,
            });
            bind_import(&mut self.env, import, Value::Unknown);
            return;
        };
        let repository = Some(self.index.repository_key(repo).to_owned());
        self.report.imports.push((module.to_owned(), repository.clone(), CheckStatus::Valid));
        if import.names.is_empty() {
            self.record(valid(CheckKind::Import, line, module, "module found in the knowledge graph", 0.9, repository));
            let bound = import.alias.clone().unwrap_or_else(|| module.split('.').next().unwrap_or(module).to_owned());
            let value = if import.alias.is_some() {
                Value::Module { repo, module: resolved }
            } else {
                Value::Module { repo, module: root_module(&resolved, self.language).to_owned() }
            };
            self.env.insert(bound, value);
            return;
        }
        if let Some(alias) = &import.alias {
            self.env.insert(alias.clone(), Value::Module { repo, module: resolved.clone() });
        }
        for (name, alias) in &import.names {
            let local = alias.clone().unwrap_or_else(|| name.clone());
            if name == "*" || name == "default" {
                continue;
            }
            match self.index.module_member(repo, &resolved, name) {
                Some(member) => {
                    let value = match member {
                        ModuleMember::Symbol(s) => Value::Symbol(s),
                        ModuleMember::Module(m) => Value::Module { repo, module: m },
                    };
                    self.record(valid(
                        CheckKind::Import,
                        line,
                        &format!("{module}.{name}"),
                        "found in the knowledge graph",
                        0.9,
                        repository.clone(),
                    ));
                    self.env.insert(local, value);
                }
                None => {
                    let missing = Missing { kind: CheckKind::Import, line, used: format!("{module}.{name}"), name };
                    self.missing_in_module(missing, repo, &resolved, module);
                    self.env.insert(local, Value::Unknown);
                }
            }
        }
    }

    /// `import { X } from 'pkg/whatever'` where the module file is not known: X must be a
    /// top-level definition somewhere in the package.
    fn import_js_names(&mut self, import: &super::code::ParsedImport, repository: Option<String>) {
        let module = &import.module;
        let repo = self.index.package_repository(module, self.language);
        self.report.imports.push((module.clone(), repository.clone(), CheckStatus::Valid));
        if let Some(alias) = &import.alias {
            self.env.insert(alias.clone(), Value::Unknown);
        }
        for (name, alias) in &import.names {
            let local = alias.clone().unwrap_or_else(|| name.clone());
            if name == "*" || name == "default" {
                self.env.insert(local, Value::Unknown);
                continue;
            }
            let hits = repo.map(|r| self.index.exported_anywhere(r, name)).unwrap_or_default();
            match hits.first() {
                Some(s) => {
                    self.record(valid(
                        CheckKind::Import,
                        import.line,
                        name,
                        "found in the knowledge graph",
                        0.9,
                        repository.clone(),
                    ));
                    self.env.insert(local, Value::Symbol(*s));
                }
                None => {
                    self.record(Validation {
                        kind: CheckKind::Import,
                        status: CheckStatus::NotFound,
                        confidence: 0.2,
                        line: import.line,
                        name: format!("{module}.{name}"),
                        message: format!("'{name}' is not exported by '{module}'"),
                        suggestions: Vec::new(),
                        repository: repository.clone(),
                    });
                    self.env.insert(local, Value::Unknown);
                }
            }
        }
    }

    /// A name a parsed module does not define, with the module's closest names.
    fn missing_in_module(&mut self, missing: Missing<'_>, repo: usize, module: &str, shown: &str) {
        let names = self.index.module_names(repo, module);
        let name = missing.name;
        self.record(Validation {
            kind: missing.kind,
            status: CheckStatus::NotFound,
            confidence: 0.2,
            line: missing.line,
            name: missing.used,
            message: format!("'{name}' is not defined in module '{shown}'"),
            suggestions: closest_names(name, &names, SUGGESTIONS),
            repository: Some(self.index.repository_key(repo).to_owned()),
        });
    }

    fn language_is_js(&self) -> bool {
        matches!(self.language, Language::JavaScript | Language::TypeScript)
    }

    // ---- values ----

    /// A type named by an annotation, through the script's names.
    fn annotated(&self, annotation: &str) -> Option<Value> {
        let name = bare_type_name(annotation)?;
        let head = annotation.trim().split(['[', '<', '|']).next().unwrap_or("").trim();
        let dotted = head.trim_start_matches("Optional").trim_matches(|c| c == '[' || c == ']');
        let expr = dotted_expr(if dotted.is_empty() { name } else { dotted });
        match self.eval(&expr) {
            Value::Symbol(s) if self.index.symbol(s).kind.is_type() => Some(Value::Instance(s)),
            Value::External => Some(Value::External),
            Value::Symbol(_)
            | Value::Module { .. }
            | Value::Instance(_)
            | Value::Methods { .. }
            | Value::Local
            | Value::Unknown => None,
        }
    }

    /// What an expression is, without reporting anything.
    fn eval(&self, expr: &ScriptExpr) -> Value {
        match expr {
            ScriptExpr::Name(n) => self.env.get(n).cloned().unwrap_or(Value::Unknown),
            ScriptExpr::Attribute { object, name } => {
                let object = self.eval(object);
                self.member_value(&object, name).unwrap_or(Value::Unknown)
            }
            ScriptExpr::Call { callee, .. } => match self.eval(callee) {
                Value::Symbol(s) if self.index.symbol(s).kind.is_type() => Value::Instance(s),
                Value::Symbol(s) => self.returned(s),
                Value::Methods { methods, .. } => methods.first().map_or(Value::Unknown, |m| self.returned(*m)),
                Value::External => Value::External,
                Value::Module { .. } | Value::Instance(_) | Value::Local | Value::Unknown => Value::Unknown,
            },
            ScriptExpr::Other => Value::Unknown,
        }
    }

    /// What a function's or method's call gives, from its return type.
    fn returned(&self, f: SymbolRef) -> Value {
        let symbol = self.index.symbol(f);
        let Some(ret) = symbol.return_type.as_deref() else { return Value::Unknown };
        if matches!(ret.trim(), "Self" | "'Self'" | "\"Self\"" | "this")
            && let Some(owner) = self.owner(f)
        {
            return Value::Instance(owner);
        }
        self.index.type_named(f, ret).map_or(Value::Unknown, Value::Instance)
    }

    fn owner(&self, member: SymbolRef) -> Option<SymbolRef> {
        self.index.parent_of(member)
    }

    /// `object.name` as a value, `None` when it cannot be told or does not exist.
    fn member_value(&self, object: &Value, name: &str) -> Option<Value> {
        match object {
            Value::Module { repo, module } => Some(match self.index.module_member(*repo, module, name)? {
                ModuleMember::Symbol(s) => Value::Symbol(s),
                ModuleMember::Module(m) => Value::Module { repo: *repo, module: m },
            }),
            Value::External => Some(Value::External),
            Value::Instance(t) | Value::Symbol(t) if self.index.symbol(*t).kind.is_type() => {
                let on_class = matches!(object, Value::Symbol(_));
                match self.index.member(*t, name) {
                    MemberLookup::Found(found) => Some(self.found_member(&found, on_class)),
                    MemberLookup::MaybeInherited(_) => Some(Value::External),
                    MemberLookup::Missing => None,
                }
            }
            Value::Instance(_) | Value::Symbol(_) | Value::Methods { .. } | Value::Local | Value::Unknown => None,
        }
    }

    fn found_member(&self, found: &[SymbolRef], on_class: bool) -> Value {
        let first = self.index.symbol(found[0]);
        match first.kind {
            SymbolKind::Method if first.binding == MethodBinding::Property => self.returned(found[0]),
            SymbolKind::Method | SymbolKind::Function => Value::Methods { methods: found.to_vec(), on_class },
            SymbolKind::Attribute => first
                .type_name
                .as_deref()
                .and_then(|t| self.index.type_named(found[0], t))
                .map_or(Value::Unknown, Value::Instance),
            SymbolKind::Class | SymbolKind::Struct | SymbolKind::Trait | SymbolKind::Interface | SymbolKind::Enum => {
                Value::Symbol(found[0])
            }
        }
    }

    // ---- events ----

    fn call(&mut self, expr: &ScriptExpr, line: u32) {
        let ScriptExpr::Call { callee, args } = expr else { return };
        let used = callee.dotted().unwrap_or_else(|| describe(callee));
        match callee.as_ref() {
            ScriptExpr::Name(_) => match self.eval(callee) {
                Value::Symbol(s) => self.check_callable(s, args, line, &used, false),
                Value::External => {
                    let kind = if looks_like_class(&used) { CheckKind::Class } else { CheckKind::Function };
                    self.record(uncertain(kind, line, &used, "not from a parsed repository", 0.8));
                }
                Value::Module { .. } | Value::Instance(_) | Value::Methods { .. } | Value::Local | Value::Unknown => {}
            },
            ScriptExpr::Attribute { object, name } => {
                let owner = self.eval(object);
                self.call_member(&owner, name, args, line, &used);
            }
            ScriptExpr::Call { .. } | ScriptExpr::Other => {}
        }
    }

    fn call_member(&mut self, owner: &Value, name: &str, args: &CallArgs, line: u32, used: &str) {
        match owner {
            Value::Module { repo, module } => match self.index.module_member(*repo, module, name) {
                Some(ModuleMember::Symbol(s)) => self.check_callable(s, args, line, used, false),
                Some(ModuleMember::Module(_)) => {}
                None => {
                    let kind = if looks_like_class(name) { CheckKind::Class } else { CheckKind::Function };
                    self.missing_in_module(Missing { kind, line, used: used.to_owned(), name }, *repo, module, module);
                }
            },
            Value::Instance(t) | Value::Symbol(t) if self.index.symbol(*t).kind.is_type() => {
                let on_class = matches!(owner, Value::Symbol(_));
                let type_name = self.index.symbol(*t).name.clone();
                let repository = self.repo_of(*t);
                match self.index.member(*t, name) {
                    MemberLookup::Found(found) => {
                        let first = self.index.symbol(found[0]);
                        if matches!(first.kind, SymbolKind::Method | SymbolKind::Function) {
                            self.check_arguments(&found, args, line, used, CheckKind::Method, on_class);
                        } else if first.kind.is_type() {
                            self.check_callable(found[0], args, line, used, false);
                        } else {
                            self.record(valid(CheckKind::Attribute, line, used, "callable attribute", 0.8, repository));
                        }
                    }
                    MemberLookup::MaybeInherited(base) => self.record(Validation {
                        repository: None,
                        ..uncertain(
                            CheckKind::Method,
                            line,
                            used,
                            &format!("not on {type_name}; may come from {base}, which was not parsed"),
                            0.8,
                        )
                    }),
                    MemberLookup::Missing => {
                        let names = self.index.member_names(*t);
                        self.record(Validation {
                            kind: CheckKind::Method,
                            status: CheckStatus::NotFound,
                            confidence: 0.1,
                            line,
                            name: used.to_owned(),
                            message: format!("method '{name}' not found on class '{type_name}' (nor its bases)"),
                            suggestions: closest_names(name, &names, SUGGESTIONS),
                            repository,
                        });
                    }
                }
            }
            Value::External => {
                self.record(uncertain(CheckKind::Method, line, used, "not from a parsed repository", 0.8))
            }
            Value::Instance(_) | Value::Symbol(_) | Value::Methods { .. } | Value::Local | Value::Unknown => {}
        }
    }

    /// A class instantiated or a function called by name.
    fn check_callable(&mut self, s: SymbolRef, args: &CallArgs, line: u32, used: &str, on_class: bool) {
        let symbol = self.index.symbol(s);
        if symbol.kind.is_type() {
            let ctor = if self.language_is_js() { "constructor" } else { "__init__" };
            match self.index.member(s, ctor) {
                MemberLookup::Found(found) => self.check_arguments(&found, args, line, used, CheckKind::Class, false),
                MemberLookup::MaybeInherited(_) => {
                    self.record(valid(
                        CheckKind::Class,
                        line,
                        used,
                        "class found; its constructor comes from an unparsed base",
                        0.8,
                        self.repo_of(s),
                    ));
                }
                MemberLookup::Missing => {
                    // No constructor anywhere: a plain class takes no arguments, but dataclass-
                    // style classes (annotated fields) take their fields: cannot be told.
                    let has_fields =
                        self.index.own_members(s).iter().any(|m| self.index.symbol(*m).kind == SymbolKind::Attribute);
                    let takes_none = !has_fields && args.positional == 0 && args.keywords.is_empty();
                    let (status, confidence, message) = if takes_none || has_fields || self.language_is_js() {
                        (CheckStatus::Valid, 0.8, "class found".to_owned())
                    } else {
                        (
                            CheckStatus::Invalid,
                            0.8,
                            format!("{} takes no arguments (it defines no {ctor})", symbol.name),
                        )
                    };
                    self.record(Validation {
                        kind: CheckKind::Class,
                        status,
                        confidence,
                        line,
                        name: used.to_owned(),
                        message,
                        suggestions: Vec::new(),
                        repository: self.repo_of(s),
                    });
                }
            }
        } else if matches!(symbol.kind, SymbolKind::Function | SymbolKind::Method) {
            let overloads: Vec<SymbolRef> = self
                .index
                .find(|o| o.parent == symbol.parent && o.file == symbol.file && o.name == symbol.name)
                .into_iter()
                .filter(|o| o.repo == s.repo)
                .collect();
            self.check_arguments(&overloads, args, line, used, CheckKind::Function, on_class);
        }
    }

    /// Arguments against every overload: valid when one accepts them.
    fn check_arguments(
        &mut self,
        overloads: &[SymbolRef],
        args: &CallArgs,
        line: u32,
        used: &str,
        kind: CheckKind,
        on_class: bool,
    ) {
        let repository = overloads.first().and_then(|s| self.repo_of(*s));
        let mut first_problem = None;
        for &o in overloads {
            let symbol = self.index.symbol(o);
            // An instance method read off the class takes the instance as its first argument.
            let receiver =
                usize::from(on_class && symbol.kind == SymbolKind::Method && symbol.binding == MethodBinding::Instance);
            match bind_arguments(&symbol.params, args, receiver, self.language) {
                Ok(()) => {
                    let confidence = if kind == CheckKind::Method { 0.9 } else { 0.8 };
                    self.record(valid(
                        kind,
                        line,
                        used,
                        "found; arguments match its parameters",
                        confidence,
                        repository,
                    ));
                    return;
                }
                Err(problem) => {
                    first_problem.get_or_insert(problem);
                }
            }
        }
        if let Some((message, wrong_keyword)) = first_problem {
            let suggestions = wrong_keyword
                .map(|k| {
                    let names: Vec<String> = overloads
                        .iter()
                        .flat_map(|o| self.index.symbol(*o).params.iter().map(|p| p.name.clone()))
                        .collect();
                    closest_names(&k, &names, SUGGESTIONS)
                })
                .unwrap_or_default();
            self.record(Validation {
                kind,
                status: CheckStatus::Invalid,
                confidence: if message.starts_with("unexpected keyword") { 0.7 } else { 0.8 },
                line,
                name: used.to_owned(),
                message,
                suggestions,
                repository,
            });
        }
    }

    fn attribute_read(&mut self, expr: &ScriptExpr, line: u32) {
        let ScriptExpr::Attribute { object, name } = expr else { return };
        let used = expr.dotted().unwrap_or_else(|| format!("{}.{name}", describe(object)));
        let owner = self.eval(object);
        match &owner {
            Value::Module { repo, module } => {
                if self.index.module_member(*repo, module, name).is_none() {
                    self.missing_in_module(
                        Missing { kind: CheckKind::Attribute, line, used, name },
                        *repo,
                        module,
                        module,
                    );
                }
            }
            Value::Instance(t) | Value::Symbol(t) if self.index.symbol(*t).kind.is_type() => {
                let type_name = self.index.symbol(*t).name.clone();
                let repository = self.repo_of(*t);
                match self.index.member(*t, name) {
                    MemberLookup::Found(_) => {
                        self.record(valid(CheckKind::Attribute, line, &used, "attribute found", 0.8, repository));
                    }
                    MemberLookup::MaybeInherited(base) => self.record(uncertain(
                        CheckKind::Attribute,
                        line,
                        &used,
                        &format!("not on {type_name}; may come from {base}, which was not parsed"),
                        0.8,
                    )),
                    MemberLookup::Missing if is_builtin_attribute(name, self.language) => {}
                    MemberLookup::Missing => {
                        let names = self.index.member_names(*t);
                        self.record(Validation {
                            kind: CheckKind::Attribute,
                            status: CheckStatus::NotFound,
                            confidence: 0.2,
                            line,
                            name: used,
                            message: format!("attribute '{name}' not found on class '{type_name}' (nor its bases)"),
                            suggestions: closest_names(name, &names, SUGGESTIONS),
                            repository,
                        });
                    }
                }
            }
            Value::External => {
                self.record(uncertain(CheckKind::Attribute, line, &used, "not from a parsed repository", 0.8))
            }
            Value::Instance(_) | Value::Symbol(_) | Value::Methods { .. } | Value::Local | Value::Unknown => {}
        }
    }
}

/// Attributes every object has (`__class__`, `__dict__`, JS `constructor`, ...).
fn is_builtin_attribute(name: &str, language: Language) -> bool {
    match language {
        Language::Python => name.starts_with("__") && name.ends_with("__"),
        Language::JavaScript | Language::TypeScript => matches!(name, "constructor" | "prototype" | "name" | "length"),
        Language::Rust | Language::Go => false,
    }
}

/// Bind a call's arguments to parameters the way the language does; `Err` says what is wrong
/// (and the wrong keyword, for suggestions). `receiver` positional arguments fill the receiver.
fn bind_arguments(
    params: &[super::code::Param],
    args: &CallArgs,
    receiver: usize,
    language: Language,
) -> Result<(), (String, Option<String>)> {
    let positional_params: Vec<&super::code::Param> = params
        .iter()
        .filter(|p| matches!(p.kind, ParamKind::PositionalOnly | ParamKind::PositionalOrKeyword))
        .collect();
    let var_positional = params.iter().any(|p| p.kind == ParamKind::VarPositional);
    let var_keyword = params.iter().any(|p| p.kind == ParamKind::VarKeyword);
    let Some(positional) = args.positional.checked_sub(receiver) else {
        return Err((format!("missing the instance argument (self) and {} more", receiver - args.positional), None));
    };
    if language == Language::JavaScript {
        // JavaScript ignores extra arguments and fills missing ones with undefined.
        return Ok(());
    }
    if !args.star_args && !var_positional && positional > positional_params.len() {
        return Err((
            format!("too many positional arguments: takes {}, got {positional}", positional_params.len()),
            None,
        ));
    }
    let mut bound: Vec<&str> = positional_params.iter().take(positional).map(|p| p.name.as_str()).collect();
    for k in &args.keywords {
        match params.iter().find(|p| &p.name == k) {
            Some(p) if matches!(p.kind, ParamKind::PositionalOrKeyword | ParamKind::KeywordOnly) => {
                if bound.contains(&k.as_str()) {
                    return Err((format!("got multiple values for argument '{k}'"), None));
                }
                bound.push(k);
            }
            Some(p) if p.kind == ParamKind::PositionalOnly && !var_keyword => {
                return Err((format!("'{k}' is positional-only but was passed by keyword"), None));
            }
            Some(_) => {}
            None if var_keyword => {}
            None => return Err((format!("unexpected keyword argument '{k}'"), Some(k.clone()))),
        }
    }
    if args.star_args || args.star_kwargs {
        return Ok(());
    }
    let missing: Vec<&str> = params
        .iter()
        .filter(|p| p.is_required() && !bound.contains(&p.name.as_str()))
        .map(|p| p.name.as_str())
        .collect();
    if !missing.is_empty() {
        return Err((format!("missing required argument(s): {}", missing.join(", ")), None));
    }
    Ok(())
}

fn bind_import(env: &mut HashMap<String, Value>, import: &super::code::ParsedImport, value: Value) {
    if let Some(alias) = &import.alias {
        env.insert(alias.clone(), value.clone());
    }
    for (name, alias) in &import.names {
        env.insert(alias.clone().unwrap_or_else(|| name.clone()), value.clone());
    }
    if import.names.is_empty() && import.alias.is_none() {
        let root = import.module.trim_start_matches('.').split('.').next().unwrap_or_default().to_owned();
        if !root.is_empty() {
            env.insert(root, value);
        }
    }
}

fn root_module(module: &str, language: Language) -> &str {
    match language {
        Language::Python => module.split('.').next().unwrap_or(module),
        Language::JavaScript | Language::TypeScript | Language::Rust | Language::Go => module,
    }
}

fn dotted_expr(dotted: &str) -> ScriptExpr {
    let mut parts = dotted.split('.');
    let first = ScriptExpr::name(parts.next().unwrap_or_default());
    parts.fold(first, ScriptExpr::attr)
}

fn looks_like_class(name: &str) -> bool {
    name.rsplit('.').next().and_then(|n| n.chars().next()).is_some_and(char::is_uppercase)
}

fn describe(expr: &ScriptExpr) -> String {
    match expr {
        ScriptExpr::Name(n) => n.clone(),
        ScriptExpr::Attribute { object, name } => format!("{}.{name}", describe(object)),
        ScriptExpr::Call { callee, .. } => format!("{}()", describe(callee)),
        ScriptExpr::Other => "<expr>".to_owned(),
    }
}

fn valid(
    kind: CheckKind,
    line: u32,
    name: &str,
    message: &str,
    confidence: f64,
    repository: Option<String>,
) -> Validation {
    Validation {
        kind,
        status: CheckStatus::Valid,
        confidence,
        line,
        name: name.to_owned(),
        message: message.to_owned(),
        suggestions: Vec::new(),
        repository,
    }
}

fn uncertain(kind: CheckKind, line: u32, name: &str, message: &str, confidence: f64) -> Validation {
    Validation {
        kind,
        status: CheckStatus::Uncertain,
        confidence,
        line,
        name: name.to_owned(),
        message: message.to_owned(),
        suggestions: Vec::new(),
        repository: None,
    }
}
