//! What a robot cares about more than throughput, for CompAktor alone (and a raw tokio task where
//! one makes sense):
//!
//! - **jitter**: a 100 Hz `ctx.every` actor while 4 other actors pass 4 tokens round a ring as
//!   fast as they can; the error of each period against 10 ms (p50, p99, max), next to a raw
//!   `tokio::time::interval` task (same `Skip` policy) under the same load;
//! - **idle**: a robot-sized system (50 actors: 10 sensors on `ctx.every` at 10, 20, .. 100 Hz,
//!   each publishing to one of 5 topics; 40 subscribers, 8 per topic) for a stretch of real
//!   time: the CPU time its threads used and how often they were woken;
//! - **footprint**: the size of a release binary (the `obstacle_avoider` example) and its peak
//!   resident set over a run.
//!
//! CPU time and wake-ups are read from `/proc/self/task/*/`: `schedstat`'s first field (ns on a
//! CPU) and `status`'s `voluntary_ctxt_switches` + `nonvoluntary_ctxt_switches`, summed over
//! the process's threads before and after (a voluntary switch is a thread going to sleep, so the
//! next run is a wake-up; involuntary ones are preemptions). Only the runtime under test lives
//! in the process while it runs.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use ::compaktor::prelude::*;
use serde_json::{Value, json};

use crate::Flavour;

/// The control loop's period: 100 Hz.
const PERIOD: Duration = Duration::from_millis(10);

/// Passes tokens round a ring until `running` is cleared: the load.
struct Busy {
    next: Option<ActorRef<Busy>>,
    running: Arc<AtomicBool>,
}

#[actor]
impl Busy {
    #[handler]
    fn link(&mut self, next: ActorRef<Busy>) {
        self.next = Some(next);
    }

    #[handler]
    async fn token(&mut self, hops: u64) {
        if self.running.load(Ordering::Relaxed)
            && let Some(next) = &self.next
        {
            let _ = next.token(hops + 1).await;
        }
    }
}

/// Starts 4 actors passing 4 tokens round a ring; clear `running` to end it.
async fn start_load(system: &ActorSystem, running: &Arc<AtomicBool>) -> Vec<ActorRef<Busy>> {
    let ring: Vec<ActorRef<Busy>> = (0..4)
        .map(|_| {
            system.spawn(Busy {
                next: None,
                running: running.clone(),
            })
        })
        .collect();
    for (i, node) in ring.iter().enumerate() {
        node.link(ring[(i + 1) % ring.len()].clone())
            .await
            .expect("linked");
    }
    for node in &ring {
        node.token(0).await.expect("started");
    }
    ring
}

/// The 100 Hz control loop: notes when each tick is handled.
struct Control {
    ticks: Vec<Instant>,
}

#[actor]
impl Control {
    #[on_start]
    fn start(&mut self, ctx: &mut Context<Self>) {
        ctx.every(PERIOD, |me| me.tick());
    }

    #[handler]
    fn tick(&mut self) {
        self.ticks.push(Instant::now());
    }

    #[handler]
    fn ticks(&mut self) -> Vec<Instant> {
        std::mem::take(&mut self.ticks)
    }
}

/// Period errors of one run, in µs.
#[derive(Debug, Clone, Copy)]
pub struct Jitter {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
    pub periods: usize,
}

fn jitter_of(ticks: &[Instant]) -> Jitter {
    let mut errors: Vec<f64> = ticks
        .windows(2)
        .map(|w| ((w[1] - w[0]).as_secs_f64() - PERIOD.as_secs_f64()).abs() * 1e6)
        .collect();
    assert!(errors.len() > 10, "too few ticks: {}", errors.len());
    errors.sort_by(f64::total_cmp);
    let n = errors.len();
    let at = |q: f64| errors[((n as f64 * q) as usize).min(n - 1)];
    Jitter {
        p50: at(0.5),
        p99: at(0.99),
        max: errors[n - 1],
        periods: n,
    }
}

