use std::rc::Rc;

use compaktor::prelude::*;

struct Counter {
    total: u64,
}

#[actor]
impl Counter {
    #[handler]
    fn total(&self) -> Rc<u64> {
        Rc::new(self.total)
    }
}

fn main() {}
