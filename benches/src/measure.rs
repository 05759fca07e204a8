//! What the workloads measure with: a heap counter (the process's global allocator), the
//! resident set size, and latency statistics.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::time::Duration;

/// The system allocator, plus a count of the bytes live between [`HeapProbe::start`] and the
/// probe's end. Counting is switched off outside a probe, so every other workload pays one
/// relaxed load per allocation and nothing else.
pub struct CountingAlloc;

static COUNTING: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

#[inline]
fn counted(delta: isize) {
    if COUNTING.load(Ordering::Relaxed) {
        let live = LIVE.fetch_add(delta, Ordering::Relaxed) + delta;
        if delta > 0 {
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
    }
}

// SAFETY: `unsafe` is needed here only because `GlobalAlloc` is an unsafe trait with unsafe
// methods: a counting allocator cannot be written without it. This is a benchmark binary, not a
// library; every method forwards the caller's (already checked) layout and pointer unchanged to
// `System`, which upholds the `GlobalAlloc` contract, and only adds a count on the side.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `GlobalAlloc::alloc`'s contract.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            counted(layout.size() as isize);
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            counted(layout.size() as isize);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with this `layout` (every method above forwards there).
        unsafe { System.dealloc(ptr, layout) };
        counted(-(layout.size() as isize));
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`; the caller upholds `realloc`'s size contract.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            counted(new_size as isize - layout.size() as isize);
        }
        new
    }
}

/// Heap bytes allocated (net) and peak while it runs, with the resident set size beside them.
/// One probe at a time.
pub struct HeapProbe {
    rss_before: i64,
}

/// What a [`HeapProbe`] saw at one point.
#[derive(Debug, Clone, Copy)]
pub struct HeapSample {
    /// Net heap bytes allocated since the probe started.
    pub live: i64,
    /// The highest `live` since the probe started.
    pub peak: i64,
    /// Growth of the resident set size since the probe started (page granularity; freed memory
    /// that the allocator reuses does not show).
    pub rss: i64,
}

impl HeapProbe {
    pub fn start() -> Self {
        let rss_before = rss_bytes();
        LIVE.store(0, Ordering::SeqCst);
        PEAK.store(0, Ordering::SeqCst);
        COUNTING.store(true, Ordering::SeqCst);
        HeapProbe { rss_before }
    }

    pub fn sample(&self) -> HeapSample {
        HeapSample {
            live: LIVE.load(Ordering::SeqCst) as i64,
            peak: PEAK.load(Ordering::SeqCst) as i64,
            rss: rss_bytes() - self.rss_before,
        }
    }
}

impl Drop for HeapProbe {
    fn drop(&mut self) {
        COUNTING.store(false, Ordering::SeqCst);
    }
}

/// The resident set size (`VmRSS` of /proc/self/status), 0 where there is none.
pub fn rss_bytes() -> i64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status.lines().find_map(|line| {
                let kib = line.strip_prefix("VmRSS:")?.trim().strip_suffix("kB")?;
                kib.trim().parse::<i64>().ok()
            })
        })
        .map_or(0, |kib| kib * 1024)
}

/// One run of the spawn workload.
#[derive(Debug, Clone, Copy)]
pub struct SpawnSample {
    /// Spawn all, one ask each, stop all and wait until all are gone.
    pub elapsed: Duration,
    /// Of which: spawning all, then the asks, then stopping all and waiting for the last.
    pub phases: [Duration; 3],
    /// Heap bytes per actor once all are spawned and have answered (idle, refs held).
    pub idle_bytes: f64,
    /// Peak heap bytes per actor over the whole run.
    pub peak_bytes: f64,
    /// Resident set growth per actor at the idle point.
    pub rss_bytes: f64,
}

impl SpawnSample {
    /// `marks`: the time from the start when all were spawned, when all had answered, and when
    /// all were gone.
    pub fn new(marks: [Duration; 3], idle: HeapSample, end: HeapSample, actors: usize) -> Self {
        let n = actors as f64;
        let [spawned, asked, elapsed] = marks;
        SpawnSample {
            elapsed,
            phases: [spawned, asked - spawned, elapsed - asked],
            idle_bytes: idle.live as f64 / n,
            peak_bytes: end.peak as f64 / n,
            rss_bytes: idle.rss as f64 / n,
        }
    }
}

/// Round-trip times of one run of the ask workload, in nanoseconds.
#[derive(Debug, Clone, Copy)]
pub struct Latencies {
    pub mean: f64,
    pub p50: f64,
    pub p99: f64,
}

/// Records the round trip of each ask of a run.
pub struct LatencyRecorder {
    nanos: Vec<u64>,
}

impl LatencyRecorder {
    pub fn with_capacity(n: usize) -> Self {
        LatencyRecorder {
            nanos: Vec::with_capacity(n),
        }
    }

    #[inline]
    pub fn record(&mut self, took: Duration) {
        self.nanos.push(took.as_nanos() as u64);
    }

    pub fn finish(mut self) -> Latencies {
        assert!(!self.nanos.is_empty(), "no ask was timed");
        self.nanos.sort_unstable();
        let n = self.nanos.len();
        let at = |q: f64| self.nanos[((n as f64 * q) as usize).min(n - 1)] as f64;
        Latencies {
            mean: self.nanos.iter().sum::<u64>() as f64 / n as f64,
            p50: at(0.50),
            p99: at(0.99),
        }
    }
}

/// The peak resident set of the largest child process waited for (`getrusage(RUSAGE_CHILDREN)`'s
/// `ru_maxrss`), in bytes; 0 where there is none.
pub fn children_peak_rss() -> u64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `getrusage` writes a `rusage` through a valid, writable pointer to one; it was
    // zeroed, so it is initialised even if the call fails (then 0 is returned).
    #[allow(unsafe_code)]
    let usage = unsafe {
        if libc::getrusage(libc::RUSAGE_CHILDREN, usage.as_mut_ptr()) != 0 {
            return 0;
        }
        usage.assume_init()
    };
    // Linux reports kibibytes.
    u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024
}
