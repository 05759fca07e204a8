use compaktor::prelude::*;

struct Motor {
    ready: bool,
}

#[actor]
impl Motor {
    #[on_start]
    fn power_up(&mut self) -> impl Sized {
        self.ready = true;
    }
}

fn main() {}
