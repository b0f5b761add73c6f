//! `angraph predict`: the batch command. Predict latency and energy for many inputs (stream
//! files, folders, globs, OGB graph datasets, `.npy` activity rows) on all cores, one CSV row
//! (or JSON line) per input row, in input order, with bounded memory: inputs are taken in
//! chunks of 4 x threads, each chunk is printed and dropped. The per-input prediction is
//! [`crate::infer`], shared with `angraph estimate`.

use std::collections::VecDeque;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use angraph_core::{Config, Model};
use anyhow::{anyhow, bail, Context, Result};
use rayon::prelude::*;

use crate::dataset::OgbGraphs;
use crate::import::read_npy_rows;
use crate::infer::{self, load_blob, Estimate, Models, Prediction, StreamTimes};

const AFTER_HELP: &str = "\
Inputs (in the order given, then the lines of --inputs-from):
  FILE.json        an event stream: TrueAsync DFG JSON (*.dfg.json) or timed JSON (*.timed.json)
  FILE.npy         ANGraph-P activity rows, shape (N, 6, 6) / (N, 36) / (N, 7, 6) / (N, 42) / (N, 8, 6) / (N, 48): one row each
  DIR with raw/    an OGB raw graph dataset (raw/num-node-list.csv.gz, ...): one row per graph
  DIR              every *.json stream below it, recursively, sorted by path
  GLOB             `*`, `?`, `[..]` and `**` are expanded (sorted); quote it to keep the shell off it

Output: CSV on stdout (--json: one JSON object per line, same keys, empty = null), one row per
input row, in input order. `input` is the path, plus `#i` for the i-th graph / row of a dataset
or .npy. Columns (latency in ns, energy in nJ):
  input, latency_ns, latency_lo_ns, latency_hi_ns, dynamic_nj, dynamic_lo_nj, dynamic_hi_nj,
  static_nj, static_lo_nj, static_hi_nj, total_nj, total_lo_nj, total_hi_nj, in_envelope, why,
  system_estimate_ns, error
A graph gives only latency, an .npy row only energy. system_estimate_ns is the span of a timed
stream (the system-level estimate). Intervals (*_lo_*, *_hi_*) and the envelope check
(in_envelope, why) come from a model's trust section: empty (unknown) for blobs without one.
A failed row has only `input` and `error` (naming the file and the field or line).

Operating conditions are never defaulted: a stream without a process header (DFG JSON) is an
error row when a model reads them; a latency model that needs timing (every current preprocess,
e.g. Log2Ratio, anchored on the stream's span) refuses an untimed stream.

Exit codes: 0 all rows succeeded (or stdout was closed early, e.g. `| head`), 1 some rows
failed or a model could not be loaded, 2 usage error.";

/// `angraph predict` command-line arguments.
#[derive(Debug, clap::Args)]
#[command(after_long_help = AFTER_HELP)]
pub struct PredictArgs {
    /// Stream files, folders, globs, OGB dataset folders, `.npy` files (see below).
    #[arg(value_name = "INPUT", required_unless_present = "inputs_from")]
    pub inputs: Vec<String>,
    /// Read more inputs from FILE, one per line (`-` = stdin; empty lines are skipped).
    #[arg(long, value_name = "FILE")]
    pub inputs_from: Option<PathBuf>,
    /// ANGraph-L blob (`.angq`, latency in ns).
    #[arg(long, default_value = "saved_model/angraph_l.angq")]
    pub latency_model: PathBuf,
    /// ANGraph-P blob (`.angq`, energies in nJ).
    #[arg(long, default_value = "saved_model/angraph_p.angq")]
    pub power_model: PathBuf,
    /// Run no latency model (latency cells empty).
    #[arg(long)]
    pub no_latency: bool,
    /// Run no power model (energy cells empty).
    #[arg(long)]
    pub no_power: bool,
    /// JSON lines instead of CSV.
    #[arg(long)]
    pub json: bool,
    /// Worker threads (default: all cores).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
    /// Print throughput (inputs/s), the time split and the peak RSS to stderr at the end.
    #[arg(long)]
    pub stats: bool,
}

/// The columns, in order.
pub const COLUMNS: [&str; 17] = [
    "input",
    "latency_ns",
    "latency_lo_ns",
    "latency_hi_ns",
    "dynamic_nj",
    "dynamic_lo_nj",
    "dynamic_hi_nj",
    "static_nj",
    "static_lo_nj",
    "static_hi_nj",
    "total_nj",
    "total_lo_nj",
    "total_hi_nj",
    "in_envelope",
    "why",
    "system_estimate_ns",
    "error",
];

/// What one input is.
#[derive(Debug, Clone)]
enum Input {
    Stream(PathBuf),
    Ogb(PathBuf),
    Npy(PathBuf),
    /// An input that expanded to nothing (name, message).
    Bad(String, String),
}

/// One output row: its `input` cell and the prediction or the error message.
struct Row {
    input: String,
    result: std::result::Result<Prediction, String>,
}

fn has_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

fn is_ogb(dir: &Path) -> bool {
    dir.join("raw").join("num-node-list.csv.gz").is_file()
}

fn classify(p: PathBuf) -> Input {
    if p.is_dir() && is_ogb(&p) {
        Input::Ogb(p)
    } else if p.extension().is_some_and(|e| e == "npy") {
        Input::Npy(p)
    } else {
        Input::Stream(p)
    }
}

/// Every `*.json` file below `dir`, sorted by path (depth first).
fn json_files(dir: &Path, out: &mut Vec<Input>) {
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(rd) => rd.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(e) => {
            let name = dir.display().to_string();
            out.push(Input::Bad(
                name.clone(),
                format!("{name}: cannot read: {e}"),
            ));
            return;
        }
    };
    entries.sort();
    for p in entries {
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "json") {
            out.push(Input::Stream(p));
        }
    }
}

