//! Paths and the registry (typed lookup, taken names, leaving on stop) and ordered shutdown
//! (children first, reverse start order, a deadline past which what is left is killed, the
//! report, and no spawns afterwards).

use std::time::Duration;

use compaktor::prelude::*;
use compaktor::testkit::{advance, settle};
use compaktor::{LookupError, ShutdownReport};
use compaktor_tests::{Log, ended, log, take};
use tokio::sync::oneshot;
use tokio::time::Instant;

struct Motor {
    log: Log,
    name: &'static str,
}

#[actor]
impl Motor {
    #[on_stop]
    fn stop(&mut self) {
        log(&self.log, format!("stop {}", self.name));
    }

    #[handler]
    fn own_path(&self, ctx: &mut Context<Self>) -> String {
        ctx.path().to_owned()
    }

    #[handler]
    fn crash(&mut self) {
        panic!("stalled");
    }

    #[handler]
    fn restarts(&self, ctx: &mut Context<Self>) -> u32 {
        ctx.restart_count()
    }
}

/// Starts its named `Motor` children in order; more can be added.
struct Drive {
    log: Log,
    name: &'static str,
    motors: Vec<&'static str>,
}

fn make_drive(name: &'static str, motors: &[&'static str], log: &Log) -> Drive {
    Drive {
        log: log.clone(),
        name,
        motors: motors.to_vec(),
    }
}

#[actor]
impl Drive {
    #[on_start]
    async fn start(&mut self, ctx: &mut Context<Self>) -> Result<(), SpawnError> {
        for motor in self.motors.clone() {
            self.add_motor(motor, RestartPolicy::Permanent, ctx).await?;
        }
        Ok(())
    }

    #[on_stop]
    fn stop(&mut self) {
        log(&self.log, format!("stop {}", self.name));
    }

    #[handler]
    async fn add_motor(
        &mut self,
        name: &'static str,
        restart: RestartPolicy,
        ctx: &mut Context<Self>,
    ) -> Result<ActorRef<Motor>, SpawnError> {
        let log = self.log.clone();
        ctx.child(move || Motor {
            log: log.clone(),
            name,
        })
        .name(name)
        .restart(restart)
        .start()
        .await
    }

    #[handler]
    async fn add_drive(
        &mut self,
        name: &'static str,
        motors: Vec<&'static str>,
        ctx: &mut Context<Self>,
    ) -> Result<ActorRef<Drive>, SpawnError> {
        let log = self.log.clone();
        ctx.child(move || make_drive(name, &motors, &log))
            .name(name)
            .start()
            .await
    }
}

/// `/robot` with `/robot/drive` and its motors `left_motor` and `right_motor`.
async fn robot(system: &ActorSystem, log: &Log) -> (ActorRef<Drive>, ActorRef<Drive>) {
    let robot = system
        .builder(make_drive("robot", &[], log))
        .name("robot")
        .start()
        .await
        .unwrap();
    let drive = robot
        .add_drive("drive", vec!["left_motor", "right_motor"])
        .await
        .unwrap();
    (robot, drive)
}

// ---- paths and lookup ---------------------------------------------------------------------

#[tokio::test]
async fn paths_come_from_the_names_of_the_parents() {
    let log = Log::default();
    let system = ActorSystem::new("test");
    let (robot, drive) = robot(&system, &log).await;
    let left = system
        .lookup::<Motor>("/robot/drive/left_motor")
        .expect("registered");

    assert_eq!(robot.path(), "/robot");
    assert_eq!(drive.path(), "/robot/drive");
    assert_eq!(left.path(), "/robot/drive/left_motor");
    assert_eq!(
        left.own_path().await.unwrap(),
        "/robot/drive/left_motor",
        "ctx.path()"
    );
    assert_eq!(
        system.paths().iter().map(|p| &**p).collect::<Vec<_>>(),
        [
            "/robot",
            "/robot/drive",
            "/robot/drive/left_motor",
            "/robot/drive/right_motor"
        ]
    );

    // Unnamed actors have a path from their id, and are not registered.
    let anonymous = system.spawn(make_drive("anonymous", &[], &log));
    assert_eq!(anonymous.path(), format!("/${}", anonymous.id().as_u64()));
    assert_eq!(system.paths().len(), 4);
}

