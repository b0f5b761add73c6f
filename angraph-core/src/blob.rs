//! The model blob `*.angq`: postcard body + CRC-32.
//!
//! Layout: `postcard(Header) ++ postcard(Body) ++ crc32_le(all preceding bytes)`.
//! `Header` = magic `b"ANGQ"` (4 raw bytes) + format version (varint). `Body` = config,
//! precision, output format, label scale and unit, a free-text note, scalar requantization
//! parameters, the tensors as length-prefixed little-endian byte slices that the loaded
//! [`Model`](crate::model::Model) borrows (loading allocates nothing and copies no weights),
//! and (format 2) an optional [`Trust`] section: calibrated intervals and the training
//! envelope. Format 1 blobs (no trust section) still load; this build writes format 2.
//!
//! Per linear layer (canonical order: [`Config::linear_shapes`]):
//! - `F32`: `w` (`out x in` f32 LE, row-major), `b` (`out` f32 LE);
//! - `Int16`/`Int8`: `w` (`out x in` i8, per-output-channel scale), `bias` (`out` i32 LE, in
//!   accumulator units), `mult` (`out` i32 LE) and `shift` (`out` u8): the requantization of
//!   output channel `o` is `round(acc * mult[o] * 2^-shift[o])`.

use crate::config::{Config, MAX_LINEARS};
use crate::crc::crc32;
use crate::error::{Error, Result};
use crate::fixed::Requant;
use crate::trust::Trust;
use serde::{Deserialize, Serialize};

/// File magic.
pub const MAGIC: [u8; 4] = *b"ANGQ";
/// Format version written by this build.
pub const FORMAT_VERSION: u16 = 2;
/// Oldest format version this build reads (1: no trust section).
pub const OLDEST_FORMAT_VERSION: u16 = 1;
/// Most tensors in a blob.
pub const MAX_TENSORS: usize = 4 * MAX_LINEARS;
/// Most scalar requantization parameters.
pub const MAX_SCALARS: usize = 40;
/// Longest note string (bytes).
pub const MAX_TEXT: usize = 1024;
/// Longest unit string (bytes).
pub const MAX_UNIT: usize = 64;
/// Smallest and largest `label_scale` a blob may carry: outside, the scaled outputs lose all
/// precision or overflow `f32` (`i32::MAX * 1e9` is still finite).
pub const LABEL_SCALE_RANGE: (f32, f32) = (1e-9, 1e9);

/// Check the semantic fields a reader prints or multiplies by: `label_scale` finite, positive
/// and inside [`LABEL_SCALE_RANGE`]; `unit` at most [`MAX_UNIT`] bytes and `note` at most
/// [`MAX_TEXT`], both free of control characters (a note may hold line breaks and tabs), so
/// nothing read from a blob can scale an energy negative or print a terminal escape sequence.
/// The writer ([`crate::quantize`]) and [`crate::model::Model`] both apply it.
pub fn check_semantics(label_scale: f32, unit: &str, note: &str) -> Result<()> {
    let (lo, hi) = LABEL_SCALE_RANGE;
    if !(label_scale.is_finite() && (lo..=hi).contains(&label_scale)) {
        return Err(Error::Config("label_scale"));
    }
    if unit.len() > MAX_UNIT || unit.chars().any(char::is_control) {
        return Err(Error::Config("unit"));
    }
    if note.len() > MAX_TEXT
        || note
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(Error::Config("note"));
    }
    Ok(())
}

/// Numeric precision of a blob's tensors and of the path that runs it.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// f32 weights; runs on the reference path.
    F32,
    /// int8 weights, int16 activations; runs on the fixed-point path.
    Int16,
    /// int8 weights, int8 activations; runs on the fixed-point path.
    Int8,
}

