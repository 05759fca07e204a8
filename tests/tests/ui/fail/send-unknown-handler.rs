use compaktor::prelude::*;

struct Counter {
    total: u64,
}

#[actor]
impl Counter {
    #[handler]
    fn add(&mut self, n: u64) {
        self.total += n;
    }
}

async fn run(counter: ActorRef<Counter>) {
    counter.subtract(1).await.unwrap();
}

fn main() {
    let _ = run;
}
