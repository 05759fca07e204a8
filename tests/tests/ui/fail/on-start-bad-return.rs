use compaktor::prelude::*;

struct Motor {
    ready: bool,
}

#[actor]
impl Motor {
    #[on_start]
    fn power_up(&mut self) -> bool {
        self.ready = true;
        self.ready
    }
}

fn main() {}
