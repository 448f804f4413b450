-- Invitations name their inviter by user id, so that using one can check the inviter is
-- still an active owner of the tenant (or a superadmin), and so that disabling, removing or
-- demoting an owner can delete their pending invitations: an invitation must not outlive
-- the authority of whoever made it. `invited_by` stays: the email, for the audit log.
-- Pending invitations from before are matched to their inviter by that email; one whose
-- inviter is not found keeps a NULL and can no longer be used.
ALTER TABLE invites ADD COLUMN invited_by_user_id TEXT REFERENCES users(id) ON DELETE CASCADE;
UPDATE invites
   SET invited_by_user_id = (SELECT u.id FROM users u WHERE u.email = invites.invited_by)
 WHERE used_at IS NULL;
CREATE INDEX invites_inviter ON invites(invited_by_user_id);
