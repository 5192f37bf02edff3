use pgwire_conn::FromSql;

#[derive(Debug, FromSql)]
#[pgwire(transparent)]
struct Both(i64, String);

fn main() {}
