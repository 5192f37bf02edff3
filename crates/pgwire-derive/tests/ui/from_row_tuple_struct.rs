use pgwire_conn::FromRow;

#[derive(FromRow)]
struct Pair(i32, String);

fn main() {}
