//! The baselines: the actor people write by hand on tokio. An `mpsc` channel (bounded, of 1024,
//! the size of CompAktor's default mailbox, in `bounded`; unbounded in `unbounded`), an enum
//! message, `oneshot` for replies, and a `while let Some(m) = rx.recv().await` loop in a spawned
//! task. It stops when its last sender is dropped. Nothing an actor framework adds (names, ids, panics caught, dead letters,
//! supervision) is here: it is the practical limit. The unbounded one is the floor of what an
//! actor on tokio can cost (no semaphore per message); compare like with like.

/// The hand-written actor and its five workloads, for one kind of channel: `$sender` is its
/// sending half, `$channel` makes one, and `$awaited` follows each `send(..)` (`.await` for
/// the bounded one, whose send waits for room).
macro_rules! hand_written {
    ($sender:ident, $channel:expr, { $($awaited:tt)* }) => {
        use std::time::{Duration, Instant};

        use tokio::sync::{mpsc, oneshot};
        use tokio::task::JoinHandle;

        use crate::measure::{HeapProbe, Latencies, LatencyRecorder, SpawnSample};

        enum CounterMsg {
            Add(u64),
            Total(oneshot::Sender<u64>),
            Echo(u64, oneshot::Sender<u64>),
        }

        /// The counter's address: the sending half of its mailbox.
        #[derive(Clone)]
        struct Counter(mpsc::$sender<CounterMsg>);

        impl Counter {
            fn spawn() -> (Counter, JoinHandle<()>) {
                let (tx, mut rx) = $channel;
                let task = tokio::spawn(async move {
                    let mut total = 0u64;
                    while let Some(message) = rx.recv().await {
                        match message {
                            CounterMsg::Add(n) => total += n,
                            CounterMsg::Total(reply) => {
                                let _ = reply.send(total);
                            }
                            CounterMsg::Echo(n, reply) => {
                                let _ = reply.send(n + 1);
                            }
                        }
                    }
                });
                (Counter(tx), task)
            }

            async fn add(&self, n: u64) {
                if self.0.send(CounterMsg::Add(n))$($awaited)*.is_err() {
                    panic!("the counter stopped");
                }
            }

            async fn ask<R>(&self, make: impl FnOnce(oneshot::Sender<R>) -> CounterMsg) -> R {
                let (tx, rx) = oneshot::channel();
                if self.0.send(make(tx))$($awaited)*.is_err() {
                    panic!("the counter stopped");
                }
                rx.await.expect("the counter replies")
            }

            async fn total(&self) -> u64 {
                self.ask(CounterMsg::Total).await
            }

            async fn echo(&self, n: u64) -> u64 {
                self.ask(|reply| CounterMsg::Echo(n, reply)).await
            }
        }

        pub async fn tell(n: u64) -> Duration {
            let (counter, task) = Counter::spawn();
            let start = Instant::now();
            for i in 0..n {
                counter.add(i).await;
            }
            let total = counter.total().await;
            let elapsed = start.elapsed();
            assert_eq!(total, n * (n - 1) / 2, "every tell was handled");
            drop(counter);
            task.await.unwrap();
            elapsed
        }

        pub async fn ask(n: u64) -> Latencies {
            let (counter, task) = Counter::spawn();
            let mut times = LatencyRecorder::with_capacity(n as usize);
            for i in 0..n {
                let start = Instant::now();
                let reply = counter.echo(i).await;
                times.record(start.elapsed());
                assert_eq!(reply, i + 1);
            }
            drop(counter);
            task.await.unwrap();
            times.finish()
        }

        pub async fn spawn(n: usize) -> SpawnSample {
            let mut counters = Vec::with_capacity(n);
            let mut tasks = Vec::with_capacity(n);
            let probe = HeapProbe::start();
            let start = Instant::now();
            for _ in 0..n {
                let (counter, task) = Counter::spawn();
                counters.push(counter);
                tasks.push(task);
            }
            let spawned = start.elapsed();
            let mut sum = 0u64;
            for (i, counter) in counters.iter().enumerate() {
                sum += counter.echo(i as u64).await;
            }
            let asked = start.elapsed();
            let idle = probe.sample();
            drop(counters); // the last sender of each: every actor stops once its mailbox is empty
            for task in tasks {
                task.await.unwrap();
            }
            let elapsed = start.elapsed();
            let end = probe.sample();
            assert_eq!(sum, (n as u64) * (n as u64 + 1) / 2, "every actor answered");
            SpawnSample::new([spawned, asked, elapsed], idle, end, n)
        }

        pub async fn fan_in(senders: usize, per_sender: u64) -> Duration {
            let (counter, task) = Counter::spawn();
            let start = Instant::now();
            let sending: Vec<JoinHandle<()>> = (0..senders)
                .map(|_| {
                    let counter = counter.clone();
                    tokio::spawn(async move {
                        for _ in 0..per_sender {
                            counter.add(1).await;
                        }
                    })
                })
                .collect();
            for sender in sending {
                sender.await.unwrap();
            }
            let total = counter.total().await;
            let elapsed = start.elapsed();
            assert_eq!(total, senders as u64 * per_sender, "every tell was handled");
            drop(counter);
            task.await.unwrap();
            elapsed
        }

        enum NodeMsg {
            Link(mpsc::$sender<NodeMsg>),
            Token(u64),
            Stop,
        }

        fn spawn_node(
            index: usize,
            done: mpsc::UnboundedSender<usize>,
        ) -> (mpsc::$sender<NodeMsg>, JoinHandle<()>) {
            let (tx, mut rx) = $channel;
            let task = tokio::spawn(async move {
                let mut next: Option<mpsc::$sender<NodeMsg>> = None;
                while let Some(message) = rx.recv().await {
                    match message {
                        NodeMsg::Link(to) => next = Some(to),
                        NodeMsg::Token(0) => {
                            let _ = done.send(index);
                        }
                        NodeMsg::Token(left) => {
                            let to = next.as_ref().expect("linked");
                            if to.send(NodeMsg::Token(left - 1))$($awaited)*.is_err() {
                                panic!("the next node stopped");
                            }
                        }
                        NodeMsg::Stop => break,
                    }
                }
            });
            (tx, task)
        }

        pub async fn ring(actors: usize, hops: u64) -> Duration {
            let (done_tx, mut done) = mpsc::unbounded_channel();
            let nodes: Vec<_> = (0..actors)
                .map(|i| spawn_node(i, done_tx.clone()))
                .collect();
            for (i, (node, _)) in nodes.iter().enumerate() {
                let next = nodes[(i + 1) % actors].0.clone();
                node.send(NodeMsg::Link(next))$($awaited)*.expect("linked");
            }
            let start = Instant::now();
            nodes[0].0.send(NodeMsg::Token(hops))$($awaited)*.expect("sent");
            let last = done.recv().await.expect("the token comes back");
            let elapsed = start.elapsed();
            assert_eq!(last, hops as usize % actors, "the token made every hop");
            // The nodes hold each other's senders, so dropping ours would not end them: stop each.
            for (node, _) in &nodes {
                node.send(NodeMsg::Stop)$($awaited)*.expect("sent");
            }
            for (_, task) in nodes {
                task.await.unwrap();
            }
            elapsed
        }
    };
}

/// A bounded `mpsc` of 1024: a send waits for room.
pub mod bounded {
    const CAPACITY: usize = 1024;
    hand_written!(Sender, mpsc::channel(CAPACITY), { .await });
}

/// An unbounded `mpsc`: a send never waits.
pub mod unbounded {
    hand_written!(UnboundedSender, mpsc::unbounded_channel(), {});
}
