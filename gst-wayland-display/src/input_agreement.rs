//! The host's API, the worker and the element must accept exactly the same input events:
//! one table of valid and malformed events, put through all three.

use gst::glib;
use gst::prelude::ToSendValue;
use gstwaylanddisplaysrc::input_event::{self, ParseError};
use serde_json::{Value, json};
use waylanddisplaycore::InputEvent;

use crate::host::request::{self, Input};
use crate::lobby::protocol::ToWorker;

/// Events as clients write them, and whether they are input the compositor takes.
fn table() -> Vec<(Value, bool)> {
    vec![
        (
            json!({"type": "MouseMoveRelative", "pointer_x": 1.5, "pointer_y": -2}),
            true,
        ),
        (
            json!({"type": "MouseMoveAbsolute", "pointer_x": 10, "pointer_y": 20.25}),
            true,
        ),
        (
            json!({"type": "MouseButton", "button": 272, "pressed": true}),
            true,
        ),
        (json!({"type": "MouseAxis", "x": 0, "y": -120.5}), true),
        (
            json!({"type": "KeyboardKey", "key": 30, "pressed": false}),
            true,
        ),
        (json!({"type": "TouchDown", "id": 0, "x": 5, "y": 6}), true),
        (
            json!({"type": "TouchMotion", "id": 4294967295u32, "x": 5.5, "y": 6}),
            true,
        ),
        (json!({"type": "TouchUp", "id": 1}), true),
        (json!({"type": "TouchFrame"}), true),
        (json!({"type": "TouchCancel"}), true),
        (
            json!({"type": "VirtualDevicesReady", "path": "/dev/input/event7"}),
            true,
        ),
        // Extra fields are ignored everywhere, as Wolf's clients add their own.
        (json!({"type": "TouchFrame", "seq": 7}), true),
        (
            json!({"type": "KeyboardKey", "key": 30, "pressed": true, "note": "x"}),
            true,
        ),
        // Malformed: unknown or missing type, missing or mistyped fields, out of range.
        (json!({"type": "MouseWarp", "x": 1, "y": 2}), false),
        (
            json!({"type": "mousebutton", "button": 272, "pressed": true}),
            false,
        ),
        (json!({"type": "MouseButton", "button": 272}), false),
        (json!({"type": "MouseButton", "pressed": true}), false),
        (
            json!({"type": "MouseButton", "button": -1, "pressed": true}),
            false,
        ),
        (
            json!({"type": "MouseButton", "button": 4294967296u64, "pressed": true}),
            false,
        ),
        (
            json!({"type": "MouseButton", "button": 1.5, "pressed": true}),
            false,
        ),
        (
            json!({"type": "MouseButton", "button": 272, "pressed": 1}),
            false,
        ),
        (
            json!({"type": "MouseButton", "button": 272, "pressed": "true"}),
            false,
        ),
        (
            json!({"type": "KeyboardKey", "key": "30", "pressed": true}),
            false,
        ),
        (
            json!({"type": "MouseMoveAbsolute", "pointer_x": "10", "pointer_y": 20}),
            false,
        ),
        (
            json!({"type": "MouseMoveAbsolute", "pointer_x": true, "pointer_y": 20}),
            false,
        ),
        (
            json!({"type": "MouseMoveAbsolute", "pointer_x": null, "pointer_y": 20}),
            false,
        ),
        (json!({"type": "MouseAxis", "x": 0}), false),
        (json!({"type": "TouchUp"}), false),
        (
            json!({"type": "TouchDown", "id": -3, "x": 5, "y": 6}),
            false,
        ),
        (json!({"type": "VirtualDevicesReady", "path": 7}), false),
        (json!({"type": "VirtualDevicesReady"}), false),
    ]
}

/// The host's API: the body of `POST /api/v1/lobbies/input`.
fn host(event: &Value) -> Result<Vec<InputEvent>, String> {
    let body = json!({"lobby_id": "l", "events": [event]}).to_string();
    request::parse::<Input>(body.as_bytes()).map(|input| input.events)
}

