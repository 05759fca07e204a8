//! CompAktor side by side with two hand-written tokio actors (the baselines: bounded and
//! unbounded `mpsc`) and the other Rust actor frameworks, in one process: the same five
//! workloads, each framework written as its own docs show, on the same runtime flavour. With
//! `--robot`, CompAktor's timing instead: control-loop jitter, idle cost, footprint.
//!
//! ```text
//! cargo run --release --manifest-path benches/Cargo.toml -- [--quick] [--json out.json]
//!     [--runs N] [--only NAME,..] [--workload NAME,..] [--flavour multi|current]
//!     [--ring-actors N]
//! cargo run --profile tuned --manifest-path benches/Cargo.toml -- ...      # thin LTO, 1 CGU
//! cargo run --release --manifest-path benches/Cargo.toml -- --robot [--footprint BINARY]
//! cargo run --release --features remote --manifest-path benches/Cargo.toml -- --remote [--quick] [--runs N]
//! ```
//!
//! `--remote` runs the remote comparison instead (`remote.rs`): CompAktor's remote ask and
//! tell over Zenoh (loopback TCP) next to raw Zenoh doing the same work and to the local actor.
//!
//! Each framework gets its own runtime of the flavour under test, kept for the whole flavour.
//! After one warm-up pass of every workload, the measured runs are interleaved (run 1 of every
//! framework, then run 2, ...) so that a noisy moment on a shared machine does not land on one
//! framework only; the report gives the median run, and says which build profile it ran.

mod actix;
mod baseline;
mod compaktor;
mod kameo;
mod measure;
mod ractor;
#[cfg(feature = "remote")]
mod remote;
mod report;
mod robot;
mod xtra;

use std::future::Future;
use std::time::{Duration, Instant};

use measure::{CountingAlloc, Latencies, SpawnSample};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// How much work each workload does.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    /// Tells to one actor (then one ask for the sum).
    pub tells: u64,
    /// Sequential asks, each timed.
    pub asks: u64,
    /// Actors spawned, asked once and stopped.
    pub spawns: usize,
    /// Concurrent senders to one actor.
    pub fan_in_senders: usize,
    /// Tells per sender.
    pub fan_in_tells: u64,
    /// Actors in the ring.
    pub ring_actors: usize,
    /// Hops of the token around the ring.
    pub ring_hops: u64,
}

impl Sizes {
    const FULL: Sizes = Sizes {
        tells: 1_000_000,
        asks: 100_000,
        spawns: 100_000,
        fan_in_senders: 64,
        fan_in_tells: 20_000,
        ring_actors: 1_000,
        ring_hops: 1_000_000,
    };

    /// A tenth of every count (the 64 senders stay), for a smoke run.
    const QUICK: Sizes = Sizes {
        tells: 100_000,
        asks: 10_000,
        spawns: 10_000,
        fan_in_senders: 64,
        fan_in_tells: 2_000,
        ring_actors: 100,
        ring_hops: 100_000,
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    Tell,
    Ask,
    Spawn,
    FanIn,
    Ring,
}

impl Workload {
    pub const ALL: [Workload; 5] = [
        Workload::Tell,
        Workload::Ask,
        Workload::Spawn,
        Workload::FanIn,
        Workload::Ring,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Workload::Tell => "tell",
            Workload::Ask => "ask",
            Workload::Spawn => "spawn",
            Workload::FanIn => "fan_in",
            Workload::Ring => "ring",
        }
    }
}

/// What one run of one workload measured.
#[derive(Debug, Clone, Copy)]
pub enum Sample {
    /// Tell, fan-in and ring: the time the whole batch took.
    Elapsed(Duration),
    Ask(Latencies),
    Spawn(SpawnSample),
}

/// The runtime flavours compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// tokio multi-thread, 2 workers.
    MultiThread,
    /// One thread: tokio current-thread, or actix's `System` (itself a current-thread runtime).
    CurrentThread,
}

impl Flavour {
    pub fn title(self) -> &'static str {
        match self {
            Flavour::MultiThread => "multi-thread runtime (tokio, 2 workers)",
            Flavour::CurrentThread => {
                "current-thread runtime (tokio current_thread; actix: its own System)"
            }
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Flavour::MultiThread => "multi_thread",
            Flavour::CurrentThread => "current_thread",
        }
    }
}

/// The async function of one framework that runs a workload.
trait Bench {
    fn run(&mut self, workload: Workload, sizes: Sizes) -> Sample;
}

/// Runs a workload of a tokio-based framework as a task on the framework's own runtime, as an
/// actor calling it would (on the multi-thread runtime, on a worker thread).
struct OnTokio<F> {
    runtime: tokio::runtime::Runtime,
    workload: F,
}

impl<F, Fut> OnTokio<F>
where
    F: Fn(Workload, Sizes) -> Fut,
    Fut: Future<Output = Sample> + Send + 'static,
{
    fn new(flavour: Flavour, workload: F) -> Self {
        let mut builder = match flavour {
            Flavour::MultiThread => {
                let mut builder = tokio::runtime::Builder::new_multi_thread();
                builder.worker_threads(2);
                builder
            }
            Flavour::CurrentThread => tokio::runtime::Builder::new_current_thread(),
        };
        let runtime = builder.enable_all().build().expect("a tokio runtime");
        OnTokio { runtime, workload }
    }
}

