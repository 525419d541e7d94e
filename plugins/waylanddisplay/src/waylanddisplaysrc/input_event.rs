//! The element's input events as GStreamer structures: the structure's name is the event's
//! name, its fields the event's fields (see [`InputEvent`]). Numbers may come as any
//! GLib number type (`(int)10` for a coordinate is fine); what an event needs is checked by
//! the core's vocabulary, the same check the host's API applies to JSON.

use std::borrow::Cow;

use gst::StructureRef;
use gst::glib;
use waylanddisplaycore::{EventFields, FieldValue, InputError, InputEvent, RawValue};

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum ParseError {
    /// The structure's name is no input event: it belongs to someone else.
    #[error("not an input event")]
    NotInput,
    #[error("malformed input event: {0}")]
    Malformed(#[from] InputError),
}

/// The structure the element takes for `event`, with exactly its field types.
pub fn to_structure(event: &InputEvent) -> gst::Structure {
    let mut builder = gst::Structure::builder(event.name());
    for (field, value) in event.fields() {
        builder = match value {
            FieldValue::F64(v) => builder.field(field, v),
            FieldValue::U32(v) => builder.field(field, v),
            FieldValue::Bool(v) => builder.field(field, v),
            FieldValue::Str(v) => builder.field(field, v),
        };
    }
    builder.build()
}

/// The event a structure describes. Names outside the vocabulary are
/// [`ParseError::NotInput`], so that other elements' events pass through untouched.
pub fn from_structure(s: &StructureRef) -> Result<InputEvent, ParseError> {
    let name = s.name().as_str();
    if !InputEvent::NAMES.contains(&name) {
        return Err(ParseError::NotInput);
    }
    Ok(InputEvent::from_fields(name, &StructureFields(s))?)
}

struct StructureFields<'a>(&'a StructureRef);

impl EventFields for StructureFields<'_> {
    fn field(&self, name: &str) -> Option<RawValue<'_>> {
        let value = self.0.value(name).ok()?;
        Some(raw(value))
    }
}

fn raw(value: &glib::Value) -> RawValue<'_> {
    if let Ok(v) = value.get::<f64>() {
        RawValue::Float(v)
    } else if let Ok(v) = value.get::<f32>() {
        RawValue::Float(f64::from(v))
    } else if let Ok(v) = value.get::<i32>() {
        RawValue::Int(i64::from(v))
    } else if let Ok(v) = value.get::<u32>() {
        RawValue::UInt(u64::from(v))
    } else if let Ok(v) = value.get::<i64>() {
        RawValue::Int(v)
    } else if let Ok(v) = value.get::<u64>() {
        RawValue::UInt(v)
    } else if let Ok(v) = value.get::<bool>() {
        RawValue::Bool(v)
    } else if let Ok(v) = value.get::<Option<&str>>() {
        match v {
            Some(v) => RawValue::Str(Cow::Borrowed(v)),
            None => RawValue::Other(Cow::Borrowed("a null string")),
        }
    } else {
        RawValue::Other(Cow::Owned(format!("a {}", value.type_().name())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Result<InputEvent, ParseError> {
        gst::init().unwrap();
        let s: gst::Structure = s.parse().unwrap();
        from_structure(&s)
    }

    #[test]
    fn every_event_of_the_interface_parses() {
        let cases = [
            (
                "MouseMoveRelative, pointer_x=(double)1.5, pointer_y=(double)-2",
                InputEvent::MouseMoveRelative {
                    pointer_x: 1.5,
                    pointer_y: -2.0,
                },
            ),
            (
                "MouseMoveAbsolute, pointer_x=(double)10, pointer_y=(double)20",
                InputEvent::MouseMoveAbsolute {
                    pointer_x: 10.0,
                    pointer_y: 20.0,
                },
            ),
            (
                "MouseButton, button=(uint)272, pressed=(boolean)true",
                InputEvent::MouseButton {
                    button: 272,
                    pressed: true,
                },
            ),
            (
                "MouseAxis, x=(double)0, y=(double)120",
                InputEvent::MouseAxis { x: 0.0, y: 120.0 },
            ),
            (
                "KeyboardKey, key=(uint)30, pressed=(boolean)false",
                InputEvent::KeyboardKey {
                    key: 30,
                    pressed: false,
                },
            ),
            (
                "TouchDown, id=(uint)3, x=(double)0.5, y=(double)0.25",
                InputEvent::TouchDown {
                    id: 3,
                    x: 0.5,
                    y: 0.25,
                },
            ),
            (
                "TouchMotion, id=(uint)3, x=(double)0.6, y=(double)0.25",
                InputEvent::TouchMotion {
                    id: 3,
                    x: 0.6,
                    y: 0.25,
                },
            ),
            ("TouchUp, id=(uint)3", InputEvent::TouchUp { id: 3 }),
            ("TouchFrame", InputEvent::TouchFrame),
            ("TouchCancel", InputEvent::TouchCancel),
            (
                "VirtualDevicesReady, path=(string)/dev/input/event7",
                InputEvent::VirtualDevicesReady {
                    path: "/dev/input/event7".to_owned(),
                },
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_str(text).as_ref(), Ok(&expected), "{text}");
            assert_eq!(from_structure(&to_structure(&expected)), Ok(expected));
        }
        // gst-launch and Python write plain integers for numbers.
        assert_eq!(
            parse_str("MouseButton, button=272, pressed=true"),
            Ok(InputEvent::MouseButton {
                button: 272,
                pressed: true
            })
        );
    }

    #[test]
    fn malformed_events_are_rejected_with_the_field() {
        for text in [
            "MouseMoveAbsolute, pointer_x=(double)10",
            "MouseButton, button=(string)left, pressed=(boolean)true",
            "KeyboardKey, key=(int)-1, pressed=(boolean)true",
            "TouchDown, id=(uint)1, x=(double)0.5",
            "VirtualDevicesReady",
        ] {
            match parse_str(text) {
                Err(ParseError::Malformed(err)) => {
                    assert!(err.to_string().contains("field"), "{err}")
                }
                other => panic!("{text}: {other:?}"),
            }
        }
        let nan = gst::Structure::builder("MouseMoveRelative")
            .field("pointer_x", f64::NAN)
            .field("pointer_y", 0.0f64)
            .build();
        assert!(matches!(
            from_structure(&nan),
            Err(ParseError::Malformed(_))
        ));
    }

    #[test]
    fn other_structures_are_not_ours() {
        assert_eq!(
            parse_str("application/x-something, a=(int)1"),
            Err(ParseError::NotInput)
        );
    }
}
