use compaktor::prelude::*;

#[derive(Debug)]
struct Overflow;

type Result<T> = std::result::Result<T, Overflow>;

struct Counter {
    total: u64,
}

#[actor]
impl Counter {
    #[handler]
    fn add(&mut self, n: u64) -> Result<u64> {
        self.total = self.total.checked_add(n).ok_or(Overflow)?;
        Ok(self.total)
    }
}

fn main() {}
