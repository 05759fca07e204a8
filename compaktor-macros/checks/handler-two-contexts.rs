use compaktor::prelude::*;

struct Counter {
    total: u64,
}

#[actor]
impl Counter {
    #[handler]
    fn add(&mut self, ctx: &mut Context<Self>, n: u64, again: &mut Context<Self>) {
        self.total += n;
        let _ = (ctx, again);
    }
}

fn main() {}
