//! actix, written as its docs show: `impl Actor` with `Context<Self>`, `#[derive(Message)]`
//! messages with `#[rtype]`, `impl Handler<M>`, `do_send` for tells (it ignores the mailbox
//! capacity: actix has no waiting tell) and `send(..).await` for asks, mailboxes set to 1024
//! (actix's default is 16). actix runs actors on its own single-threaded `System`, so it is
//! compared on the current-thread flavour, in a thread of its own.

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ::actix::prelude::*;
use tokio::sync::{mpsc, oneshot};

use crate::measure::{HeapProbe, Latencies, LatencyRecorder, SpawnSample};
use crate::{Bench, Sample, Sizes, Workload};

const CAPACITY: usize = 1024;

struct Counter {
    total: u64,
    /// Told when the actor has stopped (actix has no join handle for an actor).
    on_stopped: Option<oneshot::Sender<()>>,
}

impl Actor for Counter {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(CAPACITY);
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        if let Some(tx) = self.on_stopped.take() {
            let _ = tx.send(());
        }
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct Add(u64);

#[derive(Message)]
#[rtype(result = "u64")]
struct Total;

#[derive(Message)]
#[rtype(result = "u64")]
struct Echo(u64);

/// Stops the actor once the messages before it are handled.
#[derive(Message)]
#[rtype(result = "()")]
struct Stop;

impl Handler<Add> for Counter {
    type Result = ();

    fn handle(&mut self, Add(n): Add, _ctx: &mut Context<Self>) {
        self.total += n;
    }
}

impl Handler<Total> for Counter {
    type Result = u64;

    fn handle(&mut self, _: Total, _ctx: &mut Context<Self>) -> u64 {
        self.total
    }
}

impl Handler<Echo> for Counter {
    type Result = u64;

    fn handle(&mut self, Echo(n): Echo, _ctx: &mut Context<Self>) -> u64 {
        n + 1
    }
}

impl Handler<Stop> for Counter {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

fn new_counter() -> (Addr<Counter>, oneshot::Receiver<()>) {
    let (tx, rx) = oneshot::channel();
    let counter = Counter {
        total: 0,
        on_stopped: Some(tx),
    };
    (counter.start(), rx)
}

async fn stop((counter, stopped): (Addr<Counter>, oneshot::Receiver<()>)) {
    counter.do_send(Stop);
    stopped.await.expect("the counter stops");
}

pub async fn tell(n: u64) -> Duration {
    let counter = new_counter();
    let start = Instant::now();
    for i in 0..n {
        counter.0.do_send(Add(i));
    }
    let total = counter.0.send(Total).await.expect("the counter replies");
    let elapsed = start.elapsed();
    assert_eq!(total, n * (n - 1) / 2, "every tell was handled");
    stop(counter).await;
    elapsed
}

pub async fn ask(n: u64) -> Latencies {
    let counter = new_counter();
    let mut times = LatencyRecorder::with_capacity(n as usize);
    for i in 0..n {
        let start = Instant::now();
        let reply = counter.0.send(Echo(i)).await.expect("the counter replies");
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
        actors.push(new_counter());
    }
    let spawned = start.elapsed();
    let mut sum = 0u64;
    for (i, (counter, _)) in actors.iter().enumerate() {
        sum += counter.send(Echo(i as u64)).await.expect("replied");
    }
    let asked = start.elapsed();
    let idle = probe.sample();
    for (counter, _) in &actors {
        counter.do_send(Stop);
    }
    for (_, stopped) in actors.drain(..) {
        stopped.await.expect("the counter stops");
    }
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
            let counter = counter.0.clone();
            actix_rt::spawn(async move {
                for _ in 0..per_sender {
                    counter.do_send(Add(1));
                }
            })
        })
        .collect();
    for sender in sending {
        sender.await.unwrap();
    }
    let total = counter.0.send(Total).await.expect("the counter replies");
    let elapsed = start.elapsed();
    assert_eq!(total, senders as u64 * per_sender, "every tell was handled");
    stop(counter).await;
    elapsed
}

