//! The simulator at scale: an 8x8 sample works end to end, a 16x16 sample runs, a mesh beyond
//! the graph capacities is refused with an error, and the reference level is deterministic.

use angraph_train::dataset::generate::sample_graph;
use angraph_train::dataset::graph::HostBuilder;
use angraph_train::sim::machine::Mapping;
use angraph_train::sim::workload::{Coding, Workload};
use angraph_train::sim::{Generator, SimConfig};

fn cfg(w: Workload, side: u16) -> SimConfig {
    SimConfig {
        workload: w,
        width: side,
        height: side,
        process: "tsmc22".into(),
        mapping: Mapping::Uniform,
        coding: Coding::Rate,
        seed: 77,
    }
}

/// The large host builder needs more stack than a test thread has in a debug build.
fn big_stack<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new()
        .stack_size(64 << 20)
        .spawn(f)
        .unwrap()
        .join()
        .unwrap()
}

#[test]
fn an_8x8_sample_works() {
    let g = Generator::new(cfg(Workload::Digits, 8)).unwrap();
    let s = g.sample(0);
    let mut b = HostBuilder::new(s.plan.mesh, s.process).unwrap();
    let rec = sample_graph(&mut b, &s).unwrap();
    assert!(rec.num_nodes > 64 && rec.num_nodes <= 1025);
    assert!(s.reference_latency_ps > s.system_latency_ps);
    assert_eq!(rec.summary.span(), s.system_latency_ps);
    // Activities add up to the hops of the stream minus one per event.
    let acts: u64 = rec.activities.iter().map(|&a| a as u64).sum();
    assert_eq!(acts, s.plan.path.len() as u64 - s.plan.num_events() as u64);
}

#[test]
fn a_16x16_sample_runs() {
    big_stack(|| {
        let g = Generator::new(cfg(Workload::Digits, 16)).unwrap();
        let s = g.sample(1);
        assert!(s.plan.num_events() > 0);
        let mut b = HostBuilder::new(s.plan.mesh, s.process).unwrap();
        assert!(matches!(b, HostBuilder::Large(_)));
        let rec = sample_graph(&mut b, &s).unwrap();
        assert!(rec.num_nodes > 256);
    });
}

#[test]
fn a_mesh_beyond_the_capacities_is_an_error() {
    let mesh = angraph_core::component::Mesh::new(32, 32).unwrap();
    let e = match HostBuilder::new(mesh, Default::default()) {
        Ok(_) => panic!("a 32x32 mesh must not fit"),
        Err(e) => format!("{e:#}"),
    };
    assert!(e.contains("32x32") && e.contains("capacit"), "{e}");
    assert!(Generator::new(cfg(Workload::Digits, 0)).is_err());
}

#[test]
fn workloads_and_process_nodes_change_the_distribution() {
    let lat = |w: Workload, node: &str| {
        let mut c = cfg(w, 4);
        c.process = node.into();
        let g = Generator::new(c).unwrap();
        (0..3)
            .map(|i| g.sample(i).reference_latency_ps)
            .sum::<u64>()
    };
    // Same traffic, slower node: slower. Denser network: slower.
    assert!(lat(Workload::Digits, "tsmc65") > lat(Workload::Digits, "tsmc22"));
    assert!(lat(Workload::LargeA, "tsmc22") > lat(Workload::Digits, "tsmc22"));
    // Same seed, same sample, bit for bit.
    let g = Generator::new(cfg(Workload::Dvs, 3)).unwrap();
    let (a, b) = (g.sample(2), g.sample(2));
    assert_eq!(a.timing.enter, b.timing.enter);
    assert_eq!(a.energy_nj(), b.energy_nj());
}
