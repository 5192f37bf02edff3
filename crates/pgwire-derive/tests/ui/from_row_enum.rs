use pgwire_conn::FromRow;

#[derive(FromRow)]
enum Choice {
    A,
    B,
}

fn main() {}
