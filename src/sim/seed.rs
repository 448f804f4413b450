//! Deterministic demo content that looks like a real MSP customer's Intune.

use base64::Engine as _;
use serde_json::{Value, json};

use super::state::SimTenant;
use crate::graph::registry::{PolicyType, TYPES};

/// Names that test escaping and Unicode everywhere a name is shown (tests, not the demo).
pub const HOSTILE_NAMES: &[&str] = &[
    "Windows 11 – Security baseline",
    "BitLocker & Device Encryption",
    "Edge: Kiosk <Reception>",
    "Défense contre les menaces",
    "Contoso – Finance laptops",
    "<img src=x onerror=alert(1)>",
    "macOS FileVault 🔐",
    "Autopatch ring \"Pilot\"",
];

/// Names an MSP would recognise, for the demo.
pub const DEMO_NAMES: &[&str] = &[
    "Windows 11 – Security baseline",
    "BitLocker & Device Encryption",
    "Kiosk – Reception",
    "Finance laptops",
    "Sales – mobile devices",
    "macOS FileVault",
    "Autopatch ring Pilot",
    "Shared devices – Warehouse",
];

fn name(names: &[&str], ty: &PolicyType, i: usize, tenant: &str) -> String {
    let base = names[(i + ty.key.len() + tenant.len()) % names.len()];
    format!("{base} ({} {})", ty.label, i + 1)
}

fn assignments(i: usize) -> Vec<Value> {
    let mut out = vec![json!({
        "target": {"@odata.type": "#microsoft.graph.groupAssignmentTarget", "groupId": format!("6b8a0c2e-{i:04x}-4b1e-9a3d-00000000aa01")}
    })];
    if i.is_multiple_of(2) {
        out.push(json!({"target": {"@odata.type": "#microsoft.graph.exclusionGroupAssignmentTarget", "groupId": "6b8a0c2e-0000-4b1e-9a3d-0000000000ff"}}));
    }
    if i.is_multiple_of(3) {
        out.push(json!({"target": {
            "@odata.type": "#microsoft.graph.allDevicesAssignmentTarget",
            "deviceAndAppManagementAssignmentFilterId": "0f1e2d3c-0000-4000-8000-000000000001",
            "deviceAndAppManagementAssignmentFilterType": "include"
        }}));
    }
    out
}

