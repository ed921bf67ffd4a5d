//! The frame of `process_queue`: how one value travels through the queue's pipe.
//!
//! A pipe carries bytes, not values, and a `read()` returns whatever is there: part of a
//! value, or several values at once. So each value is serialized with
//! [postcard](https://docs.rs/postcard) (serde's compact binary format) and sent as a frame:
//! its length in 4 bytes, little-endian, then the bytes themselves. The reader knows where
//! each value ends, however the bytes arrive.
//!
//! ```
//! use ipc::frame::{decode, encode, HEADER};
//!
//! let frame = encode(&("hello", 42u32)).unwrap();
//! let len = u32::from_le_bytes(frame[..HEADER].try_into().unwrap()) as usize;
//! assert_eq!(len, frame.len() - HEADER);
//! let value: (String, u32) = decode(&frame[HEADER..]).unwrap();
//! assert_eq!(value, ("hello".to_owned(), 42));
//! ```

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The length of a frame's header: the payload's length as a `u32`, little-endian.
pub const HEADER: usize = 4;

/// The largest payload a frame may announce (16 MiB). A header announcing more is not a
/// frame of this queue (corrupt bytes): a reader rejects it rather than allocate for it.
pub const MAX_PAYLOAD: usize = 16 << 20;

/// The frame of `value`: header, then postcard bytes.
///
/// # Errors
///
/// A message when serde cannot serialize the value, or when it is larger than
/// [`MAX_PAYLOAD`].
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, String> {
    let mut frame = postcard::to_extend(value, vec![0u8; HEADER])
        .map_err(|e| format!("cannot serialize the value: {e}"))?;
    let payload = frame.len() - HEADER;
    if payload > MAX_PAYLOAD {
        return Err(format!(
            "a value of {payload} bytes is larger than a frame may be ({MAX_PAYLOAD} bytes)"
        ));
    }
    frame[..HEADER].copy_from_slice(&(payload as u32).to_le_bytes());
    Ok(frame)
}

/// The payload length a header announces.
///
/// # Panics
///
/// When `header` is shorter than [`HEADER`] bytes.
pub fn payload_len(header: &[u8]) -> usize {
    let bytes: [u8; HEADER] = header[..HEADER].try_into().expect("a whole header");
    u32::from_le_bytes(bytes) as usize
}

/// The value in a frame's payload (the bytes after the header).
///
/// # Errors
///
/// A message when the bytes are not a value of type `T`.
pub fn decode<T: DeserializeOwned>(payload: &[u8]) -> Result<T, String> {
    postcard::from_bytes(payload)
        .map_err(|e| format!("the bytes are not a value of this type: {e}"))
}
