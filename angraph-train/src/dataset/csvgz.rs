//! Headerless, comma-separated, gzip-compressed number tables (the OGB raw format), read with
//! errors that name the file, the line and the column.

use anyhow::{anyhow, bail, Context, Result};
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use flate2::Compression;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
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

/// A number type of a table cell, with the rule a parsed value must also satisfy.
pub trait CsvNumber: FromStr + Copy {
    /// Why a parsed value is refused (`None`: accepted).
    fn invalid(&self) -> Option<&'static str> {
        None
    }
}

impl CsvNumber for usize {}
impl CsvNumber for u32 {}
impl CsvNumber for u64 {}

impl CsvNumber for f32 {
    fn invalid(&self) -> Option<&'static str> {
        // `"1e39".parse::<f32>()` is `inf`: a value beyond the f32 range lands here too.
        (!self.is_finite()).then_some("is not a finite f32 (NaN, infinite, or beyond +-3.4e38)")
    }
}

/// Read every row of a gzip csv as numbers of type `T`. `width`: the expected number of
/// columns, or `None` to take it from the first row (then every row must agree). `max_rows`:
/// the most rows the caller can use; one more is an error at once, so a file is never read
/// (nor held in memory) past what its counts allow. Every member of a multi-member gzip file
/// is read. Errors name the file, the line and the column.
pub fn read_rows<T: CsvNumber>(
    path: &Path,
    width: Option<usize>,
    max_rows: Option<usize>,
) -> Result<(usize, Vec<T>)> {
    let f = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    parse_rows(f, &path.display().to_string(), width, max_rows)
}

/// [`read_rows`] on gzip bytes from any reader; `file` names the source in errors.
pub fn parse_rows<T: CsvNumber>(
    gz: impl Read,
    file: &str,
    width: Option<usize>,
    max_rows: Option<usize>,
) -> Result<(usize, Vec<T>)> {
    let reader = BufReader::new(MultiGzDecoder::new(gz));
    let mut out = Vec::new();
    let mut w = width;
    let mut rows = 0usize;
    for (i, line) in reader.lines().enumerate() {
        let line =
            line.with_context(|| format!("{file}: line {}: cannot read (not gzip text?)", i + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        rows += 1;
        if let Some(max) = max_rows {
            if rows > max {
                bail!(
                    "{file}: line {}: more than the {max} rows the other files allow",
                    i + 1
                );
            }
        }
        let mut n = 0;
        for (j, cell) in line.split(',').enumerate() {
            let shown = || crate::text::printable(cell).into_owned();
            let v = cell.trim().parse::<T>().map_err(|_| {
                anyhow!(
                    "{file}: line {}, column {}: {:?} is not a valid number",
                    i + 1,
                    j + 1,
                    shown()
                )
            })?;
            if let Some(why) = v.invalid() {
                bail!(
                    "{file}: line {}, column {}: {:?} {why}",
                    i + 1,
                    j + 1,
                    shown()
                );
            }
            out.push(v);
            n += 1;
        }
        match w {
            None => w = Some(n),
            Some(k) if k != n => bail!("{file}: line {}: {} columns, expected {}", i + 1, n, k),
            _ => {}
        }
    }
    let w = w.unwrap_or(width.unwrap_or(0));
    Ok((w, out))
}
