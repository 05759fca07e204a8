//! The patrol example, run as a test: on the realistic simulated rover it closes its 1 m square
//! where odometry believes it did, and truly within what the slip of its turns predicts; with
//! no slip it truly closes it too.

#[allow(dead_code)]
#[path = "../examples/patrol.rs"]
mod patrol;

use std::time::Duration;

use compaktor_pi::config::{ROVER_ROBOT, RobotConfig};
use compaktor_pi::sim::{RobotModel, WorldConfig};
use patrol::{Options, SIDE_M, SPIN, SPIN_SLOW, Summary, arena, run};

async fn patrol_in(world: WorldConfig) -> Summary {
    let summary = run(Options {
        robot: None,
        world: Some(world),
        side: SIDE_M,
        run_for: Some(Duration::from_secs(120)),
        progress: false,
    })
    .await
    .unwrap();
    assert!(summary.completed, "{summary:?}");
    assert_eq!(summary.corners.len(), 4, "{summary:?}");
    assert!(summary.estop.all_safe(), "{}", summary.estop);
    summary
}

/// How far the true heading at the end is from odometry's, degrees (the last turn's own
/// overshoot, which odometry sees, taken out).
fn heading_slip(summary: &Summary) -> f64 {
    let believed = summary.corners.last().unwrap().heading.to_degrees();
    summary.true_heading_error.unwrap() - believed
}

/// The closing error that the slip of `model`'s wheels alone makes of a square of `side`,
/// turning in place at duty `spin`, meters.
///
/// Turning in place at ω rad/s, each rim turns `1 + slip·ω` times as far as its wheel rolls (the
/// simulation's slip model), so odometry counts that much more turn than the robot makes: a
/// corner odometry calls 90° is truly 90°/(1 + slip·ω), short by δ = 90°·slip·ω/(1 + slip·ω).
/// Odometry counts the straight sides right (no turn, no slip), so side k (k = 0..3) truly heads
/// k·δ to the right of where it should; the four sides' sideways misses add up, as vectors, to
/// side·δ·|Σ k·iᵏ| = 2√2·side·δ.
fn slip_closing(model: &RobotModel, side: f64, spin: f64) -> f64 {
    2.0 * std::f64::consts::SQRT_2 * side * short_turn(model, spin)
}

/// How far short of 90° a corner turned at duty `spin` falls on `model`, radians (δ above).
fn short_turn(model: &RobotModel, spin: f64) -> f64 {
    // The wheels' ground speed at this duty (past the deadband), one forward and one back.
    let wheel = model.max_wheel_speed * (spin - model.deadband) / (1.0 - model.deadband);
    let omega = 2.0 * wheel / model.wheel_base;
    let overcount = model.slip * omega;
    std::f64::consts::FRAC_PI_2 * overcount / (1.0 + overcount)
}

/// The realistic rover (deadband, mismatched motors, slipping wheels): odometry believes it
/// closed the square to within 2 cm (it stops each side within a few encoder counts, 2.6 mm
/// each, and steers back onto the side's line), and it truly ended where the slip of its four
/// turns puts it: between what turning all the way at the slow duty and all the way at the
/// fast one predict (most of each turn is at the fast one), give or take 3 cm for the heading
/// odometry resolves (one count on one wheel is 1°: 1.7 cm sideways over a side) and the
/// corner's own stopping error.
#[tokio::test(start_paused = true)]
async fn the_square_closes_where_the_slip_of_its_turns_puts_it() {
    let world = arena();
    // The model as the patrol's world has it: wired like the rover (its wheel geometry too).
    let rover = RobotConfig::from_toml(ROVER_ROBOT).unwrap();
    let model = world.clone().wired_like(&rover).robot;
    assert!(model.slip > 0.0 && model.deadband > 0.0 && model.mismatch != 0.0);
    let summary = patrol_in(world).await;

    assert!(
        summary.estimated_closing < 0.02,
        "odometry believes it ended {:.3} m from the start",
        summary.estimated_closing
    );
    let truly = summary.true_closing.unwrap();
    let (low, high) = (
        slip_closing(&model, SIDE_M, SPIN_SLOW),
        slip_closing(&model, SIDE_M, SPIN),
    );
    println!("truly {truly:.3} m; the slip predicts {low:.3}..{high:.3} m");
    assert!(
        (low - 0.03..=high + 0.03).contains(&truly),
        "truly {truly:.3} m from the start; the slip predicts {low:.3}..{high:.3} m"
    );
    // Odometry does not know: it ends about as far from the truth as the truth from the start.
    let odometry = summary.odometry_error.unwrap();
    assert!(
        (odometry - truly).abs() < 0.03,
        "{odometry:.3} m, {truly:.3} m"
    );
    // Each of the four corners fell short by δ where odometry saw 90°: the robot truly ends
    // turned 4δ right of where odometry believes it heads, give or take 1° (one count).
    let slipped = heading_slip(&summary);
    let short = |spin| -4.0 * short_turn(&model, spin).to_degrees();
    let (most, least) = (short(SPIN) - 1.0, short(SPIN_SLOW) + 1.0);
    assert!(
        (most..=least).contains(&slipped),
        "truly {slipped:.1}° off odometry's heading; the slip predicts {most:.1}..{least:.1}°"
    );
}

/// With wheels that do not slip (the ideal robot: no deadband, matched motors, no slip), the
/// robot truly closes the square to within the 2 cm it stops its sides to, and odometry's end
/// is the true one: the closing error of the realistic rover is the slip's.
#[tokio::test(start_paused = true)]
async fn without_slip_it_truly_closes_the_square() {
    let summary = patrol_in(arena().ideal()).await;
    let truly = summary.true_closing.unwrap();
    assert!(summary.estimated_closing < 0.02, "{summary:?}");
    assert!(truly < 0.03, "truly {truly:.3} m from the start");
    assert!(summary.odometry_error.unwrap() < 0.01, "{summary:?}");
    assert!(heading_slip(&summary).abs() < 1.0, "{summary:?}");
}
