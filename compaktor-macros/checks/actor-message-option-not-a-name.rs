use compaktor::prelude::*;

struct Counter;

#[actor(message = "CounterMsg")]
impl Counter {}

fn main() {}
