//! Roles within a tenant. Ordered: each role can do everything the ones below it can.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything in the tenant.
    Viewer,
    /// Also syncs, snapshots, backs up and previews restores.
    Operator,
    /// Also runs live restores and manages settings, members and schedules.
    Owner,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Operator, Role::Owner];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Owner => "owner",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// A user's role in a tenant, from their membership's role (if any). A superadmin is owner
    /// of every tenant whatever membership row they have: otherwise a tenant's owner could add
    /// a superadmin as a viewer and so lock them out of managing, fixing or deleting it.
    /// Every place that decides a role goes through here.
    pub fn effective(superadmin: bool, membership: Option<&str>) -> Option<Role> {
        if superadmin {
            Some(Role::Owner)
        } else {
            membership.and_then(Role::parse)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_power_and_parse_their_names() {
        assert!(Role::Owner > Role::Operator && Role::Operator > Role::Viewer);
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("admin"), None);
    }

    #[test]
    fn a_superadmin_is_owner_whatever_their_membership_says() {
        assert_eq!(Role::effective(true, Some("viewer")), Some(Role::Owner));
        assert_eq!(Role::effective(true, None), Some(Role::Owner));
        assert_eq!(Role::effective(false, Some("viewer")), Some(Role::Viewer));
        assert_eq!(Role::effective(false, None), None);
    }
}
