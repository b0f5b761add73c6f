//! The int16 kernels of angraph-core side by side: every path this CPU has (`scalar` = the
//! Cortex-M loops, `sse2`, `avx2`, `avx512bw`, `avx512vnni`), the layer kernel alone (the
//! ANGraph-L SAGE layer 200 -> 100 and the ANGraph-P residual layer 128 -> 128, one input
//! vector) and ANGraph-L 4x4 / 8x8 and ANGraph-P batch 1 / 256 end to end against tch f32 (one
//! thread), plus the issue rate of `vpdpwssd` measured on independent accumulators. Int8
//! activations (`int8_*`: the checkpoints quantized to int8 here, calibrated on generated
//! inputs) on the plain loops and on the VNNI `vpdpbusd` kernel.
//!
//! `cargo bench -p angraph-benches --bench kernels`; at the end it prints a markdown table of
//! the criterion medians (ratios, MACs per cycle at the `cpu MHz` of /proc/cpuinfo). The path is
//! forced with `angraph_core::kernel::set_path` / `linear_fixed_with` (outside the timed loop).

use std::time::{Duration, Instant};

use angraph_benches::{mesh_graph, Contenders, LATENCY_STEM, POWER_STEM};
use angraph_core::kernel::{self, Path};
use angraph_core::power::Energy;
use angraph_core::quantize::Calibration;
use angraph_core::{latency, power, Fixed, Model, Precision};
use angraph_train::import::generated_rows;
use angraph_train::nn::{GraphBatch, Net};
use criterion::{black_box, Criterion};
use tch::{Device, Tensor};

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .without_plots()
}

fn paths() -> Vec<Path> {
    Path::ALL
        .iter()
        .copied()
        .filter(|p| p.supported())
        .collect()
}

/// The int8-activation paths: plain loops (every path below VNNI) and AVX-512 VNNI.
fn int8_paths() -> Vec<Path> {
    [Path::Scalar, Path::Avx512Vnni]
        .into_iter()
        .filter(|p| p.supported())
        .collect()
}

/// One row of the final table.
struct Row {
    group: String,
    macs: f64,
    tch: bool,
}

fn cpu_mhz() -> f64 {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("cpu MHz"))
                .and_then(|l| l.split(':').nth(1))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(f64::NAN)
}

/// `vpdpwssd zmm` per nanosecond on 16 independent accumulators (the instruction's issue rate).
fn vpdpwssd_per_ns() -> Option<f64> {
    if !Path::Avx512Vnni.supported() {
        return None;
    }
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    fn run(iters: u64) -> i32 {
        use std::arch::x86_64::*;
        let a = _mm512_set1_epi16(black_box(3));
        let b = _mm512_set1_epi16(black_box(5));
        let mut acc = [_mm512_setzero_si512(); 16];
        for _ in 0..iters {
            for v in acc.iter_mut() {
                *v = _mm512_dpwssd_epi32(*v, a, b);
            }
        }
        let mut s = _mm512_setzero_si512();
        for v in acc {
            s = _mm512_add_epi32(s, v);
        }
        _mm512_reduce_add_epi32(s)
    }
    let iters = 2_000_000u64;
    let mut best = f64::INFINITY;
    for _ in 0..7 {
        let t = Instant::now();
        // SAFETY: AVX-512 VNNI is present (checked above).
        black_box(unsafe { run(black_box(iters)) });
        best = best.min(t.elapsed().as_nanos() as f64);
    }
    Some((iters * 16) as f64 / best)
}

fn kernel_alone(c: &mut Criterion, rows: &mut Vec<Row>) {
    let k = Contenders::load(LATENCY_STEM).unwrap();
    let mq = Model::from_bytes(&k.fixed_blob).unwrap();
    let kp = Contenders::load(POWER_STEM).unwrap();
    let mp = Model::from_bytes(&kp.fixed_blob).unwrap();
    // The first SAGE layer of ANGraph-L and the first residual layer of ANGraph-P.
    let layers = [
        ("kernel_l_sage_200x100", &mq.linears()[0]),
        ("kernel_p_res_128x128", &mp.linears()[1]),
    ];
    for (name, lin) in layers {
        let x: Vec<i16> = (0..lin.in_dim)
            .map(|i| ((i * 7919) % 20000) as i16 - 10000)
            .collect();
        let mut out = vec![0i16; lin.out_dim];
        let mut g = c.benchmark_group(name);
        for p in paths() {
            g.bench_function(p.name(), |b| {
                b.iter(|| kernel::linear_fixed_with(p, lin, black_box(&x), &mut out, true))
            });
        }
        // Int8 activations (same weights): the plain loops and the VNNI `vpdpbusd` kernel.
        let x8: Vec<i8> = x.iter().map(|&v| (v >> 8) as i8).collect();
        let mut out8 = vec![0i8; lin.out_dim];
        for p in int8_paths() {
            g.bench_function(format!("int8_{}", p.name()), |b| {
                b.iter(|| kernel::linear_fixed_with(p, lin, black_box(&x8), &mut out8, true))
            });
        }
        g.finish();
        rows.push(Row {
            group: name.into(),
            macs: (lin.in_dim * lin.out_dim) as f64,
            tch: false,
        });
    }
}

