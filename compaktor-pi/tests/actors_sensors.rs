//! The sensor actors on the simulated world, with its physics running: the ultrasonic sensor
//! (HC-SR04), the button (debounced, long presses), the IMU (MPU-6050 over I2C), the line
//! sensor and the plain ADC reader (MCP3008 over SPI).

use std::time::Duration;

use compaktor::TopicStream;
use compaktor::prelude::*;
use compaktor_pi::actors::{AdcReader, Button, Distance, ImuSensor, LineSensor, Ultrasonic};
use compaktor_pi::device::{DeviceError, Range};
use compaktor_pi::drivers::{
    ButtonEvent, Debouncer, EdgeDevice, HcSr04, Mcp3008, Mpu6050, NoPin, TokioDelay,
};
use compaktor_pi::sim::{Pose, Side, World, WorldConfig};
use embedded_hal::digital::OutputPin;
use embedded_hal::pwm::SetDutyCycle;
use futures::{FutureExt, StreamExt};
use tokio::time::{Instant, timeout};

/// The next event, failing the test if none comes within `within` (of paused time).
async fn next_within<T>(events: &mut TopicStream<T>, within: Duration) -> T {
    timeout(within, events.next())
        .await
        .expect("no event in time")
        .expect("the actor stopped")
}

/// Events already published, without waiting.
fn drain<T>(events: &mut TopicStream<T>) -> Vec<T> {
    std::iter::from_fn(|| events.next().now_or_never().flatten()).collect()
}

// ---------------------------------------------------------------------------------------------
// Ultrasonic
// ---------------------------------------------------------------------------------------------

/// The robot 1 m from the east wall, facing it: the sensor, 0.10 m ahead of the center, is
/// 0.90 m from the wall.
fn facing_the_wall() -> WorldConfig {
    let mut config = WorldConfig::empty(4.0, 3.0);
    config.start = Pose::new(3.0, 1.5, 0.0);
    config
}

fn sonar(world: &World) -> Ultrasonic {
    let (trigger, echo) = world.ultrasonic();
    let sensor = HcSr04::new(trigger, echo, TokioDelay);
    Ultrasonic::new(Box::new(sensor), Duration::from_millis(60))
}

#[tokio::test(start_paused = true)]
async fn ultrasonic_read_gives_the_distance_to_the_wall() {
    let world = World::new(facing_the_wall());
    let _physics = world.start();
    let system = ActorSystem::new("sensors");
    let sonar = system.start(sonar(&world)).await.unwrap();

    for _ in 0..5 {
        let reading = sonar.read().await.unwrap();
        assert!(
            (reading.range.clearance() - 0.90).abs() < 0.03,
            "{reading:?}"
        );
        tokio::time::sleep(Duration::from_millis(70)).await;
    }
    assert!(sonar.last().await.unwrap().is_some());
}

#[tokio::test(start_paused = true)]
async fn ultrasonic_publishes_a_reading_every_period() {
    let world = World::new(facing_the_wall());
    let _physics = world.start();
    let system = ActorSystem::new("sensors");
    let sonar = system.start(sonar(&world)).await.unwrap();
    let mut events = sonar.topic().await.unwrap().stream();

    let mut readings = Vec::new();
    for _ in 0..6 {
        readings.push(next_within(&mut events, Duration::from_millis(200)).await);
    }
    for r in &readings {
        assert!((r.range.clearance() - 0.90).abs() < 0.03, "{r:?}");
    }
    for pair in readings.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert_eq!(gap, Duration::from_millis(60), "{readings:?}");
    }
    assert_eq!(sonar.failures().await.unwrap(), 0);
    assert_eq!(sonar.last().await.unwrap(), readings.last().copied());
}

