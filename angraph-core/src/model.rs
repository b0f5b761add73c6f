//! A loaded model: configuration plus borrowed tensors, validated once so the kernels can index
//! without further checks failing.

use crate::blob::{self, Body, Precision};
use crate::config::{Config, Family, LatencyConfig, PowerConfig, MAX_LINEARS};
use crate::error::{Error, Resource, Result};
use crate::fixed::Requant;
use crate::trust::Trust;
use core::mem::MaybeUninit;
use heapless::Vec;

pub use crate::layer::Linear;

/// A validated model borrowing its tensors from blob bytes.
#[derive(Debug, Clone)]
pub struct Model<'a> {
    body: Body<'a>,
    linears: Vec<Linear<'a>, MAX_LINEARS>,
}

impl<'a> Model<'a> {
    /// Decode and validate a blob. Never panics and never reads out of bounds, whatever the bytes.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self> {
        Self::from_body(blob::decode(bytes)?)
    }

    /// Validate a decoded body.
    pub fn from_body(body: Body<'a>) -> Result<Self> {
        let mut model = Model {
            body,
            linears: Vec::new(),
        };
        model.build_linears()?;
        Ok(model)
    }

    /// [`Model::from_bytes`] straight into `slot`, without a model-sized temporary on the stack
    /// (a model is about 4 KB on a 32-bit microcontroller, and moving it through `Result`s costs
    /// several copies; firmware keeps it in a `static`). On error `slot` holds no model.
    pub fn from_bytes_into<'s>(
        bytes: &'a [u8],
        slot: &'s mut MaybeUninit<Model<'a>>,
    ) -> Result<&'s mut Model<'a>> {
        let body = blob::decode(bytes)?;
        let p = slot.as_mut_ptr();
        // SAFETY: `p` is valid for writes and aligned (from a `&mut MaybeUninit`); both fields
        // are written before `assume_init_mut`, so the value is fully initialised.
        let model = unsafe {
            core::ptr::addr_of_mut!((*p).body).write(body);
            core::ptr::addr_of_mut!((*p).linears).write(Vec::new());
            slot.assume_init_mut()
        };
        model.build_linears()?;
        Ok(model)
    }

    /// Validate the body and fill `linears` (empty on entry).
    fn build_linears(&mut self) -> Result<()> {
        let body = &self.body;
        let linears = &mut self.linears;
        let shapes = body.config.linear_shapes()?;
        let per = body.precision.tensors_per_linear();
        let expected = shapes.len() * per;
        if body.tensors.len() != expected {
            return Err(Error::TensorCount {
                expected: expected as u16,
                found: body.tensors.len() as u16,
            });
        }
        let is_fixed = body.precision != Precision::F32;
        let scalars = if is_fixed {
            body.config.scalar_quant_count()
        } else {
            0
        };
        if body.scalars.len() != scalars {
            return Err(Error::Config("scalars (count)"));
        }
        for (i, q) in body.scalars.iter().enumerate() {
            if !q.is_valid() {
                return Err(Error::QuantParam { index: i as u16 });
            }
        }
        if body.out_frac_bits > 30 {
            return Err(Error::Config("out_frac_bits"));
        }
        blob::check_semantics(body.label_scale, body.unit, body.note)?;
        for (l, &(i, o)) in shapes.iter().enumerate() {
            let (i, o) = (i as usize, o as usize);
            let t = &body.tensors[l * per..(l + 1) * per];
            let check = |k: usize, expected: usize| -> Result<()> {
                if t[k].len() != expected {
                    return Err(Error::TensorLength {
                        index: (l * per + k) as u16,
                        expected: expected as u32,
                        found: t[k].len().min(u32::MAX as usize) as u32,
                    });
                }
                Ok(())
            };
            let lin = if is_fixed {
                check(0, i * o)?;
                check(1, 4 * o)?;
                check(2, 4 * o)?;
                check(3, o)?;
                Linear {
                    in_dim: i,
                    out_dim: o,
                    w: t[0],
                    b: t[1],
                    mult: t[2],
                    shift: t[3],
                }
            } else {
                check(0, 4 * i * o)?;
                check(1, 4 * o)?;
                Linear {
                    in_dim: i,
                    out_dim: o,
                    w: t[0],
                    b: t[1],
                    mult: &[],
                    shift: &[],
                }
            };
            if is_fixed {
                for c in 0..o {
                    if !lin.requant(c).is_valid() {
                        return Err(Error::QuantParam {
                            index: (l * per + 2) as u16,
                        });
                    }
                }
            }
            linears.push(lin).map_err(|_| Error::Capacity {
                what: Resource::LinearLayers,
                needed: shapes.len(),
                limit: MAX_LINEARS,
            })?;
        }
        if let Some(t) = &body.trust {
            let (features, embed, outputs) = match &body.config {
                Config::Latency(c) => (c.in_dim as usize, c.width as usize, 1),
                Config::Power(c) => (
                    c.in_dim as usize,
                    c.head_input_width(),
                    c.heads as usize + 1,
                ),
            };
            t.validate(features, embed, outputs)?;
        }
        Ok(())
    }

    /// The calibrated intervals and training envelope, when the blob has them.
    pub fn trust(&self) -> Option<&Trust<'a>> {
        self.body.trust.as_ref()
    }

    /// The decoded body (config, precision, note, ...).
    pub fn body(&self) -> &Body<'a> {
        &self.body
    }
    /// The family.
    pub fn family(&self) -> Family {
        self.body.config.family()
    }
    /// The precision.
    pub fn precision(&self) -> Precision {
        self.body.precision
    }
    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.body.config
    }
    /// The ANGraph-L configuration, or `WrongFamily`.
    pub fn latency_config(&self) -> Result<&LatencyConfig> {
        match &self.body.config {
            Config::Latency(c) => Ok(c),
            Config::Power(_) => Err(Error::WrongFamily),
        }
    }
    /// The ANGraph-P configuration, or `WrongFamily`.
    pub fn power_config(&self) -> Result<&PowerConfig> {
        match &self.body.config {
            Config::Power(c) => Ok(c),
            Config::Latency(_) => Err(Error::WrongFamily),
        }
    }
    /// The linear layers in canonical order.
    pub fn linears(&self) -> &[Linear<'a>] {
        &self.linears
    }
    /// Scalar requantization parameters.
    pub fn scalars(&self) -> &[Requant] {
        &self.body.scalars
    }
    /// Fractional bits of fixed-point outputs.
    pub fn out_frac_bits(&self) -> u8 {
        self.body.out_frac_bits
    }
}
