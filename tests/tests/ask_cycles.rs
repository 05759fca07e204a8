//! Ask cycles: an ask made inside a handler that closes a cycle of actors waiting on each
//! other's replies fails at once with `AskError::Cycle` naming the cycle (two actors, three, a
//! pool worker asking its own pool), instead of waiting until a timeout; a chain that is not a
//! cycle still works, and leaves nothing behind. On tokio's paused clock: a deadlock would end
//! in the asks' timeouts, and fail the test rather than hang it.

use std::convert::Infallible;

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
