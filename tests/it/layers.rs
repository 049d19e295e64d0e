//! The crate's layering, checked by reading `src/**/*.rs`: the module graph has no cycle, the
//! codecs know nothing of SQL or of the layers above them, the HTTP server knows nothing of the
//! protocols it carries, and only the endpoints (and the start-up module that wires them to the
//! server) see requests and responses.
//!
//! Why read the sources instead of asking the compiler: the rules are about which module names
//! which, and a small lexer answers that with std alone. The model is deliberately simple:
//!
//! - one module per file (`src/lib.rs` is `crate`, `src/a.rs` and `src/a/mod.rs` are `a`,
//!   `src/a/b.rs` is `a::b`; `src/main.rs` is the binary, a crate of its own, and is skipped);
//! - only production code counts: comments, the contents of literals and every item marked
//!   `#[cfg(test)]` are removed before anything is read;
//! - an edge is a path that names a module of this crate (`crate::…`, `super::…`, `self::…`,
//!   or a path starting with a child module's name or a module imported by `use`), resolved to
//!   the longest prefix that is a module. `mod x;` alone is not an edge; using `x::…` is.
//!
//! Each rule is a pure function of a `&[(module path, source)]` set, so that the tests at the
//! bottom can show on a tiny synthetic tree that it bites; the four tests on the real tree
//! list every violation, one line each, with its file and line.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs;
use std::path::Path;

// ---------------------------------------------------------------------------------------------
// The rules as data: a change of the tree changes one line here.
//
// A pattern `m` is the module `m` itself; `m::*` is every module below `m` (not `m` itself).
// ---------------------------------------------------------------------------------------------

/// The codecs: bytes to values and back. They must stay usable (and fuzzable) without a
/// database, a server or a handler.
const CODECS: &[&str] = &[
    "value",
    "xml",
    "xml::*",
    "xmlrpc",
    "soap",
    "xcp::envelope",
    "xss::changes",
    "reset::form",
];

/// What a codec may use outside the codecs. `clock`: XML-RPC's `dateTime.iso8601` is decoded
/// with `clock::days_from_civil` (src/xml.rs), the only such use today. `logging`: sanitises
/// text for log lines and depends only on `clock`, so it cannot pull a codec into a layer
/// above (no codec uses it today; drop it here if none ever should). Not `http::budget`: a
/// codec is bounded by its `xml::Allowance`, which the caller feeds from the HTTP budget, so
/// no codec names the budget. `hex`: the XCP signature is MD5 written in hex; `hex` uses nothing
/// of the crate.
const CODEC_ALLOWED: &[&str] = &["clock", "hex", "logging"];

/// Crates a codec must not name: the store is the handlers' business.
const CODEC_FORBIDDEN_CRATES: &[&str] = &["rusqlite"];

/// The HTTP layer: `http` and everything below it.
const HTTP_ROOT: &str = "http";

/// What the HTTP layer may use outside itself: exactly what src/http/server.rs uses today,
/// `clock` (the `Date` header) and `logging` (`logging::sanitize` on a method before it is
/// logged). Not `config`: the start-up module turns the configuration into
/// `http::ServerOptions`, so the server never reads the configuration's types; and `config`
/// already uses `http::Cidr`, so `http` → `config` would be a cycle.
const HTTP_ALLOWED: &[&str] = &["clock", "logging"];

/// The endpoints layer: the only modules (with `http`, which defines them, and the start-up
/// module) that see requests and responses.
const ENDPOINTS_ROOT: &str = "endpoints";

/// The start-up module, which binds the listeners and hands the server its endpoints.
const STARTUP_MODULE: &str = "serve";

/// The names that belong to the request/response layer: outside the endpoints, `http` and the
/// start-up module, no module names them. Whole identifiers: `LinkRequest` is not `Request`.
const REQUEST_NAMES: &[&str] = &["Request", "Response", "Worker", "Shared"];

/// The crate root's module path.
const ROOT: &str = "crate";

// ---------------------------------------------------------------------------------------------
// The four rules on the real tree.
// ---------------------------------------------------------------------------------------------

#[test]
fn no_import_cycles() {
    let tree = RealTree::read();
    assert_obeyed(
        "no_import_cycles",
        "the module graph has no cycle",
        &tree,
        &[],
        import_cycles(&tree.sources()),
    );
}

#[test]
fn codecs_know_no_sql() {
    let tree = RealTree::read();
    let stale = tree.stale_rule_data(&[CODECS, CODEC_ALLOWED]);
    let found = codec_violations(&tree.sources());
    assert_obeyed("codecs_know_no_sql", &codec_rule(), &tree, &stale, found);
}

#[test]
fn http_knows_no_protocol() {
    let tree = RealTree::read();
    let stale = tree.stale_rule_data(&[&[HTTP_ROOT], HTTP_ALLOWED]);
    let found = http_violations(&tree.sources());
    assert_obeyed("http_knows_no_protocol", &http_rule(), &tree, &stale, found);
}

#[test]
fn only_endpoints_see_requests() {
    let tree = RealTree::read();
    let stale = tree.stale_rule_data(&[&[ENDPOINTS_ROOT, STARTUP_MODULE, HTTP_ROOT]]);
    let found = request_violations(&tree.sources());
    assert_obeyed(
        "only_endpoints_see_requests",
        &request_rule(),
        &tree,
        &stale,
        found,
    );
}

