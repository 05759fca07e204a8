use compaktor::prelude::*;

struct Logger {
    lines: Vec<String>,
}

#[actor]
impl Logger {
    #[handler]
    fn log(&mut self, line: impl ToString + Send + 'static) {
        self.lines.push(line.to_string());
    }
}

fn main() {}
