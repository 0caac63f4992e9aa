//! Random secrets handed to people and the hashes kept of them: admin keys, setup links, the
//! portal's CSRF tokens. A leaf: it calls nothing of the server.

use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Length of [`random_token`]'s text: 32 bytes in unpadded base64url.
pub const TOKEN_LEN: usize = 43;

/// 32 random bytes from the operating system, unpadded base64url (43 characters).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `text` has the shape of a [`random_token`] (checked before any lookup).
pub fn is_token_shaped(text: &str) -> bool {
    text.len() == TOKEN_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The SHA-256 of `text`, in lower-case hex: what is stored instead of a secret.
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_have_their_shape() {
        let (a, b) = (random_token(), random_token());
        assert_ne!(a, b);
        assert!(is_token_shaped(&a) && is_token_shaped(&b), "{a} {b}");
        assert!(!is_token_shaped(&a[1..]));
        assert!(!is_token_shaped(&format!("{}=", &a[1..])));
    }

    #[test]
    fn the_hash_is_sha256_in_hex() {
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
