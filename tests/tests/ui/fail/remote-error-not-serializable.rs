use compaktor::prelude::*;

#[derive(Debug, thiserror::Error)]
#[error("blind")]
struct Blind;

struct Sonar;

#[actor(remote)]
impl Sonar {
    #[handler]
    fn read(&self) -> Result<f32, Blind> {
        Err(Blind)
    }
}

fn main() {}
