//! Hardware PWM through the kernel's PWM sysfs interface (`/sys/class/pwm/pwmchipN/pwmM`), on
//! any Linux board, and finding the PWM chip by what it is rather than by its number.
//!
//! Why our own: the ecosystem's `sysfs_pwm` crate is unmaintained and speaks embedded-hal 0.2,
//! and rppal's PWM only opens on boards it recognises as a Raspberry Pi. The interface is five
//! small files, and owning it lets tests run it against a temporary directory that mimics sysfs
//! (the root is injectable: [`SysfsPwm::open`] takes it).
//!
//! Always compiled (it needs only `std`), so its tests run everywhere; the `linux` backend
//! opens motors and servos with it, the `rppal` backend uses [`find_pwm_chip`].

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use embedded_hal::pwm::SetDutyCycle;

use super::{OpenError, PinError, device_name};
use crate::hal::PwmOutput;

/// Where the kernel shows PWM chips.
pub const SYSFS_PWM: &str = "/sys/class/pwm";

/// The device-tree `compatible` strings of PWM chips that drive the header's PWM pins: the
/// Pi 5's RP1 first, then the Pi 1-4's BCM2835 PWM.
pub const PI_PWM_CHIPS: &[&str] = &["raspberrypi,rp1-pwm", "brcm,bcm2835-pwm"];

/// How long to wait for the kernel to create `pwmM` after an export.
const EXPORT_WAIT: Duration = Duration::from_millis(500);

/// The duty cycle resolution of [`SysfsPwm`]: 0.01 %, so whole percentages are exact.
const MAX_DUTY: u16 = 10_000;

/// The number `N` of the first `pwmchipN` under `root` whose device is compatible with one of
/// `compatible` (its `device/of_node/compatible`, the device tree's label for the chip), trying
/// the strings in order. `None` when there is none.
///
/// ```no_run
/// use compaktor_pi::backend::sysfs_pwm::{PI_PWM_CHIPS, SYSFS_PWM, find_pwm_chip};
///
/// // `pwmchip0` on a Pi 5 with kernel 6.12+, `pwmchip2` before.
/// let chip = find_pwm_chip(SYSFS_PWM.as_ref(), PI_PWM_CHIPS);
/// ```
pub fn find_pwm_chip(root: &Path, compatible: &[&str]) -> Option<u8> {
    let mut chips: Vec<(u8, String)> = fs::read_dir(root)
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let name = entry.file_name().into_string().ok()?;
            let number = name.strip_prefix("pwmchip")?.parse().ok()?;
            let labels = fs::read(entry.path().join("device/of_node/compatible")).ok()?;
            Some((number, String::from_utf8_lossy(&labels).into_owned()))
        })
        .collect();
    chips.sort();
    compatible.iter().find_map(|wanted| {
        chips
            .iter()
            .find(|(_, labels)| labels.split('\0').any(|l| l == *wanted))
            .map(|(n, _)| *n)
    })
}

/// One channel of a sysfs PWM chip, as embedded-hal's [`SetDutyCycle`] and a [`PwmOutput`].
///
/// Opening exports the channel, sets its period with duty 0 and enables it. Dropping it sets the
/// duty to 0 and disables it (a process that dies without dropping leaves the last duty: see
/// the README's safe-off).
#[derive(Debug)]
pub struct SysfsPwm {
    dir: PathBuf,
    hz: u32,
    duty: u16,
    name: String,
}

