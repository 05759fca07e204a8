use compaktor::prelude::*;

struct Motor {
    ready: bool,
}

impl Motor {
    #[on_start]
    fn power_up(&mut self) {
        self.ready = true;
    }
}

fn main() {}
