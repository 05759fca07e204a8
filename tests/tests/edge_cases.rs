//! Edge cases a review found, each a bug before its fix: failed pool spawns, pools after they
//! stop, kills while routing, group restarts of a stuck sibling, links to an actor that is
//! ending, stopping from a start hook, children spawned while stopping, and bad jitter.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::time::Duration;

use compaktor::DeadLetterReason;
use compaktor::prelude::*;
use compaktor::testkit::settle;

// ---------- pools ----------

struct W;
#[actor]
impl W {
    #[handler]
    fn ping(&self) -> u32 {
        1
    }
}

/// A pool whose factory fails on the 2nd worker: spawn returns Err, and the pool's name, its
/// live count and its first worker are released.
#[tokio::test(start_paused = true)]
async fn a_failed_pool_spawn_frees_its_name_and_actors() {
    let system = ActorSystem::new("t");
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let res = system
        .pool(2, move || {
            if c.fetch_add(1, Ordering::SeqCst) == 1 {
                panic!("second worker fails");
            }
            W
        })
        .name("p")
        .spawn();
    assert!(res.is_err());
    settle().await;
    assert_eq!(
        system.live_actors(),
        0,
        "leaked actors after failed pool spawn"
    );
    assert!(
        system.pool(1, || W).name("p").spawn().is_ok(),
        "name stays taken"
    );
}

/// add_worker after the pool has stopped is refused (it would start a worker nobody stops).
#[tokio::test(start_paused = true)]
async fn a_stopped_pool_takes_no_new_worker() {
    let system = ActorSystem::new("t");
    let pool = system.pool(1, || W).spawn().unwrap();
    pool.stop();
    pool.stopped().await;
    settle().await;
    assert_eq!(system.live_actors(), 0);
    let r = pool.add_worker();
    settle().await;
    assert!(matches!(r, Err(SpawnError::ParentStopping { .. })), "{r:?}");
    assert_eq!(system.live_actors(), 0);
}

#[actor(mailbox = 1)]
impl Slow {
    #[handler]
    async fn hang(&self) {
        std::future::pending::<()>().await;
    }
}
struct Slow;

/// A pool killed while its router waits for room in a worker's full mailbox counts the
/// message it holds as a dead letter.
#[tokio::test(start_paused = true)]
async fn a_pool_killed_while_waiting_for_room_counts_the_message() {
    let system = ActorSystem::new("t");
    let pool = system.pool(1, || Slow).spawn().unwrap();
    // 1: in the worker's handler, 2: in the worker's mailbox, 3: held by the router.
    for _ in 0..3 {
        pool.hang().await.unwrap();
        settle().await;
    }
    let before = system.dead_letter_count();
    pool.kill();
    pool.stopped().await;
    settle().await;
    // The queued one (2) and the one in the router (3) were never handled.
    assert_eq!(
        system.dead_letter_count() - before,
        2,
        "by reason: dropped={}",
        system.dead_letter_count_for(DeadLetterReason::Dropped)
    );
}

// ---------- one-for-all with a stuck sibling ----------

struct Child {
    id: &'static str,
}
#[actor]
impl Child {
    #[handler]
    fn crash(&self) {
        panic!("{} crashed", self.id);
    }
    #[handler]
    async fn hang(&self) {
        std::future::pending::<()>().await;
    }
    #[handler]
    fn ping(&self) -> &'static str {
        self.id
    }
}

type Setup = Box<dyn FnOnce(&mut Context<Boss>) + Send>;
struct Boss;
#[actor]
impl Boss {
    #[handler]
    fn run(&mut self, setup: Setup, ctx: &mut Context<Self>) {
        setup(ctx);
    }
}

#[tokio::test(start_paused = true)]
async fn one_for_all_restarts_a_stuck_sibling_too() {
    let system = ActorSystem::new("t");
    let boss = system.spawn(Boss);
    let (tx, rx) = tokio::sync::oneshot::channel();
    boss.run(Box::new(move |ctx: &mut Context<Boss>| {
        ctx.supervise(Supervision::one_for_all());
        let a = ctx.child(|| Child { id: "a" }).name("a").spawn().unwrap();
        let b = ctx
            .child(|| Child { id: "b" })
            .name("b")
            .shutdown_timeout(Duration::from_secs(1))
            .spawn()
            .unwrap();
        let _ = tx.send((a, b));
    }))
    .ask()
    .await
    .unwrap();
    let (a, b) = rx.await.unwrap();
    settle().await;
    b.hang().await.unwrap();
    settle().await;
    a.crash().await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    settle().await;
    assert!(a.is_alive());
    // b is Permanent: one-for-all should restart it with a, not end it for good.
    assert!(
        b.is_alive(),
        "b ended for good: {:?}",
        tokio::time::timeout(Duration::from_millis(1), b.stopped()).await
    );
}

// ---------- links ----------

struct Dying;
#[actor]
impl Dying {
    #[handler]
    fn crash(&self) {
        panic!("boom");
    }
    #[on_stop]
    async fn stop(&mut self) {
        tokio::time::sleep(Duration::from_secs(10)).await;
    }
}

struct Linker {
    n: Arc<AtomicU32>,
}
#[actor]
impl Linker {
    #[handler]
    fn link_to(&mut self, other: ActorRef<Dying>, ctx: &mut Context<Self>) {
        ctx.link(&other);
    }
    #[on_stop]
    fn stop(&mut self) {
        self.n.fetch_add(1, Ordering::SeqCst);
    }
}

