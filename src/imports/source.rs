//! Reading an import's file: two streaming passes over the stored CSV, as bytes
//! ([`ByteRecord`]), never holding more than a batch of rows.
//!
//! The `csv` crate is lenient about quoting (an unclosed quote silently swallows the rest of the
//! file), so the first pass ([`scan`]) also runs every byte through [`QuoteCheck`], which rejects
//! what Chatwoot's Ruby parser rejects: a quote inside an unquoted field, text after a closing
//! quote, and a quoted field never closed. The second pass ([`Source`]) reads the rows.

use std::{
    fs::File,
    io::{self, Read, Seek, SeekFrom},
    path::Path,
};

use csv::ByteRecord;

use super::parse::{Header, Row, is_blank};

/// Why a file cannot be imported at all.
#[derive(Debug)]
pub enum ReadError {
    /// Not a CSV with a usable header row; the message says why (shown to the user).
    Malformed(String),
    Io(io::Error),
}

impl From<io::Error> for ReadError {
    fn from(err: io::Error) -> Self {
        Self::Io(err)
    }
}

impl From<csv::Error> for ReadError {
    fn from(err: csv::Error) -> Self {
        if err.is_io_error() {
            match err.into_kind() {
                csv::ErrorKind::Io(err) => Self::Io(err),
                other => Self::Malformed(format!("{other:?}")),
            }
        } else {
            Self::Malformed(err.to_string())
        }
    }
}

/// Opens a file positioned after its UTF-8 byte-order mark, if it has one.
fn open_skipping_bom(path: &Path) -> io::Result<File> {
    let mut file = File::open(path)?;
    let mut start = [0u8; 3];
    let mut read = 0;
    while read < start.len() {
        let n = file.read(&mut start[read..])?;
        if n == 0 {
            break;
        }
        read += n;
    }
    if read < 3 || start != [0xef, 0xbb, 0xbf] {
        file.seek(SeekFrom::Start(0))?;
    }
    Ok(file)
}

fn reader<R: Read>(input: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input)
}

/// The data rows of a file, read a batch at a time (the second pass).
pub struct Source<R: Read = File> {
    reader: csv::Reader<R>,
    record: ByteRecord,
    pub header: Header,
}

impl Source<File> {
    /// Opens a file and reads its header.
    pub fn open(path: &Path) -> Result<Self, ReadError> {
        Self::new(open_skipping_bom(path)?)
    }
}

impl<R: Read> Source<R> {
    pub(super) fn new(input: R) -> Result<Self, ReadError> {
        let mut reader = reader(input);
        let mut record = ByteRecord::new();
        loop {
            if !reader.read_byte_record(&mut record)? {
                return Err(ReadError::Malformed(
                    "the file is empty: it needs a header row naming the columns".to_owned(),
                ));
            }
            if !is_blank(&record) {
                break;
            }
        }
        let header = Header::new(&record).map_err(ReadError::Malformed)?;
        Ok(Self {
            reader,
            record,
            header,
        })
    }

    /// The next non-blank data row.
    pub fn next_row(&mut self) -> Result<Option<Row>, ReadError> {
        while self.reader.read_byte_record(&mut self.record)? {
            if let Some(row) = self.header.row(&self.record) {
                return Ok(Some(row));
            }
        }
        Ok(None)
    }

    /// Up to `n` more rows (fewer at the end of the file).
    pub fn next_rows(&mut self, n: usize) -> Result<Vec<Row>, ReadError> {
        let mut rows = Vec::with_capacity(n);
        while rows.len() < n {
            match self.next_row()? {
                Some(row) => rows.push(row),
                None => break,
            }
        }
        Ok(rows)
    }

    /// Skips `n` data rows without interpreting them (resuming after a restart).
    pub fn skip(&mut self, n: u64) -> Result<(), ReadError> {
        let mut skipped = 0;
        while skipped < n && self.reader.read_byte_record(&mut self.record)? {
            if !is_blank(&self.record) {
                skipped += 1;
            }
        }
        Ok(())
    }
}

/// The first pass: checks that the whole file is well-formed CSV with a usable header, and
/// counts its data rows, without interpreting them. Nothing is written before it succeeds.
pub fn scan(path: &Path) -> Result<u64, ReadError> {
    scan_reader(open_skipping_bom(path)?)
}