/// The worker: the command line the host writes to its stdin.
fn worker(line: &str) -> Result<Vec<InputEvent>, String> {
    match serde_json::from_str::<ToWorker>(line) {
        Ok(ToWorker::Input { events }) => Ok(events),
        Ok(other) => Err(format!("not an input command: {other:?}")),
        Err(err) => Err(err.to_string()),
    }
}

/// The element: `event` as a program sending custom upstream events would build it —
/// JSON integers as 64-bit integers, fractions as doubles.
fn element(event: &Value) -> Result<InputEvent, ParseError> {
    gst::init().unwrap();
    let object = event.as_object().unwrap();
    let name = object["type"].as_str().unwrap();
    let mut structure = gst::Structure::new_empty(name);
    for (field, value) in object.iter().filter(|(k, _)| k.as_str() != "type") {
        let value: glib::SendValue = match value {
            Value::Bool(b) => b.to_send_value(),
            Value::Number(n) if n.is_i64() => n.as_i64().unwrap().to_send_value(),
            Value::Number(n) if n.is_u64() => n.as_u64().unwrap().to_send_value(),
            Value::Number(n) => n.as_f64().unwrap().to_send_value(),
            Value::String(s) => s.to_send_value(),
            Value::Null => None::<&str>.to_send_value(),
            other => panic!("no structure field for {other}"),
        };
        structure.set_value(field, value);
    }
    input_event::from_structure(&structure)
}

#[test]
fn host_worker_and_element_accept_the_same_events() {
    for (event, valid) in table() {
        let by_host = host(&event);
        let raw_line = json!({"type": "input", "events": [event]}).to_string();
        let by_worker = worker(&raw_line);
        let by_element = element(&event);
        assert_eq!(by_host.is_ok(), valid, "host on {event}: {by_host:?}");
        assert_eq!(by_worker.is_ok(), valid, "worker on {event}: {by_worker:?}");
        assert_eq!(
            by_element.is_ok(),
            valid,
            "element on {event}: {by_element:?}"
        );
        let (Ok(host_events), Ok(worker_events), Ok(element_event)) =
            (by_host, by_worker, by_element)
        else {
            continue;
        };
        assert_eq!(host_events, worker_events, "{event}");
        assert_eq!(host_events, std::slice::from_ref(&element_event), "{event}");

        // What the host forwards, the worker reads back, and the element gets it unchanged.
        let forwarded = serde_json::to_string(&ToWorker::Input {
            events: host_events.clone(),
        })
        .unwrap();
        assert_eq!(worker(&forwarded).unwrap(), host_events, "{event}");
        let structure = input_event::to_structure(&element_event);
        assert_eq!(
            input_event::from_structure(&structure),
            Ok(element_event),
            "{event}"
        );
    }
}

#[test]
fn the_three_say_the_same_about_what_is_wrong() {
    for (event, valid) in table() {
        if valid || event["type"] == "MouseWarp" || event["type"] == "mousebutton" {
            continue;
        }
        // Each carrier names the wrong value in its own terms ("null", "a null string");
        // the event, the field and what it must be are the vocabulary's.
        let field_error = match element(&event) {
            Err(ParseError::Malformed(err)) => err.to_string(),
            other => panic!("element on {event}: {other:?}"),
        };
        let field_error = field_error.split(", not ").next().unwrap().to_owned();
        let by_host = host(&event).unwrap_err();
        assert!(by_host.contains(&field_error), "{by_host} vs {field_error}");
        let by_worker = worker(&json!({"type": "input", "events": [event]}).to_string());
        let by_worker = by_worker.unwrap_err();
        assert!(
            by_worker.contains(&field_error),
            "{by_worker} vs {field_error}"
        );
    }
    // A name outside the vocabulary is someone else's event to the element, an error to
    // the API and the worker.
    let unknown = json!({"type": "MouseWarp", "x": 1, "y": 2});
    assert_eq!(element(&unknown), Err(ParseError::NotInput));
    assert!(
        host(&unknown)
            .unwrap_err()
            .contains("unknown input event type")
    );
}

/// Property tests (docs/RELIABILITY.md): generated events, valid and malformed, put
/// through the same three carriers as the table above.
mod props {
    use proptest::prelude::*;
    use serde_json::{Map, Value, json};