/// The tests above are only worth something if the tree is read at all, so this one fails if
/// the reading breaks (no files found, or a well-known edge missing).
#[test]
fn the_real_tree_is_read() {
    let tree = RealTree::read();
    let model = Model::build(&tree.sources());
    for module in [ROOT, "http", "xml::reader", "xcp::envelope"] {
        assert!(
            model.modules.contains(module),
            "module `{module}` not found in src/ (found: {:?})",
            model.modules
        );
    }
    assert!(
        !model.modules.contains("main"),
        "src/main.rs is the binary, not a module"
    );
    for (from, to) in [("xmlrpc", "value"), ("xcp::envelope", "xml")] {
        assert!(
            model.edges.iter().any(|e| e.from == from && e.to == to),
            "the edge {from} → {to} (a `use crate::…` in {}) was not found",
            tree.file_of(from)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The rules as pure functions of a source set.
// ---------------------------------------------------------------------------------------------

/// One broken rule, at one place. `cycle` lists the edges of a cycle, each with its place.
#[derive(Debug)]
struct Violation {
    module: String,
    line: usize,
    what: String,
    cycle: Vec<Edge>,
}

impl Violation {
    fn at(module: &str, line: usize, what: String) -> Self {
        Violation {
            module: module.to_string(),
            line,
            what,
            cycle: Vec::new(),
        }
    }

    /// One line: `file:line: what[: a → b (file:line `path`); …]`.
    fn render(&self, file_of: &dyn Fn(&str) -> String) -> String {
        let mut out = format!("{}:{}: {}", file_of(&self.module), self.line, self.what);
        let steps: Vec<String> = self
            .cycle
            .iter()
            .map(|e| {
                format!(
                    "{} → {} ({}:{} `{}`)",
                    e.from,
                    e.to,
                    file_of(&e.from),
                    e.line,
                    e.path
                )
            })
            .collect();
        if !steps.is_empty() {
            out.push_str(": ");
            out.push_str(&steps.join("; "));
        }
        out
    }
}

/// Rule 1: every strongly connected component of more than one module is a cycle. One
/// violation per component: its members, and one cycle through them with each edge's place.
fn import_cycles(sources: &[(&str, &str)]) -> Vec<Violation> {
    let model = Model::build(sources);
    let first = model.first_edges();
    let mut successors: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (edge, _) in &first {
        successors.entry(&edge.from).or_default().insert(&edge.to);
    }
    let mut found = Vec::new();
    for component in strongly_connected(&model.modules, &successors) {
        if component.len() < 2 {
            continue; // edges to the module itself are never recorded, so one is no cycle
        }
        let members: BTreeSet<&str> = component.iter().copied().collect();
        let path = cycle_through(component[0], &members, &successors);
        let cycle: Vec<Edge> = path
            .iter()
            .zip(path.iter().cycle().skip(1))
            .map(|(from, to)| {
                let (edge, _) = first
                    .iter()
                    .find(|(e, _)| e.from == *from && e.to == *to)
                    .expect("a cycle is made of recorded edges");
                (*edge).clone()
            })
            .collect();
        let names: Vec<&str> = members.iter().copied().collect();
        found.push(Violation {
            module: cycle[0].from.clone(),
            line: cycle[0].line,
            what: format!("cycle among {}", names.join(", ")),
            cycle,
        });
    }
    found
}

fn codec_rule() -> String {
    format!(
        "a codec ({}) names no {} and depends on no module outside the codecs but {}",
        CODECS.join(", "),
        CODEC_FORBIDDEN_CRATES.join(", "),
        CODEC_ALLOWED.join(", ")
    )
}

/// Rule 2: a codec names no forbidden crate, and depends only on codecs and the allowlist.
fn codec_violations(sources: &[(&str, &str)]) -> Vec<Violation> {
    let model = Model::build(sources);
    let is_codec = |m: &str| CODECS.iter().any(|p| matches(p, m));
    let mut found = Vec::new();
    for module in model.modules.iter().filter(|m| is_codec(m)) {
        for name in CODEC_FORBIDDEN_CRATES {
            if let Some((line, count)) = model.occurrences(module, name) {
                found.push(Violation::at(
                    module,
                    line,
                    format!("codec `{module}` names `{name}`{}", more(count)),
                ));
            }
        }
    }
    for (edge, count) in model.first_edges() {
        if is_codec(&edge.from)
            && !is_codec(&edge.to)
            && !CODEC_ALLOWED.iter().any(|p| matches(p, &edge.to))
        {
            found.push(Violation::at(
                &edge.from,
                edge.line,
                format!(
                    "codec `{}` depends on `{}` via `{}`{}",
                    edge.from,
                    edge.to,
                    edge.path,
                    more(count)
                ),
            ));
        }
    }
    found.sort_by(|a, b| (&a.module, a.line).cmp(&(&b.module, b.line)));
    found
}

fn http_rule() -> String {
    format!(
        "`{HTTP_ROOT}` and `{HTTP_ROOT}::*` depend on no module outside `{HTTP_ROOT}` but {}",
        HTTP_ALLOWED.join(", ")
    )
}

/// Rule 3: the HTTP layer depends only on itself and its allowlist.
fn http_violations(sources: &[(&str, &str)]) -> Vec<Violation> {
    let model = Model::build(sources);
    model
        .first_edges()
        .into_iter()
        .filter(|(e, _)| {
            in_tree(HTTP_ROOT, &e.from)
                && !in_tree(HTTP_ROOT, &e.to)
                && !HTTP_ALLOWED.iter().any(|p| matches(p, &e.to))
        })
        .map(|(e, count)| {
            Violation::at(
                &e.from,
                e.line,
                format!(
                    "`{}` depends on `{}` via `{}`{}",
                    e.from,
                    e.to,
                    e.path,
                    more(count)
                ),
            )
        })
        .collect()
}

fn request_rule() -> String {
    format!(
        "outside `{ENDPOINTS_ROOT}`, `{ENDPOINTS_ROOT}::*`, `{HTTP_ROOT}`, `{HTTP_ROOT}::*`, the \
         start-up module `{STARTUP_MODULE}` and the crate root, no module names {} or depends on \
         `{ENDPOINTS_ROOT}`",
        REQUEST_NAMES
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Rule 4: only the endpoints, `http` and the start-up module see requests and responses.
fn request_violations(sources: &[(&str, &str)]) -> Vec<Violation> {
    let model = Model::build(sources);
    let may_see_requests = |m: &str| {
        m == ROOT || m == STARTUP_MODULE || in_tree(ENDPOINTS_ROOT, m) || in_tree(HTTP_ROOT, m)
    };
    let mut found = Vec::new();
    for module in model.modules.iter().filter(|m| !may_see_requests(m)) {
        for name in REQUEST_NAMES {
            if let Some((line, count)) = model.occurrences(module, name) {
                found.push(Violation::at(
                    module,
                    line,
                    format!("`{module}` names `{name}`{}", more(count)),
                ));
            }
        }
    }
    for (edge, count) in model.first_edges() {
        if !may_see_requests(&edge.from) && in_tree(ENDPOINTS_ROOT, &edge.to) {
            found.push(Violation::at(
                &edge.from,
                edge.line,
                format!(
                    "`{}` depends on `{}` via `{}`{}",
                    edge.from,
                    edge.to,
                    edge.path,
                    more(count)
                ),
            ));
        }
    }
    found.sort_by(|a, b| (&a.module, a.line).cmp(&(&b.module, b.line)));
    found
}

/// `" (+N more)"` when a name or edge occurs more than once: the report shows the first place.
fn more(count: usize) -> String {
    if count > 1 {
        format!(" (+{} more)", count - 1)
    } else {
        String::new()
    }
}

/// Whether `module` matches `pattern`: `m` is `m` itself, `m::*` is every module below `m`.
fn matches(pattern: &str, module: &str) -> bool {
    match pattern.strip_suffix("::*") {
        Some(root) => module
            .strip_prefix(root)
            .is_some_and(|rest| rest.starts_with("::")),
        None => pattern == module,
    }
}

/// `root` or a module below it.
fn in_tree(root: &str, module: &str) -> bool {
    module == root || matches(&format!("{root}::*"), module)
}

// ---------------------------------------------------------------------------------------------
// The real tree.
// ---------------------------------------------------------------------------------------------

/// `src/**/*.rs` of this crate: module path → (file relative to the crate, source).
struct RealTree {
    modules: BTreeMap<String, (String, String)>,
}

impl RealTree {
    fn read() -> Self {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let mut modules = BTreeMap::new();
        for file in files {
            let relative = file.strip_prefix(&src).expect("found under src/");
            let relative = relative
                .to_str()
                .expect("a UTF-8 file name")
                .replace('\\', "/");
            let Some(module) = module_of_file(&relative) else {
                continue;
            };
            let source = fs::read_to_string(&file)
                .unwrap_or_else(|e| panic!("reading {}: {e}", file.display()));
            let previous = modules.insert(module.clone(), (format!("src/{relative}"), source));
            assert!(
                previous.is_none(),
                "two files for module `{module}` (a.rs and a/mod.rs?)"
            );
        }
        assert!(
            !modules.is_empty(),
            "no .rs file found under {}",
            src.display()
        );
        RealTree { modules }
    }

    fn sources(&self) -> Vec<(&str, &str)> {
        self.modules
            .iter()
            .map(|(m, (_, s))| (m.as_str(), s.as_str()))
            .collect()
    }

    fn file_of(&self, module: &str) -> String {
        self.modules
            .get(module)
            .map_or_else(|| format!("<{module}>"), |(f, _)| f.clone())
    }

    /// A rule that names a module the tree no longer has silently stops guarding it: each
    /// module (or `m::*` pattern) in `lists` must match at least one module of the tree. One
    /// line per pattern that matches none.
    fn stale_rule_data(&self, lists: &[&[&str]]) -> Vec<String> {
        lists
            .iter()
            .flat_map(|list| list.iter())
            .filter(|pattern| !self.modules.keys().any(|m| matches(pattern, m)))
            .map(|pattern| {
                format!(
                    "tests/it/layers.rs: the rule data names `{pattern}`, which matches no module \
                     of src/"
                )
            })
            .collect()
    }
}

/// Every `.rs` file under `dir`, recursively, sorted so that reports come in a stable order.
fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    let mut paths: Vec<_> = entries
        .map(|e| e.expect("a directory entry").path())
        .collect();
    paths.sort();
    for path in paths {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The module a file under `src/` holds, or `None` for the binaries (`main.rs`, `bin/`), which
/// are crates of their own.
fn module_of_file(relative: &str) -> Option<String> {
    let stem = relative.strip_suffix(".rs")?;
    if stem == "main" || stem.starts_with("bin/") {
        return None;
    }
    if stem == "lib" {
        return Some(ROOT.to_string());
    }
    let stem = stem.strip_suffix("/mod").unwrap_or(stem);
    Some(stem.replace('/', "::"))
}

/// Panics with every violation, one a line, under the rule they break; first the rule data
/// that names modules the tree does not have (`stale`).
fn assert_obeyed(name: &str, rule: &str, tree: &RealTree, stale: &[String], found: Vec<Violation>) {
    if stale.is_empty() && found.is_empty() {
        return;
    }
    let lines: Vec<String> = stale
        .iter()
        .cloned()
        .chain(found.iter().map(|v| v.render(&|m| tree.file_of(m))))
        .map(|line| format!("  {line}"))
        .collect();
    panic!(
        "rule `{name}` broken {} time(s). The rule: {rule}.\n{}\n",
        lines.len(),
        lines.join("\n")
    );
}

// ---------------------------------------------------------------------------------------------
// The model: modules, the edges between them, and the names each uses.
// ---------------------------------------------------------------------------------------------

/// One path in module `from` that names module `to`, at `line`, as written (`path`).
#[derive(Clone, Debug)]
struct Edge {
    from: String,
    to: String,
    line: usize,
    path: String,
}

struct Model {
    modules: BTreeSet<String>,
    /// In order of module, then line.
    edges: Vec<Edge>,
    /// Per module, every identifier of its production code with its line.
    names: BTreeMap<String, Vec<(String, usize)>>,
}

impl Model {
    fn build(sources: &[(&str, &str)]) -> Self {
        let mut code: BTreeMap<String, Vec<Token>> = BTreeMap::new();
        let mut test_only: Vec<String> = Vec::new();
        for (module, source) in sources {
            let stripped = strip_test_code(lex(source));
            // A `#[cfg(test)] mod x;` makes the file of `x` (and all below it) test code too.
            test_only.extend(stripped.test_modules.iter().map(|m| child_of(module, m)));
            code.insert(module.to_string(), stripped.tokens);
        }
        code.retain(|m, _| !test_only.iter().any(|t| in_tree(t, m)));
        let modules: BTreeSet<String> = code.keys().cloned().collect();

        let mut edges = Vec::new();
        let mut names = BTreeMap::new();
        for (module, tokens) in &code {
            let mut module_edges = edges_of(module, tokens, &modules);
            module_edges.sort_by_key(|e| e.line);
            edges.extend(module_edges);
            let idents = tokens
                .iter()
                .filter_map(|t| match &t.tok {
                    Tok::Ident(name) => Some((name.clone(), t.line)),
                    _ => None,
                })
                .collect();
            names.insert(module.clone(), idents);
        }
        Model {
            modules,
            edges,
            names,
        }
    }

    /// The first place `module` names `name`, and how many times it does.
    fn occurrences(&self, module: &str, name: &str) -> Option<(usize, usize)> {
        let lines: Vec<usize> = self
            .names
            .get(module)?
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, l)| *l)
            .collect();
        lines.first().map(|first| (*first, lines.len()))
    }

    /// One edge per pair of modules, the first in its file, with how many edges the pair has.
    fn first_edges(&self) -> Vec<(&Edge, usize)> {
        let mut firsts: Vec<(&Edge, usize)> = Vec::new();
        let mut index: BTreeMap<(&str, &str), usize> = BTreeMap::new();
        for edge in &self.edges {
            match index.get(&(edge.from.as_str(), edge.to.as_str())) {
                Some(&i) => firsts[i].1 += 1,
                None => {
                    index.insert((edge.from.as_str(), edge.to.as_str()), firsts.len());
                    firsts.push((edge, 1));
                }
            }
        }
        firsts
    }
}

/// The module path of `name` declared in `parent`.
fn child_of(parent: &str, name: &str) -> String {
    if parent == ROOT {
        name.to_string()
    } else {
        format!("{parent}::{name}")
    }
}

fn parent_of(module: &str) -> Option<&str> {
    if module == ROOT {
        return None;
    }
    Some(module.rsplit_once("::").map_or(ROOT, |(parent, _)| parent))
}

/// A path as written, with the line of its last segment.
struct WrittenPath {
    segments: Vec<String>,
    line: usize,
    /// For a `use` leaf, the name it binds (its last segment, or what follows `as`).
    binds: Option<String>,
}

/// The edges of `module`: every `use` leaf and every other path of two or more segments that
/// resolves to a module other than `module` itself.
fn edges_of(module: &str, tokens: &[Token], modules: &BTreeSet<String>) -> Vec<Edge> {
    let (uses, others) = paths_of(tokens);

    // Names that stand for a module at the start of a path: the children (so that a parent
    // using `child::item` has an edge to it), then every module a `use` imports (`use
    // crate::xml;` binds `xml`, `use super::client::{self, Cidr};` binds `client`), so that
    // `xml::reader::…` later in the file is an edge to `xml::reader`, not just to `xml`.
    let mut aliases: BTreeMap<String, String> = modules
        .iter()
        .filter(|m| parent_of(m) == Some(module))
        .map(|m| (m.rsplit("::").next().unwrap_or(m).to_string(), m.clone()))
        .collect();
    let children = aliases.clone();
    for used in &uses {
        if let (Some(binds), Some((target, true))) = (
            &used.binds,
            resolve(&used.segments, module, modules, &children),
        ) {
            aliases.insert(binds.clone(), target);
        }
    }

    uses.iter()
        .chain(&others)
        .filter_map(|written| {
            let (to, _) = resolve(&written.segments, module, modules, &aliases)?;
            (to != module).then(|| Edge {
                from: module.to_string(),
                to,
                line: written.line,
                path: written.segments.join("::"),
            })
        })
        .collect()
}

/// The module a path names (the longest prefix that is a module), and whether the whole path
/// is that module. `None` for a path that does not start in this crate (`std::…`, a type).
fn resolve(
    segments: &[String],
    here: &str,
    modules: &BTreeSet<String>,
    aliases: &BTreeMap<String, String>,
) -> Option<(String, bool)> {
    let (mut module, mut rest) = match segments.first()?.as_str() {
        "crate" => (ROOT.to_string(), &segments[1..]),
        "self" => (here.to_string(), &segments[1..]),
        "super" => {
            let mut module = here;
            let mut rest = segments;
            while rest.first().is_some_and(|s| s == "super") {
                module = parent_of(module)?;
                rest = &rest[1..];
            }
            (module.to_string(), rest)
        }
        first => (aliases.get(first)?.clone(), &segments[1..]),
    };
    while let Some(segment) = rest.first() {
        let deeper = child_of(&module, segment);
        if !modules.contains(&deeper) {
            break;
        }
        module = deeper;
        rest = &rest[1..];
    }
    Some((module, rest.is_empty()))
}

/// The paths of a token stream: `use` leaves (group braces expanded), and every other path of
/// two or more segments (`a::b`, `super::x::f`), which is all a module can be named by outside
/// a `use`.
fn paths_of(tokens: &[Token]) -> (Vec<WrittenPath>, Vec<WrittenPath>) {
    let mut uses = Vec::new();
    let mut others = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if is_ident(tokens, i, "use") {
            i += 1;
            use_tree(tokens, &mut i, Vec::new(), &mut uses);
            // Whatever the tree held, the declaration ends at its `;`.
            while i < tokens.len() && !is_punct(tokens, i, ';') {
                i += 1;
            }
        } else if is_ident(tokens, i, "pub") && is_punct(tokens, i + 1, '(') {
            // `pub(in crate::a)` limits visibility; it does not use `a`.
            i = after_group(tokens, i + 1);
            continue;
        } else if let Tok::Ident(first) = &tokens[i].tok {
            let continues_other =
                i > 0 && matches!(tokens[i - 1].tok, Tok::PathSep | Tok::Punct('.'));
            let mut segments = vec![first.clone()];
            let mut line = tokens[i].line;
            let mut j = i + 1;
            while let (
                Some(Tok::PathSep),
                Some(Token {
                    tok: Tok::Ident(next),
                    line: l,
                }),
            ) = (tokens.get(j).map(|t| &t.tok), tokens.get(j + 1))
            {
                segments.push(next.clone());
                line = *l;
                j += 2;
            }
            if segments.len() >= 2 && !continues_other {
                others.push(WrittenPath {
                    segments,
                    line,
                    binds: None,
                });
            }
            i = j;
            continue;
        }
        i += 1;
    }
    (uses, others)
}

/// One use tree after `use` (or after `prefix::` inside a group), its leaves added to `out`.
fn use_tree(tokens: &[Token], i: &mut usize, prefix: Vec<String>, out: &mut Vec<WrittenPath>) {
    if prefix.is_empty() && matches!(tokens.get(*i).map(|t| &t.tok), Some(Tok::PathSep)) {
        // `use ::log::info;`: a leading `::` names an external crate. Kept as a first segment
        // so that the path resolves to nothing, even if a module is called `log` too.
        *i += 1;
        return use_tree(tokens, i, vec!["::".to_string()], out);
    }
    match tokens.get(*i).map(|t| &t.tok) {
        Some(Tok::Punct('{')) => {
            *i += 1;
            loop {
                match tokens.get(*i).map(|t| &t.tok) {
                    None => return,
                    Some(Tok::Punct('}')) => {
                        *i += 1;
                        return;
                    }
                    Some(Tok::Punct(',')) => *i += 1,
                    Some(_) => {
                        let before = *i;
                        use_tree(tokens, i, prefix.clone(), out);
                        if *i == before {
                            *i += 1; // not a use tree (a macro's `$x`?): step over it
                        }
                    }
                }
            }
        }
        Some(Tok::Punct('*')) => {
            // A glob names the module it is taken from.
            let line = tokens[*i].line;
            *i += 1;
            out.push(WrittenPath {
                segments: prefix,
                line,
                binds: None,
            });
        }
        Some(Tok::Ident(name)) => {
            let line = tokens[*i].line;
            *i += 1;
            let mut segments = prefix;
            if matches!(tokens.get(*i).map(|t| &t.tok), Some(Tok::PathSep)) {
                *i += 1;
                segments.push(name.clone());
                return use_tree(tokens, i, segments, out);
            }
            // A leaf. `self` in a group is the group's own prefix: `use a::{self, B}`.
            let mut binds = name.clone();
            if name == "self" && !segments.is_empty() {
                binds = segments.last().cloned().unwrap_or_default();
            } else {
                segments.push(name.clone());
            }
            if is_ident(tokens, *i, "as") {
                if let Some(Tok::Ident(alias)) = tokens.get(*i + 1).map(|t| &t.tok) {
                    binds = alias.clone();
                }
                *i += 2;
            }
            out.push(WrittenPath {
                segments,
                line,
                binds: Some(binds),
            });
        }
        _ => {}
    }
}

/// Tarjan's strongly connected components, each sorted, in a stable order.
fn strongly_connected<'a>(
    nodes: &'a BTreeSet<String>,
    successors: &BTreeMap<&'a str, BTreeSet<&'a str>>,
) -> Vec<Vec<&'a str>> {
    struct Tarjan<'a, 's> {
        successors: &'s BTreeMap<&'a str, BTreeSet<&'a str>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        components: Vec<Vec<&'a str>>,
    }
    impl<'a> Tarjan<'a, '_> {
        fn visit(&mut self, v: &'a str) {
            let number = self.index.len();
            self.index.insert(v, number);
            self.low.insert(v, number);
            self.stack.push(v);
            self.on_stack.insert(v);
            let next: Vec<&'a str> = self
                .successors
                .get(v)
                .map(|s| s.iter().copied().collect())
                .unwrap_or_default();
            for w in next {
                let reach = if !self.index.contains_key(w) {
                    self.visit(w);
                    self.low[w]
                } else if self.on_stack.contains(w) {
                    self.index[w]
                } else {
                    continue;
                };
                let low = self.low.entry(v).or_default();
                *low = (*low).min(reach);
            }
            if self.low[v] == self.index[v] {
                let mut component = Vec::new();
                while let Some(w) = self.stack.pop() {
                    self.on_stack.remove(w);
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                component.sort_unstable();
                self.components.push(component);
            }
        }
    }
    let mut tarjan = Tarjan {
        successors,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        components: Vec::new(),
    };
    for node in nodes {
        if !tarjan.index.contains_key(node.as_str()) {
            tarjan.visit(node);
        }
    }
    tarjan.components.sort();
    tarjan.components
}

/// A shortest cycle from `start` back to itself inside `members` (breadth first), as the list
/// of modules it passes, `start` first.
fn cycle_through<'a>(
    start: &'a str,
    members: &BTreeSet<&'a str>,
    successors: &BTreeMap<&'a str, BTreeSet<&'a str>>,
) -> Vec<&'a str> {
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for &w in successors
            .get(v)
            .into_iter()
            .flatten()
            .filter(|w| members.contains(*w))
        {
            if w == start {
                let mut path = vec![v];
                while let Some(&before) = path.last().and_then(|last| came_from.get(last)) {
                    path.push(before);
                }
                path.reverse();
                return path;
            }
            if !came_from.contains_key(w) {
                came_from.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    unreachable!("a strongly connected component of two or more modules has a cycle through each")
}

// ---------------------------------------------------------------------------------------------
// The lexer: just enough Rust to tell code from comments and literals.
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Ident(String),
    /// `::`
    PathSep,
    Punct(char),
    /// A string, char or number literal; what it holds is dropped, so that words in messages
    /// are not code.
    Literal,
    /// `'a`, `'static`, a loop label.
    Lifetime,
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    line: usize,
}

