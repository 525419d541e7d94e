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
