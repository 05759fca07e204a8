//! [`NodeConfig`]: how a system joins the network (which transport, its name, its limits).

use std::time::Duration;

use crate::MemoryNetwork;

/// How a system joins the network: its node name, the transport, and limits.
///
/// - [`NodeConfig::lan`]: a robot on a LAN (Zenoh peer mode, listens on all interfaces,
///   finds its peers by multicast scouting).
/// - [`NodeConfig::zenoh`] with [`listen`](Self::listen) / [`connect`](Self::connect) /
///   [`multicast_scouting`](Self::multicast_scouting): explicit endpoints (tests use
///   `tcp/127.0.0.1:PORT` or `unixsock-stream/PATH` with scouting off).
/// - [`NodeConfig::in_memory`]: nodes in one process on a [`MemoryNetwork`], for tests.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    pub(crate) name: String,
    pub(crate) transport: TransportChoice,
    pub(crate) max_frame: usize,
    pub(crate) ask_limit: Duration,
    pub(crate) discovery: Duration,
    pub(crate) lease: Duration,
}

#[derive(Debug, Clone)]
pub(crate) enum TransportChoice {
    Zenoh(ZenohOptions),
    Memory(MemoryNetwork),
}

#[derive(Debug, Clone)]
pub(crate) struct ZenohOptions {
    pub(crate) listen: Vec<String>,
    pub(crate) connect: Vec<String>,
    pub(crate) multicast_scouting: bool,
    #[cfg(feature = "tls")]
    pub(crate) tls: Option<Tls>,
}

/// Mutual TLS for a node's Zenoh links (feature `tls`): the certificate authority every peer
/// must be signed by, and this node's own certificate and private key (PEM files). A node
/// with TLS listens and connects on `tls/HOST:PORT` endpoints; a peer is only accepted if
/// its certificate is signed by the authority (in both directions), and the name it was
/// reached by (`HOST`) must be in the listening peer's certificate.
///
/// ```no_run
/// use compaktor_remote::{NodeConfig, Tls};
///
/// let config = NodeConfig::zenoh("robot-1")
///     .listen("tls/0.0.0.0:7447")
///     .tls(Tls::new("/etc/robot/ca.pem", "/etc/robot/robot-1.pem", "/etc/robot/robot-1.key"));
/// ```
#[cfg(feature = "tls")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    pub(crate) authority: std::path::PathBuf,
    pub(crate) certificate: std::path::PathBuf,
    pub(crate) private_key: std::path::PathBuf,
}

#[cfg(feature = "tls")]
impl Tls {
    /// The authority's certificate, this node's certificate (signed by it) and this node's
    /// private key, each a PEM file. They are read when the node joins.
    pub fn new(
        authority: impl Into<std::path::PathBuf>,
        certificate: impl Into<std::path::PathBuf>,
        private_key: impl Into<std::path::PathBuf>,
    ) -> Self {
        Tls {
            authority: authority.into(),
            certificate: certificate.into(),
            private_key: private_key.into(),
        }
    }
}

/// The default [lease](NodeConfig::lease): 2 s.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(2);

/// The default limit on one encoded message: 1 MiB.
pub const DEFAULT_MAX_FRAME: usize = 1 << 20;

impl NodeConfig {
    fn with(name: impl Into<String>, transport: TransportChoice) -> Self {
        NodeConfig {
            name: name.into(),
            transport,
            max_frame: DEFAULT_MAX_FRAME,
            ask_limit: Duration::from_secs(30),
            discovery: Duration::from_millis(500),
            lease: DEFAULT_LEASE,
        }
    }

    /// A robot on a LAN: Zenoh peer mode, listening on all interfaces (`tcp/0.0.0.0:0`),
    /// finding peers by multicast scouting.
    pub fn lan(name: impl Into<String>) -> Self {
        NodeConfig::with(
            name,
            TransportChoice::Zenoh(ZenohOptions {
                listen: vec!["tcp/0.0.0.0:0".into()],
                connect: Vec::new(),
                multicast_scouting: true,
                #[cfg(feature = "tls")]
                tls: None,
            }),
        )
    }

