//! Host-side fixtures of the firmware example and the tests (std): the hop-stream file the
//! firmware embeds, a seeded synthetic XY-routed stream (until `data/` has recorded streams),
//! the placeholder models, and host reference predictions.
#![allow(dead_code)]

use angraph_core::component::{Component, ComponentKind, Mesh, Port};
use angraph_core::config::{Config, LatencyConfig, PowerConfig, Stage};
use angraph_core::features::{to_f32, ProcessDescriptor, NODE_FEATURES};
use angraph_core::quantize::{Calibration, ModelF32, OwnedGraph, SplitMix64};
use angraph_core::transform::{GraphBuffers, GraphBuilder};
use angraph_core::{latency, Fixed, Model, Precision};

/// Capacities of the example (a 4x4 mesh).
pub const NODES: usize = 257;
/// Edge capacity of the example.
pub const EDGES: usize = 512;
/// Mesh of the example.
pub const MESH: (u16, u16) = (4, 4);
/// Seed of the example stream.
pub const STREAM_SEED: u64 = 7;
/// Events in the example stream.
pub const STREAM_EVENTS: usize = 160;
/// Seed of the placeholder ANGraph-L weights.
pub const MODEL_SEED: u64 = 2024;
/// Process of the example stream.
pub const PROCESS: ProcessDescriptor = ProcessDescriptor {
    feature_nm: 28,
    vdd_mv: 900,
    temperature_c: 25,
};

/// One hop: dense component id, enter and leave (ps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hop {
    pub id: u32,
    pub enter: u64,
    pub leave: u64,
}

/// A hop stream: the mesh, the process, the events (paths of hops) and, when the source
/// carries it (a version-2 timed stream), each event's load (empty otherwise: no load).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stream {
    pub mesh: Mesh,
    pub process: ProcessDescriptor,
    pub events: Vec<Vec<Hop>>,
    pub loads: Vec<angraph_core::features::EventLoad>,
}

impl Stream {
    /// The load of event `i` (none when the stream carries no loads).
    pub fn load(&self, i: usize) -> angraph_core::features::EventLoad {
        self.loads.get(i).copied().unwrap_or_default()
    }
}

/// Version of the `.angs` hop-stream file written: 3 carries each event's load; 2 (no load) is
/// still read.
pub const ANGS_VERSION: u32 = 3;

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

fn get_varint(b: &[u8], at: &mut usize) -> Result<u64, String> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*at).ok_or("truncated varint")?;
        *at += 1;
        v |= ((byte & 0x7f) as u64) << shift;
        if byte & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err("varint longer than 10 bytes".into())
}

