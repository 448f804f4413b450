//! The supported policy types, one data entry each (`shared/GRAPH.md`). Adding a type is
//! adding an entry; capture, restore and the simulator all read from here.

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
    /// App protection: `apps` is a navigation collection changed only through `targetApps`
    /// (with `appGroupType`).
    AppProtection,
}

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
    /// The list omits some properties (script bodies): always GET each object by id.
    pub get_by_id: bool,
    /// Read-only properties removed before create/update.
    pub read_only: &'static [&'static str],
    pub update: Update,
    /// Body key of the `assign` action, or `None` when the type has no assignments.
    pub assign_key: Option<&'static str>,
    /// Whether an update must keep the `@odata.type` of the existing object.
    pub typed: bool,
    pub recipe: Recipe,
    /// `omaSettings` may hold encrypted values, readable only through
    /// `getOmaSettingPlainTextValue` (custom profiles).
    pub oma_secrets: bool,
}

const COMMON_READ_ONLY: &[&str] = &[
    "id",
    "createdDateTime",
    "lastModifiedDateTime",
    "version",
    "@odata.context",
];

pub const TYPES: &[PolicyType] = &[
    PolicyType {
        key: "settings_catalog",
        label: "Settings catalog",
        collection: "deviceManagement/configurationPolicies",
        name_field: "name",
        expand: &["settings"],
        get_by_id: true,
        read_only: &[
            "id",
            "createdDateTime",
            "lastModifiedDateTime",
            "settingCount",
            "creationSource",
            "isAssigned",
            "@odata.context",
        ],
        update: Update::Put,
        assign_key: Some("assignments"),
        typed: false,
        recipe: Recipe::Plain,
        oma_secrets: false,
    },
    PolicyType {
        key: "device_configuration",
        label: "Device configuration",
        collection: "deviceManagement/deviceConfigurations",
        name_field: "displayName",
        expand: &[],
        get_by_id: false,
        read_only: &[
            "id",
            "createdDateTime",
            "lastModifiedDateTime",
            "version",
            "supportsScopeTags",
            "@odata.context",
        ],
        update: Update::Patch,
        assign_key: Some("assignments"),
        typed: true,
        recipe: Recipe::Plain,
        oma_secrets: true,
    },
    PolicyType {
        key: "compliance_policy",
        label: "Compliance policy",
        collection: "deviceManagement/deviceCompliancePolicies",
        name_field: "displayName",
        expand: &["scheduledActionsForRule"],
        get_by_id: true,
        read_only: COMMON_READ_ONLY,
        update: Update::Patch,
        assign_key: Some("assignments"),
        typed: true,
        recipe: Recipe::Compliance,
        oma_secrets: false,
    },
    PolicyType {
        key: "powershell_script",
        label: "PowerShell script",
        collection: "deviceManagement/deviceManagementScripts",
        name_field: "displayName",
        expand: &[],
        get_by_id: true,
        read_only: &["id", "createdDateTime", "lastModifiedDateTime", "@odata.context"],
        update: Update::Patch,
        assign_key: Some("deviceManagementScriptAssignments"),
        typed: false,
        recipe: Recipe::Plain,
        oma_secrets: false,
    },
    PolicyType {
        key: "remediation_script",
        label: "Remediation script",
        collection: "deviceManagement/deviceHealthScripts",
        name_field: "displayName",
        expand: &[],
        get_by_id: true,
        read_only: &["id", "createdDateTime", "lastModifiedDateTime", "@odata.context"],
        update: Update::Patch,
        assign_key: Some("deviceHealthScriptAssignments"),
        typed: false,
        recipe: Recipe::Plain,
        oma_secrets: false,
    },
    PolicyType {
        key: "autopilot_profile",
        label: "Autopilot deployment profile",
        collection: "deviceManagement/windowsAutopilotDeploymentProfiles",
        name_field: "displayName",
        expand: &[],
        get_by_id: false,
        read_only: &["id", "createdDateTime", "lastModifiedDateTime", "@odata.context"],
        update: Update::Patch,
        assign_key: Some("assignments"),
        typed: true,
        recipe: Recipe::Plain,
        oma_secrets: false,
    },
    PolicyType {
        key: "assignment_filter",
        label: "Assignment filter",
        collection: "deviceManagement/assignmentFilters",
        name_field: "displayName",
        expand: &[],
        get_by_id: false,
        read_only: &[
            "id",
            "createdDateTime",
            "lastModifiedDateTime",
            "payloads",
            "@odata.context",
        ],
        update: Update::Patch,
        assign_key: None,
        typed: false,
        recipe: Recipe::Plain,
        oma_secrets: false,
    },
    PolicyType {
        key: "feature_update_profile",
        label: "Windows feature update profile",
        collection: "deviceManagement/windowsFeatureUpdateProfiles",
        name_field: "displayName",
        expand: &[],
        get_by_id: false,
        read_only: &[
            "id",
            "createdDateTime",
            "lastModifiedDateTime",
            "deployableContentDisplayName",
            "endOfSupportDate",
            "@odata.context",
        ],
        update: Update::Patch,
        assign_key: Some("assignments"),
        typed: false,
        recipe: Recipe::Plain,
        oma_secrets: false,
    },
    PolicyType {
        key: "ios_app_protection",
        label: "iOS app protection",
        collection: "deviceAppManagement/iosManagedAppProtections",
        name_field: "displayName",
        expand: &["apps"],
        get_by_id: true,
        read_only: &[
            "id",
            "createdDateTime",
            "lastModifiedDateTime",
            "version",
            "isAssigned",
            "deployedAppCount",
            "@odata.context",
        ],
        update: Update::Patch,
        assign_key: Some("assignments"),
        typed: false,
        recipe: Recipe::AppProtection,
        oma_secrets: false,
    },
    PolicyType {
        key: "android_app_protection",
        label: "Android app protection",
        collection: "deviceAppManagement/androidManagedAppProtections",
        name_field: "displayName",
        expand: &["apps"],
        get_by_id: true,
        read_only: &[
            "id",
            "createdDateTime",
            "lastModifiedDateTime",
            "version",
            "isAssigned",
            "deployedAppCount",
            "@odata.context",
        ],
        update: Update::Patch,
        assign_key: Some("assignments"),
        typed: false,
        recipe: Recipe::AppProtection,
        oma_secrets: false,
    },
];

