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
/// The encoder.
pub(crate) const ENCODER: &str = "gwd_audio_enc";
/// The elements the branch is made of before its fragment.
#[cfg(test)]
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
    64_000u32
        .saturating_mul(u32::from(channels))
        .clamp(64_000, 512_000)
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
pub(crate) fn configure(
    pipeline: &gst::Pipeline,
    server: &str,
    monitor: &str,
) -> Result<(), String> {
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

/// Stops capturing and ends the audio stream, leaving the rest of the pipeline playing.
/// Runs on a thread of its own, which the caller may wait for a while but never must: a
/// source whose server died mid-state-change can hold locks a while, and nothing of the
/// lobby may wait on it.
///
/// The source is locked out of the pipeline's state changes and taken to NULL; what comes
/// after it gets EOS, which muxers take as the track's end (a source that failed in its
/// streaming thread sent one already; one that failed changing state did not); then the
/// pipeline is asked to play again, since a source that failed while the pipeline went to
/// PLAYING leaves that change undone and every sink waiting.
pub(crate) fn stop(pipeline: &gst::Pipeline) -> Option<std::thread::JoinHandle<()>> {
    let source = pipeline.by_name(SOURCE)?;
    source.set_locked_state(true);
    let pipeline = pipeline.clone();
    std::thread::Builder::new()
        .name("audio-stop".to_owned())
        .spawn(move || {
            let _ = source.set_state(gst::State::Null);
            if let Some(peer) = source.static_pad("src").and_then(|pad| pad.peer()) {
                peer.send_event(gst::event::Eos::new());
            }
            let _ = pipeline.set_state(gst::State::Playing);
        })
        .map_err(|err| tracing::warn!(%err, "cannot stop the audio branch"))
        .ok()
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