/// One object of a type, as Graph would hold it (with its nested collections).
pub fn object(names: &[&str], ty: &PolicyType, i: usize, tenant: &str, id: &str) -> Value {
    let n = name(names, ty, i, tenant);
    let mut o = match ty.key {
        "settings_catalog" => json!({
            "name": n, "description": "Managed by the MSP", "platforms": "windows10", "technologies": "mdm",
            "roleScopeTagIds": ["0"], "templateReference": {"templateId": "", "templateFamily": "none"},
            "settings": catalog_settings(i)
        }),
        "device_configuration" if i % 5 == 3 => custom_profile(&n, i),
        "device_configuration" => json!({
            "@odata.type": "#microsoft.graph.windows10GeneralConfiguration", "displayName": n,
            "description": "", "passwordMinimumLength": 8 + i % 6, "defenderScanType": "full", "roleScopeTagIds": ["0"]
        }),
        "compliance_policy" => json!({
            "@odata.type": "#microsoft.graph.windows10CompliancePolicy", "displayName": n,
            "passwordRequired": true, "osMinimumVersion": format!("10.0.2{}000", i % 3),
            "scheduledActionsForRule": [{"id": format!("{i:08x}-5a5a-4000-8000-000000000001"), "ruleName": "PasswordRequired", "scheduledActionConfigurations": [
                {"id": format!("{i:08x}-5a5a-4000-8000-000000000002"), "actionType": "block", "gracePeriodHours": 12 * (i % 3), "notificationTemplateId": "", "notificationMessageCCList": []},
                {"id": format!("{i:08x}-5a5a-4000-8000-000000000003"), "actionType": "notification", "gracePeriodHours": 24, "notificationTemplateId": "", "notificationMessageCCList": []}]}]
        }),
        "powershell_script" => json!({
            "displayName": n, "description": "", "runAsAccount": "system", "enforceSignatureCheck": false,
            "fileName": format!("script{i}.ps1"), "scriptContent": "V3JpdGUtSG9zdCAiSGVsbG8i", "runAs32Bit": false
        }),
        "remediation_script" => json!({
            "displayName": n, "publisher": "MSP", "runAsAccount": "system",
            "detectionScriptContent": "ZXhpdCAx", "remediationScriptContent": "ZXhpdCAw", "runAs32Bit": false
        }),
        "autopilot_profile" => json!({
            "@odata.type": "#microsoft.graph.azureADWindowsAutopilotDeploymentProfile", "displayName": n,
            "language": "os-default", "deviceNameTemplate": format!("CTS-{i}-%RAND:5%"),
            "outOfBoxExperienceSettings": {"hidePrivacySettings": true, "userType": "standard"}
        }),
        "assignment_filter" => json!({
            "displayName": n, "platform": "windows10AndLater", "rule": format!("(device.model -eq \"Surface {i}\")")
        }),
        "feature_update_profile" => json!({
            "displayName": n, "featureUpdateVersion": "Windows 11, version 24H2", "roleScopeTagIds": ["0"]
        }),
        "android_app_protection" => json!({
            "displayName": n, "minimumRequiredOsVersion": "10.0", "pinRequired": i.is_multiple_of(2),
            "appGroupType": if i.is_multiple_of(2) { "allMicrosoftApps" } else { "selectedPublicApps" },
            "apps": [
                {"id": "com.microsoft.office.outlook.android", "version": "-1", "mobileAppIdentifier": {"@odata.type": "#microsoft.graph.androidMobileAppIdentifier", "packageId": "com.microsoft.office.outlook"}},
                {"id": "com.microsoft.teams.android", "version": "-1", "mobileAppIdentifier": {"@odata.type": "#microsoft.graph.androidMobileAppIdentifier", "packageId": "com.microsoft.teams"}}
            ]
        }),
        "ios_app_protection" => json!({
            "displayName": n, "minimumRequiredOsVersion": "16.0", "pinRequired": i.is_multiple_of(2),
            "appGroupType": if i.is_multiple_of(2) { "allMicrosoftApps" } else { "selectedPublicApps" },
            "apps": [
                {"id": "com.microsoft.office.outlook.ios", "version": "-1", "mobileAppIdentifier": {"@odata.type": "#microsoft.graph.iosMobileAppIdentifier", "bundleId": "com.microsoft.office.outlook"}},
                {"id": "com.microsoft.skype.teams.ios", "version": "-1", "mobileAppIdentifier": {"@odata.type": "#microsoft.graph.iosMobileAppIdentifier", "bundleId": "com.microsoft.skype.teams"}}
            ]
        }),
        other => super::catalog::object(other, i, &n),
    };
    // Graph returns every property, unset ones too: a backup therefore restores them all.
    if o.get("description").is_none() {
        o["description"] = Value::Null;
    }
    o["id"] = json!(id);
    let stamp = if ty.collection.starts_with("identity/") {
        "modifiedDateTime"
    } else {
        "lastModifiedDateTime"
    };
    o["createdDateTime"] = json!("2026-01-15T08:00:00Z");
    o[stamp] = json!(format!("2026-02-{:02}T09:30:00Z", 1 + i % 28));
    o
}

/// A settings catalog policy's settings: the first policy of each tenant holds 40, as real
/// baselines hold far more than the 25 Graph returns per page.
fn catalog_settings(i: usize) -> Value {
    let count = if i == 0 { 40 } else { 1 + i % 3 };
    Value::Array(
        (0..count)
            .map(|k| {
                json!({
                    "id": k.to_string(),
                    "settingInstance": {
                        "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingInstance",
                        "settingDefinitionId": format!("device_vendor_msft_policy_config_defender_setting_{k}"),
                        "choiceSettingValue": {"value": format!("device_vendor_msft_policy_config_defender_setting_{k}_{}", (i + k) % 2), "children": []}
                    }
                })
            })
            .collect(),
    )
}

