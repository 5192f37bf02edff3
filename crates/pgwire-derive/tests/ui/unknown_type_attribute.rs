use pgwire_conn::{FromSql, ToSql};

#[derive(Debug, ToSql, FromSql)]
#[pgwire(rename_everything = "snake_case")]
enum Mood {
    Sad,
}

fn main() {}
