//! Plane geometry for the simulated world: points, poses, obstacles and the arena walls, with the
//! two questions the physics and the sensors ask of them — "how far is this point from the
//! surface, and which way is out?" and "where does this ray hit?". No state, no time.

use std::f64::consts::PI;

use serde::{Deserialize, Serialize};

/// A point (or vector) in the arena, in meters. The origin is the bottom-left corner, x grows to
/// the right and y grows up.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Point {
    /// Meters from the left wall.
    pub x: f64,
    /// Meters from the bottom wall.
    pub y: f64,
}

impl Point {
    /// A point at `(x, y)`.
    pub const fn new(x: f64, y: f64) -> Self {
        Point { x, y }
    }

    /// The unit vector at `angle` radians (counter-clockwise from +x).
    pub fn from_angle(angle: f64) -> Self {
        Point::new(angle.cos(), angle.sin())
    }

    /// Euclidean length of the vector.
    pub fn length(self) -> f64 {
        self.x.hypot(self.y)
    }

    /// Distance to `other`.
    pub fn distance(self, other: Point) -> f64 {
        (self - other).length()
    }

    /// Dot product.
    pub fn dot(self, other: Point) -> f64 {
        self.x * other.x + self.y * other.y
    }

    /// The vector times `k`.
    pub fn scale(self, k: f64) -> Point {
        Point::new(self.x * k, self.y * k)
    }
}

impl std::ops::Add for Point {
    type Output = Point;
    fn add(self, o: Point) -> Point {
        Point::new(self.x + o.x, self.y + o.y)
    }
}

impl std::ops::Sub for Point {
    type Output = Point;
    fn sub(self, o: Point) -> Point {
        Point::new(self.x - o.x, self.y - o.y)
    }
}

/// Where the robot is and which way it faces.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Pose {
    /// Meters from the left wall (center of the body, midway between the wheels).
    pub x: f64,
    /// Meters from the bottom wall.
    pub y: f64,
    /// Radians counter-clockwise from +x, in `(-π, π]`.
    pub heading: f64,
}

impl Pose {
    /// A pose at `(x, y)` facing `heading` radians.
    pub const fn new(x: f64, y: f64, heading: f64) -> Self {
        Pose { x, y, heading }
    }

    /// The position, without the heading.
    pub fn position(self) -> Point {
        Point::new(self.x, self.y)
    }

    /// Turns a point in the robot's frame (x forward, y left) into arena coordinates.
    pub fn to_world(self, local: Point) -> Point {
        let (s, c) = self.heading.sin_cos();
        Point::new(
            self.x + c * local.x - s * local.y,
            self.y + s * local.x + c * local.y,
        )
    }
}

/// Wraps an angle into `(-π, π]`.
pub(crate) fn wrap_angle(a: f64) -> f64 {
    let mut a = a.rem_euclid(2.0 * PI);
    if a > PI {
        a -= 2.0 * PI;
    }
    a
}

/// Something solid standing in the arena.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Obstacle {
    /// A round post or bin.
    Circle {
        /// Center of the circle.
        center: Point,
        /// Radius in meters.
        radius: f64,
    },
    /// An axis-aligned box (a crate, a book).
    Rect {
        /// Bottom-left corner.
        min: Point,
        /// Top-right corner.
        max: Point,
    },
}

/// The nearest surface to a point: signed distance (negative inside) and the outward normal.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Surface {
    pub(crate) distance: f64,
    pub(crate) normal: Point,
}

impl Obstacle {
    /// Signed distance from `p` to the obstacle's surface and the normal pointing away from it.
    pub(crate) fn surface(&self, p: Point) -> Surface {
        match *self {
            Obstacle::Circle { center, radius } => {
                let d = p - center;
                let len = d.length();
                let normal = if len > 1e-12 {
                    d.scale(1.0 / len)
                } else {
                    Point::new(1.0, 0.0)
                };
                Surface {
                    distance: len - radius,
                    normal,
                }
            }
            Obstacle::Rect { min, max } => {
                let q = Point::new(p.x.clamp(min.x, max.x), p.y.clamp(min.y, max.y));
                let d = p - q;
                let len = d.length();
                if len > 1e-12 {
                    return Surface {
                        distance: len,
                        normal: d.scale(1.0 / len),
                    };
                }
                // Inside: leave through the nearest face.
                let faces = [
                    (p.x - min.x, Point::new(-1.0, 0.0)),
                    (max.x - p.x, Point::new(1.0, 0.0)),
                    (p.y - min.y, Point::new(0.0, -1.0)),
                    (max.y - p.y, Point::new(0.0, 1.0)),
                ];
                let (depth, normal) = faces
                    .into_iter()
                    .min_by(|a, b| a.0.total_cmp(&b.0))
                    .unwrap_or((0.0, Point::new(1.0, 0.0)));
                Surface {
                    distance: -depth,
                    normal,
                }
            }
        }
    }

