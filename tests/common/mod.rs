//! Shared helpers for the end-to-end tests: start a lab in-process, connect with the independent
//! `ldap3` client over LDAPS, StartTLS or plain LDAP.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use ldap3::{LdapConn, LdapConnSettings};
use sim::{Lab, LabOptions, default_lab};

pub const ADMIN_PW: &str = "Lab-Admin-Passw0rd1";
pub const USER_PW: &str = "Lab-User-Passw0rd1";
pub const ALICE: &str = "CN=Alice Archer,OU=Staff,DC=contoso,DC=lab";

/// A lab running on its own tokio runtime, so blocking ldap3 calls can run on the test thread.
pub struct Running {
    pub rt: tokio::runtime::Runtime,
    pub lab: Option<Lab>,
}

impl Running {
    pub fn start(mut opts: LabOptions) -> Running {
        if opts.propagation.is_none() {
            opts.propagation = Some(fake_ad::propagation::Propagation::immediate());
        }
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let lab = rt
            .block_on(Lab::start(default_lab(), opts))
            .expect("lab starts");
        Running { rt, lab: Some(lab) }
    }

    /// The default lab with inline descriptor propagation (tests not about time).
    pub fn default() -> Running {
        Running::start(LabOptions::default())
    }

    pub fn lab(&self) -> &Lab {
        self.lab.as_ref().unwrap()
    }

    fn endpoint(&self, domain: &str, dc: &str) -> &sim::lab::DcEndpoint {
        self.lab().endpoint(domain, dc).expect("endpoint")
    }

    fn settings(&self) -> LdapConnSettings {
        LdapConnSettings::new()
            .set_config(self.lab().ca.client_config().unwrap())
            .set_conn_timeout(Duration::from_secs(10))
    }

    /// LDAPS to contoso DC1.
    pub fn ldaps(&self) -> LdapConn {
        let e = self.endpoint("contoso.lab", "DC1");
        LdapConn::with_settings(self.settings(), &format!("ldaps://{}", e.ldaps))
            .expect("ldaps connects")
    }

    /// Plain LDAP upgraded with StartTLS to contoso DC1.
    pub fn starttls(&self) -> LdapConn {
        let e = self.endpoint("contoso.lab", "DC1");
        LdapConn::with_settings(
            self.settings().set_starttls(true),
            &format!("ldap://{}", e.ldap),
        )
        .expect("starttls connects")
    }

    /// Plain LDAP, no TLS, to contoso DC1.
    pub fn plain(&self) -> LdapConn {
        let e = self.endpoint("contoso.lab", "DC1");
        LdapConn::new(&format!("ldap://{}", e.ldap)).expect("ldap connects")
    }

    /// An LDAPS connection bound as the contoso Administrator.
    pub fn admin(&self) -> LdapConn {
        let mut c = self.ldaps();
        c.simple_bind("CONTOSO\\Administrator", ADMIN_PW)
            .unwrap()
            .success()
            .unwrap();
        c
    }

    pub fn stop(mut self) {
        if let Some(lab) = self.lab.take() {
            self.rt.block_on(lab.stop());
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(lab) = self.lab.take() {
            self.rt.block_on(lab.stop());
        }
    }
}

/// The unicodePwd value for `pw`.
pub fn pwd(pw: &str) -> Vec<u8> {
    ad_types::password::encode_unicode_pwd(pw)
}

/// Resets `dn`'s password over `conn`.
pub fn reset(conn: &mut LdapConn, dn: &str, pw: &str) -> ldap3::LdapResult {
    let v = pwd(pw);
    conn.modify(
        dn,
        vec![ldap3::Mod::Replace(
            &b"unicodePwd"[..],
            std::collections::HashSet::from([&v[..]]),
        )],
    )
    .unwrap()
}

pub fn arc<T>(t: T) -> Arc<T> {
    Arc::new(t)
}

/// A tiny HTTP/1.1 client for the tests: method, path, headers, body → (status, head, body).
pub fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    (
        head[9..12].parse().unwrap(),
        head.to_string(),
        body.to_string(),
    )
}

/// Parses a JSON body, naming it when it is not JSON.
pub fn json_of(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// A DN's security descriptor, read over LDAP.
pub fn read_sd(c: &mut ldap3::LdapConn, dn: &str) -> ad_types::sd::SecurityDescriptor {
    let (e, _) = c
        .search(
            dn,
            ldap3::Scope::Base,
            "(objectClass=*)",
            vec!["nTSecurityDescriptor"],
        )
        .unwrap()
        .success()
        .unwrap();
    let entry = ldap3::SearchEntry::construct(e[0].clone());
    ad_types::sd::SecurityDescriptor::from_bytes(&entry.bin_attrs["nTSecurityDescriptor"][0])
        .unwrap()
}

/// Writes `sd`'s DACL to a DN with the SD flags control (DACL only).
pub fn write_dacl(c: &mut ldap3::LdapConn, dn: &str, sd: &ad_types::sd::SecurityDescriptor) {
    let flags = ldap3::controls::RawControl {
        ctype: "1.2.840.113556.1.4.801".into(),
        crit: true,
        val: Some(vec![0x30, 0x03, 0x02, 0x01, 0x04]),
    };
    let bytes = sd.to_bytes();
    c.with_controls(vec![flags])
        .modify(
            dn,
            vec![ldap3::Mod::Replace(
                &b"nTSecurityDescriptor"[..],
                std::collections::HashSet::from([&bytes[..]]),
            )],
        )
        .unwrap()
        .success()
        .unwrap();
}

/// Reads a DN's descriptor, lets `f` change its DACL's ACEs, and writes it back.
pub fn edit_dacl(c: &mut ldap3::LdapConn, dn: &str, f: impl FnOnce(&mut Vec<ad_types::sd::Ace>)) {
    let mut sd = read_sd(c, dn);
    f(&mut sd.dacl.as_mut().unwrap().aces);
    write_dacl(c, dn, &sd);
}
