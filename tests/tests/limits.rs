//! The protocol's limits: a statement takes up to 65,535 parameters (the
//! Bind and Parse messages count them in 16 unsigned bits), end to end on
//! every transport; 65,536 is a typed error before anything is sent, and
//! the connection stays usable.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use pgwire_conn::{Error, Named, ParamError, ToSql};
use pgwire_integration_tests::streams::{Gate, Gated};
use pgwire_integration_tests::{
    connect_as, connect_over, runtime_only_tests, Role, Runtime, Transport,
};

/// The most parameters a statement can have.
const MAX: usize = 65_535;

/// `select array[$1::int4, $2, ..., $n]`: one element per parameter keeps
/// the text short and the server's work linear; the cast makes every
/// element an int4 also where the server infers the types.
fn positional_array(n: usize) -> String {
    let placeholders: Vec<String> = (2..=n).map(|i| format!(",${i}")).collect();
    format!("select array[$1::int4{}]", placeholders.concat())
}

/// `select array[:p0, ..., :p{n-1}]` and its names.
fn named_array(n: usize) -> (String, Vec<String>) {
    let names: Vec<String> = (0..n).map(|i| format!("p{i}")).collect();
    let placeholders: Vec<String> = names.iter().map(|name| format!(":{name}")).collect();
    (format!("select array[{}]", placeholders.join(",")), names)
}

async fn sixty_five_thousand_parameters<R: Runtime>() {
    let values: Vec<i32> = (0..MAX as i32).collect();
    let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v as _).collect();
    let sql = positional_array(MAX);
    let (named_sql, names) = named_array(MAX);
    let pairs: Vec<(&str, &(dyn ToSql + Sync))> = names
        .iter()
        .map(String::as_str)
        .zip(refs.iter().copied())
        .collect();
    for transport in Transport::ALL {
        let conn = connect_as::<R>(Role::Trust, transport).await;
        // The first run prepares (Parse with 65,535 types, a
        // ParameterDescription of 65,535), the second binds the cached
        // statement.
        for run in 0..2 {
            let row = conn.fetch_one(sql.as_str(), &refs).await;
            let row = row.unwrap_or_else(|e| panic!("{transport:?} run {run}: {e}"));
            let got: Vec<i32> = row.unwrap().try_get(0).unwrap();
            assert!(got == values, "{transport:?} run {run}: wrong array");
        }
        let row = conn.fetch_one(named_sql.as_str(), Named(&pairs)).await;
        let row = row.unwrap_or_else(|e| panic!("{transport:?} named: {e}"));
        let got: Vec<i32> = row.unwrap().try_get(0).unwrap();
        assert!(got == values, "{transport:?} named: wrong array");
        // A prepared statement whose parameter types the server infers.
        let info = conn.create_prepared_statement("wide", &sql).await.unwrap();
        assert_eq!(info.parameter_types().len(), MAX, "{transport:?}");
        let row = conn.fetch_one(&info, &refs).await.unwrap().unwrap();
        let got: Vec<i32> = row.try_get(0).unwrap();
        assert!(got == values, "{transport:?} prepared: wrong array");
        assert_eq!(conn.execute("select 1", ()).await.unwrap(), 1);
        conn.close().await.unwrap();
    }
}

async fn too_many_parameters_are_refused_before_sending<R: Runtime>() {
    let gate = Gate::default();
    let conn = connect_over::<R, _, _>(|s| Gated::new(s, gate.clone())).await;
    let values: Vec<i32> = (0..=MAX as i32).collect();
    let refs: Vec<&(dyn ToSql + Sync)> = values.iter().map(|v| v as _).collect();
    let info = conn
        .create_prepared_statement("wide", &positional_array(MAX))
        .await
        .unwrap();
    let (named_sql, names) = named_array(MAX + 1);
    let pairs: Vec<(&str, &(dyn ToSql + Sync))> = names
        .iter()
        .map(String::as_str)
        .zip(refs.iter().copied())
        .collect();
    let before = gate.written();
    let refused = [
        (
            "positional",
            conn.fetch_one(positional_array(MAX).as_str(), &refs).await,
        ),
        (
            "positional, one placeholder",
            conn.fetch_one("select $1::int4", &refs).await,
        ),
        (
            "named",
            conn.fetch_one(named_sql.as_str(), Named(&pairs)).await,
        ),
        ("prepared", conn.fetch_one(&info, &refs).await),
    ];
    for (what, result) in refused {
        match result {
            Err(e @ Error::Params(ParamError::TooMany { count: 65_536 })) => {
                assert!(e.is_recoverable(), "{what}");
            }
            other => panic!("{what}: expected TooMany, got {other:?}"),
        }
    }
    assert_eq!(gate.written(), before, "a refused request was sent");
    assert_eq!(conn.execute("select 1", ()).await.unwrap(), 1);
    assert!(conn.ready());
}

runtime_only_tests!(
    sixty_five_thousand_parameters,
    too_many_parameters_are_refused_before_sending,
);
