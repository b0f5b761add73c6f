//! Caller-supplied working memory, carved into typed, aligned slices. Sizes are computed by the
//! same sequence of requests that the kernels make, so `required_*` and the kernels never
//! disagree.

use crate::error::{Error, Resource, Result};

mod sealed {
    pub trait Sealed {}
}

/// Plain integer / float types for which every bit pattern is a valid value.
pub trait Plain: sealed::Sealed + Copy + Default + 'static {}
macro_rules! plain {
    ($($t:ty),*) => { $(impl sealed::Sealed for $t {} impl Plain for $t {})* };
}
plain!(i8, i16, i32, i64, u8, u16, u32, f32);

/// Slack added to every requirement so that any base alignment works.
pub const ALIGN_SLACK: usize = 8;

/// Counts the bytes a sequence of [`Carver::take`] calls needs.
#[derive(Debug, Default, Clone, Copy)]
pub struct Plan {
    bytes: usize,
}

impl Plan {
    /// Account for `n` values of `T`.
    pub fn take<T: Plain>(&mut self, n: usize) -> &mut Self {
        let a = core::mem::align_of::<T>();
        self.bytes = self.bytes.div_ceil(a) * a + n.saturating_mul(core::mem::size_of::<T>());
        self
    }
    /// Bytes needed, including alignment slack.
    pub fn bytes(&self) -> usize {
        self.bytes.saturating_add(ALIGN_SLACK)
    }
}

/// Hands out disjoint typed slices of a byte buffer.
pub struct Carver<'w> {
    rest: &'w mut [u8],
    given: usize,
    needed: usize,
}

impl<'w> Carver<'w> {
    /// Wrap a buffer after checking it against a plan.
    pub fn new(buf: &'w mut [u8], plan: &Plan) -> Result<Self> {
        let given = buf.len();
        if given < plan.bytes() {
            return Err(Error::Workspace {
                needed: plan.bytes(),
                given,
            });
        }
        Ok(Carver {
            rest: buf,
            given,
            needed: plan.bytes(),
        })
    }

    /// `n` zeroed values of `T`.
    pub fn take<T: Plain>(&mut self, n: usize) -> Result<&'w mut [T]> {
        let buf = core::mem::take(&mut self.rest);
        // SAFETY: `T` is a plain integer or float type: every bit pattern is a valid value, and
        // `align_to_mut` only hands out correctly aligned, in-bounds, non-overlapping slices.
        let (head, _, _) = unsafe { buf.align_to_mut::<T>() };
        let pad = head.len();
        let size = n
            .checked_mul(core::mem::size_of::<T>())
            .ok_or(Error::Capacity {
                what: Resource::Workspace,
                needed: usize::MAX,
                limit: usize::MAX,
            })?;
        if buf.len() < pad + size {
            return Err(Error::Workspace {
                needed: self.needed,
                given: self.given,
            });
        }
        let (_, tail) = buf.split_at_mut(pad);
        let (mine, rest) = tail.split_at_mut(size);
        self.rest = rest;
        // SAFETY: as above; `mine` starts at an aligned address and holds exactly `n` values.
        let (h, out, _) = unsafe { mine.align_to_mut::<T>() };
        if !h.is_empty() || out.len() != n {
            return Err(Error::Workspace {
                needed: self.needed,
                given: self.given,
            });
        }
        out.iter_mut().for_each(|v| *v = T::default());
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_matches_carver_at_every_offset() {
        let mut plan = Plan::default();
        plan.take::<i8>(3)
            .take::<i64>(5)
            .take::<i16>(7)
            .take::<f32>(2);
        let mut storage = [0u8; 256];
        for off in 0..8 {
            let buf = &mut storage[off..off + plan.bytes()];
            let mut c = Carver::new(buf, &plan).unwrap();
            assert_eq!(c.take::<i8>(3).unwrap().len(), 3);
            assert_eq!(c.take::<i64>(5).unwrap().len(), 5);
            assert_eq!(c.take::<i16>(7).unwrap().len(), 7);
            assert_eq!(c.take::<f32>(2).unwrap().len(), 2);
        }
        let short = &mut storage[..plan.bytes() - 1];
        assert!(matches!(
            Carver::new(short, &plan),
            Err(Error::Workspace { .. })
        ));
    }
}
