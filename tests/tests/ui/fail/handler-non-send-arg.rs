use std::rc::Rc;

use compaktor::prelude::*;

struct Counter {
    total: u64,
}

#[actor]
impl Counter {
    #[handler]
    fn add(&mut self, n: Rc<u8>) {
        self.total += u64::from(*n);
    }
}

fn main() {}
