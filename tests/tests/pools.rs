//! Pools: round-robin, random and balancing routing under concurrent asks; a pool called like
//! one actor; supervised workers under the pool's path; workers added and removed at run time;
//! the empty pool's typed error and dead letter; consistent hashing by key; broadcast; and a
//! stopped or killed pool taking its workers with it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::future::IntoFuture;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use compaktor::prelude::*;
use compaktor::testkit::settle;
use compaktor::{DeadLetterReason, StopReason};
use compaktor_tests::ended;
use futures::StreamExt;
use futures::future::join_all;
use tokio::sync::{Barrier, Notify};
use tokio::time::Instant;

/// What workers write down: `(worker number, job)`, or `(worker number, STOPPED)`.
type Log = Arc<Mutex<Vec<(usize, u32)>>>;

/// Logged by a worker's stop hook in place of a job.
const STOPPED: u32 = u32::MAX;

/// A pool worker. `n` is handed out by its factory; worker 0 of a pool made by
/// [`slow_first`] takes a second per job.
struct Worker {
    n: usize,
    slow: bool,
    /// How long its start hook takes (a driver opening its bus).
    warm_up: Option<Duration>,
    log: Log,
    notes: Vec<u32>,
}

#[actor]
impl Worker {
    #[on_start]
    async fn start(&mut self) {
        if let Some(warm_up) = self.warm_up {
            tokio::time::sleep(warm_up).await;
        }
    }

    /// Which worker (actor) answered.
    #[handler]
    fn who(&self, ctx: &mut Context<Self>) -> ActorId {
        ctx.id()
    }

    /// Which worker answered and how often it has been restarted.
    #[handler]
    fn generation(&self, ctx: &mut Context<Self>) -> (ActorId, u32) {
        (ctx.id(), ctx.restart_count())
    }

    /// Answers once every holder of `barrier` is waiting: only if the asks are in flight
    /// together, each in its own worker.
    #[handler]
    async fn meet(&self, barrier: Arc<Barrier>, ctx: &mut Context<Self>) -> ActorId {
        barrier.wait().await;
        ctx.id()
    }

    /// Writes `job` down (after a second, for a slow worker) and says who did it.
    #[handler]
    async fn job(&mut self, job: u32) -> usize {
        if self.slow {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        self.log.lock().unwrap().push((self.n, job));
        self.n
    }

    /// Waits for `gate` (forever, if it is never opened).
    #[handler]
    async fn stuck(&self, gate: Arc<Notify>, ctx: &mut Context<Self>) -> ActorId {
        gate.notified().await;
        ctx.id()
    }

    #[handler]
    fn boom(&mut self) -> ActorId {
        panic!("worker crashed");
    }

    #[handler]
    fn note(&mut self, value: u32) {
        self.notes.push(value);
    }

    #[handler]
    fn notes(&self) -> Vec<u32> {
        self.notes.clone()
    }

    /// Writes `(n, STOPPED)` down.
    #[on_stop]
    fn stopping(&mut self) {
        self.log.lock().unwrap().push((self.n, STOPPED));
    }
}

/// A factory that numbers its workers 0, 1, 2, … (a restart takes the next number).
fn numbered(log: &Log) -> impl Fn() -> Worker + Send + Sync + 'static {
    let next = AtomicUsize::new(0);
    let log = log.clone();
    move || Worker {
        n: next.fetch_add(1, Ordering::Relaxed),
        slow: false,
        warm_up: None,
        log: log.clone(),
        notes: Vec::new(),
    }
}

/// Like [`numbered`], but worker 0 is slow.
fn slow_first(log: &Log) -> impl Fn() -> Worker + Send + Sync + 'static {
    let make = numbered(log);
    move || {
        let mut worker = make();
        worker.slow = worker.n == 0;
        worker
    }
}

fn pool(system: &ActorSystem, size: usize, routing: Routing) -> (Pool<Worker>, Log) {
    let log = Log::default();
    let pool = system
        .pool(size, numbered(&log))
        .routing(routing)
        .spawn()
        .unwrap();
    (pool, log)
}

fn ids(workers: &[ActorRef<Worker>]) -> BTreeSet<ActorId> {
    workers.iter().map(ActorRef::id).collect()
}

