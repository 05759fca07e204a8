//! Dead letters carry the message that was not delivered (type-erased, read back as the
//! actor's generated message), so a subscriber can log it or send it again; askers still learn
//! at once that no reply comes.

use std::time::Duration;

use compaktor::DeadLetterReason;
use compaktor::prelude::*;
use futures::StreamExt;
use tokio::sync::oneshot;

struct Arm {
    moves: Vec<(String, i32)>,
}

#[actor]
impl Arm {
    #[handler]
    async fn hold(&mut self, entered: oneshot::Sender<()>, gate: oneshot::Receiver<()>) {
        let _ = entered.send(());
        let _ = gate.await;
    }

    #[handler]
    fn move_joint(&mut self, joint: String, angle: i32) {
        self.moves.push((joint, angle));
    }

    #[handler]
    fn angle(&self, joint: String) -> Option<i32> {
        self.moves
            .iter()
            .rev()
            .find(|(j, _)| *j == joint)
            .map(|(_, a)| *a)
    }

    #[handler]
    fn moves(&self) -> Vec<(String, i32)> {
        self.moves.clone()
    }
}

/// The generated message type of `Arm`, however `#[actor]` names it.
type ArmMsg = <Arm as Actor>::Message;

fn a_move(message: &ArmMsg) -> Option<(String, i32)> {
    match message {
        ArmMsg::MoveJoint(joint, angle, _) => Some((joint.clone(), *angle)),
        _ => None,
    }
}

fn new_arm() -> Arm {
    Arm { moves: Vec::new() }
}

#[tokio::test]
async fn a_subscriber_reads_the_arguments_of_a_message_sent_to_a_stopped_actor() {
    let system = ActorSystem::new("test");
    let mut letters = system.dead_letters();
    let arm = system.spawn(new_arm());
    arm.kill();
    arm.stopped().await;
    assert!(arm.move_joint("elbow".into(), 30).await.is_err());

    let letter = letters.next().await.unwrap();
    assert_eq!(letter.reason, DeadLetterReason::Stopped);
    assert_eq!(letter.handler, "move_joint");
    assert!(letter.has_message());
    assert_eq!(
        letter.with_message::<Arm, _>(a_move),
        Some(Some(("elbow".to_string(), 30)))
    );
    // Another actor type's message it is not.
    struct Other;
    #[actor]
    impl Other {}
    assert_eq!(letter.with_message::<Other, _>(|_| ()), None);
    assert!(letter.take_message::<Other>().is_none());
    assert!(letter.has_message(), "a wrong type does not take it");
}

#[tokio::test(start_paused = true)]
async fn messages_queued_when_an_actor_stops_are_dead_letters_a_subscriber_can_resend() {
    let system = ActorSystem::new("test");
    let mut letters = system.dead_letters();
    let arm = system.spawn(new_arm());
    let (_open, gate) = oneshot::channel();
    let (entered_tx, entered) = oneshot::channel();
    arm.hold(entered_tx, gate).await.unwrap();
    entered.await.unwrap();
    arm.move_joint("wrist".into(), 10).await.unwrap();
    arm.move_joint("wrist".into(), 20).await.unwrap();
    // An ask queued too: its asker must get `Stopped` now, not wait on the dead letter.
    let asked = tokio::spawn({
        let arm = arm.clone();
        async move { arm.angle("wrist".into()).await }
    });
    tokio::task::yield_now().await;
    arm.kill();
    // (The paused clock runs ahead only if everything waits: a hang fails here, not forever.)
    let answer = tokio::time::timeout(Duration::from_secs(60), asked).await;
    assert!(
        matches!(answer, Ok(Ok(Err(AskError::Stopped { .. })))),
        "{answer:?}"
    );

    let standby = system.spawn(new_arm());
    let mut resent = 0;
    for _ in 0..3 {
        let letter = letters.next().await.unwrap();
        assert_eq!(letter.reason, DeadLetterReason::Dropped);
        if letter.handler == "move_joint" {
            letter.resend_to(&standby).unwrap().await.unwrap();
            resent += 1;
            // Taken: no copy of the letter has it any more.
            assert!(!letter.has_message());
            assert!(letter.resend_to(&standby).is_none());
        }
    }
    assert_eq!(resent, 2);
    assert_eq!(
        standby.moves().await.unwrap(),
        [("wrist".to_string(), 10), ("wrist".to_string(), 20)]
    );
}

#[tokio::test]
async fn a_message_given_back_by_try_send_is_not_also_in_the_dead_letter() {
    let system = ActorSystem::new("test");
    let mut letters = system.dead_letters();
    let arm = system.spawn(new_arm());
    arm.kill();
    arm.stopped().await;
    let error = arm.move_joint("hip".into(), 5).try_send().unwrap_err();
    let letter = letters.next().await.unwrap();
    assert_eq!(letter.reason, DeadLetterReason::Stopped);
    assert!(!letter.has_message());
    assert_eq!(a_move(&error.into_message()), Some(("hip".to_string(), 5)));
}
