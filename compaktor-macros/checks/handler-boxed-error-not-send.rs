use compaktor::prelude::*;

struct Parser;

#[actor]
impl Parser {
    #[handler]
    fn parse(&self, text: String) -> Result<u32, Box<dyn std::error::Error>> {
        Ok(text.parse()?)
    }
}

fn main() {}
