//! Where a key sits in the robot file: the file is parsed a second time into toml's spanned
//! tables, and a dotted key is walked down to its line. Checking values lives in `check`.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A key of the robot file, as path segments from the top (`["sonars", "front", "period_ms"]`).
/// Array elements are their index (`["line_sensor", "channels", "1"]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Key(Vec<String>);

impl Key {
    /// The top-level key `name`.
    pub(crate) fn root(name: &str) -> Key {
        Key(vec![name.to_owned()])
    }

    /// `self.name`.
    pub(crate) fn child(&self, name: impl std::fmt::Display) -> Key {
        let mut segments = self.0.clone();
        segments.push(name.to_string());
        Key(segments)
    }
}

impl std::fmt::Display for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join("."))
    }
}

/// The robot file's spanned tables, to find a key's line.
pub(crate) struct Lines<'a> {
    text: &'a str,
    root: Option<Spanned<DeTable<'a>>>,
}

impl<'a> Lines<'a> {
    /// `text` has already been parsed once; if this parse fails anyway, every key is on line 1.
    pub(crate) fn new(text: &'a str) -> Lines<'a> {
        Lines {
            text,
            root: DeTable::parse(text).ok(),
        }
    }

    /// No file to find lines in (a description built in code): every key is on line 0.
    pub(crate) fn without_text() -> Lines<'static> {
        Lines {
            text: "",
            root: None,
        }
    }

    /// The line (from 1) of `key`'s value; a key the file leaves out (a default) is reported at
    /// the nearest enclosing key that is there.
    pub(crate) fn line(&self, key: &Key) -> usize {
        let Some(root) = &self.root else {
            return usize::from(!self.text.is_empty());
        };
        let mut start = 0;
        let mut table: Option<&DeTable<'a>> = Some(root.get_ref());
        let mut array: Option<&[Spanned<DeValue<'a>>]> = None;
        for segment in &key.0 {
            let found = match (table, array) {
                (Some(t), _) => t
                    .iter()
                    .find(|(k, _)| k.get_ref().as_ref() == segment.as_str())
                    .map(|(k, v)| (k.span().start, v)),
                (None, Some(a)) => segment
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| a.get(i))
                    .map(|v| (v.span().start, v)),
                (None, None) => None,
            };
            let Some((at, value)) = found else { break };
            start = at;
            (table, array) = match value.get_ref() {
                DeValue::Table(t) => (Some(t), None),
                DeValue::Array(a) => (None, Some(&a[..])),
                _ => (None, None),
            };
            if array.is_some() {
                // Elements of an array report their own line.
                start = value.span().start.max(at);
            }
        }
        self.text[..start.min(self.text.len())]
            .matches('\n')
            .count()
            + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_found_in_tables_inline_tables_and_arrays() {
        let text = "name = \"x\"\n[drive]\nwatchdog_ms = 3\n\n[drive.left]\npwm = { hardware = { channel = 0 } }\n[line]\nchannels = [\n  1,\n  9,\n]\n";
        let lines = Lines::new(text);
        let key = |path: &str| {
            let mut parts = path.split('.');
            let mut key = Key::root(parts.next().unwrap());
            for p in parts {
                key = key.child(p);
            }
            key
        };
        assert_eq!(lines.line(&key("name")), 1);
        assert_eq!(lines.line(&key("drive.watchdog_ms")), 3);
        assert_eq!(lines.line(&key("drive.left.pwm.hardware.channel")), 6);
        assert_eq!(lines.line(&key("line.channels.1")), 10);
        // Left out: the nearest enclosing key that is there.
        assert_eq!(lines.line(&key("drive.ramp_per_second")), 2);
        assert_eq!(key("drive.left.in1").to_string(), "drive.left.in1");
    }
}
