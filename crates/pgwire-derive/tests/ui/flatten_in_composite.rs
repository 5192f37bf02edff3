use pgwire_conn::ToSql;

#[derive(Debug, ToSql)]
struct Inner {
    n: i32,
}

#[derive(Debug, ToSql)]
struct Outer {
    #[pgwire(flatten)]
    inner: Inner,
}

fn main() {}
