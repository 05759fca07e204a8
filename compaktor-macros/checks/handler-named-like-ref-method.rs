use compaktor::prelude::*;

struct Motor {
    running: bool,
}

#[actor]
impl Motor {
    #[handler]
    fn stop(&mut self) {
        self.running = false;
    }
}

fn main() {}
