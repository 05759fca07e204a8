use compaktor::prelude::*;

struct Greeter {
    greeted: Vec<String>,
}

#[actor]
impl Greeter {
    #[handler]
    fn greet(&mut self, name: &str) {
        self.greeted.push(name.to_owned());
    }
}

fn main() {}
