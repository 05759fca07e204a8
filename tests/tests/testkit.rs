//! The test kit: `TestProbe` records what it is sent and asserts on it with timeouts that take
//! no real time on the paused clock; `settle` and `advance` drive actors and timers.

use std::time::Duration;

use compaktor::prelude::*;
use compaktor::testkit::{Probe, ProbeTimeout, TestProbe, advance, settle};
use tokio::time::Instant;

const WITHIN: Duration = Duration::from_secs(1);

#[tokio::test]
async fn a_probe_hands_back_what_it_was_sent_in_order() {
    let system = ActorSystem::new("test");
    let mut probe = TestProbe::<u32>::new(&system);
    for n in [3, 1, 2] {
        probe.actor_ref().record(n).await.unwrap();
    }
    assert_eq!(probe.expect(WITHIN).await, 3);
    probe.expect_eq(1, WITHIN).await;
    assert_eq!(probe.try_expect(WITHIN).await, Ok(2));
}

#[tokio::test]
async fn drain_takes_what_arrived_without_waiting() {
    let system = ActorSystem::new("test");
    let mut probe = TestProbe::<&'static str>::new(&system);
    assert!(probe.drain().is_empty());
    for word in ["left", "right"] {
        probe.actor_ref().record(word).ask().await.unwrap();
    }
    assert_eq!(probe.drain(), ["left", "right"]);
    assert!(probe.drain().is_empty());
}

#[tokio::test(start_paused = true)]
async fn waiting_for_nothing_times_out_on_the_paused_clock() {
    let system = ActorSystem::new("test");
    let mut probe = TestProbe::<u32>::new(&system);
    let began = Instant::now();
    assert_eq!(
        probe.try_expect(Duration::from_secs(30)).await,
        Err(ProbeTimeout(Duration::from_secs(30)))
    );
    assert!(began.elapsed() >= Duration::from_secs(30));
    probe.expect_no_message(Duration::from_secs(60)).await;
    assert!(began.elapsed() >= Duration::from_secs(90));
}

#[tokio::test(start_paused = true)]
#[should_panic(expected = "the probe received nothing within 1s")]
async fn expect_panics_when_nothing_arrives() {
    let system = ActorSystem::new("test");
    let mut probe = TestProbe::<u32>::new(&system);
    probe.expect(WITHIN).await;
}

#[tokio::test]
#[should_panic(expected = "probe value at")]
async fn expect_eq_panics_on_another_value() {
    let system = ActorSystem::new("test");
    let mut probe = TestProbe::<u32>::new(&system);
    probe.actor_ref().record(7).await.unwrap();
    probe.expect_eq(8, WITHIN).await;
}

#[tokio::test]
#[should_panic(expected = "the probe received 7 within")]
async fn expect_no_message_panics_when_something_arrives() {
    let system = ActorSystem::new("test");
    let mut probe = TestProbe::<u32>::new(&system);
    probe.actor_ref().record(7).await.unwrap();
    probe.expect_no_message(WITHIN).await;
}

struct Idle;

#[actor]
impl Idle {
    #[handler]
    fn crash(&mut self) {
        panic!("idle crashed");
    }
}

#[tokio::test]
async fn a_terminated_probe_watches_an_actor() {
    let system = ActorSystem::new("test");
    let mut probe = TestProbe::<Terminated>::new(&system);
    let killed = system.builder(Idle).name("killed").spawn().unwrap();
    let crashed = system.spawn(Idle);
    probe.watch(&killed).await;
    probe.watch(&crashed).await;

    killed.kill();
    let notice = probe.expect(WITHIN).await;
    assert_eq!(
        (notice.actor, &*notice.path, notice.reason),
        (killed.label().clone(), "/killed", StopReason::Killed)
    );
    crashed.crash().await.unwrap();
    let notice = probe.expect(WITHIN).await;
    assert_eq!(notice.actor.id, crashed.id());
    assert!(matches!(
        notice.reason,
        StopReason::Panicked {
            handler: "crash",
            ..
        }
    ));
}

/// Records its beats (every second) to a probe.
struct Heartbeat {
    to: ActorRef<Probe<u32>>,
    beats: u32,
}

#[actor]
impl Heartbeat {
    #[on_start]
    fn start(&mut self, ctx: &mut Context<Self>) {
        ctx.every(Duration::from_secs(1), |me| me.beat());
    }

    #[handler]
    async fn beat(&mut self) {
        self.beats += 1;
        self.to.record(self.beats).await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn advance_fires_due_timers_in_order_and_only_those() {
    let system = ActorSystem::new("test");
    let mut probe = TestProbe::new(&system);
    let began = Instant::now();
    let _heartbeat = system.spawn(Heartbeat {
        to: probe.actor_ref().clone(),
        beats: 0,
    });
    advance(Duration::from_millis(2500)).await;
    assert_eq!(began.elapsed(), Duration::from_millis(2500));
    assert_eq!(probe.drain(), [1, 2]);
    advance(Duration::from_millis(400)).await;
    assert!(probe.drain().is_empty());
    advance(Duration::from_millis(200)).await;
    assert_eq!(probe.drain(), [3]);
}

#[tokio::test(start_paused = true)]
async fn settle_runs_what_is_ready_without_moving_the_clock() {
    let system = ActorSystem::new("test");
    let mut probe = TestProbe::new(&system);
    let began = Instant::now();
    probe.actor_ref().record(1).await.unwrap(); // only enqueued
    let _heartbeat = system.spawn(Heartbeat {
        to: probe.actor_ref().clone(),
        beats: 0,
    });
    settle().await;
    assert_eq!(probe.drain(), [1], "handled, but no beat yet");
    assert_eq!(began.elapsed(), Duration::ZERO);
}
