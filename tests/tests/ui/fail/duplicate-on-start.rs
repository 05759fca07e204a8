use compaktor::prelude::*;

struct Motor {
    ready: bool,
    homed: bool,
}

#[actor]
impl Motor {
    #[on_start]
    fn power_up(&mut self) {
        self.ready = true;
    }

    #[on_start]
    fn home(&mut self) {
        self.homed = true;
    }

    #[handler]
    fn is_ready(&self) -> bool {
        self.ready && self.homed
    }
}

fn main() {}
