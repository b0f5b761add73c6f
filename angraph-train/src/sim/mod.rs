//! The reference hardware model of an asynchronous neuromorphic processor and the benchmark
//! sample generator (see `HARDWARE_MODEL.md` in the design folder).
//!
//! - [`params`]: every parameter (process nodes, delays, reference effects, energies, neuron);
//! - [`workload`]: spiking networks, inputs (real digits, DVS-like), functional LIF simulation;
//! - [`machine`]: XY routes, event paths, neuron placement (uniform / nonuniform);
//! - [`engine`]: the event-driven engine at the system and the reference level.
//!
//! One sample = one inference on one input on one hardware configuration:
//! [`Generator::sample`] gives the system-level event stream (timestamps), its latency
//! estimate, and the reference latency and energies (the labels).

pub mod engine;
pub mod machine;
pub mod params;
pub mod rng;
pub mod workload;

use angraph_core::component::Mesh;
use angraph_core::features::ProcessDescriptor;
use anyhow::{bail, Context, Result};
use engine::{run, Conditions, Level, Plan, Timing};
use machine::{Mapping, Placement};
use params::ProcessNode;
use rng::Rng;
use serde::{Deserialize, Serialize};
use workload::{Coding, Network, Workload};

/// One hardware + application configuration (a dataset is many samples of one of these).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimConfig {
    /// Application.
    pub workload: Workload,
    /// Mesh width (tiles).
    pub width: u16,
    /// Mesh height (tiles).
    pub height: u16,
    /// Process node name (`tsmc65`, `tsmc28`, `tsmc22`).
    pub process: String,
    /// Neuron placement.
    pub mapping: Mapping,
    /// Input coding of the digit workloads.
    pub coding: Coding,
    /// Seed of the network weights and of every sample (sample `i` uses a stream derived
    /// from `(seed, i)`, so any sample can be regenerated alone).
    pub seed: u64,
}

impl SimConfig {
    /// The mesh, validated.
    pub fn mesh(&self) -> Result<Mesh> {
        Mesh::new(self.width, self.height)
            .map_err(|e| anyhow::anyhow!("mesh {}x{}: {e}", self.width, self.height))
    }
}

/// Parse `WxH` (e.g. `4x4`).
pub fn parse_mesh(s: &str) -> Result<(u16, u16)> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .with_context(|| format!("mesh {s:?}: expected WxH, e.g. 4x4"))?;
    let w: u16 = w
        .trim()
        .parse()
        .with_context(|| format!("mesh {s:?}: bad width"))?;
    let h: u16 = h
        .trim()
        .parse()
        .with_context(|| format!("mesh {s:?}: bad height"))?;
    Mesh::new(w, h).map_err(|e| anyhow::anyhow!("mesh {s:?}: {e}"))?;
    Ok((w, h))
}

/// One simulated inference.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Index within its dataset.
    pub index: u64,
    /// What ran (workload, input, operating point).
    pub description: String,
    /// The events and their paths.
    pub plan: Plan,
    /// System-level timestamps (the event stream).
    pub timing: Timing,
    /// Process descriptors for the features (temperature of this sample included).
    pub process: ProcessDescriptor,
    /// System-level latency estimate (ps): completion of the last event, nominal timing.
    pub system_latency_ps: u64,
    /// Reference latency (ps): the label.
    pub reference_latency_ps: u64,
    /// Reference dynamic energy (pJ).
    pub dynamic_pj: f64,
    /// Reference static energy (pJ) = leakage power x reference latency.
    pub static_pj: f64,
}

impl Sample {
    /// The energy labels in nJ as `f32` with `total == dynamic + static` exactly.
    pub fn energy_nj(&self) -> [f32; 3] {
        let d = (self.dynamic_pj / 1000.0) as f32;
        let s = (self.static_pj / 1000.0) as f32;
        [d + s, d, s]
    }
}

/// Makes the samples of one configuration (networks built once).
#[derive(Debug, Clone)]
pub struct Generator {
    /// The configuration.
    pub config: SimConfig,
    mesh: Mesh,
    node: ProcessNode,
    networks: Vec<(Workload, Network)>,
}

