//! The obstacle avoider's log lines in its recording: with the logging `firmware::exit` sets
//! up (`init_logging`), a `--record` run's MCAP file carries the events the console shows on
//! `/log`, the E-stop's warning as the robot stops among them. A file of its own: it installs
//! the process's global subscriber, which the other tests of the example must not share.
#![cfg(feature = "foxglove")]

#[allow(dead_code)]
#[path = "../examples/obstacle_avoider.rs"]
mod obstacle_avoider;

use std::time::Duration;

use clap::Parser;
use compaktor_foxglove::LOG_CHANNEL;
use compaktor_foxglove::foxglove::Decode;
use compaktor_foxglove::foxglove::messages::Log;
use compaktor_pi::firmware;
use obstacle_avoider::{Cli, Options, run};

#[tokio::test(start_paused = true)]
async fn a_recorded_run_carries_its_warnings_on_the_log_channel() {
    // What `firmware::exit` does first in the example's `main` (`info`, unless RUST_LOG).
    firmware::init_logging();
    let path =
        std::env::temp_dir().join(format!("compaktor-avoider-{}-log.mcap", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let cli =
        Cli::try_parse_from(["obstacle_avoider", "--record", path.to_str().unwrap()]).unwrap();
    let summary = run(Options {
        robot: None,
        seed: 4,
        run_for: Some(Duration::from_secs(5)),
        svg: None,
        progress: false,
        foxglove: cli.foxglove,
        phone: Default::default(),
    })
    .await
    .unwrap();
    let report = summary.foxglove.expect("the run was bridged");

    let bytes = std::fs::read(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let logs: Vec<Log> = mcap::MessageStream::new(&bytes)
        .unwrap()
        .map(Result::unwrap)
        .filter(|m| m.channel.topic == LOG_CHANNEL)
        .map(|m| {
            assert_eq!(m.channel.schema.as_ref().unwrap().name, "foxglove.Log");
            Log::decode(&m.data[..]).unwrap()
        })
        .collect();
    assert_eq!(
        report
            .channel(LOG_CHANNEL)
            .expect("a /log channel")
            .messages,
        logs.len() as u64
    );
    // The E-stop pulled as the run ended: a warning (Foxglove's level 3), from the safety
    // module, with its reason.
    let estop = logs
        .iter()
        .find(|l| l.message.starts_with("E-stop "))
        .unwrap_or_else(|| panic!("no E-stop line in {logs:#?}"));
    assert_eq!(
        (estop.level, estop.name.as_str()),
        (3, "compaktor_pi::safety"),
        "{estop:?}"
    );
    assert!(
        estop.message.contains("stopping: the run time is over"),
        "{estop:?}"
    );
    // Each motor's own warning as the E-stop put it in its safe state.
    for motor in ["left_motor", "right_motor"] {
        assert!(
            logs.iter().any(|l| l.level == 3
                && l.message.starts_with("motor in safe state")
                && l.message.contains(&format!("motor={motor}"))),
            "{motor}: {logs:#?}"
        );
    }
}
