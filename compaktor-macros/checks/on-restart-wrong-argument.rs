use compaktor::prelude::*;

struct Sonar;

#[actor]
impl Sonar {
    #[on_restart]
    fn restarted(&mut self, reason: &StopReason) {
        let _ = reason;
    }
}

fn main() {}
