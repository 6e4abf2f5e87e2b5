//! `sspr-lab ldif export|import`: opens the lab (from a state directory or fresh), then uses
//! fake-ad's LDIF reader and writer on one domain.

use fake_ad::ctx::{OpCtx, Principal};
use fake_ad::ldif;

use crate::cli::{CliError, LdifCommand};
use crate::lab::{Lab, LabOptions};

fn lab_options(state: Option<std::path::PathBuf>) -> LabOptions {
    LabOptions {
        state,
        credentials: crate::Credentials::from_env(),
        agents: false,
        ..LabOptions::default()
    }
}

/// Runs an LDIF subcommand.
pub async fn run(cmd: LdifCommand) -> Result<(), CliError> {
    match cmd {
        LdifCommand::Export {
            state,
            domain,
            dc,
            base,
            output,
        } => {
            let lab = Lab::start(crate::default_lab(), lab_options(state)).await?;
            let result = (|| {
                let d = lab
                    .domains
                    .iter()
                    .find(|d| d.spec.dns.eq_ignore_ascii_case(&domain))
                    .ok_or_else(|| CliError::Ldif(format!("no domain {domain}")))?;
                let dc = match &dc {
                    Some(n) => d
                        .domain
                        .dc(n)
                        .ok_or_else(|| CliError::Ldif(format!("no DC {n} in {domain}")))?,
                    None => d.domain.dcs()[0].clone(),
                };
                let dit = dc.snapshot();
                let text = ldif::export(&dit, base.as_deref())
                    .map_err(|e| CliError::Ldif(e.to_string()))?;
                match &output {
                    Some(p) => std::fs::write(p, text)
                        .map_err(|e| CliError::Ldif(format!("{}: {e}", p.display()))),
                    None => {
                        print!("{text}");
                        Ok(())
                    }
                }
            })();
            lab.stop().await;
            result
        }
        LdifCommand::Import {
            state,
            domain,
            skip_existing,
            file,
        } => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| CliError::Ldif(format!("{}: {e}", file.display())))?;
            let records = ldif::parse(&text)
                .map_err(|e| CliError::Ldif(format!("{}:{e}", file.display())))?;
            let lab = Lab::start(crate::default_lab(), lab_options(Some(state))).await?;
            let result = async {
                let d = lab
                    .domains
                    .iter()
                    .find(|d| d.spec.dns.eq_ignore_ascii_case(&domain))
                    .ok_or_else(|| CliError::Ldif(format!("no domain {domain}")))?;
                let mut added = 0;
                for dc in d.domain.dcs() {
                    let dit = dc.snapshot();
                    let admin = dit
                        .by_sam("Administrator")
                        .ok_or_else(|| CliError::Ldif("no Administrator".into()))?;
                    let ctx = OpCtx {
                        bound: Some(Principal {
                            id: admin,
                            dn: dit.dn(admin),
                            account: format!("{}\\Administrator", d.spec.netbios),
                            sids: fake_ad::security::token_sids(&dit, &d.domain.info, admin),
                        }),
                        tls: true,
                        ..OpCtx::default()
                    };
                    added = ldif::import(&dc, &ctx, &records, skip_existing)
                        .await
                        .map_err(|e| CliError::Ldif(format!("{}:{e}", file.display())))?;
                }
                eprintln!("imported {added} entries into {domain}");
                Ok(())
            }
            .await;
            lab.stop().await;
            result
        }
    }
}
