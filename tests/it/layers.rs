//! The layers of `shared/ARCHITECTURE.md` point down: Graph, the database, the run engine, the
//! run kinds, authentication and the simulator never reach up into the web layer, its views,
//! the server's start-up or the command line. (They had tied 46 files into one import circle.)

use std::path::Path;

const LOWER: &[&str] = &["auth", "db", "graph", "ops", "runs", "sim", "schedules"];
const UPPER: &[&str] = &[
    "crate::web",
    "crate::views",
    "crate::startup",
    "crate::cli",
    "crate::demo",
];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("source directory").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn lower_layers_never_import_upper_ones() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut offending = Vec::new();
    for layer in LOWER {
        let mut files = Vec::new();
        rust_files(&src.join(layer), &mut files);
        assert!(!files.is_empty(), "src/{layer} has sources");
        for file in files {
            let text = std::fs::read_to_string(&file).expect("source");
            for upper in UPPER {
                if text.contains(upper) {
                    offending.push(format!("{} uses {upper}", file.display()));
                }
            }
        }
    }
    assert!(offending.is_empty(), "{offending:#?}");
}
