//! Drawing a run as SVG: the arena and its walls, obstacles, the line track, the path coloured
//! from blue (start) to red (now), start and end poses, collisions as red crosses, odometry's
//! path, where the robot turned in place, where the firmware changed modes, the closest
//! approach, axes in metres, and a title and legend with the stats. Plain string building, no
//! dependencies; with the feature `png`, the same picture as PNG, rendered by resvg.

use std::fmt::Write as _;
use std::path::Path;

use super::geometry::{Obstacle, Point, Pose};
use super::world::{PathPoint, World};

/// Pixels per meter.
const SCALE: f64 = 200.0;
/// Blank border around the arena, px.
const MARGIN: f64 = 20.0;
/// Title band above the arena, px.
const HEADER: f64 = 30.0;
/// Legend band below the arena, px.
const FOOTER: f64 = 92.0;
/// One colour per mode, in the order the modes first appear.
const MODE_COLOURS: [&str; 8] = [
    "#2e7d32", "#ef6c00", "#0277bd", "#6a1b9a", "#c2185b", "#5d4037", "#00838f", "#455a64",
];
/// The path is drawn in this many coloured pieces.
const PIECES: usize = 24;

/// Arena meters to SVG pixels (y flipped: up in the arena is up on the screen).
struct Canvas {
    height: f64,
}

impl Canvas {
    fn x(&self, x: f64) -> f64 {
        MARGIN + x * SCALE
    }

    fn y(&self, y: f64) -> f64 {
        HEADER + (self.height - y) * SCALE
    }

    fn point(&self, p: Point) -> String {
        format!("{:.1},{:.1}", self.x(p.x), self.y(p.y))
    }
}

