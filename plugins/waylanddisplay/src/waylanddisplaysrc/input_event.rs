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

/// Property tests of the structure carrier (docs/RELIABILITY.md): any structure is an
/// event, someone else's, or malformed, never a panic; structures are judged exactly as the
/// core's vocabulary judges their fields; every valid event round-trips bit for bit.
#[cfg(test)]
mod props {
    use gst::prelude::ToSendValue;
    use proptest::prelude::*;
    use waylanddisplaycore::RawFields;

    use super::*;

    /// Cases per property; each takes well under a second in a debug build.
    const CASES: u32 = 8192;

    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: CASES,
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    fn finite() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<f64>(),
            -5000.0..5000.0f64,
            prop::sample::select(vec![0.0, -0.0, f64::MAX, f64::MIN, f64::MIN_POSITIVE]),
        ]
    }

    /// Every valid event (as the core's own property tests generate them).
    fn event() -> impl Strategy<Value = InputEvent> {
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
            "[^\u{0}]{0,24}".prop_map(|path| InputEvent::VirtualDevicesReady { path }),
            "[^\u{0}]{0,24}".prop_filter_map("within the text bound", |text| {
                waylanddisplaycore::Text::new(text).map(|text| InputEvent::KeyboardText { text })
            }),
        ]
    }

    /// Events compared field by field, floats by their bits.
    fn same(a: &InputEvent, b: &InputEvent) -> bool {
        let bits = |e: &InputEvent| -> Vec<(&'static str, String)> {
            e.fields()
                .into_iter()
                .map(|(name, value)| {
                    let value = match value {
                        FieldValue::F64(v) => format!("f64 {:#x}", v.to_bits()),
                        other => format!("{other:?}"),
                    };
                    (name, value)
                })
                .collect()
        };
        a.name() == b.name() && bits(a) == bits(b)
    }

    /// A field value of any type a program might put in a structure.
    #[derive(Clone, Debug)]
    enum Field {
        F64(f64),
        F32(f32),
        I32(i32),
        U32(u32),
        I64(i64),
        U64(u64),
        Bool(bool),
        Str(String),
        NullStr,
        Fraction(i32, i32),
        IntList(Vec<i32>),
    }

    impl Field {
        fn value(&self) -> glib::SendValue {
            match self {
                Field::F64(v) => v.to_send_value(),
                Field::F32(v) => v.to_send_value(),
                Field::I32(v) => v.to_send_value(),
                Field::U32(v) => v.to_send_value(),
                Field::I64(v) => v.to_send_value(),
                Field::U64(v) => v.to_send_value(),
                Field::Bool(v) => v.to_send_value(),
                Field::Str(v) => v.to_send_value(),
                Field::NullStr => None::<&str>.to_send_value(),
                Field::Fraction(n, d) => gst::Fraction::new(*n, *d).to_send_value(),
                Field::IntList(v) => gst::Array::new(v.iter().copied()).to_send_value(),
            }
        }

        /// The value as the element must hand it to the vocabulary.
        fn raw(&self) -> RawValue<'static> {
            match self {
                Field::F64(v) => RawValue::Float(*v),
                Field::F32(v) => RawValue::Float(f64::from(*v)),
                Field::I32(v) => RawValue::Int(i64::from(*v)),
                Field::U32(v) => RawValue::UInt(u64::from(*v)),
                Field::I64(v) => RawValue::Int(*v),
                Field::U64(v) => RawValue::UInt(*v),
                Field::Bool(v) => RawValue::Bool(*v),
                Field::Str(v) => RawValue::Str(Cow::Owned(v.clone())),
                Field::NullStr | Field::Fraction(..) | Field::IntList(_) => {
                    RawValue::Other(Cow::Borrowed("something else"))
                }
            }
        }
    }

    fn field() -> impl Strategy<Value = Field> {
        let max = i64::from(u32::MAX);
        prop_oneof![
            prop::num::f64::ANY.prop_map(Field::F64),
            prop::sample::select(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY])
                .prop_map(Field::F64),
            prop::num::f32::ANY.prop_map(Field::F32),
            any::<i32>().prop_map(Field::I32),
            any::<u32>().prop_map(Field::U32),
            any::<i64>().prop_map(Field::I64),
            prop::sample::select(vec![i64::MIN, -1, 0, max, max + 1, i64::MAX])
                .prop_map(Field::I64),
            any::<u64>().prop_map(Field::U64),
            any::<bool>().prop_map(Field::Bool),
            "[^\u{0}]{0,12}".prop_map(Field::Str),
            Just(Field::NullStr),
            (any::<i32>(), 1..1000i32).prop_map(|(n, d)| Field::Fraction(n, d)),
            prop::collection::vec(any::<i32>(), 0..3).prop_map(Field::IntList),
        ]
    }

    /// A structure name: mostly the vocabulary's, sometimes another element's.
    fn structure_name() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => prop::sample::select(InputEvent::NAMES.to_vec()).prop_map(str::to_owned),
            1 => "[A-Za-z][A-Za-z0-9_.:/+-]{0,15}",
        ]
    }

    fn field_name() -> impl Strategy<Value = String> {
        prop_oneof![
            3 => prop::sample::select(vec![
                "pointer_x", "pointer_y", "button", "pressed", "x", "y", "key", "id", "path",
            ])
            .prop_map(str::to_owned),
            1 => "[a-z][a-z0-9_]{0,8}",
        ]
    }

    proptest! {
        #![proptest_config(config())]

        /// Any structure: ours or not by its name alone, and judged by the vocabulary
        /// exactly as the values it holds would be.
        #[test]
        fn any_structure_is_judged_by_the_vocabulary(
            name in structure_name(),
            fields in prop::collection::vec((field_name(), field()), 0..6),
        ) {
            gst::init().unwrap();
            let mut structure = gst::Structure::new_empty(name.as_str());
            let mut raw = RawFields::default();
            for (field, value) in &fields {
                structure.set_value(field.as_str(), value.value());
                raw.insert(field.clone(), value.raw());
            }
            let parsed = from_structure(&structure);
            if !InputEvent::NAMES.contains(&name.as_str()) {
                prop_assert_eq!(parsed, Err(ParseError::NotInput));
                return Ok(());
            }
            let model = InputEvent::from_fields(&name, &raw);
            match (&parsed, &model) {
                (Ok(a), Ok(b)) => {
                    prop_assert!(same(a, b), "{:?} vs {:?}", a, b);
                    // And what was accepted is written back the same.
                    let again = from_structure(&to_structure(a));
                    prop_assert!(again.as_ref().is_ok_and(|again| same(again, a)), "{:?}", again);
                }
                (Err(ParseError::Malformed(a)), Err(b)) => {
                    let strip = |e: &InputError| match e {
                        InputError::Wrong { event, field, expected, .. } => {
                            format!("{event} {field} {expected}")
                        }
                        other => other.to_string(),
                    };
                    prop_assert_eq!(strip(a), strip(b));
                }
                _ => prop_assert!(false, "{}: {:?} vs {:?}", structure, parsed, model),
            }
        }

        /// Every valid event becomes a structure and comes back exactly.
        #[test]
        fn valid_events_round_trip_through_structures(event in event()) {
            gst::init().unwrap();
            let structure = to_structure(&event);
            let again = from_structure(&structure);
            prop_assert!(
                again.as_ref().is_ok_and(|again| same(again, &event)),
                "{} gave {:?}",
                structure,
                again,
            );
            // The structure's text form (gst-launch, logs) parses back to it as well.
            let reparsed: gst::Structure = structure.to_string().parse().unwrap();
            let again = from_structure(&reparsed);
            prop_assert!(
                again.as_ref().is_ok_and(|again| same(again, &event)),
                "{} gave {:?}",
                reparsed,
                again,
            );
        }

        /// Integers out of `u32`'s range in any GLib type, any float for an integer field,
        /// and non-finite floats for a coordinate are refused, never wrapped or rounded.
        #[test]
        fn out_of_range_numbers_are_refused(
            negative32 in i32::MIN..0,
            negative64 in i64::MIN..0,
            big64 in (i64::from(u32::MAX) + 1)..=i64::MAX,
            bigu64 in (u64::from(u32::MAX) + 1)..=u64::MAX,
            float in prop::num::f64::ANY,
            float32 in prop::num::f32::ANY,
            not_finite in prop::sample::select(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY]),
        ) {
            gst::init().unwrap();
            for value in [
                negative32.to_send_value(),
                negative64.to_send_value(),
                big64.to_send_value(),
                bigu64.to_send_value(),
                float.to_send_value(),
                float32.to_send_value(),
            ] {
                let mut s = gst::Structure::new_empty("MouseButton");
                s.set_value("button", value);
                s.set("pressed", true);
                let parsed = from_structure(&s);
                prop_assert!(
                    matches!(
                        parsed,
                        Err(ParseError::Malformed(InputError::Wrong { field: "button", .. })),
                    ),
                    "{}: {:?}", s, parsed
                );
            }
            #[allow(clippy::cast_possible_truncation)]
            let not_finite32 = not_finite as f32;
            for value in [not_finite.to_send_value(), not_finite32.to_send_value()] {
                let mut s = gst::Structure::new_empty("TouchDown");
                s.set("id", 1u32);
                s.set_value("x", value);
                s.set("y", 0.5f64);
                let parsed = from_structure(&s);
                prop_assert!(
                    matches!(
                        parsed,
                        Err(ParseError::Malformed(InputError::Wrong { field: "x", .. })),
                    ),
                    "{}: {:?}", s, parsed
                );
            }
        }
    }
}
