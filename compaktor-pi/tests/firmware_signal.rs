//! `firmware::run_until` ends on SIGTERM (what `systemctl stop` sends) and on Ctrl-C (SIGINT),
//! sent to this test process by `kill`. Its own file: the signals go to the whole process.

use std::time::Duration;

use compaktor_pi::firmware::{Ending, run_until};

async fn ends_on(signal: &str) {
    let run = tokio::spawn(run_until(None));
    // Let it install its signal handlers.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let status = std::process::Command::new("kill")
        .args([signal, &std::process::id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let ending = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .unwrap_or_else(|_| panic!("{signal} did not end the run"))
        .unwrap();
    assert_eq!(ending, Ending::Signal);
}

#[tokio::test]
async fn sigterm_and_ctrl_c_end_the_run() {
    // Handlers first, so a signal that comes early cannot kill the test process.
    let _term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).unwrap();
    let _int = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt()).unwrap();
    ends_on("-TERM").await;
    ends_on("-INT").await;
}

#[tokio::test(start_paused = true)]
async fn the_run_time_ends_the_run() {
    let ending = run_until(Some(Duration::from_secs(60))).await;
    assert_eq!(ending, Ending::TimeUp);
}
