//! Death watch and links: a watcher learns which actor ended and why (also when it had ended
//! before the watch), unwatch, and linked actors failing together unless they trap exits.

use std::time::Duration;

use compaktor::prelude::*;
use compaktor::testkit::{Probe, TestProbe, settle};
use compaktor_tests::ended;

/// The actor being watched or linked.
struct Worker;

#[actor]
impl Worker {
    #[handler]
    fn crash(&mut self) {
        panic!("worker crashed");
    }

    #[handler]
    fn restarts(&self, ctx: &mut Context<Self>) -> u32 {
        ctx.restart_count()
    }
}

fn crashed() -> StopReason {
    StopReason::Panicked {
        handler: "crash",
        message: "worker crashed".into(),
    }
}

/// Watches workers and records each `Terminated` notice to a probe.
struct Watcher {
    probe: ActorRef<Probe<Terminated>>,
}

#[actor]
impl Watcher {
    #[handler]
    fn watch(&mut self, worker: ActorRef<Worker>, ctx: &mut Context<Self>) {
        ctx.watch(&worker, |me, notice| me.gone(notice));
    }

    #[handler]
    fn unwatch(&mut self, id: ActorId, ctx: &mut Context<Self>) -> bool {
        ctx.unwatch(id)
    }

    #[handler]
    async fn gone(&mut self, notice: Terminated) {
        self.probe.record(notice).await.unwrap();
    }

    #[handler]
    fn ping(&self) -> u32 {
        1
    }
}

fn watcher(system: &ActorSystem) -> (ActorRef<Watcher>, TestProbe<Terminated>) {
    let probe = TestProbe::new(system);
    let watcher = system.spawn(Watcher {
        probe: probe.actor_ref().clone(),
    });
    (watcher, probe)
}

const WITHIN: Duration = Duration::from_secs(1);

#[tokio::test]
async fn a_watcher_is_told_which_actor_ended_and_why() {
    let system = ActorSystem::new("test");
    let (watcher, mut probe) = watcher(&system);
    let worker = system.builder(Worker).name("worker").spawn().unwrap();
    watcher.watch(worker.clone()).ask().await.unwrap();

    worker.crash().await.unwrap();
    let notice = probe.expect(WITHIN).await;
    assert_eq!(notice.actor, *worker.label());
    assert_eq!(&*notice.path, "/worker");
    assert_eq!(notice.reason, crashed());
    // Watching is not failing: the watcher goes on.
    assert_eq!(watcher.ping().await.unwrap(), 1);
}

#[tokio::test]
async fn each_way_of_ending_reaches_the_watcher() {
    let system = ActorSystem::new("test");
    let (watcher, mut probe) = watcher(&system);
    let stopped = system.spawn(Worker);
    let killed = system.spawn(Worker);
    watcher.watch(stopped.clone()).ask().await.unwrap();
    watcher.watch(killed.clone()).ask().await.unwrap();

    stopped.stop();
    let notice = probe.expect(WITHIN).await;
    assert_eq!(
        (notice.actor.id, notice.reason),
        (stopped.id(), StopReason::Stopped)
    );
    killed.kill();
    let notice = probe.expect(WITHIN).await;
    assert_eq!(
        (notice.actor.id, notice.reason),
        (killed.id(), StopReason::Killed)
    );
}

#[tokio::test]
async fn watching_an_actor_that_already_ended_delivers_the_notice_at_once() {
    let system = ActorSystem::new("test");
    let (watcher, mut probe) = watcher(&system);
    let worker = system.spawn(Worker);
    worker.crash().await.unwrap();
    assert_eq!(ended(&worker).await, crashed());

    watcher.watch(worker.clone()).ask().await.unwrap();
    let notice = probe.expect(WITHIN).await;
    assert_eq!((notice.actor.id, notice.reason), (worker.id(), crashed()));
}

#[tokio::test(start_paused = true)]
async fn an_unwatched_actor_ending_sends_no_notice() {
    let system = ActorSystem::new("test");
    let (watcher, mut probe) = watcher(&system);
    let unwatched = system.spawn(Worker);
    let watched = system.spawn(Worker);
    watcher.watch(unwatched.clone()).ask().await.unwrap();
    watcher.watch(watched.clone()).ask().await.unwrap();

    assert!(watcher.unwatch(unwatched.id()).await.unwrap());
    assert!(
        !watcher.unwatch(unwatched.id()).await.unwrap(),
        "already unwatched"
    );
    unwatched.kill();
    ended(&unwatched).await;
    probe.expect_no_message(WITHIN).await;

    // The watch that was kept still works.
    watched.kill();
    let notice = probe.expect(WITHIN).await;
    assert_eq!(notice.actor.id, watched.id());
    probe.expect_no_message(WITHIN).await;
}

