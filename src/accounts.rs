//! Users and API tokens: the operations pages, the API and the command line share.

use secrecy::SecretString;
use serde_json::json;

use crate::audit::{self, Event};
use crate::auth::{password, token};
use crate::clock;
use crate::db::users::{self, User};
use crate::db::{Db, invites, sessions, tokens};
use crate::error::AppError;

/// Prefix of every API token, so secret scanners and people recognise one.
pub const TOKEN_PREFIX: &str = "pv_";

/// Trims and checks an email address; the message is shown to the user.
pub fn normalize_email(raw: &str) -> Result<String, AppError> {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        })
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(email)
    } else {
        Err(AppError::Invalid(format!(
            "{:?} is not a valid email address",
            raw.trim()
        )))
    }
}

/// Checks the email and password and hashes the password: everything before the insert.
async fn prepare_user(email: &str, pw: SecretString, superadmin: bool) -> Result<(User, String), AppError> {
    let email = normalize_email(email)?;
    password::validate_new(secrecy::ExposeSecret::expose_secret(&pw)).map_err(AppError::Invalid)?;
    let hash = password::hash(pw).await?;
    let user = User {
        id: clock::new_id(),
        email,
        superadmin,
        disabled: false,
        created_at: clock::now(),
    };
    Ok((user, hash))
}

/// Creates a user. `actor` is who did it, for the audit log.
pub async fn create_user(
    db: &Db,
    email: &str,
    pw: SecretString,
    superadmin: bool,
    actor: &str,
) -> Result<User, AppError> {
    let (user, hash) = prepare_user(email, pw, superadmin).await?;
    let (row, actor) = (user.clone(), actor.to_owned());
    let result = db
        .write(move |tx| {
            users::insert(tx, &row, &hash)?;
            audit::record(
                tx,
                &Event {
                    tenant_id: None,
                    actor: &actor,
                    action: "user.created",
                    run_id: None,
                    details: json!({"user_id": row.id, "email": row.email, "superadmin": row.superadmin}),
                },
            )
        })
        .await;
    match result {
        Ok(()) => Ok(user),
        Err(e) if e.is_unique_violation() => Err(AppError::Conflict(format!(
            "a user with email {} already exists",
            user.email
        ))),
        Err(e) => Err(e.into()),
    }
}

/// Creates the first superadmin, only while there is no user at all. The check and the
/// insert share one write transaction, so two racing setup forms cannot both win.
pub async fn create_first_superadmin(db: &Db, email: &str, pw: SecretString) -> Result<User, AppError> {
    let (user, hash) = prepare_user(email, pw, true).await?;
    let row = user.clone();
    let created = db
        .write(move |tx| {
            if users::count(tx)? > 0 {
                return Ok(false);
            }
            users::insert(tx, &row, &hash)?;
            audit::record(
                tx,
                &Event {
                    tenant_id: None,
                    actor: &row.email,
                    action: "user.created",
                    run_id: None,
                    details: json!({"user_id": row.id, "email": row.email, "superadmin": true, "first_run": true}),
                },
            )?;
            Ok(true)
        })
        .await?;
    if created {
        Ok(user)
    } else {
        Err(AppError::Conflict("setup is already done: sign in instead".into()))
    }
}

/// Disables or enables a user; disabling ends their sessions at once.
pub async fn set_disabled(db: &Db, user_id: &str, disabled: bool, actor: &User) -> Result<(), AppError> {
    if disabled && user_id == actor.id {
        return Err(AppError::Invalid("you cannot disable yourself".into()));
    }
    let (id, actor_email) = (user_id.to_owned(), actor.email.clone());
    db.write(move |tx| {
        let Some(target) = users::get(tx, &id)? else {
            return Ok(Err(AppError::not_found("user")));
        };
        if disabled && target.superadmin && !target.disabled && users::count_active_superadmins(tx)? <= 1 {
            return Ok(Err(AppError::Invalid(
                "the last active superadmin cannot be disabled".into(),
            )));
        }
        users::set_disabled(tx, &id, disabled)?;
        let mut details = json!({"user_id": id, "email": target.email});
        if disabled {
            sessions::delete_for_user(tx, &id)?;
            // Their invitations carried their authority, which ends now.
            note_deleted_invites(&mut details, invites::delete_pending_by_inviter(tx, &id, None)?);
        }
        audit::record(
            tx,
            &Event {
                tenant_id: None,
                actor: &actor_email,
                action: if disabled { "user.disabled" } else { "user.enabled" },
                run_id: None,
                details,
            },
        )?;
        Ok(Ok(()))
    })
    .await??;
    // Their open event streams end now, not at their lifetime limit.
    db.access_changed();
    Ok(())
}

