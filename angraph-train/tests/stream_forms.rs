//! Event streams: the paper's graph from a hand-written TrueAsync DFG file, round trips of both
//! forms, and errors that name the file and the place.

mod common;

use angraph_core::component::Mesh;
use angraph_core::features::{NODE_FEATURES, NODE_FEATURE_NAMES};
use angraph_train::sim::machine::Mapping;
use angraph_train::sim::workload::{Coding, Workload};
use angraph_train::sim::{Generator, SimConfig};
use angraph_train::stream::{from_sample, Stream};
use common::tmp;
use std::collections::HashMap;

/// A 2x2 stream written by hand: two input spikes to tile 1, one to tile 3, one local spike.
const DFG: &str = r#"{
 "DFS0": ["Injector", "NI-0-toRouter", "IU-0 of Router-0", "SA of Router-0", "OU-2 of Router-0",
          "IU-4 of Router-1", "SA of Router-1", "OU-0 of Router-1"],
 "DFS1": ["Injector", "NI-0-toRouter", "IU-0 of Router-0", "SA of Router-0", "OU-2 of Router-0",
          "IU-4 of Router-1", "SA of Router-1", "OU-0 of Router-1"],
 "DFS2": ["Injector", "NI-0-toRouter", "IU-0 of Router-0", "SA of Router-0", "OU-2 of Router-0",
          "IU-4 of Router-1", "SA of Router-1", "OU-3 of Router-1", "IU-1 of Router-3",
          "SA of Router-3", "OU-0 of Router-3"],
 "DFS3": ["NI-2-toRouter", "IU-0 of Router-2", "SA of Router-2", "OU-0 of Router-2"]
}"#;

#[test]
fn handwritten_dfg_gives_the_papers_graph() {
    let s = Stream::parse(DFG, "hand.json").unwrap();
    assert_eq!(s.events.len(), 4);
    assert_eq!(s.events[3].key, "DFS3");
    assert_eq!(s.mesh().unwrap(), Mesh::new(2, 2).unwrap());
    let g = s.to_graph().unwrap();
    // Nodes: every distinct component.
    let mut names: Vec<String> = s
        .events
        .iter()
        .flat_map(|e| e.hops.iter().map(|h| h.component.to_string()))
        .collect();
    names.sort();
    names.dedup();
    assert_eq!(g.num_nodes as usize, names.len());
    assert_eq!(g.num_nodes, 16);
    // Edges: every distinct consecutive pair, activities = traversal counts.
    let mesh = s.mesh().unwrap();
    let mut expected: HashMap<(String, String), u32> = HashMap::new();
    for e in &s.events {
        for w in e.hops.windows(2) {
            *expected
                .entry((w[0].component.to_string(), w[1].component.to_string()))
                .or_default() += 1;
        }
    }
    assert_eq!(g.edges.len(), expected.len());
    for (k, &(a, b)) in g.edges.iter().enumerate() {
        let na = mesh
            .component(g.components[a as usize])
            .unwrap()
            .to_string();
        let nb = mesh
            .component(g.components[b as usize])
            .unwrap()
            .to_string();
        assert_eq!(
            Some(&g.activities[k]),
            expected.get(&(na.clone(), nb.clone())),
            "{na} -> {nb}"
        );
    }
    let inj = (0..g.num_nodes as usize)
        .find(|&v| g.components[v] == mesh.injector_id())
        .unwrap();
    // The injector was passed by 3 events: log2(1 + 3) = 2, and it is flagged as the injector.
    let x = &g.x_fixed[inj * NODE_FEATURES..(inj + 1) * NODE_FEATURES];
    assert_eq!(x[0], 2 << 16);
    let k = NODE_FEATURE_NAMES
        .iter()
        .position(|n| *n == "kind_injector")
        .unwrap();
    assert_eq!(x[k], 1 << 16);
    // Untimed: no timing features.
    let d = NODE_FEATURE_NAMES
        .iter()
        .position(|n| *n == "dwell_mean_ns")
        .unwrap();
    assert_eq!(x[d], 0);
}

fn small_sample() -> (angraph_train::sim::Sample, String) {
    let g = Generator::new(SimConfig {
        workload: Workload::Digits,
        width: 2,
        height: 2,
        process: "tsmc28".into(),
        mapping: Mapping::Nonuniform,
        coding: Coding::Latency,
        seed: 5,
    })
    .unwrap();
    (g.sample(3), "tsmc28".into())
}

#[test]
fn both_forms_round_trip_exactly() {
    let (s, node) = small_sample();
    let st = from_sample(&s, &node);
    let dir = tmp("roundtrip");
    let timed = dir.join("s.timed.json");
    st.write_timed(&timed).unwrap();
    let back = Stream::read(&timed).unwrap();
    assert_eq!(back, st);
    // Every event carries its destination's load (the plan's fan-out row), kept on disk.
    for (e, ev) in back.events.iter().enumerate() {
        assert_eq!(ev.load, s.plan.load(e));
        assert!(ev.load.words >= ev.load.fires);
    }
    assert!(back
        .events
        .iter()
        .any(|e| e.load.words > 1 && e.load.fires > 0));
    // Writing what was read gives the same bytes.
    let again = dir.join("again.timed.json");
    back.write_timed(&again).unwrap();
    assert_eq!(
        std::fs::read(&timed).unwrap(),
        std::fs::read(&again).unwrap()
    );
    // The DFG form keeps keys, order and names, drops times.
    let dfg = dir.join("s.dfg.json");
    st.write_dfg(&dfg).unwrap();
    let d = Stream::read(&dfg).unwrap();
    assert!(d.header.is_none());
    assert_eq!(d.events.len(), st.events.len());
    assert!(d.events.iter().all(|e| e.load == Default::default()));
    for (a, b) in d.events.iter().zip(&st.events) {
        assert_eq!(a.key, b.key);
        let na: Vec<_> = a.hops.iter().map(|h| h.component).collect();
        let nb: Vec<_> = b.hops.iter().map(|h| h.component).collect();
        assert_eq!(na, nb);
    }
    // Same graph structure from both forms; the timed one has the system estimate.
    let (ga, gb) = (d.to_graph().unwrap(), st.to_graph().unwrap());
    assert_eq!(ga.edges, gb.edges);
    assert_eq!(ga.activities, gb.activities);
    assert_eq!(gb.summary.span(), s.system_latency_ps);
    std::fs::remove_dir_all(dir).ok();
}

