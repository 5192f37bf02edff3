//! Rows kept for long: the memory they keep alive, and moving them out of
//! the receive buffer's chunks when that is much more than their own bytes.
//!
//! A row is a view of the chunk it arrived in, which it keeps alive whole:
//! a row fetched on its own can keep 16–128 KiB for a few bytes of values.

use std::sync::Arc;

use super::Row;

/// The bytes of a `DataRow` message besides its values (type, length and
/// column count): a chunk full of rows holds these too, which is not waste.
const DATA_ROW_HEADER: usize = 7;
/// Chunk memory tolerated beyond twice the rows' size before they are
/// copied: a handful of rows in a small chunk is not worth a copy.
const SLACK: usize = 4 * 1024;

impl Row {
    /// The size of the allocation this row keeps alive: the receive buffer
    /// chunk it is a view of, shared with the rows read with it (so summing
    /// this over rows counts a shared chunk once per row), or after
    /// [`detach`](Self::detach) or [`compact_rows`] the row's own copy.
    pub fn retained_bytes(&self) -> usize {
        self.chunk.len()
    }

    /// A copy of the row that keeps only its own values alive (one
    /// allocation of their size), not the chunk it arrived in.
    pub fn detach(&self) -> Row {
        let values = self.bytes();
        Row {
            description: Arc::clone(&self.description),
            chunk: Arc::from(values),
            start: 0,
            end: values.len(),
        }
    }
}

/// Makes rows that will be kept cost about their own size.
///
/// When the chunks the rows keep alive add up to more than about twice the
/// rows' own bytes (their `DataRow` messages) plus a few KiB, every row's
/// values are copied into one new allocation shared by all of them, and the
/// chunks are let go (once no other row holds them). Otherwise the rows are
/// left as they are, zero-copy: checking costs one pass comparing each
/// row's chunk with the previous row's.
///
/// Rows may come from different result sets and share chunks in any
/// order. A row that [`Clone`]s another's is copied once per clone.
pub fn compact_rows(rows: &mut [Row]) {
    if let [row] = rows {
        // One row (a `fetch_one`): the common case, without the counting.
        if row.chunk.len() > (row.end - row.start + DATA_ROW_HEADER) * 2 + SLACK {
            *row = row.detach();
        }
        return;
    }
    let mut own = 0usize;
    let mut retained = 0usize;
    let mut runs = 0usize;
    let mut previous: Option<&Arc<[u8]>> = None;
    for row in rows.iter() {
        own = own.saturating_add(row.end - row.start + DATA_ROW_HEADER);
        // Rows arrive in order, so the rows of one chunk are consecutive.
        if !previous.is_some_and(|chunk| Arc::ptr_eq(chunk, &row.chunk)) {
            retained = retained.saturating_add(row.chunk.len());
            previous = Some(&row.chunk);
            runs += 1;
        }
    }
    let budget = own.saturating_mul(2).saturating_add(SLACK);
    // The pass above counts a chunk again after each row from another one:
    // rows reordered by the caller are counted exactly before any copy
    // (one run of rows is one chunk, counted exactly already).
    if retained <= budget || (runs > 1 && retained_total(rows) <= budget) {
        return;
    }
    let len = rows.iter().map(|row| row.end - row.start).sum();
    // Collected from an iterator of known length: one allocation.
    let mut chunk: Arc<[u8]> = std::iter::repeat_n(0, len).collect();
    let Some(buf) = Arc::get_mut(&mut chunk) else {
        // Not reached: nothing else has seen the new `Arc`.
        return;
    };
    let mut at = 0;
    for row in rows.iter() {
        let values = row.bytes();
        if let Some(to) = buf.get_mut(at..at + values.len()) {
            to.copy_from_slice(values);
        }
        at += values.len();
    }
    let mut at = 0;
    for row in rows.iter_mut() {
        let n = row.end - row.start;
        row.chunk = Arc::clone(&chunk);
        row.start = at;
        row.end = at + n;
        at += n;
    }
}

