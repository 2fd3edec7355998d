//! The WASM core: Matrix auth rules and state resolution, pure (events in, result out).
//!
//! FFI convention (raw C ABI, no imports): the host copies a UTF-8 JSON request into memory
//! obtained from `alloc`, calls an exported operation with `(ptr, len)`, and receives a `u64`
//! packing `(out_ptr << 32) | out_len` of a UTF-8 JSON response, which it reads and then frees
//! with `dealloc(out_ptr, out_len)`. Responses are `{"ok": <value>}` or `{"error": "<text>"}`;
//! nothing panics across the boundary on bad input (panics abort, so inputs are checked).

pub mod auth;
pub mod event;
pub mod ffi;
pub mod rules;
pub mod state_res;

pub use ffi::{alloc, dealloc};

/// Event authorisation (see `auth::request` for the request/response shapes).
///
/// # Safety
/// `(ptr, len)` must be a buffer from `alloc` that the host filled with `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn auth_check(ptr: *mut u8, len: usize) -> u64 {
    ffi::handle(ptr, len, auth::request::auth_check_json)
}

/// Auth events selection for an event (see `auth::host_ops`).
///
/// # Safety
/// `(ptr, len)` must be a buffer from `alloc` that the host filled with `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn auth_types(ptr: *mut u8, len: usize) -> u64 {
    ffi::handle(ptr, len, auth::host_ops::auth_types_json)
}

/// Whether an accepted redaction may be applied to its target (see `auth::host_ops`).
///
/// # Safety
/// `(ptr, len)` must be a buffer from `alloc` that the host filled with `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn redaction_allowed(ptr: *mut u8, len: usize) -> u64 {
    ffi::handle(ptr, len, auth::host_ops::redaction_allowed_json)
}
