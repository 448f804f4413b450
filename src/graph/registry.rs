//! The supported object types (`shared/GRAPH-TYPES.md`). A plain type is one data entry in
//! `graph/types.rs`; a type whose write is more than POST/PATCH/PUT plus `assign` names a
//! recipe (`graph/recipes/`). Capture, restore, the simulator and `policyvault types` all
//! read from here.

use serde_json::Value;

pub use super::types::TYPES;

/// How an existing object is updated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Update {
    Patch,
    /// Settings catalog: PUT replaces the policy including its settings.
    Put,
}

/// How a type is written when POST/PATCH/PUT plus `assign` is not enough: each recipe lives
/// in `graph/recipes/` and knows the extra calls its family needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recipe {
    /// Create, update and assign as the other fields say.
    Plain,
    /// Compliance: a create carries exactly one `block` action; scheduled actions change
    /// only through `scheduleActionsForRules`.
    Compliance,
    /// App protection and managed app configuration: `apps` is a navigation collection
    /// changed only through `targetApps` (with `appGroupType`).
    AppProtection,
    /// Authentication strengths: `allowedCombinations` changes only through
    /// `updateAllowedCombinations`.
    AuthStrength,
    /// Enrollment configurations: priority only through `setPriority`; the priority-0
    /// defaults exist in every tenant and are only ever updated.
    Enrollment,
    /// Compliance notification templates: localized messages are created one by one.
    NotificationTemplate,
    /// Endpoint security intents: created through their template's `createInstance`,
    /// settings changed through `updateSettings`.
    Intent,
    /// Administrative templates: definition values bound to definitions with `@odata.bind`.
    AdminTemplate,
    /// Apps: store, web and Microsoft 365 apps are restored; installers cannot be exported.
    MobileApp,
    /// Conditional Access: a created policy lands in report-only unless asked otherwise.
    ConditionalAccess,
    /// Policy sets: items and assignments through `update`; restored last.
    PolicySet,
}

/// Where a type's assignments are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Assign {
    /// No assignments (or the recipe writes them).
    None,
    /// `POST …/{id}/assign` with `{key: [...]}`: replaces every assignment.
    Action(&'static str),
    /// One `POST …/{id}/assignments` per assignment, after deleting the existing ones
    /// (Autopilot: "the action assign doesn't exist anymore", Microsoft365DSC #3892; terms
    /// and conditions).
    EachPost,
}

/// A property of one type that holds the Graph id of an object of another type, so a
/// restore can write the referenced object first and rewrite the id when it is re-created.
/// `path` is a `/`-separated path into the document where `*` stands for every array member.
#[derive(Debug, Clone, Copy)]
pub struct Ref {
    pub path: &'static str,
    pub target: &'static str,
}