pub fn by_key(key: &str) -> Option<&'static PolicyType> {
    TYPES.iter().find(|t| t.key == key)
}

impl PolicyType {
    /// The GET-by-id path with the type's expansions, and `assignments` expanded too when the
    /// type has them (`shared/GRAPH.md`: read with `?$expand=assignments`), so capturing a
    /// policy is one request instead of two.
    pub fn get_path(&self, id: &str) -> String {
        let mut expand = self.expand.to_vec();
        if self.assign_key.is_some() {
            expand.push("assignments");
        }
        if expand.is_empty() {
            format!("{}/{id}", self.collection)
        } else {
            format!("{}/{id}?$expand={}", self.collection, expand.join(","))
        }
    }

    pub fn assignments_path(&self, id: &str) -> String {
        format!("{}/{id}/assignments", self.collection)
    }

    pub fn display_name<'a>(&self, object: &'a serde_json::Value) -> &'a str {
        object
            .get(self.name_field)
            .and_then(serde_json::Value::as_str)
            .unwrap_or("(unnamed)")
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
            sc.get_path("x"),
            "deviceManagement/configurationPolicies/x?$expand=settings,assignments"
        );
        assert_eq!(
            by_key("device_configuration").expect("t").get_path("x"),
            "deviceManagement/deviceConfigurations/x?$expand=assignments"
        );
        assert_eq!(
            by_key("assignment_filter").expect("t").get_path("x"),
            "deviceManagement/assignmentFilters/x",
            "filters have no assignments"
        );
    }
}
