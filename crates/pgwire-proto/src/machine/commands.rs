//! The commands: what each request queues, and what the server owes in
//! answer. Nothing here blocks; bytes wait in the output buffer.

use std::sync::Arc;

use bytes::BytesMut;

use super::{copy, Bind, Machine, Pending, Phase, RequestId, RequestKind};
use crate::error::Error;
use crate::message::frontend;
use crate::row::RowDescription;
use crate::startup::{Auth, StartupConfig};

impl Machine {
    pub(super) fn refuse(&self, command: &'static str) -> Error {
        Error::InvalidState {
            command,
            state: self.phase.name(),
        }
    }

    /// Queues an `SSLRequest`. The next event is [`Event::SslResponse`].
    pub fn request_ssl(&mut self) -> Result<(), Error> {
        if !matches!(self.phase, Phase::Initial) {
            return Err(self.refuse("request_ssl"));
        }
        frontend::ssl_request(&mut self.out);
        self.phase = Phase::SslRequested;
        Ok(())
    }

    /// Queues the `StartupMessage`. Allowed first, or after an `SSLRequest`
    /// was answered (and, if accepted, the TLS handshake done).
    pub fn start(&mut self, config: &StartupConfig) -> Result<(), Error> {
        if !matches!(self.phase, Phase::Initial | Phase::SslAccepted) {
            return Err(self.refuse("start"));
        }
        config.write_startup(&mut self.out)?;
        self.protocol = config.get_max_protocol_version();
        self.config = Some(config.clone());
        self.phase = Phase::Authenticating(Auth::Waiting);
        Ok(())
    }

    pub(super) fn push_request(
        &mut self,
        kind: RequestKind,
        description: Option<Arc<RowDescription>>,
    ) -> RequestId {
        let id = RequestId(self.next_request);
        self.next_request += 1;
        // Nothing pending accepts copy-in any more.
        self.copy_accepts &= !self.pending.is_empty();
        self.pending.push_back(Pending {
            id,
            kind,
            description,
            copy_in: copy::PendingCopy::Refuse,
            members: None,
        });
        if self.pending.len() == 1 {
            self.activate_front();
        }
        id
    }

    /// Installs the preset row description of the request now answering.
    pub(super) fn activate_front(&mut self) {
        if self.activate_members() {
            return;
        }
        let preset = self.pending.front().and_then(|p| p.description.clone());
        self.description = preset.map(|d| self.mark(d));
    }

    /// Queues the messages `write` produces as one request, or nothing at
    /// all if it fails half-way. `texts` and `params` are what it sends,
    /// for the [client encoding](crate::encoding) check.
    pub(super) fn extended(
        &mut self,
        command: &'static str,
        (texts, params, executes): (&[&str], usize, bool),
        description: Option<Arc<RowDescription>>,
        write: impl FnOnce(&mut BytesMut) -> Result<(), Error>,
    ) -> Result<RequestId, Error> {
        if !matches!(self.phase, Phase::Ready) {
            return Err(self.refuse(command));
        }
        let member = self.batch_admits(command, executes)?;
        if self.copy_in_pending() {
            return Err(self.refuse_behind_copy(command));
        }
        self.encoding.check(texts, params)?;
        let mark = self.out.len();
        if let Err(e) = write(&mut self.out) {
            self.out.truncate(mark);
            return Err(e);
        }
        if member {
            return Ok(self.add_member(description));
        }
        frontend::sync(&mut self.out);
        Ok(self.push_request(RequestKind::Extended, description))
    }

    /// Prepares `sql` as statement `name` and describes it. The answer:
    /// `ParseComplete`, `ParameterDescription`, `RowDescription` or `NoData`
    /// (or an `Error`), then `ReadyForQuery`.
    pub fn prepare(
        &mut self,
        name: &str,
        sql: &str,
        param_types: &[u32],
    ) -> Result<RequestId, Error> {
        self.extended("prepare", (&[name, sql], 0, false), None, |out| {
            frontend::parse(out, name, sql, param_types)?;
            frontend::describe(out, frontend::Target::Statement, name)
        })
    }

