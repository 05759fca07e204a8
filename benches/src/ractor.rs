//! ractor, written as its docs show: an `Actor` impl with `Msg`/`State`/`Arguments`, a message
//! enum whose asks carry an `RpcReplyPort`, `cast` for tells and `call!` for asks. ractor's
//! mailboxes are unbounded (it has no bounded option), so its tells never wait.

use std::time::{Duration, Instant};

use ::ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort, call};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::measure::{HeapProbe, Latencies, LatencyRecorder, SpawnSample};

struct Counter;

enum CounterMsg {
    Add(u64),
    Total(RpcReplyPort<u64>),
    Echo(u64, RpcReplyPort<u64>),
}

impl Actor for Counter {
    type Msg = CounterMsg;
    type State = u64;
    type Arguments = ();

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        _: (),
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(0)
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        total: &mut u64,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            CounterMsg::Add(n) => *total += n,
            CounterMsg::Total(reply) => {
                let _ = reply.send(*total);
            }
            CounterMsg::Echo(n, reply) => {
                let _ = reply.send(n + 1);
            }
        }
        Ok(())
    }
}

async fn new_counter() -> (ActorRef<CounterMsg>, JoinHandle<()>) {
    Actor::spawn(None, Counter, ())
        .await
        .expect("the counter starts")
}

async fn stop<M>((actor, handle): (ActorRef<M>, JoinHandle<()>)) {
    actor.stop(None);
    handle.await.expect("the actor stops cleanly");
}

pub async fn tell(n: u64) -> Duration {
    let counter = new_counter().await;
    let start = Instant::now();
    for i in 0..n {
        counter
            .0
            .cast(CounterMsg::Add(i))
            .expect("the counter is running");
    }
    let total = call!(counter.0, CounterMsg::Total).expect("the counter replies");
    let elapsed = start.elapsed();
    assert_eq!(total, n * (n - 1) / 2, "every tell was handled");
    stop(counter).await;
    elapsed
}

pub async fn ask(n: u64) -> Latencies {
    let counter = new_counter().await;
    let mut times = LatencyRecorder::with_capacity(n as usize);
    for i in 0..n {
        let start = Instant::now();
        let reply = call!(counter.0, CounterMsg::Echo, i).expect("the counter replies");
        times.record(start.elapsed());
        assert_eq!(reply, i + 1);
    }
    stop(counter).await;
    times.finish()
}

pub async fn spawn(n: usize) -> SpawnSample {
    let mut actors = Vec::with_capacity(n);
    let probe = HeapProbe::start();
    let start = Instant::now();
    for _ in 0..n {
        actors.push(new_counter().await);
    }
    let spawned = start.elapsed();
    let mut sum = 0u64;
    for (i, (counter, _)) in actors.iter().enumerate() {
        sum += call!(counter, CounterMsg::Echo, i as u64).expect("replied");
    }
    let asked = start.elapsed();
    let idle = probe.sample();
    for (counter, _) in &actors {
        counter.stop(None);
    }
    for (_, handle) in actors.drain(..) {
        handle.await.expect("the actor stops cleanly");
    }
    let elapsed = start.elapsed();
    let end = probe.sample();
    assert_eq!(sum, (n as u64) * (n as u64 + 1) / 2, "every actor answered");
    SpawnSample::new([spawned, asked, elapsed], idle, end, n)
}

pub async fn fan_in(senders: usize, per_sender: u64) -> Duration {
    let counter = new_counter().await;
    let start = Instant::now();
    let sending: Vec<_> = (0..senders)
        .map(|_| {
            let counter = counter.0.clone();
            tokio::spawn(async move {
                for _ in 0..per_sender {
                    counter
                        .cast(CounterMsg::Add(1))
                        .expect("the counter is running");
                }
            })
        })
        .collect();
    for sender in sending {
        sender.await.unwrap();
    }
    let total = call!(counter.0, CounterMsg::Total).expect("the counter replies");
    let elapsed = start.elapsed();
    assert_eq!(total, senders as u64 * per_sender, "every tell was handled");
    stop(counter).await;
    elapsed
}

struct Node;

struct NodeState {
    index: usize,
    next: Option<ActorRef<NodeMsg>>,
    done: mpsc::UnboundedSender<usize>,
}

enum NodeMsg {
    Link(ActorRef<NodeMsg>, RpcReplyPort<()>),
    Token(u64),
}

impl Actor for Node {
    type Msg = NodeMsg;
    type State = NodeState;
    type Arguments = (usize, mpsc::UnboundedSender<usize>);

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        (index, done): Self::Arguments,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(NodeState {
            index,
            next: None,
            done,
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: Self::Msg,
        state: &mut NodeState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            NodeMsg::Link(next, reply) => {
                state.next = Some(next);
                let _ = reply.send(());
            }
            NodeMsg::Token(0) => {
                let _ = state.done.send(state.index);
            }
            NodeMsg::Token(left) => {
                let next = state.next.as_ref().expect("linked");
                next.cast(NodeMsg::Token(left - 1))?;
            }
        }
        Ok(())
    }
}

pub async fn ring(actors: usize, hops: u64) -> Duration {
    let (done_tx, mut done) = mpsc::unbounded_channel();
    let mut nodes = Vec::with_capacity(actors);
    for index in 0..actors {
        let node = Actor::spawn(None, Node, (index, done_tx.clone()))
            .await
            .expect("the node starts");
        nodes.push(node);
    }
    for (i, (node, _)) in nodes.iter().enumerate() {
        let next = nodes[(i + 1) % actors].0.clone();
        call!(node, NodeMsg::Link, next).expect("linked");
    }
    let start = Instant::now();
    nodes[0].0.cast(NodeMsg::Token(hops)).expect("sent");
    let last = done.recv().await.expect("the token comes back");
    let elapsed = start.elapsed();
    assert_eq!(last, hops as usize % actors, "the token made every hop");
    for node in nodes {
        stop(node).await;
    }
    elapsed
}
