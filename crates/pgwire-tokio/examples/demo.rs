//! The `cargo xtask demo` program: connect, create a table, insert, select,
//! print the rows as a table, and catch an SQL error without losing the
//! connection.
//!
//! It is configured the way libpq is: from the PG* environment variables
//! (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, ...).

use pgwire_tokio::{named, open_database_connection, ConnectOptions, Row, SqlState};

fn print_table(rows: &[Row]) -> Result<(), pgwire_tokio::Error> {
    let Some(first) = rows.first() else {
        println!("(no rows)");
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
    println!("  ({} rows)", rows.len());
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = ConnectOptions::from_env()?.application_name("pgwire-demo");
    println!(
        "connecting to {} as {} (sslmode {}) ...",
        options.describe_target(),
        options.user(),
        options.get_ssl_mode()
    );
    let conn = open_database_connection(&options).await?;
    let params = conn.connection_parameters();
    println!(
        "connected: PostgreSQL {}, time zone {}, backend pid {}",
        params.get("server_version").map_or("?", String::as_str),
        conn.server_timezone().unwrap_or_default(),
        conn.backend_key().map_or(0, |k| k.process_id),
    );

    let created = conn
        .execute("create temp table fruit (id serial primary key, name text not null, price numeric(6,2), note text)", ())
        .await?;
    println!("\ncreate temp table fruit -> {created} rows");
    // Values travel as bind parameters, never spliced into the SQL; the four
    // inserts commit together or not at all.
    let fruit: [(&str, f64, Option<&str>); 4] = [
        ("apple", 0.50, Some("crisp")),
        ("banana", 0.25, None),
        ("cherry", 4.20, Some("by the kilo")),
        ("durian", 12.00, Some("smelly")),
    ];
    let inserted = conn
        .with_transaction(async |tx| {
            let mut n = 0;
            for (name, price, note) in fruit {
                n += tx
                    .execute(
                        "insert into fruit (name, price, note) values ($1, $2, $3)",
                        (name, price, note),
                    )
                    .await?;
            }
            Ok::<_, pgwire_tokio::Error>(n)
        })
        .await?;
    println!("insert into fruit ($1, $2, $3) x4 in one transaction -> {inserted} rows");
    let updated = conn
        .execute(
            "update fruit set price = price * 1.1 where price < :limit",
            named! { limit: 1.0f64 },
        )
        .await?;
    println!("update fruit (10% on fruit under :limit = 1.0) -> {updated} rows");

    println!("\nselect * from fruit order by id:");
    let rows = conn.fetch("select * from fruit order by id", ()).await?;
    print_table(&rows)?;

    println!("\nselect * from fruits (a typo):");
    match conn.fetch("select * from fruits", ()).await {
        Err(e) if e.code() == Some(SqlState::UNDEFINED_TABLE) => {
            let db = e
                .as_database()
                .map(|d| d.fields().clone())
                .unwrap_or_default();
            println!(
                "  caught {} {}: {} (at character {})",
                db.severity(),
                db.sqlstate(),
                db.message,
                db.position.unwrap_or(0)
            );
            println!(
                "  recoverable: {}, connection ready: {}",
                e.is_recoverable(),
                conn.ready()
            );
        }
        other => return Err(format!("expected an undefined_table error, got {other:?}").into()),
    }

    let results = conn
        .simple_query("select count(*) as fruits, sum(price) as total from fruit; select now()::date as today")
        .await?;
    println!("\ntwo statements in one query:");
    for result in &results {
        print_table(&result.rows)?;
    }

    println!("\ntypes travel in binary, both ways:");
    let rows = conn
        .fetch(
            "select $1::date + 1 as tomorrow, $2::numeric * 3 as exact, $3::int4[] as arr, \
             $4::jsonb -> 'k' as json, tstzrange(now(), null) @> now() as in_range",
            (
                time::macros::date!(2024 - 02 - 28),
                "0.1".parse::<pgwire_tokio::Numeric>()?,
                vec![Some(1), None, Some(3)],
                pgwire_tokio::Json(r#"{"k": ["v", 2]}"#),
            ),
        )
        .await?;
    print_table(&rows)?;

    conn.close().await?;
    println!("\nclosed the connection cleanly");
    Ok(())
}
