//! Start and stop hooks, the poison pill, kill, release on last ref drop, ids and names.

use std::sync::Arc;
use std::time::Duration;

use compaktor::prelude::*;
use compaktor_tests::{Log, log};
use tokio::sync::oneshot;

struct Recorder {
    log: Log,
    fail_start: bool,
}

#[actor]
impl Recorder {
    #[on_start]
    async fn start(&mut self) -> Result<(), String> {
        log(&self.log, "start");
        if self.fail_start {
            Err("no device on /dev/i2c-1".into())
        } else {
            Ok(())
        }
    }

    #[handler]
    async fn record(&mut self, line: String) {
        tokio::task::yield_now().await;
        log(&self.log, line);
    }

    #[handler]
    async fn hang(&mut self, dropped: oneshot::Sender<()>) {
        struct OnDrop(Option<oneshot::Sender<()>>);
        impl Drop for OnDrop {
            fn drop(&mut self) {
                let _ = self.0.take().unwrap().send(());
            }
        }
        let _guard = OnDrop(Some(dropped));
        std::future::pending::<()>().await;
    }

    #[handler]
    fn count(&self) -> usize {
        self.log.lock().unwrap().len()
    }

    #[on_stop]
    fn stopped(&mut self, reason: &StopReason) {
        log(&self.log, format!("stop: {reason}"));
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        log(&self.log, "drop");
    }
}

fn recorder(log: &Log) -> Recorder {
    Recorder {
        log: log.clone(),
        fail_start: false,
    }
}

fn lines(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

#[tokio::test]
async fn poison_pill_handles_what_was_queued_then_stops_once() {
    let system = ActorSystem::new("test");
    let log = Log::default();
    let actor = system.spawn(recorder(&log));
    for i in 0..5 {
        actor.record(format!("m{i}")).await.unwrap();
    }
    actor.stop();
    actor.stop(); // a second stop does nothing (and does not panic)
    assert!(matches!(
        actor.record("late".into()).await,
        Err(SendError::Stopped { .. })
    ));
    assert_eq!(actor.stopped().await, StopReason::Stopped);
    assert_eq!(
        lines(&log),
        [
            "start",
            "m0",
            "m1",
            "m2",
            "m3",
            "m4",
            "stop: stopped on request",
            "drop"
        ]
    );
    assert!(!actor.is_alive());
}

#[tokio::test]
async fn kill_drops_the_handler_in_progress_and_dead_letters_the_queue() {
    let system = ActorSystem::new("test");
    let log = Log::default();
    let actor = system.spawn(recorder(&log));
    let (dropped_tx, dropped_rx) = oneshot::channel();
    actor.hang(dropped_tx).await.unwrap();
    for i in 0..3 {
        actor.record(format!("never {i}")).await.unwrap();
    }
    let queued_ask = actor.count();
    let queued_ask = async move { queued_ask.await };
    let before = system.dead_letter_count();
    let (ask_result, ()) = tokio::join!(queued_ask, async {
        tokio::task::yield_now().await;
        actor.kill();
    });
    assert!(matches!(
        ask_result,
        Err(AskError::Stopped {
            handler: "count",
            ..
        })
    ));
    assert_eq!(actor.stopped().await, StopReason::Killed);
    dropped_rx.await.expect("the hanging handler was dropped");
    // Three records and the ask never ran.
    assert_eq!(system.dead_letter_count(), before + 4);
    assert_eq!(lines(&log), ["start", "stop: killed", "drop"]);
}

#[tokio::test]
async fn dropping_the_last_ref_stops_after_draining() {
    let system = ActorSystem::new("test");
    let log = Log::default();
    let actor = system.spawn(recorder(&log));
    let copy = actor.clone();
    for i in 0..10 {
        actor.record(format!("m{i}")).await.unwrap();
    }
    let stopped = actor.stopped();
    drop(actor);
    // One ref is still alive: the actor keeps running.
    assert_eq!(copy.count().await.unwrap(), 11);
    drop(copy);
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), stopped)
            .await
            .unwrap(),
        StopReason::Released
    );
    let lines = lines(&log);
    assert_eq!(lines.len(), 13, "{lines:?}");
    assert_eq!(lines[10], "m9");
    assert_eq!(
        lines[11],
        "stop: stopped after its last reference was dropped"
    );
}

