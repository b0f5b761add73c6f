//! `angraph transfer`: adapt a trained ANGraph-L to a new process node by freezing the
//! message-passing layers (input projection, SAGE convolutions, BatchNorm: weights and running
//! statistics) and fine-tuning only the head on a small share of the new node's data (the
//! original: 10% train, 10% valid, 80% test). Reports the test metrics before and after.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;
use tch::{Reduction, Tensor};

use crate::eval::{latency_eval, latency_plot, LatencyEval};
use crate::nn::checkpoint::{load_checked, read_state_dict, write_atomic};
use crate::nn::Checkpoint;
use crate::train::adam::Adam;
use crate::train::data::{epoch_batches, Splits};
use crate::train::latency::LatencyModel;
use crate::train::{epoch_seed, progress_bar};

/// `angraph transfer`.
#[derive(Args, Debug)]
pub struct TransferArgs {
    /// The trained ANGraph-L checkpoint (`*.safetensors`).
    #[arg(long)]
    pub model: PathBuf,
    /// The new process node's latency dataset.
    #[arg(long)]
    pub data: PathBuf,
    /// Run folder (best.safetensors, model.safetensors, report.json, PNGs).
    #[arg(long)]
    pub out: PathBuf,
    /// Also write `<SAVE>.safetensors`, `<SAVE>.json`, `<SAVE>.png`.
    #[arg(long)]
    pub save: Option<PathBuf>,
    /// Share of the new data used for fine-tuning.
    #[arg(long, default_value_t = 0.1)]
    pub train_frac: f64,
    /// Share used for model selection (the rest is the test split).
    #[arg(long, default_value_t = 0.1)]
    pub valid_frac: f64,
    /// Seed of the split, shuffles and torch.
    #[arg(long, default_value_t = 2024)]
    pub seed: u64,
    /// Epochs of head fine-tuning.
    #[arg(long, default_value_t = 100)]
    pub epochs: usize,
    /// Graphs per step.
    #[arg(long, default_value_t = 16)]
    pub batch_size: usize,
    /// Adam learning rate (the original: 1e-3).
    #[arg(long, default_value_t = 1e-3)]
    pub lr: f64,
    /// Huber delta (model units).
    #[arg(long, default_value_t = 1.0)]
    pub huber_delta: f64,
    /// Intra-op threads (0 = libtorch's default).
    #[arg(long, default_value_t = 0)]
    pub threads: i32,
    /// `auto`, `cpu` or `cuda`.
    #[arg(long, default_value = "auto")]
    pub device: String,
    /// No progress output.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Serialize)]
struct TransferReport {
    source_model: String,
    dataset: String,
    sizes: [usize; 3],
    epochs: usize,
    best_epoch: usize,
    before: LatencyEval,
    after: LatencyEval,
    command: String,
}

/// Run `angraph transfer`.
pub fn run(a: &TransferArgs) -> Result<()> {
    if a.threads > 0 {
        tch::set_num_threads(a.threads);
    }
    let device = crate::train::cli::parse_device(&a.device)?;
    tch::manual_seed(a.seed as i64);
    let mut set = crate::train::load::latency_set(&a.data, None)?;
    set.splits = Splits::random(set.graphs.len(), a.seed, a.train_frac, a.valid_frac)?;
    if set.splits.train.is_empty() || set.splits.valid.is_empty() || set.splits.test.is_empty() {
        bail!(
            "{}: too few graphs for a {}/{} split",
            set.name,
            a.train_frac,
            a.valid_frac
        );
    }
    let ck = Checkpoint::load(&a.model, device)?;
    let model = LatencyModel::from_checkpoint(ck)?;
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let before = latency_eval(&model, &set, &set.splits.test)?;
    latency_plot(
        &a.out.join("before.png"),
        &set,
        &before,
        "test, before transfer",
    )?;
    // Freeze message passing; optimise the head only.
    for v in model.net().message_passing_variables() {
        let _ = v.set_requires_grad(false);
    }
    let mut head = Vec::new();
    for l in &model.net().head {
        head.push(l.ws.shallow_clone());
        head.extend(l.bs.as_ref().map(|b| b.shallow_clone()));
    }
    let mut adam = Adam::new(head, a.lr, 0.0);
    let scale = model.ck.meta.label_scale;
    let truth = |idx: &[usize]| -> Vec<f32> { idx.iter().map(|&i| set.labels[i]).collect() };
    let vt = truth(&set.splits.valid);
    let mut best =
        crate::train::metrics::Metrics::of(&model.predict(&set, &set.splits.valid, 64)?, &vt).rmse;
    let best_path = a.out.join("best.safetensors");
    model.ck.save(&best_path)?;
    let mut best_epoch = 0;
    let bar = progress_bar(!a.quiet, a.epochs as u64, "fine-tuning head");
    for epoch in 0..a.epochs {
        tch::manual_seed(epoch_seed(a.seed, epoch) as i64);
        for idx in epoch_batches(&set.splits.train, a.seed, epoch, a.batch_size) {
            let b = model.batch(&set, &idx, device)?;
            let y: Vec<f32> = idx.iter().map(|&i| set.labels[i] / scale).collect();
            let y = Tensor::from_slice(&y).to_device(device);
            // Evaluation mode: BatchNorm keeps its running statistics, no dropout.
            let pred = model.net().forward_t(&b, false)?;
            adam.backward_step(&pred.huber_loss(&y, Reduction::Mean, a.huber_delta));
        }
        let v =
            crate::train::metrics::Metrics::of(&model.predict(&set, &set.splits.valid, 64)?, &vt);
        if v.rmse < best {
            best = v.rmse;
            best_epoch = epoch + 1;
            model.ck.save(&best_path)?;
        }
        bar.inc(1);
        bar.set_message(format!("valid R2 {:.4}", v.r2));
    }
    bar.finish_and_clear();
    let sd = read_state_dict(&best_path)?;
    load_checked(&model.ck.vs, &sd, &best_path)?;
    let after = latency_eval(&model, &set, &set.splits.test)?;
    latency_plot(
        &a.out.join("pred_vs_true.png"),
        &set,
        &after,
        "test, after transfer",
    )?;
    let exported = model.export(&format!(
        "{} transferred to {} (head fine-tuned on {} graphs, epoch {best_epoch}); test R2 {:.4}",
        a.model.display(),
        set.name,
        set.splits.train.len(),
        after.model.r2
    ))?;
    let model_path = a.out.join("model.safetensors");
    exported.save(&model_path)?;
    let report = TransferReport {
        source_model: a.model.display().to_string(),
        dataset: set.name.clone(),
        sizes: [
            set.splits.train.len(),
            set.splits.valid.len(),
            set.splits.test.len(),
        ],
        epochs: a.epochs,
        best_epoch,
        before: before.clone(),
        after: after.clone(),
        command: std::env::args().collect::<Vec<_>>().join(" "),
    };
    let json = serde_json::to_string_pretty(&report)?;
    write_atomic(&a.out.join("report.json"), json.as_bytes())?;
    println!(
        "transfer to {}: test R2 {:.4} -> {:.4}, RMSE {:.4} -> {:.4} {}, MAPE {:.2}% -> {:.2}% (head tuned on {} graphs, best epoch {best_epoch})",
        set.name,
        before.model.r2,
        after.model.r2,
        before.model.rmse,
        after.model.rmse,
        set.unit,
        before.model.mape,
        after.model.mape,
        set.splits.train.len()
    );
    if let Some(prefix) = &a.save {
        crate::train::cli::save_copy(
            prefix,
            &model_path,
            json.as_bytes(),
            &a.out.join("pred_vs_true.png"),
        )?;
    }
    Ok(())
}
