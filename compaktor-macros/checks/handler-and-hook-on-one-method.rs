use compaktor::prelude::*;

struct Motor {
    ready: bool,
}

#[actor]
impl Motor {
    #[on_start]
    #[handler]
    fn power_up(&mut self) {
        self.ready = true;
    }
}

fn main() {}
