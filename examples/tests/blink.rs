//! The blink example, run as a test: the LED changes at the pattern's times and is off once the
//! actor has stopped.

#[allow(dead_code)]
#[path = "../examples/blink.rs"]
mod blink;

use std::time::Duration;

use blink::{HEARTBEAT_MS, Options, POLL, run};
use compaktor::StopReason;

#[tokio::test(start_paused = true)]
async fn the_led_toggles_at_the_patterns_times() {
    let pattern: Vec<Duration> = HEARTBEAT_MS.map(Duration::from_millis).to_vec();
    let run_for = Duration::from_secs(3);
    let summary = run(Options {
        robot: None,
        pattern: pattern.clone(),
        run_for,
        progress: false,
    })
    .await
    .unwrap();

    // Where the pattern switches: on at 0, off after pattern[0], on after pattern[1]…
    let mut expected = vec![(Duration::ZERO, true)];
    let mut at = Duration::ZERO;
    for (i, step) in pattern.iter().cycle().enumerate() {
        at += *step;
        if at >= run_for - POLL / 2 {
            break;
        }
        expected.push((at, i % 2 == 1));
    }
    assert_eq!(expected.len(), 12, "{expected:?}");
    assert_eq!(summary.changes.len(), expected.len(), "{summary:?}");
    for (&(seen, on), &(when, level)) in summary.changes.iter().zip(&expected) {
        assert_eq!(on, level, "{summary:?}");
        // Sampled every 50 ms, offset by 25 ms: each change is seen 25 ms after it happens
        // (the first, at start, right away).
        let lag = seen.checked_sub(when);
        assert!(
            lag.is_some_and(|lag| lag <= POLL / 2),
            "changed to {on} at {when:?}, seen at {seen:?}"
        );
    }
    assert_eq!(summary.on_at_end, Some(false), "stopping switches it off");
    assert!(
        matches!(summary.stopped, StopReason::Stopped),
        "{:?}",
        summary.stopped
    );
}