fn is_ident(tokens: &[Token], i: usize, word: &str) -> bool {
    matches!(tokens.get(i).map(|t| &t.tok), Some(Tok::Ident(w)) if w == word)
}

fn is_punct(tokens: &[Token], i: usize, c: char) -> bool {
    tokens.get(i).is_some_and(|t| t.tok == Tok::Punct(c))
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_alphabetic()
}

fn is_ident_continue(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

struct Lexer {
    chars: Vec<char>,
    pos: usize,
    line: usize,
    tokens: Vec<Token>,
}

/// The tokens of `source`, without comments (`//`, `///`, `//!`, nested `/* */`) and with every
/// literal emptied (strings, raw strings `r#"…"#`, byte and C strings, chars, numbers).
fn lex(source: &str) -> Vec<Token> {
    let mut lx = Lexer {
        chars: source.chars().collect(),
        pos: 0,
        line: 1,
        tokens: Vec::new(),
    };
    while let Some(c) = lx.peek(0) {
        let line = lx.line;
        if c.is_whitespace() {
            lx.bump();
        } else if c == '/' && lx.peek(1) == Some('/') {
            while lx.peek(0).is_some_and(|c| c != '\n') {
                lx.bump();
            }
        } else if c == '/' && lx.peek(1) == Some('*') {
            lx.block_comment();
        } else if c == '"' {
            lx.quoted();
            lx.push(Tok::Literal, line);
        } else if c == '\'' {
            lx.char_or_lifetime(line);
        } else if c.is_ascii_digit() {
            lx.word(); // `0x1F_u8`, `1e9`: the suffix is part of the number, not a name
            lx.push(Tok::Literal, line);
        } else if is_ident_start(c) {
            lx.word_or_prefixed_literal(line);
        } else if c == ':' && lx.peek(1) == Some(':') {
            lx.pos += 2;
            lx.push(Tok::PathSep, line);
        } else {
            lx.bump();
            lx.push(Tok::Punct(c), line);
        }
    }
    lx.tokens
}

impl Lexer {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn push(&mut self, tok: Tok, line: usize) {
        self.tokens.push(Token { tok, line });
    }

    fn word(&mut self) -> String {
        let mut word = String::new();
        while let Some(c) = self.peek(0).filter(|c| is_ident_continue(*c)) {
            word.push(c);
            self.pos += 1;
        }
        word
    }

    /// Block comments nest in Rust: `/* a /* b */ still a comment */`.
    fn block_comment(&mut self) {
        self.pos += 2;
        let mut depth = 1;
        while depth > 0 {
            match (self.peek(0), self.peek(1)) {
                (None, _) => return,
                (Some('/'), Some('*')) => {
                    depth += 1;
                    self.pos += 2;
                }
                (Some('*'), Some('/')) => {
                    depth -= 1;
                    self.pos += 2;
                }
                _ => {
                    self.bump();
                }
            }
        }
    }

    /// A `"…"` string at the cursor, with `\"` and `\\` escapes.
    fn quoted(&mut self) {
        self.bump();
        while let Some(c) = self.bump() {
            match c {
                '\\' => {
                    self.bump();
                }
                '"' => return,
                _ => {}
            }
        }
    }

    /// A raw string at the cursor (`r"…"`, `r#"…"#`, …): no escapes, it ends at a `"` followed
    /// by as many `#` as it started with.
    fn raw_quoted(&mut self) {
        self.bump(); // r
        let mut hashes = 0;
        while self.peek(0) == Some('#') {
            hashes += 1;
            self.bump();
        }
        self.bump(); // "
        while let Some(c) = self.bump() {
            if c == '"' && (0..hashes).all(|k| self.peek(k) == Some('#')) {
                self.pos += hashes;
                return;
            }
        }
    }

    /// Whether a raw string starts `ahead` characters from the cursor (at its `r`).
    fn raw_string_at(&self, ahead: usize) -> bool {
        if self.peek(ahead) != Some('r') {
            return false;
        }
        let mut k = ahead + 1;
        while self.peek(k) == Some('#') {
            k += 1;
        }
        self.peek(k) == Some('"')
    }

    /// A `'`: a char literal (`'x'`, `'\''`, `'\u{e9}'`) or a lifetime or label (`'a`,
    /// `'static`). A lifetime is never closed by a `'`, so one character then `'` is a char.
    fn char_or_lifetime(&mut self, line: usize) {
        if self.peek(1) == Some('\\') {
            self.pos += 3; // ', \ and the escaped character (which may be a `'`)
            while let Some(c) = self.bump() {
                if c == '\'' {
                    break;
                }
            }
            self.push(Tok::Literal, line);
        } else if self.peek(2) == Some('\'') {
            self.pos += 1;
            self.bump(); // the character, which may be a newline
            self.pos += 1;
            self.push(Tok::Literal, line);
        } else {
            self.pos += 1;
            self.word();
            self.push(Tok::Lifetime, line);
        }
    }

    /// An identifier, a raw identifier (`r#type`), or a literal behind a prefix: `b"…"`,
    /// `c"…"`, `b'x'`, `r"…"`, `br#"…"#`, `cr"…"`.
    fn word_or_prefixed_literal(&mut self, line: usize) {
        let (c, next) = (self.peek(0), self.peek(1));
        if self.raw_string_at(0) {
            self.raw_quoted();
            self.push(Tok::Literal, line);
        } else if matches!(c, Some('b' | 'c')) && self.raw_string_at(1) {
            self.pos += 1;
            self.raw_quoted();
            self.push(Tok::Literal, line);
        } else if matches!(c, Some('b' | 'c')) && next == Some('"') {
            self.pos += 1;
            self.quoted();
            self.push(Tok::Literal, line);
        } else if c == Some('b') && next == Some('\'') {
            self.pos += 1;
            self.char_or_lifetime(line);
        } else if c == Some('r') && next == Some('#') && self.peek(2).is_some_and(is_ident_start) {
            self.pos += 2;
            let word = self.word();
            self.push(Tok::Ident(word), line);
        } else {
            let word = self.word();
            self.push(Tok::Ident(word), line);
        }
    }
}

/// Production code only: the tokens without the items marked `#[cfg(test)]`, and the names of
/// the modules declared test-only (`#[cfg(test)] mod x;`), whose files are test code too.
struct Stripped {
    tokens: Vec<Token>,
    test_modules: Vec<String>,
}

fn strip_test_code(tokens: Vec<Token>) -> Stripped {
    // `#![cfg(test)]` among the file's leading inner attributes: the whole file is test code.
    let mut i = 0;
    while is_punct(&tokens, i, '#') && is_punct(&tokens, i + 1, '!') {
        if is_cfg_test(&tokens, i + 2) {
            return Stripped {
                tokens: Vec::new(),
                test_modules: Vec::new(),
            };
        }
        i = after_group(&tokens, i + 2);
    }
    let mut kept = Vec::with_capacity(tokens.len());
    let mut test_modules = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if is_punct(&tokens, i, '#') && is_cfg_test(&tokens, i + 1) {
            let (end, declared) = end_of_item(&tokens, after_group(&tokens, i + 1));
            test_modules.extend(declared);
            i = end;
        } else {
            kept.push(tokens[i].clone());
            i += 1;
        }
    }
    Stripped {
        tokens: kept,
        test_modules,
    }
}