/// A peripheral publishes on the system topic `<its path>/<what>`, which keeps the newest
/// value: readable without subscribing, not lost (no dead letter) while nobody listens, and
/// the same topic after a restart.
#[tokio::test(start_paused = true)]
async fn a_sensors_topic_is_named_after_its_path_and_keeps_the_newest_reading() {
    let world = World::new(facing_the_wall());
    let _physics = world.start();
    let system = ActorSystem::new("sensors");
    let sonar = system
        .builder(sonar(&world))
        .name("front_sonar")
        .start()
        .await
        .unwrap();
    let topic = sonar.topic().await.unwrap();
    assert_eq!(topic.name(), "/front_sonar/distance");

    tokio::time::sleep(Duration::from_millis(200)).await;
    let last = sonar.last().await.unwrap();
    assert!(last.is_some());
    assert_eq!(topic.latest(), last);
    let by_name = system.topic::<Distance>("/front_sonar/distance").unwrap();
    assert_eq!(by_name.latest(), last);
    assert_eq!(
        system.dead_letter_count(),
        0,
        "readings nobody took were lost"
    );
}

#[tokio::test(start_paused = true)]
async fn ultrasonic_reports_open_floor_as_out_of_range_not_as_a_failure() {
    // 6.9 m of open floor ahead of the sensor: past the HC-SR04's 4 m, so every echo is the
    // module's 38 ms "heard nothing" pulse.
    let mut config = WorldConfig::empty(8.0, 3.0);
    config.start = Pose::new(1.0, 1.5, 0.0);
    let world = World::new(config);
    let _physics = world.start();
    let system = ActorSystem::new("sensors");
    let sonar = system.start(sonar(&world)).await.unwrap();
    let mut events = sonar.topic().await.unwrap().stream();

    for _ in 0..5 {
        let reading = next_within(&mut events, Duration::from_millis(200)).await;
        assert_eq!(reading.range, Range::OutOfRange, "{reading:?}");
        assert_eq!(reading.range.clearance(), f32::INFINITY);
    }
    tokio::time::sleep(Duration::from_millis(70)).await;
    assert_eq!(sonar.read().await.unwrap().range, Range::OutOfRange);
    assert_eq!(sonar.failures().await.unwrap(), 0);
}