impl SysfsPwm {
    /// Opens `channel` of `pwmchip{chip}` under `root` (normally [`SYSFS_PWM`]) at `hz`,
    /// enabled, duty cycle 0.
    ///
    /// # Errors
    ///
    /// [`OpenError`] if the chip does not exist, has no such channel, cannot be exported (the
    /// device tree has no PWM overlay, or the user may not write sysfs), or `hz` is 0.
    pub fn open(
        root: &Path,
        chip: u8,
        channel: u8,
        hz: u32,
        label: &str,
    ) -> Result<SysfsPwm, OpenError> {
        let name = device_name(format_args!("pwmchip{chip} channel {channel}"), label);
        let fail = |reason: String| OpenError::new("linux", name.clone(), reason);
        let chip_dir = root.join(format!("pwmchip{chip}"));
        let npwm = fs::read_to_string(chip_dir.join("npwm"))
            .map_err(|e| fail(format!("{}: {e}", chip_dir.display())))?;
        let npwm: u32 = npwm
            .trim()
            .parse()
            .map_err(|_| fail(format!("{}/npwm is not a number", chip_dir.display())))?;
        if u32::from(channel) >= npwm {
            return Err(fail(format!(
                "the chip has channels 0-{}",
                npwm.saturating_sub(1)
            )));
        }
        let dir = chip_dir.join(format!("pwm{channel}"));
        if !dir.exists() {
            fs::write(chip_dir.join("export"), channel.to_string())
                .map_err(|e| fail(format!("export: {e}")))?;
            // The kernel creates the directory, and udev fixes its permissions, a moment later.
            let deadline = std::time::Instant::now() + EXPORT_WAIT;
            while !dir.join("enable").exists() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        let mut pwm = SysfsPwm {
            dir,
            hz: 0,
            duty: 0,
            name: name.clone(),
        };
        pwm.write("duty_cycle", 0).map_err(|e| fail(e.0))?;
        pwm.set_frequency(hz).map_err(|e| fail(e.0))?;
        pwm.write("enable", 1).map_err(|e| fail(e.0))?;
        Ok(pwm)
    }

    fn write(&self, file: &str, value: u64) -> Result<(), PinError> {
        fs::write(self.dir.join(file), value.to_string())
            .map_err(|e| PinError(format!("linux: {}: {file}: {e}", self.name)))
    }

    fn period_ns(hz: u32) -> u64 {
        1_000_000_000 / u64::from(hz)
    }

    fn duty_ns(&self, period_ns: u64) -> u64 {
        period_ns * u64::from(self.duty) / u64::from(MAX_DUTY)
    }
}

impl embedded_hal::pwm::ErrorType for SysfsPwm {
    type Error = PinError;
}

impl SetDutyCycle for SysfsPwm {
    fn max_duty_cycle(&self) -> u16 {
        MAX_DUTY
    }

    fn set_duty_cycle(&mut self, duty: u16) -> Result<(), PinError> {
        let old = self.duty;
        self.duty = duty.min(MAX_DUTY);
        let ns = self.duty_ns(Self::period_ns(self.hz));
        self.write("duty_cycle", ns)
            .inspect_err(|_| self.duty = old)
    }
}

impl PwmOutput for SysfsPwm {
    fn set_frequency(&mut self, hz: u32) -> Result<(), PinError> {
        if hz == 0 {
            return Err(PinError(format!("linux: {}: 0 Hz", self.name)));
        }
        let period = Self::period_ns(hz);
        let duty = self.duty_ns(period);
        // The kernel refuses a duty longer than the period: shrink in the order that keeps
        // duty <= period at every step.
        if self.hz != 0 && period < Self::period_ns(self.hz) {
            self.write("duty_cycle", duty)?;
            self.write("period", period)?;
        } else {
            self.write("period", period)?;
            self.write("duty_cycle", duty)?;
        }
        self.hz = hz;
        Ok(())
    }

