use pgwire_conn::FromRow;

#[derive(FromRow)]
struct Unit;

fn main() {}