fn latency_e2e(c: &mut Criterion, rows: &mut Vec<Row>) {
    let k = Contenders::load(LATENCY_STEM).unwrap();
    let Net::Latency(net) = &k.checkpoint.net else {
        panic!("not ANGraph-L")
    };
    let mq = Model::from_bytes(&k.fixed_blob).unwrap();
    let calib = angraph_train::import::generated_graphs(24, 100, 5).unwrap();
    let q8 = k
        .checkpoint
        .to_model_f32()
        .unwrap()
        .quantize(&Calibration::Latency(&calib), Precision::Int8, "bench int8")
        .unwrap();
    let m8 = Model::from_bytes(&q8).unwrap();
    let cfg = mq.latency_config().unwrap();
    let lins = mq.linears();
    let node_linears = cfg.computed_layers() as usize + usize::from(cfg.input_proj);
    let per_node: usize = lins[..node_linears]
        .iter()
        .map(|l| l.in_dim * l.out_dim)
        .sum();
    let head: usize = lins[node_linears..]
        .iter()
        .map(|l| l.in_dim * l.out_dim)
        .sum();
    for side in [4u32, 8] {
        let g = mesh_graph(side).unwrap();
        let gf = g.to_fixed();
        let fview = gf.view().unwrap();
        let n = fview.num_nodes();
        let mut ws = vec![0u8; latency::required_workspace(&mq, n, fview.num_edges())];
        let batch = GraphBatch::single(&g, Device::Cpu).unwrap();
        let name = format!("e2e_l_{side}x{side}");
        let mut grp = c.benchmark_group(&name);
        for p in paths() {
            kernel::set_path(p);
            grp.bench_function(p.name(), |b| {
                b.iter(|| latency::predict_fixed(&mq, black_box(&fview), &mut ws).unwrap())
            });
        }
        let mut ws8 = vec![0u8; latency::required_workspace(&m8, n, fview.num_edges())];
        for p in int8_paths() {
            kernel::set_path(p);
            grp.bench_function(format!("int8_{}", p.name()), |b| {
                b.iter(|| latency::predict_fixed(&m8, black_box(&fview), &mut ws8).unwrap())
            });
        }
        kernel::set_path(kernel::best_path());
        grp.bench_function("tch_f32", |b| {
            b.iter(|| tch::no_grad(|| net.forward_t(black_box(&batch), false).unwrap()))
        });
        grp.finish();
        rows.push(Row {
            group: name,
            macs: (n as usize * per_node + head) as f64,
            tch: true,
        });
    }
}

