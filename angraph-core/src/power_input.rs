//! ANGraph-P's input: the activity matrix of a stream window, optionally followed by the
//! operating conditions the chip and its firmware know (process node, supply, junction
//! temperature from the on-die sensor, mesh size). Integer Q16.16 like the node features, the
//! same on the host and on the chip.
//!
//! Power input version [`POWER_INPUT_VERSION`] (recorded in every power dataset's `meta.json`):
//!
//! | rows | values | layout | used by |
//! |---|---|---|---|
//! | 0..=5 | [`ACTIVITY_INPUTS`] = 36 | the 6 x 6 activity matrix (`GraphBuilder::activity_matrix`, version 1) | the original ANGraph-P, models with `in_dim` 36 |
//! | 0..=6 | [`CONDITIONS_INPUTS`] = 42 | the same 36 values, then the operating-conditions row below | models with `in_dim` 42 |
//! | 0..=7 | [`LOAD_INPUTS`] = 48 | the same 42 values, then the load row below | models with `in_dim` 48 |
//!
//! | conditions column | meaning | unit |
//! |---|---|---|
//! | 0 `node_nm` | process node feature size | 100 nm |
//! | 1 `vdd_v` | supply voltage | V |
//! | 2 `temperature` | junction temperature (on-die sensor) | 100 degC |
//! | 3 `tiles` | powered tiles of the mesh (`W * H`) | 64 tiles |
//! | 4, 5 | reserved, 0 in version 2 | - |
//!
//! | load column | meaning | unit |
//! |---|---|---|
//! | 0 `words_k` | synaptic words read over the window (sum of the events' `words`) | 1000 words |
//! | 1 `fires_k` | neurons fired over the window (sum of the events' `fires`) | 1000 neurons |
//! | 2 `words_per_read` | words per WeightSRAM hop (the mean fan-out row) | words |
//! | 3 `fires_per_update` | fired neurons per LUT hop | neurons |
//! | 4, 5 | reserved, 0 in version 3 | - |
//!
//! The load is the events' [`crate::features::EventLoad`] (node features 35 and 36 carry it per
//! component): the row sizes the mapping fixes, which the activity matrix's hop counts do
//! not contain, and on which every SRAM read's and neuron update's energy depends.
//!
//! Columns 0..=2 are node features 32..=34 of [`crate::features`] (same unit, same rounding).
//! Nothing here is derived from the reference model's internals: leakage grows exponentially with
//! the temperature, and the network learns that dependence from column 2.
//!
//! ```
//! use angraph_core::component::Mesh;
//! use angraph_core::features::ProcessDescriptor;
//! use angraph_core::power_input::{conditions_row, PowerInput, CONDITIONS_COLS};
//! let p = ProcessDescriptor { feature_nm: 65, vdd_mv: 1200, temperature_c: 50 };
//! let mut row = [0i32; CONDITIONS_COLS];
//! conditions_row(Mesh::new(4, 4).unwrap(), &p, &mut row).unwrap();
//! assert_eq!(row, [42598, 78643, 32768, 16384, 0, 0]); // 0.65, 1.2, 0.5, 0.25 in Q16.16
//! assert_eq!(PowerInput::from_in_dim(42).unwrap(), PowerInput::WithConditions);
//! ```

use crate::component::Mesh;
use crate::error::{Error, Result};
use crate::features::{ratio_q16, ratio_q16_signed, ProcessDescriptor};

/// Version of the power input layout above. Version 1 was the 6 x 6 activity matrix alone (the
/// original's input); version 2 appends the operating-conditions row; version 3 the load row
/// (the first 42 values keep their meaning). Bump on any change of meaning, order or unit.
pub const POWER_INPUT_VERSION: u32 = 3;
/// Rows of the activity matrix (component classes).
pub const ACTIVITY_ROWS: usize = 6;
/// Columns of every row (activity statistics, or operating conditions).
pub const MATRIX_COLS: usize = 6;
/// Values of the activity matrix alone (the original ANGraph-P's `in_dim`).
pub const ACTIVITY_INPUTS: usize = ACTIVITY_ROWS * MATRIX_COLS;
/// Values of the conditions row.
pub const CONDITIONS_COLS: usize = MATRIX_COLS;
/// Values of the activity matrix followed by the conditions row (`in_dim` 42).
pub const CONDITIONS_INPUTS: usize = ACTIVITY_INPUTS + CONDITIONS_COLS;
/// Values of the load row.
pub const LOAD_COLS: usize = MATRIX_COLS;
/// Values of the activity matrix, the conditions row and the load row (`in_dim` 48).
pub const LOAD_INPUTS: usize = CONDITIONS_INPUTS + LOAD_COLS;

