//! Rows printed as psql prints them.

use pgwire_tokio::Row;

pub fn print(rows: &[Row]) -> Result<(), pgwire_tokio::Error> {
    let Some(first) = rows.first() else {
        println!("  (no rows)");
        return Ok(());
    };
    let headers: Vec<&str> = first
        .description()
        .fields()
        .iter()
        .map(|f| f.name.as_str())
        .collect();
    // Dynamic values print like psql, whatever the column type and format.
    let mut cells: Vec<Vec<String>> = Vec::new();
    for row in rows {
        cells.push(
            row.values_dynamic()?
                .iter()
                .map(ToString::to_string)
                .collect(),
        );
    }
    let widths: Vec<usize> = (0..headers.len())
        .map(|i| {
            cells
                .iter()
                .map(|c| c[i].chars().count())
                .chain([headers[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |values: Vec<&str>| {
        let padded: Vec<String> = values
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!(" {v:<w$} "))
            .collect();
        println!("  |{}|", padded.join("|"));
    };
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(w + 2)).collect();
    line(headers);
    println!("  |{}|", rule.join("+"));
    for row in &cells {
        line(row.iter().map(String::as_str).collect());
    }
    Ok(())
}
