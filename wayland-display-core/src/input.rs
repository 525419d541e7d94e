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
    const EXPECTED: &'static str = "a string";
    fn read(raw: &RawValue<'_>) -> Option<Self> {
        match raw {
            RawValue::Str(v) => Some(v.as_ref().to_owned()),
            _ => None,
        }
    }
    fn write(&self) -> FieldValue<'_> {
        FieldValue::Str(self)
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
