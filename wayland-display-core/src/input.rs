//! The input vocabulary: one event type, with Wolf's event and field names, used wherever
//! input is described — the element's custom upstream events, the host's API and the
//! worker's commands. Each carrier reads fields through [`EventFields`] and writes them
//! from [`InputEvent::fields`], so the names, types and checks exist only here.

use std::borrow::Cow;

/// A field's value as a carrier holds it, before it is checked against the vocabulary.
#[derive(Clone, Debug, PartialEq)]
pub enum RawValue<'a> {
    Float(f64),
    Int(i64),
    UInt(u64),
    Bool(bool),
    Str(Cow<'a, str>),
    /// Anything else, described for the error message ("a list", "null").
    Other(Cow<'a, str>),
}

/// Where an event's fields are read from (a GStreamer structure, a JSON object).
pub trait EventFields {
    fn field(&self, name: &str) -> Option<RawValue<'_>>;
}

/// A checked field value, as an event carries it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FieldValue<'a> {
    F64(f64),
    U32(u32),
    Bool(bool),
    Str(&'a str),
}

/// What is wrong with an event; the text names the event and the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("unknown input event type {0:?}; known: {known}", known = InputEvent::NAMES.join(", "))]
    UnknownType(String),
    #[error("{event}: missing field {field:?}")]
    Missing {
        event: &'static str,
        field: &'static str,
    },
    #[error("{event}: field {field:?} must be {expected}, not {found}")]
    Wrong {
        event: &'static str,
        field: &'static str,
        expected: &'static str,
        found: String,
    },
}

/// A Rust type an event field can have, and how it is read from a [`RawValue`].
trait FieldType: Sized {
    /// What a value must be, for error messages.
    const EXPECTED: &'static str;
    fn read(raw: &RawValue<'_>) -> Option<Self>;
    fn write(&self) -> FieldValue<'_>;
}

impl FieldType for f64 {
    const EXPECTED: &'static str = "a finite number";
    fn read(raw: &RawValue<'_>) -> Option<Self> {
        // Integers are numbers too (JSON writes 10, gst-launch writes (int)10); a precision
        // loss beyond 2^53 is of no consequence for coordinates.
        #[allow(clippy::cast_precision_loss)]
        let value = match *raw {
            RawValue::Float(v) => v,
            RawValue::Int(v) => v as f64,
            RawValue::UInt(v) => v as f64,
            _ => return None,
        };
        // NaN or infinite coordinates would poison the pointer position for good.
        value.is_finite().then_some(value)
    }
    fn write(&self) -> FieldValue<'_> {
        FieldValue::F64(*self)
    }
}

impl FieldType for u32 {
    const EXPECTED: &'static str = "an integer from 0 to 4294967295";
    fn read(raw: &RawValue<'_>) -> Option<Self> {
        match *raw {
            RawValue::Int(v) => u32::try_from(v).ok(),
            RawValue::UInt(v) => u32::try_from(v).ok(),
            _ => None,
        }
    }
    fn write(&self) -> FieldValue<'_> {
        FieldValue::U32(*self)
    }
}

impl FieldType for bool {
    const EXPECTED: &'static str = "true or false";
    fn read(raw: &RawValue<'_>) -> Option<Self> {
        match *raw {
            RawValue::Bool(v) => Some(v),
            _ => None,
        }
    }
    fn write(&self) -> FieldValue<'_> {
        FieldValue::Bool(*self)
    }
}

impl FieldType for String {
    const EXPECTED: &'static str = "a string without NUL bytes";
    fn read(raw: &RawValue<'_>) -> Option<Self> {
        match raw {
            // GStreamer structures hold C strings: a NUL would cut the value short (and
            // GLib's bindings abort a debug build on it), so JSON's "\u0000" is refused.
            RawValue::Str(v) if !v.contains('\0') => Some(v.as_ref().to_owned()),
            _ => None,
        }
    }
    fn write(&self) -> FieldValue<'_> {
        FieldValue::Str(self)
    }
}

/// The most a `KeyboardText` event may carry: a paste of a few pages, not a file. Typing
/// it costs the compositor a keymap per 247 distinct characters and two key events per
/// character, so it stays bounded per event.
pub const MAX_TEXT_BYTES: usize = 4096;

// `Text`'s expectation names the figure.
const _: () = assert!(MAX_TEXT_BYTES == 4096);

/// Text to type: UTF-8 without NUL bytes, at most [`MAX_TEXT_BYTES`] bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Text(String);

