use compaktor::prelude::*;

struct Motor {
    faults: u32,
}

#[actor]
impl Motor {
    #[on_failure]
    fn recover(&mut self, failure: &HandlerFailure) {
        let _ = failure;
        self.faults += 1;
    }
}

fn main() {}
