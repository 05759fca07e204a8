// One mistake (`&u64`), and nothing else reported: the sound handlers and hooks are still
// generated, so the rest of the program keeps compiling against them.
use compaktor::prelude::*;

struct Counter {
    total: u64,
}

#[actor]
impl Counter {
    #[on_start]
    fn start(&mut self, ctx: &mut Context<Self>) {
        let _ = ctx.id();
    }

    #[handler]
    fn add(&mut self, n: &u64) {
        self.total += *n;
    }

    #[handler]
    fn total(&self) -> u64 {
        self.total
    }
}

async fn run(system: ActorSystem) -> u64 {
    let counter: ActorRef<Counter> = system.spawn(Counter { total: 0 });
    counter.total().await.unwrap()
}

fn main() {
    let _ = run;
}
