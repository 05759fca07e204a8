#![deny(warnings)]
//! `&'static` data lives as long as any message: handlers may take and return it.

use compaktor::prelude::*;

struct Greeter;

#[actor]
impl Greeter {
    #[handler]
    fn greet(&self, name: &'static str) -> &'static str {
        if name.is_empty() { "hello, nobody" } else { "hello" }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let system = ActorSystem::new("ui");
    let greeter = system.spawn(Greeter);
    assert_eq!(greeter.greet("robot").await.unwrap(), "hello");
}