/// Names of the load row's columns, in order (as in `meta.json`).
pub const LOAD_NAMES: [&str; LOAD_COLS] = [
    "words_k",
    "fires_k",
    "words_per_read",
    "fires_per_update",
    "reserved_4",
    "reserved_5",
];

/// Units of the load row's columns, aligned with [`LOAD_NAMES`].
pub const LOAD_UNITS: [&str; LOAD_COLS] =
    ["1000 words", "1000 neurons", "words", "neurons", "", ""];

/// Names of the conditions row's columns, in order (as in `meta.json`).
pub const CONDITIONS_NAMES: [&str; CONDITIONS_COLS] = [
    "node_nm",
    "vdd_v",
    "temperature",
    "tiles",
    "reserved_4",
    "reserved_5",
];

/// Units of the conditions row's columns, aligned with [`CONDITIONS_NAMES`].
pub const CONDITIONS_UNITS: [&str; CONDITIONS_COLS] =
    ["100 nm", "V", "100 degC", "64 tiles", "", ""];

/// Which power input a model reads, decided by its `in_dim`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerInput {
    /// The 6 x 6 activity matrix (36 values; the original ANGraph-P).
    Activity,
    /// The activity matrix, then the operating-conditions row (42 values).
    WithConditions,
    /// The activity matrix, the operating-conditions row, then the load row (48 values).
    WithLoad,
}

impl PowerInput {
    /// The layout of a model with input width `in_dim`: 36 or 42, anything else is
    /// [`Error::Config`].
    pub const fn from_in_dim(in_dim: usize) -> Result<Self> {
        match in_dim {
            ACTIVITY_INPUTS => Ok(PowerInput::Activity),
            CONDITIONS_INPUTS => Ok(PowerInput::WithConditions),
            LOAD_INPUTS => Ok(PowerInput::WithLoad),
            _ => Err(Error::Config(
                "in_dim: an ANGraph-P input computed from a stream has 36 (activity), 42 \
                 (activity + conditions) or 48 (activity + conditions + load) values",
            )),
        }
    }

    /// Number of values.
    pub const fn inputs(self) -> usize {
        match self {
            PowerInput::Activity => ACTIVITY_INPUTS,
            PowerInput::WithConditions => CONDITIONS_INPUTS,
            PowerInput::WithLoad => LOAD_INPUTS,
        }
    }

    /// Does the layout include the operating-conditions row?
    pub const fn has_conditions(self) -> bool {
        !matches!(self, PowerInput::Activity)
    }

    /// Rows of [`MATRIX_COLS`] values (6, 7 or 8).
    pub const fn rows(self) -> usize {
        self.inputs() / MATRIX_COLS
    }
}

/// The operating-conditions row (Q16.16) of `mesh` running at `process`, written to
/// `out[..CONDITIONS_COLS]`. Errors: `out` shorter than [`CONDITIONS_COLS`].
pub fn conditions_row(mesh: Mesh, process: &ProcessDescriptor, out: &mut [i32]) -> Result<()> {
    if out.len() < CONDITIONS_COLS {
        return Err(Error::OutputLength {
            needed: CONDITIONS_COLS,
            given: out.len(),
        });
    }
    out[..CONDITIONS_COLS].copy_from_slice(&[
        ratio_q16(process.feature_nm as u64, 100),
        ratio_q16(process.vdd_mv as u64, 1000),
        ratio_q16_signed(process.temperature_c as i64, 100),
        ratio_q16(mesh.tiles() as u64, 64),
        0,
        0,
    ]);
    Ok(())
}

