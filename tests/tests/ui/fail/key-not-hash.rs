use compaktor::prelude::*;

struct Position(f32, f32);

struct Tracker;

#[actor]
impl Tracker {
    #[handler]
    fn track(&self, #[key] at: Position) {
        let _ = at;
    }
}

fn main() {}
