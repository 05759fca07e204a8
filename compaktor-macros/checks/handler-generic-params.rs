use compaktor::prelude::*;

struct Logger {
    lines: Vec<String>,
}

#[actor]
impl Logger {
    #[handler]
    fn log<T: ToString + Send + 'static>(&mut self, line: T) {
        self.lines.push(line.to_string());
    }
}

fn main() {}