// A table of facts about Graph types: each flag is one independent fact.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, Copy)]
pub struct PolicyType {
    /// Stable key stored in our database, e.g. `settings_catalog`.
    pub key: &'static str,
    pub label: &'static str,
    /// Collection path under `/beta/`.
    pub collection: &'static str,
    /// The property holding the display name (`name` for the settings catalog).
    pub name_field: &'static str,
    /// Navigation collections expanded on a GET by id (captured inline).
    pub expand: &'static [&'static str],
    /// Collections the type's recipe reads with requests of their own and keeps inline
    /// (an administrative template's definition values, an intent's settings).
    pub nested: &'static [&'static str],
    /// The list omits some properties (script bodies): always GET each object by id.
    pub get_by_id: bool,
    /// A list answer with `$expand=assignments` holds each object whole, as a GET by id
    /// would, so a whole-tenant backup captures it from its listing and saves one read per
    /// policy. Set only where a long-lived backup tool stores the list's objects as they are
    /// (IntuneBackupAndRestore `Invoke-IntuneBackupDeviceConfiguration`) and real clients
    /// expand assignments on the list (CIPP, IntuneManagement); every other type is read by id.
    pub captured_from_list: bool,
    /// Read-only properties removed before create/update.
    pub read_only: &'static [&'static str],
    /// Properties a create takes but an update refuses (removed from update bodies).
    pub create_only: &'static [&'static str],
    pub update: Update,
    /// Whether and how assignments are written.
    pub assign: Assign,
    /// Graph does not expand `assignments` on this type: read them from `/assignments`.
    pub expand_assignments: bool,
    /// Whether an update must keep the `@odata.type` of the existing object.
    pub typed: bool,
    pub recipe: Recipe,
    /// `omaSettings` may hold encrypted values, readable only through
    /// `getOmaSettingPlainTextValue` (custom profiles).
    pub oma_secrets: bool,
    /// Objects Microsoft owns (built in): `(property, value as JSON text)`; such objects are
    /// neither inventoried nor backed up.
    pub built_in: &'static [(&'static str, &'static str)],
    /// Restore order: lower first (what others refer to before what refers to it).
    pub order: u16,
    /// Ids of other types this type refers to.
    pub refs: &'static [Ref],
    /// The Graph application permission a backup and restore of this type needs.
    pub permission: &'static str,
    /// What a newcomer should know (shown by `policyvault types`).
    pub notes: &'static str,
    /// The entity type names (or endings of derived type names, `CompliancePolicy` for
    /// `windows10CompliancePolicy`) an object of this collection states as `@odata.type`:
    /// a capture refuses an answer of another type.
    pub odata_types: &'static [&'static str],
}

/// The defaults of an entry: a plain Intune type read and written as it is.
pub const PLAIN: PolicyType = PolicyType {
    key: "",
    label: "",
    collection: "",
    name_field: "displayName",
    expand: &[],
    nested: &[],
    get_by_id: false,
    captured_from_list: false,
    read_only: COMMON_READ_ONLY,
    create_only: &[],
    update: Update::Patch,
    assign: Assign::None,
    expand_assignments: true,
    typed: false,
    recipe: Recipe::Plain,
    oma_secrets: false,
    built_in: &[],
    order: 500,
    refs: &[],
    permission: "DeviceManagementConfiguration.ReadWrite.All",
    notes: "",
    odata_types: &[],
};

pub const COMMON_READ_ONLY: &[&str] = &[
    "id",
    "createdDateTime",
    "lastModifiedDateTime",
    "version",
    "@odata.context",
];

/// Assignment filters and scope tags, which nearly every assignable type refers to.
pub const ASSIGNMENT_REFS: &[Ref] = &[
    Ref {
        path: "assignments/*/target/deviceAndAppManagementAssignmentFilterId",
        target: "assignment_filter",
    },
    Ref {
        path: "roleScopeTagIds/*",
        target: "scope_tag",
    },
];

pub fn by_key(key: &str) -> Option<&'static PolicyType> {
    TYPES.iter().find(|t| t.key == key)
}

impl PolicyType {
    /// The GET-by-id path with the type's expansions, and `assignments` expanded too when the
    /// type has them (`shared/GRAPH.md`: read with `?$expand=assignments`), so capturing a
    /// policy is one request instead of two.
    /// `Err` when `id` is not a Graph id (see [`super::path::id`]).
    pub fn get_path(&self, id: &str) -> Result<String, super::GraphError> {
        let mut expand = self.expand.to_vec();
        if self.has_assignments() && self.expand_assignments {
            expand.push("assignments");
        }
        let path = super::path::under(self.collection, id)?;
        Ok(if expand.is_empty() {
            path
        } else {
            format!("{path}?$expand={}", expand.join(","))
        })
    }

    /// The path a whole-tenant backup lists: the collection, with `assignments` expanded on
    /// every object when the type is captured from its list.
    pub fn list_path(&self) -> String {
        if self.captured_from_list && self.has_assignments() && self.expand_assignments {
            format!("{}?$expand=assignments", self.collection)
        } else {
            self.collection.to_owned()
        }
    }