fn power_e2e(c: &mut Criterion, rows: &mut Vec<Row>) {
    let k = Contenders::load(POWER_STEM).unwrap();
    let Net::Power(net) = &k.checkpoint.net else {
        panic!("not ANGraph-P")
    };
    let mq = Model::from_bytes(&k.fixed_blob).unwrap();
    let calib = generated_rows(512, 36, 5);
    let q8 = k
        .checkpoint
        .to_model_f32()
        .unwrap()
        .quantize(&Calibration::Power(&calib), Precision::Int8, "bench int8")
        .unwrap();
    let m8 = Model::from_bytes(&q8).unwrap();
    let per_sample: usize = mq.linears().iter().map(|l| l.in_dim * l.out_dim).sum();
    let d = net.config().in_dim as usize;
    for batch in [1usize, 256] {
        let rows_f = generated_rows(batch, d, 77);
        let fixed_rows: Vec<i32> = rows_f
            .iter()
            .map(|&v| angraph_core::fixed::feature_to_fixed(v))
            .collect();
        let x = Tensor::from_slice(&rows_f).view([batch as i64, d as i64]);
        let mut out = vec![Energy::<Fixed>::ZERO; batch];
        let mut ws = vec![0u8; power::required_workspace(&mq)];
        let name = format!("e2e_p_batch{batch}");
        let mut grp = c.benchmark_group(&name);
        for p in paths() {
            kernel::set_path(p);
            grp.bench_function(p.name(), |b| {
                b.iter(|| {
                    power::predict_fixed(&mq, black_box(&fixed_rows), &mut out, &mut ws).unwrap()
                })
            });
        }
        for p in int8_paths() {
            kernel::set_path(p);
            grp.bench_function(format!("int8_{}", p.name()), |b| {
                b.iter(|| {
                    power::predict_fixed(&m8, black_box(&fixed_rows), &mut out, &mut ws).unwrap()
                })
            });
        }
        kernel::set_path(kernel::best_path());
        grp.bench_function("tch_f32", |b| {
            b.iter(|| tch::no_grad(|| net.forward(black_box(&x)).unwrap()))
        });
        grp.finish();
        rows.push(Row {
            group: name,
            macs: (batch * per_sample) as f64,
            tch: true,
        });
    }
}

/// Median time per iteration in nanoseconds from criterion's estimates.
fn median_ns(group: &str, function: &str) -> Option<f64> {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| angraph_benches::workspace_root().join("target"));
    let p = dir
        .join("criterion")
        .join(group)
        .join(function)
        .join("new/estimates.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(p).ok()?).ok()?;
    v["median"]["point_estimate"].as_f64()
}

fn fmt_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.3} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} us", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

fn table(rows: &[Row], issue_per_ns: Option<f64>) {
    let mhz = cpu_mhz();
    let ghz = mhz / 1e3;
    println!("\ncpu MHz (/proc/cpuinfo): {mhz:.0}");
    if let Some(r) = issue_per_ns {
        println!(
            "vpdpwssd zmm, 16 independent accumulators: {:.2} per ns = {:.2} per cycle at {mhz:.0} \
             MHz = {:.1} int16 MACs/cycle",
            r,
            r / ghz,
            32.0 * r / ghz
        );
    }
    let peak_per_ns = issue_per_ns.map(|r| 32.0 * r);
    let paths = paths();
    println!(
        "\n| benchmark | MACs | path | median | vs scalar (same precision) | vs avx2 | vs tch | MACs/cycle @ {mhz:.0} MHz | \
         of measured peak |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for r in rows {
        let scalar = median_ns(&r.group, "scalar");
        let avx2 = median_ns(&r.group, "avx2");
        let tch = if r.tch {
            median_ns(&r.group, "tch_f32")
        } else {
            None
        };
        let mut names: Vec<String> = paths.iter().map(|p| p.name().to_string()).collect();
        names.extend(int8_paths().iter().map(|p| format!("int8_{}", p.name())));
        if r.tch {
            names.push("tch_f32".into());
        }
        for name in names {
            let name = name.as_str();
            let Some(t) = median_ns(&r.group, name) else {
                continue;
            };
            let ratio = |b: Option<f64>| b.map_or("-".into(), |b| format!("{:.2}", b / t));
            let fixed = name != "tch_f32";
            let scalar = if name.starts_with("int8_") {
                median_ns(&r.group, "int8_scalar")
            } else {
                scalar
            };
            let mpc = r.macs / (t * ghz);
            println!(
                "| {} | {:.2} M | {name} | {} | {} | {} | {} | {} | {} |",
                r.group,
                r.macs / 1e6,
                fmt_ns(t),
                if fixed { ratio(scalar) } else { "-".into() },
                if fixed { ratio(avx2) } else { "-".into() },
                if fixed { ratio(tch) } else { "-".into() },
                if fixed {
                    format!("{mpc:.1}")
                } else {
                    "-".into()
                },
                match peak_per_ns {
                    Some(p) if fixed => format!("{:.0} %", 100.0 * r.macs / t / p),
                    _ => "-".into(),
                },
            );
        }
    }
}

fn main() {
    tch::set_num_threads(1);
    tch::set_num_interop_threads(1);
    let mut c = config().configure_from_args();
    let mut rows = Vec::new();
    let issue = vpdpwssd_per_ns();
    kernel_alone(&mut c, &mut rows);
    latency_e2e(&mut c, &mut rows);
    power_e2e(&mut c, &mut rows);
    c.final_summary();
    table(&rows, issue);
}
