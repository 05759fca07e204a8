use std::borrow::Cow;

use compaktor::prelude::*;

struct Logger {
    lines: Vec<String>,
}

#[actor]
impl Logger {
    #[handler]
    fn log<'a>(&mut self, line: Cow<'a, str>) {
        self.lines.push(line.into_owned());
    }
}

fn main() {}