impl Stream {
    /// The `.angs` hop-stream file the firmware embeds (version 3, compact, little-endian):
    /// a 28-byte header — `"ANGS"`, u32 version, u16 mesh width, u16 mesh height, u16 feature
    /// nm, u16 Vdd mV, i16 temperature degC, u16 0, u32 record count, u32 body bytes — then per
    /// event its load (LEB128 words, LEB128 fires; version 3 only) and one record per hop or
    /// end of event: LEB128 `tag` (0 = the current event ends; else the hop's component id + 1),
    /// and for a hop zigzag-LEB128 `enter - previous hop's enter` and LEB128 `leave - enter`
    /// (ps). About 6 bytes per hop. The record count counts hops and ends, not loads.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.encode(ANGS_VERSION)
    }

    /// The version-2 form (no loads), as files written before version 3 are.
    pub fn to_v2_bytes(&self) -> Vec<u8> {
        self.encode(2)
    }

    fn encode(&self, version: u32) -> Vec<u8> {
        let mut body = Vec::new();
        let mut records = 0u32;
        let mut prev = 0u64;
        for (i, ev) in self.events.iter().enumerate() {
            if version == 3 {
                let load = self.load(i);
                put_varint(&mut body, load.words as u64);
                put_varint(&mut body, load.fires as u64);
            }
            for h in ev {
                put_varint(&mut body, h.id as u64 + 1);
                let d = h.enter.wrapping_sub(prev) as i64;
                put_varint(&mut body, ((d << 1) ^ (d >> 63)) as u64);
                put_varint(&mut body, h.leave - h.enter);
                prev = h.enter;
                records += 1;
            }
            put_varint(&mut body, 0);
            records += 1;
        }
        let mut out = Vec::new();
        out.extend_from_slice(b"ANGS");
        out.extend_from_slice(&version.to_le_bytes());
        out.extend_from_slice(&self.mesh.width.to_le_bytes());
        out.extend_from_slice(&self.mesh.height.to_le_bytes());
        out.extend_from_slice(&self.process.feature_nm.to_le_bytes());
        out.extend_from_slice(&self.process.vdd_mv.to_le_bytes());
        out.extend_from_slice(&self.process.temperature_c.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&records.to_le_bytes());
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend(body);
        out
    }

    /// Decode an `.angs` file (errors name the record).
    pub fn from_bytes(b: &[u8]) -> Result<Stream, String> {
        if b.len() < 28 || &b[..4] != b"ANGS" {
            return Err("not an .angs hop stream".into());
        }
        let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let version = u32_at(4);
        if version != 2 && version != ANGS_VERSION {
            return Err(format!(
                ".angs version {version} (expected 2 or {ANGS_VERSION})"
            ));
        }
        let mesh = Mesh::new(u16_at(8), u16_at(10)).map_err(|e| e.to_string())?;
        let process = ProcessDescriptor {
            feature_nm: u16_at(12),
            vdd_mv: u16_at(14),
            temperature_c: u16_at(16) as i16,
        };
        let (records, body_len) = (u32_at(20), u32_at(24) as usize);
        if b.len() != 28 + body_len {
            return Err("body length disagrees with the header".into());
        }
        let mut at = 28;
        let (mut events, mut cur, mut prev) = (Vec::new(), Vec::new(), 0u64);
        let (mut loads, mut open) = (Vec::new(), false);
        for r in 0..records {
            if version == 3 && !open {
                let mut field = |what: &str| -> Result<u16, String> {
                    let v = get_varint(b, &mut at)
                        .map_err(|e| format!("event {} load {what}: {e}", events.len()))?;
                    u16::try_from(v).map_err(|_| {
                        format!("event {} load {what} {v} exceeds 65535", events.len())
                    })
                };
                let words = field("words")?;
                let fires = field("fires")?;
                if fires > words {
                    return Err(format!(
                        "event {}: load fires {fires} > words {words}",
                        events.len()
                    ));
                }
                loads.push(angraph_core::features::EventLoad { words, fires });
                open = true;
            }
            let tag = get_varint(b, &mut at).map_err(|e| format!("record {r}: {e}"))?;
            if tag == 0 {
                events.push(std::mem::take(&mut cur));
                open = false;
                continue;
            }
            let z = get_varint(b, &mut at).map_err(|e| format!("record {r}: {e}"))?;
            let d = ((z >> 1) as i64) ^ -((z & 1) as i64);
            let enter = prev.wrapping_add(d as u64);
            let dwell = get_varint(b, &mut at).map_err(|e| format!("record {r}: {e}"))?;
            cur.push(Hop {
                id: (tag - 1) as u32,
                enter,
                leave: enter + dwell,
            });
            prev = enter;
        }
        if at != b.len() || !cur.is_empty() || open {
            return Err("trailing bytes or an unterminated event".into());
        }
        Ok(Stream {
            mesh,
            process,
            events,
            loads,
        })
    }

    /// Read a timed event stream (`angraph-timed-stream` JSON, as `angraph simulate --streams`
    /// writes it): mesh, process and every event's hops `[name, enter_ps, leave_ps]`.
    pub fn from_timed_json(path: &std::path::Path) -> Result<Stream, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let err = |what: &str| format!("{}: {what}", path.display());
        if v["format"] != "angraph-timed-stream" {
            return Err(err("not an angraph-timed-stream"));
        }
        let num = |x: &serde_json::Value, what: &str| x.as_u64().ok_or_else(|| err(what));
        let mesh = Mesh::new(
            num(&v["mesh"]["width"], "mesh.width")? as u16,
            num(&v["mesh"]["height"], "mesh.height")? as u16,
        )
        .map_err(|e| err(&e.to_string()))?;
        let p = &v["process"];
        let process = ProcessDescriptor {
            feature_nm: num(&p["feature_nm"], "process.feature_nm")? as u16,
            vdd_mv: num(&p["vdd_mv"], "process.vdd_mv")? as u16,
            temperature_c: p["temperature_c"]
                .as_i64()
                .ok_or_else(|| err("process.temperature_c"))? as i16,
        };
        let mut events = Vec::new();
        let mut loads = Vec::new();
        for (i, e) in v["events"]
            .as_array()
            .ok_or_else(|| err("events"))?
            .iter()
            .enumerate()
        {
            let mut hops = Vec::new();
            for (k, h) in e["hops"]
                .as_array()
                .ok_or_else(|| err("hops"))?
                .iter()
                .enumerate()
            {
                let name = h[0]
                    .as_str()
                    .ok_or_else(|| err(&format!("event {i} hop {k}: name")))?;
                let id = mesh
                    .parse_id(name)
                    .map_err(|x| err(&format!("event {i} hop {k} `{name}`: {x}")))?;
                hops.push(Hop {
                    id,
                    enter: num(&h[1], "enter")?,
                    leave: num(&h[2], "leave")?,
                });
            }
            events.push(hops);
            let count = |what: &str| -> Result<u16, String> {
                match &e[what] {
                    serde_json::Value::Null => Ok(0),
                    x => x
                        .as_u64()
                        .and_then(|v| u16::try_from(v).ok())
                        .ok_or_else(|| err(&format!("event {i}: {what} is not a count <= 65535"))),
                }
            };
            loads.push(angraph_core::features::EventLoad {
                words: count("words")?,
                fires: count("fires")?,
            });
        }
        Ok(Stream {
            mesh,
            process,
            events,
            loads,
        })
    }
}