/// Sets a new password and ends the user's sessions.
/// Sets a new password and ends the user's sessions. API tokens are separate credentials and
/// keep working unless `revoke_tokens` (the pages say so and offer the box): a reset after a
/// leak should tick it, a forgotten password need not break the user's scripts.
pub async fn reset_password(
    db: &Db,
    user_id: &str,
    pw: SecretString,
    revoke_tokens: bool,
    actor: &str,
) -> Result<(), AppError> {
    password::validate_new(secrecy::ExposeSecret::expose_secret(&pw)).map_err(AppError::Invalid)?;
    let hash = password::hash(pw).await?;
    let (id, actor) = (user_id.to_owned(), actor.to_owned());
    db.write(move |tx| {
        let Some(target) = users::get(tx, &id)? else {
            return Ok(Err(AppError::not_found("user")));
        };
        users::set_password_hash(tx, &id, &hash)?;
        sessions::delete_for_user(tx, &id)?;
        let revoked = if revoke_tokens {
            tokens::revoke_all_for_user(tx, &id, &clock::now())?
        } else {
            0
        };
        audit::record(
            tx,
            &Event {
                tenant_id: None,
                actor: &actor,
                action: "user.password_reset",
                run_id: None,
                details: json!({"user_id": id, "email": target.email, "tokens_revoked": revoked}),
            },
        )?;
        Ok(Ok(()))
    })
    .await??;
    // Their open event streams end now, not at their lifetime limit.
    db.access_changed();
    Ok(())
}

/// Creates an API token for `user` and returns it: the only time it exists in plain text.
pub async fn create_token(db: &Db, user: &User, name: &str, actor: &str) -> Result<String, AppError> {
    let name = crate::names::check(name, "token", 100)?;
    let plain = token::generate(TOKEN_PREFIX);
    let hash = token::hash(&plain);
    let prefix = token_prefix(&plain);
    let (id, user_id, email, name, actor) = (
        clock::new_id(),
        user.id.clone(),
        user.email.clone(),
        name,
        actor.to_owned(),
    );
    db.write(move |tx| {
        tokens::insert(
            tx,
            &tokens::NewToken {
                id: &id,
                user_id: &user_id,
                name: &name,
                token_hash: &hash,
                prefix: &prefix,
                now: &clock::now(),
            },
        )?;
        audit::record(
            tx,
            &Event {
                tenant_id: None,
                actor: &actor,
                action: "token.created",
                run_id: None,
                details: json!({"token_id": id, "name": name, "user_id": user_id, "email": email}),
            },
        )
    })
    .await?;
    Ok(plain)
}

/// What is kept of a token to tell it apart: `pv_` and its first 8 random characters (48 of
/// its 256 random bits; the other 208 keep it unguessable).
pub fn token_prefix(plain: &str) -> String {
    plain.chars().take(TOKEN_PREFIX.len() + 8).collect()
}

pub async fn revoke_token(db: &Db, user: &User, token_id: &str) -> Result<(), AppError> {
    let (id, user_id, email) = (token_id.to_owned(), user.id.clone(), user.email.clone());
    let revoked = db
        .write(move |tx| {
            let revoked = tokens::revoke(tx, &user_id, &id, &clock::now())?;
            if revoked {
                audit::record(
                    tx,
                    &Event {
                        tenant_id: None,
                        actor: &email,
                        action: "token.revoked",
                        run_id: None,
                        details: json!({"token_id": id}),
                    },
                )?;
            }
            Ok(revoked)
        })
        .await?;
    if revoked {
        Ok(())
    } else {
        Err(AppError::not_found("active token"))
    }
}

