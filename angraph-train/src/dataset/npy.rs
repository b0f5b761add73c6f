//! NumPy `.npy` for `float32` arrays: a writer (format 1.0, the bytes `numpy.save` writes), and a
//! reader (formats 1.0-3.0) that also accepts `float64` (converted) as NumPy writes by default,
//! either byte order, and Fortran order (as `numpy.save(path, a.T)` writes); values come back in
//! C order.
//!
//! The header is parsed here, not by `ndarray-npy`: its owning reader allocates what a header
//! declares before it reads the data (a 60-byte file declaring 10^11 x 3 floats aborts the
//! process), and its writer's header differs from `numpy.save`'s, which would change the bytes
//! of every committed dataset. `ndarray` does the Fortran-to-C reordering (strides).

use anyhow::{anyhow, bail, Context, Result};
use ndarray::ShapeBuilder;
use std::path::Path;

/// Serialise a C-order `float32` array of `shape`.
pub fn to_bytes(shape: &[usize], data: &[f32]) -> Result<Vec<u8>> {
    let n: usize = shape.iter().product();
    if n != data.len() {
        bail!(
            "npy: shape {shape:?} holds {n} values, given {}",
            data.len()
        );
    }
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_txt = if shape.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_txt}, }}");
    // Pad so that magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64.
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + 4 * n);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    Ok(out)
}

/// Read a float array: `(shape, values as f32)`. Errors name the file and the field, or the
/// index of a refused value.
pub fn read_f32(path: &Path) -> Result<(Vec<usize>, Vec<f32>)> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    parse_f32(&bytes).with_context(|| format!("{}", path.display()))
}

/// Most dimensions a shape may have (NumPy's own limit is 64).
pub const MAX_DIMS: usize = 32;

/// The header dictionary of an `.npy` file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Header {
    /// Bytes per element (4: `f4`, 8: `f8`).
    elem: usize,
    /// `>` (big-endian) byte order.
    big_endian: bool,
    /// Fortran (column-major) order.
    fortran: bool,
    shape: Vec<usize>,
}

/// A cursor over the header bytes (never slices a `str`, so no character boundary can panic).
struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn word(&mut self, w: &[u8]) -> bool {
        self.ws();
        if self.b[self.i..].starts_with(w) {
            self.i += w.len();
            true
        } else {
            false
        }
    }
    /// A quoted string (`'..'` or `".."`, ASCII without escapes).
    fn string(&mut self) -> Option<String> {
        self.ws();
        let q = self.peek().filter(|&c| c == b'\'' || c == b'"')?;
        let start = self.i + 1;
        let len = self.b[start..].iter().position(|&c| c == q)?;
        let body = &self.b[start..start + len];
        if !body.iter().all(|c| c.is_ascii_graphic() || *c == b' ') || body.contains(&b'\\') {
            return None;
        }
        self.i = start + len + 1;
        Some(String::from_utf8_lossy(body).into_owned())
    }
    /// A tuple of non-negative integers: `()`, `(3,)`, `(2, 3)`, `(2, 3,)`.
    fn shape(&mut self) -> Result<Vec<usize>> {
        if !self.eat(b'(') {
            bail!("field \"shape\": not a tuple (no opening parenthesis)");
        }
        let mut dims = Vec::new();
        let mut trailing_comma = false;
        loop {
            if self.eat(b')') {
                break;
            }
            self.ws();
            let start = self.i;
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.i += 1;
            }
            if start == self.i {
                match self.peek() {
                    None => bail!("field \"shape\": no closing parenthesis"),
                    Some(_) => bail!("field \"shape\": not a tuple of integers"),
                }
            }
            let txt = std::str::from_utf8(&self.b[start..self.i]).unwrap_or("");
            let d = txt
                .parse::<usize>()
                .map_err(|_| anyhow!("field \"shape\": dimension {txt} is too large"))?;
            dims.push(d);
            if dims.len() > MAX_DIMS {
                bail!("field \"shape\": more than {MAX_DIMS} dimensions");
            }
            trailing_comma = self.eat(b',');
            if !trailing_comma {
                if self.eat(b')') {
                    break;
                }
                match self.peek() {
                    None => bail!("field \"shape\": no closing parenthesis"),
                    Some(_) => bail!("field \"shape\": not a tuple of integers"),
                }
            }
        }
        if dims.len() == 1 && !trailing_comma {
            bail!("field \"shape\": (n) is not a tuple, a 1-d shape is written (n,)");
        }
        Ok(dims)
    }
}

