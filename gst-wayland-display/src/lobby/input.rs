//! The element's input events as JSON (`{"type": "MouseButton", "button": 272, "pressed":
//! true}`), checked against the event vocabulary of DESIGN.md and turned into the
//! GStreamer structures the element takes.

use serde_json::{Map, Value};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    F64,
    U32,
    Bool,
    Str,
}

/// Every event the element takes, with its fields and their types.
const EVENTS: &[(&str, &[(&str, Kind)])] = &[
    (
        "MouseMoveRelative",
        &[("pointer_x", Kind::F64), ("pointer_y", Kind::F64)],
    ),
    (
        "MouseMoveAbsolute",
        &[("pointer_x", Kind::F64), ("pointer_y", Kind::F64)],
    ),
    (
        "MouseButton",
        &[("button", Kind::U32), ("pressed", Kind::Bool)],
    ),
    ("MouseAxis", &[("x", Kind::F64), ("y", Kind::F64)]),
    (
        "KeyboardKey",
        &[("key", Kind::U32), ("pressed", Kind::Bool)],
    ),
    (
        "TouchDown",
        &[("id", Kind::U32), ("x", Kind::F64), ("y", Kind::F64)],
    ),
    (
        "TouchMotion",
        &[("id", Kind::U32), ("x", Kind::F64), ("y", Kind::F64)],
    ),
    ("TouchUp", &[("id", Kind::U32)]),
    ("TouchFrame", &[]),
    ("TouchCancel", &[]),
    ("VirtualDevicesReady", &[("path", Kind::Str)]),
];

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum FieldValue {
    F64(f64),
    U32(u32),
    Bool(bool),
    Str(String),
}

/// One checked input event.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct InputEvent {
    pub(crate) name: &'static str,
    pub(crate) fields: Vec<(&'static str, FieldValue)>,
}

/// Checks one JSON event; the error says which event and field is wrong.
pub(crate) fn parse(value: &Value) -> Result<InputEvent, String> {
    let object = value
        .as_object()
        .ok_or_else(|| "an input event must be a JSON object".to_owned())?;
    let kind = object
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| "an input event needs a string field \"type\"".to_owned())?;
    let (name, schema) = EVENTS
        .iter()
        .find(|(name, _)| *name == kind)
        .ok_or_else(|| {
            let known: Vec<&str> = EVENTS.iter().map(|(n, _)| *n).collect();
            format!(
                "unknown input event type {kind:?}; known: {}",
                known.join(", ")
            )
        })?;
    let fields = schema
        .iter()
        .map(|&(field, kind)| Ok((field, field_value(object, name, field, kind)?)))
        .collect::<Result<_, String>>()?;
    Ok(InputEvent { name, fields })
}

fn field_value(
    object: &Map<String, Value>,
    event: &str,
    field: &str,
    kind: Kind,
) -> Result<FieldValue, String> {
    let value = object
        .get(field)
        .ok_or_else(|| format!("{event}: missing field {field:?}"))?;
    let wrong = || format!("{event}: field {field:?} must be {}", describe(kind));
    Ok(match kind {
        Kind::F64 => FieldValue::F64(value.as_f64().filter(|v| v.is_finite()).ok_or_else(wrong)?),
        Kind::U32 => FieldValue::U32(
            value
                .as_u64()
                .and_then(|v| u32::try_from(v).ok())
                .ok_or_else(wrong)?,
        ),
        Kind::Bool => FieldValue::Bool(value.as_bool().ok_or_else(wrong)?),
        Kind::Str => FieldValue::Str(value.as_str().ok_or_else(wrong)?.to_owned()),
    })
}

fn describe(kind: Kind) -> &'static str {
    match kind {
        Kind::F64 => "a finite number",
        Kind::U32 => "an integer from 0 to 4294967295",
        Kind::Bool => "true or false",
        Kind::Str => "a string",
    }
}

impl InputEvent {
    /// The structure the element expects, with exactly its field types.
    pub(crate) fn to_structure(&self) -> gst::Structure {
        let mut builder = gst::Structure::builder(self.name);
        for (field, value) in &self.fields {
            builder = match value {
                FieldValue::F64(v) => builder.field(*field, *v),
                FieldValue::U32(v) => builder.field(*field, *v),
                FieldValue::Bool(v) => builder.field(*field, *v),
                FieldValue::Str(v) => builder.field(*field, v.as_str()),
            };
        }
        builder.build()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_event_parses_with_its_types() {
        gst::init().unwrap();
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
            let event = parse(&case).unwrap_or_else(|e| panic!("{case}: {e}"));
            let s = event.to_structure();
            assert_eq!(s.name(), case["type"].as_str().unwrap());
        }
        let s = parse(&json!({"type": "MouseButton", "button": 272, "pressed": true}))
            .unwrap()
            .to_structure();
        assert_eq!(s.get::<u32>("button").unwrap(), 272);
        let s = parse(&json!({"type": "MouseMoveAbsolute", "pointer_x": 10, "pointer_y": 2}))
            .unwrap()
            .to_structure();
        assert_eq!(s.get::<f64>("pointer_x").unwrap(), 10.0);
    }

    #[test]
    fn mistakes_are_named() {
        for (case, needle) in [
            (json!(42), "JSON object"),
            (json!({"button": 1}), "\"type\""),
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
        ] {
            let err = parse(&case).unwrap_err();
            assert!(err.contains(needle), "{case}: {err}");
        }
    }
}
