//! Hooks into the f32 reference path: what the quantizer observes while it calibrates
//! (ANGraph-L and ANGraph-P alike).

/// Receives the activations of the f32 reference path (the quantizer's calibration hook).
pub trait Observer {
    /// The values of calibration site `site` (see `Config::calibration_sites`).
    fn activation(&mut self, site: usize, values: &[f32]) {
        let _ = (site, values);
    }
    /// One input vector of linear layer `linear` (canonical order).
    fn linear_input(&mut self, linear: usize, input: &[f32]) {
        let _ = (linear, input);
    }
}

/// Running max-abs per site, in a caller slice.
pub(crate) struct MaxAbs<'s>(pub(crate) &'s mut [f32]);

impl Observer for MaxAbs<'_> {
    fn activation(&mut self, site: usize, values: &[f32]) {
        if let Some(m) = self.0.get_mut(site) {
            for &x in values {
                let a = libm::fabsf(x);
                if a > *m {
                    *m = a;
                }
            }
        }
    }
}

/// An observer that ignores everything.
pub struct NoObserver;
impl Observer for NoObserver {}
