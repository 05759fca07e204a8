//! Presence: which nodes and exports are on the network, and how a reference learns that
//! its actor is gone. Each node holds a token `compaktor-node/<node>` and each export a token
//! `compaktor-export/<node>/<export>`; a node that withdraws an export first says why on
//! `compaktor-end/<node>/<export>` (the actor stopped, with its reason, or it was
//! unexported). A node that leaves cleanly declares a goodbye token `compaktor-bye/<node>`
//! before its other tokens go. [`follow`] turns these into one [`RemoteEnd`]: the farewell if
//! one came, `NodeLeft` if the goodbye did, else `NodeGone` when the node's token went
//! (process ended, crashed, or silent past its lease).

use std::sync::Arc;
use std::time::Duration;

use compaktor::remote::ProxyInbox;
use compaktor::{RemoteEnd, StopReason};
use tokio::sync::watch;
use tokio::task::AbortHandle;

use crate::transport::{Declared, Transport};
use crate::wire;

/// How long, after an export's token went, a reference waits for the farewell or its node's
/// token before it calls the export withdrawn (the farewell is a put, the token's end a
/// declaration: the network may deliver them in either order).
const FAREWELL_GRACE: Duration = Duration::from_millis(250);

pub(crate) fn node_key(node: &str) -> String {
    format!("compaktor-node/{node}")
}

pub(crate) fn export_token_key(node: &str, export: &str) -> String {
    format!("compaktor-export/{node}/{export}")
}

pub(crate) fn farewell_key(node: &str, export: &str) -> String {
    format!("compaktor-end/{node}/{export}")
}

/// The token a node declares as its goodbye, just before its presence goes.
pub(crate) fn goodbye_key(node: &str) -> String {
    format!("compaktor-bye/{node}")
}

/// What one reference follows: `ended` becomes `Some` once, when the actor (or, for a node's
/// presence, the node) is gone. Dropping it stops following.
pub(crate) struct Follow {
    pub(crate) ended: watch::Receiver<Option<RemoteEnd>>,
    _farewells: Option<Box<dyn Declared>>,
    task: AbortHandle,
}