// Pruning watches that have fired must not count as unwatching (a bug this test caught).
#[tokio::test]
async fn unwatch_says_whether_that_actor_was_watched() {
    let system = ActorSystem::new("test");
    let (watcher, mut probe) = watcher(&system);
    let ended = system.spawn(Worker);
    let never_watched = system.spawn(Worker);
    watcher.watch(ended.clone()).ask().await.unwrap();
    ended.kill();
    assert_eq!(probe.expect(WITHIN).await.actor.id, ended.id());
    settle().await;
    assert!(
        !watcher.unwatch(never_watched.id()).await.unwrap(),
        "`never_watched` was never watched"
    );
}

#[tokio::test(start_paused = true)]
async fn watching_the_same_actor_again_gives_one_notice() {
    let system = ActorSystem::new("test");
    let (watcher, mut probe) = watcher(&system);
    let worker = system.spawn(Worker);
    watcher.watch(worker.clone()).ask().await.unwrap();
    watcher.watch(worker.clone()).ask().await.unwrap();
    worker.kill();
    assert_eq!(probe.expect(WITHIN).await.actor.id, worker.id());
    probe.expect_no_message(WITHIN).await;
}

/// A supervisor for one `Worker` child, named `worker`.
struct Parent;

#[actor]
impl Parent {
    #[handler]
    fn spawn_worker(&mut self, ctx: &mut Context<Self>) -> Result<ActorRef<Worker>, SpawnError> {
        ctx.child(|| Worker).name("worker").spawn()
    }

    #[handler]
    fn add_peer(
        &mut self,
        probe: Option<ActorRef<Probe<LinkExit>>>,
        ctx: &mut Context<Self>,
    ) -> Result<ActorRef<Peer>, SpawnError> {
        ctx.child(move || Peer {
            probe: probe.clone(),
        })
        .name("peer")
        .spawn()
    }
}

#[tokio::test(start_paused = true)]
async fn a_restart_is_not_an_end_but_the_final_stop_is() {
    let system = ActorSystem::new("test");
    let (watcher, mut probe) = watcher(&system);
    let parent = system.builder(Parent).name("parent").spawn().unwrap();
    let worker = parent.spawn_worker().await.unwrap();
    watcher.watch(worker.clone()).ask().await.unwrap();

    worker.crash().await.unwrap();
    assert_eq!(worker.restarts().await.unwrap(), 1);
    probe.expect_no_message(WITHIN).await;

    worker.stop();
    let notice = probe.expect(WITHIN).await;
    assert_eq!(
        (&*notice.path, notice.reason),
        ("/parent/worker", StopReason::Stopped)
    );
}

/// Links to others; can trap exits (then its probe gets each `LinkExit`).
struct Peer {
    probe: Option<ActorRef<Probe<LinkExit>>>,
}

#[actor]
impl Peer {
    #[on_start]
    fn start(&mut self, ctx: &mut Context<Self>) {
        if self.probe.is_some() {
            ctx.trap_exits(|me, exit| me.exited(exit));
        }
    }

    #[handler]
    fn link(&mut self, other: ActorRef<Peer>, ctx: &mut Context<Self>) {
        ctx.link(&other);
    }

    #[handler]
    fn unlink(&mut self, other: ActorRef<Peer>, ctx: &mut Context<Self>) -> bool {
        ctx.unlink(&other)
    }

    #[handler]
    async fn exited(&mut self, exit: LinkExit) {
        if let Some(probe) = &self.probe {
            probe.record(exit).await.unwrap();
        }
    }

    #[handler]
    fn crash(&mut self) {
        panic!("peer crashed");
    }

    #[handler]
    fn ping(&self, ctx: &mut Context<Self>) -> u32 {
        ctx.restart_count()
    }
}

fn peer_crashed() -> StopReason {
    StopReason::Panicked {
        handler: "crash",
        message: "peer crashed".into(),
    }
}

fn peer(system: &ActorSystem, name: &str) -> ActorRef<Peer> {
    system
        .builder(Peer { probe: None })
        .name(name)
        .spawn()
        .unwrap()
}

