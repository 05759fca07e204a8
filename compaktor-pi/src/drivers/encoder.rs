//! Wheel encoders: counting a wheel's turns from the timestamped edges of its encoder's
//! channels. A quadrature encoder (two channels, A and B, a quarter period apart) gives four
//! counts per line and its own direction; a single-channel one (a slotted disc and one optical
//! sensor) gives two counts per line, and the direction comes from what the motor was told.
//!
//! The edges of two inputs arrive through two queues, so the order they are read in is not
//! always the order they happened in. The [`EncoderCounter`] keeps them until it is told that
//! every edge up to some instant has arrived ([`EncoderCounter::settle`]), then decodes them in
//! timestamp order. Written here rather than taken from a crate: the quadrature crates on
//! crates.io poll pin levels, and a poll loop misses edges a Pi's kernel stamps for us.

use std::time::Duration;

use crate::hal::{Edge, EdgeKind};

/// One of an encoder's two channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// Channel A (the only one of a single-channel encoder).
    A,
    /// Channel B.
    B,
}

/// Counts one wheel's encoder edges into a signed position, in counts.
///
/// # Examples
///
/// A quadrature encoder turning forward (A leads B), then one count back:
///
/// ```
/// use std::time::Duration;
///
/// use compaktor_pi::drivers::{Channel, EncoderCounter};
/// use compaktor_pi::hal::{Edge, EdgeKind};
///
/// let edge = |kind, ms| Edge { kind, at: Duration::from_millis(ms) };
/// let mut counter = EncoderCounter::quadrature();
/// // Read out of order: B's edge came through before A's.
/// counter.push(Channel::B, edge(EdgeKind::Rising, 2));
/// counter.push(Channel::A, edge(EdgeKind::Rising, 1));
/// counter.push(Channel::A, edge(EdgeKind::Falling, 3));
/// counter.push(Channel::A, edge(EdgeKind::Rising, 4));
/// counter.settle(Duration::from_millis(10));
/// assert_eq!(counter.count(), 2);
/// assert_eq!(counter.errors(), 0);
/// ```
#[derive(Debug, Clone)]
pub struct EncoderCounter {
    quadrature: bool,
    a: bool,
    b: bool,
    count: i64,
    /// Single channel: +1 forward, -1 backward.
    direction: i64,
    pending: Vec<(Channel, Edge)>,
    errors: u64,
}

impl EncoderCounter {
    /// A counter for a quadrature encoder, both channels low at start.
    pub fn quadrature() -> Self {
        EncoderCounter {
            quadrature: true,
            a: false,
            b: false,
            count: 0,
            direction: 1,
            pending: Vec::new(),
            errors: 0,
        }
    }

    /// A counter for a single-channel encoder: every edge of channel A is one count, in the
    /// direction last [set](EncoderCounter::set_direction) (forward at start).
    pub fn single_channel() -> Self {
        EncoderCounter {
            quadrature: false,
            ..EncoderCounter::quadrature()
        }
    }

    /// Starts from the channels' levels read at start-up.
    pub fn with_levels(mut self, a: bool, b: bool) -> Self {
        self.a = a;
        self.b = b;
        self
    }

    /// Whether this counter decodes two channels.
    pub fn is_quadrature(&self) -> bool {
        self.quadrature
    }

    /// Which way a single-channel encoder's wheel turns (from the motor command; ignored by a
    /// quadrature counter, which sees it).
    pub fn set_direction(&mut self, forward: bool) {
        self.direction = if forward { 1 } else { -1 };
    }

    /// An edge of `channel`, held until [`settle`](EncoderCounter::settle) says every edge
    /// before it has arrived.
    pub fn push(&mut self, channel: Channel, edge: Edge) {
        self.pending.push((channel, edge));
    }

    /// Every edge stamped before `until` has arrived: decodes them in time order.
    pub fn settle(&mut self, until: Duration) {
        self.pending.sort_by_key(|(_, edge)| edge.at);
        let ready = self.pending.partition_point(|(_, edge)| edge.at < until);
        let edges: Vec<(Channel, Edge)> = self.pending.drain(..ready).collect();
        for (channel, edge) in edges {
            self.decode(channel, edge.kind == EdgeKind::Rising);
        }
    }

    /// Decodes every edge held, whatever its time.
    pub fn settle_all(&mut self) {
        self.settle(Duration::MAX);
    }

    fn decode(&mut self, channel: Channel, high: bool) {
        if !self.quadrature {
            if channel == Channel::A && high != self.a {
                self.a = high;
                self.count += self.direction;
            }
            return;
        }
        let before = self.state();
        match channel {
            Channel::A => self.a = high,
            Channel::B => self.b = high,
        }
        let after = self.state();
        // Gray code forward: 00 -> 10 -> 11 -> 01 -> 00 (A, B), A leading.
        const FORWARD: [u8; 4] = [2, 0, 3, 1];
        if after == before {
            // The channel already had this level: an edge between was lost.
            self.errors += 1;
        } else if FORWARD[usize::from(before)] == after {
            self.count += 1;
        } else {
            // One channel changed, so this is the step back.
            self.count -= 1;
        }
    }