/// Parse the header dictionary: exactly the keys `descr` (`'<f4'`, `'<f8'`, `'>f4'` or
/// `'>f8'`), `fortran_order` (`True` or `False`) and `shape` (a tuple of integers), each once, nothing after the
/// closing brace but padding.
fn parse_header(h: &[u8]) -> Result<Header> {
    let mut c = Cursor { b: h, i: 0 };
    if !c.eat(b'{') {
        bail!("header is not a dictionary (no opening brace)");
    }
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    loop {
        if c.eat(b'}') {
            break;
        }
        let key = c.string().context("header: expected a quoted field name")?;
        if !c.eat(b':') {
            bail!("field {key:?}: no ':' after the name");
        }
        match key.as_str() {
            "descr" if descr.is_none() => {
                let d = c.string().context("field \"descr\": not a quoted string")?;
                descr = Some(match d.as_str() {
                    "<f4" => (4, false),
                    "<f8" => (8, false),
                    ">f4" => (4, true),
                    ">f8" => (8, true),
                    _ => bail!("field \"descr\": '{d}' is not float32 or float64"),
                });
            }
            "fortran_order" if fortran.is_none() => {
                fortran = Some(if c.word(b"False") {
                    false
                } else if c.word(b"True") {
                    true
                } else {
                    bail!("field \"fortran_order\": not True or False");
                });
            }
            "shape" if shape.is_none() => shape = Some(c.shape()?),
            "descr" | "fortran_order" | "shape" => bail!("field {key:?}: appears twice"),
            _ => bail!("header: unknown field {key:?}"),
        }
        if !c.eat(b',') {
            if c.eat(b'}') {
                break;
            }
            bail!("header: expected ',' or '}}' after field {key:?}");
        }
    }
    c.ws();
    if c.i != h.len() {
        bail!("header: text after the closing brace");
    }
    let (elem, big_endian) = descr.context("header has no field \"descr\"")?;
    let fortran = fortran.context("header has no field \"fortran_order\"")?;
    let shape = shape.context("header has no field \"shape\"")?;
    Ok(Header {
        elem,
        big_endian,
        fortran,
        shape,
    })
}

/// Parse `.npy` bytes. The header is validated field by field and the data length checked
/// against the shape before anything sized by the header is allocated; every value must be a
/// finite f32 (an f64 beyond the f32 range is refused, not turned into infinity).
pub fn parse_f32(bytes: &[u8]) -> Result<(Vec<usize>, Vec<f32>)> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        bail!("not an .npy file (bad magic)");
    }
    if bytes[7] != 0 {
        bail!("unsupported .npy version {}.{}", bytes[6], bytes[7]);
    }
    let (hlen, start): (usize, usize) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                bail!("truncated header");
            }
            (
                u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
                12,
            )
        }
        v => bail!("unsupported .npy version {v}"),
    };
    let end = start
        .checked_add(hlen)
        .filter(|&e| e <= bytes.len())
        .context("truncated header")?;
    let Header {
        elem,
        big_endian,
        fortran,
        shape,
    } = parse_header(&bytes[start..end])?;
    let n = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .context("field \"shape\": too large")?;
    let body = &bytes[end..];
    if Some(body.len()) != n.checked_mul(elem) {
        bail!(
            "data has {} bytes, shape {shape:?} needs {}",
            body.len(),
            n.saturating_mul(elem)
        );
    }
    // Values in file order, as f64 (exact for both widths), then in C order.
    let word = |c: &[u8]| -> f64 {
        match (c.len(), big_endian) {
            (4, false) => f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64,
            (4, true) => f32::from_be_bytes([c[0], c[1], c[2], c[3]]) as f64,
            (_, false) => f64::from_le_bytes(c.try_into().unwrap_or([0; 8])),
            (_, true) => f64::from_be_bytes(c.try_into().unwrap_or([0; 8])),
        }
    };
    let mut wide: Vec<f64> = body.chunks_exact(elem).map(word).collect();
    if fortran && shape.len() > 1 {
        let view = ndarray::ArrayViewD::from_shape(ndarray::IxDyn(&shape).f(), &wide)
            .context("field \"shape\": does not match the data")?;
        wide = view.iter().copied().collect();
    }
    if let Some(i) = wide.iter().position(|&v| !(v as f32).is_finite()) {
        bail!(
            "value {i} (index {:?}) is {}: not a finite f32 (NaN, infinite, or beyond \
             +-3.4e38)",
            unravel(i, &shape),
            wide[i]
        );
    }
    let data: Vec<f32> = wide.into_iter().map(|v| v as f32).collect();
    Ok((shape, data))
}