/// A seeded synthetic stream on a `w x h` mesh: spikes from the injector or from a tile's PE
/// to a target tile under XY routing, through the components TrueAsync names (source NI, router
/// IU/SA/OU per tile on the way, target NI, AER, WeightSRAM, LUT), with nominal per-kind dwell
/// times plus jitter and exponential-ish inter-arrival gaps. Stands in for a recorded stream
/// until `data/` has one; the transform and the models do not care where hops come from.
pub fn synthetic_stream(w: u16, h: u16, events: usize, seed: u64) -> Stream {
    let mesh = Mesh::new(w, h).expect("mesh");
    let mut rng = SplitMix64(seed);
    let tiles = mesh.tiles();
    let mut t0: u64 = 0;
    let mut out = Vec::with_capacity(events);
    // A few hot target tiles make the traffic non-uniform.
    let hot = (rng.next_u64() % tiles as u64) as u32;
    for _ in 0..events {
        t0 += 200 + rng.next_u64() % 3_000; // ps between spike injections
        let from_injector = rng.next_u64() % 3 == 0;
        let src = (rng.next_u64() % tiles as u64) as u32;
        let dst = if rng.next_u64() % 4 == 0 {
            hot
        } else {
            (rng.next_u64() % tiles as u64) as u32
        };
        let mut path: Vec<Component> = Vec::new();
        if from_injector {
            path.push(Component::INJECTOR);
        } else {
            path.push(Component::new(ComponentKind::Lut, src));
        }
        path.push(Component::new(ComponentKind::NiToRouter, src));
        let (mut x, mut y) = mesh.coords(src);
        let (tx, ty) = mesh.coords(dst);
        let mut in_port = Port::Local;
        loop {
            let k = mesh.tile_at(x, y);
            path.push(Component::new(ComponentKind::InputUnit(in_port), k));
            path.push(Component::new(ComponentKind::SwitchAllocator, k));
            let out_port = if x < tx {
                Port::East
            } else if x > tx {
                Port::West
            } else if y < ty {
                Port::South
            } else if y > ty {
                Port::North
            } else {
                Port::Local
            };
            path.push(Component::new(ComponentKind::OutputUnit(out_port), k));
            match out_port {
                Port::East => x += 1,
                Port::West => x -= 1,
                Port::South => y += 1,
                Port::North => y -= 1,
                Port::Local => break,
            }
            in_port = out_port.opposite();
        }
        for kind in [
            ComponentKind::NiToPe,
            ComponentKind::Aer,
            ComponentKind::WeightSram,
            ComponentKind::Lut,
        ] {
            path.push(Component::new(kind, dst));
        }
        let mut t = t0;
        let hops = path
            .iter()
            .map(|&c| {
                let nominal: u64 = match c.kind {
                    ComponentKind::Injector => 500,
                    ComponentKind::InputUnit(_) => 180,
                    ComponentKind::SwitchAllocator => 220,
                    ComponentKind::OutputUnit(_) => 160,
                    ComponentKind::NiToRouter | ComponentKind::NiToPe => 300,
                    ComponentKind::Aer => 250,
                    ComponentKind::WeightSram => 900,
                    ComponentKind::Lut => 600,
                };
                let enter = t;
                let leave = enter + nominal + rng.next_u64() % (nominal / 2 + 1);
                t = leave + rng.next_u64() % 60; // wire / handshake gap
                Hop {
                    id: mesh.id_of(c).expect("component in mesh"),
                    enter,
                    leave,
                }
            })
            .collect();
        out.push(hops);
    }
    Stream {
        mesh,
        process: PROCESS,
        events: out,
        loads: Vec::new(),
    }
}

