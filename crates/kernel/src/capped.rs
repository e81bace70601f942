//! A writer that stops at a byte limit: renderings (message templates,
//! invoices) write into it, so an oversized text is refused or cut while it
//! is being made, never built in full first.

use std::io;

/// Collects what is written and fails, with an error, once it would pass
/// `cap` bytes (keeping what fits).
#[derive(Debug)]
pub struct CappedWriter {
    bytes: Vec<u8>,
    cap: usize,
    overflowed: bool,
}

impl CappedWriter {
    /// A writer that takes at most `cap` bytes.
    pub fn new(cap: usize) -> Self {
        Self { bytes: Vec::new(), cap, overflowed: false }
    }

    /// What was written (up to the cap).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether a write was refused for passing the cap.
    pub fn overflowed(&self) -> bool {
        self.overflowed
    }
}

impl io::Write for CappedWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = self.cap.saturating_sub(self.bytes.len());
        if buf.len() > room {
            self.bytes.extend_from_slice(&buf[..room]);
            self.overflowed = true;
            return Err(io::Error::other("the rendered text is longer than its limit"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    #[test]
    fn writes_stop_at_the_cap_and_keep_what_fits() {
        let mut out = CappedWriter::new(5);
        assert!(out.write_all(b"abc").is_ok());
        assert!(out.write_all(b"def").is_err());
        assert_eq!((out.bytes(), out.overflowed()), (&b"abcde"[..], true));
    }
}