    /// Parses `sql` as the unnamed statement, binds it to `portal` ("" for
    /// the unnamed one) and executes it, in one round trip. The answer:
    /// `ParseComplete`, `BindComplete`, `RowDescription` or `NoData`, rows,
    /// then `CommandComplete`, `PortalSuspended` or `EmptyQuery` (or an
    /// `Error`), then `ReadyForQuery`.
    pub fn query<F>(
        &mut self,
        sql: &str,
        param_types: &[u32],
        portal: &str,
        bind: Bind<'_, F>,
    ) -> Result<RequestId, Error>
    where
        F: FnMut(usize, &mut BytesMut) -> Result<Option<crate::row::Format>, Error>,
    {
        let executes = bind.max_rows.is_some();
        let sent = (&[sql, portal][..], bind.param_count, executes);
        self.extended("query", sent, None, |out| {
            frontend::parse(out, "", sql, param_types)?;
            frontend::bind(
                out,
                portal,
                "",
                bind.param_count,
                bind.encode,
                bind.result_formats,
            )?;
            frontend::describe(out, frontend::Target::Portal, portal)?;
            match bind.max_rows {
                Some(n) => frontend::execute(out, portal, n),
                None => Ok(()),
            }
        })
    }

    /// Binds prepared statement `statement` to `portal` and executes it.
    /// With `description` (the statement's columns, with the formats
    /// `bind.result_formats` asks for), the portal is not described again;
    /// without, the answer includes a `RowDescription` or `NoData`.
    pub fn bind_execute<F>(
        &mut self,
        statement: &str,
        portal: &str,
        bind: Bind<'_, F>,
        description: Option<Arc<RowDescription>>,
    ) -> Result<RequestId, Error>
    where
        F: FnMut(usize, &mut BytesMut) -> Result<Option<crate::row::Format>, Error>,
    {
        let describe = description.is_none();
        let executes = bind.max_rows.is_some();
        let sent = (&[statement, portal][..], bind.param_count, executes);
        self.extended("bind_execute", sent, description, |out| {
            frontend::bind(
                out,
                portal,
                statement,
                bind.param_count,
                bind.encode,
                bind.result_formats,
            )?;
            if describe {
                frontend::describe(out, frontend::Target::Portal, portal)?;
            }
            match bind.max_rows {
                Some(n) => frontend::execute(out, portal, n),
                None => Ok(()),
            }
        })
    }

    /// Fetches up to `max_rows` more rows (0: all) from a suspended portal
    /// whose columns are `description`.
    pub fn execute_portal(
        &mut self,
        portal: &str,
        max_rows: u32,
        description: Arc<RowDescription>,
    ) -> Result<RequestId, Error> {
        self.extended(
            "execute_portal",
            (&[portal], 0, true),
            Some(description),
            |out| frontend::execute(out, portal, max_rows),
        )
    }

    /// Closes a prepared statement or portal. The answer: `CloseComplete`,
    /// then `ReadyForQuery`.
    pub fn close(&mut self, target: frontend::Target, name: &str) -> Result<RequestId, Error> {
        self.extended("close", (&[name], 0, false), None, |out| {
            frontend::close(out, target, name)
        })
    }

    /// Queues a simple-protocol `Query`. The answer: for each statement a
    /// `RowDescription` and rows (if it returns rows), then `CommandComplete`
    /// or `EmptyQuery`, or an `Error` that ends the batch; always a final
    /// `ReadyForQuery`.
    pub fn simple_query(&mut self, sql: &str) -> Result<RequestId, Error> {
        if !matches!(self.phase, Phase::Ready) {
            return Err(self.refuse("simple_query"));
        }
        if self.batch.is_some() {
            return Err(self.refuse_in_batch("simple_query"));
        }
        if self.copy_in_pending() {
            return Err(self.refuse_behind_copy("simple_query"));
        }
        self.encoding.check(&[sql], 0)?;
        frontend::query(&mut self.out, sql)?;
        Ok(self.push_request(RequestKind::SimpleQuery, None))
    }

    /// Queues `Terminate`. The session is over; flush the output and close.
    pub fn terminate(&mut self) -> Result<(), Error> {
        match self.phase {
            Phase::Terminated => Err(self.refuse("terminate")),
            // Before startup there is no session to end.
            Phase::Initial | Phase::SslRequested | Phase::SslAccepted => {
                self.phase = Phase::Terminated;
                Ok(())
            }
            _ => {
                frontend::terminate(&mut self.out);
                self.phase = Phase::Terminated;
                Ok(())
            }
        }
    }
}