/// Whether `[cfg(test)]` starts at `i`.
fn is_cfg_test(tokens: &[Token], i: usize) -> bool {
    is_punct(tokens, i, '[')
        && is_ident(tokens, i + 1, "cfg")
        && is_punct(tokens, i + 2, '(')
        && is_ident(tokens, i + 3, "test")
        && is_punct(tokens, i + 4, ')')
        && is_punct(tokens, i + 5, ']')
}

/// The index after the group (`(…)`, `[…]`, `{…}`) that opens at `open`.
fn after_group(tokens: &[Token], open: usize) -> usize {
    let mut depth = 0usize;
    for (k, token) in tokens.iter().enumerate().skip(open) {
        match token.tok {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return k + 1;
                }
            }
            _ => {}
        }
    }
    tokens.len()
}

/// The end of the item (or statement, field, expression) that starts at `start`, after its
/// attribute; and, for `mod x;`, the module it declares.
fn end_of_item(tokens: &[Token], start: usize) -> (usize, Option<String>) {
    let mut i = start;
    // More attributes on the same item: `#[cfg(test)] #[derive(Debug)] struct …`.
    while is_punct(tokens, i, '#') && is_punct(tokens, i + 1, '[') {
        i = after_group(tokens, i + 1);
    }
    if is_ident(tokens, i, "pub") {
        i += 1;
        if is_punct(tokens, i, '(') {
            i = after_group(tokens, i);
        }
    }
    let keyword = |k: usize| match tokens.get(k).map(|t| &t.tok) {
        Some(Tok::Ident(w)) => w.as_str(),
        _ => "",
    };
    // `const X: [u8; 2] = …;`, `static`, `type`, `use`, `let`, `extern crate`: end at `;`
    // even after a `{…}` in their value. `const fn` is a function.
    let ends_at_semicolon = match keyword(i) {
        "use" | "static" | "type" | "let" => true,
        "const" => !matches!(keyword(i + 1), "fn" | "unsafe" | "async" | "extern"),
        "extern" => keyword(i + 1) == "crate",
        _ => false,
    };
    // Items whose body is a `{…}` block end with it: `fn`, `mod x {…}`, `impl`, `struct S {…}`.
    let ends_at_block = !ends_at_semicolon
        && matches!(
            keyword(i),
            "fn" | "mod"
                | "impl"
                | "struct"
                | "enum"
                | "union"
                | "trait"
                | "macro_rules"
                | "unsafe"
                | "async"
                | "const"
                | "extern"
        );
    let declared =
        (keyword(i) == "mod" && is_punct(tokens, i + 2, ';')).then(|| keyword(i + 1).to_string());
    let mut depth = 0usize;
    for (k, token) in tokens.iter().enumerate().skip(i) {
        match token.tok {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(c @ (')' | ']' | '}')) => {
                if depth == 0 {
                    return (k, declared); // the enclosing group ends: so does the item
                }
                depth -= 1;
                if depth == 0 && c == '}' && ends_at_block {
                    return (k + 1, declared);
                }
            }
            Tok::Punct(';') if depth == 0 => return (k + 1, declared),
            // Anything else (a field, a variant, an argument) ends at a `,`.
            Tok::Punct(',') if depth == 0 && !ends_at_block && !ends_at_semicolon => {
                return (k + 1, declared);
            }
            _ => {}
        }
    }
    (tokens.len(), declared)
}

