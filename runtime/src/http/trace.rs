//! The W3C `traceparent` header sent with every attempt.
//!
//! When spans are exported (`[telemetry] otlp_endpoint`), the header carries the current span's
//! OpenTelemetry context — the attempt's `dependency.attempt` span, or the request span when the
//! trace filter leaves attempts out — so the upstream's spans join the same trace as ours.
//!
//! Otherwise the trace ID is derived from the call's correlation ID, so every attempt of one
//! request — and every service that forwards the same correlation ID — shares one trace: a UUID
//! correlation ID *is* the 128-bit trace ID; any other text is hashed (FNV-1a, 128 bits) into one.
//! Each attempt then gets a fresh random parent (span) ID.

use http::HeaderValue;

use crate::dependency::CallContext;

/// The header's name.
pub const TRACEPARENT: &str = "traceparent";

/// A `traceparent` value (version 00) for one attempt of the call in `ctx`: the current span's
/// when it belongs to an exported trace, else one derived from the correlation ID (sampled).
pub fn traceparent(ctx: &CallContext) -> Option<HeaderValue> {
    if let Some(value) = crate::telemetry::current_traceparent() {
        return Some(value);
    }
    let trace_id = trace_id(ctx.correlation_id().as_str());
    // Zero is invalid for both IDs.
    let span_id = rand::random::<u64>().max(1);
    HeaderValue::try_from(format!("00-{trace_id:032x}-{span_id:016x}-01")).ok()
}

/// The trace ID of a correlation ID (never zero).
pub fn trace_id(correlation_id: &str) -> u128 {
    let id = match uuid::Uuid::try_parse(correlation_id) {
        Ok(uuid) => uuid.as_u128(),
        Err(_) => fnv1a_128(correlation_id.as_bytes()),
    };
    id.max(1)
}

fn fnv1a_128(bytes: &[u8]) -> u128 {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    bytes.iter().fold(OFFSET, |hash, b| {
        (hash ^ u128::from(*b)).wrapping_mul(PRIME)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::correlation::CorrelationId;

    #[test]
    fn a_uuid_correlation_id_is_the_trace_id() {
        let id = "0190b2a4-7c1e-7d3a-9f00-123456789abc";
        assert_eq!(trace_id(id), 0x0190b2a4_7c1e_7d3a_9f00_123456789abc);
    }

    #[test]
    fn other_ids_hash_stably() {
        assert_eq!(trace_id("order-42"), trace_id("order-42"));
        assert_ne!(trace_id("order-42"), trace_id("order-43"));
        assert_ne!(trace_id(""), 0);
    }

    #[test]
    fn header_format() {
        let ctx = CallContext::new(CorrelationId::from_static("req-1"));
        let a = traceparent(&ctx).unwrap();
        let b = traceparent(&ctx).unwrap();
        let a = a.to_str().unwrap();
        let parts: Vec<&str> = a.split('-').collect();
        assert_eq!(parts.len(), 4);
        assert_eq!((parts[0], parts[3]), ("00", "01"));
        assert_eq!(parts[1].len(), 32);
        assert_eq!(parts[2].len(), 16);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit() || c == b'-'));
        assert_eq!(
            parts[1],
            &b.to_str().unwrap()[3..35],
            "same trace, new span"
        );
    }
}
