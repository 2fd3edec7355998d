//! Memory management and the request/response envelope shared by every exported operation.

use serde_json::{json, Value};

/// Reserve `len` bytes for the host to write a request into.
#[no_mangle]
pub extern "C" fn alloc(len: usize) -> *mut u8 {
    let mut buf: Vec<u8> = Vec::with_capacity(len.max(1));
    let ptr = buf.as_mut_ptr();
    std::mem::forget(buf);
    ptr
}

/// Free a buffer obtained from `alloc` or returned by an operation.
///
/// # Safety
/// `ptr` and `len` must come from `alloc(len)` or from a packed operation result.
#[no_mangle]
pub unsafe extern "C" fn dealloc(ptr: *mut u8, len: usize) {
    drop(Vec::from_raw_parts(ptr, 0, len.max(1)));
}

/// Version of this calling convention; the host checks it at load time.
#[no_mangle]
pub extern "C" fn abi_version() -> u32 {
    1
}

/// Run `op` on the JSON request at `(ptr, len)` and return the packed response.
///
/// # Safety
/// `(ptr, len)` must be a buffer from `alloc` that the host filled with `len` bytes.
pub unsafe fn handle(ptr: *mut u8, len: usize, op: fn(Value) -> Result<Value, String>) -> u64 {
    let input = Vec::from_raw_parts(ptr, len, len.max(1));
    let response = match serde_json::from_slice::<Value>(&input) {
        Ok(request) => match op(request) {
            Ok(value) => json!({ "ok": value }),
            Err(error) => json!({ "error": error }),
        },
        Err(e) => json!({ "error": format!("request is not JSON: {e}") }),
    };
    let mut out = serde_json::to_vec(&response).unwrap_or_else(|_| b"{\"error\":\"encode\"}".to_vec());
    out.shrink_to_fit();
    let (out_ptr, out_len) = (out.as_mut_ptr() as u64, out.len() as u64);
    std::mem::forget(out);
    (out_ptr << 32) | out_len
}