#[tokio::test]
async fn lookup_is_typed_and_a_wrong_type_is_none_or_an_error() {
    let log = Log::default();
    let system = ActorSystem::new("test");
    let (_robot, drive) = robot(&system, &log).await;
    let path = "/robot/drive/left_motor";

    let left = system.lookup::<Motor>(path).expect("a motor lives there");
    assert_eq!(left.name(), Some("left_motor"));
    assert_eq!(left.restarts().await.unwrap(), 0, "the ref works");
    assert_eq!(system.lookup::<Drive>("/robot/drive"), Some(drive));

    assert!(system.lookup::<Drive>(path).is_none());
    assert_eq!(
        system.try_lookup::<Drive>(path).unwrap_err(),
        LookupError::WrongType {
            path: path.into(),
            expected: std::any::type_name::<Drive>(),
            actual: std::any::type_name::<Motor>(),
        }
    );
    for missing in ["/robot/drive/wheel", "/nowhere", "", "/", "robot/drive"] {
        assert!(system.lookup::<Motor>(missing).is_none());
        assert_eq!(
            system.try_lookup::<Motor>(missing).unwrap_err(),
            LookupError::NotFound {
                path: missing.into()
            }
        );
    }
}

#[tokio::test]
async fn a_name_taken_by_a_sibling_is_refused() {
    let log = Log::default();
    let system = ActorSystem::new("test");
    let (robot, drive) = robot(&system, &log).await;
    let left = system.lookup::<Motor>("/robot/drive/left_motor").unwrap();

    match drive
        .add_motor("left_motor", RestartPolicy::Permanent)
        .await
    {
        Err(AskError::Handler(SpawnError::NameTaken { path })) => {
            assert_eq!(&*path, "/robot/drive/left_motor");
        }
        other => panic!("expected NameTaken, got {other:?}"),
    }
    // The first one keeps its place and works.
    assert_eq!(
        system.lookup::<Motor>("/robot/drive/left_motor"),
        Some(left.clone())
    );
    assert_eq!(left.restarts().await.unwrap(), 0);
    assert_eq!(system.paths().len(), 4);

    // The same name under another parent is another path.
    let other = robot
        .add_motor("left_motor", RestartPolicy::Permanent)
        .await
        .unwrap();
    assert_eq!(other.path(), "/robot/left_motor");
}

#[tokio::test]
async fn a_name_taken_at_the_top_level_is_refused() {
    let log = Log::default();
    let system = ActorSystem::new("test");
    let first = system
        .builder(make_drive("x", &[], &log))
        .name("x")
        .spawn()
        .unwrap();
    let taken = SpawnError::NameTaken { path: "/x".into() };
    assert_eq!(
        system
            .builder(make_drive("x", &[], &log))
            .name("x")
            .spawn()
            .unwrap_err(),
        taken
    );
    assert_eq!(
        system
            .builder(make_drive("x", &[], &log))
            .name("x")
            .start()
            .await
            .unwrap_err(),
        taken
    );
    assert_eq!(system.lookup::<Drive>("/x"), Some(first));
    assert_eq!(system.live_actors(), 1);
}

#[tokio::test]
async fn a_stopped_actor_leaves_the_registry_and_its_name_can_be_used_again() {
    let log = Log::default();
    let system = ActorSystem::new("test");
    let (robot, drive) = robot(&system, &log).await;

    // A child that ends for good.
    let spare = drive
        .add_motor("spare", RestartPolicy::Temporary)
        .await
        .unwrap();
    spare.crash().await.unwrap();
    ended(&spare).await;
    assert!(system.lookup::<Motor>("/robot/drive/spare").is_none());
    assert!(!system.paths().iter().any(|p| &**p == "/robot/drive/spare"));
    let again = drive
        .add_motor("spare", RestartPolicy::Temporary)
        .await
        .unwrap();
    assert_ne!(again.id(), spare.id());
    assert_eq!(system.lookup::<Motor>("/robot/drive/spare"), Some(again));

    // A top-level actor, and its children with it.
    robot.stop();
    ended(&robot).await;
    assert!(system.paths().is_empty());
    assert!(matches!(
        system.try_lookup::<Drive>("/robot"),
        Err(LookupError::NotFound { .. })
    ));
    let reborn = system
        .builder(make_drive("robot", &[], &log))
        .name("robot")
        .spawn()
        .unwrap();
    assert_eq!(system.lookup::<Drive>("/robot"), Some(reborn));
}

