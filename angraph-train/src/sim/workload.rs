//! Workloads: spiking networks, their inputs, and the functional (algorithmic) simulation that
//! decides which neurons fire. The spike sets depend only on the network and the input, never
//! on hardware timing, so both fidelity levels process exactly the same events.
//!
//! | workload | network (layer sizes) | input | paper analogue |
//! |---|---|---|---|
//! | `digits` | 64 -> 48 (50 % connectivity) -> 10 | a real 8x8 handwritten digit, rate- or latency-coded | mnist |
//! | `digits-conv` | 64 -> 4 x 6 x 6 (3x3 conv) -> 10 | as `digits` | mnist_conv |
//! | `dvs` | 2 x 12 x 12 -> 4 x 5 x 5 (4x4 patches, stride 2) -> 10 | a moving edge, bursty, with noise events | cifar10dvs |
//! | `large-a` | 128 -> 160 -> 96 -> 100 (40 %, 50 %, 100 % connectivity) | two digits side by side | cifar100 |
//! | `large-b` | 192 -> 256 -> 128 -> 200 (30 %, 40 %, 100 % connectivity) | three digits | tiny_imagenet |
//! | `mix` | one of `digits`, `digits-conv`, `dvs` per sample | | mix |
//!
//! Neurons are leaky integrate-and-fire ([`super::params::NEURON`]) over `steps` algorithmic
//! time steps; weights come from a seeded generator (the dataset seed), so one dataset has one
//! network and the samples differ in input and placement.

use super::params::NEURON;
use super::rng::Rng;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::sync::OnceLock;

/// The handwritten digits (UCI optdigits, CC BY 4.0; see `data/digits/README.md`).
const DIGITS_CSV_GZ: &[u8] = include_bytes!("../../../data/digits/digits.csv.gz");

/// Which application runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// Fully connected SNN on real digits.
    Digits,
    /// Convolution-like SNN on real digits.
    DigitsConv,
    /// Event-camera-like input.
    Dvs,
    /// Larger, denser network (cifar100 stand-in).
    LargeA,
    /// Largest network (tiny_imagenet stand-in).
    LargeB,
    /// A random choice among digits, digits-conv and dvs per sample.
    Mix,
}

impl Workload {
    /// Parse a command-line name.
    pub fn parse(s: &str) -> Result<Workload> {
        serde_json::from_value(serde_json::Value::String(s.to_string())).with_context(|| {
            format!("unknown workload {s:?} (digits, digits-conv, dvs, large-a, large-b, mix)")
        })
    }
    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Digits => "digits",
            Workload::DigitsConv => "digits-conv",
            Workload::Dvs => "dvs",
            Workload::LargeA => "large-a",
            Workload::LargeB => "large-b",
            Workload::Mix => "mix",
        }
    }
}

/// How pixel intensities become input spikes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Coding {
    /// Bernoulli spikes with probability proportional to intensity, every step.
    Rate,
    /// One spike per pixel, earlier for brighter pixels; dim pixels stay silent.
    Latency,
}

/// A spiking network: layer sizes (layer 0 = the inputs) and fan-out synapse lists.
#[derive(Debug, Clone)]
pub struct Network {
    /// Neurons per layer; layer 0 is the input.
    pub sizes: Vec<usize>,
    /// `fanout[l][pre]` = synapses `(post neuron of layer l+1, weight)`.
    pub fanout: Vec<Vec<Vec<(u32, f32)>>>,
    /// Algorithmic time steps per inference.
    pub steps: usize,
}

/// The spikes of one inference: `spikes[l][t]` = neurons of layer `l` firing at step `t`
/// (ascending).
#[derive(Debug, Clone)]
pub struct Activity {
    /// Per layer, per step, firing neurons.
    pub spikes: Vec<Vec<Vec<u32>>>,
}

fn dense(rng: &mut Rng, n_in: usize, n_out: usize, rate_in: f64) -> Vec<Vec<(u32, f32)>> {
    sparse(rng, n_in, n_out, rate_in, 1.0)
}

/// Random connectivity of the given density (pruned fully connected layer): fan-out rows
/// differ per neuron, so the synaptic work per event depends on which neuron spiked.
fn sparse(
    rng: &mut Rng,
    n_in: usize,
    n_out: usize,
    rate_in: f64,
    density: f64,
) -> Vec<Vec<(u32, f32)>> {
    // Mean drive ~0.8 threshold when a fraction `rate_in` of the inputs spikes.
    let scale = 3.2 / (n_in as f64 * rate_in * density).max(1.0);
    (0..n_in)
        .map(|_| {
            let mut row = Vec::new();
            for j in 0..n_out {
                if rng.chance(density) {
                    row.push((j as u32, ((rng.unit() - 0.25) * scale) as f32));
                }
            }
            row
        })
        .collect()
}

