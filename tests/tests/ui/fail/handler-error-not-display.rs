use compaktor::prelude::*;

struct Counter {
    total: u64,
}

#[derive(Debug)]
struct Overflow;

#[actor]
impl Counter {
    #[handler]
    fn add(&mut self, n: u64) -> Result<u64, Overflow> {
        self.total = self.total.checked_add(n).ok_or(Overflow)?;
        Ok(self.total)
    }
}

fn main() {}