/// The inputs one argument names.
fn expand(arg: &str) -> Vec<Input> {
    let p = PathBuf::from(arg);
    if p.is_dir() {
        if is_ogb(&p) {
            return vec![Input::Ogb(p)];
        }
        let mut v = Vec::new();
        json_files(&p, &mut v);
        if v.is_empty() {
            v.push(Input::Bad(
                arg.to_string(),
                format!("{arg}: no *.json stream in this folder"),
            ));
        }
        return v;
    }
    if p.exists() || !has_glob(arg) {
        return vec![classify(p)];
    }
    // The glob crate: `**`, character classes and sorted matches, well kept (rust-lang).
    let paths = match glob::glob(arg) {
        Ok(paths) => paths,
        Err(e) => return vec![Input::Bad(arg.to_string(), format!("{arg}: bad glob: {e}"))],
    };
    let mut v = Vec::new();
    for m in paths {
        match m {
            Ok(p) if p.is_dir() && !is_ogb(&p) => json_files(&p, &mut v),
            Ok(p) => v.push(classify(p)),
            Err(e) => v.push(Input::Bad(
                e.path().display().to_string(),
                format!("{}: {}", e.path().display(), e.error()),
            )),
        }
    }
    if v.is_empty() {
        v.push(Input::Bad(
            arg.to_string(),
            format!("{arg}: no file matches"),
        ));
    }
    v
}

/// The inputs in order, taken lazily: the arguments, then the lines of `--inputs-from`.
struct Inputs {
    args: VecDeque<String>,
    lines: Option<Box<dyn BufRead>>,
    pending: VecDeque<Input>,
}

impl Inputs {
    fn new(args: &PredictArgs) -> Result<Inputs> {
        let lines: Option<Box<dyn BufRead>> = match &args.inputs_from {
            None => None,
            Some(p) if p.as_os_str() == "-" => Some(Box::new(std::io::stdin().lock())),
            Some(p) => Some(Box::new(std::io::BufReader::new(
                std::fs::File::open(p)
                    .with_context(|| format!("--inputs-from {}: cannot open", p.display()))?,
            ))),
        };
        Ok(Inputs {
            args: args.inputs.iter().cloned().collect(),
            lines,
            pending: VecDeque::new(),
        })
    }

