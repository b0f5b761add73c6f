//! NumPy `.npy` (format 1.0) for `float32` arrays: writer, and a reader that also accepts
//! `float64` (converted) as older NumPy tools write by default. C order only.

use anyhow::{bail, Context, Result};
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

/// Read a float array: `(shape, values as f32)`. Errors name the file and the field.
pub fn read_f32(path: &Path) -> Result<(Vec<usize>, Vec<f32>)> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    parse_f32(&bytes).with_context(|| format!("{}", path.display()))
}

/// Parse `.npy` bytes.
pub fn parse_f32(bytes: &[u8]) -> Result<(Vec<usize>, Vec<f32>)> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        bail!("not an .npy file (bad magic)");
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
    let header = std::str::from_utf8(&bytes[start..end]).context("header is not text")?;
    let field = |name: &str| -> Result<&str> {
        let key = format!("'{name}':");
        let i = header
            .find(&key)
            .with_context(|| format!("header has no field {name:?}"))?;
        Ok(header[i + key.len()..].trim_start())
    };
    let descr = field("descr")?;
    let elem = if descr.starts_with("'<f4'") {
        4
    } else if descr.starts_with("'<f8'") {
        8
    } else {
        bail!(
            "field \"descr\": {} is not little-endian float32/float64",
            descr.split(',').next().unwrap_or("")
        );
    };
    if !field("fortran_order")?.starts_with("False") {
        bail!("field \"fortran_order\": only C order is supported");
    }
    let shape_txt = field("shape")?
        .strip_prefix('(')
        .context("field \"shape\": not a tuple (no opening parenthesis)")?;
    let close = shape_txt
        .find(')')
        .context("field \"shape\": no closing parenthesis")?;
    let shape: Vec<usize> = shape_txt[..close]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>())
        .collect::<Result<_, _>>()
        .context("field \"shape\": not a tuple of integers")?;
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
    let data = if elem == 4 {
        body.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    } else {
        body.chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f32)
            .collect()
    };
    Ok((shape, data))
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
    }
}