// ---------------------------------------------------------------------------------------------
// The rules bite: each on a tiny synthetic tree that breaks it, and one that obeys it.
// ---------------------------------------------------------------------------------------------

/// A synthetic module's file, for messages: `src/lib.rs` or `src/a/b.rs`.
fn synthetic_file(module: &str) -> String {
    if module == ROOT {
        "src/lib.rs".to_string()
    } else {
        format!("src/{}.rs", module.replace("::", "/"))
    }
}

fn rendered(found: &[Violation]) -> Vec<String> {
    found.iter().map(|v| v.render(&synthetic_file)).collect()
}

/// `from → to` for each distinct edge.
fn edges(sources: &[(&str, &str)]) -> Vec<String> {
    let model = Model::build(sources);
    model
        .first_edges()
        .iter()
        .map(|(e, _)| format!("{} → {}", e.from, e.to))
        .collect()
}

#[test]
fn files_map_to_modules() {
    assert_eq!(module_of_file("lib.rs").as_deref(), Some("crate"));
    assert_eq!(module_of_file("a.rs").as_deref(), Some("a"));
    assert_eq!(module_of_file("a/mod.rs").as_deref(), Some("a"));
    assert_eq!(module_of_file("a/b.rs").as_deref(), Some("a::b"));
    assert_eq!(module_of_file("main.rs"), None);
    assert_eq!(module_of_file("bin/tool.rs"), None);
    assert_eq!(module_of_file("a/notes.txt"), None);
}