    /// Up to `n` inputs (empty at the end).
    fn next_chunk(&mut self, n: usize) -> Result<Vec<Input>> {
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            if let Some(i) = self.pending.pop_front() {
                out.push(i);
                continue;
            }
            let arg = match self.args.pop_front() {
                Some(a) => a,
                None => match &mut self.lines {
                    None => break,
                    Some(r) => {
                        let mut line = String::new();
                        if r.read_line(&mut line).context("--inputs-from")? == 0 {
                            self.lines = None;
                            continue;
                        }
                        let line = line.trim_end_matches(['\n', '\r']);
                        if line.trim().is_empty() {
                            continue;
                        }
                        line.to_string()
                    }
                },
            };
            self.pending.extend(expand(&arg));
        }
        Ok(out)
    }
}

/// Time spent per phase, summed over threads (ns).
#[derive(Default)]
struct Times {
    read: AtomicU64,
    transform: AtomicU64,
    models: AtomicU64,
}

impl Times {
    fn add(&self, t: &StreamTimes) {
        self.read.fetch_add(t.read_ns, Ordering::Relaxed);
        self.transform.fetch_add(t.transform_ns, Ordering::Relaxed);
        self.models.fetch_add(t.models_ns, Ordering::Relaxed);
    }
}

fn ns_since(t: Instant) -> u64 {
    t.elapsed().as_nanos() as u64
}

/// The rows of one input.
fn predict_input(models: &Models<'_>, input: &Input, times: &Times) -> Vec<Row> {
    let err_row = |name: String, e: String| {
        vec![Row {
            input: name,
            result: Err(e),
        }]
    };
    match input {
        Input::Bad(name, msg) => err_row(name.clone(), msg.clone()),
        Input::Stream(p) => {
            let mut t = StreamTimes::default();
            let r = infer::predict_stream(models, p, &mut t);
            times.add(&t);
            vec![Row {
                input: p.display().to_string(),
                result: r.map_err(|e| format!("{e:#}")),
            }]
        }
        Input::Ogb(dir) => {
            let name = dir.display().to_string();
            let Some((lat, lp)) = models.latency else {
                return err_row(
                    name.clone(),
                    format!("{name}: a graph dataset gives latency only, and --no-latency is set"),
                );
            };
            let t0 = Instant::now();
            let graphs = match OgbGraphs::load(dir) {
                Ok(g) => g.graphs,
                Err(e) => return err_row(name, format!("{e:#}")),
            };
            times.read.fetch_add(ns_since(t0), Ordering::Relaxed);
            let t1 = Instant::now();
            let rows = graphs
                .par_iter()
                .enumerate()
                .map(|(i, g)| {
                    let input = format!("{name}#{i}");
                    let result = infer::predict_graph_assessed(lat, lp, g, &input)
                        .map(|(v, env)| {
                            judged(
                                Prediction {
                                    latency: Some(v),
                                    ..Prediction::default()
                                },
                                env,
                                None,
                            )
                        })
                        .map_err(|e| format!("{e:#}"));
                    Row { input, result }
                })
                .collect();
            times.models.fetch_add(ns_since(t1), Ordering::Relaxed);
            rows
        }
        Input::Npy(path) => {
            let name = path.display().to_string();
            let Some((pw, pp)) = models.power else {
                return err_row(
                    name.clone(),
                    format!("{name}: activity rows give energy only, and --no-power is set"),
                );
            };
            let t0 = Instant::now();
            let (values, width) = match read_npy_rows(path) {
                Ok(r) => r,
                Err(e) => return err_row(name, format!("{e:#}")),
            };
            times.read.fetch_add(ns_since(t0), Ordering::Relaxed);
            let Config::Power(pc) = pw.config() else {
                return err_row(name, format!("{}: not an ANGraph-P blob", pp.display()));
            };
            let Some(used) = infer::npy_row_width(width, pc.in_dim as usize) else {
                return err_row(
                    name.clone(),
                    format!(
                        "{name}: rows of {width} activities, {} expects {}",
                        pp.display(),
                        pc.in_dim
                    ),
                );
            };
            let t1 = Instant::now();
            // Chunks of rows per task, each through the batched kernels.
            let chunk = 4 * angraph_core::power::BLOCK;
            let rows = values
                .par_chunks(width * chunk)
                .enumerate()
                .flat_map_iter(|(c, part)| {
                    let first = c * chunk;
                    let n = part.len() / width;
                    let got = infer::predict_rows(pw, part, width, used);
                    let name = name.as_str();
                    (0..n).map(move |k| {
                        let input = format!("{name}#{}", first + k);
                        let result = match &got {
                            Ok(v) => {
                                let (e, env) = v[k];
                                let p = Prediction {
                                    energy: Some(e),
                                    ..Prediction::default()
                                };
                                Ok(judged(p, None, env))
                            }
                            Err(e) => Err(format!("{input}: {e:#}")),
                        };
                        Row { input, result }
                    })
                })
                .collect();
            times.models.fetch_add(ns_since(t1), Ordering::Relaxed);
            rows
        }
    }
}

