//! The lobby pipeline's audio branch: the sink's monitor, recorded on the pipeline's clock
//! (the same running time as the video), encoded to Opus with low-latency settings, into
//! the lobby's audio fragment.

use gst::prelude::*;

use super::RATE;

/// Every element of the branch is named with this prefix: an error from one of them
/// fails the lobby's audio, not the lobby.
pub(crate) const PREFIX: &str = "gwd_audio_";
/// The source, whose `server` and `device` are set once the pipeline is parsed (never
/// written into the description, so that no address needs quoting).
pub(crate) const SOURCE: &str = "gwd_audio_src";
/// The encoder: an audio failure ends the stream here, so that muxers finish the track.
pub(crate) const ENCODER: &str = "gwd_audio_enc";
/// Elements between the source and the encoder, stopped when the audio fails.
const CAPTURE: [&str; 4] = [
    SOURCE,
    "gwd_audio_queue",
    "gwd_audio_convert",
    "gwd_audio_resample",
];

/// Where encoded audio goes when nobody said: dropped, as the video's default sink.
pub(crate) const DEFAULT_FRAGMENT: &str = "fakesink sync=false";

/// Opus's bit rate for `channels`: 64 kbit/s a channel, within what opusenc takes.
fn bitrate(channels: u8) -> u32 {
    (64_000 * u32::from(channels)).clamp(64_000, 512_000)
}

/// The branch as a gst-launch description, ending in `fragment` (which may name an
/// element of the video's sink, e.g. `mux.`).
pub(crate) fn description(channels: u8, fragment: &str) -> String {
    // 10 ms reads from a 100 ms buffer; 10 ms Opus frames in CELT only (no look-ahead),
    // constant rate: what streaming clients decode with the least delay. The queue drops
    // the oldest audio rather than stall capture when the encoder falls behind.
    format!(
        "pulsesrc name={SOURCE} provide-clock=false buffer-time=100000 latency-time=10000 \
         client-name=gst-wayland-display \
         ! queue name=gwd_audio_queue leaky=downstream max-size-time=200000000 \
         max-size-buffers=0 max-size-bytes=0 \
         ! audioconvert name=gwd_audio_convert ! audioresample name=gwd_audio_resample \
         ! audio/x-raw,format=S16LE,rate={RATE},channels={channels} \
         ! opusenc name={ENCODER} bitrate={bitrate} bitrate-type=cbr frame-size=10 \
         audio-type=restricted-lowdelay \
         ! {fragment}",
        bitrate = bitrate(channels),
    )
}

/// Points the parsed branch at the sink's monitor on `server`.
pub(crate) fn configure(pipeline: &gst::Pipeline, server: &str, monitor: &str) -> Result<(), String> {
    let source = pipeline
        .by_name(SOURCE)
        .ok_or_else(|| "the pipeline has no audio source".to_owned())?;
    source.set_property("server", server);
    source.set_property("device", monitor);
    Ok(())
}

/// Whether `element` (a message's source) belongs to the audio branch.
pub(crate) fn is_audio_element(name: &str) -> bool {
    name.starts_with(PREFIX)
}

/// Stops capturing and ends the audio stream, leaving the rest of the pipeline playing:
/// the capture elements go to NULL (locked there, so the pipeline's later state changes
/// leave them be) and the encoder gets EOS, which muxers take as the track's end.
pub(crate) fn stop(pipeline: &gst::Pipeline) {
    for name in CAPTURE {
        if let Some(element) = pipeline.by_name(name) {
            element.set_locked_state(true);
            let _ = element.set_state(gst::State::Null);
        }
    }
    if let Some(pad) = pipeline
        .by_name(ENCODER)
        .and_then(|encoder| encoder.static_pad("sink"))
    {
        pad.send_event(gst::event::Eos::new());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_branch_parses_for_every_channel_count() {
        gst::init().unwrap();
        for channels in 1..=super::super::MAX_CHANNELS {
            let description = description(channels, DEFAULT_FRAGMENT);
            let pipeline = gst::parse::launch(&description)
                .unwrap()
                .downcast::<gst::Pipeline>()
                .unwrap();
            configure(&pipeline, "unix:/nonexistent", "x.monitor").unwrap();
            for name in CAPTURE.iter().chain([&ENCODER]) {
                let element = pipeline.by_name(name).unwrap();
                assert!(is_audio_element(&element.name()));
            }
        }
        assert_eq!(bitrate(1), 64_000);
        assert_eq!(bitrate(2), 128_000);
        assert_eq!(bitrate(8), 512_000);
    }
}
