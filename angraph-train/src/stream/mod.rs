//! Event streams on disk: the TrueAsync DFG JSON form and this project's timed form.
//!
//! **TrueAsync DFG JSON** (read and written as is): one key per event, the ordered component
//! names of its path, keys in file order:
//! `{"DFS0": ["Injector", "NI-0-toRouter", "IU-0 of Router-0", ...], "DFS1": [...]}`.
//!
//! **Timed form** (`angraph-timed-stream`, a superset): a header naming the hardware and, per
//! event, each hop as `[name, enter_ps, leave_ps]` (integer picoseconds) and, from version 2,
//! optionally the event's load: `words`, the synaptic words the destination's WeightSRAM reads
//! (the spiking neuron's fan-out row on that tile), and `fires`, how many of those neurons fire
//! (`angraph_core::features::EventLoad`; both 0 when absent):
//!
//! ```json
//! {"format": "angraph-timed-stream", "version": 2,
//!  "mesh": {"width": 4, "height": 4},
//!  "process": {"name": "tsmc65", "feature_nm": 65, "vdd_mv": 1200, "temperature_c": 40},
//!  "time_unit": "ps", "description": "...",
//!  "labels": {"reference_latency_ns": 812.5, "dynamic_nj": 9.1, "static_nj": 0.4, "total_nj": 9.5},
//!  "events": [{"key": "DFS0", "words": 3, "fires": 1,
//!              "hops": [["Injector", 0, 1500], ["NI-0-toRouter", 1500, 1950]]}]}
//! ```
//!
//! Version 1 files (no load) are read as well.
//!
//! `labels` is optional (a simulated stream carries its reference labels). Reading either form
//! checks every component name, mesh bound and timestamp and names the file, the event key,
//! the hop and the field of the first problem:
//!
//! - event keys: unique, 1 to 256 bytes, no control characters;
//! - load: `fires <= words <= 65535`;
//! - timestamps: `enter_ps <= leave_ps` within a hop, each hop entered no earlier than the
//!   previous hop of its path was left, every timestamp at most [`MAX_TIME_PS`] (1 s = 1e12 ps;
//!   so no span exceeds 1 s);
//! - process header: `feature_nm` in 1..=1000 nm, `vdd_mv` in 100..=5000 mV, `temperature_c`
//!   in -55..=175 degC, a printable ASCII `name` of at most 64 characters;
//! - labels: finite, non-negative, the latency at most 1 s, and `total_nj == dynamic_nj +
//!   static_nj` within a relative 1e-3.
//!
//! [`Stream::to_graph`] feeds the one transform of `angraph-core`.

pub mod export;
mod fast;

use crate::dataset::graph::{GraphRecord, HostBuilder};
use crate::text::printable;
use angraph_core::component::{Component, ComponentKind, Mesh};
use angraph_core::features::{EventLoad, ProcessDescriptor};
use anyhow::{anyhow, bail, Context, Result};
use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;
use std::io::Write;
use std::path::Path;

/// Format name of the timed form.
pub const TIMED_FORMAT: &str = "angraph-timed-stream";
/// Version of the timed form this build writes (2: optional per-event load); it reads 1 and 2.
pub const TIMED_VERSION: u32 = 2;
/// Latest timestamp a stream may carry, and the physical ranges of a process header: one
/// home in angraph-core (the chip applies the same bounds).
pub use angraph_core::features::MAX_TIME_PS;
/// Longest event key (bytes).
pub const MAX_KEY_BYTES: usize = 256;
pub use angraph_core::features::{FEATURE_NM_RANGE, TEMPERATURE_C_RANGE, VDD_MV_RANGE};

/// One hop: a component and when the event entered and left it (ps; 0 when untimed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hop {
    /// The component.
    pub component: Component,
    /// Entry time (ps).
    pub enter_ps: u64,
    /// Exit time (ps).
    pub leave_ps: u64,
}

/// One event: its key (`DFS<n>`), its load and its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Key in the file.
    pub key: String,
    /// Words read and neurons fired at the destination (0 when the stream does not say).
    pub load: EventLoad,
    /// Hops in path order.
    pub hops: Vec<Hop>,
}

/// Process node in a timed header.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessHeader {
    /// Node name.
    pub name: String,
    /// Feature size (nm).
    pub feature_nm: u16,
    /// Supply (mV).
    pub vdd_mv: u16,
    /// Junction temperature (degC).
    pub temperature_c: i16,
}