/// A custom (OMA-URI) profile holding two encrypted values, as a Wi-Fi key and a certificate
/// password would be.
fn custom_profile(name: &str, i: usize) -> Value {
    let xml = base64::engine::general_purpose::STANDARD.encode(format!("<wifi><key>psk-{i}-Xr7!</key></wifi>"));
    json!({
        "@odata.type": "#microsoft.graph.windows10CustomConfiguration", "displayName": name,
        "description": "Custom OMA-URI settings", "roleScopeTagIds": ["0"],
        "omaSettings": [
            {"@odata.type": "#microsoft.graph.omaSettingString", "displayName": "VPN shared secret",
             "omaUri": "./Vendor/MSFT/VPNv2/Corp/NativeProfile/SharedSecret", "isEncrypted": true, "value": format!("s3cret-{i}-Kq9")},
            {"@odata.type": "#microsoft.graph.omaSettingStringXml", "displayName": "Wi-Fi profile", "fileName": "wifi.xml",
             "omaUri": "./Vendor/MSFT/WiFi/Profile/Corp/WlanXml", "isEncrypted": true, "value": xml},
            {"@odata.type": "#microsoft.graph.omaSettingInteger", "displayName": "Telemetry",
             "omaUri": "./Vendor/MSFT/Policy/Config/System/AllowTelemetry", "isEncrypted": false, "value": 1}
        ]
    })
}

/// Fills a tenant with `per_type` objects of every supported type.
pub fn fill(tenant: &mut SimTenant, entra_id: &str, per_type: usize, names: &[&str]) {
    fill_counts(tenant, entra_id, &|_| per_type, names);
}

/// `fill` with a count of its own per type (`count(type key)`), e.g. a tenant whose policies
/// are mostly of a few types, as real tenants are.
pub fn fill_counts(tenant: &mut SimTenant, entra_id: &str, count: &dyn Fn(&str) -> usize, names: &[&str]) {
    for ty in TYPES {
        for i in 0..count(ty.key) {
            let id = tenant.new_id();
            let mut o = object(names, ty, i, entra_id, &id);
            if ty.oma_secrets
                && let Some(map) = o.as_object_mut()
            {
                super::quirks::hide_secrets(tenant, map);
            }
            tenant
                .objects
                .entry(ty.collection.to_owned())
                .or_default()
                .insert(id.clone(), o);
            if ty.has_assignments() {
                let list = assignments(i)
                    .into_iter()
                    .map(|a| super::objects::stored_assignment(tenant, a))
                    .collect();
                tenant.assignments.insert(id, list);
            }
        }
    }
    super::catalog::fill_built_ins(tenant, entra_id);
    super::catalog::link(tenant, entra_id);
    name_groups(tenant);
}

/// Group names an MSP's customer would have.
const GROUP_NAMES: &[&str] = &[
    "Sales devices",
    "Pilot users",
    "Finance laptops",
    "All staff",
    "Kiosk devices",
    "Executives",
    "Warehouse scanners",
    "IT admins",
];

/// A group's display name, deterministic from its id.
pub fn group_name(id: &str) -> String {
    let h = id
        .bytes()
        .fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(usize::from(b)));
    let tail = id.rsplit('-').next().unwrap_or(id);
    let short = &tail[tail.len().saturating_sub(4)..];
    format!("{} {short}", GROUP_NAMES[h % GROUP_NAMES.len()])
}

/// Gives every group the tenant's assignments target a directory entry with a name.
fn name_groups(tenant: &mut SimTenant) {
    let ids: Vec<String> = tenant
        .assignments
        .values()
        .flatten()
        .filter_map(|a| a.pointer("/target/groupId").and_then(Value::as_str))
        .map(str::to_owned)
        .collect();
    for id in ids {
        let name = group_name(&id);
        tenant.groups.entry(id).or_insert(name);
    }
}
