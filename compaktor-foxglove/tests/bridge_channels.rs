//! The bridge's own promises: closing hands over every value already published, a value that
//! cannot be encoded is counted and left out (the rest still go), one channel per name, and
//! sinks that cannot be made are typed errors.

use std::collections::BTreeMap;
use std::time::Duration;

use compaktor::ActorSystem;
use compaktor_foxglove::{Bridge, BridgeError, HEALTH_CHANNEL};
use serde::ser::Error as _;
use serde::{Serialize, Serializer};

fn temp_mcap(name: &str) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!(
        "compaktor-foxglove-{}-{name}.mcap",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&path);
    path
}

/// The messages of each channel in an MCAP file, as JSON, in order.
fn read_json(path: &std::path::Path) -> BTreeMap<String, Vec<serde_json::Value>> {
    let bytes = std::fs::read(path).unwrap();
    let mut channels: BTreeMap<String, Vec<serde_json::Value>> = BTreeMap::new();
    for message in mcap::MessageStream::new(&bytes).unwrap() {
        let message = message.unwrap();
        channels
            .entry(message.channel.topic.clone())
            .or_default()
            .push(serde_json::from_slice(&message.data).unwrap());
    }
    channels
}

#[tokio::test(start_paused = true)]
async fn closing_hands_every_published_value_to_the_recording() {
    let path = temp_mcap("close");
    let system = ActorSystem::new("robot");
    let ticks = system.topic::<u32>("ticks").unwrap();
    let mut bridge = Bridge::new();
    bridge.record(&path).unwrap().topic(&ticks).unwrap();
    // Published without ever yielding to the bridge's task: close must still take them.
    for n in 0..50 {
        ticks.publish(n);
    }
    let report = bridge.close().await.unwrap();
    assert_eq!(report.channel("/ticks").unwrap().messages, 50);
    let recorded = read_json(&path);
    std::fs::remove_file(&path).unwrap();
    let values: Vec<u64> = recorded["/ticks"]
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(values, (0..50).collect::<Vec<u64>>());
}

/// Serializes only its even values.
#[derive(Debug, Clone, schemars::JsonSchema)]
struct Picky(u32);

impl Serialize for Picky {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0 % 2 == 1 {
            return Err(S::Error::custom("odd"));
        }
        serializer.serialize_u32(self.0)
    }
}

#[tokio::test(start_paused = true)]
async fn a_value_that_cannot_be_encoded_is_counted_and_left_out() {
    let path = temp_mcap("picky");
    let system = ActorSystem::new("robot");
    let picky = system.topic::<Picky>("/picky").unwrap();
    let mut bridge = Bridge::new();
    bridge.record(&path).unwrap().topic(&picky).unwrap();
    for n in 0..6 {
        picky.publish(Picky(n));
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
    let report = bridge.close().await.unwrap();
    let count = report.channel("/picky").unwrap();
    assert_eq!((count.messages, count.encode_errors), (3, 3));
    let recorded = read_json(&path);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(recorded["/picky"], [0, 2, 4]);
}

#[tokio::test(start_paused = true)]
async fn one_channel_per_name() {
    let system = ActorSystem::new("robot");
    let volts = system.topic::<f32>("/battery").unwrap();
    let words = system.topic::<String>("battery").unwrap();
    let mut bridge = Bridge::new();
    bridge.topic(&volts).unwrap();
    let err = bridge.topic(&words).unwrap_err();
    assert!(
        matches!(&err, BridgeError::ChannelTaken(name) if name == "/battery"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "the bridge already has a Foxglove channel `/battery`; give this one another name"
    );
    bridge.health(&system, Duration::from_secs(1)).unwrap();
    assert!(matches!(
        bridge.health(&system, Duration::from_secs(2)),
        Err(BridgeError::ChannelTaken(name)) if name == HEALTH_CHANNEL
    ));
    assert_eq!(bridge.channels().len(), 2);
}

#[tokio::test]
async fn sinks_that_cannot_be_made_are_typed_errors() {
    let mut bridge = Bridge::new();
    let err = bridge
        .record("/nonexistent-dir/run.mcap")
        .map(|_| ())
        .unwrap_err();
    assert!(matches!(err, BridgeError::Record { .. }), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("cannot record to /nonexistent-dir/run.mcap: "),
        "{err}"
    );
    let path = temp_mcap("twice");
    bridge.record(&path).unwrap();
    assert!(matches!(
        bridge.record(&path).map(|_| ()),
        Err(BridgeError::AlreadyStarted("records"))
    ));
    // A recording is never written over.
    let mut other = Bridge::new();
    assert!(matches!(
        other.record(&path).map(|_| ()),
        Err(BridgeError::Record { .. })
    ));

    let live = bridge.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    let taken = Bridge::new().serve(live).await.unwrap_err();
    assert!(
        matches!(taken, BridgeError::Serve { addr, .. } if addr == live),
        "{taken:?}"
    );
    bridge.close().await.unwrap();
    std::fs::remove_file(&path).unwrap();
}