#[tokio::test]
async fn a_failing_start_hook_is_reported_and_the_actor_never_runs() {
    let system = ActorSystem::new("test");
    let log = Log::default();
    let result = system
        .builder(Recorder {
            log: log.clone(),
            fail_start: true,
        })
        .name("imu")
        .start()
        .await;
    match result {
        Err(SpawnError::StartFailed { actor, error }) => {
            assert_eq!(error.to_string(), "no device on /dev/i2c-1");
            assert_eq!(actor.name.as_deref(), Some("imu"));
        }
        other => panic!("the start hook failed, the spawn must fail: {other:?}"),
    }
    // Never handled a message, never ran the stop hook; its state was dropped.
    assert_eq!(lines(&log), ["start", "drop"]);
}

#[tokio::test]
async fn spawn_without_waiting_sees_a_failed_start_as_a_stop_reason() {
    let system = ActorSystem::new("test");
    let log = Log::default();
    let actor = system.spawn(Recorder {
        log: log.clone(),
        fail_start: true,
    });
    let queued = actor.record("queued during start".into()).await;
    assert_eq!(
        actor.stopped().await,
        StopReason::StartFailed("no device on /dev/i2c-1".into())
    );
    assert!(queued.is_ok() || matches!(queued, Err(SendError::Stopped { .. })));
    assert!(!lines(&log).iter().any(|l| l.contains("queued")));
}

struct PanickyStart;

#[actor]
impl PanickyStart {
    #[on_start]
    fn start(&mut self) {
        panic!("bus exploded");
    }
}

#[tokio::test]
async fn a_panicking_start_hook_is_a_failed_start() {
    let system = ActorSystem::new("test");
    let err = system.start(PanickyStart).await.unwrap_err();
    assert!(err.to_string().contains("bus exploded"), "{err}");
}

#[tokio::test]
async fn ids_are_unique_and_names_optional() {
    let system = ActorSystem::new("test");
    let log = Log::default();
    let a = system.spawn(recorder(&log));
    let b = system
        .builder(recorder(&log))
        .name("left_motor")
        .spawn()
        .unwrap();
    assert_ne!(a.id(), b.id());
    assert_eq!(a.name(), None);
    assert_eq!(b.name(), Some("left_motor"));
    assert_eq!(
        b.label().to_string(),
        format!("actor `left_motor` ({})", b.id())
    );
    assert_eq!(system.live_actors(), 2);
    a.stop();
    b.stop();
    a.stopped().await;
    b.stopped().await;
    assert_eq!(system.live_actors(), 0);
}

/// Waits forever for a device in its start hook.
struct StuckStart;

#[actor]
impl StuckStart {
    #[on_start]
    async fn start(&mut self) {
        std::future::pending::<()>().await;
    }

    #[handler]
    fn ping(&self) -> u8 {
        1
    }
}

#[tokio::test]
async fn kill_interrupts_a_start_hook_that_hangs() {
    let system = ActorSystem::new("test");
    let actor = system.spawn(StuckStart);
    let ping = actor.ping();
    let (ping, ()) = tokio::join!(ping.into_future(), async {
        tokio::task::yield_now().await;
        actor.kill();
    });
    assert!(matches!(ping, Err(AskError::Stopped { .. })));
    assert_eq!(actor.stopped().await, StopReason::Killed);
}

struct PanicsOnDrop;

#[actor]
impl PanicsOnDrop {
    #[handler]
    fn ping(&self) -> u8 {
        1
    }
}

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("drop failed");
    }
}

