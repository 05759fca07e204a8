use compaktor::prelude::*;

struct Greeter {
    name: String,
}

#[actor]
impl Greeter {
    #[handler]
    fn greeting(&self) -> &str {
        &self.name
    }
}

fn main() {}
