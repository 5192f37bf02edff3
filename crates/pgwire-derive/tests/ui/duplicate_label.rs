use pgwire_conn::FromSql;

#[derive(Debug, FromSql)]
#[pgwire(rename_all = "lowercase")]
enum Mood {
    Sad,
    #[pgwire(rename = "sad")]
    Blue,
}

fn main() {}
