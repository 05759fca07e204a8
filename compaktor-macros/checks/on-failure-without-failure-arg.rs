use compaktor::prelude::*;

struct Motor {
    faults: u32,
}

#[actor]
impl Motor {
    #[on_failure]
    fn recover(&mut self) -> FailureAction {
        self.faults += 1;
        FailureAction::Resume
    }
}

fn main() {}
