//! CompAktor, written as its README shows: an `impl` block with `#[actor]`, `#[handler]`
//! methods; a unit handler is a tell, a value handler an ask. `bounded` uses the default mailbox
//! (bounded, 1024), `unbounded` `#[actor(mailbox = unbounded)]`.

/// The actors and the five workloads, with `$mailbox` as the `#[actor(..)]` options.
macro_rules! adapter {
    ($($mailbox:tt)*) => {
        use std::time::{Duration, Instant};

        use ::compaktor::prelude::*;
        use tokio::sync::mpsc;

        use crate::measure::{HeapProbe, Latencies, LatencyRecorder, SpawnSample};

        struct Counter {
            total: u64,
        }

        #[actor($($mailbox)*)]
        impl Counter {
            #[handler]
            fn add(&mut self, n: u64) {
                self.total += n;
            }

            #[handler]
            fn total(&self) -> u64 {
                self.total
            }

            #[handler]
            fn echo(&self, n: u64) -> u64 {
                n + 1
            }
        }

        fn new_counter(system: &ActorSystem) -> ActorRef<Counter> {
            system.spawn(Counter { total: 0 })
        }

        async fn stop(actor: &ActorRef<impl Actor>) {
            actor.stop();
            assert_eq!(actor.stopped().await, StopReason::Stopped);
        }

        pub async fn tell(n: u64) -> Duration {
            let system = ActorSystem::new("tell");
            let counter = new_counter(&system);
            let start = Instant::now();
            for i in 0..n {
                counter.add(i).await.expect("the counter is running");
            }
            let total = counter.total().await.expect("the counter replies");
            let elapsed = start.elapsed();
            assert_eq!(total, n * (n - 1) / 2, "every tell was handled");
            stop(&counter).await;
            elapsed
        }

        pub async fn ask(n: u64) -> Latencies {
            let system = ActorSystem::new("ask");
            let counter = new_counter(&system);
            let mut times = LatencyRecorder::with_capacity(n as usize);
            for i in 0..n {
                let start = Instant::now();
                let reply = counter.echo(i).await.expect("the counter replies");
                times.record(start.elapsed());
                assert_eq!(reply, i + 1);
            }
            stop(&counter).await;
            times.finish()
        }

        pub async fn spawn(n: usize) -> SpawnSample {
            let system = ActorSystem::new("spawn");
            let mut actors = Vec::with_capacity(n);
            let probe = HeapProbe::start();
            let start = Instant::now();
            for _ in 0..n {
                actors.push(new_counter(&system));
            }
            let spawned = start.elapsed();
            let mut sum = 0u64;
            for (i, counter) in actors.iter().enumerate() {
                sum += counter.echo(i as u64).await.expect("replied");
            }
            let asked = start.elapsed();
            let idle = probe.sample();
            for counter in &actors {
                counter.stop();
            }
            for counter in &actors {
                assert_eq!(counter.stopped().await, StopReason::Stopped);
            }
            drop(actors);
            let elapsed = start.elapsed();
            let end = probe.sample();
            assert_eq!(sum, (n as u64) * (n as u64 + 1) / 2, "every actor answered");
            assert_eq!(system.live_actors(), 0);
            SpawnSample::new([spawned, asked, elapsed], idle, end, n)
        }

        pub async fn fan_in(senders: usize, per_sender: u64) -> Duration {
            let system = ActorSystem::new("fan-in");
            let counter = new_counter(&system);
            let start = Instant::now();
            let sending: Vec<_> = (0..senders)
                .map(|_| {
                    let counter = counter.clone();
                    tokio::spawn(async move {
                        for _ in 0..per_sender {
                            counter.add(1).await.expect("the counter is running");
                        }
                    })
                })
                .collect();
            for sender in sending {
                sender.await.unwrap();
            }
            let total = counter.total().await.expect("the counter replies");
            let elapsed = start.elapsed();
            assert_eq!(total, senders as u64 * per_sender, "every tell was handled");
            stop(&counter).await;
            elapsed
        }

        struct Node {
            index: usize,
            next: Option<ActorRef<Node>>,
            done: mpsc::UnboundedSender<usize>,
        }

        #[actor($($mailbox)*)]
        impl Node {
            #[handler]
            fn link(&mut self, next: ActorRef<Node>) {
                self.next = Some(next);
            }

            #[handler]
            async fn token(&mut self, left: u64) {
                if left == 0 {
                    let _ = self.done.send(self.index);
                } else {
                    let next = self.next.as_ref().expect("linked");
                    next.token(left - 1)
                        .await
                        .expect("the next node is running");
                }
            }
        }

        pub async fn ring(actors: usize, hops: u64) -> Duration {
            let system = ActorSystem::new("ring");
            let (done_tx, mut done) = mpsc::unbounded_channel();
            let nodes: Vec<ActorRef<Node>> = (0..actors)
                .map(|index| {
                    system.spawn(Node {
                        index,
                        next: None,
                        done: done_tx.clone(),
                    })
                })
                .collect();
            for (i, node) in nodes.iter().enumerate() {
                node.link(nodes[(i + 1) % actors].clone())
                    .await
                    .expect("linked");
            }
            let start = Instant::now();
            nodes[0].token(hops).await.expect("sent");
            let last = done.recv().await.expect("the token comes back");
            let elapsed = start.elapsed();
            assert_eq!(last, hops as usize % actors, "the token made every hop");
            for node in &nodes {
                stop(node).await;
            }
            elapsed
        }
    };
}

/// The default mailbox: bounded, 1024; a tell waits for room.
pub mod bounded {
    adapter!();
}

/// `#[actor(mailbox = unbounded)]`: a tell never waits.
pub mod unbounded {
    adapter!(mailbox = unbounded);
}
