//! A 10 s simulated run recorded to MCAP and read back with the `mcap` crate: every bridged
//! channel is there with its schema, every value published on a bridged topic is in the file,
//! samplers wrote at their rate in robot time, and the messages decode to what happened.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use compaktor::Topic;
use compaktor_foxglove::foxglove::Decode;
use compaktor_foxglove::foxglove::messages::{LaserScan, Log, PoseInFrame};
use compaktor_foxglove::robot::ESTOP_CHANNEL;
use compaktor_foxglove::{
    ARENA_CHANNEL, Bridge, DEAD_LETTERS_CHANNEL, HEALTH_CHANNEL, LOG_CHANNEL, TRANSFORM_CHANNEL,
    TRUE_POSE_CHANNEL,
};
use futures::StreamExt;
use serde_json::Value;
use support::Rover;
use tracing_subscriber::layer::SubscriberExt;

/// Counts the values published on `topic`, independently of the bridge.
fn count<T: Clone + Send + 'static>(topic: &Topic<T>) -> Arc<AtomicU64> {
    let counted = Arc::new(AtomicU64::new(0));
    let mut values = topic.stream();
    let n = Arc::clone(&counted);
    tokio::spawn(async move {
        while values.next().await.is_some() {
            n.fetch_add(1, Ordering::Relaxed);
        }
    });
    counted
}

struct Recorded {
    /// Per channel: schema name, schema encoding, message encoding.
    channels: BTreeMap<String, (String, String, String)>,
    /// Per channel: (log time, data) of each message, in file order.
    messages: BTreeMap<String, Vec<(u64, Vec<u8>)>>,
}

fn read(path: &std::path::Path) -> Recorded {
    let bytes = std::fs::read(path).unwrap();
    let summary = mcap::Summary::read(&bytes).unwrap().expect("a summary");
    let channels = summary
        .channels
        .values()
        .map(|c| {
            let schema = c.schema.as_ref().expect("every channel has a schema");
            (
                c.topic.clone(),
                (
                    schema.name.clone(),
                    schema.encoding.clone(),
                    c.message_encoding.clone(),
                ),
            )
        })
        .collect();
    let mut messages: BTreeMap<String, Vec<(u64, Vec<u8>)>> = BTreeMap::new();
    for message in mcap::MessageStream::new(&bytes).unwrap() {
        let message = message.unwrap();
        messages
            .entry(message.channel.topic.clone())
            .or_default()
            .push((message.log_time, message.data.into_owned()));
    }
    Recorded { channels, messages }
}

