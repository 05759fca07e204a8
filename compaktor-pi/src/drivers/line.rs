//! Where a dark line is under a row of reflectance sensors (TCRT5000, QTR…), from their raw
//! readings. Pure arithmetic: read the sensors with an [`Adc`](crate::device::Adc) (or digital
//! pins mapped to 0 and 1) first.

/// The line's position under a row of evenly spaced sensors, from -1.0 (under the leftmost
/// sensor) to 1.0 (under the rightmost), or `None` when no sensor sees it.
///
/// `readings` go from left to right; darker means a higher value. Each sensor reading above
/// `threshold` pulls the position towards itself in proportion to `reading - threshold`
/// (a weighted centroid), so a line between two sensors lands between them. A single sensor
/// that sees the line gives 0.0.
///
/// # Examples
///
/// ```
/// use compaktor_pi::drivers::line_position;
///
/// // Five sensors, 10-bit ADC readings; the line is under the second one.
/// assert_eq!(line_position(&[80, 900, 90, 85, 70], 300), Some(-0.5));
/// // Halfway between the last two.
/// assert_eq!(line_position(&[80, 90, 90, 800, 800], 300), Some(0.75));
/// // Off the line.
/// assert_eq!(line_position(&[80, 90, 90, 85, 70], 300), None);
/// ```
pub fn line_position(readings: &[u16], threshold: u16) -> Option<f32> {
    let last = readings.len().checked_sub(1)?;
    // Sensor i sits at (2i - last) / last; sums stay in integers (exact in f64) and are divided
    // once at the end, so symmetric readings give exactly 0.0.
    let (mut weighted, mut total) = (0.0f64, 0.0f64);
    for (i, &reading) in readings.iter().enumerate() {
        let weight = f64::from(reading.saturating_sub(threshold));
        weighted += weight * (2.0 * i as f64 - last as f64);
        total += weight;
    }
    if total == 0.0 {
        return None;
    }
    let scale = total * last.max(1) as f64;
    // Narrowing to f32 is intended: the result is a position in -1.0..=1.0.
    Some((weighted / scale) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_each_sensor() {
        let t = 100;
        assert_eq!(line_position(&[500, 0, 0], t), Some(-1.0));
        assert_eq!(line_position(&[0, 500, 0], t), Some(0.0));
        assert_eq!(line_position(&[0, 0, 500], t), Some(1.0));
        assert_eq!(line_position(&[0, 0, 0, 0, 0, 0, 0, 1023], t), Some(1.0));
    }

    #[test]
    fn between_sensors_by_weight() {
        // equal weights: halfway
        assert_eq!(line_position(&[0, 600, 600, 0, 0], 100), Some(-0.25));
        // weights 300 and 100 above threshold: a quarter of the way from sensor 1 to sensor 2
        let p = line_position(&[0, 400, 200], 100).unwrap();
        assert!((p - 0.25).abs() < 1e-6, "{p}");
    }

    #[test]
    fn nothing_above_threshold_is_none() {
        assert_eq!(line_position(&[100, 100, 99], 100), None);
        assert_eq!(line_position(&[], 100), None);
        assert_eq!(line_position(&[0; 8], 0), None);
    }

    #[test]
    fn one_sensor_is_centred() {
        assert_eq!(line_position(&[900], 100), Some(0.0));
        assert_eq!(line_position(&[50], 100), None);
    }

    #[test]
    fn digital_sensors_work_with_threshold_zero() {
        assert_eq!(line_position(&[0, 1, 1, 0], 0), Some(0.0));
        assert_eq!(line_position(&[1, 1, 0, 0, 0], 0), Some(-0.75));
    }
}
