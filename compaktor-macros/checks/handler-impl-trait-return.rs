use compaktor::prelude::*;

struct Logger {
    lines: Vec<String>,
}

#[actor]
impl Logger {
    #[handler]
    fn lines(&self) -> impl Iterator<Item = String> + Send + 'static {
        self.lines.clone().into_iter()
    }
}

fn main() {}
