//! Chaos: 1,000 workers under 10 one-for-one supervisors take 100,000 asks, all in flight at
//! once, of which a seeded 5% panic and 2% return an `Err`. Every ask gets its reply or a typed
//! error, every panic restarts its worker (same refs, same mailbox: what was queued behind the
//! panic is answered by the next instance), and at the end no actor, actor state or task is
//! left behind. The same load also meets a shutdown whose deadline passes mid-run, and
//! supervisors that reach their restart limit and give up.
//!
//! See the counts with `cargo test -p compaktor-tests --test chaos -- --nocapture`.

use std::future::{Future, IntoFuture, poll_fn};
use std::pin::pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Once};
use std::time::{Duration, Instant};

use compaktor::prelude::*;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::sync::watch;
use tokio::task::JoinSet;

const SEED: u64 = 0x00C0_FFEE;
const SUPERVISORS: usize = 10;
const WORKERS_PER_SUPERVISOR: usize = 100;
const ASKS: usize = 100_000;
/// Per cent of the asks whose handler panics.
const PANIC_PERCENT: u32 = 5;
/// Per cent of the asks whose handler returns an `Err` (which goes to the asker, no restart).
const REFUSE_PERCENT: u32 = 2;
/// About 500 panics land on each supervisor: a limit far above that never escalates.
const NEVER_ESCALATE: u32 = u32::MAX;
/// A safety net: an ask that waits this long has been lost (none comes near it).
const ASK_TIMEOUT: Duration = Duration::from_secs(30);
/// How long restarts, shutdown and task teardown may take once the asks are answered.
const SETTLE: Duration = Duration::from_secs(10);
/// Starts the message of every planned panic, so the panic hook can keep them quiet.
const CHAOS_PANIC: &str = "chaos: planned panic";

/// What the actors saw, counted by them.
#[derive(Debug, Default)]
struct Stats {
    /// Worker states made by a factory: the first instances and every restart.
    instances: AtomicU64,
    /// Worker states dropped.
    dropped: AtomicU64,
    /// `#[on_restart]` calls after a panic.
    restarts_after_panic: AtomicU64,
    /// `#[on_restart]` calls for any other reason (there should be none).
    restarts_otherwise: AtomicU64,
    replied: AtomicU64,
    refused: AtomicU64,
    panicked: AtomicU64,
    /// `work` handlers dropped mid-way (suspended at their `.await`) by a kill.
    interrupted: AtomicU64,
}

impl Stats {
    fn get(counter: &AtomicU64) -> u64 {
        counter.load(Relaxed)
    }
}

/// What one ask's handler is to do, decided by the seeded plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Reply,
    Refuse,
    Panic,
}

#[derive(Debug, thiserror::Error)]
#[error("chaos: refused ask {0}")]
struct Refused(u64);

struct Worker {
    stats: Arc<Stats>,
}

impl Worker {
    fn new(stats: Arc<Stats>) -> Self {
        stats.instances.fetch_add(1, Relaxed);
        Worker { stats }
    }
}

/// Counts a `work` handler dropped while suspended (forgotten when it resumes).
struct Interrupted<'a>(&'a AtomicU64);

impl Drop for Interrupted<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Relaxed);
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stats.dropped.fetch_add(1, Relaxed);
    }
}

#[actor]
impl Worker {
    #[on_restart]
    fn restarted(&mut self, info: &RestartInfo) {
        let counter = match info.reason {
            StopReason::Panicked { .. } => &self.stats.restarts_after_panic,
            _ => &self.stats.restarts_otherwise,
        };
        counter.fetch_add(1, Relaxed);
    }

    /// Keeps the worker busy until the gate opens, so that asks queue up behind it.
    #[handler]
    async fn hold(&mut self, mut gate: watch::Receiver<bool>) {
        let _ = gate.wait_for(|open| *open).await;
    }