/// `p` with the envelope verdicts of its models applied.
fn judged(
    mut p: Prediction,
    latency: Option<angraph_core::trust::Envelope>,
    power: Option<angraph_core::trust::Envelope>,
) -> Prediction {
    infer::apply_trust(&infer::Verdicts { latency, power }, &mut p);
    p
}

/// A number cell: the shortest form that reads back (f32 when the value is one, as the
/// fixed-point outputs are).
fn num(v: f64) -> String {
    let f = v as f32;
    if f as f64 == v {
        format!("{f}")
    } else {
        format!("{v}")
    }
}

/// The cells of a row, in [`COLUMNS`] order (`None` = empty).
enum Cell {
    Text(String),
    Num(f64),
    Bool(bool),
}

fn cells(row: &Row) -> Vec<Option<Cell>> {
    let mut c: Vec<Option<Cell>> = (0..COLUMNS.len()).map(|_| None).collect();
    c[0] = Some(Cell::Text(row.input.clone()));
    match &row.result {
        Err(e) => c[16] = Some(Cell::Text(e.clone())),
        Ok(p) => {
            let mut put = |at: usize, e: Option<&Estimate>| {
                if let Some(e) = e {
                    c[at] = Some(Cell::Num(e.value));
                    c[at + 1] = e.lo.map(Cell::Num);
                    c[at + 2] = e.hi.map(Cell::Num);
                }
            };
            put(1, p.latency.as_ref());
            if let Some(en) = &p.energy {
                put(4, en.dynamic.as_ref());
                put(7, en.static_.as_ref());
                put(10, Some(&en.total));
            }
            c[13] = p.in_envelope.map(Cell::Bool);
            if !p.why.is_empty() {
                c[14] = Some(Cell::Text(p.why.clone()));
            }
            c[15] = p.system_estimate_ns.map(Cell::Num);
        }
    }
    c
}

/// RFC 4180 quoting: a field with a comma, a quote or a line break is quoted, quotes doubled.
fn csv_field(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\"")).into()
    } else {
        s.into()
    }
}

fn write_row(out: &mut impl Write, row: &Row, json: bool) -> std::io::Result<()> {
    let c = cells(row);
    if json {
        let mut line = String::from("{");
        for (i, (k, v)) in COLUMNS.iter().zip(&c).enumerate() {
            if i > 0 {
                line.push(',');
            }
            line.push_str(&format!("\"{k}\":"));
            match v {
                None => line.push_str("null"),
                Some(Cell::Text(s)) => {
                    line.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "null".into()))
                }
                Some(Cell::Num(x)) if x.is_finite() => line.push_str(&num(*x)),
                Some(Cell::Num(_)) => line.push_str("null"),
                Some(Cell::Bool(b)) => line.push_str(if *b { "true" } else { "false" }),
            }
        }
        line.push('}');
        writeln!(out, "{line}")
    } else {
        let fields: Vec<String> = c
            .iter()
            .map(|v| match v {
                None => String::new(),
                Some(Cell::Text(s)) => csv_field(s).into_owned(),
                Some(Cell::Num(x)) => num(*x),
                Some(Cell::Bool(b)) => b.to_string(),
            })
            .collect();
        writeln!(out, "{}", fields.join(","))
    }
}

/// Peak resident memory of this process (VmHWM, kB), where /proc has it.
fn peak_rss_kb() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let l = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    l.split_whitespace().nth(1)?.parse().ok()
}

/// Load a model blob (leaked: it lives for the whole run and is shared by every thread).
fn load(path: &Path) -> Result<&'static Model<'static>> {
    let bytes: &'static [u8] = Box::leak(load_blob(path)?.into_boxed_slice());
    Ok(Box::leak(Box::new(
        Model::from_bytes(bytes).map_err(|e| anyhow!("{}: {e}", path.display()))?,
    )))
}

