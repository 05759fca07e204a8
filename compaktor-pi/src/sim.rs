//! The simulated robot and world.
