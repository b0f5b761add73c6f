//! The one OGB raw graph reader: an unlabelled folder (the bundled example, written by
//! `angraph estimate`'s writer) loads with no labels through `OgbGraphs::load` and is refused by
//! the labelled `GraphDataset::load`; labels, when present, are checked by both entry points,
//! and a malformed label file is an error naming the file and line in both.

mod common;

use angraph_train::dataset::{GraphDataset, OgbGraphs};
use angraph_train::import::write_example;
use common::{original_dir, root, tmp, write_gz};
use std::path::Path;

/// The errors of both entry points on `dir` (both must fail).
fn errors_of_both(dir: &Path) -> [String; 2] {
    [
        format!("{:#}", OgbGraphs::load(dir).map(|_| ()).unwrap_err()),
        format!("{:#}", GraphDataset::load(dir).map(|_| ()).unwrap_err()),
    ]
}

#[test]
fn unlabelled_example_loads_without_labels() {
    let d = tmp("unlabelled");
    write_example(&d).unwrap();
    assert!(!d.join("raw/graph-label.csv.gz").exists());
    let g = OgbGraphs::load(&d).unwrap();
    assert!(g.labels.is_none());
    assert_eq!(g.graphs.len(), 1);
    assert_eq!(g.edge_attr_width, 0);
    let g0 = &g.graphs[0];
    // 4x4 mesh: 16 components per tile + the injector; 100 features per node; no edge features,
    // so no activities as edge weights.
    assert_eq!(g0.row_ptr.len() - 1, 16 * 16 + 1);
    assert_eq!(g0.feature_width, 100);
    assert!(g0.edge_weight.is_none());
    // The committed example is this writer's output, read the same way.
    let committed = OgbGraphs::load(&root().join("data/examples/mesh4x4")).unwrap();
    assert!(committed.labels.is_none());
    let c0 = &committed.graphs[0];
    assert_eq!((&c0.row_ptr, &c0.src, &c0.x), (&g0.row_ptr, &g0.src, &g0.x));
    // The labelled entry point needs the label file and names it.
    let e = format!("{:#}", GraphDataset::load(&d).unwrap_err());
    assert!(
        e.contains("graph-label.csv.gz") && e.contains("missing"),
        "{e}"
    );
    std::fs::remove_dir_all(d).ok();
}

#[test]
fn labels_when_present_are_checked_by_both_entry_points() {
    let d = tmp("labelled");
    write_example(&d).unwrap();
    let labels = d.join("raw/graph-label.csv.gz");

    write_gz(&labels, &["1500"]);
    assert_eq!(OgbGraphs::load(&d).unwrap().labels, Some(vec![1500.0]));
    let ds = GraphDataset::load(&d).unwrap();
    assert_eq!(ds.labels, vec![1500.0]);
    assert_eq!(ds.graphs.len(), 1);

    // Inconsistent counts: two labels for one graph, or two columns.
    for rows in [&["1500", "2400"][..], &["1500,1"][..], &[][..]] {
        write_gz(&labels, rows);
        for e in errors_of_both(&d) {
            assert!(
                e.contains("graph-label.csv.gz") && e.contains("expected 1 labels"),
                "{rows:?}: {e}"
            );
        }
    }

    // Malformed: a bad number, or not gzip at all: file and line named.
    write_gz(&labels, &["1500x"]);
    for e in errors_of_both(&d) {
        assert!(
            e.contains("graph-label.csv.gz") && e.contains("line 1, column 1"),
            "{e}"
        );
    }
    std::fs::write(&labels, b"not gzip").unwrap();
    for e in errors_of_both(&d) {
        assert!(
            e.contains("graph-label.csv.gz") && e.contains("line 1"),
            "{e}"
        );
    }
    std::fs::remove_dir_all(d).ok();
}

#[test]
fn unlabelled_folder_with_edge_features_has_activities() {
    // The original layout without its label file: edge features give the activities.
    let base = tmp("edge-feat");
    let d = original_dir(&base);
    let raw = d.join("raw");
    std::fs::remove_file(raw.join("graph-label.csv.gz")).unwrap();
    let g = OgbGraphs::load(&d).unwrap();
    assert!(g.labels.is_none());
    assert_eq!(g.edge_attr_width, 1);
    assert_eq!(g.graphs[0].edge_weight.as_deref(), Some(&[4.0, 2.0][..]));
    assert_eq!(g.graphs[1].edge_weight.as_deref(), Some(&[7.0][..]));
    assert_eq!(g.edge_attr[1], vec![7.0]);
    // Structural errors are the same with or without labels: file and line named.
    write_gz(&raw.join("edge.csv.gz"), &["0,1", "1,2", "1,5"]);
    let e = format!("{:#}", OgbGraphs::load(&d).unwrap_err());
    assert!(e.contains("edge.csv.gz") && e.contains("line 3"), "{e}");
    std::fs::remove_dir_all(base).ok();
}