/// Blue → green → red as `t` goes 0 → 1.
fn gradient(t: f64) -> String {
    let hue = 240.0 * (1.0 - t.clamp(0.0, 1.0));
    format!("hsl({hue:.0},80%,45%)")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl World {
    /// The run so far as a standalone SVG document (opens in any browser).
    pub fn to_svg(&self) -> String {
        let config = self.config();
        let snapshot = self.snapshot();
        let mut path = self.path();
        if path.last().is_none_or(|p| p.pose != snapshot.pose) {
            path.push(PathPoint {
                time: snapshot.time,
                pose: snapshot.pose,
                turning: false,
            });
        }
        let collisions = self.collision_points();
        let c = Canvas {
            height: config.height,
        };
        let (w, h) = (config.width * SCALE, config.height * SCALE);
        let (width, height) = (w + 2.0 * MARGIN, h + HEADER + FOOTER + MARGIN);
        let mut svg = String::new();
        let mut put = |s: String| svg.push_str(&s);
        put(format!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="sans-serif" font-size="13">"#
        ));
        put("\n<title>CompAktor simulation</title>\n".into());
        put(format!(
            r#"<rect x="0" y="0" width="{width:.0}" height="{height:.0}" fill="white"/>"#
        ));
        put(format!(
            "\n<text x=\"{MARGIN}\" y=\"20\" font-size=\"16\" font-weight=\"bold\">CompAktor simulation: {:.1} × {:.1} m, seed {}</text>\n",
            config.width, config.height, config.seed
        ));

        // Floor, a 0.5 m grid, walls.
        put(format!(
            r##"<rect x="{MARGIN}" y="{HEADER}" width="{w:.1}" height="{h:.1}" fill="#f7f5ef"/>"##
        ));
        put("\n<g stroke=\"#e2ded3\" stroke-width=\"1\">".into());
        for i in 1..(config.width / 0.5).ceil() as usize {
            let x = c.x(i as f64 * 0.5);
            put(format!(
                r#"<line x1="{x:.1}" y1="{HEADER}" x2="{x:.1}" y2="{:.1}"/>"#,
                HEADER + h
            ));
        }
        for i in 1..(config.height / 0.5).ceil() as usize {
            let y = c.y(i as f64 * 0.5);
            put(format!(
                r#"<line x1="{MARGIN}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}"/>"#,
                MARGIN + w
            ));
        }
        put("</g>\n".into());
        put(format!(
            r##"<rect class="walls" x="{MARGIN}" y="{HEADER}" width="{w:.1}" height="{h:.1}" fill="none" stroke="#333" stroke-width="4"/>"##
        ));
        put("\n".into());

        if let Some(track) = &config.track {
            let points: Vec<String> = track.points.iter().map(|&p| c.point(p)).collect();
            put(format!(
                r##"<polygon class="track" points="{}" fill="none" stroke="#111" stroke-width="{:.1}" stroke-linejoin="round"/>"##,
                points.join(" "),
                (track.width * SCALE).max(1.0)
            ));
            put("\n".into());
        }

        put(
            "<g class=\"obstacles\" fill=\"#8d8d8d\" stroke=\"#555\" stroke-width=\"1.5\">\n"
                .into(),
        );
        for o in &config.obstacles {
            match *o {
                Obstacle::Circle { center, radius } => put(format!(
                    r#"<circle cx="{:.1}" cy="{:.1}" r="{:.1}"/>"#,
                    c.x(center.x),
                    c.y(center.y),
                    radius * SCALE
                )),
                Obstacle::Rect { min, max } => put(format!(
                    r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}"/>"#,
                    c.x(min.x),
                    c.y(max.y),
                    (max.x - min.x) * SCALE,
                    (max.y - min.y) * SCALE
                )),
            }
            put("\n".into());
        }
        put("</g>\n".into());

        // The path, in pieces coloured by time; neighbouring pieces share an end point.
        put("<g class=\"path\" fill=\"none\" stroke-width=\"2.5\" stroke-linecap=\"round\" stroke-linejoin=\"round\">\n".into());
        let per_piece = path.len().div_ceil(PIECES).max(1);
        let mut start = 0;
        while start + 1 < path.len() {
            let end = (start + per_piece).min(path.len() - 1);
            let points: Vec<String> = path[start..=end]
                .iter()
                .map(|p| c.point(p.pose.position()))
                .collect();
            let t = start as f64 / (path.len() - 1) as f64;
            put(format!(
                r#"<polyline points="{}" stroke="{}"/>"#,
                points.join(" "),
                gradient(t)
            ));
            put("\n".into());
            start = end;
        }
        put("</g>\n".into());

        // Where the robot thought it was.
        let estimates = self.estimates();
        if estimates.len() > 1 {
            let points: Vec<String> = estimates.iter().map(|&p| c.point(p)).collect();
            put(format!(
                r##"<polyline class="estimate" points="{}" fill="none" stroke="#1565c0" stroke-width="1.5" stroke-dasharray="5 4"/>"##,
                points.join(" ")
            ));
            put("\n".into());
        }

        // Where it turned in place.
        put("<g class=\"turn-in-place\" fill=\"#ef6c00\" fill-opacity=\"0.6\">\n".into());
        for p in path.iter().filter(|p| p.turning) {
            let at = p.pose.position();
            put(format!(
                r#"<circle cx="{:.1}" cy="{:.1}" r="4"/>"#,
                c.x(at.x),
                c.y(at.y)
            ));
        }
        put("</g>\n".into());

        // Where the firmware changed what it was doing: one colour per mode.
        let modes = self.modes();
        let mut names: Vec<&str> = Vec::new();
        for mark in &modes {
            if !names.contains(&mark.mode.as_str()) {
                names.push(&mark.mode);
            }
        }
        let colour = |mode: &str| {
            let i = names.iter().position(|m| *m == mode).unwrap_or(0);
            MODE_COLOURS[i % MODE_COLOURS.len()]
        };
        put("<g class=\"modes\" stroke=\"white\" stroke-width=\"0.8\">\n".into());
        for mark in &modes {
            let mode = escape(&mark.mode);
            put(format!(
                r#"<rect data-mode="{mode}" x="{:.1}" y="{:.1}" width="7" height="7" fill="{}"><title>{mode} from {:.2} s</title></rect>"#,
                c.x(mark.at.x) - 3.5,
                c.y(mark.at.y) - 3.5,
                colour(&mark.mode),
                mark.time.as_secs_f64()
            ));
            put("\n".into());
        }
        put("</g>\n".into());

        // The closest approach to a wall or an obstacle.
        let stats = &snapshot.stats;
        if stats.closest_approach.is_finite() {
            let at = stats.closest_approach_at;
            put(format!(
                r##"<g class="closest"><circle cx="{:.1}" cy="{:.1}" r="{:.1}" fill="none" stroke="#6a1b9a" stroke-width="2" stroke-dasharray="4 3"/><text x="{:.1}" y="{:.1}" fill="#6a1b9a">{:.2} m</text></g>"##,
                c.x(at.x),
                c.y(at.y),
                config.robot.body_radius * SCALE + 4.0,
                c.x(at.x) + config.robot.body_radius * SCALE + 6.0,
                c.y(at.y),
                stats.closest_approach
            ));
            put("\n".into());
        }

        // Axes in metres along the bottom and left walls.
        put("<g class=\"axes\" fill=\"#555\" font-size=\"11\">".into());
        for i in 0..=config.width.floor() as usize {
            put(format!(
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{i} m</text>"#,
                c.x(i as f64),
                HEADER + h + 12.0
            ));
        }
        for i in 1..=config.height.floor() as usize {
            put(format!(
                r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{i} m</text>"#,
                MARGIN - 3.0,
                c.y(i as f64) + 4.0
            ));
        }
        put("</g>\n".into());

        let radius = config.robot.body_radius;
        put(robot(&c, config.start, radius, "#2e7d32", "start"));
        put(robot(&c, snapshot.pose, radius, "#c62828", "end"));

        put("<g class=\"collisions\" stroke=\"red\" stroke-width=\"2.5\">\n".into());
        for p in &collisions {
            let (x, y) = (c.x(p.x), c.y(p.y));
            put(format!(
                r#"<path d="M{:.1},{:.1} L{:.1},{:.1} M{:.1},{:.1} L{:.1},{:.1}"/>"#,
                x - 6.0,
                y - 6.0,
                x + 6.0,
                y + 6.0,
                x - 6.0,
                y + 6.0,
                x + 6.0,
                y - 6.0
            ));
            put("\n".into());
        }
        put("</g>\n".into());

        let s = &snapshot.stats;
        let mut line1 = format!(
            "time {:.1} s · distance {:.2} m · collisions {} · farthest from start {:.2} m · cells {} ({:.0}%)",
            s.time.as_secs_f64(),
            s.distance,
            s.collisions,
            s.max_distance_from_start,
            s.cells_visited,
            s.coverage * 100.0
        );
        let _ = write!(
            line1,
            " · turning in place {:.1} s",
            s.turning_in_place.as_secs_f64()
        );
        if s.closest_approach.is_finite() {
            let _ = write!(line1, " · closest approach {:.2} m", s.closest_approach);
        }
        if config.track.is_some() {
            let _ = write!(
                line1,
                " · laps {} ({:.2}) · off the line {:.1} s",
                s.laps,
                s.track_progress,
                s.off_line_time.as_secs_f64()
            );
        }
        let legend_y = HEADER + h + 25.0;
        put(format!(
            "<text class=\"stats\" x=\"{MARGIN}\" y=\"{legend_y:.0}\">{}</text>\n",
            escape(&line1)
        ));
        put(format!(
            r##"<text x="{MARGIN}" y="{:.0}" fill="#555">path: <tspan fill="{}">■ start</tspan> → <tspan fill="{}">■ now</tspan> · <tspan fill="#2e7d32">○ start pose</tspan> · <tspan fill="#c62828">○ end pose</tspan> · <tspan fill="red">✕ collision</tspan> · <tspan fill="#1565c0">- - odometry</tspan> · <tspan fill="#ef6c00">● turning in place</tspan> · <tspan fill="#6a1b9a">◌ closest approach</tspan> · grid 0.5 m</text>"##,
            legend_y + 22.0,
            gradient(0.0),
            gradient(1.0)
        ));
        if !names.is_empty() {
            let legend: Vec<String> = names
                .iter()
                .map(|m| format!(r#"<tspan fill="{}">■ {}</tspan>"#, colour(m), escape(m)))
                .collect();
            svg.push_str(&format!(
                "\n<text class=\"mode-legend\" x=\"{MARGIN}\" y=\"{:.0}\" fill=\"#555\">modes (where each began): {}</text>",
                legend_y + 44.0,
                legend.join(" · ")
            ));
        }
        svg.push_str("\n</svg>\n");
        svg
    }

    /// Writes [`World::to_svg`] to `path`.
    ///
    /// # Errors
    ///
    /// Whatever writing the file fails with.
    pub fn save_svg(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        std::fs::write(path, self.to_svg())
    }

    /// [`World::to_svg`] rendered to a PNG image (feature `png`, by resvg), pixel for pixel the
    /// SVG's size, for viewers that show no SVG. Text is set in the system's sans-serif font
    /// (fontconfig's choice); on a system without fonts the picture has no text.
    ///
    /// # Errors
    ///
    /// [`PngError`] if the SVG cannot be rendered or the PNG encoded.
    #[cfg(feature = "png")]
    pub fn to_png(&self) -> Result<Vec<u8>, PngError> {
        use resvg::{tiny_skia, usvg};

        let mut options = usvg::Options::default();
        let fonts = options.fontdb_mut();
        fonts.load_system_fonts();
        // fontdb's `sans-serif` is Arial; a Linux system seldom has it: then a sans font it has.
        let sans = usvg::fontdb::Query {
            families: &[usvg::fontdb::Family::SansSerif],
            ..Default::default()
        };
        if fonts.query(&sans).is_none() {
            let families: Vec<&str> = fonts
                .faces()
                .flat_map(|face| face.families.iter().map(|(name, _)| name.as_str()))
                .collect();
            let choice = ["DejaVu Sans", "Liberation Sans", "Noto Sans", "FreeSans"]
                .into_iter()
                .find(|f| families.contains(f))
                .or_else(|| {
                    families
                        .iter()
                        .copied()
                        .find(|f| f.contains("Sans") && !f.contains("Mono"))
                })
                .or_else(|| families.first().copied())
                .map(str::to_owned);
            if let Some(family) = choice {
                fonts.set_sans_serif_family(family);
            }
        }
        let tree = usvg::Tree::from_str(&self.to_svg(), &options)
            .map_err(|e| PngError::Svg(e.to_string()))?;
        let size = tree.size().to_int_size();
        let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height())
            .ok_or(PngError::Size(size.width(), size.height()))?;
        resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
        pixmap
            .encode_png()
            .map_err(|e| PngError::Encode(e.to_string()))
    }

    /// Writes [`World::to_png`] to `path` (feature `png`).
    ///
    /// # Errors
    ///
    /// [`PngError`] if rendering or writing the file fails.
    #[cfg(feature = "png")]
    pub fn save_png(&self, path: impl AsRef<Path>) -> Result<(), PngError> {
        std::fs::write(path, self.to_png()?).map_err(PngError::Write)
    }
}

