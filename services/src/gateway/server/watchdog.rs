//! The per-connection clock: which deadline applies now, as a pure state machine. It is told
//! what the connection did and when ([`Observed`]), never woken per request: the connection looks
//! when its timer fires, at the latest every [`Watchdog::check_every`], so a late look still sets
//! exact deadlines.
//!
//! | state | entered when | deadline | on expiry |
//! | --- | --- | --- | --- |
//! | `Head` | accepted (TLS handshake included); first byte after an idle spell (HTTP/1) | `header_read_timeout` | close at once |
//! | `Busy` | a request head was parsed (a request is in flight) | none | — |
//! | `Idle` | the last in-flight response was sent (or dropped) | `keep_alive_idle_timeout` | graceful close |
//! | `Closing` | the idle deadline passed and a graceful close was asked | `header_read_timeout` | close at once |
//!
//! Hyper's own HTTP/1 `header_read_timeout` is not used: it starts as soon as hyper waits for the
//! next request head, idle time included, so it would cap keep-alive connections at the header
//! timeout. Here the header clock of a kept-alive connection starts with the first byte of the
//! next request. On HTTP/2 connections bytes between requests (pings, window updates) do not
//! start the header clock.

use std::time::Duration;

use tokio::time::Instant;

/// The two timeouts the watchdog enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Timeouts {
    /// Time to send a whole request head.
    pub(super) header_read: Duration,
    /// Time an idle keep-alive connection is kept.
    pub(super) idle: Duration,
}

/// What the connection has been doing, as last published by its reader and its service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Observed {
    /// Requests started on the connection so far. A request can start and finish between two
    /// observations; this count shows it happened.
    pub(super) started: u64,
    /// Requests whose response has not been sent or dropped yet.
    pub(super) in_flight: usize,
    /// When the last request ended (meaningful once a request started and none is in flight).
    pub(super) idle_since: Instant,
    /// When the first byte after that arrived, if one did.
    pub(super) head_since: Option<Instant>,
    /// The connection speaks HTTP/2.
    pub(super) http2: bool,
}

/// Which deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Expiry {
    /// The request head did not arrive in time: close the connection.
    HeaderRead,
    /// The connection sat idle too long: close it gracefully.
    Idle,
    /// A graceful close did not finish in time: close the connection.
    Closing,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head(Instant),
    Busy,
    Idle(Instant),
    Closing(Instant),
}

/// The clock of one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Watchdog {
    timeouts: Timeouts,
    state: State,
    started: u64,
}

impl Watchdog {
    /// A connection accepted at `accepted`: its first request head is due.
    pub(super) fn new(accepted: Instant, timeouts: Timeouts) -> Self {
        Self {
            timeouts,
            state: State::Head(accepted + timeouts.header_read),
            started: 0,
        }
    }

    /// The longest the connection may go without a look: a head that starts on an idle
    /// connection, or a request that ends, is seen within this time (and its deadline counted
    /// from when it happened).
    pub(super) fn check_every(&self) -> Duration {
        self.timeouts.header_read.min(self.timeouts.idle)
    }

    /// Takes in what the connection did.
    pub(super) fn observe(&mut self, seen: Observed) {
        let served_since = seen.started != self.started;
        self.started = seen.started;
        if matches!(self.state, State::Closing(_)) {
            return;
        }
        if seen.in_flight > 0 {
            self.state = State::Busy;
            return;
        }
        // The last request ended, also one that started and ended between two observations.
        let request_ended = served_since || self.state == State::Busy;
        let head_since = seen.head_since.filter(|_| !seen.http2);
        self.state = match (self.state, head_since) {
            (_, Some(at)) if request_ended => State::Head(at + self.timeouts.header_read),
            _ if request_ended => State::Idle(seen.idle_since + self.timeouts.idle),
            (State::Idle(_), Some(at)) => State::Head(at + self.timeouts.header_read),
            (unchanged, _) => unchanged,
        };
    }

    /// When the connection should look next: its deadline, or sooner by
    /// [`check_every`](Self::check_every) from `now`.
    pub(super) fn next_look(&self, now: Instant) -> Instant {
        let check = now + self.check_every();
        self.deadline().map_or(check, |at| at.min(check))
    }

    /// When the current deadline passes; `None` while a request is in flight.
    pub(super) fn deadline(&self) -> Option<Instant> {
        match self.state {
            State::Head(at) | State::Idle(at) | State::Closing(at) => Some(at),
            State::Busy => None,
        }
    }

