//! Time as users give it (seconds, from flags and config files) and as the program waits
//! on it (deadlines). Every conversion is checked: a negative, NaN or huge number of seconds
//! is a readable error, never a panic, and no deadline arithmetic can overflow.

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

use serde::{Deserialize, Deserializer};

/// The longest wait anyone can ask for: a year is longer than any lobby lives, and far from
/// where `Instant` arithmetic could overflow.
const MAX_SECONDS: f64 = 365.0 * 24.0 * 3600.0;

/// A positive number of seconds, at most a year.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Seconds(Duration);

#[derive(Debug, PartialEq, thiserror::Error)]
pub(crate) enum SecondsError {
    #[error("{0:?} is not a number of seconds")]
    NotANumber(String),
    #[error("NaN is not a number of seconds")]
    NaN,
    #[error("{} s is not a positive number of seconds", shown(*.0))]
    NotPositive(f64),
    #[error("{} s is longer than the allowed 31536000 seconds (a year)", shown(*.0))]
    TooLong(f64),
}

/// A number as people write it: `1e30` rather than thirty-one digits.
fn shown(value: f64) -> String {
    if value.abs() >= 1e9 {
        format!("{value:e}")
    } else {
        value.to_string()
    }
}

impl Seconds {
    pub(crate) fn new(seconds: f64) -> Result<Self, SecondsError> {
        if seconds.is_nan() {
            return Err(SecondsError::NaN);
        }
        if seconds <= 0.0 {
            return Err(SecondsError::NotPositive(seconds));
        }
        if seconds > MAX_SECONDS {
            return Err(SecondsError::TooLong(seconds));
        }
        // Cannot fail in range; the error is still handled rather than unwrapped.
        Duration::try_from_secs_f64(seconds)
            .map(Self)
            .map_err(|_| SecondsError::TooLong(seconds))
    }

    /// A fixed amount known to be in range (defaults).
    pub(crate) const fn from_secs(seconds: u32) -> Self {
        Self(Duration::from_secs(seconds as u64))
    }

    pub(crate) fn duration(self) -> Duration {
        self.0
    }
}

impl FromStr for Seconds {
    type Err = SecondsError;

    fn from_str(text: &str) -> Result<Self, SecondsError> {
        let value: f64 = text
            .trim()
            .parse()
            .map_err(|_| SecondsError::NotANumber(text.to_owned()))?;
        Self::new(value)
    }
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} s", self.0.as_secs_f64())
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = f64::deserialize(deserializer)?;
        Self::new(value).map_err(serde::de::Error::custom)
    }
}

/// A moment to wait until; `Never` when it would lie beyond what the clock can represent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Deadline {
    At(Instant),
    Never,
}

impl Deadline {
    pub(crate) fn after(wait: Duration) -> Self {
        Instant::now()
            .checked_add(wait)
            .map_or(Self::Never, Self::At)
    }

    pub(crate) fn passed(self) -> bool {
        match self {
            Self::At(at) => Instant::now() >= at,
            Self::Never => false,
        }
    }

    /// Time left, `None` once passed; `Never` has all the time in the world.
    pub(crate) fn left(self) -> Option<Duration> {
        match self {
            Self::At(at) => at
                .checked_duration_since(Instant::now())
                .filter(|d| !d.is_zero()),
            Self::Never => Some(Duration::MAX),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_take_only_sensible_numbers() {
        assert_eq!(
            "2.5".parse::<Seconds>().map(Seconds::duration),
            Ok(Duration::from_millis(2500))
        );
        for (text, needle) in [
            ("-1", "not a positive"),
            ("0", "not a positive"),
            ("nan", "not a number"),
            ("NaN", "not a number"),
            ("1e20", "longer than"),
            ("1e30", "longer than"),
            ("inf", "longer than"),
            ("ten", "not a number of seconds"),
        ] {
            let err = text.parse::<Seconds>().unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn deadlines_never_overflow() {
        assert_eq!(Deadline::after(Duration::MAX), Deadline::Never);
        assert!(!Deadline::Never.passed());
        assert!(Deadline::after(Duration::ZERO).passed());
        assert!(Deadline::after(Duration::from_secs(60)).left().is_some());
        assert_eq!(Deadline::after(Duration::ZERO).left(), None);
    }
}
