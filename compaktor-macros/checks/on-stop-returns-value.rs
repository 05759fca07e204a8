use compaktor::prelude::*;

struct Motor {
    running: bool,
}

#[actor]
impl Motor {
    #[on_stop]
    fn halt(&mut self) -> bool {
        self.running = false;
        true
    }
}

fn main() {}