/// Mesh in a timed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeshHeader {
    /// Tiles along x.
    pub width: u16,
    /// Tiles along y.
    pub height: u16,
}

/// Reference labels a simulated stream carries.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamLabels {
    /// Reference latency (ns).
    pub reference_latency_ns: f64,
    /// Dynamic energy (nJ).
    pub dynamic_nj: f32,
    /// Static energy (nJ).
    pub static_nj: f32,
    /// Total energy (nJ) = dynamic + static.
    pub total_nj: f32,
}

/// The timed form's header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimedHeader {
    /// Mesh.
    pub mesh: MeshHeader,
    /// Process node and temperature.
    pub process: ProcessHeader,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// Reference labels, if known.
    #[serde(default)]
    pub labels: Option<StreamLabels>,
}

impl TimedHeader {
    /// The physical ranges of the process header ([`FEATURE_NM_RANGE`], [`VDD_MV_RANGE`],
    /// [`TEMPERATURE_C_RANGE`]) and the labels (finite, non-negative, latency at most
    /// [`MAX_TIME_PS`], `total_nj == dynamic_nj + static_nj` within
    /// [`crate::dataset::power::LABEL_SUM_TOLERANCE`]); errors name `file` and the field.
    pub fn validate(&self, file: &str) -> Result<()> {
        let p = &self.process;
        if p.name.is_empty()
            || p.name.len() > 64
            || !p.name.chars().all(|c| c.is_ascii_graphic() || c == ' ')
        {
            bail!(
                "{file}: field \"process.name\": {:?} is not a process name (1 to 64 printable \
                 ASCII characters)",
                printable(&p.name)
            );
        }
        if !FEATURE_NM_RANGE.contains(&p.feature_nm) {
            bail!(
                "{file}: field \"process.feature_nm\": {} nm is outside {}..={} nm",
                p.feature_nm,
                FEATURE_NM_RANGE.start(),
                FEATURE_NM_RANGE.end()
            );
        }
        if !VDD_MV_RANGE.contains(&p.vdd_mv) {
            bail!(
                "{file}: field \"process.vdd_mv\": {} mV is outside {}..={} mV",
                p.vdd_mv,
                VDD_MV_RANGE.start(),
                VDD_MV_RANGE.end()
            );
        }
        if !TEMPERATURE_C_RANGE.contains(&p.temperature_c) {
            bail!(
                "{file}: field \"process.temperature_c\": {} degC is outside {}..={} degC",
                p.temperature_c,
                TEMPERATURE_C_RANGE.start(),
                TEMPERATURE_C_RANGE.end()
            );
        }
        if let Some(l) = &self.labels {
            let max_ns = MAX_TIME_PS as f64 / 1000.0;
            let lat = l.reference_latency_ns;
            if !lat.is_finite() || !(0.0..=max_ns).contains(&lat) {
                bail!(
                    "{file}: field \"labels.reference_latency_ns\": {lat} is not a latency in \
                     0..={max_ns} ns"
                );
            }
            for (name, v) in [
                ("dynamic_nj", l.dynamic_nj),
                ("static_nj", l.static_nj),
                ("total_nj", l.total_nj),
            ] {
                if !v.is_finite() {
                    bail!(
                        "{file}: field \"labels.{name}\": {v} is not a finite f32 (NaN, infinite, \
                         or beyond +-3.4e38)"
                    );
                }
            }
            crate::dataset::power::check_energies(l.total_nj, l.dynamic_nj, l.static_nj)
                .map_err(|e| anyhow!("{file}: field \"labels\": {e}"))?;
        }
        Ok(())
    }
}

/// An event stream in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Stream {
    /// Present for the timed form.
    pub header: Option<TimedHeader>,
    /// Events in file order.
    pub events: Vec<Event>,
}

/// Ordered map `key -> list of names` (keeps file order, unlike a `serde_json::Map`).
struct DfgEvents(Vec<(String, Vec<String>)>);

impl<'de> Deserialize<'de> for DfgEvents {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DfgEvents;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of event keys to lists of component names")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut m: A,
            ) -> std::result::Result<DfgEvents, A::Error> {
                let mut v = Vec::new();
                while let Some((k, names)) = m.next_entry::<String, Vec<String>>()? {
                    v.push((k, names));
                }
                Ok(DfgEvents(v))
            }
        }
        d.deserialize_map(V)
    }
}

