//! The live view: a WebSocket client speaking Foxglove's protocol subscribes to channels of a
//! running simulated robot, and what it receives decodes and moves.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use compaktor_foxglove::foxglove::Decode;
use compaktor_foxglove::foxglove::messages::PoseInFrame;
use compaktor_foxglove::{Bridge, HEALTH_CHANNEL, TRUE_POSE_CHANNEL};
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use support::Rover;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// Foxglove's binary opcode for a message on a subscription.
const MESSAGE_DATA: u8 = 0x01;

type Client =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The server's next message. On the paused clock, robot time runs while the client waits for
/// the socket (ten minutes of it take about half a minute here): a server that says nothing
/// fails the test instead of hanging it.
async fn next(ws: &mut Client) -> Message {
    tokio::time::timeout(Duration::from_secs(600), ws.next())
        .await
        .expect("nothing from the server in ten minutes of robot time")
        .expect("the server closed the connection")
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn a_websocket_client_sees_the_running_robot_move() {
    let rover = Rover::start(2).await;
    let mut bridge = Bridge::new();
    rover.bridge(&mut bridge);
    let addr = bridge.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    assert!(addr.ip().is_loopback() && addr.port() != 0, "{addr}");
    assert_eq!(bridge.live_port(), Some(addr.port()));

    let mut request = format!("ws://{addr}").into_client_request().unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "foxglove.sdk.v1".parse().unwrap());
    let (mut ws, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(
        response.headers()["sec-websocket-protocol"],
        "foxglove.sdk.v1"
    );

    // The server advertises every channel, with its schema.
    let left_motor = rover.motor_topics[0].name().to_owned();
    let wanted = [TRUE_POSE_CHANNEL, HEALTH_CHANNEL, left_motor.as_str()];
    let mut channels: BTreeMap<String, Value> = BTreeMap::new();
    while !wanted.iter().all(|c| channels.contains_key(*c)) {
        let Message::Text(text) = next(&mut ws).await else {
            continue;
        };
        let message: Value = serde_json::from_str(&text).unwrap();
        if message["op"] == "advertise" {
            for channel in message["channels"].as_array().unwrap() {
                let topic = channel["topic"].as_str().unwrap().to_owned();
                channels.insert(topic, channel.clone());
            }
        }
    }
    assert_eq!(channels[TRUE_POSE_CHANNEL]["encoding"], "protobuf");
    assert_eq!(
        channels[TRUE_POSE_CHANNEL]["schemaName"],
        "foxglove.PoseInFrame"
    );
    assert_eq!(channels[HEALTH_CHANNEL]["encoding"], "json");
    assert_eq!(channels[HEALTH_CHANNEL]["schemaEncoding"], "jsonschema");
    let schema: Value =
        serde_json::from_str(channels[HEALTH_CHANNEL]["schema"].as_str().unwrap()).unwrap();
    assert!(schema["properties"]["actors"].is_object(), "{schema}");

    // Subscribe to three of them: subscription ids 1, 2, 3.
    let subscriptions: Vec<Value> = wanted
        .iter()
        .enumerate()
        .map(|(n, c)| json!({ "id": n + 1, "channelId": channels[*c]["id"] }))
        .collect();
    let subscribe = json!({ "op": "subscribe", "subscriptions": subscriptions });
    ws.send(Message::text(subscribe.to_string())).await.unwrap();

    // Until the robot has visibly moved (its heading or place), and every subscription had data.
    let mut poses: Vec<(u64, [f64; 3])> = Vec::new();
    let mut health = Vec::new();
    let mut duties = Vec::new();
    let moved = |poses: &[(u64, [f64; 3])]| {
        let (first, last) = (poses[0].1, poses[poses.len() - 1].1);
        (0..3).any(|i| (first[i] - last[i]).abs() > 0.1)
    };
    for _ in 0..2_000 {
        if poses.len() > 1 && moved(&poses) && !health.is_empty() && !duties.is_empty() {
            break;
        }
        let Message::Binary(frame) = next(&mut ws).await else {
            continue;
        };
        assert_eq!(frame[0], MESSAGE_DATA);
        let subscription = u32::from_le_bytes(frame[1..5].try_into().unwrap());
        let log_time = u64::from_le_bytes(frame[5..13].try_into().unwrap());
        let data = &frame[13..];
        match subscription {
            1 => {
                let pose = PoseInFrame::decode(data).unwrap();
                assert_eq!(pose.frame_id, "arena");
                let pose = pose.pose.unwrap();
                let (p, q) = (pose.position.unwrap(), pose.orientation.unwrap());
                poses.push((log_time, [p.x, p.y, 2.0 * q.z.atan2(q.w)]));
            }
            2 => health.push(serde_json::from_slice::<Value>(data).unwrap()),
            3 => duties.push(serde_json::from_slice::<Value>(data).unwrap()["duty"].clone()),
            other => panic!("a message for subscription {other}, never made"),
        }
    }
    assert!(poses.len() > 1 && moved(&poses), "{poses:?}");
    assert!(
        poses.windows(2).all(|w| w[0].0 < w[1].0),
        "stamped in order"
    );
    assert!(
        health[0]["actor_count"].as_u64().unwrap() >= 4,
        "{}",
        health[0]
    );
    assert!(
        duties
            .iter()
            .all(|d| d.as_f64().is_some_and(|d| d.abs() <= 1.0)),
        "{duties:?}"
    );

    drop(ws);
    rover.stop().await;
    bridge.close().await.unwrap();
}
