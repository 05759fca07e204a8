use std::rc::Rc;

use compaktor::prelude::*;

struct Counter {
    total: Rc<u64>,
}

#[actor]
impl Counter {
    #[handler]
    fn total(&self) -> u64 {
        *self.total
    }
}

fn main() {}
