use pgwire_conn::ToSql;

#[derive(Debug, ToSql)]
struct UserId(i64);

fn main() {}
