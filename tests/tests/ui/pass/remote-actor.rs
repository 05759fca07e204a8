//! `#[actor(remote)]` with serializable arguments, replies and errors, a context argument, an
//! async handler and a tell: compiles, and a call survives its encoding.

use compaktor::prelude::*;
use compaktor::remote::RemoteMessage;

#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
struct Pose {
    x: f32,
    y: f32,
}

#[derive(Debug, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[error("out of the arena")]
struct OutOfArena;

struct Robot {
    at: Pose,
}

#[actor(remote, mailbox = 8, message = RobotMessage)]
impl Robot {
    #[handler]
    fn goto(&mut self, pose: Pose, _ctx: &mut Context<Self>) {
        self.at = pose;
    }

    #[handler]
    async fn pose(&self) -> Result<(f32, f32), OutOfArena> {
        Ok((self.at.x, self.at.y))
    }

    #[handler]
    fn greet(&self, prefix: String) -> String {
        prefix
    }
}

fn main() {
    let mut bytes = Vec::new();
    let call = RobotMessage::Goto(Pose { x: 1.0, y: 2.0 }, None);
    assert!(call.encode_call(&mut bytes).unwrap().is_none());
    let (decoded, waiter) = RobotMessage::decode_call(&bytes, false).unwrap();
    assert!(waiter.is_none());
    assert!(matches!(decoded, RobotMessage::Goto(Pose { x: 1.0, y: 2.0 }, None)));
    assert_eq!(RobotMessage::HANDLERS, ["goto", "pose", "greet"]);
}
