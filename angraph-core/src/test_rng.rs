//! The seeded generator of the unit tests: a 64-bit linear congruential generator (Knuth's
//! MMIX constants), no allocation, so the tests also build without `std`.

/// Seeded random numbers for tests; the same seed gives the same sequence.
pub(crate) struct Lcg(u64);

impl Lcg {
    /// A generator starting at `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        Lcg(seed)
    }

    /// The next 32 random bits (the high half of the state).
    pub(crate) fn next_u32(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 32) as u32
    }

    /// The next 31 random bits (never negative as `i32`).
    pub(crate) fn next_u31(&mut self) -> u32 {
        self.next_u32() >> 1
    }
}
