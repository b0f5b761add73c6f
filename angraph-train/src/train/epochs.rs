//! The one training loop: ANGraph-L ([`super::latency::train`]), ANGraph-P
//! ([`super::power::train`]) and the head fine-tuning of `angraph transfer` all run
//! [`run_epochs`]. It owns what they share: seeded epochs of shuffled batches, Adam, the
//! finite-loss check, validation-only model selection (or keeping the last epoch), stages that
//! restart from the best model of the previous one, the per-epoch atomic commit of the run folder
//! ([`super::run_dir`]), the log and its views, and exact resume. What differs is a [`Task`]:
//! the loss of a batch, the validation score, the trainable variables of each stage.
//!
//! Order of operations (this is what makes a resumed run reproduce the uninterrupted one): per
//! epoch, `tch::manual_seed(epoch_seed(seed, epoch))`, the batches of
//! [`super::data::epoch_batches`], for each batch the task's loss, one Adam step and the task's
//! [`Task::after_step`]; then validation, staging of `best` (if improved), `last`, the optimizer
//! moments and `log.json`, and the commit.

use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Result};
use tch::nn::VarStore;
use tch::Tensor;

use super::adam::Adam;
use super::data::epoch_batches;
use super::log::{EpochRecord, TrainLog};
use super::run_dir::{RunDir, Staged};
use super::{epoch_seed, RunState};
use crate::nn::checkpoint::{checkpoint_bytes, load_checked, read_state_dict};
use crate::nn::CheckpointMeta;
use crate::progress::progress_bar;

/// One validation pass: the selection score (lower is better) and what the log records.
#[derive(Debug, Clone)]
pub struct Validation {
    /// What model selection minimises (ANGraph-L: RMSE; ANGraph-P: the weighted loss).
    pub score: f64,
    /// The training loss measured on the validation rows (evaluation mode).
    pub loss: f64,
    /// R^2 (ANGraph-P: of the total energy).
    pub r2: f64,
    /// RMSE in the label unit.
    pub rmse: f64,
    /// MAPE, percent.
    pub mape: f64,
    /// The rest of the per-epoch progress line (after the training loss).
    pub summary: String,
}

/// What one model family's training run is made of.
pub trait Task {
    /// The variables that are checkpointed and reloaded (the whole model).
    fn vars(&self) -> &VarStore;
    /// The checkpoint metadata written with them.
    fn meta(&self) -> &CheckpointMeta;
    /// The stage `epoch` (0-based) belongs to; a new stage restarts from the best model so far
    /// and selects anew. Default: one stage.
    fn stage_of(&self, _epoch: usize) -> usize {
        0
    }
    /// The variables Adam updates in `stage`.
    fn params(&self, stage: usize) -> Vec<Tensor>;
    /// The mean loss of the training rows `idx` in `stage` (training mode where it applies).
    fn batch_loss(&self, stage: usize, idx: &[usize]) -> Result<Tensor>;
    /// Run after every optimizer step (e.g. to hold a constraint). Default: nothing.
    fn after_step(&self) -> Result<()> {
        Ok(())
    }
    /// Score the model after an epoch of `stage`.
    fn validate(&self, stage: usize) -> Result<Validation>;
}

/// How the model of a run is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Selection {
    /// The epoch with the lowest validation score; `baseline` is the score of the starting
    /// model, which then competes too (epoch 0: fine-tuning that never improves keeps it).
    Best {
        /// Score of the model before the first epoch, if it is a candidate.
        baseline: Option<f64>,
    },
    /// The last epoch (no validation split: the validation pass only fills the log).
    Last,
}

/// The schedule of a run: everything the loop needs besides the task.
#[derive(Debug, Clone)]
pub struct Schedule<'a> {
    /// The recipe as stored in `state.json` (a resume must present the same, epochs aside).
    pub recipe: serde_json::Value,
    /// Epochs in all.
    pub epochs: usize,
    /// Rows (graphs) per step.
    pub batch_size: usize,
    /// Seed of the shuffles and of torch at every epoch.
    pub seed: u64,
    /// Adam learning rate.
    pub lr: f64,
    /// Adam weight decay.
    pub weight_decay: f64,
    /// The training rows.
    pub train: &'a [usize],
    /// Model selection.
    pub selection: Selection,
    /// Title of `curve.png`.
    pub title: String,
    /// Label unit (axis of `curve.png`).
    pub unit: String,
    /// Progress bars and per-epoch lines on stderr.
    pub show_progress: bool,
}

/// What the loop reports; the selected model is loaded into the task's variables.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fitted {
    /// Epoch (1-based) of the selected model; 0 = the starting model (only with a baseline).
    pub best_epoch: usize,
    /// Mean training time per epoch of this process (of the log when it ran none), seconds.
    pub seconds_per_epoch: f64,
}