#[test]
fn patterns_match_a_module_or_what_is_below_it() {
    assert!(matches("xml", "xml"));
    assert!(!matches("xml", "xml::tree"));
    assert!(matches("xml::*", "xml::tree"));
    assert!(!matches("xml::*", "xml"));
    assert!(!matches("xml::*", "xmlrpc"));
    assert!(in_tree("http", "http") && in_tree("http", "http::wire") && !in_tree("http", "https"));
}

#[test]
fn paths_resolve_to_the_longest_module_prefix() {
    let tree = [
        (
            "a",
            "use crate::xcp::commands::Outcome;\nfn f() -> crate::http::Request { todo!() }",
        ),
        ("xcp", "pub mod commands;"),
        ("xcp::commands", ""),
        ("http", ""),
    ];
    assert_eq!(edges(&tree), ["a → xcp::commands", "a → http"]);
}

#[test]
fn use_groups_nest() {
    let tree = [
        ("a", "use crate::{b, c::{d, e::{F, G}}, h::{self as hh}};"),
        ("b", ""),
        ("c", ""),
        ("c::d", ""),
        ("c::e", ""),
        ("h", ""),
    ];
    assert_eq!(edges(&tree), ["a → b", "a → c::d", "a → c::e", "a → h"]);
}

#[test]
fn super_and_self_resolve_relative_to_the_module() {
    let tree = [
        (
            "x::y::z",
            "use super::w::T;\nuse super::super::q;\nfn f() { self::k::g(); super::y2(); }",
        ),
        ("x", ""),
        ("x::y", ""),
        ("x::y::w", ""),
        ("x::q", ""),
        ("x::y::z::k", ""),
    ];
    assert_eq!(
        edges(&tree),
        [
            "x::y::z → x::y::w",
            "x::y::z → x::q",
            "x::y::z → x::y::z::k",
            "x::y::z → x::y"
        ]
    );
}

