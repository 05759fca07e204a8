//! Each device's readings as Foxglove shows them: published on the topics the peripheral
//! actors use, recorded, and read back in the well-known or JSON shape.

use std::collections::BTreeMap;
use std::time::Duration;

use compaktor::ActorSystem;
use compaktor_foxglove::Bridge;
use compaktor_foxglove::foxglove::Decode;
use compaktor_foxglove::foxglove::messages::{LaserScan, PoseInFrame};
use compaktor_pi::actors::{
    BatteryLevel, BatteryReading, Distance, LineReading, MotorEvent, PoseEstimate, SafeCause,
};
use compaktor_pi::device::{ImuSample, Range};
use serde_json::{Value, json};
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn every_device_reading_is_recorded_in_the_shape_foxglove_shows() {
    let path = std::env::temp_dir().join(format!(
        "compaktor-foxglove-{}-devices.mcap",
        std::process::id()
    ));
    let _ = std::fs::remove_file(&path);
    let system = ActorSystem::new("robot");
    let motor = system.topic::<MotorEvent>("/left_motor/events").unwrap();
    let sonar = system.topic::<Distance>("/sonar/distance").unwrap();
    let battery = system.topic::<BatteryReading>("/battery/readings").unwrap();
    let imu = system.topic::<ImuSample>("/imu/samples").unwrap();
    let line = system.topic::<LineReading>("/line/readings").unwrap();
    let poses = system.topic::<PoseEstimate>("/odometry").unwrap();
    let mut bridge = Bridge::new();
    bridge
        .record(&path)
        .unwrap()
        .motor(&motor)
        .unwrap()
        .sonar(&sonar)
        .unwrap()
        .battery(&battery)
        .unwrap()
        .imu(&imu)
        .unwrap()
        .line(&line)
        .unwrap()
        .pose(&poses)
        .unwrap();
    let start = bridge.clock().now_nanos();

    tokio::time::sleep(Duration::from_millis(250)).await;
    let at = Instant::now();
    motor.publish(MotorEvent::Speed(0.5));
    motor.publish(MotorEvent::Braked);
    motor.publish(MotorEvent::SafeState(SafeCause::Watchdog {
        silent_for: Duration::from_millis(300),
    }));
    motor.publish(MotorEvent::SafeState(SafeCause::EStop));
    sonar.publish(Distance {
        range: Range::Distance(0.42),
        at,
    });
    sonar.publish(Distance {
        range: Range::OutOfRange,
        at,
    });
    battery.publish(BatteryReading {
        voltage: 6.4,
        current: 1.5,
        level: BatteryLevel::Low,
    });
    imu.publish(ImuSample {
        accel: [0.0, 0.0, 9.81],
        gyro: [0.0, 0.0, 0.5],
    });
    line.publish(LineReading {
        position: None,
        raw: vec![100, 900],
    });
    poses.publish(PoseEstimate {
        x: 1.0,
        y: 2.0,
        heading: std::f64::consts::FRAC_PI_2,
        distance: 3.0,
        at: Duration::from_secs(1),
    });
    let report = bridge.close().await.unwrap();
    assert!(
        report.channels.iter().all(|c| c.encode_errors == 0),
        "{report:?}"
    );

    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let mut recorded: BTreeMap<String, Vec<(u64, Vec<u8>)>> = BTreeMap::new();
    for message in mcap::MessageStream::new(&bytes).unwrap() {
        let message = message.unwrap();
        recorded
            .entry(message.channel.topic.clone())
            .or_default()
            .push((message.log_time, message.data.into_owned()));
    }
    let json_of = |channel: &str| -> Vec<Value> {
        recorded[channel]
            .iter()
            .map(|(_, d)| serde_json::from_slice(d).unwrap())
            .collect()
    };

    assert_eq!(
        json_of("/left_motor/events"),
        [
            json!({ "duty": 0.5, "event": "speed", "cause": null }),
            json!({ "duty": 0.0, "event": "braked", "cause": null }),
            json!({ "duty": 0.0, "event": "safe_state", "cause": "watchdog: silent for 300ms" }),
            json!({ "duty": 0.0, "event": "safe_state", "cause": "estop" }),
        ]
    );
    assert_eq!(
        json_of("/battery/readings"),
        [json!({ "voltage": 6.4, "current": 1.5, "level": "Low" })]
    );
    assert_eq!(
        json_of("/imu/samples"),
        [json!({ "accel": [0.0, 0.0, 9.81], "gyro": [0.0, 0.0, 0.5] })]
    );
    assert_eq!(
        json_of("/line/readings"),
        [json!({ "position": null, "raw": [100, 900] })]
    );

    // The sonar: one ray straight ahead, stamped when it was measured (250 ms in), nothing
    // in range as an infinite range.
    let scans: Vec<LaserScan> = recorded["/sonar/distance"]
        .iter()
        .map(|(_, d)| LaserScan::decode(d.as_slice()).unwrap())
        .collect();
    assert_eq!(scans.len(), 2);
    assert_eq!(scans[0].ranges, [f64::from(0.42f32)]);
    assert_eq!(scans[1].ranges, [f64::INFINITY]);
    assert_eq!(scans[0].frame_id, "robot");
    assert_eq!(
        scans[0].timestamp.unwrap().total_nanos() - start,
        250_000_000
    );
    // Every message is logged at the robot time it went out.
    assert_eq!(recorded["/sonar/distance"][0].0 - start, 250_000_000);

    // The pose estimate: in the odometry frame, facing +y.
    let pose = PoseInFrame::decode(recorded["/odometry"][0].1.as_slice()).unwrap();
    assert_eq!(pose.frame_id, "odom");
    let pose = pose.pose.unwrap();
    let (p, q) = (pose.position.unwrap(), pose.orientation.unwrap());
    assert_eq!((p.x, p.y, p.z), (1.0, 2.0, 0.0));
    let heading = 2.0 * q.z.atan2(q.w);
    assert!(
        (heading - std::f64::consts::FRAC_PI_2).abs() < 1e-12,
        "{heading}"
    );
}
