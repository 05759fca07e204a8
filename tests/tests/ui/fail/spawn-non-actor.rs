use compaktor::prelude::*;

struct Counter {
    total: u64,
}

impl Counter {
    fn add(&mut self, n: u64) {
        self.total += n;
    }
}

fn run(system: &ActorSystem) {
    let _counter = system.spawn(Counter { total: 0 });
}

fn main() {
    let _ = (run, Counter::add);
}