#[test]
fn a_parent_using_its_child_is_an_edge_but_declaring_it_is_not() {
    let declares = [
        ("xcp", "pub mod commands;\nmod cookies;"),
        ("xcp::commands", ""),
        ("xcp::cookies", ""),
    ];
    assert!(edges(&declares).is_empty());
    let uses = [
        (
            "xcp",
            "pub mod commands;\nmod cookies;\nuse commands::Caller;\nfn f() { cookies::parse(); }",
        ),
        ("xcp::commands", ""),
        ("xcp::cookies", ""),
    ];
    assert_eq!(edges(&uses), ["xcp → xcp::commands", "xcp → xcp::cookies"]);
    let reexports = [
        ("http", "mod wire;\npub use self::wire::Request;"),
        ("http::wire", ""),
    ];
    assert_eq!(edges(&reexports), ["http → http::wire"]);
}

#[test]
fn an_imported_module_is_followed_to_the_module_used() {
    let tree = [
        (
            "a",
            "use crate::xcp;\nuse crate::db::{self as store};\nfn f() { xcp::envelope::decode(); store::watch::problem(); }",
        ),
        ("xcp", ""),
        ("xcp::envelope", ""),
        ("db", ""),
        ("db::watch", ""),
    ];
    assert_eq!(
        edges(&tree),
        ["a → xcp", "a → db", "a → xcp::envelope", "a → db::watch"]
    );
}

#[test]
fn external_paths_method_calls_and_the_module_itself_are_no_edges() {
    let tree = [
        (
            "a",
            "use std::fmt;\nuse ::log::info;\nuse crate::a::X;\nuse self::Y;\nfn f(v: Vec<u8>) { Vec::<u8>::new(); v.b::<u8>(); rusqlite::Connection::open(); }",
        ),
        ("b", ""),
    ];
    assert!(edges(&tree).is_empty(), "{:?}", edges(&tree));
}

#[test]
fn comments_and_literals_are_not_code() {
    let source = r####"
        //! Module docs naming crate::xss and Request.
        /// Doc naming [`crate::xss::Foo`] and `Request`.
        // crate::xss::Bar
        /* block crate::xss /* nested crate::xss */ still comment crate::xss::Baz */
        fn f() -> &'static str {
            let _ = "crate::xss::Request \" crate::xss";
            let _ = r#"crate::xss::Request "quoted" "#;
            let _ = r##"crate::xss "# Request"##;
            let _ = b"crate::xss::Request";
            let _ = br#"crate::xss"#;
            let _ = c"crate::xss";
            let _ = ('"', '\'', b'\'', '\u{e9}', 'x');
            "Request"
        }
    "####;
    let tree = [("accounts", source), ("xss", "")];
    assert!(edges(&tree).is_empty(), "{:?}", edges(&tree));
    assert!(
        request_violations(&tree).is_empty(),
        "{:?}",
        rendered(&request_violations(&tree))
    );
}

#[test]
fn lifetimes_are_not_char_literals() {
    // Were `'a` read as the start of a char literal, the `use` after it would be swallowed.
    let source = "fn f<'a, 'b>(x: &'a str, _: &'b str) -> &'a str { 'outer: loop { break 'outer; } x }\nuse crate::b::X;\nconst C: char = 'c'; use crate::c::Y;";
    let tree = [("a", source), ("b", ""), ("c", "")];
    assert_eq!(edges(&tree), ["a → b", "a → c"]);
    let tokens = lex(source);
    let lines: Vec<usize> = tokens
        .iter()
        .filter(|t| t.tok == Tok::Ident("use".into()))
        .map(|t| t.line)
        .collect();
    assert_eq!(
        lines,
        [2, 3],
        "lines are counted through literals and lifetimes"
    );
}

#[test]
fn test_code_is_not_production_code() {
    let source = "
        #[cfg(test)]
        use crate::b::One;
        #[cfg(test)]
        pub fn helper() -> crate::b::Two { todo!() }
        #[cfg(test)]
        #[derive(Debug, Default)]
        pub struct Three;
        #[cfg(test)]
        const FOUR: [crate::b::Four; 2] = [crate::b::Four { x: { 1 } }; 2];
        #[cfg(test)]
        impl crate::b::Five for u8 { fn f() { use crate::b::Six; } }
        #[cfg(test)]
        mod helpers;
        #[cfg(test)]
        mod tests {
            use super::*;
            use crate::http::Request;
            #[test]
            fn t() { let _ = crate::b::Seven; }
        }
        pub struct S {
            #[cfg(test)]
            seen: crate::b::Eight,
            kept: u8,
        }
        use crate::c::Kept;
    ";
    let tree = [
        ("a", source),
        ("a::helpers", "use crate::b::Nine;"),
        ("b", ""),
        ("c", ""),
        ("http", ""),
    ];
    assert_eq!(edges(&tree), ["a → c"]);
    let model = Model::build(&tree);
    assert!(
        !model.modules.contains("a::helpers"),
        "a module declared under cfg(test) is test code"
    );
    assert!(
        model.occurrences("a", "kept").is_some(),
        "the field after a test-only one is kept"
    );
    assert!(request_violations(&tree).is_empty());

    let test_only_file = [("a", "#![cfg(test)]\nuse crate::b::X;"), ("b", "")];
    assert!(edges(&test_only_file).is_empty());
}