    /// Called when the deadline may have passed: which one did, if any. After `Expiry::Idle` the
    /// watchdog gives the graceful close `header_read` to finish.
    pub(super) fn expire(&mut self, now: Instant) -> Option<Expiry> {
        match self.state {
            State::Head(at) if now >= at => Some(Expiry::HeaderRead),
            State::Idle(at) if now >= at => {
                self.state = State::Closing(now + self.timeouts.header_read);
                Some(Expiry::Idle)
            }
            State::Closing(at) if now >= at => Some(Expiry::Closing),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: Duration = Duration::from_secs(10);
    const IDLE: Duration = Duration::from_secs(60);

    fn watchdog(start: Instant) -> Watchdog {
        Watchdog::new(
            start,
            Timeouts {
                header_read: HEAD,
                idle: IDLE,
            },
        )
    }

    fn seen(
        started: u64,
        in_flight: usize,
        idle_since: Instant,
        head_since: Option<Instant>,
    ) -> Observed {
        Observed {
            started,
            in_flight,
            idle_since,
            head_since,
            http2: false,
        }
    }

    fn secs(n: u64) -> Duration {
        Duration::from_secs(n)
    }

    #[test]
    fn a_fresh_connection_must_send_its_head_within_the_header_timeout() {
        let t0 = Instant::now();
        let mut w = watchdog(t0);
        assert_eq!(w.deadline(), Some(t0 + HEAD));
        assert_eq!(w.expire(t0 + secs(9)), None);
        // A look with nothing served changes nothing.
        w.observe(seen(0, 0, t0, None));
        assert_eq!(w.deadline(), Some(t0 + HEAD));
        assert_eq!(w.expire(t0 + HEAD), Some(Expiry::HeaderRead));
    }

    #[test]
    fn no_deadline_while_busy_then_idle_then_head_from_the_first_byte() {
        let t0 = Instant::now();
        let mut w = watchdog(t0);
        w.observe(seen(1, 1, t0, None));
        assert_eq!(w.deadline(), None);
        assert_eq!(w.expire(t0 + secs(1000)), None);
        // Looked at 110 s: the request ended at 100 s, which is when idleness began.
        w.observe(seen(1, 0, t0 + secs(100), None));
        assert_eq!(w.deadline(), Some(t0 + secs(100) + IDLE));
        // Idle longer than the header timeout is fine.
        assert_eq!(w.expire(t0 + secs(100) + HEAD), None);
        // A look that finds nothing new changes nothing.
        w.observe(seen(1, 0, t0 + secs(100), None));
        assert_eq!(w.deadline(), Some(t0 + secs(100) + IDLE));
        // The next head's first byte came at 130 s; seen later, counted from then.
        w.observe(seen(1, 0, t0 + secs(100), Some(t0 + secs(130))));
        assert_eq!(w.deadline(), Some(t0 + secs(130) + HEAD));
        assert_eq!(w.expire(t0 + secs(130) + HEAD), Some(Expiry::HeaderRead));
    }

    #[test]
    fn a_request_that_came_and_went_between_two_looks_counts() {
        let t0 = Instant::now();
        let mut w = watchdog(t0);
        // First request served before the watchdog looked: idle, not still waiting for a head.
        w.observe(seen(1, 0, t0 + secs(1), None));
        assert_eq!(w.deadline(), Some(t0 + secs(1) + IDLE));
        // Another one came and went while idle: the idle clock restarts when it ended.
        w.observe(seen(2, 0, t0 + secs(30), None));
        assert_eq!(w.deadline(), Some(t0 + secs(30) + IDLE));
    }

    #[test]
    fn bytes_that_came_before_the_watchdog_looked_start_the_header_clock() {
        let t0 = Instant::now();
        let mut w = watchdog(t0);
        w.observe(seen(1, 1, t0, None));
        // The response finished at 1 s and the next request's first bytes arrived at 2 s,
        // both before the watchdog looked.
        w.observe(seen(1, 0, t0 + secs(1), Some(t0 + secs(2))));
        assert_eq!(w.deadline(), Some(t0 + secs(2) + HEAD));
    }

    #[test]
    fn idle_expiry_closes_gracefully_then_hard() {
        let t0 = Instant::now();
        let mut w = watchdog(t0);
        w.observe(seen(1, 0, t0, None));
        assert_eq!(w.expire(t0 + IDLE), Some(Expiry::Idle));
        assert_eq!(w.deadline(), Some(t0 + IDLE + HEAD));
        // Closing is final: activity does not bring the connection back.
        w.observe(seen(2, 1, t0 + IDLE, Some(t0 + IDLE)));
        assert_eq!(w.expire(t0 + IDLE + HEAD), Some(Expiry::Closing));
    }

    #[test]
    fn http2_traffic_between_requests_keeps_the_idle_clock() {
        let t0 = Instant::now();
        let mut w = watchdog(t0);
        let h2 = |started, in_flight, head_since| Observed {
            started,
            in_flight,
            idle_since: t0 + secs(1),
            head_since,
            http2: true,
        };
        w.observe(h2(2, 2, None));
        w.observe(h2(2, 0, None));
        w.observe(h2(2, 0, Some(t0 + secs(2))));
        assert_eq!(w.deadline(), Some(t0 + secs(1) + IDLE));
    }

    #[test]
    fn a_request_after_the_idle_spell_clears_the_deadline() {
        let t0 = Instant::now();
        let mut w = watchdog(t0);
        w.observe(seen(1, 0, t0, None));
        w.observe(seen(2, 1, t0, Some(t0 + secs(3))));
        assert_eq!(w.deadline(), None);
    }

    #[test]
    fn the_next_look_is_the_deadline_or_one_check_interval_away() {
        let t0 = Instant::now();
        let mut w = watchdog(t0);
        assert_eq!(w.check_every(), HEAD);
        // A fresh connection: its head deadline.
        assert_eq!(w.next_look(t0), t0 + HEAD);
        // Busy: no deadline, but a look every check interval to see the request end.
        w.observe(seen(1, 1, t0, None));
        assert_eq!(w.next_look(t0 + secs(5)), t0 + secs(5) + HEAD);
        // Idle for a minute: a look every check interval to see a head begin.
        w.observe(seen(1, 0, t0 + secs(6), None));
        assert_eq!(w.next_look(t0 + secs(6)), t0 + secs(6) + HEAD);
        assert_eq!(w.next_look(t0 + secs(60)), t0 + secs(6) + IDLE);
    }
}
