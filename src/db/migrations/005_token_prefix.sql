-- API tokens show a short, non-secret prefix of the token (the first characters after `pv_`),
-- so an owner can tell tokens apart; older tokens have none.
ALTER TABLE api_tokens ADD COLUMN prefix TEXT;
