use compaktor::prelude::*;

struct Other;

#[actor]
impl Other {}

struct Counter {
    total: u64,
}

#[actor]
impl Counter {
    #[handler]
    fn add(&mut self, n: u64, ctx: &mut Context<Other>) {
        self.total += n;
        let _ = ctx;
    }
}

fn main() {}