impl Precision {
    /// Tensors per linear layer.
    pub fn tensors_per_linear(self) -> usize {
        match self {
            Precision::F32 => 2,
            Precision::Int16 | Precision::Int8 => 4,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Header {
    magic: [u8; 4],
    version: u16,
}

/// The decoded body, borrowing from the blob bytes.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct Body<'a> {
    /// Model family and configuration.
    pub config: Config,
    /// Tensor precision.
    pub precision: Precision,
    /// Fractional bits of the fixed-point outputs (`value = raw * 2^-out_frac_bits`).
    pub out_frac_bits: u8,
    /// Model output x `label_scale` = label in `unit` (e.g. the original's `y / 1000`).
    pub label_scale: f32,
    /// Unit of the label, e.g. `"ns"` or `"pJ"`.
    #[serde(borrow)]
    pub unit: &'a str,
    /// Provenance (where the weights and the calibration came from).
    #[serde(borrow)]
    pub note: &'a str,
    /// Scalar requantization parameters ([`Config::scalar_quant_count`]; empty for f32).
    pub scalars: heapless::Vec<Requant, MAX_SCALARS>,
    /// Tensors in canonical order.
    #[serde(borrow)]
    pub tensors: heapless::Vec<&'a [u8], MAX_TENSORS>,
    /// Intervals and envelope (format 2; `None` in format 1 blobs and when not calibrated).
    #[serde(borrow)]
    pub trust: Option<Trust<'a>>,
}

// Requant is serialized as (mult, shift).
impl Serialize for Requant {
    fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
        (self.mult, self.shift).serialize(s)
    }
}

impl<'de> Deserialize<'de> for Requant {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
        let (mult, shift) = <(i32, u8)>::deserialize(d)?;
        Ok(Requant { mult, shift })
    }
}

/// Check magic, version and checksum, then decode the body. Never panics on any input.
pub fn decode(bytes: &[u8]) -> Result<Body<'_>> {
    if bytes.len() < 4 || bytes[..4] != MAGIC {
        return Err(Error::BadMagic);
    }
    let (header, _) = postcard::take_from_bytes::<Header>(bytes).map_err(|_| Error::Truncated)?;
    if !(OLDEST_FORMAT_VERSION..=FORMAT_VERSION).contains(&header.version) {
        return Err(Error::UnsupportedVersion(header.version));
    }
    if bytes.len() < 9 {
        return Err(Error::Truncated);
    }
    let (payload, crc_bytes) = bytes.split_at(bytes.len() - 4);
    let stored = u32::from_le_bytes([crc_bytes[0], crc_bytes[1], crc_bytes[2], crc_bytes[3]]);
    let computed = crc32(payload);
    if stored != computed {
        return Err(Error::Checksum { stored, computed });
    }
    let (_, rest) = postcard::take_from_bytes::<Header>(payload).map_err(|_| Error::Truncated)?;
    // Everything but the tensors through serde; the tensors (the last field: a postcard sequence
    // of byte strings) by hand, pushed in place. Same wire format as `Body`'s `Deserialize`, but
    // without moving a `MAX_TENSORS` vector through serde by value: a microcontroller decodes a
    // blob in a few KB of stack.
    let (head, rest) = postcard::take_from_bytes::<Head<'_>>(rest).map_err(|e| match e {
        postcard::Error::DeserializeUnexpectedEnd => Error::Truncated,
        _ => Error::Decode,
    })?;
    let mut body = Body {
        config: head.config,
        precision: head.precision,
        out_frac_bits: head.out_frac_bits,
        label_scale: head.label_scale,
        unit: head.unit,
        note: head.note,
        scalars: head.scalars,
        tensors: heapless::Vec::new(),
        trust: None,
    };
    let (count, mut rest) = take_varint(rest)?;
    for _ in 0..count {
        let (len, after) = take_varint(rest)?;
        if len > after.len() as u64 {
            return Err(Error::Truncated);
        }
        let (t, after) = after.split_at(len as usize);
        body.tensors.push(t).map_err(|_| Error::Decode)?;
        rest = after;
    }
    if header.version >= 2 {
        let (trust, after) =
            postcard::take_from_bytes::<Option<Trust<'_>>>(rest).map_err(|e| match e {
                postcard::Error::DeserializeUnexpectedEnd => Error::Truncated,
                _ => Error::Decode,
            })?;
        body.trust = trust;
        rest = after;
    }
    if !rest.is_empty() {
        return Err(Error::Truncated);
    }
    Ok(body)
}

/// `Body` without its last fields, `tensors` and `trust` (same field order: same postcard
/// encoding).
#[derive(Deserialize)]
struct Head<'a> {
    config: Config,
    precision: Precision,
    out_frac_bits: u8,
    label_scale: f32,
    #[serde(borrow)]
    unit: &'a str,
    #[serde(borrow)]
    note: &'a str,
    scalars: heapless::Vec<Requant, MAX_SCALARS>,
}

