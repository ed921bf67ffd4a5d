//! Time: [`Instant`] (monotonic) and [`SystemTime`] (the wall clock).
//!
//! In real mode they are std's. In a simulation the monotonic clock is virtual: it starts
//! at zero and advances only when every thread is blocked or sleeping, jumping to the
//! earliest deadline (of a `sleep`, a `wait_for`, a `recv_timeout`). The simulated wall
//! clock starts at 2026-01-01T00:00:00Z, follows the virtual clock, and can be set back
//! or forward by the test with [`set_system_time`] and [`shift_system_time`], to show
//! why timeouts must not be computed from the wall clock.

use std::ops::{Add, AddAssign, Sub};
use std::time::Duration;

use crate::runtime;

/// A point of the monotonic clock (virtual in a simulation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(Imp);

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Imp {
    Real(std::time::Instant),
    Sim(u64),
}

impl Instant {
    /// The current time.
    pub fn now() -> Self {
        match runtime::current() {
            None => Instant(Imp::Real(std::time::Instant::now())),
            Some(e) => Instant(Imp::Sim(e.lock().clock)),
        }
    }

    /// The time elapsed from `earlier` to `self` (zero if `earlier` is later).
    ///
    /// # Panics
    ///
    /// If one instant is simulated and the other real.
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        match (self.0, earlier.0) {
            (Imp::Real(a), Imp::Real(b)) => a.saturating_duration_since(b),
            (Imp::Sim(a), Imp::Sim(b)) => Duration::from_nanos(a.saturating_sub(b)),
            _ => panic!("interleave: a simulated Instant compared with a real one"),
        }
    }

    /// The time elapsed since `self`.
    pub fn elapsed(&self) -> Duration {
        Instant::now().duration_since(*self)
    }

    /// `self + d`, or `None` on overflow.
    pub fn checked_add(&self, d: Duration) -> Option<Instant> {
        match self.0 {
            Imp::Real(a) => a.checked_add(d).map(|i| Instant(Imp::Real(i))),
            Imp::Sim(a) => u64::try_from(d.as_nanos())
                .ok()
                .and_then(|n| a.checked_add(n))
                .map(|i| Instant(Imp::Sim(i))),
        }
    }
}

impl Instant {
    /// A simulated instant, `nanos` after the start of the simulation.
    pub(crate) fn from_sim_nanos(nanos: u64) -> Self {
        Instant(Imp::Sim(nanos))
    }

    /// A real instant (real mode).
    pub(crate) fn from_std(i: std::time::Instant) -> Self {
        Instant(Imp::Real(i))
    }

    /// The deadline this instant is in the current world: virtual nanoseconds in a
    /// simulation (`Err` with the std instant for a real one), a std instant outside.
    ///
    /// # Panics
    ///
    /// A simulated instant used outside a simulation, or a real one inside.
    pub(crate) fn sim_nanos(&self) -> Option<u64> {
        match (self.0, runtime::active()) {
            (Imp::Sim(n), true) => Some(n),
            (Imp::Real(_), false) => None,
            _ => panic!(
                "interleave: an Instant from inside a simulation used outside it, or the \
                 reverse: take deadlines from interleave::time::Instant::now() where they are used"
            ),
        }
    }

    /// The std instant of a real-mode instant.
    pub(crate) fn to_std(self) -> std::time::Instant {
        match self.0 {
            Imp::Real(i) => i,
            Imp::Sim(_) => panic!("interleave: a simulated Instant used in real mode"),
        }
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        self.checked_add(d)
            .expect("overflow when adding a duration to an instant")
    }
}

impl AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, other: Instant) -> Duration {
        self.duration_since(other)
    }
}

/// Seconds from the Unix epoch to 2026-01-01T00:00:00Z, the simulated wall clock's start.
const SIM_EPOCH_SECS: u64 = 1_767_225_600;

/// The wall clock (`std::time::SystemTime` values), movable in a simulation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SystemTime(std::time::SystemTime);

impl SystemTime {
    /// The Unix epoch.
    pub const UNIX_EPOCH: SystemTime = SystemTime(std::time::UNIX_EPOCH);

    /// The current wall-clock time (simulated in a simulation).
    pub fn now() -> Self {
        match runtime::current() {
            None => SystemTime(std::time::SystemTime::now()),
            Some(e) => {
                let st = e.lock();
                let nanos =
                    (SIM_EPOCH_SECS as i128) * 1_000_000_000 + st.clock as i128 + st.wall_offset;
                let nanos = nanos.max(0) as u128;
                SystemTime(
                    std::time::UNIX_EPOCH
                        + Duration::new(
                            (nanos / 1_000_000_000) as u64,
                            (nanos % 1_000_000_000) as u32,
                        ),
                )
            }
        }
    }

    /// The time from `earlier` to `self`.
    ///
    /// # Errors
    ///
    /// If `earlier` is later than `self` (the clock went back), like std.
    pub fn duration_since(
        &self,
        earlier: SystemTime,
    ) -> Result<Duration, std::time::SystemTimeError> {
        self.0.duration_since(earlier.0)
    }

    /// The std value.
    pub fn into_std(self) -> std::time::SystemTime {
        self.0
    }
}

impl Add<Duration> for SystemTime {
    type Output = SystemTime;
    fn add(self, d: Duration) -> SystemTime {
        SystemTime(self.0 + d)
    }
}

impl Sub<Duration> for SystemTime {
    type Output = SystemTime;
    fn sub(self, d: Duration) -> SystemTime {
        SystemTime(self.0 - d)
    }
}

/// Sets the simulated wall clock to `t` (the monotonic clock does not move).
///
/// # Panics
///
/// Outside a simulation: the real wall clock is not ours to move.
pub fn set_system_time(t: SystemTime) {
    let e = runtime::current().expect("interleave: set_system_time only works in a simulation");
    let now = SystemTime::now();
    let delta = match t.0.duration_since(now.0) {
        Ok(d) => d.as_nanos() as i128,
        Err(err) => -(err.duration().as_nanos() as i128),
    };
    let mut st = e.lock();
    st.wall_offset += delta;
    st.push_event(None, "set wall clock".into(), None, false);
}

/// Moves the simulated wall clock forward (`forward = true`) or back by `d`.
///
/// # Panics
///
/// Outside a simulation.
pub fn shift_system_time(d: Duration, forward: bool) {
    let e = runtime::current().expect("interleave: shift_system_time only works in a simulation");
    let mut st = e.lock();
    let n = d.as_nanos() as i128;
    st.wall_offset += if forward { n } else { -n };
    let what = format!(
        "wall clock {} {d:?}",
        if forward { "forward" } else { "back" }
    );
    st.push_event(None, what.into(), None, false);
}