#[test]
fn a_cycle_is_reported_with_its_members_and_edges() {
    let two = [("a", "use crate::b::X;"), ("b", "\nuse crate::a::Y;")];
    assert_eq!(
        rendered(&import_cycles(&two)),
        [
            "src/a.rs:1: cycle among a, b: a → b (src/a.rs:1 `crate::b::X`); b → a (src/b.rs:2 `crate::a::Y`)"
        ]
    );
    let three = [
        ("a", "use crate::b::X;"),
        ("b", "fn f() { super::c::g() }"),
        ("c", "use crate::a;\nfn g() { a::h() }"),
        ("d", "use crate::a::Z;"),
    ];
    let found = rendered(&import_cycles(&three));
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("cycle among a, b, c: a → b"), "{found:?}");
    assert!(
        found[0].contains("c → a (src/c.rs:1 `crate::a`)"),
        "{found:?}"
    );
}

#[test]
fn a_parent_and_child_using_each_other_are_a_cycle() {
    let tree = [
        ("xml", "mod reader;\npub use reader::Reader;"),
        ("xml::reader", "use super::XmlError;"),
    ];
    assert_eq!(import_cycles(&tree).len(), 1);
}

#[test]
fn an_acyclic_tree_has_no_cycle() {
    let tree = [
        ("crate", "pub mod a; pub mod b; pub mod c;"),
        ("a", "use crate::b::X; use crate::c::Y;"),
        ("b", "use crate::c::Z;"),
        ("c", "use std::fmt;"),
    ];
    assert!(import_cycles(&tree).is_empty());
}

#[test]
fn a_codec_naming_rusqlite_breaks_the_codec_rule() {
    let tree = [
        (
            "xmlrpc",
            "use crate::value::Value;\n\nuse rusqlite::Connection;",
        ),
        ("value", ""),
    ];
    assert_eq!(
        rendered(&codec_violations(&tree)),
        ["src/xmlrpc.rs:3: codec `xmlrpc` names `rusqlite`"]
    );
}

#[test]
fn a_codec_using_a_handler_breaks_the_codec_rule() {
    let tree = [
        (
            "xcp::envelope",
            "use crate::xml::Element;\nuse crate::accounts::User;\nfn f(_: crate::accounts::Login) {}",
        ),
        ("xml::tree", "use crate::http::budget::Hold;"),
        ("xml", ""),
        ("accounts", ""),
        ("http", ""),
        ("http::budget", ""),
    ];
    assert_eq!(
        rendered(&codec_violations(&tree)),
        [
            "src/xcp/envelope.rs:2: codec `xcp::envelope` depends on `accounts` via `crate::accounts::User` (+1 more)",
            "src/xml/tree.rs:1: codec `xml::tree` depends on `http::budget` via `crate::http::budget::Hold`",
        ]
    );
}

#[test]
fn codecs_using_codecs_and_the_allowlist_obey_the_codec_rule() {
    let tree = [
        (
            "xml",
            "use crate::clock::days_from_civil; mod tree; use tree::Element;",
        ),
        ("xml::tree", "use super::XmlError; use crate::logging;"),
        (
            "soap",
            "use crate::value::Value; use crate::xml::{self, Reader};\n/// Stores nothing in rusqlite.\nfn f() { let _ = \"rusqlite\"; }",
        ),
        ("value", ""),
        ("clock", ""),
        ("logging", ""),
        ("accounts", "use rusqlite::Connection; use crate::soap;"),
    ];
    assert!(
        codec_violations(&tree).is_empty(),
        "{:?}",
        rendered(&codec_violations(&tree))
    );
}

#[test]
fn http_using_a_protocol_breaks_the_http_rule() {
    let tree = [
        (
            "http::server",
            "use super::wire::Request;\nuse crate::xss::Foo;",
        ),
        ("http::wire", ""),
        ("http", ""),
        ("xss", ""),
    ];
    assert_eq!(
        rendered(&http_violations(&tree)),
        ["src/http/server.rs:2: `http::server` depends on `xss` via `crate::xss::Foo`"]
    );
}

#[test]
fn http_using_itself_and_the_allowlist_obeys_the_http_rule() {
    let tree = [
        ("http", "mod server; pub use server::Server;"),
        (
            "http::server",
            "use super::wire::Request; use crate::clock; use crate::logging;\n/// Unlike crate::xss, …\nfn f() {}",
        ),
        ("http::wire", ""),
        ("clock", ""),
        ("logging", ""),
        ("xss", "use crate::http::Request;"),
    ];
    assert!(
        http_violations(&tree).is_empty(),
        "{:?}",
        rendered(&http_violations(&tree))
    );
}

#[test]
fn a_module_seeing_requests_breaks_the_request_rule() {
    let tree = [
        (
            "accounts",
            "fn f(r: &crate::http::Request) {}\nfn g() -> Response { todo!() }",
        ),
        ("mail", "use crate::endpoints::Shared;"),
        ("http", ""),
        ("endpoints", ""),
    ];
    assert_eq!(
        rendered(&request_violations(&tree)),
        [
            "src/accounts.rs:1: `accounts` names `Request`",
            "src/accounts.rs:2: `accounts` names `Response`",
            "src/mail.rs:1: `mail` names `Shared`",
            "src/mail.rs:1: `mail` depends on `endpoints` via `crate::endpoints::Shared`",
        ]
    );
}

#[test]
fn endpoints_http_and_start_up_obey_the_request_rule() {
    let tree = [
        ("crate", "pub mod endpoints; pub mod http; pub mod serve;"),
        (
            "endpoints",
            "mod xss; use crate::http::{Request, Response};",
        ),
        (
            "endpoints::xss",
            "use crate::http::Request; pub struct Worker; pub struct Shared;",
        ),
        ("http", "pub struct Request; pub struct Response;"),
        ("http::server", "struct Worker;"),
        (
            "serve",
            "use crate::endpoints::{self, Shared}; use crate::http::Response;",
        ),
        (
            "reset",
            "pub struct LinkRequest; fn f(response_code: u16) { let _ = \"Request\"; }\n/// The Response is …\nfn g() {}",
        ),
        (
            "reset::page",
            "#[cfg(test)]\nmod tests { use crate::http::Request; }",
        ),
    ];
    assert!(
        request_violations(&tree).is_empty(),
        "{:?}",
        rendered(&request_violations(&tree))
    );
}