impl<F, Fut> Bench for OnTokio<F>
where
    F: Fn(Workload, Sizes) -> Fut,
    Fut: Future<Output = Sample> + Send + 'static,
{
    fn run(&mut self, workload: Workload, sizes: Sizes) -> Sample {
        let task = self.runtime.spawn((self.workload)(workload, sizes));
        match self.runtime.block_on(task) {
            Ok(sample) => sample,
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
}

/// Runs each workload of one tokio-based adapter module.
macro_rules! on_tokio {
    ($flavour:expr, $adapter:path) => {{
        use $adapter as adapter;
        Box::new(OnTokio::new(
            $flavour,
            |workload, sizes: Sizes| async move {
                match workload {
                    Workload::Tell => Sample::Elapsed(adapter::tell(sizes.tells).await),
                    Workload::Ask => Sample::Ask(adapter::ask(sizes.asks).await),
                    Workload::Spawn => Sample::Spawn(adapter::spawn(sizes.spawns).await),
                    Workload::FanIn => Sample::Elapsed(
                        adapter::fan_in(sizes.fan_in_senders, sizes.fan_in_tells).await,
                    ),
                    Workload::Ring => {
                        Sample::Elapsed(adapter::ring(sizes.ring_actors, sizes.ring_hops).await)
                    }
                }
            },
        )) as Box<dyn Bench>
    }};
}

/// The frameworks, in report order; the baseline first.
pub const FRAMEWORKS: [&str; 8] = [
    "baseline",
    "baseline-unbounded",
    "compaktor",
    "compaktor-unbounded",
    "kameo",
    "ractor",
    "xtra",
    "actix",
];

fn bench_for(name: &str, flavour: Flavour) -> Option<Box<dyn Bench>> {
    Some(match name {
        "baseline" => on_tokio!(flavour, crate::baseline::bounded),
        "baseline-unbounded" => on_tokio!(flavour, crate::baseline::unbounded),
        "compaktor" => on_tokio!(flavour, crate::compaktor::bounded),
        "compaktor-unbounded" => on_tokio!(flavour, crate::compaktor::unbounded),
        "kameo" => on_tokio!(flavour, crate::kameo),
        "ractor" => on_tokio!(flavour, crate::ractor),
        "xtra" => on_tokio!(flavour, crate::xtra),
        // actix runs its actors on its own single-threaded `System` only.
        "actix" if flavour == Flavour::CurrentThread => Box::new(crate::actix::OnSystem::new()),
        _ => return None,
    })
}

struct Options {
    sizes: Sizes,
    quick: bool,
    runs: usize,
    json: Option<String>,
    only: Option<Vec<String>>,
    workloads: Vec<Workload>,
    flavours: Vec<Flavour>,
    /// `--robot`: the robot timing workloads instead of the throughput ones.
    robot: bool,
    /// `--remote`: remote actors next to raw Zenoh and the local actor instead.
    remote: bool,
    runs_given: bool,
    jitter_seconds: f64,
    idle_seconds: f64,
    footprint: Option<(String, Vec<String>)>,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        sizes: Sizes::FULL,
        quick: false,
        runs: 5,
        json: None,
        only: None,
        workloads: Workload::ALL.to_vec(),
        flavours: vec![Flavour::MultiThread, Flavour::CurrentThread],
        robot: false,
        remote: false,
        runs_given: false,
        jitter_seconds: 5.0,
        idle_seconds: 10.0,
        footprint: None,
    };
    let mut ring_actors: Option<usize> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--quick" => {
                options.quick = true;
                options.sizes = Sizes::QUICK;
            }
            "--json" => options.json = Some(value("--json")?),
            "--runs" => {
                options.runs_given = true;
                options.runs = value("--runs")?
                    .parse()
                    .map_err(|e| format!("--runs: {e}"))?;
                if options.runs == 0 {
                    return Err("--runs must be at least 1".into());
                }
            }
            "--only" => {
                let names: Vec<String> = value("--only")?.split(',').map(str::to_owned).collect();
                if let Some(bad) = names.iter().find(|n| !FRAMEWORKS.contains(&n.as_str())) {
                    return Err(format!("--only: unknown framework `{bad}`"));
                }
                options.only = Some(names);
            }
            "--workload" => {
                options.workloads = value("--workload")?
                    .split(',')
                    .map(|name| {
                        Workload::ALL
                            .into_iter()
                            .find(|w| w.key() == name)
                            .ok_or(format!("--workload: unknown workload `{name}`"))
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--ring-actors" => {
                ring_actors = Some(
                    value("--ring-actors")?
                        .parse()
                        .map_err(|e| format!("--ring-actors: {e}"))?,
                );
            }
            "--flavour" => {
                options.flavours = match value("--flavour")?.as_str() {
                    "multi" => vec![Flavour::MultiThread],
                    "current" => vec![Flavour::CurrentThread],
                    other => return Err(format!("--flavour: `{other}` is not multi or current")),
                }
            }
            "--robot" => options.robot = true,
            "--remote" => options.remote = true,
            "--jitter-seconds" | "--idle-seconds" => {
                let seconds: f64 = value(&arg)?.parse().map_err(|e| format!("{arg}: {e}"))?;
                if !(seconds > 0.0) {
                    return Err(format!("{arg} must be above 0"));
                }
                if arg == "--jitter-seconds" {
                    options.jitter_seconds = seconds;
                } else {
                    options.idle_seconds = seconds;
                }
            }
            "--footprint" => {
                let binary = value("--footprint")?;
                options.footprint = Some((binary, Vec::new()));
            }
            "--footprint-args" => {
                let args: Vec<String> = value("--footprint-args")?
                    .split_whitespace()
                    .map(str::to_owned)
                    .collect();
                match &mut options.footprint {
                    Some((_, footprint_args)) => *footprint_args = args,
                    None => return Err("--footprint-args comes after --footprint".into()),
                }
            }
            "-h" | "--help" => {
                println!(
                    "usage: compaktor-bench [--quick] [--json FILE] [--runs N] \
                     [--only NAME,..] [--workload NAME,..] [--flavour multi|current] \
                     [--ring-actors N]\n       \
                     compaktor-bench --robot [--runs N] [--flavour multi|current] \
                     [--jitter-seconds S] [--idle-seconds S] [--footprint BINARY \
                     [--footprint-args 'ARGS']]\n       \
                     compaktor-bench --remote [--quick] [--runs N]   (feature `remote`)\n\
                     frameworks: {}\nworkloads: {}",
                    FRAMEWORKS.join(", "),
                    Workload::ALL.map(Workload::key).join(", ")
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument `{other}` (try --help)")),
        }
    }
    if let Some(n) = ring_actors {
        if n < 2 {
            return Err("--ring-actors must be at least 2".into());
        }
        options.sizes.ring_actors = n;
    }
    Ok(options)
}

fn main() {
    let options = match parse_args() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("compaktor-bench: {e}");
            std::process::exit(2);
        }
    };
    if cfg!(debug_assertions) {
        eprintln!("warning: a debug build; run with --release for meaningful numbers");
    }
    if options.remote {
        #[cfg(feature = "remote")]
        {
            let sizes = if options.quick {
                remote::RemoteSizes::QUICK
            } else {
                remote::RemoteSizes::FULL
            };
            println!("{}", remote::run(sizes, options.runs));
            return;
        }
        #[cfg(not(feature = "remote"))]
        {
            eprintln!(
                "compaktor-bench: --remote needs the `remote` feature: cargo run --release \
                 --features remote --manifest-path benches/Cargo.toml -- --remote"
            );
            std::process::exit(2);
        }
    }
    if options.robot {
        let runs = if options.runs_given { options.runs } else { 3 };
        let robot = robot::RobotOptions {
            flavours: options.flavours.clone(),
            runs,
            jitter_seconds: options.jitter_seconds,
            idle_seconds: options.idle_seconds,
            footprint: options.footprint.clone(),
        };
        match robot::run(&robot) {
            Ok((markdown, json)) => {
                println!("{markdown}");
                if let Some(path) = &options.json
                    && let Err(e) =
                        std::fs::write(path, serde_json::to_string_pretty(&json).unwrap())
                {
                    eprintln!("compaktor-bench: cannot write {path}: {e}");
                    std::process::exit(1);
                }
            }
            Err(e) => {
                eprintln!("compaktor-bench: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
    let started = Instant::now();
    let mut results = report::Results::new(options.sizes, options.quick, options.runs);
    for &flavour in &options.flavours {
        let mut benches: Vec<(&str, Box<dyn Bench>)> = FRAMEWORKS
            .iter()
            .filter(|name| {
                options
                    .only
                    .as_ref()
                    .is_none_or(|only| only.iter().any(|o| o == *name))
            })
            .filter_map(|&name| Some((name, bench_for(name, flavour)?)))
            .collect();
        eprintln!("== {} ==", flavour.title());
        for (name, bench) in &mut benches {
            let t = Instant::now();
            for &workload in &options.workloads {
                bench.run(workload, options.sizes);
            }
            eprintln!("  warm-up {name}: {:.1} s", t.elapsed().as_secs_f64());
        }
        for run in 1..=options.runs {
            for &workload in &options.workloads {
                for (name, bench) in &mut benches {
                    let sample = bench.run(workload, options.sizes);
                    eprintln!(
                        "  run {run} {:<7} {:<9} {}",
                        workload.key(),
                        name,
                        report::brief(&sample, options.sizes)
                    );
                    results.add(flavour, name, workload, sample);
                }
            }
        }
    }
    let wall = started.elapsed();
    let markdown = results.markdown(wall);
    println!("{markdown}");
    if let Some(path) = &options.json {
        let json = results.json(wall);
        if let Err(e) = std::fs::write(path, serde_json::to_string_pretty(&json).unwrap()) {
            eprintln!("compaktor-bench: cannot write {path}: {e}");
            std::process::exit(1);
        }
        eprintln!("wrote {path}");
    }
}
