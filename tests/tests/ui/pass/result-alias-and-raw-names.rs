//! A `Result` alias (`io::Result<T>`) is still a `Result`; raw identifiers work as handler and
//! argument names; a `#[cfg]`-ed out handler disappears with its message.
#![deny(warnings)]
use std::io;

use compaktor::prelude::*;

struct Disk {
    bytes: Vec<u8>,
}

#[actor]
impl Disk {
    #[handler]
    fn read(&self, at: usize) -> io::Result<u8> {
        self.bytes
            .get(at)
            .copied()
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "past the end"))
    }

    #[handler]
    fn r#type(&self, r#as: u8) -> u8 {
        r#as
    }

    #[cfg(any())]
    #[handler]
    fn never(&self, gone: NotAType) {}
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let system = ActorSystem::new("disk");
    let disk = system.spawn(Disk { bytes: vec![1, 2] });
    assert_eq!(disk.read(1).await.unwrap(), 2);
    match disk.read(5).await {
        Err(AskError::Handler(e)) => assert_eq!(e.kind(), io::ErrorKind::UnexpectedEof),
        other => panic!("expected a handler error, got {other:?}"),
    }
    assert_eq!(disk.r#type(4).await.unwrap(), 4);
}