impl Drop for Follow {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Sets the end, unless one was set already.
fn settle(ended: &watch::Sender<Option<RemoteEnd>>, end: RemoteEnd) {
    ended.send_if_modified(|current| {
        if current.is_some() {
            return false;
        }
        *current = Some(end);
        true
    });
}

/// The end once it is known.
pub(crate) async fn ended(ended: &mut watch::Receiver<Option<RemoteEnd>>) -> RemoteEnd {
    let end = ended
        .wait_for(Option::is_some)
        .await
        .ok()
        .map(|end| end.clone());
    match end {
        Some(Some(end)) => end,
        // Nobody can set it any more: it never ends.
        _ => std::future::pending().await,
    }
}

/// Follows node `node`, and its export `export` if given; `None` if their tokens were not
/// seen within `discovery` (they are not on the network).
pub(crate) async fn follow(
    transport: &Arc<dyn Transport>,
    node: &str,
    export: Option<&str>,
    discovery: Duration,
) -> Result<Option<Follow>, String> {
    let (tx, ended) = watch::channel(None);
    let tx = Arc::new(tx);
    let farewells = match export {
        Some(export) => {
            let key = farewell_key(node, export);
            let (tx, node) = (Arc::clone(&tx), node.to_owned());
            let on_put =
                Arc::new(
                    move |bytes: Vec<u8>| match wire::parse_farewell(&bytes, &node) {
                        Some(end) => settle(&tx, end),
                        None => {
                            tracing::warn!(node = %node, "ignored a farewell that does not parse")
                        }
                    },
                );
            Some(transport.subscribe(key, on_put).await?)
        }
        None => None,
    };
    // Before the presence token is watched: the goodbye comes before the token goes.
    let mut left = transport.appears(goodbye_key(node)).await?;
    let mut node_gone = transport.watch(node_key(node), discovery).await?;
    let mut export_gone = match export {
        Some(export) => Some(
            transport
                .watch(export_token_key(node, export), discovery)
                .await?,
        ),
        None => None,
    };
    // A watch of a token nobody holds is over at once.
    let absent = |gone: &mut crate::transport::Gone| {
        let waker = std::task::Waker::noop();
        gone.as_mut()
            .poll(&mut std::task::Context::from_waker(waker))
            .is_ready()
    };
    // (`absent` on the goodbye: it is there already, the node is leaving.)
    if absent(&mut left) || absent(&mut node_gone) || export_gone.as_mut().is_some_and(absent) {
        return Ok(None);
    }
    let mut settled = ended.clone();
    let node = node.to_owned();
    let task = tokio::spawn(async move {
        let gone = RemoteEnd::NodeGone { node: node.clone() };
        let bye = RemoteEnd::NodeLeft { node: node.clone() };
        let export_gone = async {
            match export_gone {
                Some(gone) => gone.await,
                None => std::future::pending().await,
            }
        };
        // Biased, the goodbye first: when it and the token's end are both in, it says why.
        tokio::select! {
            biased;
            _ = settled.changed() => return,
            () = &mut left => return settle(&tx, bye),
            _ = &mut node_gone => return settle(&tx, gone),
            () = export_gone => {}
        }
        // The export's token went: its farewell says why, unless the whole node went.
        tokio::select! {
            biased;
            _ = settled.changed() => {}
            () = &mut left => settle(&tx, bye),
            _ = &mut node_gone => settle(&tx, gone),
            () = tokio::time::sleep(FAREWELL_GRACE) => settle(&tx, RemoteEnd::Unexported { node }),
        }
    });
    Ok(Some(Follow {
        ended,
        _farewells: farewells,
        task: task.abort_handle(),
    }))
}

/// Another node's presence on the network, as an actor reference: what
/// [`RemoteNode::presence`](crate::RemoteNode::presence) gives. It has no handlers; it ends
/// when the node goes (`StopReason::Remote(RemoteEnd::NodeGone)`, or `NodeLeft` when it said
/// goodbye; both failures), or when it is
/// stopped or killed, but not when its last reference is dropped (a watch or link on it
/// cannot lapse by accident), so
/// `ctx.watch` and `ctx.link` on it react to the node's loss as to an actor's: the way to stop
/// a motor when the node commanding it disappears.
///
/// ```
/// use compaktor::prelude::*;
/// use compaktor::{RemoteEnd, Terminated};
/// use compaktor_remote::{MemoryNetwork, NodeConfig, Presence, RemoteNode};
///
/// /// Drives while its commander is on the network; stops the moment it is not.
/// struct Wheels { driving: bool }
///
/// #[actor]
/// impl Wheels {
///     #[handler]
///     fn follow(&mut self, commander: ActorRef<Presence>, ctx: &mut Context<Self>) {
///         ctx.watch(&commander, |me, t| me.commander_lost(t));
///         self.driving = true;
///     }
///     #[handler]
///     fn commander_lost(&mut self, _gone: Terminated) { self.driving = false; }
///     #[handler]
///     fn driving(&self) -> bool { self.driving }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let network = MemoryNetwork::new();
/// let robot = ActorSystem::new("robot");
/// let node = RemoteNode::join(&robot, NodeConfig::in_memory(&network, "robot-1")).await?;
/// let base = ActorSystem::new("base");
/// let _base_node = RemoteNode::join(&base, NodeConfig::in_memory(&network, "base")).await?;
///
/// let wheels = robot.spawn(Wheels { driving: false });
/// let commander = node.presence("base").await?;
/// wheels.follow(commander.clone()).await?;
/// assert!(wheels.driving().await?);
///
/// network.kill("base"); // the base station's process dies
/// let reason = commander.stopped().await;
/// assert_eq!(reason, StopReason::Remote(RemoteEnd::NodeGone { node: "base".into() }));
/// // The watch's notice reaches the wheels right after.
/// let mut tries = 0;
/// while wheels.driving().await? && tries < 100 {
///     tokio::task::yield_now().await;
///     tries += 1;
/// }
/// assert!(!wheels.driving().await?);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Presence {
    _private: (),
}

#[compaktor::actor]
impl Presence {}

/// The task behind a presence reference: ends it when the node goes.
pub(crate) async fn run_presence(mut inbox: ProxyInbox<Presence>, follow: Follow) {
    // Held here, so the reference never ends as `Released`: a watch or a link on it cannot
    // lapse because the caller dropped its copy (it ends when the node goes, or on `stop`).
    let _kept = inbox.proxy();
    let mut watching = follow.ended.clone();
    tokio::select! {
        end = ended(&mut watching) => inbox.end(StopReason::Remote(end)),
        () = async { while inbox.recv().await.is_some() {} } => {}
    }
}