/// Totals of the event load over a window, for [`load_row`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoadTotals {
    /// Sum of the events' words.
    pub words: u64,
    /// Sum of the events' fired neurons.
    pub fires: u64,
    /// Hops through WeightSRAMs.
    pub sram_reads: u64,
    /// Hops through LUTs.
    pub lut_updates: u64,
}

/// The load row (Q16.16) of a window with totals `t`, written to `out[..LOAD_COLS]`. Errors:
/// `out` shorter than [`LOAD_COLS`].
pub fn load_row(t: &LoadTotals, out: &mut [i32]) -> Result<()> {
    if out.len() < LOAD_COLS {
        return Err(Error::OutputLength {
            needed: LOAD_COLS,
            given: out.len(),
        });
    }
    out[..LOAD_COLS].copy_from_slice(&[
        ratio_q16(t.words, 1000),
        ratio_q16(t.fires, 1000),
        ratio_q16(t.words, t.sram_reads),
        ratio_q16(t.fires, t.lut_updates),
        0,
        0,
    ]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_by_hand() {
        // 28 nm, 0.9 V, -5 degC (a cold start), 3 x 2 tiles.
        let p = ProcessDescriptor {
            feature_nm: 28,
            vdd_mv: 900,
            temperature_c: -5,
        };
        let mut row = [7i32; 8];
        conditions_row(Mesh::new(3, 2).unwrap(), &p, &mut row).unwrap();
        // 0.28 * 65536 = 18350.08 -> 18350; 0.9 * 65536 = 58982.4 -> 58982;
        // -0.05 * 65536 = -3276.8 -> -3277 (half away from zero); 6 / 64 * 65536 = 6144.
        assert_eq!(row, [18350, 58982, -3277, 6144, 0, 0, 7, 7]);
        // 85 degC on an 8 x 8 mesh: 0.85 * 65536 = 55705.6 -> 55706; 64 tiles -> 1.0.
        let hot = ProcessDescriptor {
            temperature_c: 85,
            ..p
        };
        conditions_row(Mesh::new(8, 8).unwrap(), &hot, &mut row).unwrap();
        assert_eq!(&row[2..4], &[55706, 65536]);
        assert_eq!(
            conditions_row(Mesh::new(1, 1).unwrap(), &p, &mut row[..5]),
            Err(Error::OutputLength {
                needed: 6,
                given: 5
            })
        );
    }

    #[test]
    fn layouts_follow_in_dim() {
        assert_eq!(PowerInput::from_in_dim(36), Ok(PowerInput::Activity));
        assert_eq!(PowerInput::from_in_dim(42), Ok(PowerInput::WithConditions));
        assert_eq!(PowerInput::from_in_dim(48), Ok(PowerInput::WithLoad));
        assert_eq!(PowerInput::WithLoad.rows(), 8);
        assert!(PowerInput::from_in_dim(0).is_err());
        assert!(PowerInput::from_in_dim(41).is_err());
        assert_eq!(
            (
                PowerInput::Activity.rows(),
                PowerInput::WithConditions.rows()
            ),
            (6, 7)
        );
        assert_eq!(CONDITIONS_NAMES.len(), CONDITIONS_UNITS.len());
        assert_eq!(LOAD_NAMES.len(), LOAD_UNITS.len());
    }

    #[test]
    fn load_by_hand() {
        let t = LoadTotals {
            words: 3000,
            fires: 150,
            sram_reads: 1000,
            lut_updates: 1000,
        };
        let mut row = [0i32; 6];
        load_row(&t, &mut row).unwrap();
        // 3.0, 0.15, 3 words per read, 0.15 fires per update.
        assert_eq!(row, [3 << 16, 9830, 3 << 16, 9830, 0, 0]);
        load_row(&LoadTotals::default(), &mut row).unwrap();
        assert_eq!(row, [0; 6]);
        assert!(load_row(&t, &mut row[..5]).is_err());
    }
}
