//! Health: each actor's state through its life (starting, running, restarting in a backoff,
//! stopping, gone), its mailbox length, messages handled, restarts and last failure, and the
//! time in its current handler; the stall detector reporting a stuck handler once per call, and
//! never a busy but quick actor. All on tokio's paused clock.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use compaktor::prelude::*;
use compaktor::testkit::{advance, settle};
use compaktor::{ActorHealth, ActorState, Stall};
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use tokio::sync::oneshot;

/// The health entry at `path`, if the actor is listed.
fn at(system: &ActorSystem, path: &str) -> Option<ActorHealth> {
    system.health().into_iter().find(|h| &*h.path == path)
}

/// The health entry at `path`; fails the test if it is not listed.
#[track_caller]
fn health(system: &ActorSystem, path: &str) -> ActorHealth {
    at(system, path).unwrap_or_else(|| panic!("no health entry at {path}: {:?}", system.health()))
}

/// A driver whose start and stop hooks, and whose `hold` handler, wait for gates.
struct Driver {
    start_gate: Option<oneshot::Receiver<()>>,
    stop_gate: Option<oneshot::Receiver<()>>,
    ticks: u32,
}

fn driver() -> Driver {
    Driver {
        start_gate: None,
        stop_gate: None,
        ticks: 0,
    }
}

#[actor]
impl Driver {
    #[on_start]
    async fn start(&mut self) {
        if let Some(gate) = self.start_gate.take() {
            let _ = gate.await;
        }
    }

    /// Stuck until `gate` opens (a hung bus read).
    #[handler]
    async fn hold(&mut self, gate: oneshot::Receiver<()>) {
        let _ = gate.await;
    }

    #[handler]
    fn tick(&mut self) {
        self.ticks += 1;
    }

    #[handler]
    fn ticks(&self) -> u32 {
        self.ticks
    }

    #[on_stop]
    async fn stop(&mut self) {
        if let Some(gate) = self.stop_gate.take() {
            let _ = gate.await;
        }
    }
}

// ---- states --------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn an_actor_is_starting_while_its_start_hook_waits_then_running() {
    let system = ActorSystem::new("test");
    let (open, gate) = oneshot::channel();
    let actor = system
        .builder(Driver {
            start_gate: Some(gate),
            ..driver()
        })
        .name("driver")
        .spawn()
        .unwrap();
    settle().await;
    let starting = health(&system, "/driver");
    assert_eq!(starting.state, ActorState::Starting);
    assert_eq!(starting.actor, *actor.label());
    assert!(
        starting.actor_type.ends_with("Driver"),
        "{}",
        starting.actor_type
    );
    assert_eq!(
        starting.in_handler_for, None,
        "a start hook is not a handler"
    );

    open.send(()).unwrap();
    settle().await;
    assert_eq!(health(&system, "/driver").state, ActorState::Running);
}

#[tokio::test(start_paused = true)]
async fn an_actor_is_stopping_while_its_stop_hook_runs_and_is_not_listed_once_gone() {
    let system = ActorSystem::new("test");
    let (open, gate) = oneshot::channel();
    let stopping = system
        .builder(Driver {
            stop_gate: Some(gate),
            ..driver()
        })
        .name("stopping")
        .start()
        .await
        .unwrap();
    let other = system
        .builder(driver())
        .name("other")
        .start()
        .await
        .unwrap();
    assert_eq!(
        system.health().iter().map(|h| &*h.path).collect::<Vec<_>>(),
        ["/stopping", "/other"],
        "oldest first"
    );

    stopping.stop();
    settle().await;
    assert_eq!(health(&system, "/stopping").state, ActorState::Stopping);
    open.send(()).unwrap();
    assert_eq!(stopping.stopped().await, StopReason::Stopped);
    assert!(
        at(&system, "/stopping").is_none(),
        "an ended actor is not listed"
    );
    assert_eq!(health(&system, "/other").state, ActorState::Running);

    other.kill();
    other.stopped().await;
    assert!(system.health().is_empty(), "{:?}", system.health());
}

