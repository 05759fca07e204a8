//! Timers under tokio's paused clock: `send_after`, `every`, cancel without stale ticks, the
//! missed-tick policies, and cancellation when the actor stops.

use std::time::Duration;

use compaktor::prelude::*;
use tokio::time::Instant;

struct Ticker {
    started: Instant,
    /// Milliseconds since start at which each tick was handled.
    ticks: Vec<u64>,
    /// How long the first tick takes (the actor falls behind once).
    first_tick_takes: Duration,
    timer: Option<compaktor::TaskHandle>,
}

fn ticker(first_tick_takes: Duration) -> Ticker {
    Ticker {
        started: Instant::now(),
        ticks: Vec::new(),
        first_tick_takes,
        timer: None,
    }
}

#[actor]
impl Ticker {
    #[handler]
    fn start_every(&mut self, period: Duration, missed: MissedTick, ctx: &mut Context<Self>) {
        self.started = Instant::now();
        self.timer = Some(ctx.every_with(period, missed, |me| me.tick()));
    }

    /// Starts a timer and hands its handle to the caller.
    #[handler]
    fn start_every_handle(
        &mut self,
        period: Duration,
        ctx: &mut Context<Self>,
    ) -> compaktor::TaskHandle {
        self.started = Instant::now();
        ctx.every(period, |me| me.tick())
    }

    #[handler]
    async fn hold(&mut self, busy: Duration) {
        tokio::time::sleep(busy).await;
    }

    #[handler]
    fn start_after(&mut self, delay: Duration, ctx: &mut Context<Self>) {
        self.started = Instant::now();
        ctx.send_after(delay, |me| me.tick());
    }

    #[handler]
    async fn tick(&mut self) {
        self.ticks.push(self.started.elapsed().as_millis() as u64);
        if self.ticks.len() == 1 {
            tokio::time::sleep(self.first_tick_takes).await;
        }
    }

    #[handler]
    fn cancel(&mut self) {
        if let Some(timer) = &self.timer {
            timer.cancel();
        }
    }

    #[handler]
    fn ticks(&self) -> Vec<u64> {
        self.ticks.clone()
    }
}

async fn ticks_with(missed: MissedTick) -> Vec<u64> {
    let system = ActorSystem::new("test");
    let t = system.spawn(ticker(Duration::from_millis(25)));
    t.start_every(Duration::from_millis(10), missed)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(56)).await;
    let ticks = t.ticks().await.unwrap();
    t.stop();
    ticks
}

#[tokio::test(start_paused = true)]
async fn send_after_fires_once_after_the_delay() {
    let system = ActorSystem::new("test");
    let t = system.spawn(ticker(Duration::ZERO));
    t.start_after(Duration::from_millis(30)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(29)).await;
    assert!(t.ticks().await.unwrap().is_empty());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(t.ticks().await.unwrap(), [30]);
}

#[tokio::test(start_paused = true)]
async fn every_ticks_on_the_period() {
    let system = ActorSystem::new("test");
    let t = system.spawn(ticker(Duration::ZERO));
    t.start_every(Duration::from_millis(10), MissedTick::Skip)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(45)).await;
    assert_eq!(t.ticks().await.unwrap(), [10, 20, 30, 40]);
}

// The first tick (at 10 ms) takes 25 ms, so the ticks due at 20 and 30 ms are missed.

#[tokio::test(start_paused = true)]
async fn missed_ticks_skip_keeps_the_schedule() {
    assert_eq!(ticks_with(MissedTick::Skip).await, [10, 35, 40, 50]);
}

#[tokio::test(start_paused = true)]
async fn missed_ticks_burst_catches_up() {
    assert_eq!(ticks_with(MissedTick::Burst).await, [10, 35, 35, 40, 50]);
}

#[tokio::test(start_paused = true)]
async fn missed_ticks_delay_restarts_the_schedule() {
    assert_eq!(ticks_with(MissedTick::Delay).await, [10, 35, 45, 55]);
}

#[tokio::test(start_paused = true)]
async fn no_stale_tick_after_a_cancel() {
    let system = ActorSystem::new("test");
    let t = system.spawn(ticker(Duration::ZERO));
    t.start_every(Duration::from_millis(10), MissedTick::Burst)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(35)).await;
    t.cancel().await.unwrap();
    let at_cancel = t.ticks().await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(t.ticks().await.unwrap(), at_cancel);
    assert_eq!(at_cancel, [10, 20, 30]);
}

#[tokio::test(start_paused = true)]
async fn a_tick_queued_before_the_cancel_is_not_handled() {
    let system = ActorSystem::new("test");
    let t = system.spawn(ticker(Duration::ZERO));
    let timer = t
        .start_every_handle(Duration::from_millis(10))
        .await
        .unwrap();
    // The actor is busy from 0 to 30 ms; the tick due at 10 ms waits in its mailbox.
    t.hold(Duration::from_millis(30)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(15)).await;
    timer.cancel();
    assert!(timer.is_finished());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(t.ticks().await.unwrap(), Vec::<u64>::new());
}

#[tokio::test(start_paused = true)]
async fn timers_end_when_the_actor_stops() {
    let system = ActorSystem::new("test");
    let t = system.spawn(ticker(Duration::ZERO));
    t.start_every(Duration::from_millis(10), MissedTick::Skip)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(25)).await;
    t.stop();
    t.stopped().await;
    let dead_before = system.dead_letter_count();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // No tick was sent into the stopped actor.
    assert_eq!(system.dead_letter_count(), dead_before);
}
