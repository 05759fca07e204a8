//! Runtime overhead of CompAktor against a hand-written tokio actor.
//!
//! Each group pairs a CompAktor actor with the "raw" actor people write by hand: a bounded
//! `tokio::sync::mpsc` channel of the same capacity as CompAktor's default mailbox (1024), an
//! enum message, `tokio::sync::oneshot` for replies and a `while let Some(m) = rx.recv().await`
//! loop. Both run on the same tokio multi-thread runtime (2 workers, built once), and the
//! measuring loop itself runs as a task on that runtime, as a calling actor would.
//!
//! - `tell`: 10 000 tells to one actor, then one ask whose sum proves they were all handled;
//! - `ask`: one ask round trip;
//! - `spawn`: spawn an actor, ask it once, stop it and wait until it is gone;
//! - `supervised_tell`: the `tell` workload for a CompAktor actor spawned as a supervised child
//!   (`ctx.child(..)`, fetched with `system.lookup`) against the same actor spawned top-level
//!   (`system.spawn`): what supervision costs on the hot path (target: under 5%).
//! - `routed_ask`: 1 000 concurrent asks (`join_all`, all in flight) to one actor against the
//!   same asks through a pool of 4 workers per routing kind (round-robin, random, balancing),
//!   with the same trivial handler: what routing costs, and what workers running in parallel
//!   on the runtime's 2 threads give back.
//! - `health`: one `system.health()` report over 1 000 and 10 000 actors, all busy in a
//!   handler (the case that was quadratic), as a robot's monitor would take every 100 ms.
//!
//! Run with `cargo bench -p compaktor` (about two minutes on two cores).
#![allow(missing_docs)]

use std::future::{Future, IntoFuture};
use std::hint::black_box;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use compaktor::prelude::*;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures::future::join_all;
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, oneshot};

/// Tells per iteration of the `tell` benchmarks.
const TELLS: u64 = 10_000;
/// CompAktor's default mailbox, which the raw actor's channel matches.
const CAPACITY: usize = 1024;
/// Concurrent asks per iteration of the `routed_ask` benchmarks (within one mailbox).
const ROUTED_ASKS: u64 = 1_000;
/// Workers in each pool of the `routed_ask` benchmarks.
const POOL_SIZE: usize = 4;

fn runtime() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("the benchmark runtime")
    })
}

/// Runs `measure(iters)` as a task on the shared runtime and returns the time it measured.
fn on_runtime<F, Fut>(iters: u64, measure: F) -> Duration
where
    F: FnOnce(u64) -> Fut,
    Fut: Future<Output = Duration> + Send + 'static,
{
    let rt = runtime();
    rt.block_on(rt.spawn(measure(iters)))
        .expect("the benchmark task panicked")
}

// ---------------------------------------------------------------------------------------------
// CompAktor

struct Counter {
    total: u64,
}

#[actor]
impl Counter {
    #[handler]
    fn add(&mut self, n: u64) {
        self.total += n;
    }

    #[handler]
    fn total(&self) -> u64 {
        self.total
    }
}

/// Supervises one `Counter`, at `/parent/counter`.
struct Parent;

#[actor]
impl Parent {
    #[on_start]
    async fn start(&mut self, ctx: &mut Context<Self>) -> Result<(), SpawnError> {
        ctx.child(|| Counter { total: 0 })
            .name("counter")
            .start()
            .await?;
        Ok(())
    }
}

/// Sends `TELLS` tells to `counter`, then asks for the total, `iters` times; the time it took.
async fn tell_workload(counter: &ActorRef<Counter>, iters: u64) -> Duration {
    let start = Instant::now();
    for i in 1..=iters {
        for _ in 0..TELLS {
            counter.add(black_box(1)).await.expect("tell");
        }
        let total = counter.total().await.expect("ask");
        assert_eq!(total, i * TELLS);
    }
    start.elapsed()
}

/// The trivial handler that `routed_ask` asks, alone or in a pool.
struct Echo;

#[actor]
impl Echo {
    #[handler]
    fn echo(&self, #[key] n: u64) -> u64 {
        n
    }
}

