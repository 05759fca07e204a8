use compaktor::prelude::*;

struct Motor {
    ready: bool,
}

#[derive(Debug)]
struct NoPower;

#[actor]
impl Motor {
    #[on_start]
    fn power_up(&mut self) -> Result<(), NoPower> {
        self.ready = true;
        Ok(())
    }
}

fn main() {}