/// A postcard varint (LEB128, at most 10 bytes) and the bytes after it.
fn take_varint(b: &[u8]) -> Result<(u64, &[u8])> {
    let mut v = 0u64;
    for (i, &byte) in b.iter().enumerate().take(10) {
        v |= ((byte & 0x7f) as u64) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok((v, &b[i + 1..]));
        }
    }
    if b.len() < 10 {
        Err(Error::Truncated)
    } else {
        Err(Error::Decode)
    }
}

/// Encode a body into `out` (no allocation); returns the blob length.
pub fn encode_into(body: &Body<'_>, out: &mut [u8]) -> Result<usize> {
    let header = Header {
        magic: MAGIC,
        version: FORMAT_VERSION,
    };
    let h = postcard::to_slice(&header, out)
        .map_err(|_| Error::Encode)?
        .len();
    let b = postcard::to_slice(body, &mut out[h..])
        .map_err(|_| Error::Encode)?
        .len();
    let n = h + b;
    if out.len() < n + 4 {
        return Err(Error::Encode);
    }
    let crc = crc32(&out[..n]);
    out[n..n + 4].copy_from_slice(&crc.to_le_bytes());
    Ok(n + 4)
}

/// Encode a body into a new vector.
#[cfg(feature = "std")]
pub fn encode(body: &Body<'_>) -> Result<std::vec::Vec<u8>> {
    let header = Header {
        magic: MAGIC,
        version: FORMAT_VERSION,
    };
    let mut out = postcard::to_stdvec(&header).map_err(|_| Error::Encode)?;
    out.extend(postcard::to_stdvec(body).map_err(|_| Error::Encode)?);
    let crc = crc32(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(out)
}

/// Recompute and overwrite the trailing checksum (for tests that mutate the body on purpose).
pub fn reseal(bytes: &mut [u8]) {
    if bytes.len() >= 4 {
        let n = bytes.len() - 4;
        let crc = crc32(&bytes[..n]);
        bytes[n..].copy_from_slice(&crc.to_le_bytes());
    }
}

#[cfg(test)]
mod decode_tests {
    use super::*;
    use crate::config::{Config, LatencyConfig};

    #[test]
    fn hand_decoded_tensors_equal_serde_decoding() {
        let big = [7u8; 300]; // a length that needs a two-byte varint
        let mut tensors = heapless::Vec::new();
        for t in [&big[..], &[][..], &[1u8, 2, 3][..], &big[..200]] {
            tensors.push(t).unwrap();
        }
        let body = Body {
            config: Config::Latency(LatencyConfig::original()),
            precision: Precision::Int16,
            out_frac_bits: 12,
            label_scale: 0.5,
            unit: "ns",
            note: "test",
            scalars: heapless::Vec::new(),
            tensors,
            trust: None,
        };
        let mut buf = [0u8; 2048];
        let n = encode_into(&body, &mut buf).unwrap();
        let ours = decode(&buf[..n]).unwrap();
        let (_, rest) = postcard::take_from_bytes::<Header>(&buf[..n - 4]).unwrap();
        let serde: Body<'_> = postcard::from_bytes(rest).unwrap();
        assert_eq!(ours.tensors, serde.tensors);
        assert_eq!(ours.config, serde.config);
        assert_eq!((ours.unit, ours.note), ("ns", "test"));
        // Every truncation is an error, never a panic.
        for cut in 0..n {
            let mut b = [0u8; 2048];
            b[..cut].copy_from_slice(&buf[..cut]);
            reseal(&mut b[..cut]);
            assert!(decode(&b[..cut]).is_err(), "cut {cut}");
        }
        // A format 1 blob (no trust section) still loads: version 1, no trailing `None`.
        let mut v1 = [0u8; 2048];
        v1[..n - 5].copy_from_slice(&buf[..n - 5]);
        assert_eq!((buf[4], buf[n - 5]), (2, 0));
        v1[4] = 1;
        reseal(&mut v1[..n - 1]);
        let old = decode(&v1[..n - 1]).unwrap();
        assert_eq!((old.tensors, old.trust), (ours.tensors.clone(), None));
        // A version from the future is refused.
        let mut v3 = buf;
        v3[4] = 3;
        reseal(&mut v3[..n]);
        assert_eq!(decode(&v3[..n]).unwrap_err(), Error::UnsupportedVersion(3));
        assert_eq!(take_varint(&[0x80; 3]), Err(Error::Truncated));
        assert_eq!(take_varint(&[0xff; 12]), Err(Error::Decode));
        assert_eq!(take_varint(&[0xac, 0x02, 9]).unwrap(), (300, &[9u8][..]));
    }
}