/// Asks `who` `n` times, all in flight together; how many answers each worker gave.
async fn spread(pool: &Pool<Worker>, n: usize) -> BTreeMap<ActorId, usize> {
    let answers = join_all((0..n).map(|_| pool.who().into_future())).await;
    let mut counts = BTreeMap::new();
    for answer in answers {
        *counts.entry(answer.unwrap()).or_default() += 1;
    }
    counts
}

// ---- routing ------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn round_robin_sends_100_concurrent_asks_to_100_workers_once_each() {
    let system = ActorSystem::new("test");
    let (pool, _) = pool(&system, 100, Routing::RoundRobin);
    // Each worker waits in its handler until all 100 are waiting: that only happens if the 100
    // asks are in flight together and no worker got two (the second would wait behind the
    // first). The timeout turns a wrong routing into a failure, not a hang.
    let barrier = Arc::new(Barrier::new(100));
    let asks = (0..100).map(|_| {
        pool.meet(Arc::clone(&barrier))
            .timeout(Duration::from_secs(10))
            .into_future()
    });
    let answers: Vec<ActorId> = join_all(asks)
        .await
        .into_iter()
        .map(|answer| answer.expect("every worker answers once all 100 are in a handler"))
        .collect();

    let answered: BTreeSet<ActorId> = answers.iter().copied().collect();
    assert_eq!(answered.len(), 100, "each ask reached a different worker");
    assert_eq!(
        answered,
        ids(&pool.workers()),
        "and those are the pool's 100"
    );
}

#[tokio::test]
async fn round_robin_starts_with_the_first_worker_and_takes_them_in_order() {
    let system = ActorSystem::new("test");
    let (pool, _) = pool(&system, 3, Routing::RoundRobin);
    let workers: Vec<ActorId> = pool.workers().iter().map(ActorRef::id).collect();
    let mut answered = Vec::new();
    for _ in 0..6 {
        answered.push(pool.who().await.unwrap());
    }
    let expected: Vec<ActorId> = workers.iter().chain(&workers).copied().collect();
    assert_eq!(answered, expected, "worker 0, 1, 2, then 0 again");
}

