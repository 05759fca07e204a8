//! An actor generic over its item type, another with a `where` clause, and one with a const
//! parameter that no handler mentions.
#![deny(warnings)]
use compaktor::prelude::*;

struct Store<T> {
    items: Vec<T>,
}

#[actor]
impl<T: Send + 'static> Store<T> {
    #[handler]
    fn put(&mut self, item: T) {
        self.items.push(item);
    }

    #[handler]
    fn take(&mut self) -> Option<T> {
        self.items.pop()
    }

    #[handler]
    fn len(&self) -> usize {
        self.items.len()
    }
}

struct Latest<T> {
    value: Option<T>,
}

#[actor]
impl<T> Latest<T>
where
    T: Clone + Send + 'static,
{
    #[handler]
    fn set(&mut self, value: T) {
        self.value = Some(value);
    }

    #[handler]
    fn get(&self) -> Option<T> {
        self.value.clone()
    }
}

struct Window<const N: usize> {
    seen: usize,
}

#[actor]
impl<const N: usize> Window<N> {
    #[handler]
    fn push(&mut self) -> bool {
        self.seen += 1;
        self.seen >= N
    }
}

/// A generic parameter no handler mentions.
struct Tagged<T> {
    hits: u32,
    _tag: std::marker::PhantomData<fn() -> T>,
}

#[actor]
impl<T: 'static> Tagged<T> {
    #[handler]
    fn hit(&mut self) -> u32 {
        self.hits += 1;
        self.hits
    }
}

/// A bound with a private trait.
trait Reading: Send + 'static {
    fn value(&self) -> f64;
}

impl Reading for f64 {
    fn value(&self) -> f64 {
        *self
    }
}

struct Sensor<R> {
    last: Option<R>,
}

#[actor]
impl<R: Reading> Sensor<R> {
    #[handler]
    fn record(&mut self, reading: R) {
        self.last = Some(reading);
    }

    #[handler]
    fn last_value(&self) -> Option<f64> {
        self.last.as_ref().map(Reading::value)
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let system = ActorSystem::new("generic");

    let store: ActorRef<Store<String>> = system.spawn(Store { items: Vec::new() });
    store.put("a".to_owned()).await.unwrap();
    store.put("b".to_owned()).await.unwrap();
    assert_eq!(store.len().await.unwrap(), 2);
    assert_eq!(store.take().await.unwrap().as_deref(), Some("b"));

    let numbers = system.spawn(Store::<u32> { items: Vec::new() });
    numbers.put(7).await.unwrap();
    assert_eq!(numbers.take().await.unwrap(), Some(7));

    let latest = system.spawn(Latest { value: None });
    latest.set(3.5_f64).await.unwrap();
    assert_eq!(latest.get().await.unwrap(), Some(3.5));

    let window = system.spawn(Window::<2> { seen: 0 });
    assert!(!window.push().await.unwrap());
    assert!(window.push().await.unwrap());

    let tagged = system.spawn(Tagged::<std::rc::Rc<u8>> {
        hits: 0,
        _tag: std::marker::PhantomData,
    });
    assert_eq!(tagged.hit().await.unwrap(), 1);

    let sensor = system.spawn(Sensor::<f64> { last: None });
    sensor.record(0.25).await.unwrap();
    assert_eq!(sensor.last_value().await.unwrap(), Some(0.25));
}