#[tokio::test]
async fn a_panicking_drop_still_reports_the_stop() {
    let system = ActorSystem::new("test");
    let actor = system.spawn(PanicsOnDrop);
    assert_eq!(actor.ping().await.unwrap(), 1);
    actor.stop();
    assert_eq!(actor.stopped().await, StopReason::Stopped);
    assert_eq!(system.live_actors(), 0);
}

/// Counts without ever yielding: many of its messages fit in one poll of its task.
struct Tally(Arc<std::sync::atomic::AtomicUsize>);

#[actor]
impl Tally {
    #[handler]
    fn bump(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

#[tokio::test]
async fn dropping_the_last_ref_drains_a_long_mailbox() {
    // More messages than tokio's cooperative budget allows in one poll: the actor yields in the
    // middle, and must not take that pause for an empty mailbox.
    let system = ActorSystem::new("test");
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let actor = system
        .builder(Tally(count.clone()))
        .mailbox(Mailbox::unbounded())
        .spawn()
        .expect("unique name");
    for _ in 0..1000 {
        actor.bump().try_send().unwrap();
    }
    let stopped = actor.stopped();
    drop(actor);
    assert_eq!(stopped.await, StopReason::Released);
    assert_eq!(count.load(std::sync::atomic::Ordering::Relaxed), 1000);
    assert_eq!(system.dead_letter_count(), 0);
}

/// The bus error under a missing device: the source of the start hook's error.
#[derive(Debug, thiserror::Error)]
#[error("i2c bus 1: no acknowledge")]
struct BusNack;

/// A start hook's typed error, with a source of its own.
#[derive(Debug, thiserror::Error)]
#[error("no IMU at address {address:#x}")]
struct NoImu {
    address: u8,
    #[source]
    cause: BusNack,
}

/// Probes its device in its start hook, which fails with a typed error.
struct Imu;

#[actor]
impl Imu {
    #[on_start]
    fn probe(&mut self) -> Result<(), NoImu> {
        Err(NoImu {
            address: 0x68,
            cause: BusNack,
        })
    }
}

/// The chain of `error`'s sources, each as its message.
fn chain(error: &(dyn std::error::Error + 'static)) -> Vec<String> {
    std::iter::successors(error.source(), |e| e.source())
        .map(ToString::to_string)
        .collect()
}

#[tokio::test]
async fn a_start_hooks_typed_error_reaches_the_caller_with_its_source_chain() {
    let system = ActorSystem::new("test");
    let error = system.builder(Imu).name("imu").start().await.unwrap_err();
    let SpawnError::StartFailed {
        actor,
        error: start,
    } = &error
    else {
        panic!("expected StartFailed, got {error:?}");
    };
    assert_eq!(actor.name.as_deref(), Some("imu"));
    // The hook's own value, typed: its fields are there.
    assert_eq!(start.downcast_ref::<NoImu>().unwrap().address, 0x68);
    // The spawn error's source is the hook's error itself, then that error's source.
    let source = std::error::Error::source(&error).unwrap();
    assert!(source.is::<NoImu>());
    assert!(source.source().unwrap().is::<BusNack>());
    assert_eq!(
        chain(&error),
        ["no IMU at address 0x68", "i2c bus 1: no acknowledge"]
    );
    assert_eq!(
        error.to_string(),
        format!("{actor} failed to start: no IMU at address 0x68")
    );
}

#[tokio::test]
async fn a_failed_start_seen_as_a_stop_reason_keeps_the_typed_error() {
    let system = ActorSystem::new("test");
    let imu = system.spawn(Imu);
    let StopReason::StartFailed(error) = imu.stopped().await else {
        panic!("the start hook failed");
    };
    assert_eq!(error.downcast_ref::<NoImu>().unwrap().address, 0x68);
    // Transparent: it says what the hook's error says, and its source is that error's source.
    assert_eq!(error.to_string(), "no IMU at address 0x68");
    assert!(std::error::Error::source(&error).unwrap().is::<BusNack>());
}