#[tokio::test]
async fn a_linked_actors_failure_fails_its_peer_both_ways() {
    let system = ActorSystem::new("test");
    for crash_the_linker in [false, true] {
        let a = peer(&system, "a");
        let b = peer(&system, "b");
        a.link(b.clone()).ask().await.unwrap();
        let (failing, linked) = if crash_the_linker { (&a, &b) } else { (&b, &a) };

        failing.crash().await.unwrap();
        assert_eq!(ended(failing).await, peer_crashed());
        assert_eq!(
            ended(linked).await,
            StopReason::LinkFailed {
                peer: failing.label().clone(),
                reason: Box::new(peer_crashed()),
            }
        );
    }
}

#[tokio::test]
async fn a_normal_stop_ends_the_link_without_failing_the_peer() {
    let system = ActorSystem::new("test");
    let a = peer(&system, "a");
    let b = peer(&system, "b");
    a.link(b.clone()).ask().await.unwrap();
    b.stop();
    assert_eq!(ended(&b).await, StopReason::Stopped);
    settle().await;
    assert_eq!(a.ping().await.unwrap(), 0);
    assert!(a.is_alive());
    // And the link is gone: a's later failure reaches no one.
    assert!(!a.unlink(b.clone()).await.unwrap());
}

#[tokio::test]
async fn an_actor_that_traps_exits_gets_a_notice_instead_of_failing() {
    let system = ActorSystem::new("test");
    let mut probe = TestProbe::<LinkExit>::new(&system);
    let trapper = system
        .builder(Peer {
            probe: Some(probe.actor_ref().clone()),
        })
        .name("trapper")
        .spawn()
        .unwrap();
    let crasher = peer(&system, "crasher");
    let stopper = peer(&system, "stopper");
    trapper.link(crasher.clone()).ask().await.unwrap();
    trapper.link(stopper.clone()).ask().await.unwrap();

    crasher.crash().await.unwrap();
    let exit = probe.expect(WITHIN).await;
    assert_eq!(
        (exit.actor, exit.reason),
        (crasher.label().clone(), peer_crashed())
    );
    assert_eq!(trapper.ping().await.unwrap(), 0, "still the same instance");

    // Normal stops are reported too.
    stopper.stop();
    let exit = probe.expect(WITHIN).await;
    assert_eq!(
        (exit.actor, exit.reason),
        (stopper.label().clone(), StopReason::Stopped)
    );
    assert!(trapper.is_alive());
}

#[tokio::test]
async fn unlinked_actors_fail_alone() {
    let system = ActorSystem::new("test");
    let a = peer(&system, "a");
    let b = peer(&system, "b");
    a.link(b.clone()).ask().await.unwrap();
    assert!(b.unlink(a.clone()).await.unwrap());
    assert!(!a.unlink(b.clone()).await.unwrap(), "unlinked both ways");

    b.crash().await.unwrap();
    assert_eq!(ended(&b).await, peer_crashed());
    settle().await;
    assert_eq!(a.ping().await.unwrap(), 0);
    assert!(a.is_alive());
}

#[tokio::test]
async fn linking_to_an_actor_that_already_failed_fails_the_linker() {
    let system = ActorSystem::new("test");
    let a = peer(&system, "a");
    let dead = peer(&system, "dead");
    dead.crash().await.unwrap();
    assert_eq!(ended(&dead).await, peer_crashed());

    a.link(dead.clone()).ask().await.unwrap();
    assert_eq!(
        ended(&a).await,
        StopReason::LinkFailed {
            peer: dead.label().clone(),
            reason: Box::new(peer_crashed()),
        }
    );
}

#[tokio::test]
async fn a_linked_failure_under_a_supervisor_restarts_the_peer() {
    let system = ActorSystem::new("test");
    let parent = system.builder(Parent).name("parent").spawn().unwrap();
    let child = parent.add_peer(None).await.unwrap();
    let outsider = peer(&system, "outsider");
    child.link(outsider.clone()).ask().await.unwrap();

    outsider.crash().await.unwrap();
    assert_eq!(ended(&outsider).await, peer_crashed());
    assert_eq!(child.ping().await.unwrap(), 1, "restarted by its parent");

    // Links belong to an instance: the restarted child is linked to no one.
    let other = peer(&system, "other");
    assert!(!child.unlink(other).await.unwrap());
}
