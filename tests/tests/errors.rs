//! Errors as users read them: the SQLSTATE constants and predicates match
//! what the server sends.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use pgwire_conn::{Error, SqlState};
use pgwire_integration_tests::{
    connect_as, runtime_only_tests, unique_name, Role, Runtime, Transport,
};

/// Each predicate against the condition PL/pgSQL raises by that name, and
/// against every other condition of the list.
async fn predicates_match_the_conditions_the_server_raises<R: Runtime>() {
    type Predicate = fn(&Error) -> bool;
    let cases: [(&str, SqlState, Predicate); 8] = [
        (
            "unique_violation",
            SqlState::UNIQUE_VIOLATION,
            Error::is_unique_violation,
        ),
        (
            "foreign_key_violation",
            SqlState::FOREIGN_KEY_VIOLATION,
            Error::is_foreign_key_violation,
        ),
        (
            "not_null_violation",
            SqlState::NOT_NULL_VIOLATION,
            Error::is_not_null_violation,
        ),
        (
            "check_violation",
            SqlState::CHECK_VIOLATION,
            Error::is_check_violation,
        ),
        (
            "exclusion_violation",
            SqlState::EXCLUSION_VIOLATION,
            Error::is_exclusion_violation,
        ),
        (
            "serialization_failure",
            SqlState::SERIALIZATION_FAILURE,
            Error::is_serialization_failure,
        ),
        (
            "deadlock_detected",
            SqlState::DEADLOCK_DETECTED,
            Error::is_deadlock_detected,
        ),
        (
            "query_canceled",
            SqlState::QUERY_CANCELED,
            Error::is_query_canceled,
        ),
    ];
    let conn = connect_as::<R>(Role::Trust, Transport::Tcp).await;
    for (name, state, _) in cases {
        let sql = format!("do $$ begin raise exception 'raised' using errcode = '{name}'; end $$");
        let err = conn.execute(&sql, ()).await.unwrap_err();
        assert_eq!(err.code(), Some(state), "{name}: {err}");
        assert_eq!(state.condition_name(), Some(name));
        for (other, _, predicate) in cases {
            assert_eq!(predicate(&err), other == name, "{other}() of {name}");
        }
        let integrity = state.class() == SqlState::INTEGRITY_CONSTRAINT_VIOLATION;
        assert_eq!(err.is_integrity_constraint_violation(), integrity, "{name}");
        let rollback = state.class() == SqlState::TRANSACTION_ROLLBACK;
        assert_eq!(err.is_transaction_rollback(), rollback, "{name}");
        assert!(err.is_recoverable());
    }
    // A real one, from a constraint rather than RAISE.
    let table = unique_name("fk");
    conn.execute(
        &format!("create temp table {table} (id int primary key, up int references {table})"),
        (),
    )
    .await
    .unwrap();
    let err = conn
        .execute(&format!("insert into {table} values (1, 2)"), ())
        .await
        .unwrap_err();
    assert!(err.is_foreign_key_violation(), "{err}");
    assert!(err.as_database().unwrap().is_foreign_key_violation());
    assert!(err.is_integrity_constraint_violation());
    assert!(!err.is_unique_violation());
    // Not a database error: no predicate holds.
    let err = Error::Closed;
    assert!(cases.iter().all(|(_, _, predicate)| !predicate(&err)));
    assert!(!err.is_integrity_constraint_violation());
}

runtime_only_tests!(predicates_match_the_conditions_the_server_raises);
