use compaktor::prelude::*;

struct Counter {
    total: u64,
}

macro_rules! adder {
    ($name:ident) => {
        #[handler]
        fn $name(&mut self, n: u64) {
            self.total += n;
        }
    };
}

#[actor]
impl Counter {
    adder!(add);

    #[handler]
    fn total(&self) -> u64 {
        self.total
    }
}

fn main() {}
