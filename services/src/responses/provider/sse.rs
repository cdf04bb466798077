//! A decoder of server-sent events (the `text/event-stream` format both provider APIs stream
//! in): bytes in, `(event, data)` pairs out, whatever the chunk boundaries.
//!
//! Only what the APIs use is kept: the `event` field and the `data` lines (joined by `\n`);
//! comments (`: ping`), `id` and `retry` are skipped. A line longer than the limit is an error,
//! so a server that never sends a newline cannot make us buffer without end.

/// One event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// The `event:` field, empty when absent (the default event type, `message`).
    pub event: String,
    /// The `data:` lines, joined by `\n`.
    pub data: String,
}

/// A line longer than the decoder's limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("server-sent event line longer than {limit} bytes")]
pub struct LineTooLong {
    /// The limit, in bytes.
    pub limit: usize,
}

/// Incremental decoder: [`push`](Self::push) bytes as they arrive, then take the events that
/// are complete with [`next_event`](Self::next_event).
#[derive(Debug)]
pub struct SseDecoder {
    buffer: Vec<u8>,
    /// Bytes of `buffer` already consumed.
    start: usize,
    pending: SseEvent,
    has_data: bool,
    limit: usize,
}

impl SseDecoder {
    /// A decoder refusing lines longer than `limit` bytes.
    pub fn new(limit: usize) -> Self {
        Self {
            buffer: Vec::new(),
            start: 0,
            pending: SseEvent::default(),
            has_data: false,
            limit,
        }
    }

    /// The buffer new bytes are appended to (by the HTTP body reader).
    pub fn buffer(&mut self) -> &mut Vec<u8> {
        if self.start > 0 {
            self.buffer.drain(..self.start);
            self.start = 0;
        }
        &mut self.buffer
    }

    /// Appends `bytes`.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer().extend_from_slice(bytes);
    }

    /// The next complete event, if the bytes so far hold one.
    pub fn next_event(&mut self) -> Result<Option<SseEvent>, LineTooLong> {
        loop {
            let rest = &self.buffer[self.start..];
            let Some(end) = rest.iter().position(|b| *b == b'\n') else {
                if rest.len() > self.limit {
                    return Err(LineTooLong { limit: self.limit });
                }
                return Ok(None);
            };
            let mut line = &rest[..end];
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            let line = String::from_utf8_lossy(line).into_owned();
            self.start += end + 1;
            if line.is_empty() {
                if self.has_data {
                    self.has_data = false;
                    return Ok(Some(std::mem::take(&mut self.pending)));
                }
                self.pending = SseEvent::default();
                continue;
            }
            let (field, value) = match line.split_once(':') {
                Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
                None => (line.as_str(), ""),
            };
            match field {
                "event" => value.clone_into(&mut self.pending.event),
                "data" => {
                    if self.has_data {
                        self.pending.data.push('\n');
                    }
                    self.pending.data.push_str(value);
                    self.has_data = true;
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_survive_any_chunking() {
        let text = "event: message_start\r\ndata: {\"a\":1}\r\n\r\n: ping\n\ndata: x\ndata: y\n\ndata: [DONE]\n\n";
        for split in 1..text.len() {
            let mut decoder = SseDecoder::new(1024);
            let mut events = Vec::new();
            for chunk in text.as_bytes().chunks(split) {
                decoder.push(chunk);
                while let Some(event) = decoder.next_event().unwrap() {
                    events.push(event);
                }
            }
            assert_eq!(
                events,
                [
                    SseEvent {
                        event: "message_start".into(),
                        data: "{\"a\":1}".into()
                    },
                    SseEvent {
                        event: String::new(),
                        data: "x\ny".into()
                    },
                    SseEvent {
                        event: String::new(),
                        data: "[DONE]".into()
                    },
                ],
                "chunks of {split}"
            );
        }
    }

    #[test]
    fn an_endless_line_is_refused() {
        let mut decoder = SseDecoder::new(8);
        decoder.push(b"data: 0123456789");
        assert_eq!(decoder.next_event(), Err(LineTooLong { limit: 8 }));
    }
}
