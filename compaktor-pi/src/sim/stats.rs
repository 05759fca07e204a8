//! Scoring a run: distance, collisions, how far the robot got from the start, how much of the
//! floor it covered (0.25 m cells) and, on a line track, how far around the track it went in
//! order and how long it spent off the line. Updated by the physics step.

use std::collections::HashSet;
use std::time::Duration;

use super::config::WorldConfig;
use super::geometry::Point;

/// Side of a coverage cell in meters.
pub const CELL_SIZE: f64 = 0.25;

/// How the run went so far.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct Stats {
    /// Simulated time since the physics started.
    pub time: Duration,
    /// Meters travelled by the body's center.
    pub distance: f64,
    /// Times the body came into contact with a wall or an obstacle.
    pub collisions: u32,
    /// Farthest the body's center got from where it started, meters.
    pub max_distance_from_start: f64,
    /// Distinct 0.25 m floor cells the body's center has been in.
    pub cells_visited: usize,
    /// `cells_visited` over all the arena's cells, `0.0..=1.0`.
    pub coverage: f64,
    /// Full laps of the line track (either direction).
    pub laps: u32,
    /// Laps as a fraction, e.g. 1.25 for a lap and a quarter: track length passed in order
    /// (going backwards takes progress back; shortcuts off the tape do not count).
    pub track_progress: f64,
    /// Time with no line sensor over the tape (0 without a track).
    pub off_line_time: Duration,
    /// Time spent turning in place: turning faster than 0.5 rad/s while the body moves slower
    /// than 2 cm/s.
    pub turning_in_place: Duration,
    /// The closest the body's edge came to a wall or an obstacle, meters (0 when it touched
    /// one).
    pub closest_approach: f64,
    /// Where the body's center was then.
    pub closest_approach_at: Point,
}

/// Turning faster than this (rad/s) ...
const TURNING: f64 = 0.5;
/// ... while moving slower than this (m/s) is turning in place.
const IN_PLACE: f64 = 0.02;

/// The running tally behind [`Stats`].
#[derive(Debug)]
pub(crate) struct StatsTracker {
    pub(crate) stats: Stats,
    start: Point,
    visited: HashSet<(i64, i64)>,
    total_cells: usize,
    lap: Option<LapState>,
}

#[derive(Debug)]
struct LapState {
    length: f64,
    /// Meters along the track at the previous step, when the robot was on it.
    last: Option<f64>,
    /// Signed meters passed in order.
    progress: f64,
}

/// Farther than this from the center line, the robot is not following the track.
const ON_TRACK: f64 = 0.05;
/// A larger jump along the track in one step is a shortcut, not progress.
const MAX_STEP_ALONG: f64 = 0.05;

fn cell(p: Point) -> (i64, i64) {
    (
        (p.x / CELL_SIZE).floor() as i64,
        (p.y / CELL_SIZE).floor() as i64,
    )
}

impl StatsTracker {
    pub(crate) fn new(config: &WorldConfig) -> Self {
        let start = config.start.position();
        let total_cells = ((config.width / CELL_SIZE).ceil() * (config.height / CELL_SIZE).ceil())
            .max(1.0) as usize;
        let lap = config.track.as_ref().map(|t| LapState {
            length: t.length(),
            last: None,
            progress: 0.0,
        });
        let mut tracker = StatsTracker {
            stats: Stats {
                closest_approach: f64::INFINITY,
                ..Stats::default()
            },
            start,
            visited: HashSet::new(),
            total_cells,
            lap,
        };
        tracker.visit(start);
        tracker
    }

