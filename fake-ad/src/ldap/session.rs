//! One LDAP connection's state (who is bound, whether it is encrypted, open paged searches) and
//! the handling of each request, which returns a [`Response`] for the transport loop to act on.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use ldap3_proto::LdapResultCode;
use ldap3_proto::control::LdapControl;
use ldap3_proto::proto::*;
use tracing::{debug, info};

use super::controls::{self, Paging};
use crate::ctx::OpCtx;
use crate::dit::Dit;
use crate::domain::Dc;
use crate::error::{DirError, ResultCode};
use crate::ops::{self, Change, ChangeOp};
use crate::search::{self, Selection};
use crate::value::EntryId;

/// StartTLS's extended operation name.
pub const OID_START_TLS: &str = "1.3.6.1.4.1.1466.20037";
/// The Notice of Disconnection (RFC 4511 §4.4.1).
pub const OID_NOTICE_OF_DISCONNECTION: &str = "1.3.6.1.4.1.1466.20036";
/// AD's MaxPageSize: the most entries one search (or one page) returns.
pub const MAX_PAGE_SIZE: usize = 1000;
/// Open paged searches one connection may hold.
const MAX_OPEN_PAGES: usize = 16;

/// What the transport loop does after a request.
#[derive(Debug)]
pub enum Response {
    /// Send these messages.
    Respond(Vec<LdapMsg>),
    /// Send this success, then start TLS on the connection.
    StartTls(LdapMsg),
    /// The client unbound: close.
    Unbind,
    /// Nothing to send (abandon).
    Nothing,
}

struct PagedSearch {
    dit: Arc<Dit>,
    remaining: VecDeque<EntryId>,
    sel: Selection,
}

/// One connection's state.
pub struct Session {
    dc: Arc<Dc>,
    ctx: OpCtx,
    pages: BTreeMap<Vec<u8>, PagedSearch>,
    next_cookie: u64,
    peer: String,
}

fn code(c: ResultCode) -> LdapResultCode {
    use LdapResultCode as L;
    match c {
        ResultCode::OperationsError => L::OperationsError,
        ResultCode::ProtocolError => L::ProtocolError,
        ResultCode::SizeLimitExceeded => L::SizeLimitExceeded,
        ResultCode::UnavailableCriticalExtension => L::UnavailableCriticalExtension,
        ResultCode::NoSuchAttribute => L::NoSuchAttribute,
        ResultCode::UndefinedAttributeType => L::UndefinedAttributeType,
        ResultCode::InappropriateMatching => L::InappropriateMatching,
        ResultCode::ConstraintViolation => L::ConstraintViolation,
        ResultCode::AttributeOrValueExists => L::AttributeOrValueExists,
        ResultCode::InvalidAttributeSyntax => L::InvalidAttributeSyntax,
        ResultCode::NoSuchObject => L::NoSuchObject,
        ResultCode::InvalidDnSyntax => L::InvalidDNSyntax,
        ResultCode::InvalidCredentials => L::InvalidCredentials,
        ResultCode::InsufficientAccessRights => L::InsufficentAccessRights,
        ResultCode::UnwillingToPerform => L::UnwillingToPerform,
        ResultCode::NamingViolation => L::NamingViolation,
        ResultCode::ObjectClassViolation => L::ObjectClassViolation,
        ResultCode::NotAllowedOnNonLeaf => L::NotAllowedOnNonLeaf,
        ResultCode::EntryAlreadyExists => L::EntryAlreadyExists,
        ResultCode::Other => L::Other,
    }
}

fn ok() -> LdapResult {
    LdapResult {
        code: LdapResultCode::Success,
        matcheddn: String::new(),
        message: String::new(),
        referral: Vec::new(),
    }
}

fn failed(e: &DirError) -> LdapResult {
    LdapResult {
        code: code(e.code()),
        matcheddn: e.matched().to_string(),
        message: e.message(),
        referral: Vec::new(),
    }
}

fn result_of(r: &Result<(), DirError>) -> LdapResult {
    match r {
        Ok(()) => ok(),
        Err(e) => failed(e),
    }
}

/// The unsolicited notice sent before closing a connection that sent garbage.
pub fn notice_of_disconnection(message: &str) -> LdapMsg {
    LdapMsg {
        msgid: 0,
        op: LdapOp::ExtendedResponse(LdapExtendedResponse {
            res: LdapResult {
                code: LdapResultCode::ProtocolError,
                matcheddn: String::new(),
                message: message.to_string(),
                referral: Vec::new(),
            },
            name: Some(OID_NOTICE_OF_DISCONNECTION.to_string()),
            value: None,
        }),
        ctrl: Vec::new(),
    }
}

