//! The seeded random source the fuzz tests of the receiving side share (test builds only).

/// xorshift64*: a fixed seed makes every run feed the same frames. Written here rather than
/// taken from `rand`: a dozen lines, and a fixed sequence no crate version can change.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}