/// One jitter run: the control loop as an actor (`raw` false) or as a raw interval task, for
/// `seconds`, under the ring's load.
async fn jitter_run(raw: bool, seconds: f64) -> Jitter {
    let system = ActorSystem::new("jitter");
    let running = Arc::new(AtomicBool::new(true));
    let load = start_load(&system, &running).await;
    let length = Duration::from_secs_f64(seconds);
    let ticks = if raw {
        let task = tokio::spawn(async move {
            let mut interval =
                tokio::time::interval_at(tokio::time::Instant::now() + PERIOD, PERIOD);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            let end = Instant::now() + length;
            let mut ticks = Vec::new();
            while Instant::now() < end {
                interval.tick().await;
                ticks.push(Instant::now());
            }
            ticks
        });
        task.await.expect("the interval task")
    } else {
        let control = system.spawn(Control { ticks: Vec::new() });
        tokio::time::sleep(length).await;
        let ticks = control.ticks().await.expect("the control loop replies");
        control.stop();
        control.stopped().await;
        ticks
    };
    running.store(false, Ordering::Relaxed);
    for node in &load {
        node.stop();
    }
    for node in &load {
        node.stopped().await;
    }
    jitter_of(&ticks)
}

/// A sensor: publishes a reading to its topic at its rate.
struct Sensor {
    hz: u32,
    topic: Topic<f64>,
    reading: f64,
}

#[actor]
impl Sensor {
    #[on_start]
    fn start(&mut self, ctx: &mut Context<Self>) {
        ctx.every(Duration::from_secs(1) / self.hz, |me| me.sample());
    }

    #[handler]
    fn sample(&mut self) {
        self.reading += 1.0;
        self.topic.publish(self.reading);
    }
}

/// A subscriber: keeps the sum of what it was sent.
struct Listener {
    topic: Topic<f64>,
    seen: u64,
}

#[actor]
impl Listener {
    #[on_start]
    fn start(&mut self, ctx: &mut Context<Self>) {
        ctx.subscribe(&self.topic, |me, value| me.reading(value));
    }

    #[handler]
    fn reading(&mut self, _value: f64) {
        self.seen += 1;
    }

    #[handler]
    fn seen(&self) -> u64 {
        self.seen
    }
}

/// CPU time (ns) and context switches of each thread of this process, by thread id.
fn thread_counters() -> HashMap<u64, (u64, u64)> {
    let mut threads = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return threads;
    };
    for entry in dir.flatten() {
        let Some(tid) = entry.file_name().to_str().and_then(|t| t.parse().ok()) else {
            continue;
        };
        let path = entry.path();
        let cpu_ns = std::fs::read_to_string(path.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse().ok())
            .unwrap_or(0);
        let switches = std::fs::read_to_string(path.join("status"))
            .map(|status| {
                status
                    .lines()
                    .filter_map(|line| {
                        let (key, value) = line.split_once(':')?;
                        matches!(
                            key,
                            "voluntary_ctxt_switches" | "nonvoluntary_ctxt_switches"
                        )
                        .then(|| value.trim().parse::<u64>().ok())?
                    })
                    .sum()
            })
            .unwrap_or(0);
        threads.insert(tid, (cpu_ns, switches));
    }
    threads
}

/// The CPU time and switches used between two readings (threads born in between count from 0).
fn used(before: &HashMap<u64, (u64, u64)>, after: &HashMap<u64, (u64, u64)>) -> (u64, u64) {
    after.iter().fold((0, 0), |(cpu, sw), (tid, (c, s))| {
        let (c0, s0) = before.get(tid).copied().unwrap_or((0, 0));
        (cpu + c.saturating_sub(c0), sw + s.saturating_sub(s0))
    })
}

/// One idle-cost run.
#[derive(Debug, Clone, Copy)]
pub struct Idle {
    pub cpu_ms_per_s: f64,
    pub wakeups_per_s: f64,
    pub deliveries_per_s: f64,
}

