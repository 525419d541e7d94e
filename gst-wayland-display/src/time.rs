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
    #[error("{} s is shorter than a nanosecond, the shortest wait there is", shown(*.0))]
    TooShort(f64),
}

/// A number as people write it: `1e30` and `1e-10` rather than thirty-one digits or ten
/// zeros.
fn shown(value: f64) -> String {
    if value.abs() >= 1e9 || (value != 0.0 && value.abs() < 1e-6) {
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
        let duration =
            Duration::try_from_secs_f64(seconds).map_err(|_| SecondsError::TooLong(seconds))?;
        // Below half a nanosecond a positive number becomes no wait at all: a zero header
        // deadline would close every connection at once.
        if duration.is_zero() {
            return Err(SecondsError::TooShort(seconds));
        }
        Ok(Self(duration))
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
            // Found by props::any_number_is_judged_by_its_bounds: positive, yet no wait at
            // all once made a Duration.
            ("1e-10", "shorter than a nanosecond"),
            ("5e-324", "5e-324 s is shorter"),
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

/// Property tests of durations as users write them (docs/RELIABILITY.md): any text is a
/// duration or a readable error, never a panic; what is taken is positive, at most a year,
/// and the number that was written.
#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;

    /// Cases per property; each takes well under a second in a debug build.
    const CASES: u32 = 16384;

    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: CASES,
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    /// Numbers near and beyond the edges, as text: tiny, huge, signed, NaN and infinities.
    fn number_text() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::num::f64::ANY.prop_map(|v| format!("{v}")),
            prop::num::f64::ANY.prop_map(|v| format!("{v:e}")),
            (-400i32..400, 0.0..10.0f64).prop_map(|(e, m)| format!("{m}e{e}")),
            any::<i64>().prop_map(|v| v.to_string()),
            prop::sample::select(vec![
                "0",
                "-0",
                "+1",
                " 3 ",
                "1e-9",
                "1e-10",
                "5e-324",
                "31536000",
                "31536000.000001",
                "inf",
                "-inf",
                "NaN",
                "nan",
                "infinity",
                "1_000",
                "0x10",
                "",
                " ",
                "1 s",
            ])
            .prop_map(str::to_owned),
        ]
    }

    proptest! {
        #![proptest_config(config())]

        /// Any text: a duration in range, or an error that shows what was wrong.
        #[test]
        fn any_text_is_a_duration_in_range_or_a_readable_error(
            text in prop_oneof![".{0,24}", number_text()],
        ) {
            match text.parse::<Seconds>() {
                Ok(seconds) => {
                    let d = seconds.duration();
                    prop_assert!(!d.is_zero(), "{:?} gave zero", text);
                    prop_assert!(d <= Duration::from_secs(31_536_000), "{:?} gave {:?}", text, d);
                    // The written number, to the nanosecond.
                    let written: f64 = text.trim().parse().unwrap();
                    prop_assert!(
                        (d.as_secs_f64() - written).abs() <= 1e-9 * written.max(1.0),
                        "{:?} gave {:?}",
                        text,
                        d,
                    );
                }
                Err(err) => {
                    let message = err.to_string();
                    prop_assert!(message.contains("second"), "{}", message);
                    if let SecondsError::NotANumber(shown) = &err {
                        prop_assert_eq!(shown, &text);
                    }
                }
            }
        }

        /// Any number: taken exactly when it is positive, at most a year and at least a
        /// nanosecond; errors say which bound it broke.
        #[test]
        fn any_number_is_judged_by_its_bounds(value in prop_oneof![
            prop::num::f64::ANY,
            0.0..1e-8f64,
            0.0..40_000_000.0f64,
            prop::sample::select(vec![
                f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 0.0, 5e-324, MAX_SECONDS, 1e-9,
            ]),
        ]) {
            let result = Seconds::new(value);
            let in_range = value > 0.0 && value <= MAX_SECONDS;
            match &result {
                Ok(seconds) => {
                    prop_assert!(in_range, "{} was taken", value);
                    prop_assert!(!seconds.duration().is_zero(), "{} became zero", value);
                }
                Err(SecondsError::NaN) => prop_assert!(value.is_nan()),
                Err(SecondsError::NotPositive(v)) => {
                    prop_assert!(*v <= 0.0 && v.to_bits() == value.to_bits());
                }
                Err(SecondsError::TooLong(v)) => prop_assert!(*v > MAX_SECONDS),
                Err(SecondsError::TooShort(v)) => {
                    let zero = Duration::try_from_secs_f64(*v).is_ok_and(|d| d.is_zero());
                    prop_assert!(in_range && zero);
                }
                Err(SecondsError::NotANumber(_)) => prop_assert!(false, "{} is a number", value),
            }
            if in_range && result.is_err() {
                prop_assert!(
                    matches!(result, Err(SecondsError::TooShort(_))),
                    "{}: {:?}",
                    value,
                    result,
                );
            }
        }
    }
}