/// The multi-index of flat index `i` in a C-order array of `shape`.
fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for (k, &d) in shape.iter().enumerate().rev() {
        if d > 0 {
            idx[k] = i % d;
            i /= d;
        }
    }
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_errors() {
        let b = to_bytes(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, -6.5]).unwrap();
        assert_eq!((10 + u16::from_le_bytes([b[8], b[9]]) as usize) % 64, 0);
        let (s, d) = parse_f32(&b).unwrap();
        assert_eq!(s, vec![2, 3]);
        assert_eq!(d[5], -6.5);
        assert!(parse_f32(&b[..b.len() - 1]).is_err());
        assert!(parse_f32(b"hello").is_err());
        assert!(to_bytes(&[2, 2], &[1.0]).is_err());
        // Malformed shapes are errors naming the field, never a panic (a slice before the
        // opening parenthesis, or inside a multi-byte character).
        let with_shape = |shape: &str| {
            let h = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}\n");
            let mut b = b"\x93NUMPY\x01\x00".to_vec();
            b.extend_from_slice(&(h.len() as u16).to_le_bytes());
            b.extend_from_slice(h.as_bytes());
            parse_f32(&b)
        };
        for bad in [")", "é)", "(2, x)", "(", "2, 3)", "(99999999999999999999,)"] {
            let e = with_shape(bad).unwrap_err();
            assert!(format!("{e:#}").contains("shape"), "{bad}: {e:#}");
        }
        assert_eq!(with_shape("(0,)").unwrap().0, vec![0]);
        assert_eq!(with_shape("(0, 7, 6)").unwrap().0, vec![0, 7, 6]);
        // Header fields are validated: duplicates, unknown keys, other dtypes, trailing text.
        for bad in [
            "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (0,), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (0,), 'x': 1}",
            "{'descr': '<i4', 'fortran_order': False, 'shape': (0,), }",
            "{'descr': '<f4', 'fortran_order': 0, 'shape': (0,), }",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (0,), } junk",
            "{'descr': '<f4', 'fortran_order': False}",
        ] {
            let mut b = b"\x93NUMPY\x01\x00".to_vec();
            b.extend_from_slice(&(bad.len() as u16).to_le_bytes());
            b.extend_from_slice(bad.as_bytes());
            assert!(parse_f32(&b).is_err(), "{bad}");
        }
        // Non-finite values (and f64 beyond the f32 range) are refused with their index.
        let b = to_bytes(&[2, 3], &[1.0, 2.0, 3.0, 4.0, f32::NAN, 6.0]).unwrap();
        let e = format!("{:#}", parse_f32(&b).unwrap_err());
        assert!(e.contains("value 4") && e.contains("[1, 1]"), "{e}");
    }

    /// A file as `numpy.save` writes it for `descr` and `fortran_order`.
    fn file(descr: &str, fortran: bool, shape: &str, body: &[u8]) -> Vec<u8> {
        let f = if fortran { "True" } else { "False" };
        let mut h = format!("{{'descr': '{descr}', 'fortran_order': {f}, 'shape': {shape}, }}");
        h.push_str(&" ".repeat((64 - (11 + h.len()) % 64) % 64));
        h.push('\n');
        let mut b = b"\x93NUMPY\x01\x00".to_vec();
        b.extend_from_slice(&(h.len() as u16).to_le_bytes());
        b.extend_from_slice(h.as_bytes());
        b.extend_from_slice(body);
        b
    }

    #[test]
    fn fortran_order_and_big_endian_come_back_in_c_order() {
        // a = [[1, 2, 3], [4, 5, 6]]; numpy.save(a.T) stores a.T's memory (a's, C order) with
        // fortran_order True and shape (3, 2): a.T = [[1, 4], [2, 5], [3, 6]].
        let le: Vec<u8> = [1f32, 2., 3., 4., 5., 6.]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let (s, d) = parse_f32(&file("<f4", true, "(3, 2)", &le)).unwrap();
        assert_eq!((s, d), (vec![3, 2], vec![1., 4., 2., 5., 3., 6.]));
        let be: Vec<u8> = [1f64, 2., 3., 4., 5., 6.]
            .iter()
            .flat_map(|v| v.to_be_bytes())
            .collect();
        let (s, d) = parse_f32(&file(">f8", false, "(2, 3)", &be)).unwrap();
        assert_eq!((s, d), (vec![2, 3], vec![1., 2., 3., 4., 5., 6.]));
        // A non-finite value is named by its C-order index, whatever the file order.
        let mut v = [1f32, 2., 3., 4., 5., 6.];
        v[1] = f32::INFINITY; // file position 1 = element [1, 0] of the (3, 2) array
        let b: Vec<u8> = v.iter().flat_map(|v| v.to_le_bytes()).collect();
        let e = format!(
            "{:#}",
            parse_f32(&file("<f4", true, "(3, 2)", &b)).unwrap_err()
        );
        assert!(e.contains("value 2") && e.contains("[1, 0]"), "{e}");
    }
}