    fn state(&self) -> u8 {
        u8::from(self.a) << 1 | u8::from(self.b)
    }

    /// The position so far, in counts (positive forward).
    pub fn count(&self) -> i64 {
        self.count
    }

    /// Edges that repeated their channel's level: an edge between them was lost (noise, or
    /// edges faster than the input can stamp), and the count is off by it.
    pub fn errors(&self) -> u64 {
        self.errors
    }

    /// Edges held, not decoded yet.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }
}

/// Counts per wheel revolution: four per line for quadrature, two for one channel (both
/// edges counted).
pub fn counts_per_rev(lines: u32, quadrature: bool) -> f64 {
    f64::from(lines) * if quadrature { 4.0 } else { 2.0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(kind: EdgeKind, us: u64) -> Edge {
        Edge {
            kind,
            at: Duration::from_micros(us),
        }
    }

    /// The edges of `steps` quadrature counts from `(a, b) = (0, 0)`, forward or backward, one
    /// every 100 µs, as (channel, edge).
    fn quadrature_edges(steps: usize, forward: bool) -> Vec<(Channel, Edge)> {
        // Forward: A rises, B rises, A falls, B falls. Backward: B rises, A rises, B falls, A falls.
        let cycle = if forward {
            [Channel::A, Channel::B, Channel::A, Channel::B]
        } else {
            [Channel::B, Channel::A, Channel::B, Channel::A]
        };
        let mut levels = [false, false];
        (0..steps)
            .map(|i| {
                let channel = cycle[i % 4];
                let level = &mut levels[channel as usize];
                *level = !*level;
                let kind = if *level {
                    EdgeKind::Rising
                } else {
                    EdgeKind::Falling
                };
                (channel, edge(kind, 100 * (i as u64 + 1)))
            })
            .collect()
    }

    #[test]
    fn quadrature_counts_four_per_line_both_ways() {
        let mut counter = EncoderCounter::quadrature();
        for (channel, edge) in quadrature_edges(80, true) {
            counter.push(channel, edge);
        }
        counter.settle_all();
        assert_eq!((counter.count(), counter.errors()), (80, 0));
        let mut back = EncoderCounter::quadrature();
        for (channel, edge) in quadrature_edges(40, false) {
            back.push(channel, edge);
        }
        back.settle_all();
        assert_eq!((back.count(), back.errors()), (-40, 0));
    }

    #[test]
    fn edges_read_out_of_order_are_decoded_in_time_order() {
        let edges = quadrature_edges(40, true);
        // All of A's edges first, then all of B's: as two queues drained one after the other.
        let mut counter = EncoderCounter::quadrature();
        for (channel, edge) in edges.iter().filter(|(c, _)| *c == Channel::A) {
            counter.push(*channel, *edge);
        }
        for (channel, edge) in edges.iter().filter(|(c, _)| *c == Channel::B) {
            counter.push(*channel, *edge);
        }
        // Only what happened before 2 ms is decoded yet: 19 edges.
        counter.settle(Duration::from_micros(2_000));
        assert_eq!((counter.count(), counter.pending()), (19, 21));
        counter.settle_all();
        assert_eq!((counter.count(), counter.errors()), (40, 0));
    }

    #[test]
    fn a_lost_edge_is_counted_as_an_error() {
        let mut counter = EncoderCounter::quadrature();
        let mut edges = quadrature_edges(8, true);
        // A's first fall never arrives: its next rise repeats the level A had.
        edges.remove(2);
        for (channel, edge) in edges {
            counter.push(channel, edge);
        }
        counter.settle_all();
        assert_eq!(counter.errors(), 1);
    }

    #[test]
    fn single_channel_counts_both_edges_in_the_commanded_direction() {
        let mut counter = EncoderCounter::single_channel();
        let kinds = [EdgeKind::Rising, EdgeKind::Falling];
        for i in 0..10 {
            counter.push(Channel::A, edge(kinds[i % 2], 100 * i as u64 + 100));
        }
        counter.settle_all();
        assert_eq!(counter.count(), 10);
        counter.set_direction(false);
        for i in 10..14 {
            counter.push(Channel::A, edge(kinds[i % 2], 100 * i as u64 + 100));
        }
        counter.settle_all();
        assert_eq!(counter.count(), 6);
        assert_eq!(counts_per_rev(20, false), 40.0);
        assert_eq!(counts_per_rev(20, true), 80.0);
    }
}
