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

    /// Append every line of another gzip csv as it is (its rows after this writer's), so a
    /// table assembled from parts has the bytes of the table written in one go.
    pub fn append_file(&mut self, src: &Path) -> Result<()> {
        let f = File::open(src).with_context(|| format!("{}: cannot open", src.display()))?;
        let mut r = BufReader::new(MultiGzDecoder::new(f));
        let mut line = Vec::new();
        for n in 1.. {
            line.clear();
            // One write per line, as `row` does, so the compressor sees the same writes.
            let got = (&mut r)
                .take(MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut line)
                .with_context(|| format!("{}: line {n}: cannot read", src.display()))?;
            if got == 0 {
                break;
            }
            if line.len() > MAX_LINE_BYTES || line.last() != Some(&b'\n') {
                bail!(
                    "{}: line {n}: longer than {MAX_LINE_BYTES} bytes or unterminated",
                    src.display()
                );
            }
            self.out
                .write_all(&line)
                .with_context(|| format!("{}: write failed", self.path.display()))?;
        }
        Ok(())
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

/// Longest line a table may have (bytes): a row of a few hundred numbers is a few KB; a longer
/// line is refused before it is held in memory, so what a reader holds stays proportional to
/// the rows the other files' counts allow.
pub const MAX_LINE_BYTES: usize = 1 << 20;

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
    let mut reader = BufReader::new(MultiGzDecoder::new(gz));
    let mut out = Vec::new();
    let mut w = width;
    let mut rows = 0usize;
    let mut buf = Vec::new();
    for i in 0.. {
        buf.clear();
        let n = (&mut reader)
            .take(MAX_LINE_BYTES as u64 + 1)
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("{file}: line {}: cannot read (not gzip text?)", i + 1))?;
        if n == 0 {
            break;
        }
        if buf.len() > MAX_LINE_BYTES {
            bail!(
                "{file}: line {}: longer than {MAX_LINE_BYTES} bytes (no table row is; a \
                 decompression bomb or not a csv table)",
                i + 1
            );
        }
        if buf.last() == Some(&b'\n') {
            buf.pop();
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
        }
        let line = std::str::from_utf8(&buf)
            .map_err(|_| anyhow!("{file}: line {}: cannot read (not gzip text?)", i + 1))?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;

    fn gz(text: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::fast());
        e.write_all(text).unwrap();
        e.finish().unwrap()
    }

    /// A line longer than MAX_LINE_BYTES (here 4 MiB of digits without a newline, 4 KB
    /// compressed) is refused before it is held; CRLF and LF rows read alike.
    #[test]
    fn overlong_lines_are_refused_and_crlf_reads() {
        let bomb = gz(&vec![b'1'; 4 << 20]);
        assert!(bomb.len() < 64 << 10);
        let e = parse_rows::<u32>(&bomb[..], "bomb.csv.gz", None, None).unwrap_err();
        assert!(
            e.to_string().contains("bomb.csv.gz: line 1: longer than"),
            "{e}"
        );
        let (w, v) = parse_rows::<u32>(&gz(b"1,2\r\n3,4\n\n5,6")[..], "t", None, None).unwrap();
        assert_eq!((w, v), (2, vec![1, 2, 3, 4, 5, 6]));
        let e = parse_rows::<u32>(&gz(b"1,2\n\xff,3\n")[..], "t", None, None).unwrap_err();
        assert!(e.to_string().contains("line 2: cannot read"), "{e}");
    }
}
