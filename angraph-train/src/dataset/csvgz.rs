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
    let mut rows = RowReader::new(gz, file, width, max_rows);
    let mut out = Vec::new();
    while rows.read_row(&mut out)? {}
    Ok((rows.width().unwrap_or(width.unwrap_or(0)), out))
}

/// A gzip csv read one row at a time (what [`read_rows`] does for a whole file, with the same
/// checks and errors), so a table of any size is read in constant memory.
pub struct RowReader<R: Read> {
    reader: BufReader<MultiGzDecoder<R>>,
    file: String,
    width: Option<usize>,
    max_rows: Option<usize>,
    rows: usize,
    line_no: usize,
    buf: Vec<u8>,
}

impl RowReader<File> {
    /// Open `path` ([`read_rows`]'s `width` and `max_rows`).
    pub fn open(path: &Path, width: Option<usize>, max_rows: Option<usize>) -> Result<Self> {
        let f = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
        Ok(RowReader::new(
            f,
            &path.display().to_string(),
            width,
            max_rows,
        ))
    }
}

impl<R: Read> RowReader<R> {
    /// Read gzip bytes from `gz`; `file` names the source in errors.
    pub fn new(gz: R, file: &str, width: Option<usize>, max_rows: Option<usize>) -> Self {
        RowReader {
            reader: BufReader::new(MultiGzDecoder::new(gz)),
            file: file.to_string(),
            width,
            max_rows,
            rows: 0,
            line_no: 0,
            buf: Vec::new(),
        }
    }

    /// The column count: given, or of the first row once it is read.
    pub fn width(&self) -> Option<usize> {
        self.width
    }

    /// Rows read so far (blank lines are not rows).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The file's name as errors show it.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Append the next row's values to `out`; `false` at the end of the file.
    pub fn read_row<T: CsvNumber>(&mut self, out: &mut Vec<T>) -> Result<bool> {
        let file = &self.file;
        loop {
            self.buf.clear();
            self.line_no += 1;
            let i = self.line_no;
            let n = (&mut self.reader)
                .take(MAX_LINE_BYTES as u64 + 1)
                .read_until(b'\n', &mut self.buf)
                .with_context(|| format!("{file}: line {i}: cannot read (not gzip text?)"))?;
            if n == 0 {
                return Ok(false);
            }
            let buf = &mut self.buf;
            if buf.len() > MAX_LINE_BYTES {
                bail!(
                    "{file}: line {i}: longer than {MAX_LINE_BYTES} bytes (no table row is; a \
                     decompression bomb or not a csv table)"
                );
            }
            if buf.last() == Some(&b'\n') {
                buf.pop();
                if buf.last() == Some(&b'\r') {
                    buf.pop();
                }
            }
            let line = std::str::from_utf8(buf)
                .map_err(|_| anyhow!("{file}: line {i}: cannot read (not gzip text?)"))?;
            if line.trim().is_empty() {
                continue;
            }
            self.rows += 1;
            if let Some(max) = self.max_rows {
                if self.rows > max {
                    bail!("{file}: line {i}: more than the {max} rows the other files allow");
                }
            }
            let mut n = 0;
            for (j, cell) in line.split(',').enumerate() {
                let shown = || crate::text::printable(cell).into_owned();
                let v = cell.trim().parse::<T>().map_err(|_| {
                    anyhow!(
                        "{file}: line {i}, column {}: {:?} is not a valid number",
                        j + 1,
                        shown()
                    )
                })?;
                if let Some(why) = v.invalid() {
                    bail!("{file}: line {i}, column {}: {:?} {why}", j + 1, shown());
                }
                out.push(v);
                n += 1;
            }
            match self.width {
                None => self.width = Some(n),
                Some(k) if k != n => bail!("{file}: line {i}: {n} columns, expected {k}"),
                _ => {}
            }
            return Ok(true);
        }
    }
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
