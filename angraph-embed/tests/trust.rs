//! The recommended models' trust sections on the streaming estimator: intervals and envelope
//! verdicts bit-identical to `angraph_core`'s `predict_assessed` on the host, through the
//! Rust API and the C ABI structs.
mod support;

use angraph_core::{latency, power, Model};
use angraph_embed::{Arena, Dims, EnergyEstimator, Estimator};
use support::{EDGES, NODES};

type Est<'a> = Estimator<'a, NODES, EDGES>;
const BYTES: usize = Est::arena_bytes(Dims::ORIGINAL);

fn feed(est: &mut Est<'_>, s: &support::Stream) {
    for (i, ev) in s.events.iter().enumerate() {
        est.begin_event_with(s.load(i)).unwrap();
        for h in ev {
            est.hop(h.id, h.enter, h.leave).unwrap();
        }
        est.end_event().unwrap();
    }
}

fn read(rel: &str) -> Vec<u8> {
    let p = support::repo_root().join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn streaming_intervals_and_envelope_equal_the_host() {
    let (lat, pow) = (
        read("saved_model/angraph_l.angq"),
        read("saved_model/angraph_p.angq"),
    );
    let (model, power_model) = (
        Model::from_bytes(&lat).unwrap(),
        Model::from_bytes(&pow).unwrap(),
    );
    assert!(
        model.trust().is_some(),
        "angraph_l.angq has no trust section"
    );
    assert!(
        power_model.trust().is_some(),
        "angraph_p.angq has no trust section"
    );
    let in_dim = power_model.power_config().unwrap().in_dim as usize;
    let streams = [
        support::Stream::from_timed_json(
            &support::repo_root().join("data/streams/digits_4x4_sample0.timed.json"),
        )
        .unwrap(),
        support::Stream::from_timed_json(
            &support::repo_root().join("data/streams/digits_2x2_sample0.timed.json"),
        )
        .unwrap(),
        support::synthetic_stream(4, 4, 80, 21),
        support::synthetic_stream(3, 3, 40, 22),
    ];
    let mut arena = Box::new(Arena::<BYTES>::new());
    let mut flagged = 0;
    let mut widths = Vec::new();
    for (k, s) in streams.iter().enumerate() {
        // Host: the transform's graph and power input, then angraph-core's assessed paths.
        let g = support::host_graph(s).unwrap();
        let v = g.view();
        let mut ws = vec![0u8; latency::required_workspace(&model, v.num_nodes(), v.num_edges())];
        let host = latency::predict_assessed(&model, &v, &mut ws).unwrap();
        let x = support::host_power_input(s, in_dim);
        let mut pws = vec![0u8; power::required_workspace(&power_model)];
        let host_e = power::predict_assessed(&power_model, &x, &mut pws).unwrap();
        // Chip path.
        let mut est = Est::new(arena.bytes(), Dims::ORIGINAL, &model, s.mesh, s.process).unwrap();
        let mut ews = vec![0u8; EnergyEstimator::workspace_bytes(128, in_dim)];
        let mut energy = EnergyEstimator::new(&power_model, &mut ews).unwrap();
        feed(&mut est, s);
        let e = est.predict_energy_assessed(&mut energy).unwrap();
        let p = est.predict().unwrap();
        assert_eq!(p.latency, host.value, "stream {k}");
        assert_eq!(p.interval, host.interval, "stream {k}");
        assert_eq!(p.envelope, host.envelope, "stream {k}");
        assert_eq!(e, host_e, "stream {k}");
        let iv = p.interval.unwrap();
        assert!(
            iv.lo.raw <= p.latency.raw && p.latency.raw < iv.hi.raw,
            "stream {k}: {iv:?}"
        );
        let ei = e.intervals.unwrap();
        assert!(ei[2].lo.raw <= e.energy.total.raw && e.energy.total.raw < ei[2].hi.raw);
        flagged += usize::from(!p.envelope.unwrap().inside());
        widths.push((iv.hi.raw - iv.lo.raw) as f64 / p.latency.raw as f64);
    }
    // A 2x2 mesh gets a wider latency interval than a 4x4 one (Mondrian bins by tiles).
    assert!(widths[1] > widths[0], "{widths:?}");
    // The synthetic streams (random paths) are unlike any simulated workload.
    assert!(flagged >= 1, "no stream flagged");
}