/// Local receptive fields: input `c_in x side x side`, output `c_out x o x o`, kernel `k`,
/// stride `s` (shared weights per output channel).
#[allow(clippy::too_many_arguments)]
fn local(
    rng: &mut Rng,
    c_in: usize,
    side: usize,
    c_out: usize,
    k: usize,
    s: usize,
    gain: f64,
) -> (usize, Vec<Vec<(u32, f32)>>) {
    let o = (side - k) / s + 1;
    let kernels: Vec<f32> = (0..c_out * c_in * k * k)
        .map(|_| ((rng.unit() - 0.2) * gain) as f32)
        .collect();
    let mut fanout = vec![Vec::new(); c_in * side * side];
    for co in 0..c_out {
        for oy in 0..o {
            for ox in 0..o {
                let post = (co * o * o + oy * o + ox) as u32;
                for ci in 0..c_in {
                    for ky in 0..k {
                        for kx in 0..k {
                            let pre = ci * side * side + (oy * s + ky) * side + ox * s + kx;
                            let w = kernels[((co * c_in + ci) * k + ky) * k + kx];
                            fanout[pre].push((post, w));
                        }
                    }
                }
            }
        }
    }
    for f in &mut fanout {
        f.sort_by_key(|p| p.0);
    }
    (c_out * o * o, fanout)
}

impl Network {
    /// The network of a (non-mix) workload, weights from `seed`.
    pub fn build(w: Workload, seed: u64) -> Result<Network> {
        let mut rng = Rng::derive(seed, 0x6e65_7477);
        Ok(match w {
            Workload::Digits => Network {
                sizes: vec![64, 48, 10],
                fanout: vec![
                    sparse(&mut rng, 64, 48, 0.12, 0.5),
                    dense(&mut rng, 48, 10, 0.15),
                ],
                steps: 8,
            },
            Workload::DigitsConv => {
                let (n1, f1) = local(&mut rng, 1, 8, 4, 3, 1, 0.55);
                Network {
                    sizes: vec![64, n1, 10],
                    fanout: vec![f1, dense(&mut rng, n1, 10, 0.12)],
                    steps: 8,
                }
            }
            Workload::Dvs => {
                let (n1, f1) = local(&mut rng, 2, 12, 4, 4, 2, 0.5);
                Network {
                    sizes: vec![288, n1, 10],
                    fanout: vec![f1, dense(&mut rng, n1, 10, 0.12)],
                    steps: 10,
                }
            }
            Workload::LargeA => Network {
                sizes: vec![128, 160, 96, 100],
                fanout: vec![
                    sparse(&mut rng, 128, 160, 0.12, 0.4),
                    sparse(&mut rng, 160, 96, 0.15, 0.5),
                    dense(&mut rng, 96, 100, 0.15),
                ],
                steps: 8,
            },
            Workload::LargeB => Network {
                sizes: vec![192, 256, 128, 200],
                fanout: vec![
                    sparse(&mut rng, 192, 256, 0.12, 0.3),
                    sparse(&mut rng, 256, 128, 0.15, 0.4),
                    dense(&mut rng, 128, 200, 0.15),
                ],
                steps: 8,
            },
            Workload::Mix => bail!("`mix` is a choice per sample, not one network"),
        })
    }

    /// Run the leaky integrate-and-fire network on input spikes `input[t]` (layer 0).
    #[allow(clippy::needless_range_loop)] // steps index every layer's spike lists
    pub fn run(&self, input: Vec<Vec<u32>>) -> Activity {
        let layers = self.sizes.len();
        let mut spikes = vec![input];
        let mut v: Vec<Vec<f32>> = self.sizes.iter().map(|&n| vec![0.0; n]).collect();
        for _ in 1..layers {
            spikes.push(vec![Vec::new(); self.steps]);
        }
        for t in 0..self.steps {
            for l in 1..layers {
                let mut current = vec![0f32; self.sizes[l]];
                for &pre in &spikes[l - 1][t] {
                    for &(post, w) in &self.fanout[l - 1][pre as usize] {
                        current[post as usize] += w;
                    }
                }
                let mut fired = Vec::new();
                for (j, (vj, c)) in v[l].iter_mut().zip(&current).enumerate() {
                    *vj = *vj * NEURON.leak + c;
                    if *vj >= NEURON.threshold {
                        *vj = 0.0;
                        fired.push(j as u32);
                    }
                }
                spikes[l][t] = fired;
            }
        }
        Activity { spikes }
    }
}

/// The 1797 digit images (64 pixels, 0..=16 each) and labels.
pub fn digits() -> &'static [([u8; 64], u8)] {
    static DIGITS: OnceLock<Vec<([u8; 64], u8)>> = OnceLock::new();
    DIGITS.get_or_init(|| parse_digits(DIGITS_CSV_GZ).expect("bundled digits are valid"))
}

