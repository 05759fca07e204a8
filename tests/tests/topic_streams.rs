//! Topics followed from code that is not an actor: `Topic::stream` (every value in order,
//! lag counted as dead letters, unsubscribing on drop, ending with its system) and
//! `Topic::keep_latest` / `Topic::latest` (the newest value, read without subscribing).

use compaktor::prelude::*;
use compaktor::{DeadLetterReason, TopicStream};
use futures::{FutureExt, StreamExt};

/// Values already published, without waiting.
fn drain(stream: &mut TopicStream<u32>) -> Vec<u32> {
    std::iter::from_fn(|| stream.next().now_or_never().flatten()).collect()
}

#[tokio::test]
async fn a_stream_gets_every_value_in_order_beside_other_streams() {
    let system = ActorSystem::new("test");
    let topic = system.topic::<u32>("ticks").unwrap();
    let mut first = topic.stream();
    let mut second = topic.stream();
    assert_eq!(first.topic(), "ticks");
    assert_eq!(topic.subscriber_count(), 2);
    for value in 0..10 {
        assert_eq!(topic.publish(value), 2);
    }
    assert_eq!(drain(&mut first), (0..10).collect::<Vec<_>>());
    assert_eq!(drain(&mut second), (0..10).collect::<Vec<_>>());
    assert_eq!(system.dead_letter_count(), 0);
}

#[tokio::test]
async fn a_dropped_stream_unsubscribes_at_once() {
    let system = ActorSystem::new("test");
    let topic = system.topic::<u32>("ticks").unwrap();
    let stream = topic.stream();
    assert_eq!(topic.subscriber_count(), 1);
    drop(stream);
    assert_eq!(topic.subscriber_count(), 0);
    assert_eq!(topic.publish(1), 0);
    assert_eq!(
        system.dead_letter_count_for(DeadLetterReason::NoSubscriber),
        1
    );
}

#[tokio::test]
async fn a_stream_that_falls_behind_loses_the_newest_and_each_is_a_dead_letter() {
    let system = ActorSystem::new("test");
    let mut dead = system.dead_letters();
    let topic = system.topic::<u32>("ticks").unwrap();
    let mut stream = topic.stream();
    let reached: usize = (0..70).map(|value| topic.publish(value)).sum();
    assert_eq!(reached, 64);
    assert_eq!(drain(&mut stream), (0..64).collect::<Vec<_>>());
    assert_eq!(system.dead_letter_count_for(DeadLetterReason::Lagged), 6);
    let letter = dead.next().await.unwrap();
    assert_eq!(letter.reason, DeadLetterReason::Lagged);
    assert_eq!(letter.recipient.id.as_u64(), 0);
    assert_eq!(letter.recipient.name.as_deref(), Some("ticks stream"));
    // Caught up, it receives again.
    assert_eq!(topic.publish(70), 1);
    assert_eq!(drain(&mut stream), [70]);
}

#[tokio::test]
async fn a_stream_ends_when_its_system_is_gone() {
    let system = ActorSystem::new("test");
    let topic = system.topic::<u32>("ticks").unwrap();
    let mut stream = topic.stream();
    topic.publish(1);
    drop(topic);
    drop(system);
    assert_eq!(stream.next().await, Some(1));
    assert_eq!(stream.next().await, None);
}

#[tokio::test]
async fn a_topic_that_keeps_its_newest_value_answers_latest_and_loses_nothing() {
    let system = ActorSystem::new("test");
    let plain = system.topic::<u32>("plain").unwrap();
    plain.publish(1);
    assert_eq!(plain.latest(), None, "a plain topic keeps nothing");
    assert_eq!(
        system.dead_letter_count_for(DeadLetterReason::NoSubscriber),
        1
    );

    let range = system.topic::<u32>("range").unwrap().keep_latest();
    assert_eq!(range.latest(), None);
    assert_eq!(range.publish(420), 0);
    assert_eq!(range.publish(410), 0);
    assert_eq!(range.latest(), Some(410));
    // Every handle to the topic sees it.
    assert_eq!(system.topic::<u32>("range").unwrap().latest(), Some(410));
    // Kept, so not lost: no new dead letter.
    assert_eq!(system.dead_letter_count(), 1);

    // With a subscriber too.
    let mut stream = range.stream();
    assert_eq!(range.publish(400), 1);
    assert_eq!(range.latest(), Some(400));
    assert_eq!(drain(&mut stream), [400]);
}

#[test]
fn a_topic_stream_can_move_between_threads() {
    fn send<T: Send>() {}
    send::<TopicStream<u32>>();
}
