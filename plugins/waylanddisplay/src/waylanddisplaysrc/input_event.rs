//! The element's input events: GStreamer structures, by name and typed fields, turned into
//! the compositor's [`InputEvent`].

use gst::StructureRef;
use waylanddisplaycore::InputEvent;

#[derive(Debug, PartialEq)]
pub(crate) enum ElementEvent {
    Input(InputEvent),
    /// A new evdev device (`VirtualDevicesReady{path}`) to read input from.
    AddDevice(String),
}

#[derive(Debug, PartialEq, thiserror::Error)]
pub(crate) enum ParseError {
    #[error("not an input event")]
    NotInput,
    #[error("malformed {name} event: {reason}")]
    Malformed { name: String, reason: String },
}

/// Recognises the structure names of DESIGN.md's input events; anything else is
/// [`ParseError::NotInput`] so other elements' events pass through untouched.
pub(crate) fn parse(s: &StructureRef) -> Result<ElementEvent, ParseError> {
    let name = s.name().as_str();
    let field = |key: &str| -> Result<f64, ParseError> { typed::<f64>(s, name, key) };
    let input = match name {
        "MouseMoveRelative" => InputEvent::PointerMotion {
            dx: field("pointer_x")?,
            dy: field("pointer_y")?,
        },
        "MouseMoveAbsolute" => InputEvent::PointerMotionAbsolute {
            x: field("pointer_x")?,
            y: field("pointer_y")?,
        },
        "MouseButton" => InputEvent::PointerButton {
            button: typed(s, name, "button")?,
            pressed: typed(s, name, "pressed")?,
        },
        "MouseAxis" => InputEvent::PointerAxis {
            x: field("x")?,
            y: field("y")?,
        },
        "KeyboardKey" => InputEvent::Key {
            key: typed(s, name, "key")?,
            pressed: typed(s, name, "pressed")?,
        },
        "TouchDown" => InputEvent::TouchDown {
            id: typed(s, name, "id")?,
            x: field("x")?,
            y: field("y")?,
        },
        "TouchMotion" => InputEvent::TouchMotion {
            id: typed(s, name, "id")?,
            x: field("x")?,
            y: field("y")?,
        },
        "TouchUp" => InputEvent::TouchUp {
            id: typed(s, name, "id")?,
        },
        "TouchFrame" => InputEvent::TouchFrame,
        "TouchCancel" => InputEvent::TouchCancel,
        "VirtualDevicesReady" => {
            return Ok(ElementEvent::AddDevice(typed::<String>(s, name, "path")?));
        }
        _ => return Err(ParseError::NotInput),
    };
    if let Some(reason) = not_finite(&input) {
        return Err(ParseError::Malformed {
            name: name.to_owned(),
            reason,
        });
    }
    Ok(ElementEvent::Input(input))
}

fn typed<T>(s: &StructureRef, name: &str, key: &str) -> Result<T, ParseError>
where
    T: for<'a> gst::glib::value::FromValue<'a> + gst::glib::types::StaticType + 'static,
{
    s.get::<T>(key).map_err(|err| ParseError::Malformed {
        name: name.to_owned(),
        reason: format!("field {key}: {err}"),
    })
}

/// NaN or infinite coordinates would poison the pointer position for good.
fn not_finite(event: &InputEvent) -> Option<String> {
    let values: &[f64] = match event {
        InputEvent::PointerMotion { dx, dy } => &[*dx, *dy],
        InputEvent::PointerMotionAbsolute { x, y }
        | InputEvent::PointerAxis { x, y }
        | InputEvent::TouchDown { x, y, .. }
        | InputEvent::TouchMotion { x, y, .. } => &[*x, *y],
        _ => &[],
    };
    values
        .iter()
        .any(|v| !v.is_finite())
        .then(|| "coordinates must be finite numbers".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(s: &str) -> Result<ElementEvent, ParseError> {
        gst::init().unwrap();
        let s: gst::Structure = s.parse().unwrap();
        parse(&s)
    }

    #[test]
    fn every_event_of_the_interface_parses() {
        let cases = [
            (
                "MouseMoveRelative, pointer_x=(double)1.5, pointer_y=(double)-2",
                InputEvent::PointerMotion { dx: 1.5, dy: -2.0 },
            ),
            (
                "MouseMoveAbsolute, pointer_x=(double)10, pointer_y=(double)20",
                InputEvent::PointerMotionAbsolute { x: 10.0, y: 20.0 },
            ),
            (
                "MouseButton, button=(uint)272, pressed=(boolean)true",
                InputEvent::PointerButton {
                    button: 272,
                    pressed: true,
                },
            ),
            (
                "MouseAxis, x=(double)0, y=(double)120",
                InputEvent::PointerAxis { x: 0.0, y: 120.0 },
            ),
            (
                "KeyboardKey, key=(uint)30, pressed=(boolean)false",
                InputEvent::Key {
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
        ];
        for (text, expected) in cases {
            assert_eq!(parse_str(text), Ok(ElementEvent::Input(expected)), "{text}");
        }
        assert_eq!(
            parse_str("VirtualDevicesReady, path=(string)/dev/input/event7"),
            Ok(ElementEvent::AddDevice("/dev/input/event7".to_owned()))
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
                Err(ParseError::Malformed { reason, .. }) => {
                    assert!(reason.contains("field"), "{reason}")
                }
                other => panic!("{text}: {other:?}"),
            }
        }
        let nan = gst::Structure::builder("MouseMoveRelative")
            .field("pointer_x", f64::NAN)
            .field("pointer_y", 0.0f64)
            .build();
        assert!(matches!(parse(&nan), Err(ParseError::Malformed { .. })));
    }

    #[test]
    fn other_structures_are_not_ours() {
        assert_eq!(
            parse_str("application/x-something, a=(int)1"),
            Err(ParseError::NotInput)
        );
    }
}