/// Linking to an actor that has already failed but is still in its stop hook: the doc says
/// "If `other` has already failed, this actor fails after the current handler".
#[tokio::test(start_paused = true)]
async fn linking_to_an_actor_failing_in_its_stop_hook_fails_the_linker() {
    let system = ActorSystem::new("t");
    let dying = system.spawn(Dying);
    let linker = system.spawn(Linker { n: Arc::default() });
    dying.crash().await.unwrap();
    settle().await; // dying is now in its 10 s stop hook, links already ended
    assert!(!dying.is_alive());
    linker.link_to(dying.clone()).ask().await.unwrap();
    tokio::time::sleep(Duration::from_secs(20)).await;
    settle().await;
    assert!(dying.stopped().await.is_failure());
    assert!(
        !linker.is_alive(),
        "linker never learned that its linked peer failed"
    );
}

// ---------- ctx.stop() in on_start ----------

struct StopsAtStart;
#[actor]
impl StopsAtStart {
    #[on_start]
    fn start(&mut self, ctx: &mut Context<Self>) {
        ctx.stop();
    }
    #[handler]
    fn ping(&self) {}
}

#[tokio::test(start_paused = true)]
async fn stop_from_a_start_hook_stops_at_once() {
    let system = ActorSystem::new("t");
    let a = system.spawn(StopsAtStart);
    settle().await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!a.is_alive(), "ctx.stop() in on_start did nothing");
}

// ---------- child spawned from on_stop ----------

struct Leaf;
#[actor]
impl Leaf {}

struct SpawnsInStop;
#[actor]
impl SpawnsInStop {
    #[on_stop]
    fn stop(&mut self, ctx: &mut Context<Self>) {
        let _ = ctx.child(|| Leaf).spawn();
    }
}

#[tokio::test(start_paused = true)]
async fn a_stopping_parent_takes_no_new_children() {
    let system = ActorSystem::new("t");
    let p = system.spawn(SpawnsInStop);
    p.stop();
    p.stopped().await;
    tokio::time::sleep(Duration::from_secs(10)).await;
    settle().await;
    assert_eq!(system.live_actors(), 0, "orphan child");
}

// ---------- NaN jitter is no jitter (it used to panic the coordinator) ----------

#[tokio::test(start_paused = true)]
async fn nan_jitter_is_no_jitter() {
    let system = ActorSystem::new("t");
    let boss = system.spawn(Boss);
    let (tx, rx) = tokio::sync::oneshot::channel();
    boss.run(Box::new(move |ctx: &mut Context<Boss>| {
        ctx.supervise(
            Supervision::one_for_one().backoff(
                compaktor::Backoff::exponential(Duration::from_millis(10), Duration::from_secs(1))
                    .jitter(f64::NAN),
            ),
        );
        let _ = tx.send(ctx.child(|| Child { id: "a" }).spawn().unwrap());
    }))
    .ask()
    .await
    .unwrap();
    let a = rx.await.unwrap();
    a.crash().await.unwrap();
    let r = tokio::time::timeout(Duration::from_secs(60), a.ping()).await;
    assert!(r.is_ok(), "child never restarted nor stopped; ask hangs");
}

// ---------- a restarted instance does not get its predecessor's queued timer ticks ----------

struct Ticker {
    ticks: compaktor::ActorRef<compaktor::testkit::Probe<(u32, tokio::time::Instant)>>,
}

#[actor]
impl Ticker {
    #[on_start]
    fn start(&mut self, ctx: &mut Context<Self>) {
        ctx.every(Duration::from_millis(100), |me| me.tick());
    }

    #[handler]
    async fn tick(&self, ctx: &mut Context<Self>) {
        let _ = self
            .ticks
            .record((ctx.restart_count(), tokio::time::Instant::now()))
            .await;
    }

    /// Sleeps past a tick (which is queued meanwhile), then panics.
    #[handler]
    async fn crash(&self) {
        tokio::time::sleep(Duration::from_millis(150)).await;
        panic!("crash with a tick queued");
    }
}

struct TickerParent {
    probe: compaktor::ActorRef<compaktor::testkit::Probe<(u32, tokio::time::Instant)>>,
}

#[actor]
impl TickerParent {
    #[handler]
    fn spawn_ticker(&mut self, ctx: &mut Context<Self>) -> Result<ActorRef<Ticker>, SpawnError> {
        ctx.supervise(Supervision::one_for_one().backoff(Backoff::exponential(
            Duration::from_secs(1),
            Duration::from_secs(1),
        )));
        let probe = self.probe.clone();
        ctx.child(move || Ticker {
            ticks: probe.clone(),
        })
        .spawn()
    }
}

#[tokio::test(start_paused = true)]
async fn a_restarted_instance_skips_its_predecessors_queued_ticks() {
    let system = ActorSystem::new("t");
    let mut probe = compaktor::testkit::TestProbe::new(&system);
    let parent = system.spawn(TickerParent {
        probe: probe.actor_ref().clone(),
    });
    let ticker = parent.spawn_ticker().await.unwrap();
    let first = probe.expect(Duration::from_secs(1)).await;
    assert_eq!(first.0, 0);
    ticker.crash().await.unwrap();
    // The instance's next tick was queued during `crash`; it must not reach the new instance.
    let restarted_at = tokio::time::Instant::now() + Duration::from_millis(150 + 1000);
    let (instance, at) = probe.expect(Duration::from_secs(5)).await;
    assert_eq!(instance, 1, "no tick of the old instance after its crash");
    assert!(
        at >= restarted_at + Duration::from_millis(100),
        "the new instance's first tick comes one period after its start, not at once: {:?}",
        at - restarted_at
    );
}
