//! The API's sockets: a Unix socket only this user can use, and optionally TCP, where
//! every request must carry the bearer token (the API starts processes).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, bail};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use waylanddisplaycore::socket::probe_listening;

use super::api::ApiError;

/// Owns the API socket file; removes it on drop if it is still ours.
#[derive(Debug)]
pub(crate) struct ApiSocket {
    path: PathBuf,
    ino: u64,
}

impl Drop for ApiSocket {
    fn drop(&mut self) {
        if std::fs::symlink_metadata(&self.path).is_ok_and(|m| m.ino() == self.ino) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Binds `path` with mode 0600. A socket someone listens on is another host: refused. A
/// dead one is a leftover: replaced.
pub(crate) fn bind_unix(path: &Path) -> anyhow::Result<(tokio::net::UnixListener, ApiSocket)> {
    if std::fs::symlink_metadata(path).is_ok() {
        if probe_listening(path).unwrap_or(true) {
            bail!(
                "another gst-wayland-display host is listening on {}",
                path.display()
            );
        }
        std::fs::remove_file(path)
            .with_context(|| format!("removing the stale {}", path.display()))?;
    }
    // Bound under a temporary name and renamed once private, so the socket is never
    // reachable with the umask's permissions.
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let listener = std::os::unix::net::UnixListener::bind(&tmp)
        .with_context(|| format!("binding {}", tmp.display()))?;
    let rename = std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(err) = rename {
        let _ = std::fs::remove_file(&tmp);
        return Err(err).with_context(|| format!("installing {}", path.display()));
    }
    let ino = std::fs::metadata(path)?.ino();
    let guard = ApiSocket {
        path: path.to_path_buf(),
        ino,
    };
    listener.set_nonblocking(true)?;
    let listener = tokio::net::UnixListener::from_std(listener)?;
    Ok((listener, guard))
}

/// The bearer token, kept only as its SHA-256 digest. A guess is hashed and the two
/// digests compared in constant time, so neither how much of a guess is right nor the
/// token's length shows in how long the check takes (only the guess's own length does).
pub(crate) struct Token {
    digest: [u8; 32],
}

impl Token {
    pub(crate) fn new(token: &str) -> Self {
        Self {
            digest: Sha256::digest(token.as_bytes()).into(),
        }
    }

    pub(crate) fn matches(&self, given: &[u8]) -> bool {
        let given: [u8; 32] = Sha256::digest(given).into();
        subtle::ConstantTimeEq::ct_eq(&given[..], &self.digest[..]).into()
    }
}

/// Rejects requests without `Authorization: Bearer <token>`, before anything of their
/// body is read.
pub(crate) async fn require_token(
    State(token): State<Arc<Token>>,
    request: Request,
    next: Next,
) -> Response {
    let given = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    match given {
        Some(given) if token.matches(given.as_bytes()) => next.run(request).await,
        Some(_) => ApiError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "the bearer token is wrong",
        )
        .closing()
        .into_response(),
        None => ApiError::new(
            axum::http::StatusCode::UNAUTHORIZED,
            "this API needs Authorization: Bearer <token> over TCP",
        )
        .closing()
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_compare_exactly_whatever_the_lengths() {
        let token = Token::new("secret");
        assert!(token.matches(b"secret"));
        for wrong in [
            &b"secreT"[..],
            b"secret2",
            b"secre",
            b"",
            b"s",
            &[b'x'; 4096],
        ] {
            assert!(!token.matches(wrong), "{wrong:?}");
        }
        // What the check keeps is the same size for any token: nothing of its length.
        assert_eq!(std::mem::size_of::<Token>(), 32);
        assert!(Token::new(&"k".repeat(10_000)).matches("k".repeat(10_000).as_bytes()));
    }

    #[tokio::test]
    async fn the_socket_is_private_and_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("api.sock");
        let (listener, guard) = bind_unix(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // A second host is refused while the first listens.
        let err = bind_unix(&path).unwrap_err().to_string();
        assert!(err.contains("another"), "{err}");
        drop((listener, guard));
        assert!(!path.exists());
        // A dead leftover is replaced.
        drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
        let (_listener, _guard) = bind_unix(&path).unwrap();
    }
}