fn json(data: &[u8]) -> Value {
    serde_json::from_slice(data).unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_ten_second_run_is_recorded_with_every_channel() {
    let path = std::env::temp_dir().join(format!(
        "compaktor-foxglove-{}-ten-seconds.mcap",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&path);
    let rover = Rover::start(1).await;
    let mut bridge = Bridge::new();
    bridge.record(&path).unwrap();
    rover.bridge(&mut bridge);
    // Log lines: this test runs on one thread, so a thread's default subscriber sees them all.
    let log = bridge.log().unwrap();
    let _logging = tracing::subscriber::set_default(tracing_subscriber::registry().with(log));
    tracing::info!(seed = 1, "the run starts");

    let topics = [
        (
            rover.motor_topics[0].name().to_owned(),
            count(&rover.motor_topics[0]),
        ),
        (
            rover.motor_topics[1].name().to_owned(),
            count(&rover.motor_topics[1]),
        ),
        (rover.sonar.name().to_owned(), count(&rover.sonar)),
        (rover.poses.name().to_owned(), count(&rover.poses)),
    ];
    // One dead letter: a value nobody listens to.
    let nobody = rover.system.topic::<u32>("/nobody").unwrap();
    nobody.publish(7);

    tokio::time::sleep(Duration::from_secs(10)).await;
    let start_x = rover.world.config().start.x;
    rover.stop().await;
    // The counters and the bridge's tasks take what the last publishes queued.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let report = bridge.close().await.unwrap();
    assert_eq!(report.recording.as_deref(), Some(path.as_path()));
    let recorded = read(&path);
    std::fs::remove_file(&path).unwrap();

    // Every channel, with its schema.
    let mut expected: BTreeSet<String> = topics.iter().map(|(name, _)| name.clone()).collect();
    for channel in [
        HEALTH_CHANNEL,
        DEAD_LETTERS_CHANNEL,
        ESTOP_CHANNEL,
        TRUE_POSE_CHANNEL,
        TRANSFORM_CHANNEL,
        ARENA_CHANNEL,
        LOG_CHANNEL,
    ] {
        expected.insert(channel.to_owned());
    }
    assert_eq!(
        recorded.channels.keys().cloned().collect::<BTreeSet<_>>(),
        expected
    );
    let schema = |channel: &str| recorded.channels[channel].clone();
    assert_eq!(
        schema(TRUE_POSE_CHANNEL),
        (
            "foxglove.PoseInFrame".into(),
            "protobuf".into(),
            "protobuf".into()
        )
    );
    assert_eq!(schema(&topics[2].0).0, "foxglove.LaserScan");
    assert_eq!(schema(ARENA_CHANNEL).0, "foxglove.SceneUpdate");
    assert_eq!(schema(TRANSFORM_CHANNEL).0, "foxglove.FrameTransform");
    assert_eq!(schema(LOG_CHANNEL).0, "foxglove.Log");
    for channel in [
        HEALTH_CHANNEL,
        DEAD_LETTERS_CHANNEL,
        ESTOP_CHANNEL,
        &topics[0].0,
    ] {
        let (_, schema_encoding, encoding) = schema(channel);
        assert_eq!(
            (schema_encoding.as_str(), encoding.as_str()),
            ("jsonschema", "json")
        );
    }

    // Every value published on a bridged topic is in the file, and the bridge counted it.
    let in_file = |channel: &str| recorded.messages.get(channel).map_or(0, Vec::len) as u64;
    for (name, counted) in &topics {
        let counted = counted.load(Ordering::Relaxed);
        assert!(counted > 0, "{name} published nothing");
        assert_eq!(in_file(name), counted, "{name}");
        assert_eq!(report.channel(name).unwrap().messages, counted, "{name}");
    }
    // Sonar every 60 ms, odometry every 50 ms, for 10 s.
    assert!(in_file(&topics[2].0) >= 150, "{}", in_file(&topics[2].0));
    assert!(in_file(&topics[3].0) >= 190, "{}", in_file(&topics[3].0));

    // Samplers: one at once, then one per period, over at least 10 s of robot time (and at
    // most 10.1 s and the shutdown's one second deadline).
    for (channel, period_ms) in [
        (HEALTH_CHANNEL, 500),
        (ESTOP_CHANNEL, 100),
        (TRUE_POSE_CHANNEL, 50),
        (TRANSFORM_CHANNEL, 50),
        (ARENA_CHANNEL, 1000),
    ] {
        let n = in_file(channel);
        let least = 10_000 / period_ms + 1;
        let most = 11_100 / period_ms + 1;
        assert!((least..=most).contains(&n), "{channel}: {n} messages");
        assert_eq!(report.channel(channel).unwrap().messages, n);
        // Stamped in robot time: the run took 10 s of it (and far less on the wall clock).
        let times: Vec<u64> = recorded.messages[channel].iter().map(|m| m.0).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{channel}");
        let span = Duration::from_nanos(times.last().unwrap() - times[0]);
        assert!(
            span >= Duration::from_millis(10_000) && span <= Duration::from_millis(11_100),
            "{channel}: {span:?}"
        );
    }

    // What happened: the robot drove off from its start ...
    let poses = &recorded.messages[TRUE_POSE_CHANNEL];
    let pose_x = |data: &[u8]| {
        let pose = PoseInFrame::decode(data).unwrap();
        assert_eq!(pose.frame_id, "arena");
        pose.pose.unwrap().position.unwrap().x
    };
    assert!((pose_x(&poses[0].1) - start_x).abs() < 0.01);
    assert!(
        (pose_x(&poses.last().unwrap().1) - start_x).abs() > 0.1
            || (pose_x(&poses[40].1) - start_x).abs() > 0.1,
        "the robot did not move"
    );
    // ... the sonar saw something in range ...
    let scans = &recorded.messages[&topics[2].0];
    assert!(scans.iter().any(|(_, data)| {
        let scan = LaserScan::decode(data.as_slice()).unwrap();
        scan.frame_id == "robot" && scan.ranges.len() == 1 && scan.ranges[0].is_finite()
    }));
    // ... the motors were told 0.5, and went to duty 0 when the E-stop stopped the robot ...
    let left = &recorded.messages[&topics[0].0];
    assert!(left.iter().any(|(_, d)| json(d)["duty"] == 0.5));
    let last = json(&left.last().unwrap().1);
    assert_eq!(last["duty"], 0.0, "{last}");
    assert_eq!(last["event"], "safe_state", "{last}");
    // ... the E-stop was released during the run and engaged at its end ...
    let estop = &recorded.messages[ESTOP_CHANNEL];
    assert_eq!(json(&estop[0].1)["engaged"], false);
    let last = json(&estop.last().unwrap().1);
    assert_eq!(last["engaged"], true, "{last}");
    assert_eq!(last["reason"], "stopping: test over", "{last}");
    // ... the health report lists every actor, busy handling messages ...
    let health = json(&recorded.messages[HEALTH_CHANNEL][10].1);
    let paths: BTreeSet<&str> = health["actors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        BTreeSet::from(["/left_motor", "/right_motor", "/sonar", "/odometry"])
    );
    assert!(
        health["actors"][0]["handled"].as_u64().unwrap() > 50,
        "{health}"
    );
    // ... the log has this test's line and the motors' warnings as the robot stopped ...
    let logs: Vec<Log> = recorded.messages[LOG_CHANNEL]
        .iter()
        .map(|(_, data)| Log::decode(data.as_slice()).unwrap())
        .collect();
    assert_eq!(
        report.channel(LOG_CHANNEL).unwrap().messages,
        logs.len() as u64
    );
    let first = &logs[0];
    assert_eq!(
        (first.message.as_str(), first.level, first.name.as_str()),
        ("the run starts seed=1", 2, "recording")
    );
    assert!(
        first.file.ends_with("recording.rs") && first.line > 0,
        "{first:?}"
    );
    assert!(
        logs.iter().any(|l| l.level == 3
            && l.name.starts_with("compaktor_pi")
            && l.message.starts_with("motor in safe state")
            && l.message.contains("motor=left_motor")),
        "{logs:#?}"
    );
    // ... and the value nobody listened to is a dead letter.
    let letters = &recorded.messages[DEAD_LETTERS_CHANNEL];
    assert!(
        letters.iter().map(|(_, d)| json(d)).any(|l| l["recipient"]
            .as_str()
            .unwrap()
            .contains("/nobody")
            && l["reason"] == "NoSubscriber"),
        "{:?}",
        letters.iter().map(|(_, d)| json(d)).collect::<Vec<_>>()
    );
}
