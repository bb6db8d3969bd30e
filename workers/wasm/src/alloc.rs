//! The module's allocator: dlmalloc (Rust's own on wasm32) behind a cache of freed small
//! blocks, one free list per 16-byte size class up to 256 bytes.
//!
//! Why: a step with telemetry on makes and frees a few dozen small values (its spans'
//! attributes and events, their texts), and in wasm each dlmalloc call is a walk of its bins
//! that `node --cpu-prof` put among the largest costs of a step. A freed small block is
//! pushed on its class's list and the next request of that class pops it: two loads and two
//! stores, with no search, splitting or coalescing. Blocks in the cache are never returned
//! to dlmalloc, so what the cache holds is at most the peak of small blocks in use at once,
//! which for a worker is set by its concurrency and batch sizes, not by how long it runs.
//!
//! wasm32 without the `atomics` target feature (how this crate is built) has one thread, so
//! the lists need no lock.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::ptr;

/// Block sizes of the cache: 16, 32, ... 256 bytes.
const CLASS: usize = 16;
const CLASSES: usize = 16;

/// A freed block's first word links it to the next free block of its class.
struct Lists(UnsafeCell<[*mut u8; CLASSES]>);

#[derive(Debug)]
pub(crate) struct CachingAlloc;

static LISTS: Lists = Lists(UnsafeCell::new([ptr::null_mut(); CLASSES]));

// SAFETY: wasm32-unknown-unknown without `atomics` runs one thread; nothing else reaches the
// lists while an allocation runs (the allocator is never re-entered).
unsafe impl Sync for Lists {}

/// The class of a layout the cache serves, or `None` (too large, or aligned beyond 16).
fn class(layout: &Layout) -> Option<usize> {
    if layout.align() > CLASS || layout.size() > CLASS * CLASSES {
        return None;
    }
    Some(layout.size().max(1).div_ceil(CLASS) - 1)
}

/// The layout dlmalloc is asked for: the whole class, so any block of a class fits any
/// request of it.
fn class_layout(c: usize) -> Layout {
    // SAFETY: CLASS is a power of two and the size is a small multiple of it.
    unsafe { Layout::from_size_align_unchecked((c + 1) * CLASS, CLASS) }
}

// SAFETY: every block handed out is at least `layout.size()` bytes, aligned to
// `layout.align()`, and owned by nothing else until it is deallocated; a cached block is
// reused only for a layout of its own class.
unsafe impl GlobalAlloc for CachingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(c) = class(&layout) else {
            // SAFETY: the caller's contract, passed on.
            return unsafe { System.alloc(layout) };
        };
        // SAFETY: one thread (above); a listed block is free and at least one word long.
        unsafe {
            let lists = &mut *LISTS.0.get();
            let head = lists[c];
            if head.is_null() {
                return System.alloc(class_layout(c));
            }
            lists[c] = *(head as *mut *mut u8);
            head
        }
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        let Some(c) = class(&layout) else {
            // SAFETY: the caller's contract, passed on.
            return unsafe { System.dealloc(block, layout) };
        };
        // SAFETY: one thread; the block is ours again, large and aligned enough for a word.
        unsafe {
            let lists = &mut *LISTS.0.get();
            *(block as *mut *mut u8) = lists[c];
            lists[c] = block;
        }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller's contract: `new_size` is non-zero and fits `isize`.
        let new = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (class(&layout), class(&new)) {
            // The block already has room: a string's last few bytes, a vector's growth
            // within its class.
            (Some(a), Some(b)) if a == b => block,
            // SAFETY: the caller's contract, passed on: neither block is the cache's.
            (None, None) => unsafe { System.realloc(block, layout, new_size) },
            _ => {
                // SAFETY: a new block of the new layout, the old one's bytes that fit it
                // copied over, and the old one freed by its own layout.
                unsafe {
                    let moved = self.alloc(new);
                    if !moved.is_null() {
                        ptr::copy_nonoverlapping(block, moved, layout.size().min(new_size));
                        self.dealloc(block, layout);
                    }
                    moved
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_fall_into_sixteen_byte_classes() {
        let l = |size, align| Layout::from_size_align(size, align).ok();
        assert_eq!(l(1, 1).as_ref().and_then(class), Some(0));
        assert_eq!(l(16, 8).as_ref().and_then(class), Some(0));
        assert_eq!(l(17, 1).as_ref().and_then(class), Some(1));
        assert_eq!(l(256, 16).as_ref().and_then(class), Some(15));
        assert_eq!(l(257, 1).as_ref().and_then(class), None);
        assert_eq!(l(64, 32).as_ref().and_then(class), None);
    }

    // The only test that touches the lists (natively they are not the global allocator, and
    // no other thread reaches them).
    #[test]
    fn a_freed_block_serves_the_next_request_of_its_class_and_keeps_its_bytes_on_realloc() {
        let a = CachingAlloc;
        let small = Layout::from_size_align(20, 8).expect("layout");
        let same_class = Layout::from_size_align(30, 4).expect("layout");
        // SAFETY: each block is used within its layout and freed once, by its layout.
        unsafe {
            let first = a.alloc(small);
            assert!(!first.is_null());
            first.write_bytes(7, 20);
            a.dealloc(first, small);
            let again = a.alloc(same_class);
            assert_eq!(again, first, "the freed block of class 32 is reused");

            again.write_bytes(9, 30);
            let grown = a.realloc(again, same_class, 32);
            assert_eq!(grown, again, "growing within the class keeps the block");
            let moved = a.realloc(grown, Layout::from_size_align(32, 4).expect("layout"), 300);
            assert_ne!(
                moved, grown,
                "beyond 256 bytes the block comes from dlmalloc"
            );
            assert!(
                std::slice::from_raw_parts(moved, 30)
                    .iter()
                    .all(|&b| b == 9)
            );
            a.dealloc(moved, Layout::from_size_align(300, 4).expect("layout"));
        }
    }
}
