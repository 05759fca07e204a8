use compaktor::prelude::*;

struct Reading(f32);

struct Sonar;

#[actor(remote)]
impl Sonar {
    #[handler]
    fn read(&self) -> Reading {
        Reading(1.0)
    }
}

fn main() {}
