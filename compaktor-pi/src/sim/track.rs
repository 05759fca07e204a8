//! The line a line-follower follows: a closed polyline of tape with a width, and the two
//! questions asked of it — how far is a point from the tape, and how far along the track is it.

use serde::{Deserialize, Serialize};

use super::geometry::Point;

/// A closed loop of tape on the floor: the polyline through `points` (the last point joins the
/// first) with a `width` in meters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineTrack {
    /// Corners of the center line, in order.
    pub points: Vec<Point>,
    /// Width of the tape in meters (19 mm electrical tape is common).
    pub width: f64,
}

/// Where a point projects onto the track.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Projection {
    /// Meters along the track from `points[0]`, in `[0, length)`.
    pub(crate) along: f64,
    /// Meters from the center line.
    pub(crate) distance: f64,
}

impl LineTrack {
    /// An ellipse around `center` with semi-axes `rx`, `ry`, drawn with `segments` straight
    /// pieces, starting at the bottom and running counter-clockwise.
    pub fn oval(center: Point, rx: f64, ry: f64, width: f64, segments: usize) -> Self {
        let n = segments.max(3);
        let points = (0..n)
            .map(|i| {
                let a =
                    -std::f64::consts::FRAC_PI_2 + 2.0 * std::f64::consts::PI * i as f64 / n as f64;
                Point::new(center.x + rx * a.cos(), center.y + ry * a.sin())
            })
            .collect();
        LineTrack { points, width }
    }

    fn segments(&self) -> impl Iterator<Item = (Point, Point)> + '_ {
        let n = self.points.len();
        (0..n).map(move |i| (self.points[i], self.points[(i + 1) % n]))
    }

    /// Total length of the loop in meters.
    pub fn length(&self) -> f64 {
        self.segments().map(|(a, b)| a.distance(b)).sum()
    }

    /// Meters from `p` to the center line (infinite for an empty track).
    pub fn distance(&self, p: Point) -> f64 {
        self.project(p).map_or(f64::INFINITY, |pr| pr.distance)
    }

    /// The nearest point of the center line to `p`; `None` for an empty track.
    pub(crate) fn project(&self, p: Point) -> Option<Projection> {
        let mut best: Option<Projection> = None;
        let mut start = 0.0;
        for (a, b) in self.segments() {
            let ab = b - a;
            let len = ab.length();
            let t = if len > 1e-12 {
                ((p - a).dot(ab) / (len * len)).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let q = a + ab.scale(t);
            let distance = p.distance(q);
            if best.is_none_or(|b| distance < b.distance) {
                best = Some(Projection {
                    along: start + t * len,
                    distance,
                });
            }
            start += len;
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn square_track_length_and_projection() {
        let t = LineTrack {
            points: vec![
                Point::new(0.0, 0.0),
                Point::new(1.0, 0.0),
                Point::new(1.0, 1.0),
                Point::new(0.0, 1.0),
            ],
            width: 0.02,
        };
        assert!((t.length() - 4.0).abs() < 1e-9);
        let p = t.project(Point::new(1.1, 0.5)).unwrap();
        assert!((p.along - 1.5).abs() < 1e-9 && (p.distance - 0.1).abs() < 1e-9);
        let oval = LineTrack::oval(Point::new(2.0, 1.5), 1.0, 1.0, 0.02, 360);
        assert!((oval.length() - 2.0 * std::f64::consts::PI).abs() < 1e-3);
        assert!(oval.distance(Point::new(2.0, 0.5)) < 1e-9);
    }
}