impl Session {
    /// A new anonymous session on `dc`.
    pub fn new(dc: Arc<Dc>, tls: bool, peer: String) -> Session {
        Session {
            dc,
            ctx: OpCtx {
                tls,
                ..OpCtx::default()
            },
            pages: BTreeMap::new(),
            next_cookie: 1,
            peer,
        }
    }

    /// Marks the connection encrypted (after StartTLS).
    pub fn set_tls(&mut self) {
        self.ctx.tls = true;
    }

    /// Whether the connection is encrypted.
    pub fn is_tls(&self) -> bool {
        self.ctx.tls
    }

    /// Handles one request.
    pub async fn handle(&mut self, msg: LdapMsg) -> Response {
        let id = msg.msgid;
        let reply = |op: LdapOp| {
            Response::Respond(vec![LdapMsg {
                msgid: id,
                op,
                ctrl: Vec::new(),
            }])
        };
        let read = controls::read(&msg.ctrl);
        let (ctrls, paging) = match read {
            Ok(c) => c,
            Err(e) => return self.refuse(id, &msg.op, &e),
        };
        self.ctx.controls = ctrls;
        // A "slow DC": its added delay for this kind of operation, on the lab clock.
        let delay = {
            let d = *self.dc.delays.lock().expect("delays lock");
            d.all_ms
                + match &msg.op {
                    LdapOp::BindRequest(_) => d.bind_ms,
                    LdapOp::SearchRequest(_) | LdapOp::CompareRequest(_) => d.search_ms,
                    LdapOp::ModifyRequest(_) | LdapOp::AddRequest(_) | LdapOp::DelRequest(_) => {
                        d.modify_ms
                    }
                    _ => 0,
                }
        };
        if delay > 0 {
            self.dc
                .clock
                .sleep(std::time::Duration::from_millis(delay))
                .await;
        }
        match msg.op {
            LdapOp::BindRequest(req) => reply(LdapOp::BindResponse(LdapBindResponse {
                res: self.bind(req).await,
                saslcreds: None,
            })),
            LdapOp::UnbindRequest => Response::Unbind,
            LdapOp::SearchRequest(req) => Response::Respond(self.search(id, req, paging)),
            LdapOp::ModifyRequest(req) => {
                let changes = req
                    .changes
                    .into_iter()
                    .map(|m| Change {
                        op: match m.operation {
                            LdapModifyType::Add => ChangeOp::Add,
                            LdapModifyType::Delete => ChangeOp::Delete,
                            LdapModifyType::Replace => ChangeOp::Replace,
                            LdapModifyType::Increment => ChangeOp::Increment,
                        },
                        attr: m.modification.atype,
                        values: m.modification.vals,
                    })
                    .collect();
                let r = if req.dn.is_empty() {
                    ops::modify_root_dse(&self.dc, &self.ctx, changes).await
                } else {
                    ops::modify(&self.dc, &self.ctx, &req.dn, changes).await
                };
                self.log("modify", &req.dn, &r);
                reply(LdapOp::ModifyResponse(result_of(&r)))
            }
            LdapOp::AddRequest(req) => {
                let attrs = req
                    .attributes
                    .into_iter()
                    .map(|a| (a.atype, a.vals))
                    .collect();
                let r = ops::add(&self.dc, &self.ctx, &req.dn, attrs).await;
                self.log("add", &req.dn, &r);
                reply(LdapOp::AddResponse(result_of(&r)))
            }
            LdapOp::DelRequest(dn) => {
                let r = ops::delete(&self.dc, &self.ctx, &dn).await;
                self.log("delete", &dn, &r);
                reply(LdapOp::DelResponse(result_of(&r)))
            }
            LdapOp::ModifyDNRequest(_) => {
                reply(LdapOp::ModifyDNResponse(failed(&DirError::Unwilling(
                    ad_types::diag::will_not_perform(0x20B0, 0x031A_0C25).to_string(),
                ))))
            }
            LdapOp::CompareRequest(req) => reply(LdapOp::CompareResult(self.compare(&req))),
            LdapOp::AbandonRequest(_) => Response::Nothing,
            LdapOp::ExtendedRequest(req) => self.extended(id, req),
            other => {
                // A response type sent as a request: the client is confused.
                debug!(peer = %self.peer, op = ?std::mem::discriminant(&other), "unexpected operation");
                reply(LdapOp::ExtendedResponse(LdapExtendedResponse {
                    res: failed(&DirError::Other("unknown operation".into())),
                    name: None,
                    value: None,
                }))
            }
        }
    }

