//! Drivers written against embedded-hal 1.0 (plus [`crate::hal`]), each implementing a
//! [`crate::device`] trait. They know nothing about actors or backends.