impl Text {
    /// `text` if it is within the bounds, else `None`.
    pub fn new(text: impl Into<String>) -> Option<Self> {
        let text = text.into();
        (text.len() <= MAX_TEXT_BYTES && !text.contains('\0')).then_some(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FieldType for Text {
    const EXPECTED: &'static str = "a string of at most 4096 bytes without NUL bytes";
    fn read(raw: &RawValue<'_>) -> Option<Self> {
        match raw {
            RawValue::Str(v) => Self::new(v.as_ref()),
            _ => None,
        }
    }
    fn write(&self) -> FieldValue<'_> {
        FieldValue::Str(&self.0)
    }
}

fn read<T: FieldType>(
    fields: &impl EventFields,
    event: &'static str,
    field: &'static str,
) -> Result<T, InputError> {
    let raw = fields
        .field(field)
        .ok_or(InputError::Missing { event, field })?;
    T::read(&raw).ok_or_else(|| InputError::Wrong {
        event,
        field,
        expected: T::EXPECTED,
        found: describe(&raw),
    })
}

/// A short description of what was given, for error messages (long strings cut).
fn describe(raw: &RawValue<'_>) -> String {
    match raw {
        RawValue::Float(v) => v.to_string(),
        RawValue::Int(v) => v.to_string(),
        RawValue::UInt(v) => v.to_string(),
        RawValue::Bool(v) => v.to_string(),
        RawValue::Str(v) => {
            let cut: String = v.chars().take(40).collect();
            if cut.len() < v.len() {
                format!("{cut:?}…")
            } else {
                format!("{cut:?}")
            }
        }
        RawValue::Other(what) => what.to_string(),
    }
}

/// Declares [`InputEvent`] and derives its reading and writing from the one list of
/// events and fields.
macro_rules! vocabulary {
    ($( $(#[$meta:meta])* $name:ident $({ $($field:ident : $ty:ty),* $(,)? })? ),* $(,)?) => {
        /// One input event. Pointer positions are output pixels; touch positions are
        /// normalised to the output (0.0 to 1.0); keys and buttons are evdev codes
        /// (`BTN_LEFT` = 272); scroll amounts are 1/120ths of a wheel detent.
        #[derive(Clone, Debug, PartialEq)]
        pub enum InputEvent {
            $( $(#[$meta])* $name $({ $($field: $ty),* })?, )*
        }

        impl InputEvent {
            /// Every event name, as the `type` field or the structure name carries it.
            pub const NAMES: &'static [&'static str] = &[$(stringify!($name)),*];

            /// The event called `name`, its fields read from `fields` and checked.
            pub fn from_fields(name: &str, fields: &impl EventFields) -> Result<Self, InputError> {
                match name {
                    $( stringify!($name) => Ok(Self::$name $({ $(
                        $field: read::<$ty>(fields, stringify!($name), stringify!($field))?
                    ),* })?), )*
                    other => Err(InputError::UnknownType(other.to_owned())),
                }
            }

            /// The event's name (the `type` field, the structure name).
            pub fn name(&self) -> &'static str {
                match self {
                    $( Self::$name { .. } => stringify!($name), )*
                }
            }

            /// The event's fields, named as carriers write them.
            pub fn fields(&self) -> Vec<(&'static str, FieldValue<'_>)> {
                match self {
                    $( Self::$name $({ $($field),* })? => vec![
                        $($( (stringify!($field), FieldType::write($field)) ),*)?
                    ], )*
                }
            }
        }
    };
}

vocabulary! {
    /// Relative pointer motion (device motion: also sent as `zwp_relative_pointer_v1`).
    MouseMoveRelative { pointer_x: f64, pointer_y: f64 },
    /// The pointer moved to a position on the output, in pixels.
    MouseMoveAbsolute { pointer_x: f64, pointer_y: f64 },
    MouseButton { button: u32, pressed: bool },
    /// Scrolling, in 1/120ths of a wheel detent.
    MouseAxis { x: f64, y: f64 },
    KeyboardKey { key: u32, pressed: bool },
    /// Unicode text for the focused client: committed through its text input
    /// (text-input-v3) when it has one enabled, otherwise typed as key presses on a keymap
    /// that holds the text's characters.
    KeyboardText { text: Text },
    TouchDown { id: u32, x: f64, y: f64 },
    TouchMotion { id: u32, x: f64, y: f64 },
    TouchUp { id: u32 },
    TouchFrame,
    TouchCancel,
    /// A new evdev device (`/dev/input/eventN`) to read input from.
    VirtualDevicesReady { path: String },
}

/// A small map of named raw values, for carriers that hand over every field at once.
#[derive(Debug, Default)]
pub struct RawFields(Vec<(String, RawValue<'static>)>);

impl RawFields {
    pub fn insert(&mut self, name: String, value: RawValue<'static>) {
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
    }
}

impl EventFields for RawFields {
    fn field(&self, name: &str) -> Option<RawValue<'_>> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }
}

#[cfg(feature = "serde")]
mod serde_impl {
    //! `{"type": "MouseButton", "button": 272, "pressed": true}`: an event as an object
    //! whose `type` names it, the rest its fields; unknown fields are ignored.

    use std::borrow::Cow;
    use std::fmt;

    use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
    use serde::ser::SerializeMap;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::{FieldValue, InputEvent, RawFields, RawValue};

    impl Serialize for InputEvent {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            let fields = self.fields();
            let mut map = serializer.serialize_map(Some(fields.len().saturating_add(1)))?;
            map.serialize_entry("type", self.name())?;
            for (name, value) in fields {
                match value {
                    FieldValue::F64(v) => map.serialize_entry(name, &v)?,
                    FieldValue::U32(v) => map.serialize_entry(name, &v)?,
                    FieldValue::Bool(v) => map.serialize_entry(name, &v)?,
                    FieldValue::Str(v) => map.serialize_entry(name, v)?,
                }
            }
            map.end()
        }
    }

    impl<'de> Deserialize<'de> for InputEvent {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_map(EventVisitor)
        }
    }

    struct EventVisitor;

    impl<'de> Visitor<'de> for EventVisitor {
        type Value = InputEvent;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an input event: a JSON object with a string field \"type\"")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<InputEvent, A::Error> {
            let mut fields = RawFields::default();
            let mut kind = None;
            while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                let Raw(value) = map.next_value()?;
                if key == "type" {
                    match value {
                        RawValue::Str(name) => kind = Some(name.into_owned()),
                        _ => return Err(de::Error::custom(NO_TYPE)),
                    }
                } else {
                    fields.insert(key.into_owned(), value);
                }
            }
            let kind = kind.ok_or_else(|| de::Error::custom(NO_TYPE))?;
            InputEvent::from_fields(&kind, &fields).map_err(de::Error::custom)
        }
    }

    const NO_TYPE: &str = "an input event needs a string field \"type\"";

    /// Any value, kept as far as the vocabulary can use it.
    struct Raw(RawValue<'static>);

    impl<'de> Deserialize<'de> for Raw {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(RawVisitor)
        }
    }

    struct RawVisitor;

    impl<'de> Visitor<'de> for RawVisitor {
        type Value = Raw;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any value")
        }
        fn visit_bool<E>(self, v: bool) -> Result<Raw, E> {
            Ok(Raw(RawValue::Bool(v)))
        }
        fn visit_i64<E>(self, v: i64) -> Result<Raw, E> {
            Ok(Raw(RawValue::Int(v)))
        }
        fn visit_u64<E>(self, v: u64) -> Result<Raw, E> {
            Ok(Raw(RawValue::UInt(v)))
        }
        fn visit_f64<E>(self, v: f64) -> Result<Raw, E> {
            Ok(Raw(RawValue::Float(v)))
        }
        fn visit_str<E>(self, v: &str) -> Result<Raw, E> {
            Ok(Raw(RawValue::Str(Cow::Owned(v.to_owned()))))
        }
        fn visit_string<E>(self, v: String) -> Result<Raw, E> {
            Ok(Raw(RawValue::Str(Cow::Owned(v))))
        }
        fn visit_unit<E>(self) -> Result<Raw, E> {
            Ok(Raw(RawValue::Other(Cow::Borrowed("null"))))
        }
        fn visit_none<E>(self) -> Result<Raw, E> {
            Ok(Raw(RawValue::Other(Cow::Borrowed("null"))))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(Raw(RawValue::Other(Cow::Borrowed("a list"))))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            Ok(Raw(RawValue::Other(Cow::Borrowed("an object"))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, RawValue<'static>)]) -> RawFields {
        let mut f = RawFields::default();
        for (name, value) in pairs {
            f.insert((*name).to_owned(), value.clone());
        }
        f
    }

    #[test]
    fn every_event_reads_back_what_it_writes() {
        let events = [
            InputEvent::MouseMoveRelative {
                pointer_x: 1.5,
                pointer_y: -2.0,
            },
            InputEvent::MouseMoveAbsolute {
                pointer_x: 10.0,
                pointer_y: 20.0,
            },
            InputEvent::MouseButton {
                button: 272,
                pressed: true,
            },
            InputEvent::MouseAxis { x: 0.0, y: 120.0 },
            InputEvent::KeyboardKey {
                key: 30,
                pressed: false,
            },
            InputEvent::TouchDown {
                id: 3,
                x: 0.5,
                y: 0.25,
            },
            InputEvent::TouchMotion {
                id: 3,
                x: 0.6,
                y: 0.25,
            },
            InputEvent::TouchUp { id: 3 },
            InputEvent::TouchFrame,
            InputEvent::TouchCancel,
            InputEvent::VirtualDevicesReady {
                path: "/dev/input/event7".to_owned(),
            },
            InputEvent::KeyboardText {
                text: Text::new("héllo ✓").unwrap(),
            },
        ];
        assert_eq!(events.len(), InputEvent::NAMES.len());
        for event in events {
            let mut raw = RawFields::default();
            for (name, value) in event.fields() {
                let value = match value {
                    FieldValue::F64(v) => RawValue::Float(v),
                    FieldValue::U32(v) => RawValue::UInt(u64::from(v)),
                    FieldValue::Bool(v) => RawValue::Bool(v),
                    FieldValue::Str(v) => RawValue::Str(Cow::Owned(v.to_owned())),
                };
                raw.insert(name.to_owned(), value);
            }
            assert_eq!(InputEvent::from_fields(event.name(), &raw), Ok(event));
        }
    }

    #[test]
    fn mistakes_name_the_event_and_the_field() {
        let err = |name: &str, pairs: &[(&str, RawValue<'static>)]| {
            InputEvent::from_fields(name, &fields(pairs))
                .unwrap_err()
                .to_string()
        };
        assert!(err("Jump", &[]).contains("unknown input event type \"Jump\"; known: Mouse"));
        assert_eq!(
            err("MouseButton", &[("pressed", RawValue::Bool(true))]),
            "MouseButton: missing field \"button\""
        );
        assert_eq!(
            err(
                "MouseButton",
                &[
                    ("button", RawValue::Int(-1)),
                    ("pressed", RawValue::Bool(true))
                ]
            ),
            "MouseButton: field \"button\" must be an integer from 0 to 4294967295, not -1"
        );
        assert!(
            err(
                "MouseMoveRelative",
                &[
                    ("pointer_x", RawValue::Float(f64::NAN)),
                    ("pointer_y", RawValue::Float(0.0))
                ]
            )
            .contains("finite number")
        );
        assert!(
            err(
                "KeyboardKey",
                &[
                    ("key", RawValue::UInt(30)),
                    ("pressed", RawValue::Str("yes".into()))
                ]
            )
            .contains("true or false, not \"yes\"")
        );
        let long = "x".repeat(1000);
        let message = err(
            "VirtualDevicesReady",
            &[("path", RawValue::Other(Cow::Owned(long)))],
        );
        assert!(message.len() < 1100, "{message}");
    }

    #[test]
    fn integers_are_numbers_but_numbers_are_not_integers() {
        let ok = InputEvent::from_fields(
            "MouseMoveAbsolute",
            &fields(&[
                ("pointer_x", RawValue::Int(10)),
                ("pointer_y", RawValue::UInt(20)),
            ]),
        );
        assert_eq!(
            ok,
            Ok(InputEvent::MouseMoveAbsolute {
                pointer_x: 10.0,
                pointer_y: 20.0
            })
        );
        assert!(
            InputEvent::from_fields("TouchUp", &fields(&[("id", RawValue::Float(1.0))])).is_err()
        );
        assert!(
            InputEvent::from_fields(
                "KeyboardKey",
                &fields(&[
                    ("key", RawValue::UInt(u64::from(u32::MAX) + 1)),
                    ("pressed", RawValue::Bool(true))
                ])
            )
            .is_err()
        );
    }

    /// Found by `props::fields_are_judged_as_the_table_says`: a NUL byte in a string field
    /// (JSON's "\u0000") was taken, and aborted the worker's debug build when the event
    /// became a GStreamer structure (a C string; release builds cut it short).
    #[test]
    fn strings_with_nul_bytes_are_refused() {
        let err = InputEvent::from_fields(
            "VirtualDevicesReady",
            &fields(&[("path", RawValue::Str("/dev/input/event7\0x".into()))]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("without NUL bytes"), "{err}");
        #[cfg(feature = "serde")]
        {
            let err = serde_json::from_str::<InputEvent>(
                r#"{"type": "VirtualDevicesReady", "path": "a\u0000b"}"#,
            )
            .unwrap_err();
            assert!(err.to_string().contains("without NUL bytes"), "{err}");
        }
    }

    /// Found by `props::json::valid_events_round_trip_through_json`: serde_json's default
    /// float parsing is off by one unit in the last place for some long numbers, so the
    /// worker got a different coordinate than the host read (fixed with serde_json's
    /// `float_roundtrip`).
    #[cfg(feature = "serde")]
    #[test]
    fn json_numbers_round_trip_exactly() {
        let event = InputEvent::MouseAxis {
            x: 3.7691931058581964e254,
            y: 0.30000000000000004,
        };
        let text = serde_json::to_string(&event).unwrap();
        let again: InputEvent = serde_json::from_str(&text).unwrap();
        let InputEvent::MouseAxis { x, y } = again else {
            panic!("{again:?}");
        };
        assert_eq!(x.to_bits(), 3.7691931058581964e254f64.to_bits(), "{text}");
        assert_eq!(y.to_bits(), 0.30000000000000004f64.to_bits(), "{text}");
    }

    #[cfg(feature = "serde")]
    #[test]
    fn json_is_an_object_named_by_its_type() {
        use serde_json::json;

        let cases = [
            json!({"type": "MouseMoveAbsolute", "pointer_x": 10, "pointer_y": 20.5}),
            json!({"type": "MouseMoveRelative", "pointer_x": -1, "pointer_y": 2}),
            json!({"type": "MouseButton", "button": 272, "pressed": true}),
            json!({"type": "MouseAxis", "x": 0, "y": 120}),
            json!({"type": "KeyboardKey", "key": 30, "pressed": false}),
            json!({"type": "TouchDown", "id": 1, "x": 0.5, "y": 0.5}),
            json!({"type": "TouchMotion", "id": 1, "x": 0.6, "y": 0.5}),
            json!({"type": "TouchUp", "id": 1}),
            json!({"type": "TouchFrame"}),
            json!({"type": "TouchCancel", "ignored": "extra fields are fine"}),
            json!({"type": "VirtualDevicesReady", "path": "/dev/input/event3"}),
        ];
        for case in cases {
            let event: InputEvent =
                serde_json::from_value(case.clone()).unwrap_or_else(|e| panic!("{case}: {e}"));
            assert_eq!(event.name(), case["type"].as_str().unwrap());
            let again: InputEvent =
                serde_json::from_str(&serde_json::to_string(&event).unwrap()).unwrap();
            assert_eq!(again, event);
        }
        assert_eq!(
            serde_json::to_value(InputEvent::MouseButton {
                button: 272,
                pressed: true
            })
            .unwrap(),
            json!({"type": "MouseButton", "button": 272, "pressed": true})
        );

        for (case, needle) in [
            (json!(42), "JSON object"),
            (json!({"button": 1}), "\"type\""),
            (json!({"type": 7}), "\"type\""),
            (json!({"type": "Jump"}), "unknown input event type \"Jump\""),
            (
                json!({"type": "MouseButton", "pressed": true}),
                "missing field \"button\"",
            ),
            (
                json!({"type": "MouseButton", "button": -1, "pressed": true}),
                "\"button\" must be",
            ),
            (
                json!({"type": "KeyboardKey", "key": 30, "pressed": "yes"}),
                "true or false",
            ),
            (
                json!({"type": "MouseAxis", "x": "1", "y": 0}),
                "finite number",
            ),
            (json!({"type": "MouseAxis", "x": [1], "y": 0}), "not a list"),
        ] {
            let err = serde_json::from_value::<InputEvent>(case.clone())
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{case}: {err}");
        }
    }
}

/// Property tests of the vocabulary (docs/RELIABILITY.md): whatever fields a carrier hands
/// over are judged exactly as the table says, without a panic, and every valid event reads
/// back what it writes, bit for bit.
#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;

    /// Cases per property; each takes well under a second in a debug build.
    const CASES: u32 = 16384;

    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: CASES,
            // No files written into the source tree: a failure prints its minimal case,
            // which becomes a unit test.
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    /// Any finite number, the edges and signed zeros included.
    pub(super) fn finite() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<f64>(),
            -5000.0..5000.0f64,
            prop::sample::select(vec![
                0.0,
                -0.0,
                f64::MAX,
                f64::MIN,
                f64::MIN_POSITIVE,
                -f64::MIN_POSITIVE,
                f64::EPSILON,
                9_007_199_254_740_993.0,
            ]),
        ]
    }

    /// A string an event may carry: anything but NUL, which no C string can hold.
    pub(super) fn text() -> impl Strategy<Value = String> {
        "[^\u{0}]{0,24}"
    }

    /// Every valid event.
    pub(super) fn event() -> impl Strategy<Value = InputEvent> {
        let (x, n) = (finite, any::<u32>);
        prop_oneof![
            (x(), x()).prop_map(|(pointer_x, pointer_y)| InputEvent::MouseMoveRelative {
                pointer_x,
                pointer_y
            }),
            (x(), x()).prop_map(|(pointer_x, pointer_y)| InputEvent::MouseMoveAbsolute {
                pointer_x,
                pointer_y
            }),
            (n(), any::<bool>())
                .prop_map(|(button, pressed)| InputEvent::MouseButton { button, pressed }),
            (x(), x()).prop_map(|(x, y)| InputEvent::MouseAxis { x, y }),
            (n(), any::<bool>())
                .prop_map(|(key, pressed)| InputEvent::KeyboardKey { key, pressed }),
            (n(), x(), x()).prop_map(|(id, x, y)| InputEvent::TouchDown { id, x, y }),
            (n(), x(), x()).prop_map(|(id, x, y)| InputEvent::TouchMotion { id, x, y }),
            n().prop_map(|id| InputEvent::TouchUp { id }),
            Just(InputEvent::TouchFrame),
            Just(InputEvent::TouchCancel),
            text().prop_map(|path| InputEvent::VirtualDevicesReady { path }),
            text().prop_filter_map("within the text bound", |text| Text::new(text)
                .map(|text| InputEvent::KeyboardText { text })),
        ]
    }

    /// One event of each type, so that the schema below follows the table. A new event
    /// type fails to compile here until it is added (and to [`event`]).
    fn sample(name: &str) -> Option<InputEvent> {
        let all = [
            InputEvent::MouseMoveRelative {
                pointer_x: 0.0,
                pointer_y: 0.0,
            },
            InputEvent::MouseMoveAbsolute {
                pointer_x: 0.0,
                pointer_y: 0.0,
            },
            InputEvent::MouseButton {
                button: 0,
                pressed: false,
            },
            InputEvent::MouseAxis { x: 0.0, y: 0.0 },
            InputEvent::KeyboardKey {
                key: 0,
                pressed: false,
            },
            InputEvent::TouchDown {
                id: 0,
                x: 0.0,
                y: 0.0,
            },
            InputEvent::TouchMotion {
                id: 0,
                x: 0.0,
                y: 0.0,
            },
            InputEvent::TouchUp { id: 0 },
            InputEvent::TouchFrame,
            InputEvent::TouchCancel,
            InputEvent::VirtualDevicesReady {
                path: String::new(),
            },
            InputEvent::KeyboardText {
                text: Text::new("").unwrap(),
            },
        ];
        for event in &all {
            match event {
                InputEvent::MouseMoveRelative { .. }
                | InputEvent::MouseMoveAbsolute { .. }
                | InputEvent::MouseButton { .. }
                | InputEvent::MouseAxis { .. }
                | InputEvent::KeyboardKey { .. }
                | InputEvent::TouchDown { .. }
                | InputEvent::TouchMotion { .. }
                | InputEvent::TouchUp { .. }
                | InputEvent::TouchFrame
                | InputEvent::TouchCancel
                | InputEvent::VirtualDevicesReady { .. }
                | InputEvent::KeyboardText { .. } => {}
            }
        }
        all.into_iter().find(|e| e.name() == name)
    }

    #[derive(Clone, Copy, Debug)]
    enum Kind {
        F64,
        U32,
        Bool,
        Str,
        /// A string with [`Text`]'s bound.
        Text,
    }

    /// The fields of event `name` and their kinds; `None` outside the vocabulary.
    fn schema(name: &str) -> Option<Vec<(&'static str, Kind)>> {
        let event = sample(name)?;
        let fields = event
            .fields()
            .into_iter()
            .map(|(field, value)| {
                let kind = match value {
                    FieldValue::F64(_) => Kind::F64,
                    FieldValue::U32(_) => Kind::U32,
                    FieldValue::Bool(_) => Kind::Bool,
                    FieldValue::Str(_) if event.name() == "KeyboardText" => Kind::Text,
                    FieldValue::Str(_) => Kind::Str,
                };
                (field, kind)
            })
            .collect();
        Some(fields)
    }

    /// A checked value, floats by their bits so that `-0.0` and `0.0` differ.
    #[derive(Clone, Debug, PartialEq)]
    enum Checked {
        F64(u64),
        U32(u32),
        Bool(bool),
        Str(String),
    }

    fn checked(value: &FieldValue<'_>) -> Checked {
        match *value {
            FieldValue::F64(v) => Checked::F64(v.to_bits()),
            FieldValue::U32(v) => Checked::U32(v),
            FieldValue::Bool(v) => Checked::Bool(v),
            FieldValue::Str(v) => Checked::Str(v.to_owned()),
        }
    }

    /// What the vocabulary promises for a value of `kind`, written out independently of
    /// the `FieldType` impls.
    #[allow(clippy::cast_precision_loss)]
    fn model(kind: Kind, raw: &RawValue<'_>) -> Option<Checked> {
        match (kind, raw) {
            (Kind::F64, RawValue::Float(v)) if v.is_finite() => Some(Checked::F64(v.to_bits())),
            (Kind::F64, RawValue::Int(v)) => Some(Checked::F64((*v as f64).to_bits())),
            (Kind::F64, RawValue::UInt(v)) => Some(Checked::F64((*v as f64).to_bits())),
            (Kind::U32, RawValue::Int(v)) if (0..=i64::from(u32::MAX)).contains(v) => {
                Some(Checked::U32(*v as u32))
            }
            (Kind::U32, RawValue::UInt(v)) if *v <= u64::from(u32::MAX) => {
                Some(Checked::U32(*v as u32))
            }
            (Kind::Bool, RawValue::Bool(v)) => Some(Checked::Bool(*v)),
            (Kind::Str, RawValue::Str(v)) if !v.contains('\0') => {
                Some(Checked::Str(v.as_ref().to_owned()))
            }
            (Kind::Text, RawValue::Str(v)) if !v.contains('\0') && v.len() <= 4096 => {
                Some(Checked::Str(v.as_ref().to_owned()))
            }
            _ => None,
        }
    }

    fn expected_text(kind: Kind) -> &'static str {
        match kind {
            Kind::F64 => <f64 as FieldType>::EXPECTED,
            Kind::U32 => <u32 as FieldType>::EXPECTED,
            Kind::Bool => <bool as FieldType>::EXPECTED,
            Kind::Str => <String as FieldType>::EXPECTED,
            Kind::Text => <Text as FieldType>::EXPECTED,
        }
    }

    /// Integers around the edges of `u32` and `i64`.
    fn edge_int() -> impl Strategy<Value = RawValue<'static>> {
        let max = i64::from(u32::MAX);
        prop_oneof![
            prop::sample::select(vec![i64::MIN, -1, 0, 1, max, max + 1, i64::MAX])
                .prop_map(RawValue::Int),
            prop::sample::select(vec![
                0,
                u64::from(u32::MAX),
                u64::from(u32::MAX) + 1,
                u64::MAX
            ])
            .prop_map(RawValue::UInt),
        ]
    }

    /// Anything a carrier may hand over, NaN, infinities and NUL bytes included.
    pub(super) fn raw_value() -> impl Strategy<Value = RawValue<'static>> {
        prop_oneof![
            prop::num::f64::ANY.prop_map(RawValue::Float),
            prop::sample::select(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY])
                .prop_map(RawValue::Float),
            any::<i64>().prop_map(RawValue::Int),
            any::<u64>().prop_map(RawValue::UInt),
            edge_int(),
            any::<bool>().prop_map(RawValue::Bool),
            ".{0,12}".prop_map(|s| RawValue::Str(Cow::Owned(s))),
            // Around the text bound, in bytes (`é` is two).
            (4090usize..4100, any::<bool>()).prop_map(|(n, wide)| {
                let text = if wide {
                    "é".repeat(n / 2) + &"a".repeat(n % 2)
                } else {
                    "a".repeat(n)
                };
                RawValue::Str(Cow::Owned(text))
            }),
            ("[^\u{0}]{0,4}", "[^\u{0}]{0,4}")
                .prop_map(|(a, b)| RawValue::Str(Cow::Owned(format!("{a}\0{b}")))),
            prop::sample::select(vec!["null", "a list", "an object"])
                .prop_map(|s| RawValue::Other(Cow::Borrowed(s))),
        ]
    }

    /// A value the vocabulary takes for `kind`.
    fn valid_raw(kind: Kind) -> BoxedStrategy<RawValue<'static>> {
        match kind {
            Kind::F64 => prop_oneof![
                finite().prop_map(RawValue::Float),
                any::<i64>().prop_map(RawValue::Int),
                any::<u64>().prop_map(RawValue::UInt),
            ]
            .boxed(),
            Kind::U32 => prop_oneof![
                any::<u32>().prop_map(|v| RawValue::UInt(u64::from(v))),
                any::<u32>().prop_map(|v| RawValue::Int(i64::from(v))),
            ]
            .boxed(),
            Kind::Bool => any::<bool>().prop_map(RawValue::Bool).boxed(),
            Kind::Str | Kind::Text => text().prop_map(|s| RawValue::Str(Cow::Owned(s))).boxed(),
        }
    }

    /// An event name (mostly the vocabulary's) and fields for it: each of its fields is
    /// usually present and usually valid, plus a few others, which may shadow them.
    fn named_fields() -> impl Strategy<Value = (String, Vec<(String, RawValue<'static>)>)> {
        let name = prop_oneof![
            4 => prop::sample::select(InputEvent::NAMES.to_vec()).prop_map(str::to_owned),
            1 => "[A-Za-z]{0,12}",
        ];
        name.prop_flat_map(|name| {
            let own: Vec<BoxedStrategy<Option<(String, RawValue<'static>)>>> = schema(&name)
                .unwrap_or_default()
                .into_iter()
                .map(|(field, kind)| {
                    let value = prop_oneof![4 => valid_raw(kind), 1 => raw_value()];
                    prop::option::weighted(0.9, value)
                        .prop_map(move |v| v.map(|v| (field.to_owned(), v)))
                        .boxed()
                })
                .collect();
            let other_name = prop_oneof![
                prop::sample::select(vec!["x", "y", "id", "path", "pressed", "type"])
                    .prop_map(str::to_owned),
                "[a-z_]{1,10}",
            ];
            let others = prop::collection::vec((other_name, raw_value()), 0..3);
            (Just(name), own, others)
        })
        .prop_map(|(name, own, others)| {
            let fields = own.into_iter().flatten().chain(others).collect();
            (name, fields)
        })
    }

    /// Events compared field by field, floats by their bits.
    pub(super) fn same(a: &InputEvent, b: &InputEvent) -> bool {
        let fields = |e: &InputEvent| -> Vec<(&'static str, Checked)> {
            e.fields()
                .iter()
                .map(|(name, value)| (*name, checked(value)))
                .collect()
        };
        a.name() == b.name() && fields(a) == fields(b)
    }

    /// The fields an event writes, as a carrier would hand them back.
    fn written(event: &InputEvent) -> RawFields {
        let mut raw = RawFields::default();
        for (name, value) in event.fields() {
            let value = match value {
                FieldValue::F64(v) => RawValue::Float(v),
                FieldValue::U32(v) => RawValue::UInt(u64::from(v)),
                FieldValue::Bool(v) => RawValue::Bool(v),
                FieldValue::Str(v) => RawValue::Str(Cow::Owned(v.to_owned())),
            };
            raw.insert(name.to_owned(), value);
        }
        raw
    }

    #[test]
    fn the_schema_covers_the_vocabulary() {
        for name in InputEvent::NAMES {
            assert!(schema(name).is_some(), "{name} has no sample");
        }
    }

    proptest! {
        #![proptest_config(config())]

        /// Any name and any fields: the result is exactly what the table says, the first
        /// missing or wrong field (in the table's order) named in the error.
        #[test]
        fn fields_are_judged_as_the_table_says((name, pairs) in named_fields()) {
            let mut raw = RawFields::default();
            for (field, value) in pairs {
                raw.insert(field, value);
            }
            let result = InputEvent::from_fields(&name, &raw);
            let Some(schema) = schema(&name) else {
                prop_assert_eq!(result, Err(InputError::UnknownType(name)));
                return Ok(());
            };
            let mut want = Vec::new();
            let mut failure = None;
            for (field, kind) in schema {
                match raw.field(field) {
                    None => {
                        failure = Some((field, None));
                        break;
                    }
                    Some(value) => match model(kind, &value) {
                        Some(v) => want.push((field, v)),
                        None => {
                            failure = Some((field, Some(kind)));
                            break;
                        }
                    },
                }
            }
            match (failure, result) {
                (None, Ok(event)) => {
                    prop_assert_eq!(event.name(), name.as_str());
                    let got: Vec<_> = event
                        .fields()
                        .iter()
                        .map(|(f, v)| (*f, checked(v)))
                        .collect();
                    prop_assert_eq!(got, want);
                }
                (Some((field, None)), Err(InputError::Missing { event, field: f })) => {
                    prop_assert_eq!(event, name.as_str());
                    prop_assert_eq!(f, field);
                }
                (
                    Some((field, Some(kind))),
                    Err(InputError::Wrong { event, field: f, expected, found }),
                ) => {
                    prop_assert_eq!(event, name.as_str());
                    prop_assert_eq!(f, field);
                    prop_assert_eq!(expected, expected_text(kind));
                    // Long strings are cut in the message (40 characters, escaped).
                    prop_assert!(found.len() <= 512, "{}", found);
                }
                (failure, result) => {
                    prop_assert!(
                        false,
                        "expected failure {:?}, got {:?}",
                        failure,
                        result,
                    );
                }
            }
        }

        /// Every valid event reads back exactly what it writes.
        #[test]
        fn every_valid_event_reads_back_what_it_writes(event in event()) {
            let again = InputEvent::from_fields(event.name(), &written(&event));
            prop_assert!(
                again.as_ref().is_ok_and(|again| same(again, &event)),
                "{:?} vs {:?}",
                again,
                event,
            );
        }

        /// Numbers out of a field's range are refused, never wrapped or rounded.
        #[test]
        fn out_of_range_numbers_are_refused(
            big in (u64::from(u32::MAX) + 1)..=u64::MAX,
            negative in i64::MIN..0,
            fraction in prop::num::f64::ANY,
            not_finite in prop::sample::select(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY]),
        ) {
            let key = |value: RawValue<'static>| {
                let mut raw = RawFields::default();
                raw.insert("key".to_owned(), value);
                raw.insert("pressed".to_owned(), RawValue::Bool(true));
                InputEvent::from_fields("KeyboardKey", &raw)
            };
            for value in [RawValue::UInt(big), RawValue::Int(negative), RawValue::Float(fraction)] {
                let result = key(value.clone());
                prop_assert!(
                    matches!(result, Err(InputError::Wrong { field: "key", .. })),
                    "{:?}: {:?}", value, result
                );
            }
            let mut raw = RawFields::default();
            raw.insert("x".to_owned(), RawValue::Float(not_finite));
            raw.insert("y".to_owned(), RawValue::Float(0.0));
            let result = InputEvent::from_fields("MouseAxis", &raw);
            prop_assert!(
                matches!(result, Err(InputError::Wrong { field: "x", .. })),
                "{:?}",
                result,
            );
        }
    }

    #[cfg(feature = "serde")]
    mod json {
        //! The JSON carrier: any bytes and any JSON value are an event or an error, never
        //! a panic; JSON objects are judged as the fields would be; valid events
        //! round-trip through JSON text exactly.

        use proptest::prelude::*;
        use serde_json::Value;

        use super::super::*;
        use super::{config, event, same};

        /// Any JSON value, nested a little.
        fn json() -> impl Strategy<Value = Value> {
            let leaf = prop_oneof![
                Just(Value::Null),
                any::<bool>().prop_map(Value::Bool),
                any::<i64>().prop_map(Value::from),
                any::<u64>().prop_map(Value::from),
                any::<f64>().prop_map(Value::from),
                ".{0,12}".prop_map(Value::String),
            ];
            leaf.prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                    prop::collection::btree_map("[a-z_]{0,8}", inner, 0..4)
                        .prop_map(|m| Value::Object(m.into_iter().collect())),
                ]
            })
        }

        /// An object named by an event type (usually), with the fields of its table
        /// entry and of others, holding any JSON.
        fn event_object() -> impl Strategy<Value = Value> {
            let name = prop_oneof![
                4 => prop::sample::select(InputEvent::NAMES.to_vec()).prop_map(Value::from),
                1 => json(),
            ];
            let field = prop::sample::select(vec![
                "pointer_x",
                "pointer_y",
                "button",
                "pressed",
                "x",
                "y",
                "key",
                "id",
                "path",
                "other",
            ]);
            let value = prop_oneof![
                3 => prop_oneof![
                    any::<u32>().prop_map(Value::from),
                    any::<f64>().prop_map(Value::from),
                    any::<bool>().prop_map(Value::from),
                    "[^\u{0}]{0,8}".prop_map(Value::from),
                ],
                1 => json(),
            ];
            (name, prop::collection::btree_map(field, value, 0..5)).prop_map(|(name, fields)| {
                let mut object: serde_json::Map<String, Value> =
                    fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
                object.insert("type".to_owned(), name);
                Value::Object(object)
            })
        }

        /// A JSON value as the serde carrier hands it to the vocabulary.
        fn as_raw(value: &Value) -> RawValue<'static> {
            match value {
                Value::Bool(b) => RawValue::Bool(*b),
                Value::Number(n) => match (n.as_u64(), n.as_i64(), n.as_f64()) {
                    (Some(u), _, _) => RawValue::UInt(u),
                    (None, Some(i), _) => RawValue::Int(i),
                    (None, None, Some(f)) => RawValue::Float(f),
                    (None, None, None) => RawValue::Other(Cow::Borrowed("a number")),
                },
                Value::String(s) => RawValue::Str(Cow::Owned(s.clone())),
                Value::Null => RawValue::Other(Cow::Borrowed("null")),
                Value::Array(_) => RawValue::Other(Cow::Borrowed("a list")),
                Value::Object(_) => RawValue::Other(Cow::Borrowed("an object")),
            }
        }

        proptest! {
            #![proptest_config(config())]

            /// Any bytes: an event or an error. Valid events with bytes spliced in exercise
            /// the parser past its first character.
            #[test]
            fn any_bytes_are_an_event_or_an_error(
                bytes in prop::collection::vec(any::<u8>(), 0..64),
                event in event(),
                at in any::<prop::sample::Index>(),
            ) {
                let _ = serde_json::from_slice::<InputEvent>(&bytes);
                let mut text = serde_json::to_vec(&event).unwrap_or_default();
                let at = at.index(text.len() + 1);
                text.splice(at..at, bytes);
                let _ = serde_json::from_slice::<InputEvent>(&text);
            }

            /// Any JSON value: an event or an error, and objects are judged exactly as
            /// their fields would be.
            #[test]
            fn json_objects_are_judged_as_their_fields(
                value in prop_oneof![json(), event_object()],
            ) {
                let parsed = serde_json::from_value::<InputEvent>(value.clone());
                let from_text = serde_json::from_str::<InputEvent>(&value.to_string());
                prop_assert_eq!(parsed.is_ok(), from_text.is_ok(), "{}", value);
                let Some(Value::String(name)) = value.get("type") else {
                    prop_assert!(parsed.is_err(), "{}", value);
                    return Ok(());
                };
                let mut raw = RawFields::default();
                for (field, v) in value.as_object().into_iter().flatten() {
                    if field != "type" {
                        raw.insert(field.clone(), as_raw(v));
                    }
                }
                let by_fields = InputEvent::from_fields(name, &raw);
                match (&parsed, &by_fields) {
                    (Ok(a), Ok(b)) => prop_assert!(same(a, b), "{:?} vs {:?}", a, b),
                    (Err(a), Err(b)) => {
                        // The JSON error carries the vocabulary's message.
                        let b = b.to_string();
                        let b = b.split(", not ").next().unwrap_or_default();
                        prop_assert!(a.to_string().contains(b), "{} vs {}", a, b);
                    }
                    _ => prop_assert!(false, "{}: {:?} vs {:?}", value, parsed, by_fields),
                }
            }

            /// JSON → event → JSON gives the same text, and the same event, bit for bit.
            #[test]
            fn valid_events_round_trip_through_json(event in event()) {
                let text = serde_json::to_string(&event).unwrap();
                let again: InputEvent = serde_json::from_str(&text).unwrap();
                prop_assert!(same(&again, &event), "{} gave {:?}", text, again);
                prop_assert_eq!(serde_json::to_string(&again).unwrap(), text);
                let value = serde_json::to_value(&event).unwrap();
                let again: InputEvent = serde_json::from_value(value).unwrap();
                prop_assert!(same(&again, &event));
            }

            /// Integers out of `u32`'s range, fractions and numbers beyond `f64` are
            /// refused with the field's name, never wrapped, rounded or made infinite.
            #[test]
            fn out_of_range_json_numbers_are_refused(
                big in (i128::from(u32::MAX) + 1)..=i128::MAX,
                negative in i128::MIN..0,
                fraction in any::<f64>().prop_filter("not an integer", |f| f.fract() != 0.0),
                exponent in 309u32..100_000,
            ) {
                for number in [
                    big.to_string(),
                    negative.to_string(),
                    format!("{fraction:?}"),
                    format!("{}.0", big % 1000),
                ] {
                    let text = format!(
                        r#"{{"type": "MouseButton", "button": {number}, "pressed": true}}"#
                    );
                    let err = serde_json::from_str::<InputEvent>(&text);
                    prop_assert!(err.is_err(), "{} gave {:?}", text, err);
                }
                for number in [format!("1e{exponent}"), format!("-1.5e{exponent}")] {
                    let text = format!(r#"{{"type": "MouseAxis", "x": {number}, "y": 0}}"#);
                    let err = serde_json::from_str::<InputEvent>(&text);
                    prop_assert!(err.is_err(), "{} gave {:?}", text, err);
                }
            }
        }
    }
}
