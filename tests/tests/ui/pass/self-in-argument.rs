//! `Self` in argument and return types means the actor, also inside other types and in
//! qualified paths.
#![deny(warnings)]
use compaktor::prelude::*;

trait Unit {
    type Amount;
}

#[derive(Clone, Debug, PartialEq)]
struct Point {
    x: i64,
    y: i64,
}

impl Unit for Point {
    type Amount = i64;
}

#[actor]
impl Point {
    #[handler]
    fn merge(&mut self, other: Self) {
        self.x += other.x;
        self.y += other.y;
    }

    #[handler]
    fn merge_all(&mut self, others: Vec<Self>) -> Option<Self> {
        for other in others {
            self.x += other.x;
            self.y += other.y;
        }
        Some(self.clone())
    }

    #[handler]
    fn shift(&mut self, by: <Self as Unit>::Amount) -> Self {
        self.x += by;
        self.clone()
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let system = ActorSystem::new("points");
    let point = system.spawn(Point { x: 0, y: 0 });
    point.merge(Point { x: 1, y: 2 }).await.unwrap();
    let all = point.merge_all(vec![Point { x: 1, y: 1 }]).await.unwrap();
    assert_eq!(all, Some(Point { x: 2, y: 3 }));
    assert_eq!(point.shift(10).await.unwrap(), Point { x: 12, y: 3 });
}