struct Node {
    index: usize,
    next: Option<Addr<Node>>,
    done: mpsc::UnboundedSender<usize>,
    on_stopped: Option<oneshot::Sender<()>>,
}

impl Actor for Node {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(CAPACITY);
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        if let Some(tx) = self.on_stopped.take() {
            let _ = tx.send(());
        }
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct Link(Addr<Node>);

#[derive(Message)]
#[rtype(result = "()")]
struct Token(u64);

impl Handler<Link> for Node {
    type Result = ();

    fn handle(&mut self, Link(next): Link, _ctx: &mut Context<Self>) {
        self.next = Some(next);
    }
}

impl Handler<Token> for Node {
    type Result = ();

    fn handle(&mut self, Token(left): Token, _ctx: &mut Context<Self>) {
        if left == 0 {
            let _ = self.done.send(self.index);
        } else {
            self.next.as_ref().expect("linked").do_send(Token(left - 1));
        }
    }
}

impl Handler<Stop> for Node {
    type Result = ();

    fn handle(&mut self, _: Stop, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

pub async fn ring(actors: usize, hops: u64) -> Duration {
    let (done_tx, mut done) = mpsc::unbounded_channel();
    let nodes: Vec<(Addr<Node>, oneshot::Receiver<()>)> = (0..actors)
        .map(|index| {
            let (tx, rx) = oneshot::channel();
            let node = Node {
                index,
                next: None,
                done: done_tx.clone(),
                on_stopped: Some(tx),
            };
            (node.start(), rx)
        })
        .collect();
    for (i, (node, _)) in nodes.iter().enumerate() {
        let next = nodes[(i + 1) % actors].0.clone();
        node.send(Link(next)).await.expect("linked");
    }
    let start = Instant::now();
    nodes[0].0.do_send(Token(hops));
    let last = done.recv().await.expect("the token comes back");
    let elapsed = start.elapsed();
    assert_eq!(last, hops as usize % actors, "the token made every hop");
    for (node, _) in &nodes {
        node.do_send(Stop);
    }
    for (_, stopped) in nodes {
        stopped.await.expect("the node stops");
    }
    elapsed
}

async fn run(workload: Workload, sizes: Sizes) -> Sample {
    match workload {
        Workload::Tell => Sample::Elapsed(tell(sizes.tells).await),
        Workload::Ask => Sample::Ask(ask(sizes.asks).await),
        Workload::Spawn => Sample::Spawn(spawn(sizes.spawns).await),
        Workload::FanIn => Sample::Elapsed(fan_in(sizes.fan_in_senders, sizes.fan_in_tells).await),
        Workload::Ring => Sample::Elapsed(ring(sizes.ring_actors, sizes.ring_hops).await),
    }
}

type Job = (Workload, Sizes, std::sync::mpsc::Sender<Sample>);

/// An actix `System` in a thread of its own, running the workloads it is sent.
pub struct OnSystem {
    jobs: Option<mpsc::UnboundedSender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl OnSystem {
    pub fn new() -> Self {
        let (jobs, mut queue) = mpsc::unbounded_channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("actix-system".into())
            .spawn(move || {
                actix_rt::System::new().block_on(async move {
                    while let Some((workload, sizes, reply)) = queue.recv().await {
                        let _ = reply.send(run(workload, sizes).await);
                    }
                });
            })
            .expect("a thread for actix");
        OnSystem {
            jobs: Some(jobs),
            thread: Some(thread),
        }
    }
}

impl Bench for OnSystem {
    fn run(&mut self, workload: Workload, sizes: Sizes) -> Sample {
        let (reply, sample) = std::sync::mpsc::channel();
        let sent = self
            .jobs
            .as_ref()
            .is_some_and(|jobs| jobs.send((workload, sizes, reply)).is_ok());
        match sent.then(|| sample.recv().ok()).flatten() {
            Some(sample) => sample,
            // The system's thread ended: a workload panicked there. Pass the panic on.
            None => match self.thread.take().map(JoinHandle::join) {
                Some(Err(panic)) => std::panic::resume_unwind(panic),
                _ => panic!("the actix system stopped"),
            },
        }
    }
}

impl Drop for OnSystem {
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
