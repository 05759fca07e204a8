//! Another process for tests that need a real peer to kill: this test binary started again
//! for one of its tests (`--exact NAME`), which does nothing unless its environment variable
//! is set. Shared by `compaktor-remote`'s process test and the `swarm` example's test (which
//! includes this file by path: no crate of test helpers, no dependency between the two).
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A child process running one test of this binary; killed (SIGKILL) when dropped, also when
/// the test fails.
pub struct TestProcess(std::process::Child);

impl TestProcess {
    /// Starts this test binary again for test `test` only, with the environment variable
    /// `var` set to `value`, and waits (off the runtime) until it prints a line containing
    /// `ready`.
    ///
    /// # Panics
    /// If it does not start, ends before it is ready, or is not ready `within`.
    pub async fn start(
        test: &str,
        (var, value): (&str, &str),
        ready: &str,
        within: Duration,
    ) -> Self {
        let mut child = Command::new(std::env::current_exe().expect("the test binary's path"))
            .args(["--exact", test, "--nocapture", "--test-threads=1"])
            .env(var, value)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the test binary starts again");
        let stdout = child.stdout.take().expect("piped");
        let child = TestProcess(child);
        let ready = ready.to_owned();
        let (tx, seen) = tokio::sync::oneshot::channel();
        // A thread of its own: it reads on after the line (so the child's later output never
        // meets a closed pipe) until the child ends.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains(&ready)
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(());
                }
            }
        });
        tokio::time::timeout(within, seen)
            .await
            .unwrap_or_else(|_| panic!("`{test}` was not ready within {within:?}"))
            .unwrap_or_else(|_| panic!("`{test}` ended before it was ready"));
        child
    }

    /// SIGKILL: the process ends with no chance to say goodbye.
    pub fn kill(&mut self) {
        self.0.kill().expect("the child can be killed");
        self.0.wait().expect("the child is reaped");
    }
}

impl Drop for TestProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A TCP port nobody listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("a free port")
        .local_addr()
        .expect("its address")
        .port()
}