/// The total size of the distinct allocations `rows` keep alive.
pub(crate) fn retained_total(rows: &[Row]) -> usize {
    let mut chunks: Vec<(*const u8, usize)> = rows
        .iter()
        .map(|row| (row.chunk.as_ptr(), row.chunk.len()))
        .collect();
    chunks.sort_unstable();
    chunks.dedup();
    chunks.iter().map(|&(_, len)| len).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::row::{FieldDescription, Format, RowDescription};

    fn description(columns: usize) -> Arc<RowDescription> {
        let fields = (0..columns)
            .map(|i| FieldDescription {
                name: format!("c{i}"),
                table_oid: 0,
                column_id: 0,
                type_oid: crate::types::oid::TEXT,
                type_size: -1,
                type_modifier: -1,
                format: Format::Text,
            })
            .collect();
        Arc::new(RowDescription::new(fields))
    }

    /// The values of a row of `values` as a `DataRow` carries them.
    fn encode(values: &[Option<&str>]) -> Vec<u8> {
        let mut out = Vec::new();
        for v in values {
            match v {
                None => out.extend_from_slice(&(-1i32).to_be_bytes()),
                Some(s) => {
                    out.extend_from_slice(&(s.len() as i32).to_be_bytes());
                    out.extend_from_slice(s.as_bytes());
                }
            }
        }
        out
    }

    /// Rows laid out in one chunk of `size` bytes (at least what they
    /// need), each after a gap of a `DataRow` header as on the wire.
    fn rows_in_chunk(rows: &[Vec<Option<&str>>], size: usize) -> Vec<Row> {
        let mut bytes = Vec::new();
        let mut ranges = Vec::new();
        for values in rows {
            bytes.extend_from_slice(&[0; DATA_ROW_HEADER]);
            let start = bytes.len();
            bytes.extend(encode(values));
            ranges.push((start, bytes.len()));
        }
        bytes.resize(size.max(bytes.len()), 0);
        let chunk: Arc<[u8]> = Arc::from(bytes);
        rows.iter()
            .zip(ranges)
            .map(|(values, (start, end))| {
                Row::from_validated(description(values.len()), Arc::clone(&chunk), start, end)
            })
            .collect()
    }

    fn texts(row: &Row) -> Vec<Option<String>> {
        (0..row.len())
            .map(|i| row.text(i).unwrap().map(String::from))
            .collect()
    }

    #[test]
    fn a_detached_row_keeps_only_its_values() {
        let rows = rows_in_chunk(
            &[vec![Some("a"), None], vec![Some("bcd"), Some("")]],
            1 << 17,
        );
        assert_eq!(rows[1].retained_bytes(), 1 << 17);
        let detached = rows[1].detach();
        assert_eq!(detached, rows[1]);
        assert_eq!(detached.retained_bytes(), 4 + 3 + 4);
        drop(rows);
        assert_eq!(
            texts(&detached),
            [Some("bcd".to_string()), Some(String::new())]
        );
        assert_eq!(detached.raw_bytes(0).unwrap().as_deref(), Some(&b"bcd"[..]));
    }

    #[test]
    fn rows_pinning_large_chunks_are_copied_into_one() {
        // Rows fetched one at a time, each in its own 16 KiB chunk, then a
        // few from another result set sharing one chunk.
        let mut rows: Vec<Row> = (0..100)
            .flat_map(|i| rows_in_chunk(&[vec![Some(&*i.to_string())]], 16 * 1024))
            .collect();
        rows.extend(rows_in_chunk(
            &[
                vec![None, Some("x"), Some("yz")],
                vec![Some("w"), None, None],
            ],
            128 * 1024,
        ));
        let before = rows.clone();
        let expected: Vec<_> = rows.iter().map(texts).collect();
        let values: usize = rows.iter().map(|r| r.bytes().len()).sum();
        assert_eq!(retained_total(&rows), 100 * 16 * 1024 + 128 * 1024);
        compact_rows(&mut rows);
        assert_eq!(rows, before);
        drop(before);
        assert_eq!(rows.iter().map(texts).collect::<Vec<_>>(), expected);
        // One allocation, of the values' size, shared by all the rows.
        assert_eq!(retained_total(&rows), values);
        assert!(rows.iter().all(|r| Arc::ptr_eq(&r.chunk, &rows[0].chunk)));
        assert_eq!(rows[0].retained_bytes(), values);
        // Compact already: a second call copies nothing.
        let chunk = Arc::clone(&rows[0].chunk);
        compact_rows(&mut rows);
        assert!(rows.iter().all(|r| Arc::ptr_eq(&r.chunk, &chunk)));
    }

    #[test]
    fn rows_filling_their_chunks_are_not_copied() {
        let values: Vec<String> = (0..2_000).map(|i| format!("value {i}")).collect();
        let first: Vec<Vec<Option<&str>>> =
            values[..1000].iter().map(|v| vec![Some(&**v)]).collect();
        let second: Vec<Vec<Option<&str>>> = values[1000..]
            .iter()
            .map(|v| vec![Some(&**v), None])
            .collect();
        let a = rows_in_chunk(&first, 0);
        let b = rows_in_chunk(&second, 0);
        // Consecutive, and interleaved (which the quick pass overcounts).
        let mut orders = vec![a.iter().chain(&b).cloned().collect::<Vec<_>>()];
        orders.push(
            a.iter()
                .zip(&b)
                .flat_map(|(x, y)| [x, y])
                .cloned()
                .collect(),
        );
        for mut rows in orders {
            let chunks: Vec<*const u8> = rows.iter().map(|r| r.chunk.as_ptr()).collect();
            compact_rows(&mut rows);
            let after: Vec<*const u8> = rows.iter().map(|r| r.chunk.as_ptr()).collect();
            assert_eq!(after, chunks);
        }
        // A few rows in a small chunk are within the slack: not copied.
        let mut few = rows_in_chunk(&first[..3], 4096);
        let chunk = few[0].chunk.as_ptr();
        compact_rows(&mut few);
        assert_eq!(few[2].chunk.as_ptr(), chunk);
        compact_rows(&mut []);
    }
}