    /// Zenoh peer mode with no endpoint and no scouting yet: add them with
    /// [`listen`](Self::listen), [`connect`](Self::connect) and
    /// [`multicast_scouting`](Self::multicast_scouting).
    pub fn zenoh(name: impl Into<String>) -> Self {
        NodeConfig::with(
            name,
            TransportChoice::Zenoh(ZenohOptions {
                listen: Vec::new(),
                connect: Vec::new(),
                multicast_scouting: false,
                #[cfg(feature = "tls")]
                tls: None,
            }),
        )
    }

    /// A node on an in-process [`MemoryNetwork`]: no sockets, for tests.
    pub fn in_memory(network: &MemoryNetwork, name: impl Into<String>) -> Self {
        NodeConfig::with(name, TransportChoice::Memory(network.clone()))
    }

    /// Listens on a Zenoh endpoint (`tcp/127.0.0.1:7447`, `unixsock-stream/PATH`). Replaces
    /// the default of [`lan`](Self::lan) the first time it is called. Ignored in memory.
    pub fn listen(mut self, endpoint: impl Into<String>) -> Self {
        if let TransportChoice::Zenoh(options) = &mut self.transport {
            if options.listen == ["tcp/0.0.0.0:0"] {
                options.listen.clear();
            }
            options.listen.push(endpoint.into());
        }
        self
    }

    /// Connects to a peer's Zenoh endpoint. Ignored in memory.
    pub fn connect(mut self, endpoint: impl Into<String>) -> Self {
        if let TransportChoice::Zenoh(options) = &mut self.transport {
            options.connect.push(endpoint.into());
        }
        self
    }

    /// Whether to find peers by multicast scouting (on for [`lan`](Self::lan)). Ignored in
    /// memory.
    pub fn multicast_scouting(mut self, on: bool) -> Self {
        if let TransportChoice::Zenoh(options) = &mut self.transport {
            options.multicast_scouting = on;
        }
        self
    }

    /// Mutual TLS on this node's `tls/..` endpoints (feature `tls`): see [`Tls`]. A file
    /// that cannot be read, or is not PEM, fails the join with `JoinError::Transport`.
    /// Ignored in memory.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: Tls) -> Self {
        if let TransportChoice::Zenoh(options) = &mut self.transport {
            options.tls = Some(tls);
        }
        self
    }

    /// The largest encoded message this node sends or accepts ([`DEFAULT_MAX_FRAME`] unless
    /// set). Larger incoming frames are refused, counted and logged; a larger outgoing call
    /// fails at the caller.
    pub fn max_frame(mut self, bytes: usize) -> Self {
        self.max_frame = bytes;
        self
    }

    /// How long a remote ask may wait on the network when the asker set no shorter timeout
    /// (30 s unless set); past it the ask fails with `AskError::Remote` (`Unreachable`).
    pub fn ask_limit(mut self, limit: Duration) -> Self {
        self.ask_limit = limit;
        self
    }

    /// How long `join` looks for another node of the same name, and `lookup` waits for an
    /// export's subscriber to match (500 ms unless set).
    pub fn discovery(mut self, wait: Duration) -> Self {
        self.discovery = wait;
        self
    }

    /// How long this node may fall silent (a cut cable, a frozen process) before the other
    /// nodes count it as gone: their references to its actors end with
    /// `StopReason::Remote(RemoteEnd::NodeGone)`, their watchers get `Terminated`, and their
    /// asks to it fail with `Unreachable` ([`DEFAULT_LEASE`] unless set). A process that
    /// ends or crashes is noticed sooner, when its connections close. Shorter leases notice a
    /// cut sooner and cost more keep-alive traffic (four per lease): a robot whose motors
    /// follow a remote commander wants a short one (Zenoh: `transport/link/tx/lease`; in
    /// memory, the time after [`MemoryNetwork::cut`] at which the presence lapses).
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// The node's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}
