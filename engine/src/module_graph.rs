//! The core's files import each other without cycles: each file can be read knowing
//! only the files below it (options and state at the bottom, the writer over the
//! state, `shared` over the writer, flush/compaction/commit over `shared`, the
//! `Database` and `Collection` handles on top).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level module name → the top-level modules its files name as `crate::module`.
fn imports() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            for inner in std::fs::read_dir(&path).unwrap() {
                files.push((path.clone(), inner.unwrap().path()));
            }
        } else {
            files.push((path.with_extension(""), path));
        }
    }
    let module = |p: &Path| p.file_stem().unwrap().to_string_lossy().into_owned();
    let names: BTreeSet<String> = files.iter().map(|(m, _)| module(m)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (owner, file) in &files {
        let from = module(owner);
        if from == "lib" || from == "module_graph" {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        let uses = graph.entry(from.clone()).or_default();
        for part in text.split("crate::").skip(1) {
            let name: String = part
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if name != from && names.contains(&name) {
                uses.insert(name);
            }
        }
    }
    graph
}

/// A cycle through `at`, if the graph has one reachable from it.
fn cycle(
    graph: &BTreeMap<String, BTreeSet<String>>,
    at: &str,
    path: &mut Vec<String>,
    done: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    if let Some(i) = path.iter().position(|p| p == at) {
        return Some(path[i..].to_vec());
    }
    if done.contains(at) {
        return None;
    }
    path.push(at.to_string());
    for next in graph.get(at).into_iter().flatten() {
        if let Some(c) = cycle(graph, next, path, done) {
            return Some(c);
        }
    }
    path.pop();
    done.insert(at.to_string());
    None
}

#[test]
fn the_core_files_import_each_other_without_cycles() {
    let graph = imports();
    assert!(graph.len() > 25, "read only {} modules", graph.len());
    assert!(
        graph["database"].contains("shared"),
        "the reader missed an import"
    );
    let mut done = BTreeSet::new();
    for module in graph.keys() {
        if let Some(c) = cycle(&graph, module, &mut Vec::new(), &mut done) {
            panic!("import cycle: {} -> {}", c.join(" -> "), c[0]);
        }
    }
}
