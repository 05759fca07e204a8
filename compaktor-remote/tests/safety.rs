//! The safety story across robots: a motor another node commands goes to its safe state
//! (duty 0) when the commanding node's presence disappears, whether its process dies or the
//! link to it is cut (then within the commander's lease). compaktor-pi's simulated motor, on
//! the in-memory network and tokio's paused clock.

use std::time::Duration;

use compaktor::prelude::*;
use compaktor_pi::actors::{Motor, MotorConfig};
use compaktor_pi::drivers::L298n;
use compaktor_pi::safety::EStop;
use compaktor_pi::sim::{Side, World, WorldConfig};
use compaktor_remote::{MemoryNetwork, NodeConfig, RemoteNode};
use tokio::time::Instant;

/// The robot's remote front for its motor: drives it on the commander's orders, and coasts
/// it (duty 0) the moment the commander's node is gone.
struct Drive {
    motor: ActorRef<Motor>,
    node: RemoteNode,
}

#[actor(remote)]
impl Drive {
    /// Takes orders from node `commander`, and watches its presence.
    #[handler]
    async fn take_orders_from(
        &mut self,
        commander: String,
        ctx: &mut Context<Self>,
    ) -> Result<(), String> {
        let presence = self
            .node
            .presence(&commander)
            .await
            .map_err(|e| e.to_string())?;
        ctx.watch(&presence, |me, gone| {
            me.commander_lost(gone.reason.to_string())
        });
        Ok(())
    }

    #[handler]
    async fn set_speed(&mut self, speed: f32) -> Result<(), String> {
        self.motor.set_speed(speed).await.map_err(|e| e.to_string())
    }

    /// The safe state: duty 0.
    #[handler]
    async fn commander_lost(&mut self, why: String) {
        tracing::warn!(%why, "the commander is gone: coasting");
        if let Err(e) = self.motor.coast().await {
            // The motor actor itself is gone: its own stop left the bridge at duty 0.
            tracing::error!(error = %e, "could not coast the motor");
        }
    }
}

const LEASE: Duration = Duration::from_millis(250);

/// A robot with a simulated motor behind an exported `Drive`, commanded by `base`.
async fn commanded_robot(network: &MemoryNetwork) -> (World, ActorSystem, RemoteNode) {
    let world = World::new(WorldConfig::empty(4.0, 3.0));
    let robot = ActorSystem::new("robot");
    let node = RemoteNode::join(&robot, NodeConfig::in_memory(network, "robot-1"))
        .await
        .unwrap();
    let pins = world.motor_pins(Side::Left);
    let bridge = L298n::new(pins.in1, pins.in2, pins.enable).unwrap();
    // No dead-man watchdog: here only the commander's presence stops the motor.
    let config = MotorConfig {
        watchdog: None,
        ..MotorConfig::new("left")
    };
    let motor = robot
        .start(Motor::new(Box::new(bridge), EStop::new(), config))
        .await
        .unwrap();
    let drive = robot.spawn(Drive {
        motor,
        node: node.clone(),
    });
    node.export(&drive, "drive").await.unwrap();

    let base = ActorSystem::new("base");
    let base_node = RemoteNode::join(&base, NodeConfig::in_memory(network, "base").lease(LEASE))
        .await
        .unwrap();
    let remote: ActorRef<Drive> = base_node.lookup("robot-1/drive").await.unwrap();
    remote.take_orders_from("base".into()).await.unwrap();
    remote.set_speed(0.5).await.unwrap();
    assert_eq!(duty(&world), 0.5);
    (world, robot, base_node)
}

fn duty(world: &World) -> f64 {
    world.motor_pins(Side::Left).enable.fraction()
}

/// Waits (on the paused clock) until the motor is at duty 0.
async fn coasting(world: &World) {
    tokio::time::timeout(Duration::from_secs(60), async {
        while duty(world) != 0.0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    })
    .await
    .expect("the motor went to duty 0");
}

#[tokio::test(start_paused = true)]
async fn the_motor_coasts_when_the_commanding_process_dies() {
    let network = MemoryNetwork::new();
    let (world, _robot, _base_node) = commanded_robot(&network).await;
    let killed = Instant::now();
    network.kill("base");
    coasting(&world).await;
    assert!(
        killed.elapsed() <= Duration::from_millis(1),
        "{:?}",
        killed.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn the_motor_coasts_within_the_commanders_lease_when_the_link_is_cut() {
    let network = MemoryNetwork::new();
    let (world, _robot, _base_node) = commanded_robot(&network).await;
    let cut = Instant::now();
    network.cut("robot-1", "base");
    // Still driving just before the lease is over, at duty 0 right after.
    tokio::time::sleep(LEASE - Duration::from_millis(10)).await;
    assert_eq!(duty(&world), 0.5);
    coasting(&world).await;
    assert!(
        cut.elapsed() <= LEASE + Duration::from_millis(1),
        "{:?}",
        cut.elapsed()
    );
}
