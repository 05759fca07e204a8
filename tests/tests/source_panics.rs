//! A panic in a message source is a failure of its actor: a timer's closure (`send_after`,
//! `every`), an attached stream or its closure, a topic subscription's closure, a watch
//! notice's closure and an exit trap's closure. The actor ends with
//! `StopReason::SourcePanicked` naming the source (a supervised one is restarted), and what the
//! source was carrying is counted as dead letters.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use compaktor::prelude::*;
use compaktor::testkit::settle;
use compaktor::{ActorState, DeadLetterReason, MessageSource};
use compaktor_tests::ended;
use futures::{StreamExt, stream};

/// Runs a closure on the actor's context: how the tests start sources from outside.
type Setup = Box<dyn FnOnce(&mut Context<Sensor>) + Send>;

struct Sensor {
    got: Arc<Mutex<Vec<u32>>>,
}

#[actor]
impl Sensor {
    #[handler]
    fn setup(&mut self, setup: Setup, ctx: &mut Context<Self>) {
        setup(ctx);
    }

    #[handler]
    fn got(&mut self, value: u32) {
        self.got.lock().unwrap().push(value);
    }

    #[handler]
    fn gone(&mut self, _notice: Terminated) {}

    #[handler]
    fn exited(&mut self, _exit: LinkExit) {}
}

/// A sensor and what it handled.
fn sensor(system: &ActorSystem) -> (ActorRef<Sensor>, Arc<Mutex<Vec<u32>>>) {
    let got = Arc::default();
    let sensor = system.spawn(Sensor {
        got: Arc::clone(&got),
    });
    (sensor, got)
}

async fn setup(
    sensor: &ActorRef<Sensor>,
    setup: impl FnOnce(&mut Context<Sensor>) + Send + 'static,
) {
    sensor.setup(Box::new(setup)).ask().await.expect("running");
}

/// Panics with `message`; returns `()` so the closures that call it still name their message.
fn bus_glitch(message: &str) {
    panic!("{message}");
}

fn source_panicked(source: MessageSource, message: &str) -> StopReason {
    StopReason::SourcePanicked {
        source,
        message: message.into(),
    }
}

