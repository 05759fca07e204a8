//! kameo, written as its README shows: `#[derive(Actor)]`, one message struct per message with
//! `impl Message<M> for Actor`, `tell(..).await` and `ask(..).await`. Spawned with a bounded
//! mailbox of 1024 like the others (kameo's default is 64).

use std::time::{Duration, Instant};

use ::kameo::prelude::*;
use tokio::sync::mpsc;

use crate::measure::{HeapProbe, Latencies, LatencyRecorder, SpawnSample};

const CAPACITY: usize = 1024;

#[derive(Actor)]
struct Counter {
    total: u64,
}

#[derive(Debug)]
struct Add(u64);
#[derive(Debug)]
struct Total;
#[derive(Debug)]
struct Echo(u64);

impl Message<Add> for Counter {
    type Reply = ();

    async fn handle(&mut self, Add(n): Add, _ctx: &mut Context<Self, Self::Reply>) {
        self.total += n;
    }
}

impl Message<Total> for Counter {
    type Reply = u64;

    async fn handle(&mut self, _: Total, _ctx: &mut Context<Self, Self::Reply>) -> u64 {
        self.total
    }
}

impl Message<Echo> for Counter {
    type Reply = u64;

    async fn handle(&mut self, Echo(n): Echo, _ctx: &mut Context<Self, Self::Reply>) -> u64 {
        n + 1
    }
}

fn new_counter() -> ActorRef<Counter> {
    Counter::spawn_with_mailbox(Counter { total: 0 }, mailbox::bounded(CAPACITY))
}

async fn stop<A: Actor>(actor: &ActorRef<A>) {
    actor.stop_gracefully().await.expect("the actor is running");
    actor.wait_for_shutdown().await;
}

pub async fn tell(n: u64) -> Duration {
    let counter = new_counter();
    let start = Instant::now();
    for i in 0..n {
        counter.tell(Add(i)).await.expect("the counter is running");
    }
    let total = counter.ask(Total).await.expect("the counter replies");
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
        let reply = counter.ask(Echo(i)).await.expect("the counter replies");
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
        sum += counter.ask(Echo(i as u64)).await.expect("replied");
    }
    let asked = start.elapsed();
    let idle = probe.sample();
    for counter in &actors {
        counter
            .stop_gracefully()
            .await
            .expect("the actor is running");
    }
    for counter in &actors {
        counter.wait_for_shutdown().await;
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
                    counter.tell(Add(1)).await.expect("the counter is running");
                }
            })
        })
        .collect();
    for sender in sending {
        sender.await.unwrap();
    }
    let total = counter.ask(Total).await.expect("the counter replies");
    let elapsed = start.elapsed();
    assert_eq!(total, senders as u64 * per_sender, "every tell was handled");
    stop(&counter).await;
    elapsed
}

#[derive(Actor)]
struct Node {
    index: usize,
    next: Option<ActorRef<Node>>,
    done: mpsc::UnboundedSender<usize>,
}

struct Link(ActorRef<Node>);
#[derive(Debug)]
struct Token(u64);

impl Message<Link> for Node {
    type Reply = ();

    async fn handle(&mut self, Link(next): Link, _ctx: &mut Context<Self, Self::Reply>) {
        self.next = Some(next);
    }
}

impl Message<Token> for Node {
    type Reply = ();

    async fn handle(&mut self, Token(left): Token, _ctx: &mut Context<Self, Self::Reply>) {
        if left == 0 {
            let _ = self.done.send(self.index);
        } else {
            let next = self.next.as_ref().expect("linked");
            next.tell(Token(left - 1))
                .await
                .expect("the next node is running");
        }
    }
}

pub async fn ring(actors: usize, hops: u64) -> Duration {
    let (done_tx, mut done) = mpsc::unbounded_channel();
    let nodes: Vec<ActorRef<Node>> = (0..actors)
        .map(|index| {
            let node = Node {
                index,
                next: None,
                done: done_tx.clone(),
            };
            Node::spawn_with_mailbox(node, mailbox::bounded(CAPACITY))
        })
        .collect();
    for (i, node) in nodes.iter().enumerate() {
        let next = nodes[(i + 1) % actors].clone();
        node.ask(Link(next)).await.expect("linked");
    }
    let start = Instant::now();
    nodes[0].tell(Token(hops)).await.expect("sent");
    let last = done.recv().await.expect("the token comes back");
    let elapsed = start.elapsed();
    assert_eq!(last, hops as usize % actors, "the token made every hop");
    for node in &nodes {
        stop(node).await;
    }
    elapsed
}
