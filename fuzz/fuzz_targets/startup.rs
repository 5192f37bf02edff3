//! Startup and authentication against arbitrary server answers: no panic,
//! never "authenticated" without AuthenticationOk, never a SCRAM login
//! without the server's proof, and with channel binding required never a
//! login without it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgwire_proto::{AuthMechanism, Event, Machine, StartupConfig};

fuzz_target!(|data: &[u8]| {
    let Some((&how, rest)) = data.split_first() else {
        return;
    };
    let mut config = StartupConfig::new("fuzz").password("secret");
    let binding = how & 1 != 0;
    if how & 2 != 0 {
        // As if over TLS, with a certificate hash to bind to.
        config = config.tls(Some(vec![7; 32]));
    }
    if binding {
        config = config.require_channel_binding(true);
    }
    let mut m = Machine::new();
    m.set_max_message_len(1 << 16);
    if m.start(&config).is_err() {
        return;
    }
    let mut rest = rest;
    let mut authenticated = false;
    while let Some((&size, tail)) = rest.split_first() {
        let n = usize::from(size % 32 + 1).min(tail.len());
        let (chunk, tail) = tail.split_at(n);
        rest = tail;
        m.consume_output(m.output().len());
        m.receive(chunk);
        loop {
            match m.next_event() {
                Ok(Some(Event::Authenticated)) => authenticated = true,
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
    }
    if authenticated {
        let method = m.authentication();
        assert!(method.is_some(), "authenticated without a method");
        if binding {
            assert_eq!(
                method,
                Some(AuthMechanism::ScramSha256Plus),
                "logged in without the binding required"
            );
        }
    }
});
