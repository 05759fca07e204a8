//! `firmware::Service::from_env` speaks systemd's notify protocol: under a unit with
//! `Type=notify` and `WatchdogSec=`, systemd sets `NOTIFY_SOCKET` and `WATCHDOG_USEC`; the
//! firmware sends `READY=1`, then `WATCHDOG=1` from its runtime, then `STOPPING=1`. Here this
//! test plays systemd: it listens on a socket and runs the firmware side in a child process
//! (this test binary again, with the environment systemd would set).

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use compaktor::ActorSystem;
use compaktor_pi::firmware::Service;

const CHILD: &str = "the_firmware_side";

#[test]
fn systemd_hears_ready_watchdog_pings_and_stopping() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("notify");
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join(format!("notify-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&socket);
    let systemd = UnixDatagram::bind(&socket).unwrap();
    systemd
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();

    // systemd names the watched process in WATCHDOG_PID: the shell's pid, kept by `exec`.
    let child = Command::new("sh")
        .arg("-c")
        .arg(r#"WATCHDOG_PID=$$ exec "$0" "$@""#)
        .arg(std::env::current_exe().unwrap())
        .args([CHILD, "--exact", "--ignored", "--nocapture"])
        .env("NOTIFY_SOCKET", &socket)
        .env("WATCHDOG_USEC", "100000")
        .spawn()
        .unwrap();

    let mut heard = Vec::new();
    let mut buf = [0u8; 256];
    while heard.last().map(String::as_str) != Some("STOPPING=1") {
        let n = systemd
            .recv(&mut buf)
            .unwrap_or_else(|e| panic!("systemd heard {heard:?}, then: {e}"));
        heard.push(String::from_utf8_lossy(&buf[..n]).trim().to_owned());
    }
    let status = child.wait_with_output().unwrap().status;
    assert!(status.success(), "the firmware side failed");
    assert_eq!(heard[0], "READY=1", "{heard:?}");
    let pings = heard.iter().filter(|m| *m == "WATCHDOG=1").count();
    // 300 ms at a 100 ms watchdog: a ping every 50 ms.
    assert!(pings >= 3, "{heard:?}");
    assert_eq!(pings, heard.len() - 2, "{heard:?}");
    let _ = std::fs::remove_file(&socket);
}

/// The firmware side, run by the test above under systemd's environment.
#[test]
#[ignore = "run by systemd_hears_ready_watchdog_pings_and_stopping in a child process"]
fn the_firmware_side() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let service = Service::from_env();
        assert_eq!(service.watchdog(), Some(Duration::from_millis(100)));
        let system = ActorSystem::new("robot");
        service.ready();
        let watchdog = service.spawn_watchdog(&system).unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        drop(watchdog);
        service.stopping();
    });
}
