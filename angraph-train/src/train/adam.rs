//! Adam (with coupled L2 weight decay, as `torch.optim.Adam(weight_decay=...)`) whose moments
//! are plain tensors, so a run can be checkpointed and resumed exactly, and so that transfer
//! learning can optimise a chosen subset of the variables (the frozen ones are simply not given).

use std::path::Path;

use anyhow::{bail, Context, Result};
use tch::{Kind, Tensor};

/// Adam over a fixed list of variables.
#[derive(Debug)]
pub struct Adam {
    /// Learning rate.
    pub lr: f64,
    /// Coupled L2 weight decay (`grad += wd * param`).
    pub wd: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    params: Vec<Tensor>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    /// Steps taken.
    pub step: i64,
}

impl Adam {
    /// Adam over `params` (betas 0.9 / 0.999, eps 1e-8: PyTorch's defaults).
    pub fn new(params: Vec<Tensor>, lr: f64, wd: f64) -> Self {
        let m = params.iter().map(|p| p.zeros_like()).collect();
        let v = params.iter().map(|p| p.zeros_like()).collect();
        Adam {
            lr,
            wd,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            params,
            m,
            v,
            step: 0,
        }
    }

    /// Clear the gradients of the optimised variables.
    pub fn zero_grad(&mut self) {
        for p in &mut self.params {
            let mut g = p.grad();
            if g.defined() {
                let _ = g.detach_();
                let _ = g.zero_();
            }
        }
    }

    /// `loss.backward()` then one Adam step.
    pub fn backward_step(&mut self, loss: &Tensor) {
        self.zero_grad();
        loss.backward();
        self.step += 1;
        let t = self.step as f64;
        let bc1 = 1.0 - self.beta1.powf(t);
        let bc2 = 1.0 - self.beta2.powf(t);
        tch::no_grad(|| {
            for ((p, m), v) in self.params.iter().zip(&mut self.m).zip(&mut self.v) {
                let g = p.grad();
                if !g.defined() {
                    continue;
                }
                let g = if self.wd != 0.0 { &g + p * self.wd } else { g };
                let _ = m.g_mul_scalar_(self.beta1);
                let _ = m.g_add_(&(&g * (1.0 - self.beta1)));
                let _ = v.g_mul_scalar_(self.beta2);
                let _ = v.g_add_(&(&g * &g * (1.0 - self.beta2)));
                let denom = (&*v / bc2).sqrt() + self.eps;
                let update = (&*m / &denom) * (self.lr / bc1);
                let mut p = p.shallow_clone();
                let _ = p.g_sub_(&update);
            }
        });
    }

    /// Save the moments and the step count (safetensors, atomically).
    pub fn save(&self, path: &Path) -> Result<()> {
        crate::fsio::write_atomic_with(path, "", |tmp| self.write_file(tmp))
    }

    /// Write the moments and the step count (safetensors) to `path` directly (callers make it
    /// atomic, see [`Adam::save`]).
    pub fn write_file(&self, path: &Path) -> Result<()> {
        let mut named: Vec<(String, Tensor)> = Vec::new();
        for (i, (m, v)) in self.m.iter().zip(&self.v).enumerate() {
            named.push((format!("m.{i:03}"), m.to_kind(Kind::Float)));
            named.push((format!("v.{i:03}"), v.to_kind(Kind::Float)));
        }
        named.push(("step".into(), Tensor::from_slice(&[self.step])));
        Tensor::write_safetensors(&named, path)
            .with_context(|| format!("writing optimizer state {}", path.display()))
    }

    /// Load moments saved by [`Adam::save`] for the same variable list.
    pub fn load(&mut self, path: &Path) -> Result<()> {
        let named = Tensor::read_safetensors(path)
            .with_context(|| format!("reading optimizer state {}", path.display()))?;
        let get = |name: &str| -> Result<&Tensor> {
            named
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, t)| t)
                .with_context(|| format!("{}: no tensor `{name}`", path.display()))
        };
        for i in 0..self.params.len() {
            for (which, dst) in [("m", &mut self.m[i]), ("v", &mut self.v[i])] {
                let src = get(&format!("{which}.{i:03}"))?;
                if src.size() != dst.size() {
                    bail!(
                        "{}: `{which}.{i:03}` has shape {:?}, the variable has {:?}",
                        path.display(),
                        src.size(),
                        dst.size()
                    );
                }
                tch::no_grad(|| dst.copy_(src));
            }
        }
        self.step = get("step")?.int64_value(&[0]);
        Ok(())
    }
}