/// Run `angraph predict`: `Ok(true)` when every row succeeded (exit 0), `Ok(false)` when some
/// failed (exit 1).
pub fn run(args: &PredictArgs) -> Result<bool> {
    let lat = if args.no_latency {
        None
    } else {
        let m = load(&args.latency_model)?;
        if !matches!(m.config(), Config::Latency(_)) {
            bail!("{}: not an ANGraph-L blob", args.latency_model.display());
        }
        if m.body().unit != "ns" {
            eprintln!(
                "warning: {} predicts in {:?}, not ns: latency_ns carries that unit",
                args.latency_model.display(),
                crate::text::printable(m.body().unit)
            );
        }
        Some((m, args.latency_model.as_path()))
    };
    let pw = if args.no_power {
        None
    } else {
        let m = load(&args.power_model)?;
        if !matches!(m.config(), Config::Power(_)) {
            bail!("{}: not an ANGraph-P blob", args.power_model.display());
        }
        if m.body().unit != "nJ" {
            eprintln!(
                "warning: {} predicts in {:?}, not nJ: the energy columns carry that unit",
                args.power_model.display(),
                crate::text::printable(m.body().unit)
            );
        }
        Some((m, args.power_model.as_path()))
    };
    let models = Models {
        latency: lat,
        power: pw,
    };
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(n) = args.threads {
        pool = pool.num_threads(n as usize);
    }
    let pool = pool.build()?;
    let chunk = 4 * pool.current_num_threads();
    let mut inputs = Inputs::new(args)?;
    let bar = if std::io::stderr().is_terminal() {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {pos} inputs, {per_sec}, {elapsed_precise}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let times = Times::default();
    let start = Instant::now();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let (mut n_inputs, mut n_rows, mut n_failed) = (0u64, 0u64, 0u64);
    let mut closed = false;
    let header = if args.json {
        Ok(())
    } else {
        writeln!(out, "{}", COLUMNS.join(","))
    };
    let mut result = header;
    while result.is_ok() {
        let batch = inputs.next_chunk(chunk)?;
        if batch.is_empty() {
            break;
        }
        let rows: Vec<Vec<Row>> = pool.install(|| {
            batch
                .par_iter()
                .map(|i| predict_input(&models, i, &times))
                .collect()
        });
        n_inputs += batch.len() as u64;
        for row in rows.iter().flatten() {
            n_rows += 1;
            n_failed += row.result.is_err() as u64;
            result = write_row(&mut out, row, args.json);
            if result.is_err() {
                break;
            }
        }
        if result.is_ok() {
            result = out.flush();
        }
        bar.inc(batch.len() as u64);
    }
    if result.is_ok() {
        result = out.flush();
    }
    bar.finish_and_clear();
    if let Err(e) = result {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            closed = true;
        } else {
            return Err(anyhow!("writing stdout: {e}"));
        }
    }
    // (Dropping the writer into a closed pipe ignores the error: BufWriter's drop does.)
    drop(out);
    if args.stats {
        let wall = start.elapsed().as_secs_f64();
        let ms = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64 / 1e6;
        let (r, t, m) = (ms(&times.read), ms(&times.transform), ms(&times.models));
        let sum = (r + t + m).max(1e-9);
        eprintln!(
            "stats: {n_inputs} inputs, {n_rows} rows ({n_failed} failed) in {wall:.3} s on {} \
             threads: {:.1} inputs/s, {:.1} rows/s",
            pool.current_num_threads(),
            n_inputs as f64 / wall.max(1e-9),
            n_rows as f64 / wall.max(1e-9)
        );
        eprintln!(
            "stats: thread time: read+parse {r:.0} ms ({:.0}%), transform {t:.0} ms ({:.0}%), \
             models {m:.0} ms ({:.0}%)",
            100.0 * r / sum,
            100.0 * t / sum,
            100.0 * m / sum
        );
        match peak_rss_kb() {
            Some(kb) => eprintln!("stats: peak RSS (VmHWM) {:.1} MiB", kb as f64 / 1024.0),
            None => eprintln!("stats: peak RSS unknown (no /proc/self/status)"),
        }
    }
    Ok(closed || n_failed == 0)
}