/// Whether a JSON document is an object with a top-level `format` key (values skipped without
/// building a tree: the probe that tells the two forms apart).
struct HasFormat(bool);

impl<'de> Deserialize<'de> for HasFormat {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = HasFormat;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut m: A,
            ) -> std::result::Result<HasFormat, A::Error> {
                let mut found = false;
                while let Some(k) = m.next_key::<std::borrow::Cow<'de, str>>()? {
                    found |= k == "format";
                    m.next_value::<serde::de::IgnoredAny>()?;
                }
                Ok(HasFormat(found))
            }
        }
        d.deserialize_map(V)
    }
}

/// A component name as the file spells it: borrowed from the text unless it has escapes (no
/// allocation per hop on the usual file).
struct Name<'a>(std::borrow::Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Name<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Name<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a component name")
            }
            fn visit_borrowed_str<E: serde::de::Error>(
                self,
                v: &'de str,
            ) -> std::result::Result<Name<'a>, E> {
                Ok(Name(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> std::result::Result<Name<'a>, E> {
                Ok(Name(std::borrow::Cow::Owned(v.to_string())))
            }
        }
        d.deserialize_str(V(std::marker::PhantomData))
    }
}

/// A timed hop on disk: `[name, enter, leave]`.
struct RawHop<'a>(Name<'a>, u64, u64);

