//! SHA-256 checksums of the data files rollsim writes, so a file edited or cut after it
//! was written is refused instead of merged or resumed from.
//!
//! A streamed file (`runs.csv`) is hashed as it is written ([`Hashing`]), so its checksum
//! costs no second read; a manifest records it (`Manifest::sha256`), and [`verify`]
//! checks a file against it.

use super::ReportError;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::Path;

/// The SHA-256 of `bytes` as lowercase hex, as manifests record it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// The SHA-256 of the file at `path`, read in pieces (a shard's `runs.csv` may be larger
/// than memory allows twice).
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hash = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
    }
    Ok(format!("{:x}", hash.finalize()))
}

/// Checks that the file `name` of the output directory `dir` still has the SHA-256 its
/// manifest recorded (`expected`; `None` when the manifest has none). Every refusal names
/// the file and says what to do.
pub fn verify(dir: &Path, name: &str, expected: Option<&str>) -> Result<(), ReportError> {
    let path = dir.join(name);
    let manifest = dir.join("manifest.json");
    let Some(expected) = expected else {
        return Err(ReportError::Input {
            path: manifest.display().to_string(),
            message: format!(
                "records no SHA-256 of {name}: the command that wrote {} did not finish (or an older rollsim wrote it); finish or rerun it",
                dir.display()
            ),
        });
    };
    let actual = sha256_file(&path).map_err(|source| ReportError::Read {
        path: path.display().to_string(),
        source,
    })?;
    if actual == expected {
        return Ok(());
    }
    Err(ReportError::Input {
        path: path.display().to_string(),
        message: format!(
            "does not match the SHA-256 recorded in {} (the file was edited or cut after it was written: SHA-256 {actual}, recorded {expected}); rerun the command that wrote it",
            manifest.display()
        ),
    })
}

/// A writer that hashes every byte that goes through it to `inner`.
pub struct Hashing<W> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> Hashing<W> {
    /// Hashes what is written to `inner` from now on.
    pub fn new(inner: W) -> Self {
        Hashing {
            inner,
            hash: Sha256::new(),
        }
    }

    /// The writer back, and the SHA-256 (hex) of everything written through it.
    pub fn finish(self) -> (W, String) {
        (self.inner, format!("{:x}", self.hash.finalize()))
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_streamed_hash_equals_the_hash_of_the_bytes() {
        let mut w = Hashing::new(Vec::new());
        w.write_all(b"run,policy\n").unwrap();
        w.write_all(b"0,none\n").unwrap();
        let (bytes, hash) = w.finish();
        assert_eq!(bytes, b"run,policy\n0,none\n");
        assert_eq!(hash, sha256_hex(&bytes));
        // The SHA-256 of "abc" (FIPS 180-2, appendix B.1).
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn verify_names_the_file_and_the_manifest() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("runs.csv"), b"abc").unwrap();
        let good = sha256_hex(b"abc");
        verify(t.path(), "runs.csv", Some(&good)).unwrap();
        std::fs::write(t.path().join("runs.csv"), b"abd").unwrap();
        let e = verify(t.path(), "runs.csv", Some(&good))
            .unwrap_err()
            .to_string();
        let file = t.path().join("runs.csv").display().to_string();
        assert!(
            e.starts_with(&format!("{file}: does not match the SHA-256 recorded in")),
            "{e}"
        );
        assert!(e.contains("edited or cut"), "{e}");
        let e = verify(t.path(), "runs.csv", None).unwrap_err().to_string();
        assert!(
            e.contains("manifest.json: records no SHA-256 of runs.csv"),
            "{e}"
        );
    }
}
