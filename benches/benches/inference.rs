//! Inference throughput: angraph-core fixed point vs angraph-core f32 reference vs tch f32 (CPU,
//! one thread), same weights (the imported original models), graphs per second.
//!
//! `cargo bench -p angraph-benches --bench inference`, then
//! `cargo run --release -p angraph-benches --bin bench-report` for the table.

use std::time::Duration;

use angraph_benches::{
    mesh_graph, Contenders, LATENCY_STEM, MESH_SIDES, POWER_BATCHES, POWER_STEM,
};
use angraph_core::power::Energy;
use angraph_core::{latency, power, Fixed, Model};
use angraph_train::import::generated_rows;
use angraph_train::nn::{GraphBatch, Net};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use tch::{Device, Tensor};

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .without_plots()
}

fn latency_benches(c: &mut Criterion) {
    tch::set_num_threads(1);
    tch::set_num_interop_threads(1);
    let k = Contenders::load(LATENCY_STEM).expect("saved_model/latency_dataset.*");
    let Net::Latency(net) = &k.checkpoint.net else {
        panic!("not ANGraph-L")
    };
    let mf = Model::from_bytes(&k.f32_blob).unwrap();
    let mq = Model::from_bytes(&k.fixed_blob).unwrap();
    for side in MESH_SIDES {
        let g = mesh_graph(side).unwrap();
        let view = g.view().unwrap();
        let gf = g.to_fixed();
        let fview = gf.view().unwrap();
        let (n, e) = (view.num_nodes(), view.num_edges());
        let mut ws_f = vec![0u8; latency::required_workspace(&mf, n, e)];
        let mut ws_q = vec![0u8; latency::required_workspace(&mq, n, e)];
        let batch = GraphBatch::single(&g, Device::Cpu).unwrap();
        let mut group = c.benchmark_group(format!("angraph_l_{side}x{side}"));
        group.throughput(Throughput::Elements(1));
        group.bench_function("fixed", |b| {
            b.iter(|| latency::predict_fixed(&mq, black_box(&fview), &mut ws_q).unwrap())
        });
        group.bench_function("core_f32", |b| {
            b.iter(|| latency::predict_f32(&mf, black_box(&view), &mut ws_f, None).unwrap())
        });
        group.bench_function("tch_f32", |b| {
            b.iter(|| tch::no_grad(|| net.forward_t(black_box(&batch), false).unwrap()))
        });
        group.finish();
    }
}

fn power_benches(c: &mut Criterion) {
    tch::set_num_threads(1);
    let k = Contenders::load(POWER_STEM).expect("saved_model/power_ap_mnist_4x4_tsmc28.*");
    let Net::Power(net) = &k.checkpoint.net else {
        panic!("not ANGraph-P")
    };
    let mf = Model::from_bytes(&k.f32_blob).unwrap();
    let mq = Model::from_bytes(&k.fixed_blob).unwrap();
    let d = net.config().in_dim as usize;
    for batch in POWER_BATCHES {
        let rows = generated_rows(batch, d, 77);
        let fixed_rows: Vec<i32> = rows
            .iter()
            .map(|&v| angraph_core::fixed::feature_to_fixed(v))
            .collect();
        let x = Tensor::from_slice(&rows).view([batch as i64, d as i64]);
        let zf = Energy::<f32>::ZERO;
        let mut out_f = vec![zf; batch];
        let mut out_q = vec![Energy::<Fixed>::ZERO; batch];
        let mut ws = vec![0u8; power::required_workspace(&mf).max(power::required_workspace(&mq))];
        let mut group = c.benchmark_group(format!("angraph_p_batch{batch}"));
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_function("fixed", |b| {
            b.iter(|| {
                power::predict_fixed(&mq, black_box(&fixed_rows), &mut out_q, &mut ws).unwrap()
            })
        });
        // The same call with a workspace for blocks of 64 samples (layer-major batches).
        let mut ws_b = vec![0u8; power::required_workspace_batched(&mq, power::BLOCK)];
        group.bench_function("fixed_batched", |b| {
            b.iter(|| {
                power::predict_fixed(&mq, black_box(&fixed_rows), &mut out_q, &mut ws_b).unwrap()
            })
        });
        group.bench_function("core_f32", |b| {
            b.iter(|| power::predict_f32(&mf, black_box(&rows), &mut out_f, &mut ws, None).unwrap())
        });
        group.bench_function("tch_f32", |b| {
            b.iter(|| tch::no_grad(|| net.forward(black_box(&x)).unwrap()))
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = config();
    targets = latency_benches, power_benches
}
criterion_main!(benches);