fn err(text: &str) -> String {
    format!("{:#}", Stream::parse(text, "bad.json").unwrap_err())
}

#[test]
fn bad_streams_name_the_file_and_place() {
    let e = err("{\"DFS0\": [\"Injector\",\n \"NI-0-toRouter\"");
    assert!(e.contains("bad.json") && e.contains("line 2"), "{e}");
    let e = err(r#"{"DFS0": ["Injector"], "DFS1": ["Injector", "Router-7"]}"#);
    assert!(
        e.contains("bad.json")
            && e.contains("\"DFS1\"")
            && e.contains("hop 1")
            && e.contains("Router-7"),
        "{e}"
    );
    let e = err(r#"{"DFS0": ["IU-9 of Router-0"]}"#);
    assert!(e.contains("hop 0"), "{e}");
    let timed = |mesh: &str, hops: &str, version: u32| {
        format!(
            r#"{{"format": "angraph-timed-stream", "version": {version}, "mesh": {mesh},
            "process": {{"name": "tsmc65", "feature_nm": 65, "vdd_mv": 1200, "temperature_c": 25}},
            "time_unit": "ps", "events": [{{"key": "DFS0", "hops": {hops}}}]}}"#
        )
    };
    let m22 = r#"{"width": 2, "height": 2}"#;
    let e = err(&timed(m22, r#"[["SA of Router-4", 0, 5]]"#, 1));
    assert!(
        e.contains("outside the 2x2 mesh") && e.contains("hop 0"),
        "{e}"
    );
    let e = err(&timed(m22, r#"[["SA of Router-1", 9, 5]]"#, 1));
    assert!(e.contains("leaves") && e.contains("\"DFS0\""), "{e}");
    let e = err(&timed(
        m22,
        r#"[["SA of Router-1", 9, 10], ["OU-0 of Router-1", 3, 12]]"#,
        1,
    ));
    assert!(
        e.contains("hop 1") && e.contains("before the previous hop"),
        "{e}"
    );
    let e = err(&timed(m22, r#"[["SA of Router-1", 0, 5]]"#, 9));
    assert!(e.contains("version"), "{e}");
    let e = err(&timed(m22, r#"[["SA of Router-1", 0]]"#, 1));
    assert!(e.contains("line"), "{e}");
    let e = err(&timed(r#"{"width": 0, "height": 2}"#, r#"[]"#, 1));
    assert!(e.contains("mesh"), "{e}");
    let e = err(r#"{"DFS0": ["Injector"], "DFS0": ["Injector"]}"#);
    assert!(e.contains("twice"), "{e}");
    let e = format!(
        "{:#}",
        Stream::read(std::path::Path::new("/nonexistent/x.json")).unwrap_err()
    );
    assert!(e.contains("/nonexistent/x.json"), "{e}");
}

#[test]
fn convert_writes_a_dataset_from_streams() {
    use angraph_train::cli::convert::{run, ConvertArgs};
    let (s, node) = small_sample();
    let dir = tmp("convert");
    let timed = dir.join("a.timed.json");
    from_sample(&s, &node).write_timed(&timed).unwrap();
    let dfg = dir.join("b.dfg.json");
    std::fs::write(&dfg, DFG).unwrap();
    let args = |inputs: Vec<std::path::PathBuf>, labels: Option<std::path::PathBuf>| ConvertArgs {
        inputs,
        out: Some(dir.join("ds")),
        labels,
        mesh: None,
        to_dfg: None,
        to_timed: None,
    };
    // A DFG stream has no labels: the error names it.
    let e = format!(
        "{:#}",
        run(&args(vec![timed.clone(), dfg.clone()], None)).unwrap_err()
    );
    assert!(e.contains("b.dfg.json") && e.contains("--labels"), "{e}");
    assert!(!dir.join("ds").exists());
    let labels = dir.join("labels.csv");
    std::fs::write(&labels, "1.5\n2.5\n").unwrap();
    run(&args(
        vec![timed.clone(), dfg.clone()],
        Some(labels.clone()),
    ))
    .unwrap();
    let ds = angraph_train::dataset::GraphDataset::load(&dir.join("ds")).unwrap();
    assert_eq!(ds.labels, vec![1.5, 2.5]);
    assert_eq!(ds.graphs[1].row_ptr.len(), 17);
    let est = ds.estimates.unwrap();
    assert_eq!(est[0], (s.system_latency_ps as f64 / 1000.0) as f32);
    assert_eq!(est[1], 0.0);
    std::fs::write(&labels, "1.5\nx\n").unwrap();
    let e = format!(
        "{:#}",
        run(&args(vec![timed, dfg], Some(labels))).unwrap_err()
    );
    assert!(e.contains("labels.csv") && e.contains("line 2"), "{e}");
    std::fs::remove_dir_all(dir).ok();
}