    /// The body moves at `velocity` (m/s) turning at `yaw_rate` (rad/s), `clearance` meters
    /// from the nearest surface, for `dt`.
    /// Returns whether it turns in place.
    pub(crate) fn motion(
        &mut self,
        at: Point,
        velocity: f64,
        yaw_rate: f64,
        clearance: f64,
        dt: Duration,
    ) -> bool {
        let turning = velocity.abs() < IN_PLACE && yaw_rate.abs() > TURNING;
        if turning {
            self.stats.turning_in_place += dt;
        }
        let clearance = clearance.max(0.0);
        if clearance < self.stats.closest_approach {
            self.stats.closest_approach = clearance;
            self.stats.closest_approach_at = at;
        }
        turning
    }

    fn visit(&mut self, p: Point) {
        self.visited.insert(cell(p));
        self.stats.cells_visited = self.visited.len();
        self.stats.coverage = self.visited.len() as f64 / self.total_cells as f64;
    }

    /// One physics step: the body moved `from` → `to`; `row` is the middle of the line sensor
    /// row and `on_line` whether any line sensor sees tape.
    pub(crate) fn step(
        &mut self,
        config: &WorldConfig,
        from: Point,
        to: Point,
        dt: Duration,
        row: Point,
        on_line: bool,
    ) {
        let s = &mut self.stats;
        s.time += dt;
        s.distance += from.distance(to);
        s.max_distance_from_start = s.max_distance_from_start.max(to.distance(self.start));
        self.visit(to);
        let (Some(track), Some(lap)) = (&config.track, &mut self.lap) else {
            return;
        };
        if !on_line {
            self.stats.off_line_time += dt;
        }
        let here = track.project(row).filter(|p| p.distance <= ON_TRACK);
        match (here, lap.last) {
            (Some(p), Some(last)) => {
                let half = lap.length / 2.0;
                let along = (p.along - last + half).rem_euclid(lap.length) - half;
                if along.abs() <= MAX_STEP_ALONG {
                    lap.progress += along;
                }
                lap.last = Some(p.along);
            }
            (here, _) => lap.last = here.map(|p| p.along),
        }
        let laps = lap.progress.abs() / lap.length;
        self.stats.track_progress = laps;
        self.stats.laps = laps.floor() as u32;
    }

    pub(crate) fn collision(&mut self) {
        self.stats.collisions += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coverage_counts_cells_once() {
        let config = WorldConfig::empty(1.0, 1.0);
        let mut t = StatsTracker::new(&config);
        let dt = Duration::from_millis(5);
        let (a, b) = (Point::new(0.5, 0.5), Point::new(0.8, 0.5));
        t.step(&config, a, b, dt, b, true);
        t.step(&config, b, a, dt, a, true);
        assert_eq!(t.stats.cells_visited, 2);
        assert!((t.stats.coverage - 2.0 / 16.0).abs() < 1e-9);
        assert!((t.stats.distance - 0.6).abs() < 1e-9);
        assert!((t.stats.max_distance_from_start - 0.3).abs() < 1e-9);
        assert_eq!(t.stats.off_line_time, Duration::ZERO);
    }

    #[test]
    fn laps_count_in_order_only() {
        let config = WorldConfig::line_track(0);
        let track = config.track.clone().unwrap();
        let mut t = StatsTracker::new(&config);
        let dt = Duration::from_millis(5);
        // Walk the center line one and a half times, in small steps.
        let n = track.points.len();
        let mut prev = track.points[0];
        for i in 1..=(n * 3 / 2) {
            let (a, b) = (track.points[(i - 1) % n], track.points[i % n]);
            for k in 1..=10 {
                let p = a + (b - a).scale(k as f64 / 10.0);
                t.step(&config, prev, p, dt, p, true);
                prev = p;
            }
        }
        assert_eq!(t.stats.laps, 1);
        assert!((t.stats.track_progress - 1.5).abs() < 0.02);
        // A jump across the oval is not progress.
        let before = t.stats.track_progress;
        let across = track.points[0];
        t.step(&config, prev, across, dt, across, false);
        assert_eq!(t.stats.track_progress, before);
        assert_eq!(t.stats.off_line_time, dt);
    }
}
