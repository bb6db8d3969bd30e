//! Random ids that stay unique across `fork`.
//!
//! **Why.** Trace ids, span ids and task uuids come from per-thread generators seeded once
//! from the OS. `fork` copies the forking thread, generator state included, into the child:
//! parent and child then draw the *same* sequence, and their next tasks share one trace id
//! and half their span ids (seen with Python `os.fork` and Ruby `Process.fork`). The SDK's
//! `RandomIdGenerator` and uuid's `fast-rng` both behave this way.
//!
//! Here every generator remembers the fork generation it was seeded in. A `pthread_atfork`
//! child handler bumps the generation (one atomic add, which is all a handler may safely do),
//! and the next id drawn in the child reseeds from the OS first. The check costs one relaxed
//! atomic load per id; no syscall on the hot path.

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::IdGenerator;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

static FORK_GENERATION: AtomicU64 = AtomicU64::new(0);

struct Seeded {
    generation: u64,
    rng: SmallRng,
}

thread_local! {
    static RNG: RefCell<Option<Seeded>> = const { RefCell::new(None) };
}

fn with_rng<T>(f: impl FnOnce(&mut SmallRng) -> T) -> T {
    let generation = FORK_GENERATION.load(Ordering::Relaxed);
    RNG.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().is_some_and(|s| s.generation != generation) {
            *slot = None;
        }
        let seeded = slot.get_or_insert_with(|| {
            install_fork_handler();
            Seeded {
                generation,
                rng: SmallRng::from_os_rng(),
            }
        });
        f(&mut seeded.rng)
    })
}

/// A random (version 4) uuid, unique across fork.
pub fn new_uuid() -> Uuid {
    uuid::Builder::from_random_bytes(with_rng(|r| r.random::<[u8; 16]>())).into_uuid()
}

/// How many forks this process descends from since tasker-core first drew an id. For tests
/// and for hosts that want to tell a forked child from its parent without a syscall.
pub fn fork_generation() -> u64 {
    FORK_GENERATION.load(Ordering::Relaxed)
}

/// Records a fork by hand: for hosts whose fork bypasses `pthread_atfork` (a raw `clone`).
/// Calling it in a process that did not fork is harmless: the next ids reseed.
pub fn note_fork() {
    FORK_GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// The tracer provider's id generator: [`RandomIdGenerator`](opentelemetry_sdk::trace::RandomIdGenerator)'s
/// distribution, reseeded after fork.
#[derive(Debug, Default, Clone, Copy)]
pub struct ForkSafeIdGenerator;

impl IdGenerator for ForkSafeIdGenerator {
    fn new_trace_id(&self) -> TraceId {
        loop {
            let id = with_rng(|r| r.random::<u128>());
            if id != 0 {
                return TraceId::from(id);
            }
        }
    }

    fn new_span_id(&self) -> SpanId {
        loop {
            let id = with_rng(|r| r.random::<u64>());
            if id != 0 {
                return SpanId::from(id);
            }
        }
    }
}

#[cfg(unix)]
fn install_fork_handler() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    extern "C" fn child() {
        FORK_GENERATION.fetch_add(1, Ordering::Relaxed);
    }
    ONCE.call_once(|| {
        // SAFETY: registers a handler that only performs an atomic add, which is
        // async-signal-safe as a fork child handler must be.
        let rc = unsafe { libc::pthread_atfork(None, None, Some(child)) };
        if rc != 0 {
            tracing::warn!(
                rc,
                "pthread_atfork failed: ids drawn in a forked child may repeat the parent's"
            );
        }
    });
}

#[cfg(not(unix))]
fn install_fork_handler() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_version_4_and_distinct() {
        let (a, b) = (new_uuid(), new_uuid());
        assert_ne!(a, b);
        assert_eq!(a.get_version_num(), 4);
    }

    #[test]
    fn a_noted_fork_reseeds_the_generator() {
        // Two threads' generators never share state; the same thread's sequence after a
        // noted fork starts from a fresh seed, which we can only observe as "still distinct".
        let before = ForkSafeIdGenerator.new_trace_id();
        note_fork();
        let after = ForkSafeIdGenerator.new_trace_id();
        assert_ne!(before, after);
        assert!(fork_generation() >= 1);
    }
}
