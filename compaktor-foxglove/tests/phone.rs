//! The phone page's HTTP API against a simulated rover, asked through its router (no socket,
//! tokio's paused clock): the token guards driving and releasing the E-stop but not pressing
//! it, bad requests get a 4xx and reach no motor, and the motors' watchdogs stop the robot
//! when the phone goes silent.
#![cfg(feature = "phone")]

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use compaktor_foxglove::phone::{Followers, Phone};
use compaktor_pi::actors::{MotorEvent, SafeCause};
use futures::StreamExt;
use serde_json::{Value, json};
use support::Rover;
use tower::ServiceExt;

struct Fixture {
    rover: Rover,
    router: Router,
    token: String,
    teleop: compaktor_foxglove::phone::Teleop,
    /// Every event of each motor, from the start.
    events: [Arc<Mutex<Vec<MotorEvent>>>; 2],
    _followers: Followers,
}

async fn fixture() -> Fixture {
    let rover = Rover::start_with(3, false).await;
    let mut events = Vec::new();
    for topic in &rover.motor_topics {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut stream = topic.stream();
        let into = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Some(event) = stream.next().await {
                into.lock().unwrap().push(event);
            }
        });
        events.push(seen);
    }
    let phone = Phone::new(&rover.system, &rover.estop)
        .unwrap()
        .drive(rover.motors[0].clone(), rover.motors[1].clone())
        .max_duty(0.5)
        .pose(&rover.poses);
    let token = phone.token().to_owned();
    let teleop = phone.teleop();
    let (router, followers) = phone.router().await.unwrap();
    Fixture {
        rover,
        router,
        token,
        teleop,
        events: events.try_into().unwrap(),
        _followers: followers,
    }
}

