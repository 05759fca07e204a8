use compaktor::prelude::*;

struct Sonar;

#[actor]
impl Sonar {
    #[on_restart]
    fn restarted(&mut self, info: &RestartInfo) -> bool {
        info.count > 1
    }
}

fn main() {}
