use compaktor::prelude::*;

struct Counter {
    total: u64,
}

#[actor]
impl Counter {
    #[handler]
    fn add_one(&mut self) {
        self.total += 1;
    }

    #[handler]
    fn add__one(&mut self) {
        self.total += 1;
    }
}

fn main() {}