/// The example stream of the firmware: `firmware/fixtures/stream.angs` (recorded with
/// `angraph simulate`, see make_fixture).
pub fn example_stream() -> Stream {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("firmware/fixtures/stream.angs");
    let b = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    Stream::from_bytes(&b).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Feed a stream to a builder.
pub fn feed<const N: usize, const E: usize>(
    b: &mut GraphBuilder<N, E>,
    s: &Stream,
) -> angraph_core::Result<()> {
    for (i, ev) in s.events.iter().enumerate() {
        b.begin_event_with(s.load(i))?;
        for h in ev {
            b.hop(h.id, h.enter, h.leave)?;
        }
        b.end_event()?;
    }
    Ok(())
}

/// The graph of a stream (`GraphBuilder::finish`), owned: Q16.16 features, CSR, activities.
pub struct HostGraph {
    pub x: Vec<i32>,
    pub row_ptr: Vec<u32>,
    pub src: Vec<u32>,
    pub weight: Vec<i32>,
}

impl HostGraph {
    pub fn view(&self) -> angraph_core::GraphView<'_, i32> {
        angraph_core::GraphView::new(
            NODE_FEATURES as u32,
            &self.x,
            &self.row_ptr,
            &self.src,
            Some(&self.weight),
        )
        .expect("valid graph")
    }

    /// The f32 copy the quantizer calibrates on (features are exactly `fixed / 65536`).
    pub fn to_f32(&self) -> OwnedGraph {
        OwnedGraph {
            feature_width: NODE_FEATURES as u32,
            x: self.x.iter().map(|&v| to_f32(v)).collect(),
            row_ptr: self.row_ptr.clone(),
            src: self.src.clone(),
            edge_weight: Some(self.weight.iter().map(|&v| v as f32).collect()),
        }
    }
}

/// Run the core transform on the host (heap-allocated builder: it is large).
pub fn host_graph(s: &Stream) -> angraph_core::Result<HostGraph> {
    let mut b: Box<GraphBuilder<NODES, EDGES>> = Box::new(GraphBuilder::new(s.mesh, s.process)?);
    feed(&mut b, s)?;
    let (n, e) = (b.num_nodes(), b.num_edges());
    let mut g = HostGraph {
        x: vec![0; n * NODE_FEATURES],
        row_ptr: vec![0; n + 1],
        src: vec![0; e],
        weight: vec![0; e],
    };
    b.finish(GraphBuffers::new(
        &mut g.x,
        &mut g.row_ptr,
        &mut g.src,
        &mut g.weight,
    ))?;
    Ok(g)
}

/// The original-size ANGraph-L (5 x SAGE width 100, JK quirk, head 200/100) with an input
/// projection from the transform's [`NODE_FEATURES`] features.
pub fn latency_config() -> LatencyConfig {
    let mut c = LatencyConfig::original();
    c.in_dim = NODE_FEATURES as u16;
    c.input_proj = true;
    c.max_nodes = NODES as u32;
    c
}

/// The placeholder ANGraph-L blob: seeded random weights (a placeholder with the real
/// structure, not a trained model), int16, calibrated on the graphs of synthetic 4x4 streams
/// and of the recorded example stream.
pub fn placeholder_latency_blob() -> Vec<u8> {
    let mut model = ModelF32::random(Config::Latency(latency_config()), MODEL_SEED).expect("model");
    model.note = format!(
        "PLACEHOLDER: untrained ANGraph-L with seeded random weights (seed {MODEL_SEED}), \
         original size with a {NODE_FEATURES}-feature input projection"
    );
    model.unit = "model units".into();
    let mut graphs: Vec<OwnedGraph> = (0..6)
        .map(|i| {
            let s = synthetic_stream(MESH.0, MESH.1, 60 + 40 * i, 100 + i as u64);
            host_graph(&s).expect("graph").to_f32()
        })
        .collect();
    graphs.push(host_graph(&example_stream()).expect("graph").to_f32());
    model
        .quantize(
            &Calibration::Latency(&graphs),
            Precision::Int16,
            "calibrated on 6 synthetic 4x4 streams and the recorded fixtures/stream.angs \
             (angraph-embed make_fixture)",
        )
        .expect("quantize")
}

