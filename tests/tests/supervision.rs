//! Supervision: the three strategies, restart policies, the restart limit and its window,
//! backoff on the paused clock, what counts as a failure, restarts that keep the mailbox and
//! every ref, and children stopping before their parent in reverse start order.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use compaktor::ActorLabel;
use compaktor::prelude::*;
use compaktor::testkit::{TestProbe, advance, settle};
use compaktor_tests::{Log, ended, log, take};
use tokio::sync::oneshot;
use tokio::time::Instant;

fn name(label: &ActorLabel) -> &str {
    label.name.as_deref().unwrap_or("?")
}

/// A stop reason, short enough to compare event logs with.
fn kind(reason: &StopReason) -> String {
    match reason {
        StopReason::Stopped => "stopped".into(),
        StopReason::Killed => "killed".into(),
        StopReason::Released => "released".into(),
        StopReason::StartFailed(_) => "start failed".into(),
        StopReason::Panicked { .. } => "panicked".into(),
        StopReason::Failed { .. } => "failed".into(),
        StopReason::Escalated { child, reason } => {
            format!("escalated by {} ({})", name(child), kind(reason))
        }
        StopReason::LinkFailed { peer, .. } => format!("link to {} failed", name(peer)),
        StopReason::SiblingFailed { sibling } => format!("sibling {} failed", name(sibling)),
        other => other.to_string(),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("bad reading {0}")]
struct BadReading(u32);

/// A supervised child that logs its hooks.
struct Worker {
    name: &'static str,
    log: Log,
    bumps: u32,
    /// What the failure hook answers to a told `Err`.
    on_err: FailureAction,
}

fn worker(name: &'static str, log: &Log) -> impl FnMut() -> Worker + Send + 'static {
    worker_with(name, log, FailureAction::Fail)
}

fn worker_with(
    name: &'static str,
    log: &Log,
    on_err: FailureAction,
) -> impl FnMut() -> Worker + Send + 'static {
    let log = log.clone();
    move || Worker {
        name,
        log: log.clone(),
        bumps: 0,
        on_err,
    }
}

#[actor]
impl Worker {
    #[on_restart]
    fn restarted(&mut self, info: &RestartInfo, ctx: &mut Context<Self>) {
        assert_eq!(ctx.restart_count(), info.count);
        log(
            &self.log,
            format!(
                "{} restart {} after {}",
                self.name,
                info.count,
                kind(&info.reason)
            ),
        );
    }

    #[on_start]
    fn start(&mut self, ctx: &mut Context<Self>) {
        log(
            &self.log,
            format!("start {}#{}", self.name, ctx.restart_count()),
        );
    }

    #[on_stop]
    fn stop(&mut self, reason: &StopReason) {
        log(&self.log, format!("stop {} ({})", self.name, kind(reason)));
    }

    #[on_failure]
    fn failed(&mut self, failure: &HandlerFailure) -> FailureAction {
        assert_eq!(failure.handler(), "fail");
        self.on_err
    }

    #[handler]
    fn crash(&mut self) {
        panic!("{} crashed", self.name);
    }

    #[handler]
    fn fail(&mut self, reading: u32) -> Result<(), BadReading> {
        Err(BadReading(reading))
    }

    /// Counts calls on this instance: a fresh instance starts again at 1.
    #[handler]
    fn bump(&mut self) -> u32 {
        self.bumps += 1;
        self.bumps
    }

    #[handler]
    fn restarts(&self, ctx: &mut Context<Self>) -> u32 {
        ctx.restart_count()
    }

    #[handler]
    fn quit(&mut self, ctx: &mut Context<Self>) {
        ctx.stop();
    }
}

/// Runs a closure on the parent's context: how the tests spawn children from outside.
type Setup = Box<dyn FnOnce(&mut Context<Parent>) + Send>;

/// A supervisor whose children the test adds.
struct Parent {
    supervision: Supervision,
    log: Log,
}

fn parent(supervision: Supervision, log: &Log) -> Parent {
    Parent {
        supervision,
        log: log.clone(),
    }
}

#[actor]
impl Parent {
    #[on_restart]
    fn restarted(&mut self, info: &RestartInfo) {
        log(
            &self.log,
            format!("parent restart {} after {}", info.count, kind(&info.reason)),
        );
    }

    #[on_start]
    fn start(&mut self, ctx: &mut Context<Self>) {
        ctx.supervise(self.supervision);
    }

    #[on_stop]
    fn stop(&mut self, reason: &StopReason) {
        log(&self.log, format!("stop parent ({})", kind(reason)));
    }

    #[handler]
    fn run(&mut self, setup: Setup, ctx: &mut Context<Self>) {
        setup(ctx);
    }

    #[handler]
    fn children(&self, ctx: &mut Context<Self>) -> usize {
        ctx.child_count()
    }
}

/// Spawns a child of `parent` with `spawn`, on the parent's task.
async fn spawn_child<C: Actor>(
    parent: &ActorRef<Parent>,
    spawn: impl FnOnce(&mut Context<Parent>) -> Result<ActorRef<C>, SpawnError> + Send + 'static,
) -> Result<ActorRef<C>, SpawnError> {
    let (tx, rx) = oneshot::channel();
    parent
        .run(Box::new(move |ctx: &mut Context<Parent>| {
            let _ = tx.send(spawn(ctx));
        }))
        .ask()
        .await
        .expect("the parent is running");
    rx.await.expect("the setup ran")
}

/// A supervisor that starts its workers in order from its start hook.
struct Team {
    supervision: Supervision,
    members: Vec<(&'static str, RestartPolicy)>,
    log: Log,
}

#[actor]
impl Team {
    #[on_start]
    async fn start(&mut self, ctx: &mut Context<Self>) -> Result<(), SpawnError> {
        ctx.supervise(self.supervision);
        for &(name, policy) in &self.members {
            ctx.child(worker(name, &self.log))
                .name(name)
                .restart(policy)
                .start()
                .await?;
        }
        Ok(())
    }

    #[on_stop]
    fn stop(&mut self, reason: &StopReason) {
        log(&self.log, format!("stop team ({})", kind(reason)));
    }
}

/// A team of workers `a`, `b`, `c` (permanent) under `supervision`, and their refs.
async fn team_abc(
    system: &ActorSystem,
    supervision: Supervision,
    log: &Log,
) -> (ActorRef<Team>, [ActorRef<Worker>; 3]) {
    let team = system
        .builder(Team {
            supervision,
            members: ["a", "b", "c"]
                .map(|name| (name, RestartPolicy::Permanent))
                .to_vec(),
            log: log.clone(),
        })
        .name("team")
        .start()
        .await
        .expect("the team starts");
    let members = ["a", "b", "c"].map(|name| {
        system
            .lookup::<Worker>(&format!("/team/{name}"))
            .expect("a started child is registered")
    });
    assert_eq!(take(log), ["start a#0", "start b#0", "start c#0"]);
    (team, members)
}

// ---- strategies ----------------------------------------------------------------------------

#[tokio::test]
async fn one_for_one_restarts_only_the_failed_child() {
    let log = Log::default();
    let system = ActorSystem::new("test");
    let (_team, [a, b, c]) = team_abc(&system, Supervision::one_for_one(), &log).await;

    b.crash().await.unwrap();
    // Asked after the crash, so answered by the new instance.
    assert_eq!(b.restarts().await.unwrap(), 1);
    assert_eq!(a.restarts().await.unwrap(), 0);
    assert_eq!(c.restarts().await.unwrap(), 0);
    assert_eq!(
        take(&log),
        [
            "stop b (panicked)",
            "b restart 1 after panicked",
            "start b#1"
        ]
    );
}

#[tokio::test]
async fn one_for_all_stops_the_others_in_reverse_order_and_restarts_all_in_start_order() {
    let log = Log::default();
    let system = ActorSystem::new("test");
    let (_team, [a, b, c]) = team_abc(&system, Supervision::one_for_all(), &log).await;

    b.crash().await.unwrap();
    assert_eq!(b.restarts().await.unwrap(), 1);
    assert_eq!(a.restarts().await.unwrap(), 1);
    assert_eq!(c.restarts().await.unwrap(), 1);
    assert_eq!(
        take(&log),
        [
            "stop b (panicked)",
            "stop c (sibling b failed)",
            "stop a (sibling b failed)",
            "a restart 1 after sibling b failed",
            "start a#1",
            "b restart 1 after panicked",
            "start b#1",
            "c restart 1 after sibling b failed",
            "start c#1",
        ]
    );
}

#[tokio::test]
async fn rest_for_one_restarts_the_failed_child_and_those_started_after_it() {
    let log = Log::default();
    let system = ActorSystem::new("test");
    let (_team, [a, b, c]) = team_abc(&system, Supervision::rest_for_one(), &log).await;

    b.crash().await.unwrap();
    assert_eq!(b.restarts().await.unwrap(), 1);
    assert_eq!(c.restarts().await.unwrap(), 1);
    assert_eq!(a.restarts().await.unwrap(), 0);
    assert_eq!(
        take(&log),
        [
            "stop b (panicked)",
            "stop c (sibling b failed)",
            "b restart 1 after panicked",
            "start b#1",
            "c restart 1 after sibling b failed",
            "start c#1",
        ]
    );
}

// ---- restart policies ----------------------------------------------------------------------

async fn one_child(
    system: &ActorSystem,
    supervision: Supervision,
    policy: RestartPolicy,
    log: &Log,
) -> (ActorRef<Parent>, ActorRef<Worker>) {
    let parent = system
        .builder(parent(supervision, log))
        .name("parent")
        .start()
        .await
        .unwrap();
    let make = worker("w", log);
    let child = spawn_child(&parent, move |ctx| {
        ctx.child(make).name("w").restart(policy).spawn()
    })
    .await
    .unwrap();
    assert_eq!(child.restarts().await.unwrap(), 0);
    assert_eq!(take(log), ["start w#0"]);
    (parent, child)
}

#[tokio::test]
async fn a_permanent_child_restarts_after_a_failure_and_after_stopping_itself() {
    let log = Log::default();
    let system = ActorSystem::new("test");
    let (parent, w) = one_child(
        &system,
        Supervision::default(),
        RestartPolicy::Permanent,
        &log,
    )
    .await;

    w.quit().await.unwrap();
    assert_eq!(w.restarts().await.unwrap(), 1);
    w.crash().await.unwrap();
    assert_eq!(w.restarts().await.unwrap(), 2);
    assert_eq!(
        take(&log),
        [
            "stop w (stopped)",
            "w restart 1 after stopped",
            "start w#1",
            "stop w (panicked)",
            "w restart 2 after panicked",
            "start w#2",
        ]
    );

    // A stop from outside is final, whatever the policy.
    w.stop();
    assert_eq!(ended(&w).await, StopReason::Stopped);
    assert_eq!(parent.children().await.unwrap(), 0);
    assert_eq!(take(&log), ["stop w (stopped)"]);
}

/// `Context::stop` with messages queued behind it: a permanent child's next instance handles
/// them (its mailbox is kept, as after any restart); a transient child, or an actor without a
/// supervisor, ends and they become dead letters.
#[tokio::test]
async fn what_an_actor_that_stops_itself_left_queued_goes_to_its_next_instance_or_dead_letters() {
    // Permanent: restarted, and the three bumps reach the new instance.
    let log = Log::default();
    let system = ActorSystem::new("test");
    let (_parent, w) = one_child(
        &system,
        Supervision::default(),
        RestartPolicy::Permanent,
        &log,
    )
    .await;
    // On this current-thread runtime all four are queued before the child runs again.
    w.quit().await.unwrap();
    for _ in 0..3 {
        w.bump().tell().await.unwrap();
    }
    assert_eq!(
        w.bump().await.unwrap(),
        4,
        "the next instance handled all three"
    );
    assert_eq!(w.restarts().await.unwrap(), 1);
    assert_eq!(system.dead_letter_count(), 0);

    // Transient: it ends, and the three bumps are dead letters.
    let log = Log::default();
    let system = ActorSystem::new("test");
    let (_parent, w) = one_child(
        &system,
        Supervision::default(),
        RestartPolicy::Transient,
        &log,
    )
    .await;
    w.quit().await.unwrap();
    for _ in 0..3 {
        w.bump().tell().await.unwrap();
    }
    assert_eq!(ended(&w).await, StopReason::Stopped);
    assert_eq!(system.dead_letter_count(), 3);

    // No supervisor: the same.
    let system = ActorSystem::new("test");
    let w = system.spawn(worker("w", &log)());
    w.quit().await.unwrap();
    for _ in 0..3 {
        w.bump().tell().await.unwrap();
    }
    assert_eq!(ended(&w).await, StopReason::Stopped);
    assert_eq!(system.dead_letter_count(), 3);
}

#[tokio::test]
async fn a_transient_child_restarts_after_a_failure_but_not_after_stopping_itself() {
    let log = Log::default();
    let system = ActorSystem::new("test");
    let (parent, w) = one_child(
        &system,
        Supervision::default(),
        RestartPolicy::Transient,
        &log,
    )
    .await;

    w.crash().await.unwrap();
    assert_eq!(w.restarts().await.unwrap(), 1);
    w.quit().await.unwrap();
    assert_eq!(ended(&w).await, StopReason::Stopped);
    assert!(system.lookup::<Worker>("/parent/w").is_none());
    assert_eq!(parent.children().await.unwrap(), 0);
    assert!(parent.is_alive());
    assert_eq!(
        take(&log),
        [
            "stop w (panicked)",
            "w restart 1 after panicked",
            "start w#1",
            "stop w (stopped)",
        ]
    );
}

#[tokio::test]
async fn a_temporary_child_is_never_restarted() {
    let log = Log::default();
    let system = ActorSystem::new("test");
    let (parent, w) = one_child(
        &system,
        Supervision::default(),
        RestartPolicy::Temporary,
        &log,
    )
    .await;

    w.crash().await.unwrap();
    assert_eq!(
        ended(&w).await,
        StopReason::Panicked {
            handler: "crash",
            message: "w crashed".into()
        }
    );
    assert!(matches!(w.restarts().await, Err(AskError::Stopped { .. })));
    assert_eq!(parent.children().await.unwrap(), 0);
    assert_eq!(take(&log), ["stop w (panicked)"]);
}

// ---- what a restart keeps ------------------------------------------------------------------

/// Records `(n, restart count)` to a probe for every `record(n)`.
struct Recorder {
    probe: ActorRef<compaktor::testkit::Probe<(u32, u32)>>,
}

#[actor]
impl Recorder {
    #[handler]
    async fn record(&mut self, n: u32, ctx: &mut Context<Self>) {
        let restarts = ctx.restart_count();
        self.probe.record((n, restarts)).await.unwrap();
    }

    /// Waits for `gate`, then panics.
    #[handler]
    async fn fail_when(&mut self, gate: oneshot::Receiver<()>) {
        let _ = gate.await;
        panic!("bus glitch");
    }
}

#[tokio::test(start_paused = true)]
async fn a_restart_keeps_the_mailbox_and_every_ref() {
    let system = ActorSystem::new("test");
    let mut probe = TestProbe::<(u32, u32)>::new(&system);
    let log = Log::default();
    let one_second = Duration::from_secs(1);
    let supervision =
        Supervision::one_for_one().backoff(Backoff::exponential(one_second, one_second));
    let parent = system
        .builder(parent(supervision, &log))
        .name("parent")
        .start()
        .await
        .unwrap();
    let to = probe.actor_ref().clone();
    let recorder = spawn_child(&parent, move |ctx| {
        ctx.child(move || Recorder { probe: to.clone() })
            .name("recorder")
            .spawn()
    })
    .await
    .unwrap();
    let copy = recorder.clone();
    let looked_up = system.lookup::<Recorder>("/parent/recorder").unwrap();

    let (gate, held) = oneshot::channel();
    recorder.fail_when(held).await.unwrap();
    // Queued behind the handler that is about to fail.
    for n in 0..3 {
        recorder.record(n).await.unwrap();
    }
    gate.send(()).unwrap();
    settle().await;
    // The instance has failed; its restart waits a second of backoff. Sent meanwhile:
    assert!(recorder.is_alive());
    for n in 3..6 {
        copy.record(n).await.unwrap();
    }
    probe.expect_no_message(Duration::from_millis(900)).await;

    // All six are handled, in order, by the new instance (restart count 1).
    for n in 0..6 {
        probe.expect_eq((n, 1), one_second).await;
    }
    // The refs made before the restart still reach it, and none of the messages was lost.
    looked_up.record(6).await.unwrap();
    probe.expect_eq((6, 1), one_second).await;
    assert_eq!(looked_up, recorder);
    assert_eq!(
        system.lookup::<Recorder>("/parent/recorder"),
        Some(recorder.clone())
    );
    assert_eq!(system.dead_letter_count(), 0);
}

#[tokio::test]
async fn a_restart_makes_fresh_state_and_tells_the_restart_hook_why_and_how_often() {
    let log = Log::default();
    let system = ActorSystem::new("test");
    let (_parent, w) = one_child(
        &system,
        Supervision::default(),
        RestartPolicy::Permanent,
        &log,
    )
    .await;
    assert_eq!(w.bump().await.unwrap(), 1);
    assert_eq!(w.bump().await.unwrap(), 2);

    w.crash().await.unwrap();
    assert_eq!(
        w.bump().await.unwrap(),
        1,
        "a restart starts from the factory"
    );
    w.fail(7).tell().await.unwrap();
    assert_eq!(w.bump().await.unwrap(), 1);
    assert_eq!(w.restarts().await.unwrap(), 2);
    assert_eq!(
        take(&log),
        [
            "stop w (panicked)",
            "w restart 1 after panicked",
            "start w#1",
            "stop w (failed)",
            "w restart 2 after failed",
            "start w#2",
        ]
    );
}

/// Keeps every `RestartInfo` its restart hook is handed.
struct Phoenix {
    infos: Arc<Mutex<Vec<RestartInfo>>>,
}

#[actor]
impl Phoenix {
    #[on_restart]
    fn restarted(&mut self, info: &RestartInfo) {
        self.infos.lock().unwrap().push(info.clone());
    }

    #[handler]
    fn crash(&mut self) {
        panic!("burnt");
    }

    #[handler]
    fn fail(&mut self) -> Result<(), BadReading> {
        Err(BadReading(42))
    }

    #[handler]
    fn ping(&self) {}
}

#[tokio::test]
async fn the_restart_hook_gets_the_exact_reason() {
    let log = Log::default();
    let system = ActorSystem::new("test");
    let parent = system
        .builder(parent(Supervision::default(), &log))
        .name("parent")
        .start()
        .await
        .unwrap();
    let infos = Arc::new(Mutex::new(Vec::new()));
    let seen = infos.clone();
    let phoenix = spawn_child(&parent, move |ctx| {
        ctx.child(move || Phoenix {
            infos: seen.clone(),
        })
        .spawn()
    })
    .await
    .unwrap();
    phoenix.ping().ask().await.unwrap();
    assert!(infos.lock().unwrap().is_empty(), "not on the first start");

    phoenix.crash().await.unwrap();
    phoenix.fail().tell().await.unwrap();
    phoenix.ping().ask().await.unwrap();
    let infos = infos.lock().unwrap().clone();
    let seen: Vec<_> = infos.iter().map(|i| (i.reason.clone(), i.count)).collect();
    assert_eq!(
        seen,
        [
            (
                StopReason::Panicked {
                    handler: "crash",
                    message: "burnt".into()
                },
                1
            ),
            (
                StopReason::Failed {
                    handler: "fail",
                    error: "bad reading 42".into()
                },
                2
            ),
        ]
    );
}

// ---- restart limit and escalation ----------------------------------------------------------

/// Sits between a root and a worker: supervises `w` with at most 2 restarts in 10 s.
struct Middle {
    log: Log,
}

#[actor]
impl Middle {
    #[on_restart]
    fn restarted(&mut self, info: &RestartInfo) {
        log(
            &self.log,
            format!("middle restart {} after {}", info.count, kind(&info.reason)),
        );
    }

    #[on_start]
    async fn start(&mut self, ctx: &mut Context<Self>) -> Result<(), SpawnError> {
        ctx.supervise(Supervision::one_for_one().max_restarts(2, Duration::from_secs(10)));
        ctx.child(worker("w", &self.log)).name("w").start().await?;
        Ok(())
    }

    #[on_stop]
    fn stop(&mut self, reason: &StopReason) {
        log(&self.log, format!("stop middle ({})", kind(reason)));
    }

    #[handler]
    fn restarts(&self, ctx: &mut Context<Self>) -> u32 {
        ctx.restart_count()
    }
}

#[tokio::test]
async fn past_its_restart_limit_a_supervisor_fails_and_its_parent_restarts_it() {
    let log = Log::default();
    let system = ActorSystem::new("test");
    let root = system
        .builder(parent(Supervision::default(), &log))
        .name("root")
        .start()
        .await
        .unwrap();
    let middle_log = log.clone();
    let middle = spawn_child(&root, move |ctx| {
        ctx.child(move || Middle {
            log: middle_log.clone(),
        })
        .name("middle")
        .spawn()
    })
    .await
    .unwrap();
    assert_eq!(middle.restarts().await.unwrap(), 0);
    let w = system.lookup::<Worker>("/root/middle/w").unwrap();

    // Two restarts are within the limit.
    for expected in 1..=2 {
        w.crash().await.unwrap();
        assert_eq!(w.restarts().await.unwrap(), expected);
    }
    assert_eq!(middle.restarts().await.unwrap(), 0);
    take(&log);

    // The third failure in the window is one too many: the middle supervisor fails with
    // `Escalated`, and the root restarts it (which starts a new `w`).
    w.crash().await.unwrap();
    assert_eq!(
        ended(&w).await,
        StopReason::Panicked {
            handler: "crash",
            message: "w crashed".into()
        }
    );
    assert_eq!(middle.restarts().await.unwrap(), 1);
    assert_eq!(
        take(&log),
        [
            "stop w (panicked)",
            "stop middle (escalated by w (panicked))",
            "middle restart 1 after escalated by w (panicked)",
            "start w#0",
        ]
    );
    let new_w = system.lookup::<Worker>("/root/middle/w").unwrap();
    assert_ne!(new_w.id(), w.id());
    assert_eq!(new_w.restarts().await.unwrap(), 0);
    assert!(root.is_alive());
}

#[tokio::test]
async fn a_top_level_supervisor_past_its_limit_stops_with_escalated() {
    let log = Log::default();
    let system = ActorSystem::new("test");
    let (parent, w) = one_child(
        &system,
        Supervision::one_for_one().max_restarts(1, Duration::from_secs(10)),
        RestartPolicy::Permanent,
        &log,
    )
    .await;
    w.crash().await.unwrap();
    assert_eq!(w.restarts().await.unwrap(), 1);
    w.crash().await.unwrap();
    assert_eq!(
        ended(&parent).await,
        StopReason::Escalated {
            child: w.label().clone(),
            reason: Box::new(StopReason::Panicked {
                handler: "crash",
                message: "w crashed".into()
            }),
        }
    );
    assert!(!w.is_alive());
}

#[tokio::test(start_paused = true)]
async fn restarts_older_than_the_window_do_not_count() {
    let log = Log::default();
    let system = ActorSystem::new("test");
    let (parent, w) = one_child(
        &system,
        Supervision::one_for_one().max_restarts(2, Duration::from_secs(10)),
        RestartPolicy::Permanent,
        &log,
    )
    .await;
    for expected in 1..=2 {
        w.crash().await.unwrap();
        assert_eq!(w.restarts().await.unwrap(), expected);
    }
    advance(Duration::from_secs(11)).await;
    for expected in 3..=4 {
        w.crash().await.unwrap();
        assert_eq!(w.restarts().await.unwrap(), expected);
    }
    assert!(parent.is_alive());
    // Two in this window already: one more fails the parent.
    w.crash().await.unwrap();
    assert!(matches!(ended(&parent).await, StopReason::Escalated { .. }));
}

// ---- backoff ------------------------------------------------------------------------------

/// Logs the (paused) time of each crash and each start.
struct Timed {
    times: Arc<Mutex<Vec<(&'static str, Instant)>>>,
}

#[actor]
impl Timed {
    #[on_start]
    fn start(&mut self) {
        self.times.lock().unwrap().push(("start", Instant::now()));
    }

    #[handler]
    fn crash(&mut self) {
        self.times.lock().unwrap().push(("crash", Instant::now()));
        panic!("timed crash");
    }

    #[handler]
    fn restarts(&self, ctx: &mut Context<Self>) -> u32 {
        ctx.restart_count()
    }
}

/// Crashes a `Timed` child `crashes` times under `supervision`; the wait before each restart.
async fn restart_delays(supervision: Supervision, crashes: u32) -> Vec<Duration> {
    let log = Log::default();
    let system = ActorSystem::new("test");
    let parent = system
        .builder(parent(supervision, &log))
        .name("parent")
        .start()
        .await
        .unwrap();
    let times = Arc::new(Mutex::new(Vec::new()));
    let seen = times.clone();
    let timed = spawn_child(&parent, move |ctx| {
        ctx.child(move || Timed {
            times: seen.clone(),
        })
        .spawn()
    })
    .await
    .unwrap();
    for expected in 1..=crashes {
        timed.crash().await.unwrap();
        assert_eq!(timed.restarts().await.unwrap(), expected);
    }
    let times = times.lock().unwrap().clone();
    assert_eq!(times.len() as u32, 1 + 2 * crashes);
    times[1..]
        .chunks(2)
        .map(|pair| {
            assert_eq!((pair[0].0, pair[1].0), ("crash", "start"));
            pair[1].1 - pair[0].1
        })
        .collect()
}

/// `actual` is `expected` on tokio's millisecond timer wheel.
fn assert_about(actual: Duration, expected: Duration) {
    assert!(
        actual >= expected && actual <= expected + Duration::from_millis(1),
        "waited {actual:?}, expected {expected:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn restarts_wait_an_exponential_backoff_up_to_its_maximum() {
    let backoff = Backoff::exponential(Duration::from_millis(100), Duration::from_secs(1));
    let supervision = Supervision::one_for_one()
        .max_restarts(10, Duration::from_secs(60))
        .backoff(backoff);
    let delays = restart_delays(supervision, 6).await;
    let expected = [100, 200, 400, 800, 1000, 1000].map(Duration::from_millis);
    assert_eq!(delays.len(), expected.len());
    for (actual, expected) in delays.into_iter().zip(expected) {
        assert_about(actual, expected);
    }
}

#[tokio::test(start_paused = true)]
async fn without_backoff_a_restart_is_immediate() {
    let delays = restart_delays(Supervision::one_for_one(), 2).await;
    assert_eq!(delays, [Duration::ZERO, Duration::ZERO]);
}

#[tokio::test(start_paused = true)]
async fn jitter_spreads_each_delay_within_its_fraction() {
    let base = Duration::from_millis(200);
    let supervision = Supervision::one_for_one()
        .max_restarts(10, Duration::from_secs(60))
        .backoff(Backoff::exponential(base, base).jitter(0.5));
    for delay in restart_delays(supervision, 6).await {
        assert!(
            delay >= Duration::from_millis(100) && delay <= Duration::from_millis(301),
            "{delay:?} is not 200 ms ± 50%"
        );
    }
}

// ---- failures that count ------------------------------------------------------------------

#[tokio::test]
async fn a_told_error_resumed_by_the_failure_hook_keeps_the_instance() {
    let log = Log::default();
    let system = ActorSystem::new("test");
    let parent = system
        .builder(parent(Supervision::default(), &log))
        .name("parent")
        .start()
        .await
        .unwrap();
    let make = worker_with("w", &log, FailureAction::Resume);
    let w = spawn_child(&parent, move |ctx| ctx.child(make).name("w").spawn())
        .await
        .unwrap();
    assert_eq!(w.bump().await.unwrap(), 1);
    w.fail(1).tell().await.unwrap();
    assert_eq!(w.bump().await.unwrap(), 2, "the same instance goes on");
    assert_eq!(w.restarts().await.unwrap(), 0);
    assert_eq!(take(&log), ["start w#0"]);
}

#[tokio::test]
async fn a_told_error_the_failure_hook_stops_on_ends_the_child_for_good() {
    let log = Log::default();
    let system = ActorSystem::new("test");
    let parent = system
        .builder(parent(Supervision::default(), &log))
        .name("parent")
        .start()
        .await
        .unwrap();
    let make = worker_with("w", &log, FailureAction::Stop);
    let w = spawn_child(&parent, move |ctx| {
        ctx.child(make)
            .name("w")
            .restart(RestartPolicy::Permanent)
            .spawn()
    })
    .await
    .unwrap();
    w.fail(3).tell().await.unwrap();
    assert_eq!(
        ended(&w).await,
        StopReason::Failed {
            handler: "fail",
            error: "bad reading 3".into()
        }
    );
    assert_eq!(parent.children().await.unwrap(), 0);
    assert!(parent.is_alive());
    assert_eq!(take(&log), ["start w#0", "stop w (failed)"]);
}

#[tokio::test]
async fn a_told_error_the_failure_hook_escalates_fails_the_supervisor() {
    let log = Log::default();
    let system = ActorSystem::new("test");
    let parent = system
        .builder(parent(Supervision::default(), &log))
        .name("parent")
        .start()
        .await
        .unwrap();
    let make = worker_with("w", &log, FailureAction::Escalate);
    let w = spawn_child(&parent, move |ctx| ctx.child(make).name("w").spawn())
        .await
        .unwrap();
    w.fail(9).tell().await.unwrap();
    let failed = StopReason::Failed {
        handler: "fail",
        error: "bad reading 9".into(),
    };
    assert_eq!(ended(&w).await, failed);
    assert_eq!(
        ended(&parent).await,
        StopReason::Escalated {
            child: w.label().clone(),
            reason: Box::new(failed),
        }
    );
    assert_eq!(
        take(&log),
        [
            "start w#0",
            "stop w (failed)",
            "stop parent (escalated by w (failed))"
        ]
    );
}

/// Fails its start hook while `failures_left` is above zero.
struct Flaky {
    attempt: u32,
    failures_left: Arc<AtomicU32>,
    reasons: Arc<Mutex<Vec<StopReason>>>,
}

fn flaky(
    failures: u32,
) -> (
    impl FnMut() -> Flaky + Send + 'static,
    Arc<AtomicU32>,
    Arc<Mutex<Vec<StopReason>>>,
) {
    let failures_left = Arc::new(AtomicU32::new(failures));
    let reasons = Arc::new(Mutex::new(Vec::new()));
    let made = Arc::new(AtomicU32::new(0));
    let (left, seen) = (failures_left.clone(), reasons.clone());
    let factory = move || Flaky {
        attempt: made.fetch_add(1, Ordering::SeqCst) + 1,
        failures_left: left.clone(),
        reasons: seen.clone(),
    };
    (factory, failures_left, reasons)
}

#[actor]
impl Flaky {
    #[on_restart]
    fn restarted(&mut self, info: &RestartInfo) {
        self.reasons.lock().unwrap().push(info.reason.clone());
    }

    #[on_start]
    fn start(&mut self) -> Result<(), String> {
        let left = self.failures_left.load(Ordering::SeqCst);
        if left > 0 {
            self.failures_left.store(left - 1, Ordering::SeqCst);
            return Err(format!("no device (attempt {})", self.attempt));
        }
        Ok(())
    }

    #[handler]
    fn attempt(&self, ctx: &mut Context<Self>) -> (u32, u32) {
        (self.attempt, ctx.restart_count())
    }
}

#[tokio::test]
async fn a_failing_start_hook_counts_as_a_failure_and_is_restarted() {
    let log = Log::default();
    let system = ActorSystem::new("test");
    let parent = system
        .builder(parent(Supervision::default(), &log))
        .name("parent")
        .start()
        .await
        .unwrap();
    let (factory, _, reasons) = flaky(2);
    let device = spawn_child(&parent, move |ctx| {
        ctx.child(factory).name("device").spawn()
    })
    .await
    .unwrap();
    // Queued while it fails to start; handled by the third instance, which starts.
    assert_eq!(device.attempt().await.unwrap(), (3, 2));
    assert_eq!(
        *reasons.lock().unwrap(),
        [
            StopReason::StartFailed("no device (attempt 1)".into()),
            StopReason::StartFailed("no device (attempt 2)".into()),
        ]
    );
}

#[tokio::test]
async fn a_first_start_that_fails_while_awaited_is_reported_and_not_retried() {
    let log = Log::default();
    let system = ActorSystem::new("test");
    let parent = system
        .builder(parent(Supervision::default(), &log))
        .name("parent")
        .start()
        .await
        .unwrap();
    let (factory, left, _) = flaky(1);
    let (tx, rx) = oneshot::channel();
    parent
        .run(Box::new(move |ctx: &mut Context<Parent>| {
            let start = ctx.child(factory).name("device").start();
            tokio::spawn(async move {
                let _ = tx.send(start.await);
            });
        }))
        .ask()
        .await
        .unwrap();
    match rx.await.unwrap() {
        Err(SpawnError::StartFailed { actor, error }) => {
            assert_eq!(actor.name.as_deref(), Some("device"));
            assert_eq!(error.to_string(), "no device (attempt 1)");
        }
        other => panic!("expected StartFailed, got {other:?}"),
    }
    settle().await;
    assert_eq!(left.load(Ordering::SeqCst), 0);
    assert_eq!(parent.children().await.unwrap(), 0);
    assert!(system.lookup::<Flaky>("/parent/device").is_none());
}

#[tokio::test]
async fn start_hooks_that_keep_failing_escalate_past_the_limit() {
    let log = Log::default();
    let system = ActorSystem::new("test");
    let parent = system
        .builder(parent(
            Supervision::one_for_one().max_restarts(2, Duration::from_secs(10)),
            &log,
        ))
        .name("parent")
        .start()
        .await
        .unwrap();
    let (factory, _, reasons) = flaky(u32::MAX);
    let device = spawn_child(&parent, move |ctx| {
        ctx.child(factory).name("device").spawn()
    })
    .await
    .unwrap();
    assert_eq!(
        ended(&parent).await,
        StopReason::Escalated {
            child: device.label().clone(),
            reason: Box::new(StopReason::StartFailed("no device (attempt 3)".into())),
        }
    );
    assert_eq!(reasons.lock().unwrap().len(), 2);
}

// ---- stopping a parent ---------------------------------------------------------------------

/// A node of a tree of actors: starts its kids in order from its start hook.
#[derive(Clone)]
struct Node {
    name: &'static str,
    kids: Vec<Node>,
    log: Log,
}

fn node(name: &'static str, kids: Vec<Node>, log: &Log) -> Node {
    Node {
        name,
        kids,
        log: log.clone(),
    }
}

#[actor]
impl Node {
    #[on_start]
    async fn start(&mut self, ctx: &mut Context<Self>) -> Result<(), SpawnError> {
        log(&self.log, format!("start {}", self.name));
        for kid in self.kids.clone() {
            let name = kid.name;
            ctx.child(move || kid.clone()).name(name).start().await?;
        }
        Ok(())
    }

    #[on_stop]
    fn stop(&mut self, reason: &StopReason) {
        log(&self.log, format!("stop {} ({})", self.name, kind(reason)));
    }
}

#[tokio::test]
async fn stopping_a_parent_stops_its_children_first_in_reverse_start_order() {
    let log = Log::default();
    let system = ActorSystem::new("test");
    let tree = node(
        "root",
        vec![
            node("a", vec![], &log),
            node(
                "b",
                vec![node("b1", vec![], &log), node("b2", vec![], &log)],
                &log,
            ),
            node("c", vec![], &log),
        ],
        &log,
    );
    let root = system.builder(tree).name("root").start().await.unwrap();
    assert_eq!(
        take(&log),
        [
            "start root",
            "start a",
            "start b",
            "start b1",
            "start b2",
            "start c"
        ]
    );
    let b2 = system.lookup::<Node>("/root/b/b2").unwrap();

    root.stop();
    assert_eq!(ended(&root).await, StopReason::Stopped);
    assert_eq!(
        take(&log),
        [
            "stop c (stopped)",
            "stop b2 (stopped)",
            "stop b1 (stopped)",
            "stop b (stopped)",
            "stop a (stopped)",
            "stop root (stopped)",
        ]
    );
    assert!(!b2.is_alive());
    assert_eq!(system.live_actors(), 0);
}

#[tokio::test]
async fn killing_a_parent_kills_its_children_before_it_ends() {
    let log = Log::default();
    let system = ActorSystem::new("test");
    let tree = node(
        "root",
        vec![
            node("a", vec![], &log),
            node("b", vec![node("b1", vec![], &log)], &log),
        ],
        &log,
    );
    let root = system.builder(tree).name("root").start().await.unwrap();
    take(&log);
    root.kill();
    assert_eq!(ended(&root).await, StopReason::Killed);
    // Killed at once, not one after the other; but each parent still ends after its children.
    let stops = take(&log);
    assert_eq!(stops.len(), 4, "{stops:?}");
    for stop in ["stop a (killed)", "stop b1 (killed)", "stop b (killed)"] {
        assert!(stops[..3].iter().any(|s| s == stop), "{stops:?}");
    }
    let at = |stop: &str| stops.iter().position(|s| s == stop);
    assert!(at("stop b1 (killed)") < at("stop b (killed)"), "{stops:?}");
    assert_eq!(stops[3], "stop root (killed)");
    assert_eq!(system.live_actors(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_child_waiting_for_its_restart_stops_with_its_parent() {
    let log = Log::default();
    let system = ActorSystem::new("test");
    let backoff = Backoff::exponential(Duration::from_secs(5), Duration::from_secs(5));
    let (parent, w) = one_child(
        &system,
        Supervision::one_for_one().backoff(backoff),
        RestartPolicy::Permanent,
        &log,
    )
    .await;
    w.crash().await.unwrap();
    advance(Duration::from_secs(1)).await; // down, 4 s of backoff left
    parent.stop();
    assert_eq!(ended(&parent).await, StopReason::Stopped);
    assert!(matches!(ended(&w).await, StopReason::Panicked { .. }));
    advance(Duration::from_secs(10)).await;
    assert_eq!(take(&log), ["stop w (panicked)", "stop parent (stopped)"]);
    assert_eq!(system.live_actors(), 0);
}

// Top-level actors: spawned from a factory, the system supervises them like children; spawned
// from a value, a failure stops them, as `FailureAction::Fail` documents.

#[tokio::test]
async fn a_top_level_actor_spawned_from_a_factory_restarts_with_fresh_state_and_the_same_ref() {
    let log = Log::default();
    let system = ActorSystem::new("test");
    let top = system.spawn_with(worker("top", &log)).unwrap();
    assert_eq!(top.bump().await.unwrap(), 1);
    assert_eq!(top.bump().await.unwrap(), 2);

    // A panic: made again by the factory, behind the same ref.
    top.crash().await.unwrap();
    assert_eq!(top.bump().await.unwrap(), 1, "fresh state after the panic");
    // A told `Err` the failure hook answers with the default, `Fail`: the same.
    top.fail(7).tell().await.unwrap();
    assert_eq!(
        top.bump().await.unwrap(),
        1,
        "fresh state after the failure"
    );
    assert_eq!(top.restarts().await.unwrap(), 2);
    assert!(top.is_alive());
    assert_eq!(
        take(&log),
        [
            "start top#0",
            "stop top (panicked)",
            "top restart 1 after panicked",
            "start top#1",
            "stop top (failed)",
            "top restart 2 after failed",
            "start top#2",
        ]
    );

    // A stop from outside is final.
    top.stop();
    assert_eq!(ended(&top).await, StopReason::Stopped);
    assert_eq!(take(&log), ["stop top (stopped)"]);
    assert_eq!(system.live_actors(), 0);
}

#[tokio::test]
async fn a_top_level_actor_spawned_from_a_value_is_stopped_by_a_failure() {
    let log = Log::default();
    let system = ActorSystem::new("test");
    let failing = system.spawn(worker("value", &log)());
    failing.fail(7).tell().await.unwrap();
    assert_eq!(
        ended(&failing).await,
        StopReason::Failed {
            handler: "fail",
            error: "bad reading 7".into()
        }
    );
    let panicking = system.spawn(worker("value", &log)());
    panicking.crash().await.unwrap();
    assert!(matches!(
        ended(&panicking).await,
        StopReason::Panicked {
            handler: "crash",
            ..
        }
    ));
    assert!(!take(&log).iter().any(|line| line.contains("restart")));
}

#[tokio::test]
async fn past_its_restart_limit_a_factory_made_top_level_actor_stops_with_its_last_failure() {
    let log = Log::default();
    let system = ActorSystem::new("test");
    let top = system
        .builder_with(worker("top", &log))
        .name("top")
        .supervise(Supervision::one_for_one().max_restarts(2, Duration::from_secs(60)))
        .spawn()
        .unwrap();
    for restarts in 1..=2 {
        top.crash().await.unwrap();
        assert_eq!(top.restarts().await.unwrap(), restarts);
    }
    top.crash().await.unwrap();
    assert_eq!(
        ended(&top).await,
        StopReason::Panicked {
            handler: "crash",
            message: "top crashed".into()
        }
    );
    assert!(system.lookup::<Worker>("/top").is_none());
}

#[tokio::test]
async fn a_factory_made_top_level_actor_follows_its_restart_policy_and_is_not_restarted_by_shutdown()
 {
    let log = Log::default();
    let system = ActorSystem::new("test");
    let transient = system
        .builder_with(worker("transient", &log))
        .restart(RestartPolicy::Transient)
        .spawn()
        .unwrap();
    transient.crash().await.unwrap();
    assert_eq!(transient.restarts().await.unwrap(), 1);
    transient.quit().await.unwrap();
    assert_eq!(ended(&transient).await, StopReason::Stopped);

    let permanent = system.spawn_with(worker("permanent", &log)).unwrap();
    assert_eq!(permanent.bump().await.unwrap(), 1);
    let report = system.shutdown(Duration::from_secs(5)).await;
    assert_eq!((report.stopped, report.killed), (1, 0));
    assert_eq!(ended(&permanent).await, StopReason::Stopped);
}

/// Holds the shutdown at itself until the test opens its gate.
struct Gate;

#[actor]
impl Gate {
    #[handler]
    async fn hold(&mut self, entered: oneshot::Sender<()>, gate: oneshot::Receiver<()>) {
        let _ = entered.send(());
        let _ = gate.await;
    }
}

#[tokio::test]
async fn a_factory_made_top_level_actor_failing_during_shutdown_is_not_restarted() {
    let log = Log::default();
    let system = ActorSystem::new("test");
    let top = system.spawn_with(worker("top", &log)).unwrap();
    // Spawned later, so stopped first: the shutdown waits at it while `top` fails.
    let gate = system.spawn(Gate);
    let (open, held) = oneshot::channel();
    let (entered_tx, entered) = oneshot::channel();
    gate.hold(entered_tx, held).await.unwrap();
    entered.await.unwrap();
    let shutdown = tokio::spawn({
        let system = system.clone();
        async move { system.shutdown(Duration::from_secs(30)).await }
    });
    settle().await;
    assert!(system.is_shutting_down());
    top.crash().await.unwrap();
    assert!(matches!(ended(&top).await, StopReason::Panicked { .. }));
    open.send(()).unwrap();
    shutdown.await.unwrap();
    assert!(!take(&log).iter().any(|line| line.contains("restart")));
}
