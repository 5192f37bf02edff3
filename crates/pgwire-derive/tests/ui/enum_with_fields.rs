use pgwire_conn::ToSql;

#[derive(Debug, ToSql)]
enum Shape {
    Circle(f64),
    Square { side: f64 },
}

fn main() {}