impl<'de: 'a, 'a> Deserialize<'de> for RawHop<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = RawHop<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a hop [name, enter_ps, leave_ps]")
            }
            fn visit_seq<A: SeqAccess<'de>>(
                self,
                mut s: A,
            ) -> std::result::Result<RawHop<'a>, A::Error> {
                use serde::de::Error;
                let n: Name<'a> = s
                    .next_element()?
                    .ok_or_else(|| A::Error::invalid_length(0, &self))?;
                let a: u64 = s
                    .next_element()?
                    .ok_or_else(|| A::Error::invalid_length(1, &self))?;
                let b: u64 = s
                    .next_element()?
                    .ok_or_else(|| A::Error::invalid_length(2, &self))?;
                if s.next_element::<serde::de::IgnoredAny>()?.is_some() {
                    return Err(A::Error::invalid_length(4, &self));
                }
                Ok(RawHop(n, a, b))
            }
        }
        d.deserialize_seq(V(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvent<'a> {
    key: String,
    #[serde(default)]
    words: u16,
    #[serde(default)]
    fires: u16,
    #[serde(borrow)]
    hops: Vec<RawHop<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTimed<'a> {
    format: String,
    version: u32,
    mesh: MeshHeader,
    process: ProcessHeader,
    time_unit: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    labels: Option<StreamLabels>,
    #[serde(borrow)]
    events: Vec<RawEvent<'a>>,
}

fn parse_component(name: &str, file: &str, key: &str, i: usize) -> Result<Component> {
    Component::parse(name).map_err(|_| {
        anyhow!(
            "{file}: event {:?}, hop {i}: unknown component name {:?}",
            printable(key),
            printable(name)
        )
    })
}

impl Stream {
    /// Read either form from `path` (the timed form is recognised by its `format` key).
    pub fn read(path: &Path) -> Result<Stream> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("{}: cannot read", path.display()))?;
        Stream::parse(&text, &path.display().to_string())
    }

    /// Parse either form from `text`; `file` names the source in errors. A timed stream as
    /// writers usually spell it takes a one-pass scanner (`stream::fast`); anything else, and
    /// every error, goes through the serde reader ([`Stream::parse_serde`]), with the same
    /// result.
    pub fn parse(text: &str, file: &str) -> Result<Stream> {
        match fast::parse_timed(text) {
            Some(parts) => Stream::from_timed(parts, file),
            None => Stream::parse_serde(text, file),
        }
    }

    /// [`Stream::parse`] through serde_json alone (the reference the fast path is tested
    /// against).
    pub fn parse_serde(text: &str, file: &str) -> Result<Stream> {
        // The timed form is the document with a top-level "format" key. Parsed as the timed
        // form first (one pass over the text); only when that fails does the probe, a second
        // pass, decide whether to report that error or read the DFG form.
        let timed_parse = text
            .contains("\"format\"")
            .then(|| serde_json::from_str::<RawTimed>(text));
        let timed = match &timed_parse {
            Some(Ok(_)) => true,
            Some(Err(_)) => serde_json::from_str::<HasFormat>(text).is_ok_and(|h| h.0),
            None => false,
        };
        if let (true, Some(parsed)) = (timed, timed_parse) {
            let raw: RawTimed = parsed
                .map_err(|e| anyhow!("{file}: line {}, column {}: {e}", e.line(), e.column()))?;
            let mut events = Vec::with_capacity(raw.events.len());
            for ev in raw.events {
                let mut hops = Vec::with_capacity(ev.hops.len());
                for (i, RawHop(name, a, b)) in ev.hops.into_iter().enumerate() {
                    let component = parse_component(&name.0, file, &ev.key, i)?;
                    hops.push(Hop {
                        component,
                        enter_ps: a,
                        leave_ps: b,
                    });
                }
                events.push(Event {
                    key: ev.key,
                    load: EventLoad {
                        words: ev.words,
                        fires: ev.fires,
                    },
                    hops,
                });
            }
            return Stream::from_timed(
                fast::TimedParts {
                    format: raw.format,
                    version: raw.version,
                    mesh: raw.mesh,
                    process: raw.process,
                    time_unit: raw.time_unit,
                    description: raw.description,
                    labels: raw.labels,
                    events,
                },
                file,
            );
        }
        let raw: DfgEvents = serde_json::from_str(text)
            .map_err(|e| anyhow!("{file}: line {}, column {}: {e}", e.line(), e.column()))?;
        let mut events = Vec::with_capacity(raw.0.len());
        for (key, names) in raw.0 {
            let mut hops = Vec::with_capacity(names.len());
            for (i, name) in names.iter().enumerate() {
                hops.push(Hop {
                    component: parse_component(name, file, &key, i)?,
                    enter_ps: 0,
                    leave_ps: 0,
                });
            }
            events.push(Event {
                key,
                load: EventLoad::default(),
                hops,
            });
        }
        let stream = Stream {
            header: None,
            events,
        };
        stream.validate(file)?;
        Ok(stream)
    }

    /// The checks of the timed form's fields that both readers share, then [`Stream::validate`].
    fn from_timed(raw: fast::TimedParts, file: &str) -> Result<Stream> {
        if raw.format != TIMED_FORMAT {
            bail!(
                "{file}: field \"format\": expected {TIMED_FORMAT:?}, found {:?}",
                raw.format
            );
        }
        if raw.version != 1 && raw.version != TIMED_VERSION {
            bail!("{file}: field \"version\": version {} is not supported (expected 1 or {TIMED_VERSION})", raw.version);
        }
        if raw.time_unit != "ps" {
            bail!(
                "{file}: field \"time_unit\": expected \"ps\", found {:?}",
                raw.time_unit
            );
        }
        if raw.version < 2 {
            if let Some(ev) = raw.events.iter().find(|e| e.load != EventLoad::default()) {
                bail!(
                    "{file}: event {:?}: fields \"words\" / \"fires\" need version 2",
                    printable(&ev.key)
                );
            }
        }
        let stream = Stream {
            header: Some(TimedHeader {
                mesh: raw.mesh,
                process: raw.process,
                description: raw.description,
                labels: raw.labels,
            }),
            events: raw.events,
        };
        stream.validate(file)?;
        Ok(stream)
    }

    /// The mesh: from the header, else the smallest square mesh holding every tile named.
    pub fn mesh(&self) -> Result<Mesh> {
        if let Some(h) = &self.header {
            return Mesh::new(h.mesh.width, h.mesh.height)
                .map_err(|e| anyhow!("header field \"mesh\": {e}"));
        }
        let max_tile = self
            .events
            .iter()
            .flat_map(|e| e.hops.iter())
            .filter(|h| h.component.kind != ComponentKind::Injector)
            .map(|h| h.component.tile)
            .max()
            .unwrap_or(0);
        let mut side = 1u32;
        while side * side <= max_tile {
            side += 1;
        }
        let side = u16::try_from(side).map_err(|_| anyhow!("tile {max_tile} is too large"))?;
        Mesh::new(side, side).map_err(|e| anyhow!("inferred mesh {side}x{side}: {e}"))
    }

    /// Process descriptors (default = unknown for the untimed form).
    pub fn process(&self) -> ProcessDescriptor {
        match &self.header {
            Some(h) => ProcessDescriptor {
                feature_nm: h.process.feature_nm,
                vdd_mv: h.process.vdd_mv,
                temperature_c: h.process.temperature_c,
            },
            None => ProcessDescriptor::default(),
        }
    }

    /// Check the header (physical ranges of the process, labels), mesh bounds and timestamps
    /// (see the module documentation); errors name `file`, the event key and hop index, and
    /// the field.
    pub fn validate(&self, file: &str) -> Result<()> {
        if let Some(h) = &self.header {
            h.validate(file)?;
        }
        let mesh = self.mesh().with_context(|| file.to_string())?;
        let mut keys = std::collections::HashSet::new();
        for ev in &self.events {
            let key = printable(&ev.key);
            if ev.key.is_empty()
                || ev.key.len() > MAX_KEY_BYTES
                || ev.key.chars().any(char::is_control)
            {
                bail!(
                    "{file}: event {key:?}: a key is 1 to {MAX_KEY_BYTES} bytes without control \
                     characters"
                );
            }
            if !keys.insert(ev.key.as_str()) {
                bail!("{file}: event {key:?} appears twice");
            }
            if ev.load.fires > ev.load.words {
                bail!(
                    "{file}: event {key:?}, field \"fires\": {} neurons fire but the row has {} \
                     words",
                    ev.load.fires,
                    ev.load.words
                );
            }
            let mut prev_leave = 0;
            for (i, h) in ev.hops.iter().enumerate() {
                mesh.id_of(h.component).map_err(|_| {
                    anyhow!(
                        "{file}: event {key:?}, hop {i}: {} is outside the {}x{} mesh",
                        h.component,
                        mesh.width,
                        mesh.height
                    )
                })?;
                if h.leave_ps > MAX_TIME_PS {
                    bail!(
                        "{file}: event {key:?}, hop {i}, field \"leave_ps\": {} is beyond the \
                         latest timestamp a stream may carry ({MAX_TIME_PS} ps = 1 s)",
                        h.leave_ps
                    );
                }
                if h.leave_ps < h.enter_ps {
                    bail!(
                        "{file}: event {key:?}, hop {i}, field \"leave_ps\": leaves ({}) before it \
                         enters ({})",
                        h.leave_ps,
                        h.enter_ps
                    );
                }
                if h.enter_ps < prev_leave {
                    bail!(
                        "{file}: event {key:?}, hop {i}, field \"enter_ps\": enters ({}) before the \
                         previous hop left ({prev_leave})",
                        h.enter_ps
                    );
                }
                prev_leave = h.leave_ps;
            }
        }
        Ok(())
    }

    /// Write the TrueAsync DFG JSON form (names only) atomically.
    pub fn write_dfg(&self, path: &Path) -> Result<()> {
        let mut out = Vec::new();
        out.push(b'{');
        for (i, ev) in self.events.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(b",\n ");
            }
            serde_json::to_writer(&mut out, &ev.key)?;
            out.extend_from_slice(b": [");
            for (j, h) in ev.hops.iter().enumerate() {
                if j > 0 {
                    out.extend_from_slice(b", ");
                }
                serde_json::to_writer(&mut out, &h.component.to_string())?;
            }
            out.push(b']');
        }
        out.extend_from_slice(b"}\n");
        write_atomic(path, &out)
    }

    /// Write the timed form atomically (requires a header).
    pub fn write_timed(&self, path: &Path) -> Result<()> {
        let h = self
            .header
            .as_ref()
            .context("the timed form needs a header (mesh, process)")?;
        let mut out = Vec::new();
        write!(
            out,
            "{{\"format\": \"{TIMED_FORMAT}\", \"version\": {TIMED_VERSION},\n \"mesh\": "
        )?;
        serde_json::to_writer(&mut out, &h.mesh)?;
        out.extend_from_slice(b",\n \"process\": ");
        serde_json::to_writer(&mut out, &h.process)?;
        out.extend_from_slice(b",\n \"time_unit\": \"ps\",\n \"description\": ");
        serde_json::to_writer(&mut out, &h.description)?;
        if let Some(l) = &h.labels {
            out.extend_from_slice(b",\n \"labels\": ");
            serde_json::to_writer(&mut out, l)?;
        }
        out.extend_from_slice(b",\n \"events\": [");
        for (i, ev) in self.events.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"\n  {\"key\": ");
            serde_json::to_writer(&mut out, &ev.key)?;
            if ev.load != EventLoad::default() {
                write!(
                    out,
                    ", \"words\": {}, \"fires\": {}",
                    ev.load.words, ev.load.fires
                )?;
            }
            out.extend_from_slice(b", \"hops\": [");
            for (j, hop) in ev.hops.iter().enumerate() {
                if j > 0 {
                    out.extend_from_slice(b", ");
                }
                out.push(b'[');
                serde_json::to_writer(&mut out, &hop.component.to_string())?;
                write!(out, ", {}, {}]", hop.enter_ps, hop.leave_ps)?;
            }
            out.extend_from_slice(b"]}");
        }
        out.extend_from_slice(b"\n]}\n");
        write_atomic(path, &out)
    }

    /// The paper's graph of this stream, through the one transform of `angraph-core`.
    pub fn to_graph(&self) -> Result<GraphRecord> {
        self.to_graph_on(None)
    }

    /// [`Stream::to_graph`] on an explicit mesh (default: [`Stream::mesh`]).
    pub fn to_graph_on(&self, mesh: Option<Mesh>) -> Result<GraphRecord> {
        self.builder_on(mesh)?.finish()
    }

    /// The transform's builder fed with every event (not finished: the activity matrix of
    /// [`HostBuilder::power_input_fixed`] and then [`HostBuilder::finish`] come from it).
    pub fn builder(&self) -> Result<HostBuilder> {
        self.builder_on(None)
    }

    /// [`Stream::builder`] on an explicit mesh (default: [`Stream::mesh`]).
    pub fn builder_on(&self, mesh: Option<Mesh>) -> Result<HostBuilder> {
        let mesh = match mesh {
            Some(m) => m,
            None => self.mesh()?,
        };
        let mut b = HostBuilder::new(mesh, self.process())?;
        for ev in &self.events {
            b.begin_event_with(ev.load)
                .map_err(|e| anyhow!("event {:?}: {e}", printable(&ev.key)))?;
            for (i, h) in ev.hops.iter().enumerate() {
                let id = mesh.id_of(h.component).map_err(|e| {
                    anyhow!(
                        "event {:?}, hop {i}: {}: {e}",
                        printable(&ev.key),
                        h.component
                    )
                })?;
                b.hop(id, h.enter_ps, h.leave_ps)
                    .map_err(|e| anyhow!("event {:?}, hop {i}: {e}", printable(&ev.key)))?;
            }
            b.end_event()?;
        }
        Ok(b)
    }
}