    /// Distance along the unit ray `origin + t·dir` to the obstacle, `Some(0.0)` from inside.
    pub(crate) fn ray_hit(&self, origin: Point, dir: Point) -> Option<f64> {
        match *self {
            Obstacle::Circle { center, radius } => {
                let oc = origin - center;
                let c = oc.dot(oc) - radius * radius;
                if c <= 0.0 {
                    return Some(0.0);
                }
                let b = oc.dot(dir);
                let disc = b * b - c;
                if b >= 0.0 || disc < 0.0 {
                    return None;
                }
                Some(-b - disc.sqrt())
            }
            Obstacle::Rect { min, max } => {
                let mut t_near = f64::NEG_INFINITY;
                let mut t_far = f64::INFINITY;
                for (o, d, lo, hi) in [
                    (origin.x, dir.x, min.x, max.x),
                    (origin.y, dir.y, min.y, max.y),
                ] {
                    if d.abs() < 1e-12 {
                        if o < lo || o > hi {
                            return None;
                        }
                    } else {
                        let (t1, t2) = ((lo - o) / d, (hi - o) / d);
                        t_near = t_near.max(t1.min(t2));
                        t_far = t_far.min(t1.max(t2));
                    }
                }
                if t_near > t_far || t_far < 0.0 {
                    None
                } else {
                    Some(t_near.max(0.0))
                }
            }
        }
    }

    /// Whether a circle at `center` with `radius` overlaps the obstacle.
    pub fn overlaps_circle(&self, center: Point, radius: f64) -> bool {
        self.surface(center).distance < radius
    }
}

/// The four walls around a `width` × `height` arena, seen from `p` inside it.
pub(crate) fn walls(width: f64, height: f64, p: Point) -> [Surface; 4] {
    [
        (p.x, Point::new(1.0, 0.0)),
        (width - p.x, Point::new(-1.0, 0.0)),
        (p.y, Point::new(0.0, 1.0)),
        (height - p.y, Point::new(0.0, -1.0)),
    ]
    .map(|(distance, normal)| Surface { distance, normal })
}

/// Distance along the unit ray from `origin` (inside the arena) to the wall it hits.
pub(crate) fn wall_hit(width: f64, height: f64, origin: Point, dir: Point) -> f64 {
    let along = |o: f64, d: f64, size: f64| {
        if d > 1e-12 {
            (size - o) / d
        } else if d < -1e-12 {
            -o / d
        } else {
            f64::INFINITY
        }
    };
    along(origin.x, dir.x, width)
        .min(along(origin.y, dir.y, height))
        .max(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rays_hit_circles_boxes_and_walls() {
        let c = Obstacle::Circle {
            center: Point::new(2.0, 0.0),
            radius: 0.5,
        };
        let hit = c.ray_hit(Point::new(0.0, 0.0), Point::new(1.0, 0.0));
        assert!((hit.unwrap() - 1.5).abs() < 1e-9);
        assert_eq!(c.ray_hit(Point::new(0.0, 0.0), Point::new(-1.0, 0.0)), None);

        let r = Obstacle::Rect {
            min: Point::new(1.0, -1.0),
            max: Point::new(2.0, 1.0),
        };
        let hit = r.ray_hit(Point::new(0.0, 0.0), Point::new(1.0, 0.0));
        assert!((hit.unwrap() - 1.0).abs() < 1e-9);
        assert_eq!(r.ray_hit(Point::new(0.0, 2.0), Point::new(1.0, 0.0)), None);

        let d = wall_hit(4.0, 3.0, Point::new(1.0, 1.0), Point::new(0.0, 1.0));
        assert!((d - 2.0).abs() < 1e-9);
    }

    #[test]
    fn surfaces_point_outwards() {
        let r = Obstacle::Rect {
            min: Point::new(0.0, 0.0),
            max: Point::new(1.0, 1.0),
        };
        let s = r.surface(Point::new(1.5, 0.5));
        assert!((s.distance - 0.5).abs() < 1e-9 && s.normal.x > 0.99);
        let inside = r.surface(Point::new(0.9, 0.5));
        assert!(inside.distance < 0.0 && inside.normal.x > 0.99);
        let w = walls(4.0, 3.0, Point::new(3.9, 1.0))[1];
        assert!((w.distance - 0.1).abs() < 1e-9 && w.normal.x < -0.99);
        assert!((wrap_angle(3.0 * PI) - PI).abs() < 1e-9);
    }
}