    fn refuse(&self, id: i32, op: &LdapOp, e: &DirError) -> Response {
        let res = failed(e);
        let op = match op {
            LdapOp::BindRequest(_) => LdapOp::BindResponse(LdapBindResponse {
                res,
                saslcreds: None,
            }),
            LdapOp::SearchRequest(_) => LdapOp::SearchResultDone(res),
            LdapOp::ModifyRequest(_) => LdapOp::ModifyResponse(res),
            LdapOp::AddRequest(_) => LdapOp::AddResponse(res),
            LdapOp::DelRequest(_) => LdapOp::DelResponse(res),
            LdapOp::ModifyDNRequest(_) => LdapOp::ModifyDNResponse(res),
            LdapOp::CompareRequest(_) => LdapOp::CompareResult(res),
            LdapOp::AbandonRequest(_) | LdapOp::UnbindRequest => return Response::Nothing,
            _ => LdapOp::ExtendedResponse(LdapExtendedResponse {
                res,
                name: None,
                value: None,
            }),
        };
        Response::Respond(vec![LdapMsg {
            msgid: id,
            op,
            ctrl: Vec::new(),
        }])
    }

    fn log(&self, op: &str, dn: &str, r: &Result<(), DirError>) {
        let who = self
            .ctx
            .bound
            .as_ref()
            .map(|p| p.account.as_str())
            .unwrap_or("(anonymous)");
        match r {
            Ok(()) => {
                info!(dc = %self.dc.host, peer = %self.peer, who, op, dn, job = ?self.ctx.controls.job_id, "ok")
            }
            Err(e) => {
                info!(dc = %self.dc.host, peer = %self.peer, who, op, dn, job = ?self.ctx.controls.job_id, code = e.code() as u8, reason = %e.message().trim_end(), "refused")
            }
        }
    }

    async fn bind(&mut self, req: LdapBindRequest) -> LdapResult {
        self.ctx.bound = None;
        self.pages.clear();
        if req.version != 3 && req.version != 2 {
            return failed(&DirError::Other("unsupported protocol version".into()))
                .with_code(LdapResultCode::ProtocolError);
        }
        match req.cred {
            LdapBindCred::Simple(pw) if req.dn.is_empty() && pw.is_empty() => ok(),
            LdapBindCred::Simple(pw) if pw.is_empty() => failed(&DirError::Unwilling(
                "unauthenticated bind (a name without a password) is not allowed".into(),
            )),
            LdapBindCred::Simple(pw) => match ops::bind(&self.dc, &req.dn, &pw).await {
                Ok(p) => {
                    info!(dc = %self.dc.host, peer = %self.peer, who = %p.account, "bind");
                    self.ctx.bound = Some(p);
                    ok()
                }
                Err(e) => {
                    info!(dc = %self.dc.host, peer = %self.peer, name = %req.dn, reason = %e, "bind refused");
                    LdapResult {
                        code: LdapResultCode::InvalidCredentials,
                        matcheddn: String::new(),
                        message: e.to_string(),
                        referral: Vec::new(),
                    }
                }
            },
            LdapBindCred::SASL(_) | LdapBindCred::Unsupported => LdapResult {
                code: LdapResultCode::AuthMethodNotSupported,
                matcheddn: String::new(),
                message: "only simple binds are supported".into(),
                referral: Vec::new(),
            },
        }
    }