#[tokio::test]
async fn balancing_starts_with_the_first_idle_worker() {
    let system = ActorSystem::new("test");
    let (pool, _) = pool(&system, 3, Routing::Balancing);
    let first = pool.workers()[0].id();
    // One at a time, every worker is idle for each: the turn still moves on.
    let mut answered = Vec::new();
    for _ in 0..3 {
        answered.push(pool.who().await.unwrap());
    }
    assert_eq!(answered[0], first, "the first message goes to worker 0");
    assert_eq!(ids(&pool.workers()), answered.into_iter().collect());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_robin_takes_turns_across_threads() {
    let system = ActorSystem::new("test");
    let (pool, _) = pool(&system, 100, Routing::RoundRobin);
    let counts = spread(&pool, 300).await;
    assert_eq!(counts.len(), 100);
    assert!(
        counts.values().all(|&n| n == 3),
        "300 asks over 100 workers, 3 each: {counts:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_routing_answers_3000_asks_spread_evenly_over_3_workers() {
    let system = ActorSystem::new("test");
    let (pool, _) = pool(&system, 3, Routing::Random);
    let counts = spread(&pool, 3000).await;

    assert_eq!(
        counts.values().sum::<usize>(),
        3000,
        "every ask is answered"
    );
    assert_eq!(counts.len(), 3, "every worker got some: {counts:?}");
    // Each count is Binomial(3000, 1/3): mean 1000, standard deviation 25.8. The router's
    // xorshift64 (random seed per pool) was simulated over 20 000 seeds in Python: the worst
    // count was 117 from 1000. ±200 is 7.7 standard deviations: it does not flake, and a
    // router that favours one worker (say 40 % instead of 33 %) fails it.
    for (worker, &n) in &counts {
        assert!((800..=1200).contains(&n), "{worker} got {n} of 3000");
    }
}

#[tokio::test(start_paused = true)]
async fn balancing_keeps_work_away_from_a_slow_worker_and_handles_each_job_once() {
    let system = ActorSystem::new("test");
    let log = Log::default();
    let pool = system
        .pool(3, slow_first(&log))
        .routing(Routing::Balancing)
        .spawn()
        .unwrap();
    let start = Instant::now();

    let jobs = join_all((0..30).map(|job| pool.job(job).into_future())).await;
    let by: Vec<usize> = jobs.into_iter().map(Result::unwrap).collect();

    let slow = by.iter().filter(|&&n| n == 0).count();
    assert!(
        slow <= 2,
        "the slow worker took {slow} of 30 jobs (round-robin would give it 10)"
    );
    let mut done: Vec<u32> = log.lock().unwrap().iter().map(|&(_, job)| job).collect();
    done.sort_unstable();
    assert_eq!(done, (0..30).collect::<Vec<_>>(), "each job handled once");
    // The slow worker's second per job is all the time it took, not 10 s behind it.
    assert!(
        start.elapsed() <= Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn balancing_holds_messages_in_the_pool_while_every_worker_is_busy() {
    let system = ActorSystem::new("test");
    let (pool, _) = pool(&system, 2, Routing::Balancing);
    let gate = Arc::new(Notify::new());
    let asks: Vec<_> = (0..5)
        .map(|_| {
            let (pool, gate) = (pool.actor_ref(), Arc::clone(&gate));
            tokio::spawn(async move { pool.stuck(gate).await })
        })
        .collect();
    settle().await;
    // Two are in the workers' handlers; three wait in the pool, none in a worker's mailbox.
    let health = system.health();
    let queued_in = |id: ActorId| {
        health
            .iter()
            .find(|h| h.actor.id == id)
            .map(|h| h.mailbox_len)
            .unwrap()
    };
    for worker in pool.workers() {
        assert_eq!(queued_in(worker.id()), 0, "a busy worker is given nothing");
    }
    // Health shows them waiting in the pool (the router may hold one in hand).
    let waiting = queued_in(pool.id());
    assert!(
        (2..=3).contains(&waiting),
        "3 asks wait for a worker; the pool's health says {waiting}"
    );
    for _ in 0..5 {
        gate.notify_one();
        settle().await;
    }
    for ask in asks {
        ask.await.unwrap().unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn balancing_waits_for_workers_that_are_still_starting() {
    let system = ActorSystem::new("test");
    let make = numbered(&Log::default());
    let pool = system
        .pool(2, move || Worker {
            warm_up: Some(Duration::from_secs(1)),
            ..make()
        })
        .routing(Routing::Balancing)
        .spawn()
        .unwrap();
    // Asked at once: no worker is ready yet, so the asks wait in the pool until one is.
    let start = Instant::now();
    let answers =
        join_all((0..4).map(|_| pool.who().timeout(Duration::from_secs(10)).into_future())).await;
    for answer in answers {
        answer.expect("a worker that finished starting takes the waiting asks");
    }
    assert_eq!(start.elapsed(), Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn balancing_goes_on_after_a_worker_panics() {
    let system = ActorSystem::new("test");
    let (pool, _) = pool(&system, 1, Routing::Balancing);
    // The second waits in the pool while the only worker panics on the first, then goes to
    // the restarted worker.
    let (crashed, answered) = tokio::join!(
        pool.boom().into_future(),
        pool.who().timeout(Duration::from_secs(10)).into_future()
    );
    assert!(
        matches!(crashed, Err(AskError::Panicked { .. })),
        "{crashed:?}"
    );
    assert_eq!(
        answered.expect("the restarted worker takes the waiting ask"),
        pool.workers()[0].id()
    );
}

#[tokio::test(start_paused = true)]
async fn balancing_gives_waiting_work_to_a_worker_added_meanwhile() {
    let system = ActorSystem::new("test");
    let (pool, _) = pool(&system, 1, Routing::Balancing);
    let gate = Arc::new(Notify::new());
    let busy = {
        let (pool, gate) = (pool.actor_ref(), Arc::clone(&gate));
        tokio::spawn(async move { pool.stuck(gate).await })
    };
    settle().await;
    let waiting = {
        let pool = pool.actor_ref();
        tokio::spawn(async move { pool.who().timeout(Duration::from_secs(10)).await })
    };
    settle().await;
    let added = pool.add_worker().unwrap();
    let answer = waiting.await.unwrap();
    assert_eq!(
        answer.expect("the new, idle worker takes the waiting ask"),
        added.id()
    );
    gate.notify_one();
    busy.await.unwrap().unwrap();
}

// ---- one address ---------------------------------------------------------------------------

/// Calling code written for one actor.
async fn ids_from(actor: &ActorRef<Worker>, asks: usize) -> BTreeSet<ActorId> {
    let mut seen = BTreeSet::new();
    for _ in 0..asks {
        seen.insert(actor.who().await.unwrap());
    }
    actor.note(1).await.unwrap();
    seen
}

#[tokio::test]
async fn calling_code_cannot_tell_a_pool_from_one_actor() {
    let system = ActorSystem::new("test");
    let log = Log::default();
    let single = system.spawn(numbered(&log)());
    let (pool, _) = pool(&system, 3, Routing::RoundRobin);

    assert_eq!(ids_from(&single, 6).await, BTreeSet::from([single.id()]));
    // `&pool` is an `&ActorRef<Worker>` to the same function, and spreads over the workers.
    assert_eq!(ids_from(&pool, 6).await, ids(&pool.workers()));
    let plain: ActorRef<Worker> = pool.actor_ref();
    assert_eq!(ids_from(&plain, 6).await, ids(&pool.workers()));
    assert_eq!(plain.id(), pool.id());
}

// ---- supervision ---------------------------------------------------------------------------

#[tokio::test]
async fn workers_live_under_the_pools_path() {
    let system = ActorSystem::new("test");
    let pool = system
        .pool(3, numbered(&Log::default()))
        .name("planners")
        .spawn()
        .unwrap();
    assert_eq!(pool.path(), "/planners");
    for worker in pool.workers() {
        assert_eq!(
            worker.path(),
            format!("/planners/${}", worker.id().as_u64())
        );
    }
    let taken = system
        .pool(1, numbered(&Log::default()))
        .name("planners")
        .spawn();
    assert!(
        matches!(taken, Err(SpawnError::NameTaken { .. })),
        "{taken:?}"
    );
}

#[tokio::test]
async fn a_panicking_worker_is_restarted_and_the_pool_keeps_answering() {
    let system = ActorSystem::new("test");
    let log = Log::default();
    let pool = system
        .pool(3, numbered(&log))
        .supervise(Supervision::one_for_one().max_restarts(3, Duration::from_secs(5)))
        .spawn()
        .unwrap();
    let before = ids(&pool.workers());

    let crashed = pool.boom().await;
    assert!(
        matches!(&crashed, Err(AskError::Panicked { message, .. }) if message == "worker crashed"),
        "{crashed:?}"
    );

    let answers = join_all((0..30).map(|_| pool.generation().into_future())).await;
    let mut restarts: BTreeMap<ActorId, BTreeSet<u32>> = BTreeMap::new();
    for answer in answers {
        let (id, count) = answer.expect("the pool answers after a worker's panic");
        restarts.entry(id).or_default().insert(count);
    }
    assert_eq!(
        restarts.keys().copied().collect::<BTreeSet<_>>(),
        before,
        "the same three workers (a restart keeps the worker's ref)"
    );
    let restarted: Vec<_> = restarts.values().filter(|c| c.contains(&1)).collect();
    assert_eq!(
        restarted.len(),
        1,
        "one worker was restarted once: {restarts:?}"
    );
    assert_eq!(ids(&pool.workers()), before);
    assert!(pool.is_alive());
}

#[tokio::test]
async fn past_the_restart_limit_the_pool_fails_and_stops() {
    let system = ActorSystem::new("test");
    let pool = system
        .pool(2, numbered(&Log::default()))
        .supervise(Supervision::one_for_one().max_restarts(1, Duration::from_secs(60)))
        .spawn()
        .unwrap();
    let workers = pool.workers();
    let _ = pool.boom().await;
    let _ = pool.boom().await;
    let reason = ended(&pool).await;
    assert!(reason.is_failure(), "{reason}");
    for worker in &workers {
        ended(worker).await;
    }
    assert!(matches!(pool.who().await, Err(AskError::Stopped { .. })));
}

#[tokio::test]
async fn a_worker_that_ends_for_good_leaves_the_pool() {
    let system = ActorSystem::new("test");
    let pool = system
        .pool(3, numbered(&Log::default()))
        .restart(RestartPolicy::Temporary)
        .spawn()
        .unwrap();
    let crashed = pool.boom().await;
    assert!(matches!(crashed, Err(AskError::Panicked { .. })));
    settle().await;

    // Before any message is routed to it, the ended worker is out of the pool: not listed, and
    // no key hashes to it (an ask sent to it would get `Stopped`).
    let workers = pool.workers();
    assert_eq!(
        workers.iter().map(ActorRef::is_alive).collect::<Vec<_>>(),
        [true, true],
        "the workers listed are the two still running"
    );
    for key in 0..100 {
        let worker = pool.for_key(&key).unwrap();
        assert!(worker.is_alive(), "key {key} hashes to an ended worker");
    }

    let counts = spread(&pool, 30).await;
    assert_eq!(counts.values().sum::<usize>(), 30, "every ask is answered");
    assert_eq!(counts.len(), 2, "by the two workers left: {counts:?}");
    assert_eq!(pool.workers().len(), 2);
}

// ---- workers at run time -------------------------------------------------------------------

#[tokio::test]
async fn adding_and_removing_workers_changes_where_work_goes() {
    let system = ActorSystem::new("test");
    let (pool, _) = pool(&system, 2, Routing::RoundRobin);
    let first_two = ids(&pool.workers());
    assert_eq!(
        spread(&pool, 6)
            .await
            .keys()
            .copied()
            .collect::<BTreeSet<_>>(),
        first_two
    );

    let third = pool.add_worker().unwrap();
    assert_eq!(pool.workers().len(), 3);
    let counts = spread(&pool, 9).await;
    assert_eq!(
        counts.get(&third.id()),
        Some(&3),
        "the new worker takes its turn: {counts:?}"
    );

    let removed = pool.remove_worker().expect("a worker to remove");
    assert_eq!(removed.id(), third.id(), "the newest goes first");
    assert_eq!(ended(&removed).await, StopReason::Stopped);
    let counts = spread(&pool, 6).await;
    assert_eq!(counts.keys().copied().collect::<BTreeSet<_>>(), first_two);
    assert_eq!(ids(&pool.workers()), first_two);
}

#[tokio::test(start_paused = true)]
async fn an_empty_pool_answers_no_worker_and_records_a_dead_letter() {
    let system = ActorSystem::new("test");
    let (pool, _) = pool(&system, 2, Routing::RoundRobin);
    let mut letters = system.dead_letters();
    let removed: Vec<_> = std::iter::from_fn(|| pool.remove_worker()).collect();
    assert_eq!(removed.len(), 2);
    assert!(pool.workers().is_empty());
    for worker in &removed {
        assert_eq!(ended(worker).await, StopReason::Stopped);
    }

    let answer = pool.who().await;
    match answer {
        Err(AskError::NoWorker {
            pool: label,
            handler,
        }) => {
            assert_eq!(&label, pool.label());
            assert_eq!(handler, "who");
        }
        other => panic!("expected NoWorker, got {other:?}"),
    }
    let letter = tokio::time::timeout(Duration::from_secs(1), letters.next())
        .await
        .expect("a dead letter")
        .unwrap();
    assert_eq!(letter.reason, DeadLetterReason::NoWorker);
    assert_eq!(&letter.recipient, pool.label());
    assert_eq!(letter.handler, "who");

    // A tell is accepted by the pool, then becomes a dead letter too.
    pool.note(1).await.unwrap();
    let letter = tokio::time::timeout(Duration::from_secs(1), letters.next())
        .await
        .expect("a dead letter")
        .unwrap();
    assert_eq!(
        (letter.reason, letter.handler),
        (DeadLetterReason::NoWorker, "note")
    );

    // The pool itself is still there: a new worker answers.
    let worker = pool.add_worker().unwrap();
    assert_eq!(pool.who().await.unwrap(), worker.id());
}

// ---- consistent hashing --------------------------------------------------------------------

fn assignment(pool: &Pool<Worker>, keys: &[String]) -> HashMap<String, ActorId> {
    keys.iter()
        .map(|key| (key.clone(), pool.for_key(key.as_str()).unwrap().id()))
        .collect()
}

#[tokio::test]
async fn for_key_keeps_each_key_on_its_worker_and_a_removal_moves_only_that_workers_keys() {
    let system = ActorSystem::new("test");
    let (pool, _) = pool(&system, 5, Routing::RoundRobin);
    let keys: Vec<String> = (0..500).map(|i| format!("lidar-{i}")).collect();
    let before = assignment(&pool, &keys);
    assert_eq!(
        assignment(&pool, &keys),
        before,
        "the same key, the same worker"
    );
    // The worker found is the one that handles the message.
    for key in keys.iter().take(20) {
        let worker = pool.for_key(key.as_str()).unwrap();
        assert_eq!(worker.who().await.unwrap(), before[key]);
    }
    let mut per_worker: HashMap<ActorId, usize> = HashMap::new();
    for id in before.values() {
        *per_worker.entry(*id).or_default() += 1;
    }
    // 100 each on average; a hash that piles keys on one worker fails this.
    assert_eq!(per_worker.len(), 5);
    assert!(per_worker.values().all(|&n| n >= 40), "{per_worker:?}");

    let removed = pool.remove_worker().unwrap();
    let after = assignment(&pool, &keys);
    for key in &keys {
        if before[key] == removed.id() {
            assert_ne!(after[key], removed.id(), "{key} left the removed worker");
        } else {
            assert_eq!(
                after[key], before[key],
                "{key} was not on the removed worker"
            );
        }
    }

    // Adding one moves keys only onto the new worker.
    let added = pool.add_worker().unwrap();
    let grown = assignment(&pool, &keys);
    let moved: Vec<_> = keys.iter().filter(|k| grown[*k] != after[*k]).collect();
    assert!(!moved.is_empty());
    assert!(moved.iter().all(|k| grown[*k] == added.id()));

    for _ in 0..5 {
        pool.remove_worker();
    }
    assert!(pool.for_key("lidar-0").is_none());
}

// ---- broadcast -----------------------------------------------------------------------------

#[tokio::test]
async fn broadcast_reaches_each_worker_once() {
    let system = ActorSystem::new("test");
    let (pool, _) = pool(&system, 4, Routing::RoundRobin);
    let sent = pool.broadcast(|w| w.note(7)).await;
    assert_eq!(sent, vec![Ok(()); 4]);
    for worker in pool.workers() {
        assert_eq!(worker.notes().await.unwrap(), [7]);
    }
    // A worker reached by id is in the pool.
    let first = pool.workers()[0].clone();
    assert_eq!(pool.worker(first.id()), Some(first));
}

// ---- stopping ------------------------------------------------------------------------------

#[tokio::test]
async fn stopping_a_pool_handles_what_was_queued_and_stops_its_workers_first() {
    let system = ActorSystem::new("test");
    let (pool, log) = pool(&system, 3, Routing::RoundRobin);
    let workers = pool.workers();
    for job in 0..9 {
        pool.job(job).tell().await.unwrap();
    }
    pool.stop();
    assert_eq!(ended(&pool).await, StopReason::Stopped);

    // By the time the pool's `stopped()` resolves, every worker has stopped.
    for worker in &workers {
        assert!(!worker.is_alive());
        let reason = futures::FutureExt::now_or_never(worker.stopped());
        assert_eq!(reason, Some(StopReason::Stopped), "{worker:?}");
    }
    let log = log.lock().unwrap().clone();
    let mut jobs: Vec<u32> = log
        .iter()
        .map(|&(_, j)| j)
        .filter(|&j| j != STOPPED)
        .collect();
    jobs.sort_unstable();
    assert_eq!(
        jobs,
        (0..9).collect::<Vec<_>>(),
        "queued jobs are handled first"
    );
    let stops = log.iter().filter(|&&(_, j)| j == STOPPED).count();
    assert_eq!(stops, 3, "each worker's stop hook ran once");
    assert!(system.health().is_empty(), "{:?}", system.health());
    assert_eq!(system.live_actors(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_killed_pool_ends_and_its_waiting_asks_get_errors() {
    for routing in [Routing::RoundRobin, Routing::Balancing] {
        let system = ActorSystem::new("test");
        let (pool, _) = pool(&system, 2, routing);
        let workers = pool.workers();
        let gate = Arc::new(Notify::new()); // never opened
        // Two in the workers' handlers, the rest queued (in workers or in the pool).
        let asks: Vec<_> = (0..6)
            .map(|_| {
                let (pool, gate) = (pool.actor_ref(), Arc::clone(&gate));
                tokio::spawn(async move { pool.stuck(gate).await })
            })
            .collect();
        settle().await;

        pool.kill();
        assert_eq!(ended(&pool).await, StopReason::Killed, "{routing:?}");
        for worker in &workers {
            assert_eq!(ended(worker).await, StopReason::Killed, "{routing:?}");
        }
        for ask in asks {
            let answer = tokio::time::timeout(Duration::from_secs(1), ask)
                .await
                .expect("an ask to a killed pool does not hang")
                .unwrap();
            assert!(
                matches!(answer, Err(AskError::Stopped { .. })),
                "{routing:?}: {answer:?}"
            );
        }
        assert!(matches!(pool.who().await, Err(AskError::Stopped { .. })));
        assert_eq!(system.live_actors(), 0);
    }
}

#[tokio::test]
async fn pool_handles_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Pool<Worker>>();
    send_sync::<compaktor::PoolBuilder<Worker>>();
}

/// A worker of a consistent-hashing pool: `place` routes by its `#[key]`, `ping` has none.
struct Shard;

#[actor]
impl Shard {
    #[handler]
    fn place(&self, #[key] robot: u32, ctx: &mut Context<Self>) -> ActorId {
        let _ = robot;
        ctx.id()
    }

    #[handler]
    fn ping(&self, ctx: &mut Context<Self>) -> ActorId {
        ctx.id()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consistent_hashing_sends_each_key_to_one_worker_through_the_pools_methods() {
    let system = ActorSystem::new("test");
    let pool = system
        .pool(4, || Shard)
        .routing(Routing::ConsistentHash)
        .spawn()
        .unwrap();
    // 50 keys x 8 concurrent asks each: every ask of one key reaches the same worker, the one
    // `for_key` names.
    let asks = (0..400u32).map(|n| {
        let pool = pool.clone();
        async move { (n % 50, pool.place(n % 50).await.unwrap()) }
    });
    let answers = futures::future::join_all(asks).await;
    let mut owner = std::collections::HashMap::new();
    for (key, worker) in answers {
        assert_eq!(
            *owner.entry(key).or_insert(worker),
            worker,
            "key {key} moved"
        );
        assert_eq!(pool.for_key(&key).map(|w| w.id()), Some(worker));
    }
    let used: std::collections::HashSet<_> = owner.values().collect();
    assert!(
        used.len() >= 3,
        "50 keys spread over the 4 workers: {used:?}"
    );
    // A handler without a `#[key]` goes round-robin.
    let mut pinged = std::collections::HashSet::new();
    for _ in 0..4 {
        pinged.insert(pool.ping().await.unwrap());
    }
    assert_eq!(pinged.len(), 4);
    // Removing a worker moves only the keys it had.
    let removed = pool.remove_worker().unwrap().id();
    for (key, before) in &owner {
        let now = pool.place(*key).await.unwrap();
        if *before != removed {
            assert_eq!(now, *before, "key {key} moved though its worker stayed");
        } else {
            assert_ne!(now, removed);
        }
    }
}

/// A worker of a broadcasting pool: counts what it got.
struct Listener {
    heard: Arc<Mutex<Vec<(ActorId, String)>>>,
}

/// Not `Clone`: a tell carrying it cannot be copied.
struct Token;

#[actor]
impl Listener {
    #[handler]
    fn hear(&mut self, word: String, ctx: &mut Context<Self>) {
        self.heard.lock().unwrap().push((ctx.id(), word));
    }

    #[handler]
    fn take(&mut self, token: Token, ctx: &mut Context<Self>) {
        let _ = token;
        self.heard.lock().unwrap().push((ctx.id(), "token".into()));
    }

    #[handler]
    fn who(&self, ctx: &mut Context<Self>) -> ActorId {
        ctx.id()
    }
}

#[tokio::test]
async fn a_broadcast_pool_gives_every_worker_a_copy_of_each_tell() {
    let system = ActorSystem::new("test");
    let heard = Arc::new(Mutex::new(Vec::new()));
    let log = heard.clone();
    let pool = system
        .pool(3, move || Listener { heard: log.clone() })
        .routing(Routing::Broadcast)
        .spawn()
        .unwrap();
    pool.hear("halt".into()).await.unwrap();
    pool.hear("go".into()).await.unwrap();
    // An ask has one reply: it goes to one worker.
    let one = pool.who().await.unwrap();
    assert!(pool.workers().iter().any(|w| w.id() == one));
    // A tell that cannot be copied goes to one worker too.
    pool.take(Token).await.unwrap();
    for worker in pool.workers() {
        worker.who().await.unwrap(); // everything sent before has been handled
    }
    let heard = heard.lock().unwrap().clone();
    for worker in pool.workers() {
        let words: Vec<_> = heard
            .iter()
            .filter(|(id, w)| *id == worker.id() && w != "token")
            .map(|(_, w)| w.as_str())
            .collect();
        assert_eq!(
            words,
            ["halt", "go"],
            "each worker hears each tell once, in order"
        );
    }
    assert_eq!(heard.iter().filter(|(_, w)| w == "token").count(), 1);
}