async fn idle_run(seconds: f64) -> Idle {
    let system = ActorSystem::new("robot");
    let topics: Vec<Topic<f64>> = (0..5)
        .map(|i| system.topic(&format!("sensor-{i}")).expect("a topic"))
        .collect();
    let listeners: Vec<ActorRef<Listener>> = (0..40)
        .map(|i| {
            system.spawn(Listener {
                topic: topics[i % 5].clone(),
                seen: 0,
            })
        })
        .collect();
    // Asked once each: every subscription is in place before the first reading.
    for listener in &listeners {
        listener.seen().await.expect("started");
    }
    let sensors: Vec<ActorRef<Sensor>> = (0..10u32)
        .map(|i| {
            system.spawn(Sensor {
                hz: 10 * (i + 1),
                topic: topics[i as usize % 5].clone(),
                reading: 0.0,
            })
        })
        .collect();
    // Settle, then measure a window of real time.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut seen_before = 0;
    for listener in &listeners {
        seen_before += listener.seen().await.expect("replies");
    }
    let before = thread_counters();
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    let after = thread_counters();
    let elapsed = start.elapsed().as_secs_f64();
    let (cpu_ns, switches) = used(&before, &after);
    let mut seen_after = 0;
    for listener in &listeners {
        seen_after += listener.seen().await.expect("replies");
    }
    for sensor in &sensors {
        sensor.stop();
    }
    for listener in &listeners {
        listener.stop();
    }
    system.shutdown(Duration::from_secs(5)).await;
    Idle {
        cpu_ms_per_s: cpu_ns as f64 / 1e6 / elapsed,
        wakeups_per_s: switches as f64 / elapsed,
        deliveries_per_s: (seen_after - seen_before) as f64 / elapsed,
    }
}

/// The size of a binary and its peak resident set over one run.
#[derive(Debug, Clone)]
pub struct Footprint {
    pub binary: String,
    pub args: Vec<String>,
    pub size_bytes: u64,
    pub peak_rss_bytes: u64,
    pub wall_seconds: f64,
}

fn footprint(binary: &str, args: &[String]) -> Result<Footprint, String> {
    let size_bytes = std::fs::metadata(binary)
        .map_err(|e| format!("--footprint {binary}: {e}"))?
        .len();
    let start = Instant::now();
    let status = std::process::Command::new(binary)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("--footprint {binary}: {e}"))?;
    let wall_seconds = start.elapsed().as_secs_f64();
    if !status.success() {
        return Err(format!("--footprint {binary}: it exited with {status}"));
    }
    Ok(Footprint {
        binary: binary.to_owned(),
        args: args.to_vec(),
        size_bytes,
        peak_rss_bytes: crate::measure::children_peak_rss(),
        wall_seconds,
    })
}

/// What to run.
pub struct RobotOptions {
    pub flavours: Vec<Flavour>,
    pub runs: usize,
    pub jitter_seconds: f64,
    pub idle_seconds: f64,
    pub footprint: Option<(String, Vec<String>)>,
}