/// A sensor that panics when told to.
struct Sensor;

#[actor]
impl Sensor {
    #[handler]
    fn glitch(&mut self) {
        panic!("sensor glitch");
    }

    #[handler]
    fn read(&self) -> u32 {
        7
    }
}

/// Supervises one `Sensor` at `/parent/sensor` with `supervision`.
struct Parent {
    supervision: Supervision,
}

#[actor]
impl Parent {
    #[on_start]
    async fn start(&mut self, ctx: &mut Context<Self>) -> Result<(), SpawnError> {
        ctx.supervise(self.supervision);
        ctx.child(|| Sensor).name("sensor").start().await?;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_supervised_panic_shows_restarting_in_the_backoff_then_counts_the_restart() {
    let system = ActorSystem::new("test");
    let one_second = Duration::from_secs(1);
    let supervision =
        Supervision::one_for_one().backoff(Backoff::exponential(one_second, one_second));
    let _parent = system
        .builder(Parent { supervision })
        .name("parent")
        .start()
        .await
        .unwrap();
    let sensor = system.lookup::<Sensor>("/parent/sensor").unwrap();
    assert_eq!(sensor.read().await.unwrap(), 7);
    let before = health(&system, "/parent/sensor");
    assert_eq!(
        (before.state, before.restarts, before.last_failure),
        (ActorState::Running, 0, None)
    );

    sensor.glitch().await.unwrap();
    settle().await;
    // In the second of backoff before the restart.
    let waiting = health(&system, "/parent/sensor");
    assert_eq!(waiting.state, ActorState::Restarting);
    assert_eq!(waiting.in_handler_for, None);
    advance(Duration::from_millis(900)).await;
    assert_eq!(
        health(&system, "/parent/sensor").state,
        ActorState::Restarting
    );

    advance(Duration::from_millis(100)).await;
    let after = health(&system, "/parent/sensor");
    assert_eq!(after.state, ActorState::Running);
    assert_eq!(after.restarts, 1);
    assert_eq!(
        after.last_failure,
        Some(StopReason::Panicked {
            handler: "glitch",
            message: "sensor glitch".into(),
        })
    );
    assert_eq!(after.actor, *sensor.label());
    // The same actor, and its counts go on over instances.
    assert_eq!(sensor.read().await.unwrap(), 7);
    let counted = health(&system, "/parent/sensor");
    assert_eq!(counted.restarts, 1);
    // read, glitch (it panicked, but it left the mailbox and ended), read.
    assert_eq!(counted.handled, 3, "{counted:?}");
}

// ---- mailbox, handled, time in handler -----------------------------------------------------

#[tokio::test(start_paused = true)]
async fn mailbox_len_and_handled_count_messages_behind_a_stuck_handler() {
    let system = ActorSystem::new("test");
    let actor = system
        .builder(driver())
        .name("driver")
        .start()
        .await
        .unwrap();
    for _ in 0..3 {
        actor.tick().await.unwrap();
    }
    assert_eq!(actor.ticks().await.unwrap(), 3);
    let idle = health(&system, "/driver");
    assert_eq!(
        (idle.handled, idle.mailbox_len),
        (4, 0),
        "3 tells and an ask"
    );
    assert_eq!(idle.in_handler_for, None);

    let (open, gate) = oneshot::channel();
    actor.hold(gate).await.unwrap();
    settle().await;
    for _ in 0..5 {
        actor.tick().await.unwrap();
    }
    let stuck = health(&system, "/driver");
    assert_eq!(stuck.mailbox_len, 5, "five ticks wait behind `hold`");
    assert_eq!(stuck.handled, 4, "`hold` is not handled yet");
    assert_eq!(
        stuck.in_handler_for,
        Some(Duration::ZERO),
        "the first report sees it start"
    );

    open.send(()).unwrap();
    assert_eq!(actor.ticks().await.unwrap(), 8);
    let done = health(&system, "/driver");
    assert_eq!((done.handled, done.mailbox_len), (11, 0));
    assert_eq!(done.in_handler_for, None);
}

#[tokio::test(start_paused = true)]
async fn mailbox_len_counts_a_burst_the_actor_took_in_one_go() {
    let system = ActorSystem::new("test");
    let actor = system
        .builder(driver())
        .name("driver")
        .start()
        .await
        .unwrap();
    // Sent together, before the actor runs: it takes all six from its mailbox at once, then
    // sticks in the first. Five are still waiting to be handled.
    let (open, gate) = oneshot::channel();
    actor.hold(gate).await.unwrap();
    for _ in 0..5 {
        actor.tick().await.unwrap();
    }
    settle().await;
    let stuck = health(&system, "/driver");
    assert!(stuck.in_handler_for.is_some());
    assert_eq!(
        stuck.mailbox_len, 5,
        "five ticks wait behind `hold`: {stuck:?}"
    );
    open.send(()).unwrap();
    assert_eq!(actor.ticks().await.unwrap(), 5);
}

#[tokio::test(start_paused = true)]
async fn in_handler_for_grows_while_a_handler_is_stuck() {
    let system = ActorSystem::new("test");
    let actor = system
        .builder(driver())
        .name("driver")
        .start()
        .await
        .unwrap();
    let (open, gate) = oneshot::channel();
    actor.hold(gate).await.unwrap();
    settle().await;

    let first = health(&system, "/driver").in_handler_for.unwrap();
    advance(Duration::from_secs(3)).await;
    let second = health(&system, "/driver").in_handler_for.unwrap();
    assert_eq!(first, Duration::ZERO);
    assert!(
        second >= Duration::from_secs(3) && second < Duration::from_millis(3100),
        "{second:?}"
    );
    advance(Duration::from_secs(2)).await;
    let third = health(&system, "/driver").in_handler_for.unwrap();
    assert!(third >= second + Duration::from_secs(2), "{third:?}");

    open.send(()).unwrap();
    settle().await;
    assert_eq!(health(&system, "/driver").in_handler_for, None);

    // The next stuck call is timed from its own start, not the last one's.
    let (_open, gate) = oneshot::channel();
    actor.hold(gate).await.unwrap();
    settle().await;
    assert_eq!(
        health(&system, "/driver").in_handler_for,
        Some(Duration::ZERO)
    );
}

#[tokio::test(start_paused = true)]
async fn many_busy_actors_are_each_timed_and_forgotten_when_they_end() {
    // Many at once was the quadratic case: each report looked every busy actor up in the list
    // of running ones. Now a report is one pass; here its results must stay right at scale.
    const ACTORS: usize = 2_000;
    let system = ActorSystem::new("test");
    let mut gates = Vec::new();
    let mut actors = Vec::new();
    for _ in 0..ACTORS {
        let actor = system.spawn(driver());
        let (open, gate) = oneshot::channel();
        actor.hold(gate).await.unwrap();
        gates.push(open);
        actors.push(actor);
    }
    let all_busy = || {
        let report = system.health();
        report.len() == ACTORS && report.iter().all(|h| h.in_handler_for.is_some())
    };
    for _ in 0..1000 {
        if all_busy() {
            break;
        }
        tokio::task::yield_now().await;
    }
    let first = system.health();
    assert_eq!(first.len(), ACTORS);
    assert!(
        first
            .iter()
            .all(|h| h.in_handler_for == Some(Duration::ZERO))
    );

    advance(Duration::from_secs(2)).await;
    assert!(
        system
            .health()
            .iter()
            .all(|h| h.in_handler_for >= Some(Duration::from_secs(2)))
    );

    // Half of them finish their handler and half of those end; the rest are still stuck.
    let mut shut = Vec::new();
    for (n, open) in gates.drain(..).enumerate() {
        if n % 2 == 0 {
            open.send(()).unwrap();
            if n % 4 == 0 {
                actors[n].kill();
            }
        } else {
            shut.push(open);
        }
    }
    for _ in 0..1000 {
        if system.health().len() == ACTORS - ACTORS / 4 {
            break;
        }
        tokio::task::yield_now().await;
    }
    settle().await;
    let report = system.health();
    assert_eq!(report.len(), ACTORS - ACTORS / 4);
    let stuck = report.iter().filter(|h| h.in_handler_for.is_some()).count();
    assert_eq!(stuck, ACTORS / 2);
}

// ---- stalls --------------------------------------------------------------------------------

/// Busy most of the time, but each call is short: a tick every 300 ms, 200 ms of work each.
struct Quick {
    runs: Arc<Mutex<u32>>,
}

#[actor]
impl Quick {
    #[on_start]
    fn start(&mut self, ctx: &mut Context<Self>) {
        ctx.every(Duration::from_millis(300), |me| me.work());
    }

    #[handler]
    async fn work(&mut self) {
        tokio::time::sleep(Duration::from_millis(200)).await;
        *self.runs.lock().unwrap() += 1;
    }
}

/// Every stall reported so far, without waiting.
fn drain(stalls: &mut BoxStream<'static, Stall>) -> Vec<Stall> {
    std::iter::from_fn(|| stalls.next().now_or_never().flatten()).collect()
}

#[tokio::test(start_paused = true)]
async fn stalls_reports_a_stuck_handler_once_per_call_and_never_a_quick_actor() {
    let system = ActorSystem::new("test");
    let threshold = Duration::from_secs(1);
    let mut stalls = system.stalls(threshold);
    let quick_runs = Arc::new(Mutex::new(0));
    let _quick = system
        .builder(Quick {
            runs: Arc::clone(&quick_runs),
        })
        .name("quick")
        .start()
        .await
        .unwrap();
    let actor = system
        .builder(driver())
        .name("driver")
        .start()
        .await
        .unwrap();
    actor.tick().await.unwrap();

    let (open, gate) = oneshot::channel();
    actor.hold(gate).await.unwrap();
    advance(Duration::from_millis(500)).await;
    assert!(drain(&mut stalls).is_empty(), "not stuck long enough yet");

    advance(Duration::from_secs(5)).await;
    let reported = drain(&mut stalls);
    assert_eq!(
        reported.len(),
        1,
        "one stall for one stuck call: {reported:?}"
    );
    let stall = &reported[0];
    assert_eq!(&*stall.path, "/driver");
    assert_eq!(stall.actor, *actor.label());
    assert_eq!(stall.handled, 1, "one message was handled before it stuck");
    // Sampled every quarter threshold: reported between 1 and 1.25 thresholds.
    assert!(
        stall.stuck_for >= threshold && stall.stuck_for <= threshold.mul_f64(1.25),
        "{:?}",
        stall.stuck_for
    );

    // Unstuck, then stuck again: a new call, a new stall.
    open.send(()).unwrap();
    settle().await;
    let (_open, gate) = oneshot::channel();
    actor.hold(gate).await.unwrap();
    advance(Duration::from_secs(3)).await;
    let again = drain(&mut stalls);
    assert_eq!(again.len(), 1, "{again:?}");
    assert_eq!((&*again[0].path, again[0].handled), ("/driver", 2));

    advance(Duration::from_secs(5)).await;
    assert!(drain(&mut stalls).is_empty(), "still the same call");
    assert!(
        *quick_runs.lock().unwrap() > 20,
        "the quick actor kept working all along"
    );
}

#[tokio::test(start_paused = true)]
async fn health_reports_the_pool_and_its_workers() {
    struct Worker;
    #[actor]
    impl Worker {
        #[handler]
        fn ping(&self) {}
    }
    let system = ActorSystem::new("test");
    let pool = system.pool(2, || Worker).name("workers").spawn().unwrap();
    for _ in 0..4 {
        pool.ping().ask().await.unwrap();
    }
    let report = system.health();
    assert_eq!(report.len(), 3, "{report:?}");
    assert_eq!(&*report[0].path, "/workers");
    for (entry, worker) in report[1..].iter().zip(pool.workers()) {
        assert_eq!(&*entry.path, worker.path());
        assert!(entry.path.starts_with("/workers/$"));
        assert_eq!(entry.state, ActorState::Running);
        assert_eq!(entry.handled, 2, "round-robin: two each");
    }
}