    fn search(&mut self, id: i32, req: LdapSearchRequest, paging: Option<Paging>) -> Vec<LdapMsg> {
        let done = |res: LdapResult, ctrl: Vec<LdapControl>| LdapMsg {
            msgid: id,
            op: LdapOp::SearchResultDone(res),
            ctrl,
        };
        if req.base.is_empty() && req.scope == LdapSearchScope::Base {
            let entry = LdapSearchResultEntry {
                dn: String::new(),
                attributes: super::rootdse::attributes(&self.dc, &req.attrs)
                    .into_iter()
                    .map(|(atype, vals)| LdapPartialAttribute { atype, vals })
                    .collect(),
            };
            return vec![
                LdapMsg {
                    msgid: id,
                    op: LdapOp::SearchResultEntry(entry),
                    ctrl: Vec::new(),
                },
                done(ok(), Vec::new()),
            ];
        }
        // A paged continuation: take the next page of the saved result.
        let (dit, mut remaining, sel) = match &paging {
            Some(p) if !p.cookie.is_empty() => match self.pages.remove(&p.cookie) {
                Some(s) => (s.dit, s.remaining, s.sel),
                None => {
                    return vec![done(
                        failed(&DirError::Unwilling(
                            "paged results cookie not recognised".into(),
                        )),
                        Vec::new(),
                    )];
                }
            },
            _ => {
                let dit = self.dc.snapshot();
                let found = search::find(&dit, &self.ctx, &req.base, &req.scope, &req.filter);
                match found {
                    Ok(ids) => (
                        dit,
                        VecDeque::from(ids),
                        Selection {
                            sd_flags: self.ctx.controls.sd_flags.unwrap_or(0x7),
                            ..Selection::parse(&req.attrs, req.typesonly)
                        },
                    ),
                    Err(e) => return vec![done(failed(&e), Vec::new())],
                }
            }
        };
        let mut out = Vec::new();
        let limit = if req.sizelimit > 0 {
            req.sizelimit as usize
        } else {
            usize::MAX
        };
        let page = match &paging {
            Some(p) if p.size == 0 => {
                // Size 0 abandons the paged search.
                return vec![done(
                    ok(),
                    vec![LdapControl::SimplePagedResults {
                        size: 0,
                        cookie: Vec::new(),
                    }],
                )];
            }
            Some(p) => p.size.min(MAX_PAGE_SIZE),
            None => MAX_PAGE_SIZE,
        };
        let take = page.min(limit);
        let dns = &self.dc.domain.info.dns;
        while out.len() < take {
            let Some(eid) = remaining.pop_front() else {
                break;
            };
            if let Some((dn, attrs)) = search::render(&dit, dns, eid, &sel) {
                let attributes = attrs
                    .into_iter()
                    .map(|(atype, vals)| LdapPartialAttribute { atype, vals })
                    .collect();
                out.push(LdapMsg {
                    msgid: id,
                    op: LdapOp::SearchResultEntry(LdapSearchResultEntry { dn, attributes }),
                    ctrl: Vec::new(),
                });
            }
        }
        let more = !remaining.is_empty();
        match paging {
            Some(_) if more && out.len() < limit => {
                let cookie = self.next_cookie.to_be_bytes().to_vec();
                self.next_cookie += 1;
                if self.pages.len() >= MAX_OPEN_PAGES
                    && let Some(oldest) = self.pages.keys().next().cloned()
                {
                    self.pages.remove(&oldest);
                }
                self.pages.insert(
                    cookie.clone(),
                    PagedSearch {
                        dit,
                        remaining,
                        sel,
                    },
                );
                out.push(done(
                    ok(),
                    vec![LdapControl::SimplePagedResults { size: 0, cookie }],
                ));
            }
            Some(_) if more => out.push(done(
                size_exceeded(),
                vec![LdapControl::SimplePagedResults {
                    size: 0,
                    cookie: Vec::new(),
                }],
            )),
            Some(_) => out.push(done(
                ok(),
                vec![LdapControl::SimplePagedResults {
                    size: 0,
                    cookie: Vec::new(),
                }],
            )),
            None if more => out.push(done(size_exceeded(), Vec::new())),
            None => out.push(done(ok(), Vec::new())),
        }
        out
    }

    fn compare(&self, req: &LdapCompareRequest) -> LdapResult {
        let dit = self.dc.snapshot();
        let value = String::from_utf8_lossy(&req.val).to_string();
        let filter = LdapFilter::Equality(req.atype.clone(), value);
        match search::find(&dit, &self.ctx, &req.dn, &LdapSearchScope::Base, &filter) {
            Ok(hits) if hits.is_empty() => ok().with_code(LdapResultCode::CompareFalse),
            Ok(_) => ok().with_code(LdapResultCode::CompareTrue),
            Err(e) => failed(&e),
        }
    }

    fn extended(&mut self, id: i32, req: LdapExtendedRequest) -> Response {
        let msg = |res: LdapResult, name: Option<String>, value: Option<Vec<u8>>| LdapMsg {
            msgid: id,
            op: LdapOp::ExtendedResponse(LdapExtendedResponse { res, name, value }),
            ctrl: Vec::new(),
        };
        match req.name.as_str() {
            OID_WHOAMI => {
                let who = self
                    .ctx
                    .bound
                    .as_ref()
                    .map(|p| format!("u:{}", p.account))
                    .unwrap_or_default();
                Response::Respond(vec![msg(ok(), None, Some(who.into_bytes()))])
            }
            OID_START_TLS if self.ctx.tls => Response::Respond(vec![msg(
                failed(&DirError::Other("TLS is already active".into()))
                    .with_code(LdapResultCode::OperationsError),
                Some(OID_START_TLS.into()),
                None,
            )]),
            OID_START_TLS => Response::StartTls(msg(ok(), Some(OID_START_TLS.into()), None)),
            _ => Response::Respond(vec![msg(
                failed(&DirError::Other(format!(
                    "unsupported extended operation {}",
                    req.name
                )))
                .with_code(LdapResultCode::ProtocolError),
                None,
                None,
            )]),
        }
    }
}

fn size_exceeded() -> LdapResult {
    ok().with_code(LdapResultCode::SizeLimitExceeded)
}

trait WithCode {
    fn with_code(self, c: LdapResultCode) -> Self;
}

impl WithCode for LdapResult {
    fn with_code(mut self, c: LdapResultCode) -> Self {
        self.code = c;
        self
    }
}
