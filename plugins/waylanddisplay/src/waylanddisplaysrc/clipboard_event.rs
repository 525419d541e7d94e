//! The clipboard through the element, for pipelines that drive it themselves (as Wolf
//! does): custom upstream events ask, an application message on the bus answers.
//!
//! - `ClipboardSet`: `text` (string), or `mime-type` (string) and `data` (a `GstBuffer` or
//!   `GBytes`). The compositor then holds that content for every client that pastes.
//! - `ClipboardGet`: optional `mime-type` (string; text before PNG when absent), optional
//!   `id` (uint64, echoed). Answered by the message [`REPLY`] with `id`, `mime-type`,
//!   `data` (a `GstBuffer`) and, for valid UTF-8 text, `text`; or with `id` and `error`.

use gst::glib;
use waylanddisplaycore::clipboard::ClipboardContent;

/// The name of the answer to `ClipboardGet`.
pub const REPLY: &str = "wayland.clipboard";
pub const SET: &str = "ClipboardSet";
pub const GET: &str = "ClipboardGet";

/// A clipboard request the element understood.
#[derive(Debug, PartialEq)]
pub enum ClipboardRequest {
    Set(ClipboardContent),
    Get {
        wanted: Vec<String>,
        id: Option<u64>,
    },
}

/// The request in `structure`: `None` when it is not a clipboard event, an error when it is
/// one but malformed.
pub fn from_structure(structure: &gst::StructureRef) -> Option<Result<ClipboardRequest, String>> {
    match structure.name().as_str() {
        SET => Some(set(structure)),
        GET => Some(get(structure)),
        _ => None,
    }
}

fn set(s: &gst::StructureRef) -> Result<ClipboardRequest, String> {
    if let Ok(text) = s.get::<String>("text") {
        return Ok(ClipboardRequest::Set(ClipboardContent::text(text)));
    }
    let mime_type = s
        .get::<String>("mime-type")
        .map_err(|_| format!("{SET}: needs a string `text`, or `mime-type` and `data`"))?;
    let data = if let Ok(buffer) = s.get::<gst::Buffer>("data") {
        let map = buffer
            .map_readable()
            .map_err(|_| format!("{SET}: the data buffer cannot be read"))?;
        map.as_slice().to_vec()
    } else if let Ok(bytes) = s.get::<glib::Bytes>("data") {
        bytes.to_vec()
    } else {
        return Err(format!("{SET}: `data` must be a GstBuffer or GBytes"));
    };
    Ok(ClipboardRequest::Set(ClipboardContent { mime_type, data }))
}

fn get(s: &gst::StructureRef) -> Result<ClipboardRequest, String> {
    let wanted = match s.get_optional::<String>("mime-type") {
        Ok(Some(mime)) => vec![mime],
        Ok(None) => Vec::new(),
        Err(_) => return Err(format!("{GET}: `mime-type` must be a string")),
    };
    let id = s
        .get_optional::<u64>("id")
        .map_err(|_| format!("{GET}: `id` must be a uint64"))?;
    Ok(ClipboardRequest::Get { wanted, id })
}

/// The answer to a `ClipboardGet`.
pub fn reply(id: Option<u64>, result: Result<ClipboardContent, String>) -> gst::Structure {
    let mut reply = gst::Structure::builder(REPLY);
    if let Some(id) = id {
        reply = reply.field("id", id);
    }
    match result {
        Ok(content) => {
            let text = content
                .is_text()
                .then(|| String::from_utf8(content.data.clone()).ok())
                .flatten();
            reply = reply
                .field("mime-type", &content.mime_type)
                .field("data", gst::Buffer::from_mut_slice(content.data));
            if let Some(text) = text {
                reply = reply.field("text", text);
            }
        }
        Err(error) => reply = reply.field("error", error),
    }
    reply.build()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;
    use waylanddisplaycore::clipboard::PNG;

    fn init() {
        gst::init().unwrap();
    }

    #[test]
    fn set_takes_text_or_typed_data() {
        init();
        let s = gst::Structure::builder(SET).field("text", "héllo").build();
        assert_eq!(
            from_structure(&s).unwrap().unwrap(),
            ClipboardRequest::Set(ClipboardContent::text("héllo"))
        );
        let s = gst::Structure::builder(SET)
            .field("mime-type", PNG)
            .field("data", gst::Buffer::from_slice(vec![1u8, 2, 3]))
            .build();
        assert_eq!(
            from_structure(&s).unwrap().unwrap(),
            ClipboardRequest::Set(ClipboardContent {
                mime_type: PNG.to_owned(),
                data: vec![1, 2, 3]
            })
        );
        let s = gst::Structure::builder(SET).field("mime-type", PNG).build();
        assert!(from_structure(&s).unwrap().is_err());
    }

    #[test]
    fn get_reads_its_type_and_id_and_other_events_are_not_ours() {
        init();
        let s = gst::Structure::builder(GET)
            .field("mime-type", PNG)
            .field("id", 7u64)
            .build();
        assert_eq!(
            from_structure(&s).unwrap().unwrap(),
            ClipboardRequest::Get {
                wanted: vec![PNG.to_owned()],
                id: Some(7)
            }
        );
        let s = gst::Structure::builder(GET).field("id", "x").build();
        assert!(from_structure(&s).unwrap().is_err());
        let s = gst::Structure::builder("MouseButton").build();
        assert!(from_structure(&s).is_none());
    }

    #[test]
    fn a_reply_carries_text_only_for_text() {
        init();
        let r = reply(Some(3), Ok(ClipboardContent::text("a✓")));
        assert_eq!(r.get::<u64>("id").unwrap(), 3);
        assert_eq!(r.get::<String>("text").unwrap(), "a✓");
        let png = ClipboardContent {
            mime_type: PNG.to_owned(),
            data: vec![0x89, b'P'],
        };
        let r = reply(None, Ok(png));
        assert!(r.get::<String>("text").is_err());
        let data = r.get::<gst::Buffer>("data").unwrap();
        assert_eq!(data.map_readable().unwrap().as_slice(), &[0x89, b'P']);
        let r = reply(None, Err("empty".to_owned()));
        assert_eq!(r.get::<String>("error").unwrap(), "empty");
    }
}
