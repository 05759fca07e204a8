//! A counter actor: tells that change state, asks that read it, a typed error from a handler,
//! a timeout, and the poison pill that lets queued messages finish first.
//!
//! Run it with `cargo run --example counter`.

use std::time::Duration;

use compaktor::prelude::*;

struct Counter {
    total: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot divide by zero")]
struct DivByZero;

#[actor(mailbox = 64)]
impl Counter {
    /// Adds `n`. Returns nothing, so calling it is a tell.
    #[handler]
    async fn add(&mut self, n: u64) {
        self.total += n;
    }

    /// The total so far. Returns a value, so calling it is an ask.
    #[handler]
    fn total(&self) -> u64 {
        self.total
    }

    /// Divides the total; dividing by zero is an error the asker gets back.
    #[handler]
    fn div(&self, by: u64) -> Result<u64, DivByZero> {
        self.total.checked_div(by).ok_or(DivByZero)
    }

    /// Takes its time, to show a timeout.
    #[handler]
    async fn slow_total(&self) -> u64 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        self.total
    }

    #[on_stop]
    fn goodbye(&mut self, reason: &StopReason) {
        println!("counter stops at {} ({reason})", self.total);
    }
}

fn main() -> std::process::ExitCode {
    // An error prints as its one-line message (`error: …`), with the exit code 1.
    compaktor_pi::firmware::exit(|| tokio::runtime::Runtime::new()?.block_on(count()))
}

async fn count() -> Result<(), Box<dyn std::error::Error>> {
    let system = ActorSystem::new("counter");
    let counter: ActorRef<Counter> = system.spawn(Counter { total: 0 });

    for n in 1..=10 {
        counter.add(n).await?; // queued
    }
    println!("1 + 2 + ... + 10 = {}", counter.total().await?);

    counter.add(5).ask().await?; // queued and handled before this returns
    println!("after adding 5:   {}", counter.total().await?);

    println!("total / 4       = {}", counter.div(4).await?);
    match counter.div(0).await {
        Err(AskError::Handler(e)) => println!("total / 0       -> error from the handler: {e}"),
        other => println!("total / 0       -> unexpected: {other:?}"),
    }

    match counter
        .slow_total()
        .timeout(Duration::from_millis(20))
        .await
    {
        Err(e @ AskError::Timeout { .. }) => println!("slow ask        -> {e}"),
        other => println!("slow ask        -> {other:?}"),
    }

    for _ in 0..3 {
        counter.add(100).await?; // still queued when the pill is sent
    }
    counter.stop();
    println!("queued 3 more adds, then the poison pill");
    let reason = counter.stopped().await;
    println!(
        "stopped: {reason}; dead letters: {}",
        system.dead_letter_count()
    );
    Ok(())
}
