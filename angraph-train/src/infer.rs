//! Per-input prediction, one implementation for `angraph estimate` and `angraph predict`:
//! ANGraph-L on one graph, ANGraph-P on one activity row, both on one event stream, through
//! angraph-core's fixed-point path. [`Prediction`] is what a caller prints.

use std::path::Path;

use angraph_core::config::Preprocess;
use angraph_core::features::{
    to_f32, LOAD_FEATURES, NODE_FEATURES, NODE_FEATURE_NAMES, V1_NODE_FEATURES,
};
use angraph_core::power::Energy;
use angraph_core::power_input::{PowerInput, ACTIVITY_INPUTS, CONDITIONS_INPUTS, LOAD_INPUTS};
use angraph_core::quantize::OwnedGraph;
use angraph_core::trust::Envelope;
use angraph_core::{latency, power, Config, Fixed, Model};
use anyhow::{anyhow, bail, Context, Result};

use crate::dataset::graph::GraphRecord;
use crate::stream::Stream;

/// One predicted quantity with its interval (`lo`/`hi` come from the model's trust section
/// only; `None` for a blob without one).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// Point prediction.
    pub value: f64,
    /// Lower bound of the interval.
    pub lo: Option<f64>,
    /// Upper bound of the interval.
    pub hi: Option<f64>,
}

impl Estimate {
    /// A point prediction without interval.
    pub fn point(value: f64) -> Estimate {
        Estimate {
            value,
            lo: None,
            hi: None,
        }
    }
}

/// ANGraph-P's energies (nJ for the recommended model). `dynamic`/`static_` are `None` for a
/// model without those two heads.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EnergyEstimate {
    /// Dynamic energy (head 0 of a two-head model).
    pub dynamic: Option<Estimate>,
    /// Static energy (head 1 of a two-head model).
    pub static_: Option<Estimate>,
    /// Total energy (the sum of the heads).
    pub total: Estimate,
}

/// Everything `angraph predict` prints for one input row.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Prediction {
    /// ANGraph-L's latency (ns), when a latency model ran.
    pub latency: Option<Estimate>,
    /// ANGraph-P's energies (nJ), when a power model ran.
    pub energy: Option<EnergyEstimate>,
    /// Whether the input lies in the models' envelope; `None` = unknown (no trust section).
    pub in_envelope: Option<bool>,
    /// Why the input is (or is not) in the envelope; empty when unknown.
    pub why: String,
    /// The system-level latency estimate (span of a timed stream, ns).
    pub system_estimate_ns: Option<f64>,
}

/// The envelope verdicts of one input: the latency model's and the power model's (each `None`
/// when that model did not run or its blob has no trust section).
#[derive(Debug, Clone, Copy, Default)]
pub struct Verdicts {
    /// ANGraph-L's verdict.
    pub latency: Option<Envelope>,
    /// ANGraph-P's verdict.
    pub power: Option<Envelope>,
}

/// Set `in_envelope` and `why` of `p` from the verdicts: the one place where they come from.
/// Unknown (`None`, empty) when no model that ran has a trust section.
pub fn apply_trust(v: &Verdicts, p: &mut Prediction) {
    let mut reasons = Vec::new();
    let mut known = false;
    for (who, env, names) in [("latency", v.latency, true), ("energy", v.power, false)] {
        let Some(e) = env else { continue };
        known = true;
        if e.inside() {
            continue;
        }
        reasons.push(match e.out_of_range {
            Some(o) => {
                let name = if names {
                    NODE_FEATURE_NAMES
                        .get(o.feature as usize)
                        .map_or(format!("feature {}", o.feature), |n| n.to_string())
                } else {
                    format!("input {}", o.feature)
                };
                format!(
                    "{who}: {name} = {:.4} (row {}) outside the training range {:.4}..{:.4}",
                    to_f32(o.value),
                    o.row,
                    to_f32(o.lo),
                    to_f32(o.hi)
                )
            }
            None => format!(
                "{who}: embedding distance {:.2} above the training threshold {:.2}",
                e.distance as f64 / 65536.0,
                e.threshold as f64 / 65536.0
            ),
        });
    }
    p.in_envelope = known.then_some(reasons.is_empty());
    p.why = reasons.join("; ");
}