#[tokio::test]
async fn a_restarted_child_keeps_its_path_and_entry() {
    let log = Log::default();
    let system = ActorSystem::new("test");
    let (_robot, _drive) = robot(&system, &log).await;
    let left = system.lookup::<Motor>("/robot/drive/left_motor").unwrap();
    left.crash().await.unwrap();
    assert_eq!(left.restarts().await.unwrap(), 1);
    assert_eq!(
        system.lookup::<Motor>("/robot/drive/left_motor"),
        Some(left)
    );
    assert_eq!(system.paths().len(), 4);
}

// ---- shutdown ------------------------------------------------------------------------------

fn assert_report(report: &ShutdownReport, stopped: u64, killed: u64, dead_letters: u64) {
    assert_eq!(
        (
            report.stopped,
            report.killed,
            report.dead_letters,
            report.still_running
        ),
        (stopped, killed, dead_letters, 0),
        "{report:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_stops_children_first_in_reverse_start_order() {
    let log = Log::default();
    let system = ActorSystem::new("test");
    let bus = system
        .builder(make_drive("bus", &["a", "b"], &log))
        .name("bus")
        .start()
        .await
        .unwrap();
    let motors = system
        .builder(make_drive("motors", &["m1"], &log))
        .name("motors")
        .start()
        .await
        .unwrap();
    let nested = motors.add_drive("nested", vec!["n1", "n2"]).await.unwrap();
    assert_eq!(system.live_actors(), 8);

    let began = Instant::now();
    let report = system.shutdown(Duration::from_secs(5)).await;
    assert_eq!(
        take(&log),
        [
            "stop n2",
            "stop n1",
            "stop nested",
            "stop m1",
            "stop motors",
            "stop b",
            "stop a",
            "stop bus"
        ]
    );
    assert_report(&report, 8, 0, 0);
    assert!(!report.deadline_passed);
    assert_eq!(report.elapsed, began.elapsed());
    assert!(report.elapsed < Duration::from_millis(1), "{report:?}");
    assert_eq!(system.live_actors(), 0);
    assert!(system.paths().is_empty());
    for actor in [&bus, &motors, &nested] {
        assert_eq!(ended(actor).await, StopReason::Stopped);
    }
}

/// Counts what it handles; `hang` never returns.
struct Busy {
    handled: Log,
}

#[actor]
impl Busy {
    #[handler]
    async fn work(&mut self, n: u32) {
        tokio::task::yield_now().await;
        log(&self.handled, n.to_string());
    }

    #[handler]
    async fn hang(&mut self) {
        std::future::pending::<()>().await;
    }

    /// Blocks its thread instead of awaiting (a blocking bus read in a handler).
    #[handler]
    fn block_thread(&mut self, for_: Duration) {
        std::thread::sleep(for_);
    }

    #[handler]
    async fn add_hanging_child(
        &mut self,
        shutdown_timeout: Duration,
        ctx: &mut Context<Self>,
    ) -> ActorRef<Busy> {
        let handled = self.handled.clone();
        let child = ctx
            .child(move || Busy {
                handled: handled.clone(),
            })
            .name("stuck")
            .shutdown_timeout(shutdown_timeout)
            .start()
            .await
            .unwrap();
        child.hang().await.unwrap();
        child
    }
}

#[tokio::test]
async fn shutdown_handles_what_was_queued_first() {
    let handled = Log::default();
    let system = ActorSystem::new("test");
    let busy = system.spawn(Busy {
        handled: handled.clone(),
    });
    for n in 0..5 {
        busy.work(n).await.unwrap();
    }
    let report = system.shutdown(Duration::from_secs(5)).await;
    assert_eq!(take(&handled), ["0", "1", "2", "3", "4"]);
    assert_report(&report, 1, 0, 0);
    assert_eq!(ended(&busy).await, StopReason::Stopped);
}

#[tokio::test(start_paused = true)]
async fn shutdown_kills_what_is_left_at_the_deadline() {
    let handled = Log::default();
    let system = ActorSystem::new("test");
    // Started first, so stopped last: it holds up nothing but itself.
    let stuck = system
        .builder(Busy {
            handled: handled.clone(),
        })
        .name("stuck")
        .spawn()
        .unwrap();
    let fine = system
        .builder(Busy {
            handled: handled.clone(),
        })
        .name("fine")
        .spawn()
        .unwrap();
    stuck.hang().await.unwrap();
    for n in 0..3 {
        stuck.work(n).await.unwrap(); // never handled
    }
    settle().await;

    let began = Instant::now();
    let report = system.shutdown(Duration::from_secs(2)).await;
    assert!(report.deadline_passed);
    assert_report(&report, 1, 1, 3);
    assert!(
        report.elapsed >= Duration::from_secs(2) && report.elapsed < Duration::from_millis(2010),
        "{report:?}"
    );
    assert_eq!(report.overrun, report.elapsed - Duration::from_secs(2));
    assert_eq!(began.elapsed(), report.elapsed);
    assert_eq!(ended(&fine).await, StopReason::Stopped);
    assert_eq!(ended(&stuck).await, StopReason::Killed);
    assert!(take(&handled).is_empty());
    assert_eq!(system.live_actors(), 0);
}

/// A handler that blocks the only thread of a current-thread runtime cannot be preempted: the
/// deadline's timer waits for it too. The report says the deadline passed, and by how much.
/// (Real time: the point is a thread really blocked. The bounds hold however slow the machine.)
#[tokio::test(flavor = "current_thread")]
async fn a_handler_blocking_the_thread_past_the_deadline_is_reported_as_an_overrun() {
    let system = ActorSystem::new("test");
    let blocker = system
        .builder(Busy {
            handled: Log::default(),
        })
        .name("blocker")
        .spawn()
        .unwrap();
    blocker
        .block_thread(Duration::from_millis(400))
        .await
        .unwrap();
    let report = system.shutdown(Duration::from_millis(100)).await;
    // It ended by the pill, late: nothing could kill it while it held the thread.
    assert_report(&report, 1, 0, 0);
    assert!(report.deadline_passed, "{report:?}");
    assert!(report.elapsed >= Duration::from_millis(400), "{report:?}");
    assert!(report.overrun >= Duration::from_millis(300), "{report:?}");
    assert_eq!(report.overrun, report.elapsed - Duration::from_millis(100));
}

#[tokio::test(start_paused = true)]
async fn a_child_past_its_shutdown_timeout_is_killed_and_its_parent_goes_on_stopping() {
    let handled = Log::default();
    let system = ActorSystem::new("test");
    let parent = system
        .builder(Busy {
            handled: handled.clone(),
        })
        .name("parent")
        .spawn()
        .unwrap();
    let stuck = parent
        .add_hanging_child(Duration::from_millis(300))
        .await
        .unwrap();
    settle().await;

    let report = system.shutdown(Duration::from_secs(10)).await;
    assert!(!report.deadline_passed);
    assert_report(&report, 1, 1, 0);
    assert!(
        report.elapsed >= Duration::from_millis(300) && report.elapsed < Duration::from_millis(310),
        "{report:?}"
    );
    assert_eq!(ended(&stuck).await, StopReason::Killed);
    assert_eq!(ended(&parent).await, StopReason::Stopped);
}

/// Spawns a child once it is let go: shows what spawning during shutdown gives.
struct Late;

#[actor]
impl Late {
    #[handler]
    async fn spawn_child_after(
        &mut self,
        gate: oneshot::Receiver<()>,
        result: oneshot::Sender<Result<(), SpawnError>>,
        ctx: &mut Context<Self>,
    ) {
        let _ = gate.await;
        let spawned = ctx.child(|| Late).name("child").spawn().map(drop);
        let _ = result.send(spawned);
    }
}

#[tokio::test]
async fn nothing_new_starts_once_shutdown_has_begun() {
    let system = ActorSystem::new("test");
    let late = system.builder(Late).name("late").spawn().unwrap();
    let (gate, held) = oneshot::channel();
    let (result, child_spawn) = oneshot::channel();
    late.spawn_child_after(held, result).await.unwrap();
    settle().await;

    let shutdown = tokio::spawn({
        let system = system.clone();
        async move { system.shutdown(Duration::from_secs(5)).await }
    });
    settle().await;
    assert!(system.is_shutting_down());
    let refused = SpawnError::ShuttingDown {
        system: "test".into(),
    };
    // A child spawned by an actor that is still finishing its work:
    gate.send(()).unwrap();
    assert_eq!(child_spawn.await.unwrap(), Err(refused.clone()));
    let report = shutdown.await.unwrap();
    assert_report(&report, 1, 0, 0);

    // Top-level spawns, named or awaited:
    assert_eq!(
        system.builder(Late).name("again").spawn().unwrap_err(),
        refused
    );
    assert_eq!(system.builder(Late).start().await.unwrap_err(), refused);
    assert_eq!(system.start(Late).await.unwrap_err(), refused);
    // `spawn` cannot fail, so its actor is killed at once and never handles anything.
    let unnamed = system.spawn(Late);
    assert_eq!(ended(&unnamed).await, StopReason::Killed);
    assert!(system.paths().is_empty());
    assert_eq!(system.live_actors(), 0);
}

#[tokio::test(start_paused = true)]
async fn shutdown_of_an_idle_system_is_immediate() {
    let system = ActorSystem::new("test");
    advance(Duration::from_secs(1)).await;
    let report = system.shutdown(Duration::from_secs(1)).await;
    assert_report(&report, 0, 0, 0);
    assert!(!report.deadline_passed);
    assert_eq!(report.elapsed, Duration::ZERO);
    assert_eq!(report.overrun, Duration::ZERO);
}

/// Its stop hook never returns (a bus that never answers).
struct StuckOnStop;

#[actor]
impl StuckOnStop {
    #[on_stop]
    async fn stop(&mut self) {
        std::future::pending::<()>().await;
    }

    #[handler]
    async fn add_stuck_child(&mut self, ctx: &mut Context<Self>) -> ActorRef<StuckOnStop> {
        ctx.child(|| StuckOnStop)
            .shutdown_timeout(Duration::from_millis(300))
            .start()
            .await
            .unwrap()
    }
}

// A kill ends an async stop hook that waits forever; the actor then ends `Killed` (a bug this
// test caught: the hook was awaited without watching for the kill).
#[tokio::test(start_paused = true)]
async fn a_stop_hook_that_never_returns_is_killed_at_the_deadline() {
    let system = ActorSystem::new("test");
    let stuck = system.builder(StuckOnStop).name("stuck").spawn().unwrap();
    settle().await;
    let report = system.shutdown(Duration::from_secs(1)).await;
    assert!(report.deadline_passed);
    assert_report(&report, 0, 1, 0);
    assert!(report.elapsed < Duration::from_millis(1010), "{report:?}");
    assert_eq!(ended(&stuck).await, StopReason::Killed);
}

// The kill a parent sends after its child's shutdown timeout ends a hanging stop hook too.
#[tokio::test(start_paused = true)]
async fn a_child_whose_stop_hook_never_returns_is_killed_after_its_shutdown_timeout() {
    let system = ActorSystem::new("test");
    let parent = system.builder(StuckOnStop).name("parent").spawn().unwrap();
    let child = parent.add_stuck_child().await.unwrap();
    settle().await;
    // The parent's own stop hook is stuck too: it is killed at the deadline.
    let report = system.shutdown(Duration::from_secs(1)).await;
    assert_report(&report, 0, 2, 0);
    assert_eq!(ended(&child).await, StopReason::Killed);
}