    fn frequency(&self) -> u32 {
        self.hz
    }
}

impl Drop for SysfsPwm {
    fn drop(&mut self) {
        // Hardware PWM keeps running after the file is closed: stop it.
        let stopped = self
            .write("duty_cycle", 0)
            .and_then(|()| self.write("enable", 0));
        if let Err(e) = stopped {
            tracing::error!("{e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A directory that looks like `/sys/class/pwm` with `chips`: (number, compatible, npwm),
    /// each channel already exported (a plain directory cannot export).
    fn fake_sysfs(test: &str, chips: &[(u8, &str, u8)]) -> PathBuf {
        let root =
            std::env::temp_dir().join(format!("compaktor-sysfs-{test}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        for &(n, compatible, npwm) in chips {
            let chip = root.join(format!("pwmchip{n}"));
            fs::create_dir_all(chip.join("device/of_node")).unwrap();
            fs::write(chip.join("device/of_node/compatible"), compatible).unwrap();
            fs::write(chip.join("npwm"), format!("{npwm}\n")).unwrap();
            fs::write(chip.join("export"), "").unwrap();
            for ch in 0..npwm {
                let dir = chip.join(format!("pwm{ch}"));
                fs::create_dir_all(&dir).unwrap();
                for file in ["period", "duty_cycle", "enable"] {
                    fs::write(dir.join(file), "0").unwrap();
                }
            }
        }
        root
    }

    fn read(root: &Path, path: &str) -> String {
        fs::read_to_string(root.join(path)).unwrap()
    }

    #[test]
    fn the_pi_pwm_chip_is_found_by_its_label_not_its_number() {
        // A Pi 5 on a kernel before 6.12: the RP1's PWM is pwmchip2, behind two other chips.
        let root = fake_sysfs(
            "find",
            &[
                (0, "brcm,bcm2711-something\0", 1),
                (1, "vendor,other-pwm\0", 2),
                (2, "raspberrypi,rp1-pwm\0", 4),
            ],
        );
        assert_eq!(find_pwm_chip(&root, PI_PWM_CHIPS), Some(2));
        assert_eq!(find_pwm_chip(&root, &["brcm,bcm2835-pwm"]), None);
        let _ = fs::remove_dir_all(&root);
    }

    #[test]
    fn a_channel_runs_at_its_frequency_and_stops_when_dropped() {
        let root = fake_sysfs("run", &[(0, "raspberrypi,rp1-pwm", 4)]);
        let mut pwm = SysfsPwm::open(&root, 0, 3, 1_000, "motor left").unwrap();
        assert_eq!(read(&root, "pwmchip0/pwm3/period"), "1000000");
        assert_eq!(read(&root, "pwmchip0/pwm3/duty_cycle"), "0");
        assert_eq!(read(&root, "pwmchip0/pwm3/enable"), "1");
        pwm.set_duty_cycle_percent(25).unwrap();
        assert_eq!(read(&root, "pwmchip0/pwm3/duty_cycle"), "250000");
        // The fraction is kept across a frequency change.
        pwm.set_frequency(20_000).unwrap();
        assert_eq!(read(&root, "pwmchip0/pwm3/period"), "50000");
        assert_eq!(read(&root, "pwmchip0/pwm3/duty_cycle"), "12500");
        assert_eq!(pwm.frequency(), 20_000);
        drop(pwm);
        assert_eq!(read(&root, "pwmchip0/pwm3/duty_cycle"), "0");
        assert_eq!(read(&root, "pwmchip0/pwm3/enable"), "0");
        let _ = fs::remove_dir_all(&root);
    }

    #[test]
    fn a_missing_chip_or_channel_is_an_open_error_naming_it() {
        let root = fake_sysfs("missing", &[(0, "brcm,bcm2835-pwm", 2)]);
        let err = SysfsPwm::open(&root, 0, 2, 1_000, "servo pan").unwrap_err();
        assert_eq!(err.device, "pwmchip0 channel 2 (servo pan)");
        assert_eq!(err.reason, "the chip has channels 0-1");
        let err = SysfsPwm::open(&root, 5, 0, 1_000, "").unwrap_err();
        assert!(err.reason.contains("pwmchip5"), "{err}");
        let err = SysfsPwm::open(&root, 0, 0, 0, "").unwrap_err();
        assert!(err.reason.contains("0 Hz"), "{err}");
        let _ = fs::remove_dir_all(&root);
    }
}