/// Train (or, with `resume` and a committed `state.json` in `dir`, continue) `task` into `dir`:
/// `state.json`, `last.safetensors`, `last.adam.safetensors`, `best.safetensors`, `log.json`,
/// `log.csv`, `curve.png`. On return the task's variables hold the selected model.
pub fn run_epochs(task: &impl Task, s: &Schedule, dir: &Path, resume: bool) -> Result<Fitted> {
    if s.epochs == 0 || s.batch_size == 0 || s.lr <= 0.0 {
        bail!("epochs, batch size and learning rate must be positive");
    }
    if s.train.is_empty() {
        bail!("the training split is empty");
    }
    let run = RunDir::open(dir)?;
    let mut state = RunState::fresh(s.recipe.clone());
    let mut log = TrainLog::default();
    let mut stage = 0;
    let mut adam = Adam::new(task.params(0), s.lr, s.weight_decay);
    if resume && run.has_state() {
        state = run.recover(&state.recipe)?;
        if state.epochs_done > 0 {
            let last = run.path("last.safetensors");
            load_checked(task.vars(), &read_state_dict(&last)?, &last)?;
            stage = task.stage_of(state.epochs_done - 1);
            adam = Adam::new(task.params(stage), s.lr, s.weight_decay);
            adam.load(&run.path("last.adam.safetensors"))?;
            log = TrainLog::load(&run.path("log.json"))?;
            log.save_views(&run.dir, &s.title, &s.unit)?;
        }
        eprintln!(
            "resuming {} after epoch {} (best validation score {:.4} at epoch {})",
            dir.display(),
            state.epochs_done,
            state.best_valid,
            state.best_epoch
        );
    } else {
        run.discard_pending()?;
        if let Selection::Best {
            baseline: Some(score),
        } = s.selection
        {
            // The starting model is a candidate: committed as epoch 0's best.
            let mut staged = Staged::default();
            let bytes = checkpoint_bytes(task.vars(), task.meta())?;
            run.stage(&mut staged, "best.safetensors", &bytes)?;
            state.best_valid = score;
            run.commit(&mut state, staged)?;
        }
    }
    let mut seconds = Vec::new();
    for epoch in state.epochs_done..s.epochs {
        if task.stage_of(epoch) != stage {
            // A new stage starts from the best model of the last one and selects anew.
            stage = task.stage_of(epoch);
            let best = run.path("best.safetensors");
            load_checked(task.vars(), &read_state_dict(&best)?, &best)?;
            adam = Adam::new(task.params(stage), s.lr, s.weight_decay);
            state.best_valid = f64::MAX;
        }
        tch::manual_seed(epoch_seed(s.seed, epoch) as i64);
        let batches = epoch_batches(s.train, s.seed, epoch, s.batch_size);
        let bar = progress_bar(
            s.show_progress,
            batches.len() as u64,
            &format!("epoch {}/{}", epoch + 1, s.epochs),
        );
        let t0 = Instant::now();
        let (mut loss_sum, mut n_seen) = (0f64, 0usize);
        for idx in &batches {
            let loss = task.batch_loss(stage, idx)?;
            adam.backward_step(&loss);
            task.after_step()?;
            let l = loss.double_value(&[]);
            if !l.is_finite() {
                bail!(
                    "epoch {}: the training loss is not finite ({l}); lower the learning rate",
                    epoch + 1
                );
            }
            loss_sum += l * idx.len() as f64;
            n_seen += idx.len();
            bar.inc(1);
            bar.set_message(format!("loss {:.4}", loss_sum / n_seen as f64));
        }
        bar.finish_and_clear();
        let train_s = t0.elapsed().as_secs_f64();
        seconds.push(train_s);
        let train_loss = loss_sum / n_seen.max(1) as f64;
        let v = task.validate(stage)?;
        let improved = match s.selection {
            Selection::Best { .. } => v.score.is_finite() && v.score < state.best_valid,
            Selection::Last => true,
        };
        // The epoch's files commit together (run_dir.rs): staged, then state.json, then moved.
        let ck_bytes = checkpoint_bytes(task.vars(), task.meta())?;
        let mut staged = Staged::default();
        if improved {
            state.best_valid = v.score;
            state.best_epoch = epoch + 1;
            run.stage(&mut staged, "best.safetensors", &ck_bytes)?;
        }
        state.epochs_done = epoch + 1;
        run.stage(&mut staged, "last.safetensors", &ck_bytes)?;
        run.stage_with(&mut staged, "last.adam.safetensors", |p| adam.write_file(p))?;
        log.push(EpochRecord {
            epoch: epoch + 1,
            train_loss,
            valid_loss: v.loss,
            valid_r2: v.r2,
            valid_rmse: v.rmse,
            valid_mape: v.mape,
            seconds: train_s,
        });
        run.stage(&mut staged, "log.json", &log.json_bytes()?)?;
        run.commit(&mut state, staged)?;
        log.save_views(&run.dir, &s.title, &s.unit)?;
        if s.show_progress {
            eprintln!(
                "epoch {:>3}: train loss {train_loss:.5}  {}  {train_s:.1}s{}",
                epoch + 1,
                v.summary,
                if improved { "  *" } else { "" }
            );
        }
    }
    let has_baseline = matches!(s.selection, Selection::Best { baseline: Some(_) });
    if state.best_epoch == 0 && !has_baseline {
        bail!("no epoch produced a finite validation score");
    }
    let best = run.path("best.safetensors");
    load_checked(task.vars(), &read_state_dict(&best)?, &best)?;
    let seconds_per_epoch = if seconds.is_empty() {
        log.mean_seconds()
    } else {
        seconds.iter().sum::<f64>() / seconds.len() as f64
    };
    Ok(Fitted {
        best_epoch: state.best_epoch,
        seconds_per_epoch,
    })
}