/// Why the path picture could not be made a PNG ([`World::to_png`]).
#[cfg(feature = "png")]
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PngError {
    /// resvg could not read the SVG.
    #[error("cannot render the path picture: {0}")]
    Svg(String),
    /// The picture's size is no image size.
    #[error("cannot make a {0} × {1} px image of the path picture")]
    Size(u32, u32),
    /// The PNG could not be encoded.
    #[error("cannot encode the path picture as PNG: {0}")]
    Encode(String),
    /// The file could not be written.
    #[error("cannot write the path picture's PNG: {0}")]
    Write(#[source] std::io::Error),
}

/// The robot's body with a heading tick.
fn robot(c: &Canvas, pose: Pose, radius: f64, colour: &str, class: &str) -> String {
    let nose = pose.to_world(Point::new(radius, 0.0));
    format!(
        "<g class=\"{class}\" stroke=\"{colour}\" stroke-width=\"2\" fill=\"none\"><circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{:.1}\"/><line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/></g>\n",
        c.x(pose.x),
        c.y(pose.y),
        radius * SCALE,
        c.x(pose.x),
        c.y(pose.y),
        c.x(nose.x),
        c.y(nose.y)
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use embedded_hal::digital::OutputPin;
    use embedded_hal::pwm::SetDutyCycle;

    use super::*;
    use crate::sim::{Side, WorldConfig};

    /// Checks that every `<tag>` is closed in order, `<tag/>` and `<?...?>` aside.
    fn assert_balanced(svg: &str) {
        let mut open: Vec<&str> = Vec::new();
        let mut rest = svg;
        while let Some(start) = rest.find('<') {
            let end = start + rest[start..].find('>').expect("unclosed <");
            let tag = &rest[start + 1..end];
            rest = &rest[end + 1..];
            if tag.ends_with('/') || tag.starts_with('?') || tag.starts_with('!') {
                continue;
            }
            let name = |t: &str| t.split_whitespace().next().unwrap_or("").to_owned();
            if let Some(closing) = tag.strip_prefix('/') {
                let top = open.pop().expect("closing tag without an opening one");
                assert_eq!(name(top), closing, "mismatched tags");
            } else {
                open.push(tag);
            }
        }
        assert!(open.is_empty(), "unclosed: {open:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn svg_shows_the_path_and_the_collisions() {
        let mut config = WorldConfig::arena(3);
        config.obstacles.clear();
        config.start.heading = 0.5;
        let world = World::new(config);
        let _physics = world.start();
        for (side, percent) in [(Side::Left, 60), (Side::Right, 57)] {
            let mut motor = world.motor_pins(side);
            motor.in1.set_high().unwrap();
            motor.enable.set_duty_cycle_percent(percent).unwrap();
        }
        tokio::time::sleep(Duration::from_secs(10)).await;
        let svg = world.to_svg();
        if let Ok(path) = std::env::var("SIM_SVG_DUMP") {
            std::fs::write(path, &svg).unwrap();
        }
        assert!(svg.starts_with("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_balanced(&svg);
        assert!(svg.matches("<polyline").count() >= 10, "{svg}");
        let first = world.path()[0].pose.position();
        let canvas = Canvas { height: 3.0 };
        assert!(svg.contains(&canvas.point(first)));
        assert!(svg.contains("class=\"start\"") && svg.contains("class=\"end\""));
        assert!(world.snapshot().stats.collisions >= 1);
        assert!(svg.contains("<path d=\"M"), "collision marks");
        assert!(svg.contains("collisions"));

        let file = std::env::temp_dir().join(format!("compaktor-sim-{}.svg", std::process::id()));
        world.save_svg(&file).unwrap();
        assert_eq!(std::fs::read_to_string(&file).unwrap(), world.to_svg());
        std::fs::remove_file(file).unwrap();
    }

    /// The PNG beside the SVG: a PNG of the SVG's size, decoded by tiny-skia, with the path's
    /// colours in its pixels and text on it.
    #[cfg(feature = "png")]
    #[tokio::test(start_paused = true)]
    async fn png_is_the_svg_rendered_with_the_path_in_it() {
        let mut config = WorldConfig::arena(3);
        config.obstacles.clear();
        let (w, h) = (config.width, config.height);
        let world = World::new(config);
        let _physics = world.start();
        for side in [Side::Left, Side::Right] {
            let mut motor = world.motor_pins(side);
            motor.in1.set_high().unwrap();
            motor.enable.set_duty_cycle_percent(60).unwrap();
        }
        tokio::time::sleep(Duration::from_secs(10)).await;

        let file = std::env::temp_dir().join(format!("compaktor-sim-{}.png", std::process::id()));
        world.save_png(&file).unwrap();
        let png = std::fs::read(&file).unwrap();
        std::fs::remove_file(file).unwrap();
        if let Ok(path) = std::env::var("SIM_PNG_DUMP") {
            std::fs::write(path, &png).unwrap();
        }
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "the PNG signature");
        assert_eq!(&png[12..16], b"IHDR");
        let be = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
        let (width, height) = (be(16), be(20));
        let expected = (
            (w * SCALE + 2.0 * MARGIN).round() as u32,
            (h * SCALE + HEADER + FOOTER + MARGIN).round() as u32,
        );
        assert_eq!((width, height), expected);

        let image = resvg::tiny_skia::Pixmap::decode_png(&png).unwrap();
        assert_eq!((image.width(), image.height()), expected);
        // The path's colours (`gradient`: `hsl(HUE,80%,45%)`) have one channel at 23 and one at
        // 207, whatever the hue; nothing else in the picture is drawn in such a colour.
        let path = image
            .pixels()
            .iter()
            .filter(|p| {
                let rgb = [p.red(), p.green(), p.blue()];
                let (min, max) = (*rgb.iter().min().unwrap(), *rgb.iter().max().unwrap());
                p.alpha() == 255 && min.abs_diff(23) <= 2 && max.abs_diff(207) <= 2
            })
            .count();
        // 10 s of driving, a 2.5 px line: hundreds of pixels.
        assert!(path >= 300, "{path} pixels of the path's colours");
        let white = image
            .pixels()
            .iter()
            .filter(|p| [p.red(), p.green(), p.blue()] == [255; 3])
            .count();
        assert!(white > 0 && white < image.pixels().len(), "not blank");
        // The title, in the band above the arena: dark text on white.
        let title = image.pixels()[..(HEADER as usize - 2) * width as usize]
            .iter()
            .filter(|p| p.red() < 100 && p.green() < 100 && p.blue() < 100)
            .count();
        assert!(
            title >= 100,
            "{title} dark pixels in the title band: no text"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn svg_marks_turns_in_place_the_closest_approach_and_metres() {
        let mut config = WorldConfig::empty(3.0, 2.0);
        config.start = Pose::new(1.0, 1.0, 0.0);
        let world = World::new(config);
        let _physics = world.start();
        let mut left = world.motor_pins(Side::Left);
        let mut right = world.motor_pins(Side::Right);
        // Spin in place for a second, then drive towards the east wall and stop short of it.
        left.in2.set_high().unwrap();
        right.in1.set_high().unwrap();
        left.enable.set_duty_cycle_percent(60).unwrap();
        right.enable.set_duty_cycle_percent(60).unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        left.enable.set_duty_cycle_percent(0).unwrap();
        right.enable.set_duty_cycle_percent(0).unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        let stats = world.snapshot().stats;
        assert!(
            stats.turning_in_place > Duration::from_millis(800),
            "{stats:?}"
        );
        let turning = world.path().iter().filter(|p| p.turning).count();
        assert!(
            (16..=24).contains(&turning),
            "{turning} path points turning"
        );
        let svg = world.to_svg();
        assert_balanced(&svg);
        let marks = svg.split("class=\"turn-in-place\"").nth(1).unwrap();
        let marks = &marks[..marks.find("</g>").unwrap()];
        assert_eq!(marks.matches("<circle").count(), turning);
        // Nearest: the south and north walls, 0.9 m from the body.
        assert!((stats.closest_approach - 0.9).abs() < 0.01, "{stats:?}");
        assert!(svg.contains("class=\"closest\"") && svg.contains(">0.90 m</text>"));
        assert!(svg.contains("closest approach 0.90 m") && svg.contains("turning in place 1."));
        for label in [">0 m<", ">3 m<", ">2 m<"] {
            assert!(svg.contains(label), "axis label {label}");
        }
        // Odometry's path beside the true one, once firmware reports it.
        assert!(!svg.contains("class=\"estimate\""));
        world.record_estimate(Point::new(1.0, 1.0));
        world.record_estimate(Point::new(1.5, 1.25));
        let svg = world.to_svg();
        let canvas = Canvas { height: 2.0 };
        let line = format!(
            "class=\"estimate\" points=\"{} {}\"",
            canvas.point(Point::new(1.0, 1.0)),
            canvas.point(Point::new(1.5, 1.25))
        );
        assert!(svg.contains(&line), "{svg}");
    }

    #[tokio::test(start_paused = true)]
    async fn svg_marks_where_each_mode_began_one_colour_per_mode() {
        let mut config = WorldConfig::empty(3.0, 2.0);
        config.start = Pose::new(0.5, 1.0, 0.0);
        let world = World::new(config);
        let _physics = world.start();
        assert!(!world.to_svg().contains("mode-legend"));
        let mut left = world.motor_pins(Side::Left);
        let mut right = world.motor_pins(Side::Right);
        left.in1.set_high().unwrap();
        right.in1.set_high().unwrap();
        for mode in ["cruise", "cruise", "turn", "cruise", "back"] {
            world.record_mode(mode);
            left.enable.set_duty_cycle_percent(60).unwrap();
            right.enable.set_duty_cycle_percent(60).unwrap();
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let marks = world.modes();
        let names: Vec<&str> = marks.iter().map(|m| m.mode.as_str()).collect();
        assert_eq!(
            names,
            ["cruise", "turn", "cruise", "back"],
            "repeats are not changes"
        );
        assert!(marks[1].at.x > marks[0].at.x + 0.2, "{marks:?}");

        let svg = world.to_svg();
        assert_balanced(&svg);
        let group = svg.split("class=\"modes\"").nth(1).unwrap();
        let group = &group[..group.find("</g>").unwrap()];
        let rects: Vec<&str> = group.split("<rect ").skip(1).collect();
        assert_eq!(rects.len(), 4);
        let canvas = Canvas { height: 2.0 };
        let attr = |rect: &str, name: &str| -> String {
            let from = rect.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
            rect[from..from + rect[from..].find('"').unwrap()].to_owned()
        };
        for (rect, mark) in rects.iter().zip(&marks) {
            assert_eq!(attr(rect, "data-mode"), mark.mode);
            let x: f64 = attr(rect, "x").parse().unwrap();
            assert!((x + 3.5 - canvas.x(mark.at.x)).abs() < 0.1, "{rect}");
        }
        // One colour per mode: both cruises alike, the others different.
        let fills: Vec<String> = rects.iter().map(|r| attr(r, "fill")).collect();
        assert_eq!(fills[0], fills[2]);
        assert!(fills[0] != fills[1] && fills[1] != fills[3] && fills[0] != fills[3]);
        let legend = svg.split("class=\"mode-legend\"").nth(1).unwrap();
        for (name, fill) in [
            ("cruise", &fills[0]),
            ("turn", &fills[1]),
            ("back", &fills[3]),
        ] {
            assert!(
                legend.contains(&format!("fill=\"{fill}\">■ {name}<")),
                "{legend}"
            );
        }
    }

    #[test]
    fn svg_of_a_line_track_draws_the_track() {
        let world = World::new(WorldConfig::line_track(0));
        let svg = world.to_svg();
        assert_balanced(&svg);
        assert!(svg.contains("class=\"track\""));
        assert!(svg.contains("laps 0"));
    }
}