/// Sends `ROUTED_ASKS` asks to `target` at once and awaits them all, `iters` times; the time
/// it took.
async fn routed_workload(target: &ActorRef<Echo>, iters: u64) -> Duration {
    let start = Instant::now();
    for _ in 0..iters {
        let asks = (0..ROUTED_ASKS).map(|n| target.echo(black_box(n)).into_future());
        let sum: u64 = join_all(asks)
            .await
            .into_iter()
            .map(|answer| answer.expect("ask"))
            .sum();
        assert_eq!(sum, ROUTED_ASKS * (ROUTED_ASKS - 1) / 2);
    }
    start.elapsed()
}

// ---------------------------------------------------------------------------------------------
// The hand-written tokio actor

enum RawMessage {
    Add(u64),
    Total(oneshot::Sender<u64>),
}

async fn raw_counter(mut rx: mpsc::Receiver<RawMessage>) {
    let mut total = 0u64;
    while let Some(message) = rx.recv().await {
        match message {
            RawMessage::Add(n) => total += n,
            RawMessage::Total(reply) => {
                let _ = reply.send(total);
            }
        }
    }
}

fn raw_spawn() -> (mpsc::Sender<RawMessage>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = mpsc::channel(CAPACITY);
    (tx, tokio::spawn(raw_counter(rx)))
}

async fn raw_total(tx: &mpsc::Sender<RawMessage>) -> u64 {
    let (reply, rx) = oneshot::channel();
    tx.send(RawMessage::Total(reply))
        .await
        .expect("the raw actor is running");
    rx.await.expect("the raw actor replies")
}

// ---------------------------------------------------------------------------------------------
// Benchmarks

fn tell(c: &mut Criterion) {
    let mut group = c.benchmark_group("tell");
    group.throughput(Throughput::Elements(TELLS));
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(6));

    group.bench_function("compaktor", |b| {
        b.iter_custom(|iters| {
            on_runtime(iters, |iters| async move {
                let system = ActorSystem::new("bench");
                let counter = system.spawn(Counter { total: 0 });
                let elapsed = tell_workload(&counter, iters).await;
                counter.stop();
                counter.stopped().await;
                elapsed
            })
        });
    });

    group.bench_function("raw_tokio", |b| {
        b.iter_custom(|iters| {
            on_runtime(iters, |iters| async move {
                let (tx, task) = raw_spawn();
                let start = Instant::now();
                for i in 1..=iters {
                    for _ in 0..TELLS {
                        tx.send(RawMessage::Add(black_box(1)))
                            .await
                            .expect("the raw actor is running");
                    }
                    assert_eq!(raw_total(&tx).await, i * TELLS);
                }
                let elapsed = start.elapsed();
                drop(tx);
                task.await.expect("the raw actor ends");
                elapsed
            })
        });
    });

    group.finish();
}

fn ask(c: &mut Criterion) {
    let mut group = c.benchmark_group("ask");
    group.throughput(Throughput::Elements(1));

    group.bench_function("compaktor", |b| {
        b.iter_custom(|iters| {
            on_runtime(iters, |iters| async move {
                let system = ActorSystem::new("bench");
                let counter = system.spawn(Counter { total: 7 });
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(counter.total().await.expect("ask"));
                }
                let elapsed = start.elapsed();
                counter.stop();
                counter.stopped().await;
                elapsed
            })
        });
    });

    group.bench_function("raw_tokio", |b| {
        b.iter_custom(|iters| {
            on_runtime(iters, |iters| async move {
                let (tx, task) = raw_spawn();
                let start = Instant::now();
                for _ in 0..iters {
                    black_box(raw_total(&tx).await);
                }
                let elapsed = start.elapsed();
                drop(tx);
                task.await.expect("the raw actor ends");
                elapsed
            })
        });
    });

    group.finish();
}

