mod motor {
    use compaktor::prelude::*;

    pub struct Motor {
        pub speed: u32,
    }

    #[actor]
    impl Motor {
        #[handler]
        fn reset(&mut self) {
            self.speed = 0;
        }
    }
}

use compaktor::prelude::*;
use motor::Motor;

async fn run(motor: ActorRef<Motor>) {
    motor.reset().await.unwrap();
}

fn main() {
    let _ = run;
}