impl Fixture {
    async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        let body = if status == StatusCode::OK || bytes.first() == Some(&b'{') {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        } else {
            Value::String(String::from_utf8_lossy(&bytes).into_owned())
        };
        (status, body)
    }

    async fn post(&self, path: &str, token: Option<&str>, body: &str) -> (StatusCode, Value) {
        let mut request = Request::post(path).header(header::CONTENT_TYPE, "application/json");
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        self.send(request.body(Body::from(body.to_owned())).unwrap())
            .await
    }

    async fn drive(&self, forward: f64, turn: f64) -> (StatusCode, Value) {
        let body = json!({ "forward": forward, "turn": turn }).to_string();
        self.post("/api/drive", Some(&self.token), &body).await
    }

    /// Drives as the page does while the joystick is held: the command every 100 ms, for
    /// `held` (the rover's motors ramp: 4 duty per second).
    async fn hold(&self, forward: f64, turn: f64, held: Duration) {
        let start = tokio::time::Instant::now();
        while start.elapsed() < held {
            let (status, answer) = self.drive(forward, turn).await;
            assert_eq!(status, StatusCode::OK, "{answer}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// What the motors did since the last call (after the topics' followers caught up).
    async fn motor_events(&self) -> [Vec<MotorEvent>; 2] {
        tokio::time::sleep(Duration::from_millis(1)).await;
        self.events
            .each_ref()
            .map(|e| std::mem::take(&mut *e.lock().unwrap()))
    }

    async fn speeds(&self) -> [f32; 2] {
        [
            self.rover.motors[0].speed().await.unwrap(),
            self.rover.motors[1].speed().await.unwrap(),
        ]
    }
}

fn error_of(body: &Value) -> &str {
    body["error"].as_str().unwrap_or_else(|| panic!("{body}"))
}

#[tokio::test(start_paused = true)]
async fn the_page_and_the_status_need_no_token() {
    let f = fixture().await;
    let response = f
        .router
        .clone()
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    let page = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let page = String::from_utf8(page.to_vec()).unwrap();
    assert!(page.contains(r#"id="estop""#) && page.contains(r#"id="joystick""#));

    tokio::time::sleep(Duration::from_millis(200)).await; // odometry publishes a pose
    let (status, body) = f
        .send(Request::get("/api/status").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["robot"], "rover");
    assert_eq!(body["estop"]["engaged"], false);
    assert_eq!(body["phone_drives"], false);
    assert_eq!(body["duties"], json!([0.0, 0.0]));
    assert!(body["pose"]["x"].is_number(), "{body}");
    let actors: Vec<&str> = body["health"]["actors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["path"].as_str().unwrap())
        .collect();
    assert!(
        actors.contains(&"/left_motor") && actors.contains(&"/odometry"),
        "{actors:?}"
    );
    f.rover.stop().await;
}

#[tokio::test(start_paused = true)]
async fn driving_needs_the_token() {
    let f = fixture().await;
    let body = r#"{"forward": 1.0, "turn": 0.0}"#;

    let (status, answer) = f.post("/api/drive", None, body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{answer}");
    assert!(error_of(&answer).contains("needs the token"), "{answer}");
    let (status, answer) = f.post("/api/drive", Some("0123456789abcdef"), body).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert!(error_of(&answer).contains("wrong token"), "{answer}");
    // Almost the token: one character off.
    let mut almost = f.token.clone();
    almost.replace_range(0..1, if almost.starts_with('0') { "1" } else { "0" });
    let (status, _) = f.post("/api/drive", Some(&almost), body).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        f.motor_events().await,
        [vec![], vec![]],
        "a refused request drove"
    );
    assert!(!f.teleop.phone_drives());

    let (status, answer) = f.post("/api/drive", Some(&f.token), body).await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["phone_drives"], true);
    assert_eq!(answer["mode"], "phone");
    assert!(f.teleop.phone_drives());
    f.hold(1.0, 0.0, Duration::from_millis(300)).await;
    assert_eq!(f.speeds().await, [0.5, 0.5]);
    // A turn: one wheel ahead, one back.
    f.hold(0.0, -1.0, Duration::from_millis(500)).await;
    assert_eq!(f.speeds().await, [-0.5, 0.5]);
    let [left, right] = f.motor_events().await;
    assert!(left.contains(&MotorEvent::Speed(0.5)), "{left:?}");
    assert_eq!(left.last(), Some(&MotorEvent::Speed(-0.5)), "{left:?}");
    assert_eq!(right.last(), Some(&MotorEvent::Speed(0.5)), "{right:?}");

    // Giving the robot back needs the token too.
    let (status, _) = f.post("/api/mode", None, r#"{"mode": "auto"}"#).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(f.teleop.phone_drives());
    let (status, answer) = f
        .post("/api/mode", Some(&f.token), r#"{"mode": "auto"}"#)
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(!f.teleop.phone_drives());
    f.rover.stop().await;
}

#[tokio::test(start_paused = true)]
async fn bad_requests_get_a_4xx_and_reach_no_motor() {
    let f = fixture().await;
    let token = Some(f.token.as_str());
    let cases: [(&str, &str, StatusCode, &str); 9] = [
        ("/api/drive", "{not json", StatusCode::BAD_REQUEST, "JSON"),
        (
            "/api/drive",
            r#"{"forward": 0.5}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "turn",
        ),
        (
            "/api/drive",
            r#"{"forward": "fast", "turn": 0}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "forward",
        ),
        (
            "/api/drive",
            r#"{"forward": 1.5, "turn": 0}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "`forward` must be a number within -1.0..=1.0, got 1.5",
        ),
        (
            "/api/drive",
            r#"{"forward": 0, "turn": -2}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "`turn` must be",
        ),
        (
            "/api/drive",
            r#"{"forward": 1e999, "turn": 0}"#,
            StatusCode::BAD_REQUEST,
            "",
        ),
        (
            "/api/drive",
            r#"{"forward": 0.2, "turn": 0, "boost": true}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "boost",
        ),
        (
            "/api/mode",
            r#"{"mode": "turbo"}"#,
            StatusCode::UNPROCESSABLE_ENTITY,
            "turbo",
        ),
        ("/api/nowhere", "{}", StatusCode::NOT_FOUND, "/api/nowhere"),
    ];
    for (path, body, expected, says) in cases {
        let (status, answer) = f.post(path, token, body).await;
        assert_eq!(status, expected, "{path} {body}: {answer}");
        assert!(answer.to_string().contains(says), "{path} {body}: {answer}");
    }
    // Not JSON at all, too big, the wrong method.
    let request = Request::post("/api/drive")
        .header(header::AUTHORIZATION, format!("Bearer {}", f.token))
        .body(Body::from("forward=1"))
        .unwrap();
    assert_eq!(f.send(request).await.0, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let huge = format!(
        r#"{{"forward": 0.1, "turn": 0, "pad": "{}"}}"#,
        "x".repeat(4096)
    );
    assert_eq!(
        f.post("/api/drive", token, &huge).await.0,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    let request = Request::get("/api/drive").body(Body::empty()).unwrap();
    assert_eq!(f.send(request).await.0, StatusCode::METHOD_NOT_ALLOWED);

    assert_eq!(
        f.motor_events().await,
        [vec![], vec![]],
        "a bad request drove"
    );
    assert_eq!(f.speeds().await, [0.0, 0.0]);
    assert!(!f.teleop.phone_drives(), "a bad request took the wheel");
    f.rover.stop().await;
}

#[tokio::test(start_paused = true)]
async fn anyone_may_press_the_estop_but_only_the_token_releases_it() {
    let f = fixture().await;
    f.hold(1.0, 0.0, Duration::from_millis(300)).await;
    assert_eq!(f.speeds().await, [0.5, 0.5]);

    let (status, answer) = f.post("/api/estop", None, "").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["estop"]["engaged"], true);
    assert_eq!(
        answer["estop"]["reason"],
        "E-stop pressed on the phone page"
    );
    assert!(f.rover.estop.is_engaged());
    assert_eq!(f.speeds().await, [0.0, 0.0]);
    let safe = MotorEvent::SafeState(SafeCause::EStop);
    let events = f.motor_events().await;
    assert!(events.iter().all(|e| e.last() == Some(&safe)), "{events:?}");
    assert_eq!(
        f.post("/api/status", None, "").await.0,
        StatusCode::METHOD_NOT_ALLOWED
    );
    let (_, status) = f
        .send(Request::get("/api/status").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status["duties"], json!([0.0, 0.0]), "{status}");

    // Driving is refused while it is engaged, before any motor is asked.
    let (status, answer) = f.drive(1.0, 0.0).await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert!(error_of(&answer).contains("E-stop is engaged"), "{answer}");

    // Releasing it needs the token ...
    let (status, _) = f.post("/api/estop/reset", None, "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = f.post("/api/estop/reset", Some("nope"), "").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(f.rover.estop.is_engaged());
    // ... and is refused while a button that pulls it is held.
    let button = f.rover.estop.input("big red button", true);
    let (status, answer) = f.post("/api/estop/reset", Some(&f.token), "").await;
    assert_eq!(status, StatusCode::CONFLICT, "{answer}");
    assert!(error_of(&answer).contains("big red button"), "{answer}");
    assert!(f.rover.estop.is_engaged());
    button.set_asserted(false);
    let (status, answer) = f.post("/api/estop/reset", Some(&f.token), "").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["estop"]["engaged"], false);
    assert!(!f.rover.estop.is_engaged());
    // Released, the motors stay still until commanded.
    assert_eq!(f.speeds().await, [0.0, 0.0]);
    f.hold(0.5, 0.0, Duration::from_millis(300)).await;
    assert_eq!(f.speeds().await, [0.25, 0.25]);
    f.rover.stop().await;
}

#[tokio::test(start_paused = true)]
async fn the_robot_stops_when_the_phone_goes_silent() {
    let f = fixture().await;
    // While the phone sends every 100 ms the motors keep driving ...
    f.hold(0.8, 0.0, Duration::from_secs(2)).await;
    assert_eq!(f.speeds().await, [0.4, 0.4]);
    for events in f.motor_events().await {
        assert!(
            events.iter().all(|e| matches!(e, MotorEvent::Speed(_))),
            "{events:?}"
        );
        assert_eq!(events.last(), Some(&MotorEvent::Speed(0.4)));
    }
    // ... and when it stops sending, their watchdogs (300 ms) stop them.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(f.speeds().await, [0.0, 0.0]);
    for events in f.motor_events().await {
        assert!(
            matches!(
                events.as_slice(),
                [MotorEvent::SafeState(SafeCause::Watchdog { .. })]
            ),
            "{events:?}"
        );
    }
    let (_, status) = f
        .send(Request::get("/api/status").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status["duties"], json!([0.0, 0.0]), "{status}");
    f.rover.stop().await;
}

#[tokio::test]
async fn it_serves_over_tcp() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let rover = Rover::start_with(4, false).await;
    let phone = Phone::new(&rover.system, &rover.estop).unwrap();
    let server = phone.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    assert!(server.addr().ip().is_loopback() && server.addr().port() != 0);
    assert!(server.url().contains("/#token="), "{}", server.url());
    let mut socket = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    socket
        .write_all(b"POST /api/estop HTTP/1.1\r\nhost: robot\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(rover.estop.is_engaged());
    server.stop().await;
    rover.stop().await;
}
