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

    #[handler]
    fn path(&self) -> Vec<(f32, f32)> {
        Vec::new()
    }
}

fn main() {}
