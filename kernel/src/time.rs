//! Kernel time: the counter frequency, conversions, and the timer's deadline logic.
//!
//! The generic timer is used one-shot: [`Deadlines`] keeps the periodic tick (for
//! round-robin timeslices) and the earliest one-shot deadline, and tells the arch layer
//! the single compare value to program next. With no tick and no deadline the timer is
//! left off and an idle CPU sleeps until some other interrupt.

/// Converts between counter ticks and time for a counter of `hz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    hz: u64,
}

impl Clock {
    /// A clock ticking `hz` times a second (`hz` of 0 is treated as 1).
    pub const fn new(hz: u64) -> Self {
        Self { hz: if hz == 0 { 1 } else { hz } }
    }

    /// Ticks per second.
    pub const fn hz(&self) -> u64 {
        self.hz
    }

    /// Nanoseconds in `ticks`, saturating.
    pub fn ticks_to_ns(&self, ticks: u64) -> u64 {
        let ns = ticks as u128 * 1_000_000_000 / self.hz as u128;
        ns.min(u64::MAX as u128) as u64
    }

    /// Ticks in `ns` nanoseconds, rounded up (a deadline never fires early), saturating.
    pub fn ns_to_ticks(&self, ns: u64) -> u64 {
        let ticks = (ns as u128 * self.hz as u128).div_ceil(1_000_000_000);
        ticks.min(u64::MAX as u128) as u64
    }
}

/// What expired at a timer interrupt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Expired {
    /// Periodic ticks that elapsed (more than one if interrupts were held off).
    pub ticks: u64,
    /// The one-shot deadline passed.
    pub oneshot: bool,
}

/// The periodic tick and the one-shot deadline, in counter ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Deadlines {
    period: Option<u64>,
    next_tick: u64,
    oneshot: Option<u64>,
    ticks: u64,
}

impl Deadlines {
    /// No tick, no deadline.
    pub const fn new() -> Self {
        Self { period: None, next_tick: 0, oneshot: None, ticks: 0 }
    }

    /// Starts (or with `None` stops) a periodic tick every `period` counter ticks from `now`.
    pub fn set_period(&mut self, now: u64, period: Option<u64>) {
        self.period = period.filter(|p| *p > 0);
        if let Some(p) = self.period {
            self.next_tick = now.saturating_add(p);
        }
    }

    /// Arms (or with `None` cancels) the one-shot deadline at counter value `at`.
    pub fn set_oneshot(&mut self, at: Option<u64>) {
        self.oneshot = at;
    }

    /// Periodic ticks counted so far.
    pub fn ticks(&self) -> u64 {
        self.ticks
    }

    /// The compare value to program, if any.
    pub fn next(&self) -> Option<u64> {
        let tick = self.period.map(|_| self.next_tick);
        match (tick, self.oneshot) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Accounts for everything due at `now` and moves the tick past `now`.
    pub fn expire(&mut self, now: u64) -> Expired {
        let mut expired = Expired::default();
        if let Some(p) = self.period {
            if now >= self.next_tick {
                let missed = (now - self.next_tick) / p;
                expired.ticks = missed + 1;
                self.next_tick = self.next_tick.saturating_add(p.saturating_mul(missed + 1));
                self.ticks += expired.ticks;
            }
        }
        if self.oneshot.is_some_and(|at| now >= at) {
            self.oneshot = None;
            expired.oneshot = true;
        }
        expired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_round_safely() {
        let c = Clock::new(62_500_000); // QEMU's generic timer
        assert_eq!(c.ticks_to_ns(62_500_000), 1_000_000_000);
        assert_eq!(c.ns_to_ticks(1_000), 63); // 62.5 rounded up
        assert_eq!(c.ns_to_ticks(16), 1);
        assert_eq!(c.ns_to_ticks(0), 0);
        let pi = Clock::new(19_200_000); // Raspberry Pi crystal
        assert_eq!(pi.ns_to_ticks(1_000_000), 19_200);
        assert_eq!(c.ticks_to_ns(u64::MAX), u64::MAX);
        assert_eq!(Clock::new(0).hz(), 1);
    }

    #[test]
    fn periodic_tick_counts_missed_ticks_and_stays_in_phase() {
        let mut d = Deadlines::new();
        assert_eq!(d.next(), None);
        d.set_period(1000, Some(100));
        assert_eq!(d.next(), Some(1100));
        assert_eq!(d.expire(1099), Expired::default());
        assert_eq!(d.expire(1100), Expired { ticks: 1, oneshot: false });
        assert_eq!(d.next(), Some(1200));
        // Interrupts held off for 3.5 periods: three more ticks, next one in phase.
        assert_eq!(d.expire(1550), Expired { ticks: 4, oneshot: false });
        assert_eq!(d.next(), Some(1600));
        assert_eq!(d.ticks(), 5);
        d.set_period(1550, None);
        assert_eq!(d.next(), None);
    }

    #[test]
    fn oneshot_fires_once_and_earliest_deadline_wins() {
        let mut d = Deadlines::new();
        d.set_period(0, Some(100));
        d.set_oneshot(Some(42));
        assert_eq!(d.next(), Some(42));
        assert_eq!(d.expire(41), Expired::default());
        assert_eq!(d.expire(42), Expired { ticks: 0, oneshot: true });
        assert_eq!(d.next(), Some(100));
        assert_eq!(d.expire(43), Expired::default());
        d.set_oneshot(Some(500));
        d.set_oneshot(None);
        assert_eq!(d.next(), Some(100));
    }
}