    /// Echoes `n`, refuses it, or panics, as planned.
    #[handler]
    async fn work(&mut self, n: u64, plan: Plan) -> Result<u64, Refused> {
        if n.is_multiple_of(4) {
            // Some handlers suspend, so that panics also happen after an await. A kill that
            // lands while one is suspended drops it there: its asker gets `Stopped`, and the
            // message, already taken from the mailbox, is no dead letter.
            let interrupted = Interrupted(&self.stats.interrupted);
            tokio::task::yield_now().await;
            std::mem::forget(interrupted);
        }
        match plan {
            Plan::Reply => {
                self.stats.replied.fetch_add(1, Relaxed);
                Ok(n)
            }
            Plan::Refuse => {
                self.stats.refused.fetch_add(1, Relaxed);
                Err(Refused(n))
            }
            Plan::Panic => {
                self.stats.panicked.fetch_add(1, Relaxed);
                panic!("{CHAOS_PANIC} {n}");
            }
        }
    }
}

struct Supervisor {
    stats: Arc<Stats>,
    max_restarts: u32,
}

#[actor]
impl Supervisor {
    #[on_start]
    fn start(&mut self, ctx: &mut Context<Self>) -> Result<(), SpawnError> {
        let supervision =
            Supervision::one_for_one().max_restarts(self.max_restarts, Duration::from_secs(60));
        ctx.supervise(supervision);
        for i in 0..WORKERS_PER_SUPERVISOR {
            let stats = Arc::clone(&self.stats);
            ctx.child(move || Worker::new(Arc::clone(&stats)))
                .name(format!("worker-{i}"))
                .spawn()?;
        }
        Ok(())
    }
}

/// What the askers got back, by kind.
#[derive(Debug, Default)]
struct Answers {
    replied: u64,
    refused: u64,
    panicked: u64,
    stopped: u64,
    timed_out: u64,
    /// Any other `AskError`.
    other: u64,
    /// An answer that does not fit its ask's plan (a wrong value, a wrong error). `Stopped`
    /// fits every plan: the actor may be gone before it gets to the ask.
    mismatched: u64,
}

impl Answers {
    fn record(&mut self, n: u64, plan: Plan, answer: Result<u64, AskError<Refused>>) {
        let fits = match (&answer, plan) {
            (Ok(value), Plan::Reply) => *value == n,
            (Err(AskError::Handler(Refused(m))), Plan::Refuse) => *m == n,
            (Err(AskError::Panicked { message, .. }), Plan::Panic) => {
                *message == format!("{CHAOS_PANIC} {n}")
            }
            (Err(AskError::Stopped { .. }), _) => true,
            _ => false,
        };
        if !fits {
            self.mismatched += 1;
        }
        let kind = match answer {
            Ok(_) => &mut self.replied,
            Err(AskError::Handler(_)) => &mut self.refused,
            Err(AskError::Panicked { .. }) => &mut self.panicked,
            Err(AskError::Stopped { .. }) => &mut self.stopped,
            Err(AskError::Timeout { .. }) => &mut self.timed_out,
            Err(_) => &mut self.other,
        };
        *kind += 1;
    }

    /// Every ask answered `Stopped` was either still queued when its worker ended (a dead
    /// letter each) or dropped mid-way by a kill while its handler was suspended.
    fn assert_stopped_are_dead_letters(&self, system: &ActorSystem, stats: &Stats) {
        let interrupted = Stats::get(&stats.interrupted);
        assert_eq!(
            system.dead_letter_count() + interrupted,
            self.stopped,
            "{self:?}; {interrupted} interrupted"
        );
    }

    fn total(&self) -> u64 {
        self.replied + self.refused + self.panicked + self.stopped + self.timed_out + self.other
    }

    /// Every ask was answered, as planned or with `Stopped`, and the actors saw what the askers
    /// got.
    fn assert_complete(&self, stats: &Stats) {
        assert_eq!(self.total(), ASKS as u64, "{self:?}");
        assert_eq!(
            (self.mismatched, self.timed_out, self.other),
            (0, 0, 0),
            "{self:?}"
        );
        assert_eq!(Stats::get(&stats.panicked), self.panicked, "{self:?}");
        assert_eq!(Stats::get(&stats.refused), self.refused, "{self:?}");
        assert_eq!(Stats::get(&stats.replied), self.replied, "{self:?}");
    }
}