impl Generator {
    /// Validate the configuration and build its networks.
    pub fn new(config: SimConfig) -> Result<Generator> {
        let mesh = config.mesh()?;
        let node = params::process_node(&config.process)?;
        let kinds = match config.workload {
            Workload::Mix => vec![Workload::Digits, Workload::DigitsConv, Workload::Dvs],
            w => vec![w],
        };
        let mut networks = Vec::new();
        for k in kinds {
            networks.push((k, Network::build(k, config.seed)?));
        }
        if mesh.tiles() > 64 * 64 {
            bail!("mesh {}x{} is larger than 64x64", mesh.width, mesh.height);
        }
        Ok(Generator {
            config,
            mesh,
            node,
            networks,
        })
    }

    /// The mesh.
    pub fn mesh(&self) -> Mesh {
        self.mesh
    }

    /// The process node.
    pub fn node(&self) -> ProcessNode {
        self.node
    }

    /// Sample `index` (deterministic in `(config, index)`).
    pub fn sample(&self, index: u64) -> Sample {
        self.sample_with(index, |_| {})
    }

    /// Sample `index` with its drawn operating point and variation changed by `adjust` before
    /// both levels run (e.g. the per-die factor set to 1 to measure what it contributes). The
    /// random draws are the same as [`Self::sample`]'s, so only what `adjust` changes differs.
    pub fn sample_with(&self, index: u64, adjust: impl FnOnce(&mut Conditions)) -> Sample {
        let mut rng = Rng::derive(self.config.seed, index);
        let (kind, net) = &self.networks[rng.below(self.networks.len() as u64) as usize];
        let (input, what) = workload::input_spikes(*kind, self.config.coding, net, &mut rng);
        let act = net.run(input);
        let place = Placement::new(self.config.mapping, &net.sizes, self.mesh.tiles(), &mut rng);
        let plan = Plan::new(self.mesh, net, &act, &place);
        let mut cond = Conditions::draw(self.node, &self.mesh, &mut rng);
        adjust(&mut cond);
        let system = run(&plan, Level::System, &cond);
        let reference = run(&plan, Level::Reference, &cond);
        let static_pj = reference.energy.leakage_uw * reference.latency_ps as f64 * 1e-6;
        Sample {
            index,
            description: format!(
                "{} on {}x{} {}, {}, {:.0} degC",
                kind.name(),
                self.mesh.width,
                self.mesh.height,
                self.node.name,
                what,
                cond.temperature_c
            ),
            process: ProcessDescriptor {
                feature_nm: self.node.feature_nm,
                vdd_mv: self.node.vdd_mv,
                temperature_c: cond.temperature_c as i16,
            },
            system_latency_ps: system.latency_ps,
            timing: system.timing,
            plan,
            reference_latency_ps: reference.latency_ps,
            dynamic_pj: reference.energy.dynamic_pj,
            static_pj,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(w: Workload, m: Mapping) -> SimConfig {
        SimConfig {
            workload: w,
            width: 3,
            height: 3,
            process: "tsmc65".into(),
            mapping: m,
            coding: Coding::Rate,
            seed: 11,
        }
    }

    #[test]
    fn reference_is_slower_than_nominal_and_energy_adds_up() {
        let g = Generator::new(cfg(Workload::Digits, Mapping::Uniform)).unwrap();
        for i in 0..4 {
            let s = g.sample(i);
            assert!(s.plan.num_events() > 0);
            assert!(s.reference_latency_ps > s.system_latency_ps, "{i}");
            let [t, d, st] = s.energy_nj();
            assert_eq!(t, d + st);
            assert!(d > 0.0 && st > 0.0);
            // Every hop of the system stream is timed and ordered.
            for e in 0..s.plan.num_events() {
                let r = s.plan.path_off[e] as usize..s.plan.path_off[e + 1] as usize;
                for h in r {
                    assert!(s.timing.leave[h] >= s.timing.enter[h]);
                }
            }
        }
    }

    #[test]
    fn samples_are_deterministic() {
        let g = Generator::new(cfg(Workload::Mix, Mapping::Mix)).unwrap();
        let a = g.sample(5);
        let b = g.sample(5);
        assert_eq!(a.reference_latency_ps, b.reference_latency_ps);
        assert_eq!(a.timing.leave, b.timing.leave);
        assert_eq!(a.dynamic_pj.to_bits(), b.dynamic_pj.to_bits());
    }
}