fn scan_reader(input: impl Read) -> Result<u64, ReadError> {
    let mut source = Source::new(QuoteCheck::new(input))?;
    let check = |source: &Source<QuoteCheck<_>>| match source.reader.get_ref().error.clone() {
        Some(reason) => Err(ReadError::Malformed(format!(
            "the file is not valid CSV: {reason}"
        ))),
        None => Ok(()),
    };
    check(&source)?;
    let mut rows = 0;
    while source.reader.read_byte_record(&mut source.record)? {
        check(&source)?;
        if !is_blank(&source.record) {
            rows += 1;
        }
    }
    check(&source)?;
    Ok(rows)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QuoteState {
    FieldStart,
    Unquoted,
    Quoted,
    /// A `"` inside a quoted field: a doubled quote or the closing one.
    QuoteInQuoted,
}

/// A reader that checks RFC 4180 quoting of every byte passing through it; the first problem
/// found is kept in `error` (with its line number) for the pass to report.
pub struct QuoteCheck<R> {
    inner: R,
    state: QuoteState,
    line: u64,
    opened_on: u64,
    error: Option<String>,
}

impl<R> QuoteCheck<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            state: QuoteState::FieldStart,
            line: 1,
            opened_on: 1,
            error: None,
        }
    }

    fn fail(&mut self, message: &str) {
        self.error = Some(format!("line {}: {message}", self.line));
    }

    fn feed(&mut self, byte: u8) {
        use QuoteState::{FieldStart, QuoteInQuoted, Quoted, Unquoted};
        if byte == b'\n' {
            self.line += 1;
        }
        let ends_field = matches!(byte, b',' | b'\n' | b'\r');
        self.state = match self.state {
            FieldStart if byte == b'"' => {
                self.opened_on = self.line;
                Quoted
            }
            FieldStart | Unquoted if ends_field => FieldStart,
            FieldStart => Unquoted,
            Unquoted if byte == b'"' => {
                self.fail(
                    "a quote inside an unquoted field (quote the whole field and double the \
                     quotes inside it)",
                );
                Unquoted
            }
            Unquoted => Unquoted,
            Quoted if byte == b'"' => QuoteInQuoted,
            Quoted => Quoted,
            QuoteInQuoted if byte == b'"' => Quoted,
            QuoteInQuoted if ends_field => FieldStart,
            QuoteInQuoted => {
                self.fail("text after the closing quote of a field");
                FieldStart
            }
        };
    }
}

impl<R: Read> Read for QuoteCheck<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.error.is_none() {
            if n == 0 {
                if self.state == QuoteState::Quoted {
                    self.error = Some(format!(
                        "line {}: a quoted field is never closed",
                        self.opened_on
                    ));
                }
            } else {
                for &byte in &buf[..n] {
                    self.feed(byte);
                    if self.error.is_some() {
                        break;
                    }
                }
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn scan_str(text: &[u8]) -> Result<u64, String> {
        scan_reader(text).map_err(|err| match err {
            ReadError::Malformed(reason) => reason,
            ReadError::Io(err) => err.to_string(),
        })
    }

    #[test]
    fn counts_rows_and_skips_blank_ones() {
        assert_eq!(
            scan_str(b"email,name\na@x.io,A\n\n,\nb@x.io,\"B, b\"\r\n"),
            Ok(2)
        );
        assert_eq!(scan_str(b"email\n\"a \"\"q\"\" @x.io\"\n"), Ok(1));
    }

    #[test]
    fn rejects_broken_quoting_and_missing_headers() {
        let unclosed = scan_str(b"email,name\na@x.io,\"Ann\nb@x.io,Bob\n").unwrap_err();
        assert!(
            unclosed.contains("line 2") && unclosed.contains("never closed"),
            "{unclosed}"
        );
        let stray = scan_str(b"email,name\na@x.io,An\"n\n").unwrap_err();
        assert!(
            stray.contains("line 2") && stray.contains("unquoted"),
            "{stray}"
        );
        let after = scan_str(b"email,name\na@x.io,\"Ann\"x\n").unwrap_err();
        assert!(after.contains("after the closing quote"), "{after}");
        assert!(scan_str(b"").unwrap_err().contains("header"));
        assert!(
            scan_str(b"a@x.io,+14155550100\n")
                .unwrap_err()
                .contains("header")
        );
        assert!(scan_str(b"email,Email\n").unwrap_err().contains("twice"));
    }
}