/// Keeps the planned panics off the test output; every other panic is printed as usual.
fn silence_chaos_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info.payload();
            let message = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied());
            if !message.is_some_and(|m| m.starts_with(CHAOS_PANIC)) {
                previous(info);
            }
        }));
    });
}

/// Waits until `done` holds, looking every 10 ms; false if it still does not after `limit`.
async fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while !done() {
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    true
}

/// Which worker each ask goes to, and what its handler does: all from the seed.
fn plan(workers: usize) -> Vec<(usize, Plan)> {
    let mut rng = SmallRng::seed_from_u64(SEED);
    (0..ASKS)
        .map(|_| {
            let worker = rng.random_range(0..workers);
            let roll = rng.random_range(0..100);
            let plan = if roll < PANIC_PERCENT {
                Plan::Panic
            } else if roll < PANIC_PERCENT + REFUSE_PERCENT {
                Plan::Refuse
            } else {
                Plan::Reply
            };
            (worker, plan)
        })
        .collect()
}

/// One chaos run: the supervisors and their workers, the plan, and what the actors counted.
struct Chaos {
    system: ActorSystem,
    /// Live actors and runtime tasks before the run.
    baseline: (usize, usize),
    stats: Arc<Stats>,
    supervisors: Vec<ActorRef<Supervisor>>,
    workers: Vec<ActorRef<Worker>>,
    plan: Vec<(usize, Plan)>,
    began: Instant,
}

impl Chaos {
    /// Starts the supervisors, each with its workers, and plans the asks.
    async fn start(max_restarts: u32) -> Chaos {
        silence_chaos_panics();
        let began = Instant::now();
        let tasks = tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks();
        let system = ActorSystem::new("chaos");
        let baseline = (system.live_actors(), tasks);
        let stats = Arc::new(Stats::default());
        let mut supervisors = Vec::with_capacity(SUPERVISORS);
        for s in 0..SUPERVISORS {
            let supervisor = Supervisor {
                stats: Arc::clone(&stats),
                max_restarts,
            };
            let supervisor = system
                .builder(supervisor)
                .name(format!("supervisor-{s}"))
                .start()
                .await
                .expect("a supervisor starts with its workers");
            supervisors.push(supervisor);
        }
        let workers: Vec<ActorRef<Worker>> = (0..SUPERVISORS)
            .flat_map(|s| (0..WORKERS_PER_SUPERVISOR).map(move |w| (s, w)))
            .map(|(s, w)| {
                let path = format!("/supervisor-{s}/worker-{w}");
                system
                    .lookup::<Worker>(&path)
                    .unwrap_or_else(|| panic!("no worker at {path}"))
            })
            .collect();
        assert_eq!(
            system.live_actors(),
            baseline.0 + SUPERVISORS + workers.len()
        );
        let plan = plan(workers.len());
        Chaos {
            system,
            baseline,
            stats,
            supervisors,
            workers,
            plan,
            began,
        }
    }

    fn actors(&self) -> usize {
        self.supervisors.len() + self.workers.len()
    }

    fn planned(&self, kind: Plan) -> u64 {
        self.plan.iter().filter(|(_, p)| *p == kind).count() as u64
    }

    /// Queues every planned ask while the workers are held in `hold`, then lets them go. The
    /// asks are answered into the returned set, in any order.
    async fn ask_all(&self) -> JoinSet<(u64, Plan, Result<u64, AskError<Refused>>)> {
        let (gate, gate_rx) = watch::channel(false);
        for worker in &self.workers {
            worker
                .hold(gate_rx.clone())
                .await
                .expect("a worker takes `hold`");
        }
        let sent = Arc::new(AtomicUsize::new(0));
        let mut asks = JoinSet::new();
        for (n, &(worker, plan)) in self.plan.iter().enumerate() {
            let worker = self.workers[worker].clone();
            let sent = Arc::clone(&sent);
            let n = n as u64;
            asks.spawn(async move {
                let mut ask = pin!(worker.work(n, plan).timeout(ASK_TIMEOUT).into_future());
                let mut first = true;
                let answer = poll_fn(|cx| {
                    let polled = ask.as_mut().poll(cx);
                    if std::mem::take(&mut first) {
                        sent.fetch_add(1, Relaxed); // its first poll put it in the mailbox
                    }
                    polled
                })
                .await;
                (n, plan, answer)
            });
        }
        let all_sent = eventually(SETTLE, || sent.load(Relaxed) == ASKS).await;
        assert!(all_sent, "only {} asks were sent", sent.load(Relaxed));
        gate.send(true).expect("the workers wait at the gate");
        asks
    }