fn runtime(flavour: Flavour) -> tokio::runtime::Runtime {
    let mut builder = match flavour {
        Flavour::MultiThread => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(2);
            builder
        }
        Flavour::CurrentThread => tokio::runtime::Builder::new_current_thread(),
    };
    builder.enable_all().build().expect("a tokio runtime")
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Runs the robot workloads and returns the report (Markdown) and its JSON.
pub fn run(options: &RobotOptions) -> Result<(String, Value), String> {
    let mut out = String::new();
    let mut json_flavours = serde_json::Map::new();
    let _ = writeln!(
        out,
        "## Robot timing\n\nBuild profile: {}.\n\nMedian of {} runs per row; the runs of the \
         actor and the raw task are interleaved. {}\n",
        crate::report::profile(),
        options.runs,
        "CPU time and wake-ups: the process's threads, from /proc/self/task/*/schedstat and \
         the voluntary + involuntary context switches in /proc/self/task/*/status."
    );
    for &flavour in &options.flavours {
        let rt = runtime(flavour);
        let _ = writeln!(out, "### {}\n", flavour.title());
        // Jitter: actor and raw task interleaved.
        let (mut actor, mut raw) = (Vec::new(), Vec::new());
        for run in 0..options.runs {
            for is_raw in [false, true] {
                let seconds = options.jitter_seconds;
                let j = rt
                    .block_on(rt.spawn(jitter_run(is_raw, seconds)))
                    .expect("ran");
                eprintln!(
                    "  run {} jitter {:<10} p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs ({} periods)",
                    run + 1,
                    if is_raw { "raw" } else { "ctx.every" },
                    j.p50,
                    j.p99,
                    j.max,
                    j.periods
                );
                if is_raw { &mut raw } else { &mut actor }.push(j);
            }
        }
        let med = |js: &[Jitter], f: fn(&Jitter) -> f64| median(js.iter().map(f).collect());
        let _ = writeln!(
            out,
            "Control-loop jitter: a 100 Hz loop for {:.0} s while 4 actors pass 4 tokens round a \
             ring at full speed; error of each period against 10 ms:\n",
            options.jitter_seconds
        );
        let _ = writeln!(out, "| loop | p50 (µs) | p99 (µs) | max (µs) |");
        let _ = writeln!(out, "|---|---:|---:|---:|");
        let mut jitter_json = serde_json::Map::new();
        for (name, js) in [
            ("CompAktor `ctx.every` actor", &actor),
            ("raw `tokio::time::interval` task", &raw),
        ] {
            let (p50, p99, max) = (med(js, |j| j.p50), med(js, |j| j.p99), med(js, |j| j.max));
            let _ = writeln!(out, "| {name} | {p50:.0} | {p99:.0} | {max:.0} |");
            jitter_json.insert(
                name.to_owned(),
                json!({ "p50_us": p50, "p99_us": p99, "max_us": max,
                        "runs": js.iter().map(|j| json!({"p50_us": j.p50, "p99_us": j.p99,
                            "max_us": j.max, "periods": j.periods})).collect::<Vec<_>>() }),
            );
        }
        let ratio = med(&actor, |j| j.p99) / med(&raw, |j| j.p99);
        let _ = writeln!(
            out,
            "\np99 of the actor / p99 of the raw task: {ratio:.2}x.\n"
        );

        // Idle cost.
        let mut idles = Vec::new();
        for run in 0..options.runs.min(3) {
            let seconds = options.idle_seconds;
            let idle = rt.block_on(rt.spawn(idle_run(seconds))).expect("ran");
            eprintln!(
                "  run {} idle: {:.1} ms CPU/s, {:.0} wake-ups/s, {:.0} deliveries/s",
                run + 1,
                idle.cpu_ms_per_s,
                idle.wakeups_per_s,
                idle.deliveries_per_s
            );
            idles.push(idle);
        }
        let cpu = median(idles.iter().map(|i| i.cpu_ms_per_s).collect());
        let wakeups = median(idles.iter().map(|i| i.wakeups_per_s).collect());
        let deliveries = median(idles.iter().map(|i| i.deliveries_per_s).collect());
        let _ = writeln!(
            out,
            "Idle cost: 50 actors (10 sensors on `ctx.every` at 10, 20, .. 100 Hz = 550 ticks/s, \
             each publishing to one of 5 topics; 40 subscribers, 8 per topic), {:.0} s of real \
             time, median of {}:\n",
            options.idle_seconds,
            idles.len()
        );
        let _ = writeln!(
            out,
            "| CPU time (ms per s) | CPU (% of one core) | wake-ups per s | topic deliveries per s |"
        );
        let _ = writeln!(out, "|---:|---:|---:|---:|");
        let _ = writeln!(
            out,
            "| {cpu:.1} | {:.2} % | {wakeups:.0} | {deliveries:.0} |\n",
            cpu / 10.0
        );
        json_flavours.insert(
            flavour.key().to_owned(),
            json!({
                "jitter": jitter_json,
                "jitter_p99_ratio": ratio,
                "idle": { "cpu_ms_per_s": cpu, "wakeups_per_s": wakeups,
                          "deliveries_per_s": deliveries },
            }),
        );
        drop(rt);
    }
    let mut footprint_json = Value::Null;
    if let Some((binary, args)) = &options.footprint {
        let f = footprint(binary, args)?;
        let _ = writeln!(
            out,
            "### Footprint\n\n| binary | size (MiB) | peak RSS (MiB) | run |\n|---|---:|---:|---|\n\
             | `{}` | {:.2} | {:.1} | `{}` ({:.1} s wall) |\n",
            f.binary,
            f.size_bytes as f64 / (1 << 20) as f64,
            f.peak_rss_bytes as f64 / (1 << 20) as f64,
            if f.args.is_empty() {
                "no arguments".to_owned()
            } else {
                f.args.join(" ")
            },
            f.wall_seconds
        );
        footprint_json = json!({
            "binary": f.binary, "args": f.args, "size_bytes": f.size_bytes,
            "peak_rss_bytes": f.peak_rss_bytes, "wall_seconds": f.wall_seconds,
        });
    }
    let json = json!({
        "profile": crate::report::profile_name(),
        "runs": options.runs,
        "jitter_seconds": options.jitter_seconds,
        "idle_seconds": options.idle_seconds,
        "flavours": json_flavours,
        "footprint": footprint_json,
    });
    Ok((out, json))
}
