//! What `join`, `export` and `lookup` return when they do not work out.

/// Why [`RemoteNode::join`](crate::RemoteNode::join) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JoinError {
    /// Another node on the network already has this name.
    #[error("a node named `{0}` is already on the network; give each system its own name")]
    NameTaken(String),
    /// The name cannot be part of a key (empty, or has `/`, `*`, `$`, `?`, `#` or `@`).
    #[error("`{0}` cannot be a node name: use letters, digits, `-` and `_`")]
    BadName(String),
    /// The transport could not start (bad endpoint, port in use).
    #[error("the network could not be joined: {0}")]
    Transport(String),
}

/// Why [`RemoteNode::export`](crate::RemoteNode::export) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// This node exports another actor under the name.
    #[error("this node already exports an actor as `{0}`")]
    NameTaken(String),
    /// The name cannot be part of a key.
    #[error("`{0}` cannot be an export name: use letters, digits, `-` and `_`")]
    BadName(String),
    /// The transport refused the declaration.
    #[error("the export could not be declared: {0}")]
    Transport(String),
    /// This node has left the network ([`RemoteNode::leave`](crate::RemoteNode::leave)).
    #[error("this node has left the network; join again to export")]
    Left,
}

/// Why [`RemoteNode::lookup`](crate::RemoteNode::lookup) found no actor.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// Not `node/export`.
    #[error("`{0}` is not a remote path; write `node/export`, e.g. `robot-1/sonar`")]
    BadPath(String),
    /// No node exports an actor under this path (or none answered in time).
    #[error("no actor is exported as `{0}`")]
    NotFound(String),
    /// The export is another actor type, or another version of this one (its handler set
    /// differs).
    #[error(
        "`{path}` is a `{actual}` with another handler set, not the `{expected}` asked for \
         (the two binaries disagree on its handlers)"
    )]
    WrongType {
        /// The path looked up.
        path: String,
        /// The type asked for.
        expected: &'static str,
        /// The exported type.
        actual: String,
    },
    /// The local system is shutting down.
    #[error("the local system is shutting down")]
    ShuttingDown,
    /// The transport failed.
    #[error("the lookup failed on the network: {0}")]
    Transport(String),
    /// This node has left the network ([`RemoteNode::leave`](crate::RemoteNode::leave)).
    #[error("this node has left the network; join again to look actors up")]
    Left,
}

/// Why [`RemoteNode::share_topic`](crate::RemoteNode::share_topic) failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShareError {
    /// The topic's name cannot be a key (empty, an empty `/` segment, or has `*`, `$`, `?`,
    /// `#` or `@`).
    #[error(
        "the topic `{0}` cannot be shared under its name: use letters, digits, `-`, `_`, `.` and `/`"
    )]
    BadName(String),
    /// Another node of this system shares the topic already.
    #[error("the topic `{0}` is shared by another node of this system already")]
    SharedElsewhere(String),
    /// The transport refused the declaration.
    #[error("the topic could not be shared: {0}")]
    Transport(String),
    /// This node has left the network ([`RemoteNode::leave`](crate::RemoteNode::leave)).
    #[error("this node has left the network; join again to share a topic")]
    Left,
}
