//! The optional type conversions, turned on through the runtime adapters:
//! this crate asks `pgwire-tokio`, `pgwire-smol` and `pgwire-async-std` for
//! `uuid`, `serde_json` and `rust_decimal` and never pgwire-proto itself, so
//! these tests build only when every adapter forwards the features.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::str::FromStr;

use pgwire_integration_tests::{connect, runtime_only_tests, Runtime};

async fn uuid_json_and_decimal_reach_users_of_the_adapter<R: Runtime>() {
    let conn = connect::<R>().await;
    let id = uuid::Uuid::from_str("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11").unwrap();
    let doc = serde_json::json!({"a": [1, "x", null]});
    let amount = rust_decimal::Decimal::from_str("-12345.6789").unwrap();
    let row = conn
        .fetch_one(
            "select $1::uuid, $2::jsonb, $3::numeric, \
             'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid = $1",
            (id, &doc, amount),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get::<uuid::Uuid>(0).unwrap(), id);
    assert_eq!(row.try_get::<serde_json::Value>(1).unwrap(), doc);
    assert_eq!(row.try_get::<rust_decimal::Decimal>(2).unwrap(), amount);
    assert!(row.try_get::<bool>(3).unwrap());
}

runtime_only_tests!(uuid_json_and_decimal_reach_users_of_the_adapter);
