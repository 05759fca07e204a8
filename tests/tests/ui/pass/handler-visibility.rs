//! The generated `ActorRef` methods keep each handler's visibility.
#![deny(warnings)]
mod motor {
    use compaktor::prelude::*;

    pub struct Motor {
        speed: u32,
    }

    /// A private argument type, for a private handler.
    struct Ramp {
        to: u32,
    }

    impl Motor {
        pub fn new() -> Self {
            Motor { speed: 0 }
        }
    }

    #[actor]
    impl Motor {
        /// Anyone may set the speed.
        #[handler]
        pub fn set_speed(&mut self, speed: u32) {
            self.speed = speed;
        }

        /// Only this crate may read it.
        #[handler]
        pub(crate) fn speed(&self) -> u32 {
            self.speed
        }

        /// Only this module may reset it.
        #[handler]
        fn reset(&mut self) {
            self.speed = 0;
        }

        #[handler]
        fn ramp(&mut self, ramp: Ramp) {
            self.speed = ramp.to;
        }
    }

    pub async fn reset(motor: &ActorRef<Motor>) {
        motor.ramp(Ramp { to: 9 }).await.unwrap();
        motor.reset().await.unwrap();
    }
}

use compaktor::prelude::*;
use motor::Motor;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let system = ActorSystem::new("visibility");
    let motor: ActorRef<Motor> = system.spawn(Motor::new());
    motor.set_speed(3).await.unwrap();
    assert_eq!(motor.speed().await.unwrap(), 3);
    motor::reset(&motor).await;
    assert_eq!(motor.speed().await.unwrap(), 0);
}
