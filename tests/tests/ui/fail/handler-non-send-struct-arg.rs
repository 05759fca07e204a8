use std::rc::Rc;

use compaktor::prelude::*;

/// A user type that is not `Send` is reported first, on the argument, with the hint. Unlike a
/// std type (`handler-non-send-arg.rs`, one error), it is then reported again where the message
/// enum is used: it might hold the actor's own `ActorRef`, and checking such a type through a
/// constant in the enum would be a cycle (see `std_only` in the macro crate).
struct Reading {
    value: Rc<u8>,
}

struct Counter {
    total: u64,
}

#[actor]
impl Counter {
    #[handler]
    fn add(&mut self, reading: Reading) {
        self.total += u64::from(*reading.value);
    }
}

fn main() {}