    /// Every actor is gone, every worker state ever made was dropped, and every task the run
    /// spawned has ended.
    async fn assert_nothing_left(self) {
        let Chaos {
            system,
            baseline: (actors, tasks),
            stats,
            supervisors,
            workers,
            ..
        } = self;
        let gone = eventually(SETTLE, || system.live_actors() == actors).await;
        assert!(gone, "{} actors left", system.live_actors() - actors);
        assert_eq!(Stats::get(&stats.dropped), Stats::get(&stats.instances));
        drop((workers, supervisors));
        let metrics = tokio::runtime::Handle::current().metrics();
        let ended = eventually(SETTLE, || metrics.num_alive_tasks() == tasks).await;
        assert!(
            ended,
            "{} tasks still alive after the run (baseline {tasks})",
            metrics.num_alive_tasks()
        );
    }
}

async fn answer_all(
    mut asks: JoinSet<(u64, Plan, Result<u64, AskError<Refused>>)>,
) -> (Answers, Duration) {
    let began = Instant::now();
    let mut answers = Answers::default();
    while let Some(joined) = asks.join_next().await {
        let (n, plan, answer) = joined.expect("an asking task panicked");
        answers.record(n, plan, answer);
    }
    (answers, began.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_ask_is_answered_while_supervisors_restart_panicking_workers() {
    let chaos = Chaos::start(NEVER_ESCALATE).await;
    let planned_panics = chaos.planned(Plan::Panic);
    let panic_share = planned_panics as f64 / ASKS as f64;
    assert!(
        (0.045..=0.055).contains(&panic_share),
        "the seed plans {planned_panics} panics in {ASKS} asks"
    );

    let (answers, answered_in) = answer_all(chaos.ask_all().await).await;

    // Every ask got exactly what its plan called for: none lost, stopped or late.
    answers.assert_complete(&chaos.stats);
    assert_eq!(answers.stopped, 0, "{answers:?}");
    assert_eq!(chaos.system.dead_letter_count(), 0);
    assert_eq!(answers.panicked, planned_panics);
    assert_eq!(answers.refused, chaos.planned(Plan::Refuse));
    assert_eq!(answers.replied, chaos.planned(Plan::Reply));

    // One restart per panic, none for anything else, and no supervisor gave up.
    let stats = Arc::clone(&chaos.stats);
    let restarts = || Stats::get(&stats.restarts_after_panic);
    let restarted = eventually(SETTLE, || restarts() == planned_panics).await;
    assert!(
        restarted,
        "{} restarts after {planned_panics} panics",
        restarts()
    );
    assert_eq!(Stats::get(&stats.restarts_otherwise), 0);
    let instances = chaos.workers.len() as u64 + planned_panics;
    assert_eq!(Stats::get(&stats.instances), instances);
    assert!(chaos.supervisors.iter().all(ActorRef::is_alive));
    assert!(chaos.workers.iter().all(ActorRef::is_alive));
    let actors = chaos.actors();
    assert_eq!(chaos.system.live_actors(), chaos.baseline.0 + actors);

    let report = chaos.system.shutdown(SETTLE).await;
    assert!(!report.deadline_passed, "{report:?}");
    assert_eq!(
        (report.stopped, report.killed, report.still_running),
        (actors as u64, 0, 0),
        "{report:?}"
    );
    for supervisor in &chaos.supervisors {
        assert_eq!(supervisor.stopped().await, StopReason::Stopped);
    }
    let began = chaos.began;
    chaos.assert_nothing_left().await;

    println!(
        "chaos: {actors} actors, {ASKS} asks all in flight, answered in {answered_in:.2?}: \
         {} replied, {} refused (AskError::Handler), {} panicked (AskError::Panicked, {:.2}%), \
         {} stopped, {} timed out, {} other; actors saw {} panics and restarted {} times; \
         shutdown in {:.2?} (stopped {}, killed {}, dead letters {}); {} worker states made, \
         all dropped; whole run {:.2?}",
        answers.replied,
        answers.refused,
        answers.panicked,
        100.0 * panic_share,
        answers.stopped,
        answers.timed_out,
        answers.other,
        Stats::get(&stats.panicked),
        restarts(),
        report.elapsed,
        report.stopped,
        report.killed,
        report.dead_letters,
        Stats::get(&stats.instances),
        began.elapsed(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_whose_deadline_passes_mid_run_answers_every_ask_and_leaks_nothing() {
    let chaos = Chaos::start(NEVER_ESCALATE).await;
    let asks = chaos.ask_all().await;
    // Let the workers get going, then give the shutdown far too little time for what is queued.
    let stats = Arc::clone(&chaos.stats);
    let some_panics = eventually(SETTLE, || Stats::get(&stats.panicked) >= 100).await;
    assert!(some_panics);
    let shutdown_began = Instant::now();
    let (report, (answers, answered_in)) = tokio::join!(
        chaos.system.shutdown(Duration::from_millis(20)),
        answer_all(asks)
    );

    answers.assert_complete(&stats);
    assert!(answers.stopped > 0, "{answers:?}");
    // The killed supervisors may still be killing their workers when `shutdown` returns; they
    // all end soon after.
    assert!(report.deadline_passed, "{report:?}");
    assert_eq!(Stats::get(&stats.restarts_otherwise), 0);
    // A panic may end its worker for good when the shutdown is already under way.
    assert!(Stats::get(&stats.restarts_after_panic) <= answers.panicked);
    let began = chaos.began;
    let system = chaos.system.clone();
    chaos.assert_nothing_left().await;
    answers.assert_stopped_are_dead_letters(&system, &stats);

    println!(
        "chaos, shutdown mid-run: {answers:?} in {answered_in:.2?}; {} restarts; {report:?}; \
         all ended {:.2?} after the shutdown began; whole run {:.2?}",
        Stats::get(&stats.restarts_after_panic),
        shutdown_began.elapsed(),
        began.elapsed(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervisors_past_their_restart_limit_give_up_and_every_ask_is_still_answered() {
    const LIMIT: u32 = 20;
    let chaos = Chaos::start(LIMIT).await;
    let (answers, answered_in) = answer_all(chaos.ask_all().await).await;

    answers.assert_complete(&chaos.stats);
    assert!(answers.stopped > 0, "{answers:?}");
    let stats = Arc::clone(&chaos.stats);
    // Each supervisor restarted `LIMIT` workers, then escalated and stopped: as top-level actors
    // they have no one to escalate to.
    for supervisor in &chaos.supervisors {
        let reason = tokio::time::timeout(SETTLE, supervisor.stopped())
            .await
            .expect("a supervisor past its limit stops");
        assert!(
            matches!(reason, StopReason::Escalated { .. }),
            "{}: {reason}",
            supervisor.path()
        );
    }
    // Restarts count against the limit when they are decided; those still pending when the
    // supervisor gives up do not happen.
    let restarts = Stats::get(&stats.restarts_after_panic);
    assert!(
        (1..=u64::from(LIMIT) * SUPERVISORS as u64).contains(&restarts),
        "{restarts} restarts"
    );
    assert_eq!(Stats::get(&stats.restarts_otherwise), 0);
    assert!(chaos.workers.iter().all(|w| !w.is_alive()));
    let report = chaos.system.shutdown(SETTLE).await;
    assert_eq!((report.stopped, report.killed), (0, 0), "{report:?}");
    let began = chaos.began;
    let system = chaos.system.clone();
    chaos.assert_nothing_left().await;
    answers.assert_stopped_are_dead_letters(&system, &stats);

    println!(
        "chaos, restart limit {LIMIT}: {answers:?} in {answered_in:.2?}; {restarts} restarts; \
         whole run {:.2?}",
        began.elapsed(),
    );
}
