use compaktor::prelude::*;

struct Counter {
    total: u64,
}

#[actor]
impl Counter {
    #[handler]
    fn add(&mut self, n: u64, ctx: &Context<Self>) {
        self.total += n;
        let _ = ctx;
    }
}

fn main() {}
