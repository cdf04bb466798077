//! Power of two choices: pick two endpoints at random, send to the less loaded one.
//!
//! Sending every call to the least loaded endpoint sounds best, but all callers see the same
//! "least loaded" endpoint at once and herd onto it. Two random candidates and the better of the
//! two gets almost all the benefit (Mitzenmacher: the maximum load drops exponentially compared
//! with one random choice) without the herd, in constant time and without a shared lock.
//!
//! Load is the endpoint's calls in flight (both priority classes). An endpoint is a candidate
//! only when its breaker admits calls (closed, or half-open with a trial permit left) and the
//! call has not tried it yet; one whose bulkhead class is full counts as more loaded than any
//! with room, so it is chosen only when every candidate is full (the call then queues there).

use std::cell::Cell;

/// What the balancer knows about one candidate endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct Load {
    /// The call's bulkhead class has no free slot.
    pub(super) full: bool,
    /// Calls in flight.
    pub(super) in_flight: u32,
}

/// Picks among `n` endpoints, `load(i)` telling whether endpoint `i` is a candidate and how
/// loaded it is; `random` is a fresh random number.
#[inline]
pub(super) fn pick(n: usize, random: u64, load: impl Fn(usize) -> Option<Load>) -> Option<usize> {
    match n {
        0 => return None,
        1 => return load(0).map(|_| 0),
        _ => {}
    }
    // Two distinct indices from the two halves of one random number, by multiply-and-shift
    // rather than a (much slower) division; n is at most 64, so the bias is negligible.
    let a = below(random as u32, n);
    let mut b = below((random >> 32) as u32, n - 1);
    if b >= a {
        b += 1;
    }
    let best = match (load(a), load(b)) {
        (Some(la), Some(lb)) if lb < la => Some((b, lb)),
        (Some(la), _) => Some((a, la)),
        (None, Some(lb)) => Some((b, lb)),
        (None, None) => None,
    };
    match best {
        Some((i, l)) if !l.full => Some(i),
        // Both candidates full or ejected: look at all of them (a handful).
        _ => (0..n)
            .filter_map(|i| load(i).map(|l| (l, i)))
            .min()
            .map(|(_, i)| i),
    }
}

/// Maps a random `u32` onto `0..n` (Lemire's multiply-shift).
#[inline]
fn below(random: u32, n: usize) -> usize {
    ((u64::from(random) * n as u64) >> 32) as usize
}

thread_local! {
    /// 0 until the thread's first draw seeds it.
    static STATE: Cell<u64> = const { Cell::new(0) };
}

/// A fast per-thread pseudo-random number (xorshift64*): balancing needs spread, not secrecy.
#[inline]
pub(super) fn random() -> u64 {
    STATE.with(|state| {
        let mut x = state.get();
        if x == 0 {
            x = rand::random::<u64>() | 1;
        }
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        state.set(x);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn free(in_flight: u32) -> Option<Load> {
        Some(Load {
            full: false,
            in_flight,
        })
    }

    #[test]
    fn the_less_loaded_of_the_two_wins() {
        let loads = [free(5), free(1)];
        for r in 0..100u64 {
            assert_eq!(
                pick(2, r.wrapping_mul(0x9e37_79b9_7f4a_7c15), |i| loads[i]),
                Some(1)
            );
        }
    }

    #[test]
    fn ejected_and_tried_endpoints_are_never_picked() {
        let loads = [None, free(9), None];
        for _ in 0..100 {
            assert_eq!(pick(3, random(), |i| loads[i]), Some(1));
        }
        assert_eq!(pick(3, random(), |_| None), None);
        assert_eq!(pick(1, random(), |_| free(0)), Some(0));
        assert_eq!(pick(0, random(), |_| free(0)), None);
    }

    #[test]
    fn a_full_endpoint_loses_to_one_with_room_even_outside_the_two() {
        let full = Some(Load {
            full: true,
            in_flight: 0,
        });
        let loads = [full, full, full, free(50)];
        for _ in 0..100 {
            assert_eq!(pick(4, random(), |i| loads[i]), Some(3));
        }
        let all_full = [
            full,
            Some(Load {
                full: true,
                in_flight: 3,
            }),
        ];
        assert_eq!(
            pick(2, random(), |i| all_full[i]),
            Some(0),
            "least loaded of the full"
        );
    }

    #[test]
    fn two_choices_favour_the_idle_endpoint() {
        // One idle endpoint among three equally busy ones is among the two candidates in half of
        // the draws, and then always wins.
        let loads = [free(10), free(0), free(10), free(10)];
        let draws = 40_000;
        let idle = (0..draws)
            .filter(|_| pick(4, random(), |i| loads[i]) == Some(1))
            .count();
        let share = idle as f64 / f64::from(draws);
        assert!((0.47..0.53).contains(&share), "{share}");
    }
}
