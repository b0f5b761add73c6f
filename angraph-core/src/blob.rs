//! The model blob `*.angq`: postcard body + CRC-32.
//!
//! Layout: `postcard(Header) ++ postcard(Body) ++ crc32_le(all preceding bytes)`.
//! `Header` = magic `b"ANGQ"` (4 raw bytes) + format version (varint). `Body` = config,
//! precision, output format, label scale and unit, a free-text note, scalar requantization
//! parameters, and the tensors as length-prefixed little-endian byte slices that the loaded
//! [`Model`](crate::model::Model) borrows (loading allocates nothing and copies no weights).
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
use serde::{Deserialize, Serialize};

/// File magic.
pub const MAGIC: [u8; 4] = *b"ANGQ";
/// Format version written by this build (and the only one it reads).
pub const FORMAT_VERSION: u16 = 1;
/// Most tensors in a blob.
pub const MAX_TENSORS: usize = 4 * MAX_LINEARS;
/// Most scalar requantization parameters.
pub const MAX_SCALARS: usize = 40;
/// Longest note / unit string.
pub const MAX_TEXT: usize = 1024;

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
    if header.version != FORMAT_VERSION {
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
    let (body, rest) = postcard::take_from_bytes::<Body<'_>>(rest).map_err(|e| match e {
        postcard::Error::DeserializeUnexpectedEnd => Error::Truncated,
        _ => Error::Decode,
    })?;
    if !rest.is_empty() {
        return Err(Error::Truncated);
    }
    Ok(body)
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