fn parse_digits(gz: &[u8]) -> Result<Vec<([u8; 64], u8)>> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(gz).read_to_string(&mut text)?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let vals: Vec<u8> = line
            .split(',')
            .map(|s| s.trim().parse::<u8>())
            .collect::<Result<_, _>>()
            .with_context(|| format!("digits.csv.gz line {}: not integers", i + 1))?;
        if vals.len() != 65 || vals[..64].iter().any(|&v| v > 16) {
            bail!(
                "digits.csv.gz line {}: expected 64 pixels in 0..=16 and a label",
                i + 1
            );
        }
        let mut px = [0u8; 64];
        px.copy_from_slice(&vals[..64]);
        out.push((px, vals[64]));
    }
    Ok(out)
}

/// Input spikes of one sample: `(spikes per step, description)`.
pub fn input_spikes(
    w: Workload,
    coding: Coding,
    net: &Network,
    rng: &mut Rng,
) -> (Vec<Vec<u32>>, String) {
    let steps = net.steps;
    let d = digits();
    let pick = |rng: &mut Rng| d[rng.below(d.len() as u64) as usize];
    match w {
        Workload::Dvs => dvs_input(rng, steps),
        _ => {
            let images = match w {
                Workload::LargeA => 2,
                Workload::LargeB => 3,
                _ => 1,
            };
            let mut px = Vec::with_capacity(64 * images);
            let mut labels = Vec::new();
            for _ in 0..images {
                let (p, l) = pick(rng);
                px.extend_from_slice(&p);
                labels.push(l.to_string());
            }
            let gain = rng.uniform(0.35, 1.6);
            let mut out = vec![Vec::new(); steps];
            match coding {
                Coding::Rate => {
                    for (t, o) in out.iter_mut().enumerate() {
                        let _ = t;
                        for (i, &v) in px.iter().enumerate() {
                            if v > 0 && rng.chance((v as f64 / 16.0 * 0.3 * gain).min(1.0)) {
                                o.push(i as u32);
                            }
                        }
                    }
                }
                Coding::Latency => {
                    let thr = (17.0 - 10.0 * gain).clamp(1.0, 16.0);
                    for (i, &v) in px.iter().enumerate() {
                        if v as f64 >= thr {
                            let t = ((16 - v) as usize * (steps - 1)) / 16;
                            out[t].push(i as u32);
                        }
                    }
                }
            }
            (out, format!("digits {} gain {gain:.2}", labels.join("+")))
        }
    }
}

/// A moving bright edge over a 12x12 two-polarity sensor, with bursts and noise.
fn dvs_input(rng: &mut Rng, steps: usize) -> (Vec<Vec<u32>>, String) {
    let side = 12.0;
    let angle = rng.uniform(0.0, std::f64::consts::TAU);
    let speed = rng.uniform(0.6, 2.2);
    let width = rng.uniform(1.0, 3.0);
    let noise = rng.uniform(0.002, 0.02);
    let (dx, dy) = (angle.cos(), angle.sin());
    let start = rng.uniform(-8.0, -2.0);
    let mut out = vec![Vec::new(); steps];
    for (t, o) in out.iter_mut().enumerate() {
        // Saccade-like bursts: some steps move much further.
        let burst = if rng.chance(0.25) { 2.5 } else { 1.0 };
        let pos = start + speed * t as f64 * burst + 6.0;
        for y in 0..12 {
            for x in 0..12 {
                let proj = (x as f64 - side / 2.0) * dx + (y as f64 - side / 2.0) * dy + 6.0;
                let lead = (proj - pos).abs() < 0.7 * burst;
                let trail = (proj - (pos - width)).abs() < 0.7 * burst;
                let p = y * 12 + x;
                if lead && rng.chance(0.85) {
                    o.push(p as u32);
                }
                if (trail && rng.chance(0.85)) || rng.chance(noise) {
                    o.push(144 + p as u32);
                }
            }
        }
        o.sort_unstable();
        o.dedup();
    }
    (
        out,
        format!("dvs angle {angle:.2} speed {speed:.2} noise {noise:.3}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_load_and_networks_fire() {
        assert_eq!(digits().len(), 1797);
        for w in [
            Workload::Digits,
            Workload::DigitsConv,
            Workload::Dvs,
            Workload::LargeA,
        ] {
            let net = Network::build(w, 7).unwrap();
            let mut rng = Rng::new(3);
            let (inp, _) = input_spikes(w, Coding::Rate, &net, &mut rng);
            let act = net.run(inp);
            for l in 0..net.sizes.len() {
                let n: usize = act.spikes[l].iter().map(|s| s.len()).sum();
                assert!(n > 0, "{w:?} layer {l} silent");
            }
        }
    }
}
