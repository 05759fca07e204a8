//! `--remote`: CompAktor's remote actors next to raw Zenoh doing the same work, and next to
//! the same actor called locally, in one run. Two Zenoh peer sessions in this process,
//! connected over loopback TCP (multicast scouting off).
//!
//! - ask: sequential round trips, each timed (p50, p99). Local: `echo(n)` on a local actor.
//!   Remote: the same call through `RemoteNode::lookup`'s `ActorRef`. Raw Zenoh: a `get` to
//!   a queryable that answers with the 8-byte number plus one.
//! - tell: a batch of one-way messages, timed until the receiver has them all (rate). Local
//!   and remote: `add(n)` tells, then one `total()` ask. Raw Zenoh: puts of 8 bytes from a
//!   publisher (congestion control `Block`, as CompAktor's) to a subscriber counting them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ::compaktor::prelude::*;
use compaktor_remote::{NodeConfig, RemoteNode};
use tokio::sync::Notify;
use zenoh::Wait;
use zenoh::qos::CongestionControl;

use crate::measure::{Latencies, LatencyRecorder};

/// The counter of the other workloads, callable from another node. Its mailbox is unbounded:
/// the receiving side never waits (a full bounded mailbox would turn remote tells into dead
/// letters there), as raw Zenoh's counting subscriber never refuses a sample.
struct Counter {
    total: u64,
}

#[actor(remote, mailbox = unbounded)]
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

/// How much work.
#[derive(Debug, Clone, Copy)]
pub struct RemoteSizes {
    pub asks: u64,
    pub tells: u64,
}

impl RemoteSizes {
    pub const FULL: RemoteSizes = RemoteSizes {
        asks: 10_000,
        tells: 200_000,
    };
    pub const QUICK: RemoteSizes = RemoteSizes {
        asks: 1_000,
        tells: 20_000,
    };
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("its address")
        .port()
}

fn zenoh_config(listen: Option<&str>, connect: Option<&str>) -> zenoh::Config {
    let mut config = zenoh::Config::default();
    let list = |e: Option<&str>| e.map_or("[]".to_owned(), |e| format!("[\"{e}\"]"));
    config.insert_json5("mode", "\"peer\"").unwrap();
    config
        .insert_json5("listen/endpoints", &list(listen))
        .unwrap();
    config
        .insert_json5("connect/endpoints", &list(connect))
        .unwrap();
    config
        .insert_json5("scouting/multicast/enabled", "false")
        .unwrap();
    config
}

/// The three contenders, set up once and measured in turns.
pub struct Contenders {
    _systems: (ActorSystem, ActorSystem),
    _nodes: (RemoteNode, RemoteNode),
    local: ActorRef<Counter>,
    remote: ActorRef<Counter>,
    raw: RawZenoh,
}

struct RawZenoh {
    _server: zenoh::Session,
    client: zenoh::Session,
    _queryable: zenoh::query::Queryable<()>,
    _subscriber: zenoh::pubsub::Subscriber<()>,
    publisher: zenoh::pubsub::Publisher<'static>,
    received: Arc<AtomicU64>,
    all_in: Arc<Notify>,
    want: Arc<AtomicU64>,
}

impl Contenders {
    pub async fn start() -> Contenders {
        let robot = ActorSystem::new("robot");
        let endpoint = format!("tcp/127.0.0.1:{}", free_port());
        let node = RemoteNode::join(&robot, NodeConfig::zenoh("robot").listen(&endpoint))
            .await
            .expect("the robot node");
        let counter = robot.spawn(Counter { total: 0 });
        node.export(&counter, "counter").await.expect("exported");
        let base = ActorSystem::new("base");
        let base_node = RemoteNode::join(
            &base,
            NodeConfig::zenoh("base")
                .connect(&endpoint)
                .discovery(Duration::from_secs(3)),
        )
        .await
        .expect("the base node");
        let remote = base_node
            .lookup::<Counter>("robot/counter")
            .await
            .expect("found");
        let local = base.spawn(Counter { total: 0 });
        Contenders {
            _systems: (robot, base),
            _nodes: (node, base_node),
            local,
            remote,
            raw: RawZenoh::start().await,
        }
    }

    pub async fn ask(&self, which: Which, n: u64) -> Latencies {
        let mut times = LatencyRecorder::with_capacity(n as usize);
        for i in 0..n {
            let start = Instant::now();
            let reply = match which {
                Which::Local => self.local.echo(i).await.expect("a reply"),
                Which::Remote => self.remote.echo(i).await.expect("a reply"),
                Which::Raw => self.raw.ask(i).await,
            };
            times.record(start.elapsed());
            assert_eq!(reply, i + 1);
        }
        times.finish()
    }

    /// The time `n` tells took until the receiver had them all.
    pub async fn tell(&self, which: Which, n: u64) -> Duration {
        match which {
            Which::Local | Which::Remote => {
                let counter = if which == Which::Local {
                    &self.local
                } else {
                    &self.remote
                };
                let before = counter.total().await.expect("a reply");
                let start = Instant::now();
                for i in 0..n {
                    counter.add(i).await.expect("sent");
                }
                let total = counter.total().await.expect("a reply");
                let took = start.elapsed();
                assert_eq!(total - before, n * (n - 1) / 2, "every tell was handled");
                took
            }
            Which::Raw => self.raw.tell(n).await,
        }
    }
}

