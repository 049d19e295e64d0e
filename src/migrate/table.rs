//! The CSV files an import reads: a header line naming the columns (any order, any case),
//! then one record per account, read one at a time. Text that is not UTF-8 is read as
//! Latin-1 with a warning (PyCS kept Latin-1 text before its move to PostgreSQL).

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use super::error::MigrateError;

/// At most this many structural errors are listed before the rest are only counted.
const MAX_LISTED_ERRORS: usize = 20;

pub struct Table {
    path: PathBuf,
    headers: Vec<String>,
    reader: csv::Reader<BufReader<File>>,
    record: csv::ByteRecord,
}

/// One record: its first line in the file and its fields by column.
pub struct Row {
    pub line: u64,
    pub fields: Vec<String>,
    /// The columns whose text was not UTF-8 and was read as Latin-1.
    pub latin1: Vec<String>,
}

impl Table {
    pub fn open(path: &Path) -> Result<Table, MigrateError> {
        let file = File::open(path).map_err(|error| MigrateError::Io {
            what: format!("cannot open {}", path.display()),
            error,
        })?;
        // Records end at LF only: the csv crate also ends one at a lone CR, and then reports
        // every record of a CRLF file one line early. The CR of a CRLF is cut from the last
        // field in `next_row`.
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(false)
            .terminator(csv::Terminator::Any(b'\n'))
            .from_reader(BufReader::new(file));
        let headers = reader
            .byte_headers()
            .map_err(|e| csv_error(path, &e))?
            .iter()
            .map(|h| {
                let h = String::from_utf8_lossy(h.strip_suffix(b"\r").unwrap_or(h));
                // Excel's byte-order mark, if the csv crate left it on the first name.
                h.trim_start_matches('\u{feff}').trim().to_ascii_lowercase()
            })
            .collect::<Vec<_>>();
        if headers.iter().all(String::is_empty) {
            return Err(MigrateError::Data(format!(
                "{}:1: no header line: the first line must name the columns",
                path.display()
            )));
        }
        Ok(Table {
            path: path.to_path_buf(),
            headers,
            reader,
            record: csv::ByteRecord::new(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The index of a column, by its lower-case name.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name)
    }

    /// The index of each required column, or an error naming the missing ones and the columns
    /// the file has.
    pub fn require(&self, names: &[&str]) -> Result<Vec<usize>, MigrateError> {
        let missing: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| self.column(n).is_none())
            .collect();
        if !missing.is_empty() {
            return Err(MigrateError::Data(format!(
                "{}:1: no column {}; the header names {}",
                self.path.display(),
                missing
                    .iter()
                    .map(|m| format!("{m:?}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                self.headers
                    .iter()
                    .map(|h| format!("{h:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        Ok(names.iter().filter_map(|n| self.column(n)).collect())
    }

    /// The next record, `None` at the end.
    pub fn next_row(&mut self) -> Option<Result<Row, MigrateError>> {
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => None,
            Err(e) => Some(Err(csv_error(&self.path, &e))),
            Ok(true) => {
                let line = self.record.position().map_or(0, csv::Position::line);
                let mut latin1 = Vec::new();
                let last = self.record.len().saturating_sub(1);
                let fields = self
                    .record
                    .iter()
                    .enumerate()
                    .map(|(i, bytes)| {
                        if i == last {
                            bytes.strip_suffix(b"\r").unwrap_or(bytes)
                        } else {
                            bytes
                        }
                    })
                    .enumerate()
                    .map(|(i, bytes)| match std::str::from_utf8(bytes) {
                        Ok(text) => text.to_string(),
                        Err(_) => {
                            latin1.push(self.headers.get(i).cloned().unwrap_or_default());
                            bytes.iter().map(|&b| char::from(b)).collect()
                        }
                    })
                    .collect();
                Some(Ok(Row {
                    line,
                    fields,
                    latin1,
                }))
            }
        }
    }

    /// Reads the whole file once: the number of records, or every structural error (a record
    /// with the wrong number of fields, a broken quote) with its line.
    pub fn check(path: &Path) -> Result<u64, MigrateError> {
        let mut table = Table::open(path)?;
        let mut count = 0u64;
        let mut errors = Vec::new();
        let mut more = 0usize;
        while let Some(row) = table.next_row() {
            match row {
                Ok(_) => count += 1,
                Err(e) if errors.len() < MAX_LISTED_ERRORS => errors.push(e.to_string()),
                Err(_) => more += 1,
            }
        }
        if errors.is_empty() {
            return Ok(count);
        }
        if more > 0 {
            errors.push(format!("... and {more} more"));
        }
        Err(MigrateError::Data(format!(
            "{}\nnothing was imported: fix the file and run the import again",
            errors.join("\n")
        )))
    }
}

impl Row {
    pub fn get(&self, column: Option<usize>) -> &str {
        column
            .and_then(|c| self.fields.get(c))
            .map_or("", |s| s.as_str())
            .trim()
    }
}

fn csv_error(path: &Path, e: &csv::Error) -> MigrateError {
    let line = e.position().map_or(0, csv::Position::line);
    let what = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields where the header has {expected_len}"),
        csv::ErrorKind::Io(err) => format!("cannot read: {err}"),
        _ => e.to_string(),
    };
    MigrateError::Data(format!("{}:{line}: {what}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &[u8]) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn columns_in_any_order_and_case_and_latin1_text() {
        let (_dir, path) =
            table(b"\xef\xbb\xbfEmail,UserNum\r\n\"a,\"\"b\"\"\",1\r\nJos\xe9,\"2\"\r\n");
        let mut t = Table::open(&path).unwrap();
        let [email, num] = t.require(&["email", "usernum"]).unwrap()[..] else {
            panic!()
        };
        let row = t.next_row().unwrap().unwrap();
        assert_eq!((row.line, row.get(Some(email))), (2, "a,\"b\""));
        assert_eq!(row.get(Some(num)), "1");
        let row = t.next_row().unwrap().unwrap();
        assert_eq!((row.line, row.get(Some(email))), (3, "José"));
        assert_eq!(row.fields[num], "2");
        assert_eq!(row.latin1, ["email"]);
        assert!(t.next_row().is_none());
    }

    #[test]
    fn structural_errors_are_all_listed_with_their_lines() {
        let (_dir, path) = table(b"email,usernum\na,1\nb\nc,3,x\nd,4\n");
        let e = Table::check(&path).unwrap_err().to_string();
        assert!(
            e.contains("t.csv:3: 1 fields where the header has 2"),
            "{e}"
        );
        assert!(
            e.contains("t.csv:4: 3 fields where the header has 2"),
            "{e}"
        );
        let (_dir, path) = table(b"email\na\n");
        let t = Table::open(&path).unwrap();
        let e = t.require(&["email", "password"]).unwrap_err().to_string();
        assert!(
            e.contains("t.csv:1: no column \"password\"; the header names \"email\""),
            "{e}"
        );
    }
}