    pub fn assignments_path(&self, id: &str) -> Result<String, super::GraphError> {
        super::path::child(self.collection, id, "assignments")
    }

    /// Whether an object Graph answered is of this type: its `@odata.type`, when it states
    /// one, names this type's entity or one derived from it (by the suffixes in
    /// `odata_types`). Graph leaves `@odata.type` out for an entity that is not derived.
    pub fn owns_odata_type(&self, object: &Value) -> bool {
        let Some(stated) = object.get("@odata.type").and_then(Value::as_str) else {
            return true;
        };
        let Some(name) = stated.strip_prefix("#microsoft.graph.") else {
            return false;
        };
        let name = name.to_ascii_lowercase();
        self.odata_types.is_empty() || self.odata_types.iter().any(|t| name.ends_with(&t.to_ascii_lowercase()))
    }

    pub fn display_name<'a>(&self, object: &'a Value) -> &'a str {
        object
            .get(self.name_field)
            .and_then(Value::as_str)
            .unwrap_or("(unnamed)")
    }

    /// Whether Microsoft owns this object (a built-in role, the Default scope tag…).
    pub fn is_built_in(&self, object: &Value) -> bool {
        self.built_in.iter().any(|(k, v)| {
            object
                .get(*k)
                .is_some_and(|x| serde_json::from_str::<Value>(v).is_ok_and(|v| *x == v))
        })
    }

    /// Whether objects of this type carry assignments (captured as `assignments`).
    pub fn has_assignments(&self) -> bool {
        self.assign != Assign::None
    }

    /// The collections captured inline, expanded or read by the recipe: their members carry
    /// ids Graph assigns.
    pub fn inline(&self) -> impl Iterator<Item = &'static str> {
        self.expand.iter().chain(self.nested).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_unique_and_paths_carry_expansions() {
        let mut keys: Vec<&str> = TYPES.iter().map(|t| t.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), TYPES.len());
        let sc = by_key("settings_catalog").expect("type");
        assert_eq!(
            sc.get_path("x").expect("id"),
            "deviceManagement/configurationPolicies/x?$expand=settings,assignments"
        );
        assert_eq!(
            by_key("device_configuration").expect("t").get_path("x").expect("id"),
            "deviceManagement/deviceConfigurations/x?$expand=assignments"
        );
        assert_eq!(
            by_key("assignment_filter").expect("t").get_path("x").expect("id"),
            "deviceManagement/assignmentFilters/x",
            "filters have no assignments"
        );
        assert_eq!(
            by_key("terms_and_conditions").expect("t").get_path("x").expect("id"),
            "deviceManagement/termsAndConditions/x",
            "terms and conditions do not expand assignments"
        );
    }

    #[test]
    fn only_types_whose_list_is_whole_are_captured_from_it() {
        for ty in TYPES.iter().filter(|t| t.captured_from_list) {
            assert!(!ty.get_by_id, "{}: its list omits properties", ty.key);
            assert!(
                ty.expand.is_empty() && ty.nested.is_empty(),
                "{}: reads more than its list",
                ty.key
            );
        }
        let dc = by_key("device_configuration").expect("type");
        assert_eq!(
            dc.list_path(),
            "deviceManagement/deviceConfigurations?$expand=assignments"
        );
        assert_eq!(
            by_key("powershell_script").expect("type").list_path(),
            "deviceManagement/deviceManagementScripts"
        );
    }

    #[test]
    fn every_reference_names_a_type_restored_before_it() {
        for ty in TYPES {
            for r in ty.refs {
                if r.target == "*" {
                    continue;
                }
                let target = by_key(r.target).unwrap_or_else(|| panic!("{}: unknown {}", ty.key, r.target));
                assert!(target.order < ty.order, "{} must come after {}", ty.key, target.key);
            }
        }
    }
}