impl RawZenoh {
    async fn start() -> RawZenoh {
        let endpoint = format!("tcp/127.0.0.1:{}", free_port());
        let server = zenoh::open(zenoh_config(Some(&endpoint), None))
            .await
            .expect("a session");
        let client = zenoh::open(zenoh_config(None, Some(&endpoint)))
            .await
            .expect("a session");
        let queryable = server
            .declare_queryable("bench/echo")
            .callback(|query| {
                let n = query
                    .payload()
                    .map(|p| u64::from_le_bytes(p.to_bytes()[..8].try_into().unwrap()))
                    .unwrap_or(0);
                let key = query.key_expr().clone();
                query
                    .reply(key, (n + 1).to_le_bytes().to_vec())
                    .wait()
                    .expect("replied");
            })
            .await
            .expect("a queryable");
        let received = Arc::new(AtomicU64::new(0));
        let want = Arc::new(AtomicU64::new(u64::MAX));
        let all_in = Arc::new(Notify::new());
        let subscriber = {
            let (received, want, all_in) = (received.clone(), want.clone(), all_in.clone());
            server
                .declare_subscriber("bench/tell")
                .callback(move |_sample| {
                    if received.fetch_add(1, Ordering::AcqRel) + 1 == want.load(Ordering::Acquire) {
                        all_in.notify_one();
                    }
                })
                .await
                .expect("a subscriber")
        };
        let publisher = client
            .declare_publisher("bench/tell")
            .congestion_control(CongestionControl::Block)
            .await
            .expect("a publisher");
        // Wait until both are seen from the client.
        while !publisher.matching_status().await.unwrap().matching() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        loop {
            let replies = client.get("bench/echo").await.unwrap();
            if replies.recv_async().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        RawZenoh {
            _server: server,
            client,
            _queryable: queryable,
            _subscriber: subscriber,
            publisher,
            received,
            all_in,
            want,
        }
    }

    async fn ask(&self, n: u64) -> u64 {
        let replies = self
            .client
            .get("bench/echo")
            .payload(n.to_le_bytes().to_vec())
            .await
            .expect("a query");
        let reply = replies.recv_async().await.expect("an answer");
        let sample = reply.result().expect("a reply");
        u64::from_le_bytes(sample.payload().to_bytes()[..8].try_into().unwrap())
    }

    async fn tell(&self, n: u64) -> Duration {
        self.received.store(0, Ordering::Release);
        self.want.store(n, Ordering::Release);
        let all_in = self.all_in.notified();
        let start = Instant::now();
        for i in 0..n {
            self.publisher
                .put(i.to_le_bytes().to_vec())
                .await
                .expect("sent");
        }
        all_in.await;
        start.elapsed()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Local,
    Remote,
    Raw,
}

impl Which {
    pub const ALL: [Which; 3] = [Which::Local, Which::Remote, Which::Raw];

    pub fn title(self) -> &'static str {
        match self {
            Which::Local => "CompAktor, local actor",
            Which::Remote => "CompAktor remote (Zenoh, TCP loopback)",
            Which::Raw => "raw Zenoh (get/queryable; put/subscriber)",
        }
    }
}

/// The 1-, 5- and 15-minute load averages (Linux), to state with the figures.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Runs the comparison and returns its Markdown report.
pub fn run(sizes: RemoteSizes, runs: usize) -> String {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let load_before = load_average();
    runtime.block_on(async move {
        let contenders = tokio::spawn(Contenders::start()).await.expect("set up");
        let contenders = Arc::new(contenders);
        // One warm-up pass, then the measured runs interleaved.
        let mut asks: Vec<Vec<Latencies>> = vec![Vec::new(); 3];
        let mut tells: Vec<Vec<f64>> = vec![Vec::new(); 3];
        for run in 0..=runs {
            for (i, which) in Which::ALL.into_iter().enumerate() {
                let c = Arc::clone(&contenders);
                let (lat, took) = tokio::spawn(async move {
                    (
                        c.ask(which, sizes.asks).await,
                        c.tell(which, sizes.tells).await,
                    )
                })
                .await
                .expect("measured");
                let rate = sizes.tells as f64 / took.as_secs_f64();
                eprintln!(
                    "  {} {:<45} ask p50 {:>8.1} µs p99 {:>8.1} µs, tell {:>10.0} /s",
                    if run == 0 {
                        "warm-up".to_owned()
                    } else {
                        format!("run {run}")
                    },
                    which.title(),
                    lat.p50 / 1e3,
                    lat.p99 / 1e3,
                    rate
                );
                if run > 0 {
                    asks[i].push(lat);
                    tells[i].push(rate);
                }
            }
        }
        let mut out = format!(
            "### Remote actors over Zenoh, {} profile (loopback TCP, one process, multi-thread \
             runtime with 2 workers; {} asks, {} tells, median of {runs} runs)\n\n\
             | | ask p50 | ask p99 | tell rate |\n|---|---:|---:|---:|\n",
            crate::report::profile_name(),
            sizes.asks,
            sizes.tells
        );
        let mut figures = Vec::new();
        for (i, which) in Which::ALL.into_iter().enumerate() {
            let p50 = median(asks[i].iter().map(|l| l.p50).collect());
            let p99 = median(asks[i].iter().map(|l| l.p99).collect());
            let rate = median(tells[i].clone());
            figures.push((p50, rate));
            out += &format!(
                "| {} | {:.1} µs | {:.1} µs | {:.0} /s |\n",
                which.title(),
                p50 / 1e3,
                p99 / 1e3,
                rate
            );
        }
        out += &format!(
            "\nLoad average (1, 5, 15 min) at the start: {load_before}; at the end: {}; {} CPUs.\n",
            load_average(),
            std::thread::available_parallelism().map_or(0, |n| n.get())
        );
        let (remote, raw) = (figures[1], figures[2]);
        out += &format!(
            "\nRemote ask p50 / raw Zenoh's: {:.2}x (target <= 1.5x). Remote tell rate / raw \
             Zenoh's: {:.2}x (target >= 0.8x).\n",
            remote.0 / raw.0,
            remote.1 / raw.1
        );
        out
    })
}