fn spawn(c: &mut Criterion) {
    let mut group = c.benchmark_group("spawn");
    group.throughput(Throughput::Elements(1));

    group.bench_function("compaktor", |b| {
        b.iter_custom(|iters| {
            on_runtime(iters, |iters| async move {
                let system = ActorSystem::new("bench");
                let start = Instant::now();
                for _ in 0..iters {
                    let counter = system.spawn(Counter { total: 7 });
                    black_box(counter.total().await.expect("ask"));
                    counter.stop();
                    assert_eq!(counter.stopped().await, StopReason::Stopped);
                }
                start.elapsed()
            })
        });
    });

    group.bench_function("raw_tokio", |b| {
        b.iter_custom(|iters| {
            on_runtime(iters, |iters| async move {
                let start = Instant::now();
                for _ in 0..iters {
                    let (tx, task) = raw_spawn();
                    black_box(raw_total(&tx).await);
                    drop(tx);
                    task.await.expect("the raw actor ends");
                }
                start.elapsed()
            })
        });
    });

    group.finish();
}

fn supervised_tell(c: &mut Criterion) {
    let mut group = c.benchmark_group("supervised_tell");
    group.throughput(Throughput::Elements(TELLS));
    group.sample_size(30);
    group.measurement_time(Duration::from_secs(6));

    group.bench_function("unsupervised", |b| {
        b.iter_custom(|iters| {
            on_runtime(iters, |iters| async move {
                let system = ActorSystem::new("bench");
                let counter = system.spawn(Counter { total: 0 });
                let elapsed = tell_workload(&counter, iters).await;
                counter.stop();
                counter.stopped().await;
                elapsed
            })
        });
    });

    group.bench_function("supervised", |b| {
        b.iter_custom(|iters| {
            on_runtime(iters, |iters| async move {
                let system = ActorSystem::new("bench");
                let parent = system
                    .builder(Parent)
                    .name("parent")
                    .start()
                    .await
                    .expect("the parent starts with its child");
                let counter = system
                    .lookup::<Counter>("/parent/counter")
                    .expect("the supervised counter");
                let elapsed = tell_workload(&counter, iters).await;
                parent.stop(); // stops the child first
                parent.stopped().await;
                assert!(!counter.is_alive());
                elapsed
            })
        });
    });

    group.finish();
}

fn routed_ask(c: &mut Criterion) {
    let mut group = c.benchmark_group("routed_ask");
    group.throughput(Throughput::Elements(ROUTED_ASKS));
    group.sample_size(20);
    group.measurement_time(Duration::from_secs(4));

    group.bench_function("single_actor", |b| {
        b.iter_custom(|iters| {
            on_runtime(iters, |iters| async move {
                let system = ActorSystem::new("bench");
                let echo = system.spawn(Echo);
                let elapsed = routed_workload(&echo, iters).await;
                echo.stop();
                echo.stopped().await;
                elapsed
            })
        });
    });

    for (name, routing) in [
        ("pool_round_robin", Routing::RoundRobin),
        ("pool_random", Routing::Random),
        ("pool_balancing", Routing::Balancing),
        ("pool_consistent_hash", Routing::ConsistentHash),
    ] {
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                on_runtime(iters, move |iters| async move {
                    let system = ActorSystem::new("bench");
                    let pool = system
                        .pool(POOL_SIZE, || Echo)
                        .routing(routing)
                        .spawn()
                        .expect("the pool starts");
                    let elapsed = routed_workload(&pool, iters).await;
                    pool.stop(); // stops the workers first
                    pool.stopped().await;
                    elapsed
                })
            });
        });
    }

    group.finish();
}

/// Busy in `hold` until the system's runtime ends.
struct Busy;

#[actor]
impl Busy {
    #[handler]
    async fn hold(&self) {
        std::future::pending::<()>().await;
    }
}

fn health(c: &mut Criterion) {
    let mut group = c.benchmark_group("health");
    for actors in [1_000u64, 10_000] {
        group.throughput(Throughput::Elements(actors));
        let system = runtime().block_on(async {
            let system = ActorSystem::new("bench");
            for _ in 0..actors {
                system.spawn(Busy).hold().await.expect("queued");
            }
            // Every actor is in its handler before measuring.
            while system.health().iter().any(|h| h.in_handler_for.is_none()) {
                tokio::task::yield_now().await;
            }
            system
        });
        group.bench_function(format!("busy_{actors}"), |b| {
            b.iter(|| black_box(system.health().len()));
        });
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(5))
        .configure_from_args()
}

criterion_group! {
    name = benches;
    config = config();
    targets = tell, ask, spawn, supervised_tell, routed_ask, health
}
criterion_main!(benches);
