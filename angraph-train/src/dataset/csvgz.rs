//! Headerless, comma-separated, gzip-compressed number tables (the OGB raw format), read with
//! errors that name the file, the line and the column.

use anyhow::{anyhow, bail, Context, Result};
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A gzip csv writer (fixed mtime/name in the gzip header, so the bytes depend only on the
/// content).
pub struct CsvGzWriter {
    path: PathBuf,
    out: BufWriter<GzEncoder<File>>,
    line: String,
}

impl CsvGzWriter {
    /// Create `path` (truncating).
    pub fn create(path: &Path) -> Result<CsvGzWriter> {
        let f = File::create(path).with_context(|| format!("{}: cannot create", path.display()))?;
        let enc = flate2::GzBuilder::new()
            .mtime(0)
            .write(f, Compression::new(6));
        Ok(CsvGzWriter {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(1 << 16, enc),
            line: String::new(),
        })
    }

    /// Write one row of displayable values.
    pub fn row<T: std::fmt::Display>(&mut self, vals: impl IntoIterator<Item = T>) -> Result<()> {
        use std::fmt::Write as _;
        self.line.clear();
        for (i, v) in vals.into_iter().enumerate() {
            if i > 0 {
                self.line.push(',');
            }
            let _ = write!(self.line, "{v}");
        }
        self.line.push('\n');
        self.out
            .write_all(self.line.as_bytes())
            .with_context(|| format!("{}: write failed", self.path.display()))
    }

    /// Flush, finish the gzip stream and sync to disk.
    pub fn finish(self) -> Result<()> {
        let path = self.path.clone();
        let enc = self
            .out
            .into_inner()
            .map_err(|e| anyhow!("{}: {}", path.display(), e.error()))?;
        let f = enc
            .finish()
            .with_context(|| format!("{}: write failed", path.display()))?;
        f.sync_all()
            .with_context(|| format!("{}: sync failed", path.display()))
    }
}

/// Read every row of a gzip csv as numbers of type `T`. `width`: the expected number of
/// columns, or `None` to take it from the first row (then every row must agree).
pub fn read_rows<T: FromStr>(path: &Path, width: Option<usize>) -> Result<(usize, Vec<T>)> {
    let f = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let reader = BufReader::new(GzDecoder::new(f));
    let mut out = Vec::new();
    let mut w = width;
    for (i, line) in reader.lines().enumerate() {
        let line = line.with_context(|| {
            format!(
                "{}: line {}: cannot read (not gzip text?)",
                path.display(),
                i + 1
            )
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let mut n = 0;
        for (j, cell) in line.split(',').enumerate() {
            let v = cell.trim().parse::<T>().map_err(|_| {
                anyhow!(
                    "{}: line {}, column {}: {:?} is not a valid number",
                    path.display(),
                    i + 1,
                    j + 1,
                    cell
                )
            })?;
            out.push(v);
            n += 1;
        }
        match w {
            None => w = Some(n),
            Some(k) if k != n => bail!(
                "{}: line {}: {} columns, expected {}",
                path.display(),
                i + 1,
                n,
                k
            ),
            _ => {}
        }
    }
    let w = w.unwrap_or(width.unwrap_or(0));
    Ok((w, out))
}
