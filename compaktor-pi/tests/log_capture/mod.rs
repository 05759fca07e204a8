//! What a test logs, captured: `let (log, _guard) = log_capture::capture();` routes this
//! thread's `tracing` output (INFO and above, no colours) into `log` until the guard drops.
#![allow(
    dead_code,
    unreachable_pub,
    reason = "a module shared by several test binaries"
)]

use std::sync::{Arc, Mutex};

use tracing::subscriber::DefaultGuard;

/// A writer into a shared buffer, for the log.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<Vec<u8>>>);

impl Log {
    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Captures this thread's log until the guard drops.
pub fn capture() -> (Log, DefaultGuard) {
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .finish();
    (log, tracing::subscriber::set_default(subscriber))
}
