//! Ask cycles: an ask made inside a handler that closes a cycle of actors waiting on each
//! other's replies fails at once with `AskError::Cycle` naming the cycle (two actors, three, a
//! pool worker asking its own pool, an ask sent with `try_send` whose reply is awaited),
//! instead of waiting until a timeout; a chain that is not a cycle still works, and leaves
//! nothing behind. On tokio's paused clock: a deadlock would end
//! in the asks' timeouts, and fail the test rather than hang it.

use std::convert::Infallible;
use std::time::Duration;

use compaktor::prelude::*;
use compaktor::{ActorLabel, DeadLetterReason};

/// What a node's `relay` ended with, as the test reads it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum Relay {
    /// The ask that closed a cycle was refused: the names in it, the asker first.
    #[error("cycle {0:?}")]
    Cycle(Vec<String>),
    /// Any other failure (a timeout, if the cycle were not found).
    #[error("{0}")]
    Other(String),
}

struct Node {
    next: Option<ActorRef<Node>>,
}

#[actor]
impl Node {
    #[handler]
    fn link(&mut self, next: Option<ActorRef<Node>>) {
        self.next = next;
    }

    /// Asks the next node to relay `hops - 1`; how many hops were made.
    #[handler]
    async fn relay(&mut self, hops: u32) -> Result<u32, Relay> {
        let Some(next) = self.next.as_ref().filter(|_| hops > 0) else {
            return Ok(0);
        };
        match next.relay(hops - 1).timeout(Duration::from_secs(5)).await {
            Ok(n) => Ok(n + 1),
            Err(AskError::Handler(relay)) => Err(relay),
            Err(AskError::Cycle { cycle, .. }) => Err(Relay::Cycle(names(&cycle))),
            Err(other) => Err(Relay::Other(other.to_string())),
        }
    }
}

fn names(cycle: &[ActorLabel]) -> Vec<String> {
    cycle
        .iter()
        .map(|label| label.name.as_deref().unwrap_or("?").to_owned())
        .collect()
}

/// Named nodes, each linked to the next by `links` (pairs of indices).
async fn nodes(
    system: &ActorSystem,
    names: &[&str],
    links: &[(usize, usize)],
) -> Vec<ActorRef<Node>> {
    let mut nodes = Vec::new();
    for name in names {
        let node = system
            .builder(Node { next: None })
            .name(*name)
            .spawn()
            .expect("spawned");
        nodes.push(node);
    }
    for &(from, to) in links {
        nodes[from]
            .link(Some(nodes[to].clone()))
            .ask()
            .await
            .expect("linked");
    }
    nodes
}

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

#[tokio::test(start_paused = true)]
async fn two_actors_asking_each_other_fail_at_once_naming_both() {
    let system = ActorSystem::new("test");
    let n = nodes(&system, &["a", "b"], &[(0, 1), (1, 0)]).await;
    // a asks b, and b, inside that handler, asks a: b's ask closes the cycle.
    let relayed = n[0].relay(2).timeout(Duration::from_secs(10)).await;
    assert_eq!(
        relayed,
        Err(AskError::Handler(Relay::Cycle(strings(&["b", "a"]))))
    );
    // The refused ask's message is counted as a dead letter.
    assert_eq!(
        system.dead_letter_count_for(DeadLetterReason::WouldDeadlock),
        1
    );
}

#[tokio::test(start_paused = true)]
async fn a_cycle_of_three_fails_at_the_ask_that_closes_it() {
    let system = ActorSystem::new("test");
    let n = nodes(&system, &["a", "b", "c"], &[(0, 1), (1, 2), (2, 0)]).await;
    let relayed = n[0].relay(3).timeout(Duration::from_secs(10)).await;
    assert_eq!(
        relayed,
        Err(AskError::Handler(Relay::Cycle(strings(&["c", "a", "b"]))))
    );
    // Nothing of the refused cycle is left: the same actors answer a chain that is not one.
    n[2].link(None).ask().await.expect("unlinked");
    assert_eq!(n[0].relay(3).timeout(Duration::from_secs(10)).await, Ok(2));
}

#[tokio::test(start_paused = true)]
async fn a_chain_that_is_not_a_cycle_works_and_leaves_nothing_behind() {
    let system = ActorSystem::new("test");
    let n = nodes(&system, &["a", "b", "c"], &[(0, 1), (1, 2)]).await;
    assert_eq!(n[0].relay(2).timeout(Duration::from_secs(10)).await, Ok(2));
    // a and b waited while the chain ran; now c asking a is no cycle.
    n[2].link(Some(n[0].clone())).ask().await.expect("linked");
    assert_eq!(n[2].relay(1).timeout(Duration::from_secs(10)).await, Ok(1));
    // And the error a refused ask gives reads as the cycle.
    let error = AskError::<Infallible>::Cycle {
        actor: n[0].label().clone(),
        handler: "relay",
        cycle: vec![n[1].label().clone(), n[0].label().clone()],
    };
    let text = error.to_string();
    assert!(
        text.contains("actor `b`") && text.contains("asks actor `a`") && text.contains("deadlock"),
        "{text}"
    );
}

struct Worker {
    pool: Option<ActorRef<Worker>>,
}

