use pgwire_conn::ToSql;

#[derive(Debug, ToSql)]
#[pgwire(rename_all = "shouting")]
enum Mood {
    Sad,
}

fn main() {}
