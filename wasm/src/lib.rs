//! The WASM core: Matrix auth rules and state resolution, pure (events in, result out).
//!
//! FFI convention (raw C ABI, no imports): the host copies a UTF-8 JSON request into memory
//! obtained from `alloc`, calls an exported operation with `(ptr, len)`, and receives a `u64`
//! packing `(out_ptr << 32) | out_len` of a UTF-8 JSON response, which it reads and then frees
//! with `dealloc(out_ptr, out_len)`. Responses are `{"ok": <value>}` or `{"error": "<text>"}`;
//! nothing panics across the boundary on bad input (panics abort, so inputs are checked).

pub mod event;
pub mod ffi;
pub mod rules;

pub use ffi::{alloc, dealloc};
