use compaktor::prelude::*;

struct Pose {
    x: f32,
}

struct Robot;

#[actor(remote)]
impl Robot {
    #[handler]
    fn goto(&mut self, pose: Pose) {
        let _ = pose.x;
    }
}

fn main() {}
