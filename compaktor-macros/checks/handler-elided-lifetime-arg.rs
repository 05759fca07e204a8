use std::borrow::Cow;

use compaktor::prelude::*;

struct Logger {
    lines: Vec<String>,
}

#[actor]
impl Logger {
    #[handler]
    fn log(&mut self, line: Cow<str>) {
        self.lines.push(line.into_owned());
    }
}

fn main() {}