#[actor]
impl Worker {
    #[handler]
    fn join(&mut self, pool: ActorRef<Worker>) {
        self.pool = Some(pool);
    }

    #[handler]
    fn work(&self) -> u32 {
        7
    }

    /// Hands work on to its own pool, which may give it back to this very worker.
    #[handler]
    async fn delegate(&self) -> Result<u32, Relay> {
        let pool = self.pool.as_ref().expect("joined");
        match pool.work().timeout(Duration::from_secs(5)).await {
            Ok(n) => Ok(n),
            Err(AskError::Cycle { cycle, .. }) => Err(Relay::Cycle(
                cycle.iter().map(|label| label.id.to_string()).collect(),
            )),
            Err(other) => Err(Relay::Other(other.to_string())),
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_pool_worker_asking_its_own_pool_fails_at_once() {
    let system = ActorSystem::new("test");
    let pool = system
        .pool(1, || Worker { pool: None })
        .name("workers")
        .spawn()
        .expect("spawned");
    let joined = pool.broadcast(|w| w.join(pool.actor_ref())).await;
    assert!(joined.iter().all(Result::is_ok));
    let worker = pool.workers()[0].clone();
    let delegated = pool.delegate().timeout(Duration::from_secs(10)).await;
    assert_eq!(
        delegated,
        Err(AskError::Handler(Relay::Cycle(vec![
            worker.id().to_string(),
            pool.id().to_string()
        ])))
    );
    // Asked from outside the pool, the same work is done.
    assert_eq!(pool.work().await, Ok(7));
}

/// A node that asks with `try_send` and then awaits the [`PendingReply`](compaktor::PendingReply),
/// or asks the usual way: a cycle is found either way.
struct Peer {
    next: Option<ActorRef<Peer>>,
}

#[actor]
impl Peer {
    #[handler]
    fn link(&mut self, next: ActorRef<Peer>) {
        self.next = Some(next);
    }

    /// Asks the next peer to relay `hops - 1`, through `try_send` at the hops `pending` says.
    #[handler]
    async fn relay(&self, hops: u32, pending: [bool; 2]) -> Result<u32, Relay> {
        let Some(next) = self.next.as_ref().filter(|_| hops > 0) else {
            return Ok(0);
        };
        let ask = next
            .relay(hops - 1, pending)
            .timeout(Duration::from_secs(5));
        let answer = if pending[(hops % 2) as usize] {
            match ask.try_send() {
                Ok(reply) => reply.await,
                Err(refused) => Err(refused),
            }
        } else {
            ask.await
        };
        match answer {
            Ok(n) => Ok(n + 1),
            Err(AskError::Handler(relay)) => Err(relay),
            Err(AskError::Cycle { cycle, .. }) => Err(Relay::Cycle(names(&cycle))),
            Err(other) => Err(Relay::Other(other.to_string())),
        }
    }

    /// Asks itself through `try_send` and awaits the reply.
    #[handler]
    async fn ask_myself(&self, ctx: &mut Context<Self>) -> Result<u32, Relay> {
        let me = ctx.actor_ref();
        let ask = me.relay(0, [true; 2]).timeout(Duration::from_secs(5));
        match ask.try_send().expect("queued").await {
            Err(AskError::SelfAsk { .. }) => Err(Relay::Other("self-ask".into())),
            Ok(n) => Ok(n),
            Err(other) => Err(Relay::Other(other.to_string())),
        }
    }
}

async fn peers(system: &ActorSystem) -> (ActorRef<Peer>, ActorRef<Peer>) {
    let spawn = |name: &str| {
        system
            .builder(Peer { next: None })
            .name(name)
            .spawn()
            .expect("spawned")
    };
    let (a, b) = (spawn("a"), spawn("b"));
    a.link(b.clone()).ask().await.expect("linked");
    b.link(a.clone()).ask().await.expect("linked");
    (a, b)
}

#[tokio::test(start_paused = true)]
async fn an_ask_sent_with_try_send_and_awaited_is_checked_for_cycles() {
    let system = ActorSystem::new("test");
    let (a, _b) = peers(&system).await;
    // a asks b, b asks a: through `try_send` on either side, or both, b's wait closes the
    // cycle (or a's, when b's ask came first).
    for pending in [[true, true], [false, true], [true, false]] {
        let relayed = a.relay(2, pending).timeout(Duration::from_secs(10)).await;
        assert_eq!(
            relayed,
            Err(AskError::Handler(Relay::Cycle(strings(&["b", "a"])))),
            "{pending:?}"
        );
    }
    // A chain that is not a cycle still gets its answer through `try_send`.
    assert_eq!(
        a.relay(1, [true; 2]).timeout(Duration::from_secs(10)).await,
        Ok(1)
    );
}

#[tokio::test(start_paused = true)]
async fn a_reply_awaited_from_the_actor_itself_is_refused() {
    let system = ActorSystem::new("test");
    let (a, _b) = peers(&system).await;
    assert_eq!(
        a.ask_myself().timeout(Duration::from_secs(10)).await,
        Err(AskError::Handler(Relay::Other("self-ask".into())))
    );
    // The queued message is still handled afterwards; the actor goes on.
    assert_eq!(a.relay(0, [true; 2]).await, Ok(0));
}
