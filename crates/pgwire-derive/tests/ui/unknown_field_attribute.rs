use pgwire_conn::FromRow;

#[derive(FromRow)]
struct User {
    #[pgwire(renam = "user_id")]
    id: i64,
}

fn main() {}
