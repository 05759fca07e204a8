//! xtra, written as its examples show: `#[derive(xtra::Actor)]`, `impl Handler<M>`, a bounded
//! mailbox of 1024, `send(..).detach().await` for tells (it resolves once the message is
//! queued, with a receiver for the handler's result, which a tell drops at once) and
//! `send(..).await` for asks. An xtra actor stops itself (`Context::stop_self`);
//! `Address::join` waits for it.
//!
//! xtra 0.6.0 does not keep the send order of messages of equal priority, although its docs
//! say it does: its queue is a `BinaryHeap` keyed on the priority alone. So a `Total` ask sent
//! after the tells can be handled before some of them; [`settled_total`] asks again until every
//! tell has been counted (a handful of extra asks at the end of a batch).

use std::time::{Duration, Instant};

use ::xtra::prelude::*;
use tokio::sync::mpsc;

use crate::measure::{HeapProbe, Latencies, LatencyRecorder, SpawnSample};

const CAPACITY: usize = 1024;

#[derive(::xtra::Actor)]
struct Counter {
    total: u64,
}

struct Add(u64);
struct Total;
struct Echo(u64);
/// Asks an actor to stop once the messages before it are handled.
struct Stop;

impl Handler<Add> for Counter {
    type Return = ();

    async fn handle(&mut self, Add(n): Add, _ctx: &mut Context<Self>) {
        self.total += n;
    }
}

impl Handler<Total> for Counter {
    type Return = u64;

    async fn handle(&mut self, _: Total, _ctx: &mut Context<Self>) -> u64 {
        self.total
    }
}

impl Handler<Echo> for Counter {
    type Return = u64;

    async fn handle(&mut self, Echo(n): Echo, _ctx: &mut Context<Self>) -> u64 {
        n + 1
    }
}

impl Handler<Stop> for Counter {
    type Return = ();

    async fn handle(&mut self, _: Stop, ctx: &mut Context<Self>) {
        ctx.stop_self();
    }
}

fn new_counter() -> Address<Counter> {
    ::xtra::spawn_tokio(Counter { total: 0 }, Mailbox::bounded(CAPACITY))
}

/// The counter's total once it reaches `expected` (see the module docs for why one ask is not
/// enough with xtra).
async fn settled_total(counter: &Address<Counter>, expected: u64) -> u64 {
    loop {
        let total = counter.send(Total).await.expect("the counter replies");
        if total >= expected {
            return total;
        }
        tokio::task::yield_now().await;
    }
}

async fn stop<A: Handler<Stop, Return = ()>>(actor: &Address<A>) {
    drop(
        actor
            .send(Stop)
            .detach()
            .await
            .expect("the actor is running"),
    );
    actor.join().await;
}

pub async fn tell(n: u64) -> Duration {
    let counter = new_counter();
    let start = Instant::now();
    for i in 0..n {
        drop(
            counter
                .send(Add(i))
                .detach()
                .await
                .expect("the counter is running"),
        );
    }
    let total = settled_total(&counter, n * (n - 1) / 2).await;
    let elapsed = start.elapsed();
    assert_eq!(total, n * (n - 1) / 2, "every tell was handled");
    stop(&counter).await;
    elapsed
}

pub async fn ask(n: u64) -> Latencies {
    let counter = new_counter();
    let mut times = LatencyRecorder::with_capacity(n as usize);
    for i in 0..n {
        let start = Instant::now();
        let reply = counter.send(Echo(i)).await.expect("the counter replies");
        times.record(start.elapsed());
        assert_eq!(reply, i + 1);
    }
    stop(&counter).await;
    times.finish()
}

pub async fn spawn(n: usize) -> SpawnSample {
    let mut actors = Vec::with_capacity(n);
    let probe = HeapProbe::start();
    let start = Instant::now();
    for _ in 0..n {
        actors.push(new_counter());
    }
    let spawned = start.elapsed();
    let mut sum = 0u64;
    for (i, counter) in actors.iter().enumerate() {
        sum += counter.send(Echo(i as u64)).await.expect("replied");
    }
    let asked = start.elapsed();
    let idle = probe.sample();
    for counter in &actors {
        drop(
            counter
                .send(Stop)
                .detach()
                .await
                .expect("the actor is running"),
        );
    }
    for counter in &actors {
        counter.join().await;
    }
    drop(actors);
    let elapsed = start.elapsed();
    let end = probe.sample();
    assert_eq!(sum, (n as u64) * (n as u64 + 1) / 2, "every actor answered");
    SpawnSample::new([spawned, asked, elapsed], idle, end, n)
}

pub async fn fan_in(senders: usize, per_sender: u64) -> Duration {
    let counter = new_counter();
    let start = Instant::now();
    let sending: Vec<_> = (0..senders)
        .map(|_| {
            let counter = counter.clone();
            tokio::spawn(async move {
                for _ in 0..per_sender {
                    drop(
                        counter
                            .send(Add(1))
                            .detach()
                            .await
                            .expect("the counter is running"),
                    );
                }
            })
        })
        .collect();
    for sender in sending {
        sender.await.unwrap();
    }
    let total = settled_total(&counter, senders as u64 * per_sender).await;
    let elapsed = start.elapsed();
    assert_eq!(total, senders as u64 * per_sender, "every tell was handled");
    stop(&counter).await;
    elapsed
}

#[derive(::xtra::Actor)]
struct Node {
    index: usize,
    next: Option<Address<Node>>,
    done: mpsc::UnboundedSender<usize>,
}

struct Link(Address<Node>);
struct Token(u64);

impl Handler<Link> for Node {
    type Return = ();

    async fn handle(&mut self, Link(next): Link, _ctx: &mut Context<Self>) {
        self.next = Some(next);
    }
}

impl Handler<Token> for Node {
    type Return = ();

    async fn handle(&mut self, Token(left): Token, _ctx: &mut Context<Self>) {
        if left == 0 {
            let _ = self.done.send(self.index);
        } else {
            let next = self.next.as_ref().expect("linked");
            drop(
                next.send(Token(left - 1))
                    .detach()
                    .await
                    .expect("the next node is running"),
            );
        }
    }
}

impl Handler<Stop> for Node {
    type Return = ();

    async fn handle(&mut self, _: Stop, ctx: &mut Context<Self>) {
        ctx.stop_self();
    }
}

pub async fn ring(actors: usize, hops: u64) -> Duration {
    let (done_tx, mut done) = mpsc::unbounded_channel();
    let nodes: Vec<Address<Node>> = (0..actors)
        .map(|index| {
            let node = Node {
                index,
                next: None,
                done: done_tx.clone(),
            };
            ::xtra::spawn_tokio(node, Mailbox::bounded(CAPACITY))
        })
        .collect();
    for (i, node) in nodes.iter().enumerate() {
        node.send(Link(nodes[(i + 1) % actors].clone()))
            .await
            .expect("linked");
    }
    let start = Instant::now();
    drop(nodes[0].send(Token(hops)).detach().await.expect("sent"));
    let last = done.recv().await.expect("the token comes back");
    let elapsed = start.elapsed();
    assert_eq!(last, hops as usize % actors, "the token made every hop");
    for node in &nodes {
        stop(node).await;
    }
    elapsed
}