/// Atomic writes live in [`crate::fsio`]; re-exported here for the callers of this path.
pub use crate::fsio::write_atomic;

/// The system-level stream of a simulated sample (timed form, with its reference labels).
pub fn from_sample(s: &crate::sim::Sample, node_name: &str) -> Stream {
    let mesh = s.plan.mesh;
    let mut events = Vec::with_capacity(s.plan.num_events());
    for e in 0..s.plan.num_events() {
        let r = s.plan.path_off[e] as usize..s.plan.path_off[e + 1] as usize;
        let hops = r
            .map(|h| Hop {
                // Ids in a plan are valid for its mesh by construction.
                component: mesh
                    .component(s.plan.path[h])
                    .unwrap_or(Component::INJECTOR),
                enter_ps: s.timing.enter[h],
                leave_ps: s.timing.leave[h],
            })
            .collect();
        events.push(Event {
            key: format!("DFS{e}"),
            load: s.plan.load(e),
            hops,
        });
    }
    let [total, dynamic, stat] = s.energy_nj();
    Stream {
        header: Some(TimedHeader {
            mesh: MeshHeader {
                width: mesh.width,
                height: mesh.height,
            },
            process: ProcessHeader {
                name: node_name.to_string(),
                feature_nm: s.process.feature_nm,
                vdd_mv: s.process.vdd_mv,
                temperature_c: s.process.temperature_c,
            },
            description: s.description.clone(),
            labels: Some(StreamLabels {
                reference_latency_ns: s.reference_latency_ps as f64 / 1000.0,
                dynamic_nj: dynamic,
                static_nj: stat,
                total_nj: total,
            }),
        }),
        events,
    }
}