/// Adds how many pending invitations an action deleted to its audit details, when any.
pub fn note_deleted_invites(details: &mut serde_json::Value, deleted: usize) {
    if deleted > 0
        && let Some(map) = details.as_object_mut()
    {
        map.insert("pending_invitations_deleted".into(), json!(deleted));
    }
}

/// How long an invitation link stays valid.
pub const INVITE_DAYS: i64 = 7;

/// Invites `email`, who has no account yet, into a tenant with `role`; returns the one-time
/// token of the link (kept only as its hash). The owner sends the link themselves. The
/// invitation holds `inviter`'s id: it can be used only while they may still invite.
pub async fn invite(db: &Db, tenant_id: &str, email: &str, role: &str, inviter: &User) -> Result<String, AppError> {
    let email = normalize_email(email)?;
    let role = crate::auth::role::Role::parse(role.trim())
        .ok_or_else(|| AppError::Invalid(format!("role must be viewer, operator or owner; got {role:?}")))?;
    let plain = token::generate("inv_");
    let hash = token::hash(&plain);
    let now = chrono::Utc::now();
    let expires = clock::format_time(now + chrono::Duration::days(INVITE_DAYS));
    let (tenant_id, actor, inviter_id) = (tenant_id.to_owned(), inviter.email.clone(), inviter.id.clone());
    db.write(move |tx| {
        if users::find_by_email(tx, &email)?.is_some() {
            return Ok(Err(AppError::Invalid(format!(
                "{email} already has an account: add them as a member instead"
            ))));
        }
        let id = clock::new_id();
        crate::db::invites::insert(
            tx,
            &crate::db::invites::NewInvite {
                id: &id,
                token_hash: &hash,
                email: &email,
                tenant_id: &tenant_id,
                role: role.as_str(),
                invited_by: &actor,
                invited_by_user_id: &inviter_id,
                now: &clock::format_time(now),
                expires_at: &expires,
            },
        )?;
        audit::record(
            tx,
            &Event {
                tenant_id: Some(&tenant_id),
                actor: &actor,
                action: "member.invited",
                run_id: None,
                details: json!({"email": email, "role": role.as_str(), "expires_at": expires}),
            },
        )?;
        Ok(Ok(()))
    })
    .await??;
    Ok(plain)
}

/// Whether the one who made an invitation may still invite into its tenant: an active user
/// who is an owner there, or a superadmin. An invitation acts with its inviter's authority,
/// so it must not outlive it (pending ones are deleted when it ends; this also catches any
/// way of losing it that does not).
fn inviter_may_still_invite(
    c: &rusqlite::Connection,
    invite: &crate::db::invites::Invite,
) -> crate::db::DbResult<bool> {
    let Some(id) = invite.invited_by_user_id.as_deref() else {
        return Ok(false);
    };
    let Some(inviter) = users::get(c, id)? else {
        return Ok(false);
    };
    let role = crate::db::memberships::role_of(c, id, &invite.tenant_id)?;
    Ok(!inviter.disabled
        && crate::auth::role::Role::effective(inviter.superadmin, role.as_deref())
            == Some(crate::auth::role::Role::Owner))
}

fn inviter_lost_authority() -> AppError {
    AppError::NotFound(
        "this invitation link cannot be used any more: whoever sent it is no longer an owner of the tenant. Ask a current owner for a new one".into(),
    )
}

/// The invitation a link names, while it can still be used.
pub async fn live_invite(db: &Db, plain: &str) -> Result<crate::db::invites::Invite, AppError> {
    let hash = token::hash(plain);
    let found = db
        .read(move |c| {
            let Some(invite) = crate::db::invites::live(c, &hash, &clock::now())? else {
                return Ok(None);
            };
            let allowed = inviter_may_still_invite(c, &invite)?;
            Ok(Some((invite, allowed)))
        })
        .await?;
    match found {
        Some((invite, true)) => Ok(invite),
        Some((_, false)) => Err(inviter_lost_authority()),
        None => Err(AppError::NotFound(
            "this invitation link cannot be used any more (it was used, it expired, it was revoked, or it never existed): ask the tenant's owner for a new one".into(),
        )),
    }
}

