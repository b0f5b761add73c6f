//! Fuzz the event-stream reader (`angraph_train::stream::Stream::parse`, both the TrueAsync DFG
//! JSON and the timed form) and, for every stream it accepts, the transform that consumes it
//! (`Stream::to_graph`, angraph-core's builder). Neither may panic.
//!
//! Seeds: `data/streams/*.json` (see docs/hardening.md).
#![no_main]

use angraph_train::stream::Stream;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(stream) = Stream::parse(text, "fuzz.json") else {
        return;
    };
    let _ = stream.to_graph();
});