#[tokio::test(start_paused = true)]
async fn ultrasonic_sees_the_wall_come_closer() {
    let world = World::new(facing_the_wall());
    let _physics = world.start();
    let system = ActorSystem::new("sensors");
    let sonar = system.start(sonar(&world)).await.unwrap();
    let before = sonar.read().await.unwrap().range.clearance();

    // Both wheels forward at half duty (0.25 m/s) for one second.
    let mut wheels = [world.motor_pins(Side::Left), world.motor_pins(Side::Right)];
    for w in &mut wheels {
        w.in1.set_high().unwrap();
        w.enable.set_duty_cycle_percent(50).unwrap();
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    for w in &mut wheels {
        w.enable.set_duty_cycle_fully_off().unwrap();
    }
    let travelled = world.snapshot().pose.x - 3.0;
    let after = sonar.read().await.unwrap().range.clearance();
    assert!(travelled > 0.15, "{travelled}");
    assert!(
        ((before - after) as f64 - travelled).abs() < 0.03,
        "before {before}, after {after}, travelled {travelled}"
    );
}

#[tokio::test(start_paused = true)]
async fn ultrasonic_with_no_answer_reports_errors() {
    // TRIG not connected: the module never pings, ECHO never rises. That is a failure, not
    // open space.
    let world = World::new(facing_the_wall());
    let _physics = world.start();
    let system = ActorSystem::new("sensors");
    let (_trigger, echo) = world.ultrasonic();
    let sensor = HcSr04::new(NoPin, echo, TokioDelay);
    let sonar = system
        .start(Ultrasonic::new(Box::new(sensor), Duration::from_millis(60)))
        .await
        .unwrap();

    let read = sonar.read().await;
    assert!(
        matches!(read, Err(AskError::Handler(DeviceError::Timeout(_)))),
        "{read:?}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let failures = sonar.failures().await.unwrap();
    assert!(failures >= 5, "{failures}");
    assert!(
        sonar.is_alive(),
        "failed periodic readings do not stop the sensor"
    );
}

// ---------------------------------------------------------------------------------------------
// Button
// ---------------------------------------------------------------------------------------------

async fn button(world: &World, system: &ActorSystem) -> ActorRef<Button> {
    let (pin, _finger) = world.button();
    system
        .start(Button::new(
            "start",
            Box::new(EdgeDevice::new(pin)),
            Debouncer::default(), // 20 ms settle, 1 s long press, active low
        ))
        .await
        .unwrap()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[tokio::test(start_paused = true)]
async fn button_press_and_release_ignoring_bounce() {
    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let _physics = world.start();
    let system = ActorSystem::new("sensors");
    let button = button(&world, &system).await;
    let (_, finger) = world.button();
    let mut events = button.topic().await.unwrap().stream();

    // The contact chatters for 4 ms on the way down...
    finger.press();
    for _ in 0..2 {
        tokio::time::sleep(ms(1)).await;
        finger.release();
        tokio::time::sleep(ms(1)).await;
        finger.press();
    }
    assert_eq!(next_within(&mut events, ms(10)).await, ButtonEvent::Pressed);
    tokio::time::sleep(ms(300)).await;
    assert!(button.is_pressed().await.unwrap());
    assert_eq!(drain(&mut events), []);

    // ... and on the way up.
    finger.release();
    for _ in 0..2 {
        tokio::time::sleep(ms(1)).await;
        finger.press();
        tokio::time::sleep(ms(1)).await;
        finger.release();
    }
    assert_eq!(
        next_within(&mut events, ms(10)).await,
        ButtonEvent::Released
    );
    assert!(!button.is_pressed().await.unwrap());

    // A short press never becomes a long one.
    tokio::time::sleep(ms(2_000)).await;
    assert_eq!(drain(&mut events), []);
    assert_eq!(button.presses().await.unwrap(), 1);
}

#[tokio::test(start_paused = true)]
async fn button_long_press_comes_after_the_long_press_time() {
    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let _physics = world.start();
    let system = ActorSystem::new("sensors");
    let button = button(&world, &system).await;
    let (_, finger) = world.button();
    let mut events = button.topic().await.unwrap().stream();

    tokio::time::sleep(ms(50)).await;
    finger.press();
    let pressed = Instant::now();
    assert_eq!(next_within(&mut events, ms(10)).await, ButtonEvent::Pressed);
    assert_eq!(
        next_within(&mut events, ms(1_500)).await,
        ButtonEvent::LongPress
    );
    assert_eq!(pressed.elapsed(), ms(1_000));

    // Once per press, however long it is held.
    tokio::time::sleep(ms(3_000)).await;
    assert_eq!(drain(&mut events), []);
    finger.release();
    assert_eq!(
        next_within(&mut events, ms(10)).await,
        ButtonEvent::Released
    );

    // A second press gets its own long press.
    tokio::time::sleep(ms(100)).await;
    finger.press();
    assert_eq!(next_within(&mut events, ms(10)).await, ButtonEvent::Pressed);
    assert_eq!(
        next_within(&mut events, ms(1_500)).await,
        ButtonEvent::LongPress
    );
    assert_eq!(button.presses().await.unwrap(), 2);
}

#[tokio::test(start_paused = true)]
async fn button_released_before_the_long_press_time_gives_none() {
    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let system = ActorSystem::new("sensors");
    let button = button(&world, &system).await;
    let (_, finger) = world.button();
    let mut events = button.topic().await.unwrap().stream();

    finger.click(ms(900)).await;
    assert_eq!(next_within(&mut events, ms(10)).await, ButtonEvent::Pressed);
    assert_eq!(
        next_within(&mut events, ms(10)).await,
        ButtonEvent::Released
    );
    // Pressed again before the first press's deadline: that deadline must not fire for it.
    tokio::time::sleep(ms(50)).await;
    finger.click(ms(500)).await;
    tokio::time::sleep(ms(2_000)).await;
    assert_eq!(
        drain(&mut events),
        [ButtonEvent::Pressed, ButtonEvent::Released]
    );
}

/// A tap shorter than the settle time: the release is ignored as bounce, and nothing comes after
/// it. Once the contact has settled the button must be up again, and must not report a long
/// press for a button nobody holds.
#[tokio::test(start_paused = true)]
async fn button_tap_shorter_than_the_settle_time_does_not_stick() {
    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let system = ActorSystem::new("sensors");
    let button = button(&world, &system).await;
    let (mut level, finger) = world.button();
    let mut events = button.topic().await.unwrap().stream();

    finger.click(ms(10)).await;
    tokio::time::sleep(ms(2_000)).await;
    assert!(embedded_hal::digital::InputPin::is_high(&mut level).unwrap());
    assert!(!button.is_pressed().await.unwrap());
    assert_eq!(
        drain(&mut events),
        [ButtonEvent::Pressed, ButtonEvent::Released]
    );
}

// ---------------------------------------------------------------------------------------------
// IMU
// ---------------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn imu_at_rest_feels_one_g_on_z() {
    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let _physics = world.start();
    let mut mpu = Mpu6050::new(world.imu());
    mpu.init().unwrap();
    let system = ActorSystem::new("sensors");
    let imu = system
        .start(ImuSensor::new(Box::new(mpu), ms(20)))
        .await
        .unwrap();

    tokio::time::sleep(ms(100)).await;
    let sample = imu.read().await.unwrap();
    let [x, y, z] = sample.accel;
    assert!((z - 9.81).abs() < 0.3, "{sample:?}");
    assert!(x.abs() < 0.3 && y.abs() < 0.3, "{sample:?}");
    assert!(sample.gyro.iter().all(|g| g.abs() < 0.05), "{sample:?}");

    // Periodic samples, to subscribers and as `last`.
    let mut events = imu.topic().await.unwrap().stream();
    let published = next_within(&mut events, ms(50)).await;
    assert!((published.accel[2] - 9.81).abs() < 0.3, "{published:?}");
    assert!(imu.last().await.unwrap().is_some());
}

// ---------------------------------------------------------------------------------------------
// Line sensor and ADC
// ---------------------------------------------------------------------------------------------

fn line_sensor(world: &World) -> LineSensor {
    let adc = Mcp3008::new(world.adc());
    LineSensor::new(Box::new(adc), vec![0, 1, 2, 3, 4], 500, ms(10))
}

#[tokio::test(start_paused = true)]
async fn line_sensor_sees_the_line_under_its_middle_at_the_start() {
    let world = World::new(WorldConfig::line_track(3));
    let _physics = world.start();
    let system = ActorSystem::new("sensors");
    let line = system.start(line_sensor(&world)).await.unwrap();

    let reading = line.read().await.unwrap();
    let position = reading.position.expect("the line is under the sensors");
    assert!(position.abs() < 0.1, "{reading:?}");
    assert!(reading.raw[2] > 800, "{reading:?}");

    let mut events = line.topic().await.unwrap().stream();
    let published = next_within(&mut events, ms(50)).await;
    assert!(
        published.position.is_some_and(|p| p.abs() < 0.1),
        "{published:?}"
    );
    assert!(line.last().await.unwrap().is_some());
}

#[tokio::test(start_paused = true)]
async fn line_sensor_off_the_track_sees_nothing() {
    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let _physics = world.start();
    let system = ActorSystem::new("sensors");
    let line = system.start(line_sensor(&world)).await.unwrap();
    let reading = line.read().await.unwrap();
    assert_eq!(reading.position, None, "{reading:?}");
}

#[tokio::test(start_paused = true)]
async fn adc_reader_reads_channels_and_refuses_channel_8() {
    let world = World::new(WorldConfig::line_track(3));
    let _physics = world.start();
    let system = ActorSystem::new("sensors");
    let adc = system
        .start(AdcReader::new(Box::new(Mcp3008::new(world.adc()))))
        .await
        .unwrap();

    let middle = adc.read(2).await.unwrap();
    let left = adc.read(0).await.unwrap();
    assert!(middle > 800, "{middle}");
    assert!(left < 200, "{left}");
    assert_eq!(adc.read(7).await.unwrap(), 0); // nothing wired
    let refused = adc.read(8).await;
    assert!(
        matches!(refused, Err(AskError::Handler(DeviceError::OutOfRange(_)))),
        "{refused:?}"
    );
    assert!(
        adc.read(2).await.is_ok(),
        "an error answer leaves the reader running"
    );
}
