//! A handler may fail with `Box<dyn Error + Send + Sync>`: the asker gets it back.
#![deny(warnings)]
use std::error::Error;

use compaktor::prelude::*;

struct Parser;

#[actor]
impl Parser {
    #[handler]
    fn parse(&self, text: String) -> Result<u32, Box<dyn Error + Send + Sync>> {
        Ok(text.parse()?)
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let system = ActorSystem::new("parse");
        let parser = system.spawn(Parser);
        assert_eq!(parser.parse("42".into()).await.unwrap(), 42);
        match parser.parse("x".into()).await {
            Err(AskError::Handler(e)) => assert_eq!(e.to_string(), "invalid digit found in string"),
            other => panic!("expected the handler's error, got {other:?}"),
        }
    });
}
