use compaktor::prelude::*;

struct Tracker;

#[actor]
impl Tracker {
    #[handler]
    fn two_keys(&self, #[key] robot: u32, #[key] arm: u32) {
        let _ = (robot, arm);
    }

    #[handler]
    fn keyed_context(&self, #[key] ctx: &mut Context<Self>) {
        let _ = ctx;
    }

    #[handler]
    fn key_with_options(&self, #[key(hash = "fast")] robot: u32) {
        let _ = robot;
    }

    #[on_start]
    fn start(&mut self, #[key] ctx: &mut Context<Self>) {
        let _ = ctx;
    }
}

fn main() {}
