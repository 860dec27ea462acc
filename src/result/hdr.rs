//! The `hdr` field: every histogram travels whole, as base64 of the
//! HdrHistogram V2 + DEFLATE encoding, so any HdrHistogram implementation
//! reads it and results merge exactly (docs/result-schema.md).

use base64::Engine;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use hdrhistogram::Histogram;

use super::ResultError;
use crate::metrics::Metric;
use crate::proto::Mode;

pub fn encode_hdr(h: &Histogram<u64>) -> String {
    let mut buf = Vec::new();
    V2DeflateSerializer::new()
        .serialize(h, &mut buf)
        .expect("serializing into a Vec cannot fail");
    base64::engine::general_purpose::STANDARD.encode(buf)
}

pub fn decode_hdr(s: &str) -> Result<Histogram<u64>, String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|e| e.to_string())?;
    Deserializer::new()
        .deserialize(&mut bytes.as_slice())
        .map_err(|e| format!("{e:?}"))
}

/// Decodes a histogram into one with the metric's full bounds, so it adds to any other.
pub fn decode_full(m: Metric, mode: Mode, hdr: &str) -> Result<Histogram<u64>, ResultError> {
    let err = |message| ResultError::Hdr {
        mode,
        metric: m.as_str(),
        message,
    };
    let h = decode_hdr(hdr).map_err(err)?;
    let mut full = m.new_histogram();
    full.add(&h).map_err(|e| err(format!("{e:?}")))?;
    Ok(full)
}
