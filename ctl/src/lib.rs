//! Control plane of [arenalloc](https://docs.rs/arenalloc): typed, epoch-advancing handles over
//! the allocator's `mallctl` namespace.
//!
//! **Status: skeleton.** This crate has no API yet. The C core does not export `mallctl` so far;
//! the typed handles (`epoch::advance()`, `stats::allocated::read()`, ...) land with the
//! control-plane issue, generated from the same table as the C namespace
//! (`csrc/src/ctl_tree.def`), so every key the C core knows gets a handle.
//!
//! Until then, depend on [`arenalloc`] directly for the global allocator.
#![no_std]
#![deny(missing_docs)]