/// Revokes a pending invitation of the tenant `access` is for (the caller must be its owner):
/// its link stops working at once. Returns the invited email. An invitation of a tenant the
/// caller is not in answers 403, an unknown or used one 404, as for every object by id.
pub async fn revoke_invite(
    db: &Db,
    access: &crate::auth::tenant_guard::TenantAccess,
    invite_id: &str,
) -> Result<String, AppError> {
    let id = invite_id.to_owned();
    let found = db.read(move |c| invites::pending_by_id(c, &id)).await?;
    crate::auth::tenant_guard::check_owner(
        db,
        access,
        found.as_ref().map(|(t, _, _)| t.clone()),
        "pending invitation",
    )
    .await?;
    let (id, tenant_id, actor) = (
        invite_id.to_owned(),
        access.tenant.id.clone(),
        access.caller.user.email.clone(),
    );
    db.write(move |tx| {
        // Read again in the write: it may have been used or revoked a moment ago.
        let Some((tenant, email, role)) = invites::pending_by_id(tx, &id)?.filter(|(t, _, _)| *t == tenant_id) else {
            return Ok(Err(AppError::not_found("pending invitation")));
        };
        invites::delete(tx, &id)?;
        audit::record(
            tx,
            &Event {
                tenant_id: Some(&tenant),
                actor: &actor,
                action: "member.invite_revoked",
                run_id: None,
                details: json!({"invite_id": id, "email": email, "role": role}),
            },
        )?;
        Ok(Ok(email))
    })
    .await?
}

/// Sets the invited person's password: creates their account and their membership, and uses
/// the link up, in one transaction.
pub async fn accept_invite(db: &Db, plain: &str, pw: SecretString) -> Result<User, AppError> {
    let invite = live_invite(db, plain).await?;
    let (user, hash) = prepare_user(&invite.email, pw, false).await?;
    let row = user.clone();
    let result = db
        .write(move |tx| {
            // Checked again in the transaction that uses it: the inviter may have lost the
            // role while the password was being hashed. Such an invitation is dead: deleted.
            if !inviter_may_still_invite(tx, &invite)? {
                crate::db::invites::delete(tx, &invite.id)?;
                return Ok(Err(inviter_lost_authority()));
            }
            if !crate::db::invites::mark_used(tx, &invite.id, &clock::now())? {
                return Ok(Err(AppError::NotFound(
                    "this invitation link was used a moment ago: sign in instead".into(),
                )));
            }
            users::insert(tx, &row, &hash)?;
            crate::db::memberships::upsert(tx, &row.id, &invite.tenant_id, &invite.role, &clock::now())?;
            audit::record(
                tx,
                &Event {
                    tenant_id: None,
                    actor: &row.email,
                    action: "user.created",
                    run_id: None,
                    details: json!({"user_id": row.id, "email": row.email, "superadmin": false, "invited_by": invite.invited_by}),
                },
            )?;
            audit::record(
                tx,
                &Event {
                    tenant_id: Some(&invite.tenant_id),
                    actor: &row.email,
                    action: "member.added",
                    run_id: None,
                    details: json!({"user_id": row.id, "email": row.email, "role": invite.role, "invited_by": invite.invited_by}),
                },
            )?;
            Ok(Ok(()))
        })
        .await;
    match result {
        Ok(Ok(())) => Ok(user),
        Ok(Err(e)) => Err(e),
        Err(e) if e.is_unique_violation() => Err(AppError::Conflict(format!(
            "an account with email {} exists already: sign in, and ask the owner to add you",
            user.email
        ))),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalized_and_nonsense_refused() {
        assert_eq!(
            normalize_email("  Admin@Example.COM ").expect("valid"),
            "admin@example.com"
        );
        for bad in ["", "no-at-sign", "@example.com", "a@nodot", "a@.com", "a b@example.com"] {
            assert!(normalize_email(bad).is_err(), "{bad} should be refused");
        }
    }
}