/// A tiny ANGraph-P blob (4 -> 8 -> 1 head): the "wrong family" fixture of the firmware.
pub fn tiny_power_blob() -> Vec<u8> {
    let mut stages = heapless::Vec::new();
    let _ = stages.push(Stage {
        width: 8,
        blocks: 0,
    });
    let c = PowerConfig {
        in_dim: 4,
        stages,
        heads: 1,
    };
    let m = ModelF32::random(Config::Power(c), 5).expect("power model");
    let rows: Vec<f32> = (0..64).map(|i| (i % 7) as f32 * 0.25).collect();
    m.quantize(
        &Calibration::Power(&rows),
        Precision::Int16,
        "tiny wrong-family fixture",
    )
    .expect("quantize")
}

/// Host reference: `angraph_core::latency::predict_fixed` on the full graph of the stream.
pub fn host_latency(blob: &[u8], s: &Stream) -> Fixed {
    let model = Model::from_bytes(blob).expect("blob");
    let g = host_graph(s).expect("graph");
    let v = g.view();
    let mut ws = vec![0u8; latency::required_workspace(&model, v.num_nodes(), v.num_edges())];
    latency::predict_fixed(&model, &v, &mut ws).expect("predict")
}

/// The workspace root.
pub fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `<target dir>/<name>`: `CARGO_TARGET_DIR` (a relative one taken from the repository root,
/// where cargo is run; the builds below run in other folders) or the workspace's `target/`.
pub fn target_subdir(name: &str) -> std::path::PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR").map(std::path::PathBuf::from) {
        Some(d) if d.is_absolute() => d.join(name),
        Some(d) => repo_root().join(d).join(name),
        None => repo_root().join("target").join(name),
    }
}

/// The imported original ANGraph-P (real weights, int16) the energy firmware embeds.
pub const ORIGINAL_POWER: &str = "saved_model/power_ap_mnist_4x4_tsmc28.angq";
/// The trained ANGraph-L the `trained` firmware variant runs (transferred to tsmc28).
pub const TRAINED_LATENCY: &str = "saved_model/latency_digits_4x4_to_tsmc28.angq";
/// The recommended ANGraph-L the `estimate` firmware embeds (`firmware/fixtures/angraph_l.angq`).
pub const RECOMMENDED_LATENCY: &str = "saved_model/angraph_l.angq";
/// The recommended ANGraph-P the `estimate` firmware embeds (`firmware/fixtures/angraph_p.angq`).
pub const RECOMMENDED_POWER: &str = "saved_model/angraph_p.angq";
/// The activity matrix of a stream (`GraphBuilder::activity_matrix` on the host).
/// The stream's ANGraph-P input for a model of `in_dim` (36, 42 or 48 values:
/// `GraphBuilder::power_input`).
pub fn host_power_input(s: &Stream, in_dim: usize) -> Vec<i32> {
    let mut b: Box<GraphBuilder<NODES, EDGES>> =
        Box::new(GraphBuilder::new(s.mesh, s.process).expect("builder"));
    feed(&mut b, s).expect("feed");
    let mut x = vec![0i32; in_dim];
    b.power_input(in_dim, &mut x).expect("power input");
    x
}

pub fn host_activity(s: &Stream) -> Vec<i32> {
    let mut b: Box<GraphBuilder<NODES, EDGES>> =
        Box::new(GraphBuilder::new(s.mesh, s.process).expect("builder"));
    feed(&mut b, s).expect("feed");
    let mut m = vec![0i32; 36];
    b.activity_matrix(&mut m).expect("activity matrix");
    m
}

/// Host reference of the energy: `angraph_core::power::predict_fixed` on the stream's activity
/// matrix.
pub fn host_energy(blob: &[u8], s: &Stream) -> angraph_core::power::Energy<Fixed> {
    let model = Model::from_bytes(blob).expect("power blob");
    let mut out = [angraph_core::power::Energy::<Fixed>::ZERO];
    let mut ws = vec![0u8; angraph_core::power::required_workspace(&model)];
    angraph_core::power::predict_fixed(&model, &host_activity(s), &mut out, &mut ws)
        .expect("predict");
    out[0]
}

/// A minimal copy of `angraph_train::fsio::write_atomic` (the home of the rule): this crate
/// cannot depend on angraph-train, which links libtorch. Temporary `.NAME.tmp-<pid>` in the same
/// folder, fsync, rename, removed on error; a non-regular target is refused.
pub fn write_atomic(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        return Err(std::io::Error::other("exists and is not a regular file"));
    }
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    let res = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}