    use super::*;

    /// Cases per property; it takes well under a second in a debug build.
    const CASES: u32 = 8192;

    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: CASES,
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    /// A field value as a client may write it: mostly of the right kind, sometimes not.
    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<u32>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            (-2.0..2.0f64).prop_map(Value::from),
            any::<bool>().prop_map(Value::from),
            "[^\u{0}]{0,8}".prop_map(Value::from),
            ("[^\u{0}]{0,4}", "[^\u{0}]{0,4}").prop_map(|(a, b)| Value::from(format!("{a}\0{b}"))),
            Just(Value::Null),
        ]
    }

    /// An event object: a known type (or a made-up one) with some of the vocabulary's
    /// fields and others.
    fn event_object() -> impl Strategy<Value = Value> {
        let name = prop_oneof![
            6 => prop::sample::select(InputEvent::NAMES.to_vec()).prop_map(str::to_owned),
            1 => "[A-Za-z][A-Za-z0-9]{0,10}",
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
            "seq",
        ]);
        (name, prop::collection::btree_map(field, value(), 0..5)).prop_map(|(name, fields)| {
            let mut object: Map<String, Value> =
                fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            object.insert("type".to_owned(), json!(name));
            Value::Object(object)
        })
    }

    proptest! {
        #![proptest_config(config())]

        /// The host, the worker and the element take and refuse the same events, and what
        /// they take is the same event, forwarded unchanged.
        #[test]
        fn host_worker_and_element_agree(object in prop_oneof![
            event_object(),
            event().prop_map(|e| serde_json::to_value(e).unwrap()),
        ]) {
            let event = object;
            let by_host = host(&event);
            let by_worker = worker(&json!({"type": "input", "events": [event]}).to_string());
            prop_assert_eq!(
                by_host.is_ok(),
                by_worker.is_ok(),
                "{}: {:?} vs {:?}",
                event,
                by_host,
                by_worker,
            );
            let has_nul = event
                .as_object()
                .is_some_and(|o| o.values().any(|v| v.as_str().is_some_and(|s| s.contains('\0'))));
            if has_nul {
                // No GStreamer structure can hold it; the other two must refuse it if the
                // event reads the field (and otherwise ignore it).
                return Ok(());
            }
            let by_element = element(&event);
            let name_known =
                InputEvent::NAMES.contains(&event["type"].as_str().unwrap_or_default());
            match (&by_host, &by_element) {
                (Ok(host_events), Ok(element_event)) => {
                    prop_assert!(
                        same_events(host_events, std::slice::from_ref(element_event)),
                        "{}",
                        event,
                    );
                    let forwarded = serde_json::to_string(&ToWorker::Input {
                        events: host_events.clone(),
                    })
                    .unwrap();
                    let again = worker(&forwarded).unwrap();
                    prop_assert!(same_events(&again, host_events), "{}", forwarded);
                }
                (Err(_), Err(ParseError::NotInput)) => prop_assert!(!name_known),
                (Err(_), Err(ParseError::Malformed(_))) => prop_assert!(name_known),
                _ => prop_assert!(false, "{}: host {:?}, element {:?}", event, by_host, by_element),
            }
        }
    }
}

/// Every valid event (as the core's own property tests generate them), for this crate's
/// property tests.
pub(crate) fn event() -> impl proptest::strategy::Strategy<Value = InputEvent> {
    use proptest::prelude::*;
    let x = || {
        prop_oneof![
            any::<f64>(),
            -5000.0..5000.0f64,
            prop::sample::select(vec![0.0, -0.0, f64::MAX, f64::MIN, f64::MIN_POSITIVE]),
        ]
    };
    let n = any::<u32>;
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
        (n(), any::<bool>()).prop_map(|(key, pressed)| InputEvent::KeyboardKey { key, pressed }),
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

/// Events compared field by field, floats by their bits (`-0.0` is not `0.0`).
pub(crate) fn same_events(a: &[InputEvent], b: &[InputEvent]) -> bool {
    use waylanddisplaycore::FieldValue;
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
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(a, b)| a.name() == b.name() && bits(a) == bits(b))
}