/// The loaded models of a run (either may be disabled).
#[derive(Clone, Copy)]
pub struct Models<'a> {
    /// ANGraph-L blob and its path.
    pub latency: Option<(&'a Model<'a>, &'a Path)>,
    /// ANGraph-P blob and its path.
    pub power: Option<(&'a Model<'a>, &'a Path)>,
}

/// Bytes of `path`, checked to be a valid blob.
pub fn load_blob(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Model::from_bytes(&bytes).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    Ok(bytes)
}

/// ANGraph-L, fixed point, on `g`: the output (model units) and the working memory used.
pub fn latency_fixed(lat: &Model<'_>, g: &OwnedGraph) -> Result<(Fixed, usize)> {
    let (a, ws) = latency_assessed(lat, g)?;
    Ok((a.value, ws))
}

/// ANGraph-L, fixed point, on `g`, with the interval and the envelope verdict of its trust
/// section; and the working memory used.
pub fn latency_assessed(lat: &Model<'_>, g: &OwnedGraph) -> Result<(latency::Assessed, usize)> {
    let gf = g.to_fixed();
    let v = gf.view()?;
    let mut ws = vec![0u8; latency::required_workspace(lat, v.num_nodes(), v.num_edges())];
    let a = latency::predict_assessed(lat, &v, &mut ws)?;
    Ok((a, ws.len()))
}

/// The latency [`Estimate`] (blob unit) of an assessed prediction.
pub fn latency_estimate(lat: &Model<'_>, a: &latency::Assessed) -> Estimate {
    let k = lat.body().label_scale;
    let f = |x: Fixed| (x.to_f32() * k) as f64;
    Estimate {
        value: f(a.value),
        lo: a.interval.map(|i| f(i.lo)),
        hi: a.interval.map(|i| f(i.hi)),
    }
}

/// ANGraph-P, fixed point, on one Q16.16 input row.
pub fn power_fixed(pw: &Model<'_>, row: &[i32]) -> Result<Energy<Fixed>> {
    Ok(power_assessed(pw, row)?.energy)
}

/// ANGraph-P, fixed point, on one Q16.16 input row, with the intervals and the envelope
/// verdict of its trust section.
pub fn power_assessed(pw: &Model<'_>, row: &[i32]) -> Result<power::Assessed> {
    let mut ws = vec![0u8; power::required_workspace(pw)];
    Ok(power::predict_assessed(pw, row, &mut ws)?)
}

/// The [`EnergyEstimate`] of a fixed-point output, scaled to the blob's unit.
pub fn energy_estimate(pw: &Model<'_>, e: &Energy<Fixed>) -> EnergyEstimate {
    energy_estimate_assessed(
        pw,
        &power::Assessed {
            energy: *e,
            intervals: None,
            envelope: None,
        },
    )
}

/// The [`EnergyEstimate`] of an assessed output (intervals when the blob has a trust section).
pub fn energy_estimate_assessed(pw: &Model<'_>, a: &power::Assessed) -> EnergyEstimate {
    // In f32, as `angraph estimate` prints them.
    let k = pw.body().label_scale;
    let e = &a.energy;
    let f = |x: Fixed| (x.to_f32() * k) as f64;
    let est = |k: usize, y: Fixed| Estimate {
        value: f(y),
        lo: a.intervals.map(|iv| f(iv[k].lo)),
        hi: a.intervals.map(|iv| f(iv[k].hi)),
    };
    let two = e.len == 2;
    EnergyEstimate {
        dynamic: two.then(|| est(0, e.heads[0])),
        static_: two.then(|| est(1, e.heads[1])),
        total: est(e.len as usize, e.total),
    }
}

/// The graph of a stream's transform as ANGraph-L's input (f32 features = Q16.16 exactly,
/// activities as edge weights).
pub fn stream_owned_graph(graph: &GraphRecord) -> Result<OwnedGraph> {
    let acts: Vec<f32> = graph.activities.iter().map(|&a| a as f32).collect();
    Ok(OwnedGraph::from_coo(
        graph.num_nodes,
        NODE_FEATURES as u32,
        graph.x_f32(),
        &graph.edges,
        Some(&acts),
    )?)
}

/// How many values of an `.npy` row of `width` a power model of `in_dim` reads (the prefix
/// rule of [`crate::dataset::power::model_row_width`]).
pub fn npy_row_width(width: usize, in_dim: usize) -> Option<usize> {
    crate::dataset::power::model_row_width(width, in_dim)
}

/// A graph's feature row says the latency model cannot run on it: this project's features
/// (35 or 37 per node) with a zero system-level span come from an untimed stream.
pub fn graph_lacks_timing(lat: &Model<'_>, g: &OwnedGraph) -> Result<bool> {
    let Config::Latency(lc) = lat.config() else {
        bail!("not an ANGraph-L blob");
    };
    let v = g.view()?;
    Ok(angraph_core::preprocess::needs_timing(lc.preprocess)
        && v.feature_width() as usize >= V1_NODE_FEATURES
        && v.num_nodes() > 0
        && angraph_core::preprocess::anchor_ns_f32(v.node_features(0)) <= 0.0)
}

/// ANGraph-L's latency (blob unit, ns for the recommended model) on one graph of a dataset,
/// with the checks of `angraph estimate`.
pub fn predict_graph(lat: &Model<'_>, lat_path: &Path, g: &OwnedGraph, what: &str) -> Result<f64> {
    Ok(predict_graph_assessed(lat, lat_path, g, what)?.0.value)
}

/// [`predict_graph`] with the interval and the envelope verdict.
pub fn predict_graph_assessed(
    lat: &Model<'_>,
    lat_path: &Path,
    g: &OwnedGraph,
    what: &str,
) -> Result<(Estimate, Option<Envelope>)> {
    let Config::Latency(lc) = lat.config() else {
        bail!("{}: not an ANGraph-L blob", lat_path.display());
    };
    let fw = g.view().with_context(|| what.to_string())?.feature_width();
    if fw < lc.in_dim as u32 {
        bail!(
            "{what}: {fw} features per node, {} expects {}",
            lat_path.display(),
            lc.in_dim
        );
    }
    if graph_lacks_timing(lat, g)? {
        bail!(
            "{what}: no system-level span (node feature graph_span_us is 0): {} needs graphs of \
             timed streams",
            lat_path.display()
        );
    }
    let (a, _) = latency_assessed(lat, g)
        .with_context(|| format!("{what}: ANGraph-L {}", lat_path.display()))?;
    Ok((latency_estimate(lat, &a), a.envelope))
}

/// ANGraph-P's energies on `.npy` rows of `width` values each, of which the model reads the
/// first `used` ([`npy_row_width`]): all at once through the batched fixed-point kernels
/// (`power::predict_assessed_batch`, bit-identical to one row at a time).
pub fn predict_rows(
    pw: &Model<'_>,
    rows: &[f32],
    width: usize,
    used: usize,
) -> Result<Vec<(EnergyEstimate, Option<Envelope>)>> {
    let c = pw.power_config()?;
    let fixed: Vec<i32> = rows
        .chunks_exact(width.max(1))
        .flat_map(|r| r[..used.min(r.len())].iter())
        .map(|&v| angraph_core::fixed::feature_to_fixed(v))
        .collect();
    let n = rows.len() / width.max(1);
    let mut out = vec![power::Assessed::UNASSESSED; n];
    let mut emb = vec![0i32; n * c.head_input_width()];
    let mut ws = vec![0u8; power::required_workspace_batched(pw, power::BLOCK)];
    power::predict_assessed_batch(pw, &fixed, &mut out, &mut ws, &mut emb)?;
    Ok(out
        .iter()
        .map(|a| (energy_estimate_assessed(pw, a), a.envelope))
        .collect())
}

/// A stream's graph through the one transform, and ANGraph-P's input for a model of `power_in`
/// inputs (36 or 42) from the same builder pass.
pub fn stream_inputs(
    stream: &Stream,
    power_in: Option<usize>,
) -> Result<(GraphRecord, Option<Vec<i32>>)> {
    let mut b = stream.builder()?;
    let input = match power_in {
        Some(n) => Some(b.power_input_fixed(n)?),
        None => None,
    };
    Ok((b.finish()?, input))
}

/// Time split of [`predict_stream`] (ns): read+parse, transform, models.
#[derive(Debug, Clone, Copy, Default)]
pub struct StreamTimes {
    /// Reading and parsing the file.
    pub read_ns: u64,
    /// The transform (graph and activity matrix).
    pub transform_ns: u64,
    /// ANGraph-L and ANGraph-P.
    pub models_ns: u64,
}

/// Predict everything a stream file gives: ANGraph-L on its graph, ANGraph-P on its activity
/// matrix (plus the header's operating conditions for a 42-input model), its system-level
/// estimate. Refuses (never defaults): an untimed stream for a latency model that
/// [`needs_timing`](angraph_core::preprocess::needs_timing), a stream without operating
/// conditions for a model that reads them.
pub fn predict_stream(
    models: &Models<'_>,
    path: &Path,
    times: &mut StreamTimes,
) -> Result<Prediction> {
    let t0 = std::time::Instant::now();
    let stream = Stream::read(path)?;
    let t1 = std::time::Instant::now();
    times.read_ns += (t1 - t0).as_nanos() as u64;
    let file = path.display();
    let mut problems = Vec::new();
    let mut lat_in = None;
    if let Some((lat, lp)) = models.latency {
        let Config::Latency(lc) = lat.config() else {
            bail!("{}: not an ANGraph-L blob", lp.display());
        };
        let d = lc.in_dim as usize;
        if d != NODE_FEATURES && d != V1_NODE_FEATURES {
            problems.push(format!(
                "{} takes {d} features per node, the transform gives {NODE_FEATURES} (feature \
                 set 2; {V1_NODE_FEATURES} of set 1)",
                lp.display(),
            ));
        }
        if d > V1_NODE_FEATURES
            && !angraph_core::preprocess::zeroes_feature(lc.preprocess, LOAD_FEATURES[0])
            && stream.events.iter().all(|e| e.load.words == 0)
        {
            problems.push(format!(
                "{} reads the event load (node features 35, 36); this stream has none (no \
                 event carries \"words\": a version-1 timed stream or a DFG JSON one)",
                lp.display()
            ));
        }
        if angraph_core::preprocess::needs_timing(lc.preprocess) && stream.header.is_none() {
            problems.push(format!(
                "{} ({:?}) needs a timed stream (the system-level timestamps); this is an \
                 untimed TrueAsync DFG JSON stream: give the timed form, or use the DFG model \
                 (--latency-model saved_model/angraph_l_dfg.angq)",
                lp.display(),
                lc.preprocess
            ));
        }
        // Node features 32..=34 are the operating conditions (an `Untimed` model ignores them).
        if angraph_core::preprocess::needs_timing(lc.preprocess) {
            lat_in = Some(lc.in_dim as usize);
        }
    }
    let mut power_in = None;
    if let Some((pw, pp)) = models.power {
        let Config::Power(pc) = pw.config() else {
            bail!("{}: not an ANGraph-P blob", pp.display());
        };
        let n = pc.in_dim as usize;
        match PowerInput::from_in_dim(n) {
            Ok(_) => power_in = Some(n),
            Err(_) => problems.push(format!(
                "{} takes {n} inputs; a stream gives {ACTIVITY_INPUTS} (activity matrix), \
                 {CONDITIONS_INPUTS} (with the operating conditions) or {LOAD_INPUTS} (and \
                 the load)",
                pp.display()
            )),
        }
        if n == LOAD_INPUTS && stream.events.iter().all(|e| e.load.words == 0) {
            problems.push(format!(
                "{} reads the event load (the load row); this stream has none (no event \
                 carries \"words\")",
                pp.display()
            ));
        }
    }
    let reads_conditions = lat_in.is_some_and(|d| d >= V1_NODE_FEATURES)
        || power_in.is_some_and(|n| n >= CONDITIONS_INPUTS);
    if reads_conditions && stream.header.is_none() {
        problems.push(
            "missing field \"process\" (operating conditions: feature_nm, vdd_mv, \
             temperature_c), which the models read and which are never defaulted"
                .to_string(),
        );
    }
    if !problems.is_empty() {
        bail!("{file}: {}", problems.join("; "));
    }
    let (graph, input) = stream_inputs(&stream, power_in).map_err(|e| anyhow!("{file}: {e}"))?;
    let t2 = std::time::Instant::now();
    times.transform_ns += (t2 - t1).as_nanos() as u64;
    let s = graph.summary;
    let span_ns = s.end.saturating_sub(s.start) as f64 / 1000.0;
    let mut p = Prediction {
        system_estimate_ns: stream.header.is_some().then_some(span_ns),
        ..Prediction::default()
    };
    let mut verdicts = Verdicts::default();
    if let Some((lat, lp)) = models.latency {
        let Config::Latency(lc) = lat.config() else {
            unreachable!("checked above");
        };
        if lc.preprocess == Preprocess::Log2Ratio && span_ns <= 0.0 {
            bail!(
                "{file}: the stream spans 0 ns: {} corrects the system-level estimate and needs \
                 a timed stream with a positive span",
                lp.display()
            );
        }
        let g = stream_owned_graph(&graph).map_err(|e| anyhow!("{file}: {e}"))?;
        let (a, _) = latency_assessed(lat, &g).map_err(|e| anyhow!("{file}: {e}"))?;
        p.latency = Some(latency_estimate(lat, &a));
        verdicts.latency = a.envelope;
    }
    if let (Some((pw, _)), Some(input)) = (models.power, input) {
        let a = power_assessed(pw, &input).map_err(|e| anyhow!("{file}: {e}"))?;
        p.energy = Some(energy_estimate_assessed(pw, &a));
        verdicts.power = a.envelope;
    }
    times.models_ns += t2.elapsed().as_nanos() as u64;
    apply_trust(&verdicts, &mut p);
    Ok(p)
}