#[tokio::test(start_paused = true)]
async fn a_send_after_closure_that_panics_fails_its_actor() {
    let system = ActorSystem::new("test");
    let (sensor, got) = sensor(&system);
    setup(&sensor, |ctx| {
        ctx.send_after(Duration::from_secs(1), |me| {
            bus_glitch("no reading");
            me.got(1)
        });
    })
    .await;
    let reason = ended(&sensor).await;
    assert_eq!(
        reason,
        source_panicked(MessageSource::SendAfter, "no reading")
    );
    assert_eq!(
        reason.to_string(),
        "timer `send_after` closure panicked: no reading"
    );
    assert!(reason.is_failure());
    assert!(got.lock().unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_every_closure_that_panics_on_its_third_tick_fails_its_actor_after_two() {
    let system = ActorSystem::new("test");
    let (sensor, got) = sensor(&system);
    setup(&sensor, |ctx| {
        let mut ticks = 0;
        ctx.every(Duration::from_secs(1), move |me| {
            ticks += 1;
            if ticks == 3 {
                bus_glitch("tick three");
            }
            me.got(ticks)
        });
    })
    .await;
    let reason = ended(&sensor).await;
    assert_eq!(reason, source_panicked(MessageSource::Every, "tick three"));
    assert_eq!(
        reason.to_string(),
        "timer `every` closure panicked: tick three"
    );
    assert_eq!(*got.lock().unwrap(), [1, 2]);
}

#[tokio::test]
async fn a_stream_closure_that_panics_fails_its_actor_and_its_item_is_a_dead_letter() {
    let system = ActorSystem::new("test");
    let (sensor, got) = sensor(&system);
    setup(&sensor, |ctx| {
        ctx.attach_stream(stream::iter(1..=5u32), |me, reading| {
            if reading == 3 {
                bus_glitch("reading three");
            }
            me.got(reading)
        });
    })
    .await;
    let reason = ended(&sensor).await;
    assert_eq!(
        reason,
        source_panicked(MessageSource::Stream, "reading three")
    );
    // 1 and 2 were queued: handled, or dead letters if the failure came first. 3 is a dead
    // letter; 4 and 5 were never taken from the stream.
    let handled = got.lock().unwrap().len() as u64;
    assert_eq!(handled + system.dead_letter_count(), 3, "{handled} handled");
    assert_eq!(
        system.dead_letter_count_for(DeadLetterReason::Dropped),
        3 - handled
    );
}

#[tokio::test]
async fn a_stream_that_panics_itself_fails_its_actor() {
    let system = ActorSystem::new("test");
    let (sensor, _) = sensor(&system);
    setup(&sensor, |ctx| {
        let readings = stream::iter(1..=3u32).map(|n| {
            if n == 2 {
                bus_glitch("driver fault");
            }
            n
        });
        ctx.attach_stream(readings, |me, reading| me.got(reading));
    })
    .await;
    let reason = ended(&sensor).await;
    assert_eq!(
        reason,
        source_panicked(MessageSource::Stream, "driver fault")
    );
    assert_eq!(reason.to_string(), "attached stream panicked: driver fault");
}

#[tokio::test]
async fn a_subscription_closure_that_panics_fails_its_actor_and_counts_every_lost_value() {
    let system = ActorSystem::new("test");
    let readings = system.topic::<u32>("readings").unwrap();
    let (sensor, got) = sensor(&system);
    let topic = readings.clone();
    setup(&sensor, move |ctx| {
        ctx.subscribe(&topic, |me, reading| {
            if reading == 3 {
                bus_glitch("bad value");
            }
            me.got(reading)
        });
    })
    .await;
    for reading in 1..=10 {
        assert_eq!(readings.publish(reading), 1);
    }
    let reason = ended(&sensor).await;
    assert_eq!(
        reason,
        source_panicked(MessageSource::Subscription("readings".into()), "bad value")
    );
    assert_eq!(
        reason.to_string(),
        "topic `readings` subscription closure panicked: bad value"
    );
    settle().await;
    // Every value published reached the actor or is a dead letter: 3 (its closure panicked),
    // 4 to 10 (still in the subscription's inbox), and 1 and 2 unless handled in time.
    let handled = got.lock().unwrap().len() as u64;
    assert_eq!(
        handled + system.dead_letter_count(),
        10,
        "{handled} handled"
    );
    assert_eq!(readings.subscriber_count(), 0);
    assert_eq!(
        readings.publish(11),
        0,
        "the subscription has left the topic"
    );
}

#[tokio::test]
async fn a_watch_notice_closure_that_panics_fails_the_watcher() {
    let system = ActorSystem::new("test");
    let (watcher, _) = sensor(&system);
    let (watched, _) = sensor(&system);
    let other = watched.clone();
    setup(&watcher, move |ctx| {
        ctx.watch(&other, |me, notice| {
            bus_glitch("notice lost");
            me.gone(notice)
        });
    })
    .await;
    watched.kill();
    let reason = ended(&watcher).await;
    assert_eq!(reason, source_panicked(MessageSource::Watch, "notice lost"));
    assert_eq!(
        reason.to_string(),
        "watch notice closure panicked: notice lost"
    );
    assert_eq!(
        system.dead_letter_count(),
        1,
        "the notice the closure was given"
    );
}

#[tokio::test]
async fn an_exit_trap_closure_that_panics_fails_its_actor() {
    let system = ActorSystem::new("test");
    let (trapper, _) = sensor(&system);
    let (peer, _) = sensor(&system);
    let other = peer.clone();
    setup(&trapper, move |ctx| {
        ctx.trap_exits(|me, exit| {
            bus_glitch("exit lost");
            me.exited(exit)
        });
        ctx.link(&other);
    })
    .await;
    peer.stop();
    let reason = ended(&trapper).await;
    assert_eq!(
        reason,
        source_panicked(MessageSource::TrapExits, "exit lost")
    );
    assert_eq!(reason.to_string(), "exit trap closure panicked: exit lost");
}

/// A child whose first instance's timer panics.
struct Blinker;

#[actor]
impl Blinker {
    #[on_start]
    fn start(&mut self, ctx: &mut Context<Self>) {
        let first = ctx.restart_count() == 0;
        ctx.every(Duration::from_secs(1), move |me| {
            if first {
                bus_glitch("led driver");
            }
            me.blink()
        });
    }

    #[handler]
    fn blink(&mut self) {}

    #[handler]
    fn restarts(&self, ctx: &mut Context<Self>) -> u32 {
        ctx.restart_count()
    }
}

struct Panel;

#[actor]
impl Panel {
    #[on_start]
    async fn start(&mut self, ctx: &mut Context<Self>) -> Result<(), SpawnError> {
        ctx.child(|| Blinker).name("blinker").start().await?;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_supervised_child_whose_timer_panics_is_restarted_and_health_names_the_source() {
    let system = ActorSystem::new("test");
    let _panel = system.builder(Panel).name("panel").start().await.unwrap();
    let blinker = system.lookup::<Blinker>("/panel/blinker").unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(blinker.restarts().await.unwrap(), 1, "restarted once");
    let health = system
        .health()
        .into_iter()
        .find(|h| &*h.path == "/panel/blinker")
        .expect("the blinker runs");
    assert_eq!(health.state, ActorState::Running);
    assert_eq!(health.restarts, 1);
    assert_eq!(
        health.last_failure,
        Some(source_panicked(MessageSource::Every, "led driver"))
    );
    // The new instance's timer runs on.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(blinker.is_alive());
    assert_eq!(blinker.restarts().await.unwrap(), 1);
}
