use compaktor::prelude::*;

struct Motor {
    running: bool,
}

#[actor]
impl Motor {
    #[on_stop]
    fn halt(&mut self, reason: &StopReason, code: u8) {
        let _ = (reason, code);
        self.running = false;
    }
}

fn main() {}
