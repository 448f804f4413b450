//! Seed content of the types beyond the first ten, as an MSP's customer tenant holds them,
//! plus what every tenant has without anyone creating it (built-in scope tag, roles and
//! authentication strengths, administrative template definitions) and the cross-references
//! between objects (compliance → notification template and script, assignments → filters,
//! Conditional Access → named locations, app configuration and ESP → apps, policy sets →
//! their payloads).

use base64::Engine as _;
use serde_json::{Value, json};

use super::state::SimTenant;

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// One object of a type not covered by `seed::object`.
pub fn object(key: &str, i: usize, name: &str) -> Value {
    match key {
        "quality_update_profile" => json!({
            "displayName": name, "description": "Expedite the November security update",
            "releaseDateDisplayName": "November 11, 2026", "deployableContentDisplayName": "2026.11 B Security Updates",
            "expeditedUpdateSettings": {"qualityUpdateRelease": "2026-11-11T00:00:00Z", "daysUntilForcedReboot": 1 + i % 2},
            "roleScopeTagIds": ["0"]
        }),
        "driver_update_profile" => json!({
            "displayName": name, "description": "Drivers for the Surface fleet",
            "approvalType": if i.is_multiple_of(2) { "manual" } else { "automatic" }, "deploymentDeferralInDays": 7 * (i % 3),
            "newUpdates": 3, "deviceReporting": 41, "inventorySyncStatus": {"lastSuccessfulSyncDateTime": "2026-11-30T02:00:00Z", "driverInventorySyncState": "success"},
            "roleScopeTagIds": ["0"]
        }),
        "scope_tag" => {
            json!({"displayName": format!("Region {} (scope {})", ["North", "South", "East", "West"][i % 4], i + 1), "description": "Technicians of this region", "isBuiltIn": false})
        }
        "role_definition" => json!({
            "displayName": format!("Helpdesk tier {} ({})", 1 + i % 3, i + 1), "description": "Reads devices, syncs and restarts them",
            "isBuiltIn": false, "roleScopeTagIds": ["0"],
            "rolePermissions": [{"resourceActions": [{"allowedResourceActions": ["Microsoft.Intune_ManagedDevices_Read", "Microsoft.Intune_RemoteTasks_RebootNow"], "notAllowedResourceActions": []}]}]
        }),
        "device_category" => {
            json!({"displayName": format!("{} ({})", ["Kiosk", "Shared laptop", "Executive", "Warehouse scanner"][i % 4], i + 1), "description": "Chosen by the user at enrollment", "roleScopeTagIds": ["0"]})
        }
        "macos_shell_script" => json!({
            "displayName": name, "description": "Sets the dock for new users", "scriptContent": b64(&format!("#!/bin/zsh\ndefaults write com.apple.dock tilesize -int {}\n", 36 + i)),
            "runAsAccount": "user", "fileName": format!("dock-{i}.sh"), "blockExecutionNotifications": true, "executionFrequency": "PT0S", "retryCount": 3,
            "roleScopeTagIds": ["0"]
        }),
        "macos_custom_attribute" => json!({
            "displayName": name, "description": "Reports the FileVault state", "customAttributeName": format!("filevault_state_{i}"), "customAttributeType": "string",
            "scriptContent": b64("#!/bin/sh\nfdesetup status\n"), "fileName": format!("filevault-{i}.sh"), "runAsAccount": "system", "roleScopeTagIds": ["0"]
        }),
        "compliance_script" => json!({
            "displayName": name, "description": "Checks that the line-of-business agent runs", "publisher": "MSP", "runAs32Bit": false, "runAsAccount": "system",
            "enforceSignatureCheck": false, "detectionScriptContent": b64(&format!("$s = Get-Service LobAgent{i}; @{{ Running = ($s.Status -eq 'Running') }} | ConvertTo-Json -Compress")),
            "roleScopeTagIds": ["0"]
        }),
        "reusable_setting" => json!({
            "displayName": name, "description": "Allow the line-of-business app through the firewall",
            "settingDefinitionId": "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}",
            "settingInstance": {"@odata.type": "#microsoft.graph.deviceManagementConfigurationGroupSettingCollectionInstance", "settingDefinitionId": "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}",
                "groupSettingCollectionValue": [{"children": [{"@odata.type": "#microsoft.graph.deviceManagementConfigurationSimpleSettingInstance",
                    "settingDefinitionId": "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}_localportranges",
                    "simpleSettingValue": {"@odata.type": "#microsoft.graph.deviceManagementConfigurationStringSettingValue", "value": format!("{}", 8443 + i)}}]}]}
        }),
        "notification_template" => json!({
            "displayName": name, "description": "Sent when a device falls out of compliance", "defaultLocale": "en-us",
            "brandingOptions": "includeCompanyLogo,includeCompanyName,includeContactInformation", "roleScopeTagIds": ["0"],
            "localizedNotificationMessages": [
                {"id": format!("{i:08x}-a11a-4000-8000-000000000001"), "locale": "en-us", "subject": "Your device is not compliant", "messageTemplate": "Please update your device within 24 hours.", "isDefault": true},
                {"id": format!("{i:08x}-a11a-4000-8000-000000000002"), "locale": "de-de", "subject": "Ihr Gerät ist nicht konform", "messageTemplate": "Bitte aktualisieren Sie Ihr Gerät innerhalb von 24 Stunden.", "isDefault": false}
            ]
        }),
        "security_intent" => json!({
            "displayName": name, "description": "Firewall baseline (template)", "templateId": "4356d05c-a4ab-4a07-9ece-739f7c792910",
            "isAssigned": true, "isMigratingToConfigurationPolicy": false, "roleScopeTagIds": ["0"],
            "settings": [
                {"id": format!("{i:08x}-1e1e-4000-8000-000000000001"), "@odata.type": "#microsoft.graph.deviceManagementBooleanSettingInstance", "definitionId": "deviceConfiguration--windows10EndpointProtectionConfiguration_firewallBlockStatefulFTP", "valueJson": "true", "value": true},
                {"id": format!("{i:08x}-1e1e-4000-8000-000000000002"), "@odata.type": "#microsoft.graph.deviceManagementStringSettingInstance", "definitionId": "deviceConfiguration--windows10EndpointProtectionConfiguration_firewallIdleTimeoutForSecurityAssociationInSeconds", "valueJson": format!("\"{}\"", 300 + i), "value": format!("{}", 300 + i)}
            ]
        }),
        "administrative_template" => json!({
            "displayName": name, "description": "Edge and Office settings (ADMX)", "roleScopeTagIds": ["0"],
            "definitionValues": [
                {"id": format!("{i:08x}-ad11-4000-8000-000000000001"), "enabled": true, "definitionId": BUILT_IN_HOMEPAGE,
                 "presentationValues": [{"id": format!("{i:08x}-ad11-4000-8000-000000000002"), "@odata.type": "#microsoft.graph.groupPolicyPresentationValueText", "value": format!("https://intranet.contoso.example/{i}"), "presentationId": BUILT_IN_HOMEPAGE_TEXT}]},
                {"id": format!("{i:08x}-ad11-4000-8000-000000000003"), "enabled": i.is_multiple_of(2), "definitionId": BUILT_IN_CONSUMER, "presentationValues": []}
            ]
        }),
        "enrollment_configuration" => enrollment(i, name),
        "mobile_app" => match i % 4 {
            0 => {
                json!({"@odata.type": "#microsoft.graph.webApp", "displayName": format!("Contoso intranet ({})", i + 1), "description": "The intranet as an app", "publisher": "Contoso", "appUrl": format!("https://intranet.contoso.example/{i}"), "useManagedBrowser": true, "isFeatured": false, "roleScopeTagIds": ["0"]})
            }
            1 => {
                json!({"@odata.type": "#microsoft.graph.iosStoreApp", "displayName": format!("Microsoft Authenticator ({})", i + 1), "description": "MFA", "publisher": "Microsoft Corporation", "bundleId": "com.microsoft.azureauthenticator", "appStoreUrl": "https://apps.apple.com/app/id983156458", "applicableDeviceType": {"iPad": true, "iPhoneAndIPod": true}, "minimumSupportedOperatingSystem": {"v15_0": true}, "isFeatured": false, "roleScopeTagIds": ["0"]})
            }
            2 => {
                json!({"@odata.type": "#microsoft.graph.officeSuiteApp", "displayName": format!("Microsoft 365 Apps ({})", i + 1), "description": "Office for every laptop", "publisher": "Microsoft", "productIds": ["o365ProPlusRetail"], "updateChannel": "current", "officePlatformArchitecture": "x64", "autoAcceptEula": true, "useSharedComputerActivation": false, "isFeatured": true, "roleScopeTagIds": ["0"]})
            }
            _ => {
                json!({"@odata.type": "#microsoft.graph.win32LobApp", "displayName": format!("Line-of-business agent ({})", i + 1), "description": "Packaged installer", "publisher": "Contoso", "fileName": "lobagent.intunewin", "setupFilePath": "setup.exe", "installCommandLine": "setup.exe /quiet", "uninstallCommandLine": "setup.exe /uninstall /quiet", "uploadState": 1, "publishingState": "published", "size": 48_203_117, "isFeatured": false, "roleScopeTagIds": ["0"]})
            }
        },
        "app_configuration_device" => json!({
            "@odata.type": "#microsoft.graph.iosMobileAppConfiguration", "displayName": name, "description": "Outlook account setup",
            "targetedMobileApps": [], "roleScopeTagIds": ["0"],
            "settings": [{"appConfigKey": "com.microsoft.outlook.EmailProfile.EmailAddress", "appConfigKeyType": "stringType", "appConfigKeyValue": "{{mail}}"},
                         {"appConfigKey": "IntuneMAMAllowedAccountsOnly", "appConfigKeyType": "stringType", "appConfigKeyValue": if i.is_multiple_of(2) { "Enabled" } else { "Disabled" }}]
        }),
        "app_configuration_app" => json!({
            "displayName": name, "description": "Edge managed bookmarks", "roleScopeTagIds": ["0"], "targetedAppManagementLevels": "unspecified",
            "appGroupType": "selectedPublicApps",
            "customSettings": [{"name": "com.microsoft.intune.mam.managedbrowser.bookmarks", "value": format!("Intranet|https://intranet.contoso.example/{i}")}],
            "apps": [{"id": "com.microsoft.msedge.ios", "version": "-1", "mobileAppIdentifier": {"@odata.type": "#microsoft.graph.iosMobileAppIdentifier", "bundleId": "com.microsoft.msedge"}}]
        }),
        "windows_app_protection" => json!({
            "displayName": name, "description": "Edge for Business on personal PCs", "roleScopeTagIds": ["0"],
            "printBlocked": i.is_multiple_of(2), "allowedInboundDataTransferSources": "allSources", "allowedOutboundClipboardSharingLevel": "none",
            "appGroupType": "selectedPublicApps",
            "apps": [{"id": "com.microsoft.edge.windows", "version": "-1", "mobileAppIdentifier": {"@odata.type": "#microsoft.graph.windowsAppIdentifier", "windowsAppId": "com.microsoft.edge"}}]
        }),
        "named_location" => {
            if i.is_multiple_of(2) {
                json!({"@odata.type": "#microsoft.graph.ipNamedLocation", "displayName": format!("Office network ({})", i + 1), "isTrusted": true,
                   "ipRanges": [{"@odata.type": "#microsoft.graph.iPv4CidrRange", "cidrAddress": format!("203.0.113.{}/32", i + 1)}]})
            } else {
                json!({"@odata.type": "#microsoft.graph.countryNamedLocation", "displayName": format!("Allowed countries ({})", i + 1),
                   "countriesAndRegions": ["US", "CA", "GB"], "includeUnknownCountriesAndRegions": false, "countryLookupMethod": "clientIpAddress"})
            }
        }
        "auth_strength" => {
            json!({"displayName": format!("Phishing-resistant for admins ({})", i + 1), "description": "FIDO2 or Windows Hello", "policyType": "custom", "requirementsSatisfied": "mfa", "allowedCombinations": ["fido2", "windowsHelloForBusiness"]})
        }
        "conditional_access" => json!({
            "displayName": format!("{} ({})", ["Require MFA for all users", "Block legacy authentication", "Admins: phishing-resistant MFA", "Require compliant devices"][i % 4], i + 1),
            "state": if i.is_multiple_of(2) { "enabled" } else { "enabledForReportingButNotEnforced" },
            "conditions": {
                "users": {"includeUsers": ["All"], "excludeUsers": [], "includeGroups": [], "excludeGroups": ["6b8a0c2e-0000-4b1e-9a3d-0000000000ff"], "includeRoles": [], "excludeRoles": []},
                "applications": {"includeApplications": ["All"], "excludeApplications": []},
                "clientAppTypes": ["all"],
                "locations": {"includeLocations": ["All"], "excludeLocations": []}
            },
            "grantControls": {"operator": "OR", "builtInControls": ["mfa"], "authenticationStrength": null},
            "sessionControls": null
        }),
        "terms_and_conditions" => json!({
            "displayName": name, "description": "Acceptable use", "title": "Contoso acceptable use policy", "bodyText": "Company devices are for company work.",
            "acceptanceStatement": "I accept", "version": 1 + i, "roleScopeTagIds": ["0"]
        }),
        "branding_profile" => json!({
            "profileName": if i == 0 { "Default".to_owned() } else { name.to_owned() }, "profileDescription": "Company Portal look",
            "isDefaultProfile": i == 0, "displayName": "Contoso IT", "contactITName": "Contoso Service Desk", "contactITPhoneNumber": "+1 555 0100",
            "contactITEmailAddress": "help@contoso.example", "showLogo": true, "themeColor": {"r": 0, "g": 114, "b": 198 - i % 3}, "roleScopeTagIds": ["0"]
        }),
        "policy_set" => {
            json!({"displayName": name, "description": "New laptop baseline", "roleScopeTagIds": ["0"], "guidedDeploymentTags": [], "items": [], "assignments": [], "status": "notAssigned"})
        }
        _ => json!({"displayName": name, "description": null}),
    }
}

fn enrollment(i: usize, name: &str) -> Value {
    match i {
        // Every tenant has these defaults at priority 0; they are only ever updated.
        0 => {
            json!({"@odata.type": "#microsoft.graph.windows10EnrollmentCompletionPageConfiguration", "displayName": "All users and all devices",
                    "description": "This is the default enrollment status screen configuration applied with the lowest priority to all users and all devices regardless of group membership.",
                    "priority": 0, "showInstallationProgress": false, "blockDeviceSetupRetryByUser": false, "allowDeviceResetOnInstallFailure": false,
                    "installProgressTimeoutInMinutes": 60, "allowDeviceUseOnInstallFailure": false, "selectedMobileAppIds": [], "trackInstallProgressForAutopilotOnly": false,
                    "roleScopeTagIds": ["0"]})
        }
        1 => {
            json!({"@odata.type": "#microsoft.graph.deviceEnrollmentLimitConfiguration", "displayName": format!("{name} – device limit"), "description": "Five devices per user",
                    "priority": 1, "limit": 5, "roleScopeTagIds": ["0"]})
        }
        _ => {
            json!({"@odata.type": "#microsoft.graph.windows10EnrollmentCompletionPageConfiguration", "displayName": format!("{name} – ESP"), "description": "Autopilot: wait for the core apps",
                    "priority": i - 1, "showInstallationProgress": true, "blockDeviceSetupRetryByUser": true, "allowDeviceResetOnInstallFailure": true,
                    "installProgressTimeoutInMinutes": 45 + i, "allowDeviceUseOnInstallFailure": false, "selectedMobileAppIds": [], "trackInstallProgressForAutopilotOnly": true,
                    "roleScopeTagIds": ["0"]})
        }
    }
}

/// Built-in definition ids: the same in every tenant.
const BUILT_IN_HOMEPAGE: &str = "c8c4dda2-3fd9-4e4b-9b2c-ad9f1e5c2a51";
const BUILT_IN_HOMEPAGE_TEXT: &str = "c8c4dda2-3fd9-4e4b-9b2c-ad9f1e5c2a52";
const BUILT_IN_CONSUMER: &str = "d1e7bb4a-8b53-4a5f-9d8e-1c0f5fdf3b10";
/// The custom ADMX definition's category, name and class: how a restore re-matches it.
pub const CUSTOM_ADMX_NAME: &str = "Line-of-business app: server address";

/// What exists in every tenant without anyone creating it: the Default scope tag, a built-in
/// role, Microsoft's authentication strengths, a Microsoft-published remediation, and the
/// administrative template definitions (built-in ones, and one from an imported ADMX file
/// whose ids are this tenant's own).
pub fn fill_built_ins(t: &mut SimTenant, entra_id: &str) {
    let put = |t: &mut SimTenant, collection: &str, id: &str, o: Value| {
        let mut o = o;
        o["id"] = json!(id);
        t.objects
            .entry(collection.to_owned())
            .or_default()
            .insert(id.to_owned(), o);
    };
    put(
        t,
        "deviceManagement/roleScopeTags",
        "0",
        json!({"displayName": "Default", "description": "Default scope tag", "isBuiltIn": true}),
    );
    put(
        t,
        "deviceManagement/roleDefinitions",
        "9e0cc482-82df-4ab2-a24c-0c23a3f52e1e",
        json!({"displayName": "Help Desk Operator", "description": "Built-in", "isBuiltIn": true, "rolePermissions": []}),
    );
    put(
        t,
        "identity/conditionalAccess/authenticationStrength/policies",
        "00000000-0000-0000-0000-000000000002",
        json!({"displayName": "Multifactor authentication", "description": "Built-in", "policyType": "builtIn", "requirementsSatisfied": "mfa", "allowedCombinations": ["password,microsoftAuthenticatorPush"]}),
    );
    put(
        t,
        "deviceManagement/deviceHealthScripts",
        "f3a1c0de-0000-4000-8000-00000000c0de",
        json!({"displayName": "Restart stopped Office C2R service", "publisher": "Microsoft", "isGlobalScript": true, "runAsAccount": "system", "detectionScriptContent": b64("exit 0"), "remediationScriptContent": b64("exit 0"), "runAs32Bit": false}),
    );
    let custom = super::guid_from(&format!("admx:{entra_id}"));
    for def in [
        json!({"id": BUILT_IN_HOMEPAGE, "displayName": "Configure the home page URL", "classType": "user", "categoryPath": "\\Microsoft Edge\\Startup, home page and new tab page", "policyType": "admxBacked",
               "presentations": [{"id": BUILT_IN_HOMEPAGE_TEXT, "label": "Home page URL", "@odata.type": "#microsoft.graph.groupPolicyPresentationTextBox"}]}),
        json!({"id": BUILT_IN_CONSUMER, "displayName": "Turn off Microsoft consumer experiences", "classType": "machine", "categoryPath": "\\Windows Components\\Cloud Content", "policyType": "admxBacked", "presentations": []}),
        json!({"id": custom, "displayName": CUSTOM_ADMX_NAME, "classType": "machine", "categoryPath": "\\Contoso\\Line of business", "policyType": "admxIngested",
               "presentations": [{"id": super::guid_from(&format!("admx-text:{entra_id}")), "label": "Server address", "@odata.type": "#microsoft.graph.groupPolicyPresentationTextBox"}]}),
    ] {
        let id = def["id"].as_str().unwrap_or_default().to_owned();
        t.definitions.insert(id, def);
    }
}

fn first_id(t: &SimTenant, collection: &str, skip: usize) -> Option<String> {
    t.objects
        .get(collection)?
        .iter()
        .filter(|(_, o)| !o.get("isBuiltIn").is_some_and(|b| b == true))
        .nth(skip)
        .map(|(id, _)| id.clone())
}

/// Points objects at each other as they are in a real tenant.
pub fn link(t: &mut SimTenant, entra_id: &str) {
    let filter = first_id(t, "deviceManagement/assignmentFilters", 0);
    for list in t.assignments.values_mut() {
        for a in list.iter_mut() {
            if a.pointer("/target/deviceAndAppManagementAssignmentFilterId").is_some() {
                a["target"]["deviceAndAppManagementAssignmentFilterId"] = json!(filter);
            }
        }
    }
    let template = first_id(t, "deviceManagement/notificationMessageTemplates", 0);
    let script = first_id(t, "deviceManagement/deviceComplianceScripts", 0);
    let apps: Vec<String> = (0..2)
        .filter_map(|k| first_id(t, "deviceAppManagement/mobileApps", k))
        .collect();
    let location = first_id(t, "identity/conditionalAccess/namedLocations", 0);
    let strength = first_id(t, "identity/conditionalAccess/authenticationStrength/policies", 0)
        .filter(|id| id != "00000000-0000-0000-0000-000000000002");
    let compliance = first_id(t, "deviceManagement/deviceCompliancePolicies", 0);
    let custom_def = super::guid_from(&format!("admx:{entra_id}"));
    let custom_text = super::guid_from(&format!("admx-text:{entra_id}"));
    let mut edit = |collection: &str, index: usize, f: &mut dyn FnMut(&mut Value)| {
        if let Some(o) = t.objects.get_mut(collection).and_then(|m| {
            m.values_mut()
                .filter(|o| o.get("isBuiltIn") != Some(&json!(true)))
                .nth(index)
        }) {
            f(o);
        }
    };
    if let (Some(template), Some(script)) = (template, script) {
        edit("deviceManagement/deviceCompliancePolicies", 0, &mut |o| {
            o["scheduledActionsForRule"][0]["scheduledActionConfigurations"][1]["notificationTemplateId"] =
                json!(template);
            o["deviceCompliancePolicyScript"] =
                json!({"deviceComplianceScriptId": script, "rulesContent": b64("{\"Rules\":[]}")});
        });
    }
    if let Some(app) = apps.first() {
        edit("deviceManagement/deviceEnrollmentConfigurations", 2, &mut |o| {
            o["selectedMobileAppIds"] = json!([app]);
        });
    }
    if let Some(app) = apps.get(1).or(apps.first()) {
        edit("deviceAppManagement/mobileAppConfigurations", 0, &mut |o| {
            o["targetedMobileApps"] = json!([app]);
        });
    }
    if let Some(location) = location {
        edit("identity/conditionalAccess/policies", 0, &mut |o| {
            o["conditions"]["locations"]["excludeLocations"] = json!([location]);
        });
    }
    if let Some(strength) = strength {
        edit("identity/conditionalAccess/policies", 2, &mut |o| {
            o["grantControls"] =
                json!({"operator": "AND", "builtInControls": [], "authenticationStrength": {"id": strength}});
        });
    }
    if let (Some(compliance), Some(app)) = (compliance, apps.first()) {
        edit("deviceAppManagement/policySets", 0, &mut |o| {
            o["items"] = json!([
                {"id": "5e7a0001-0000-4000-8000-000000000001", "@odata.type": "#microsoft.graph.deviceCompliancePolicyPolicySetItem", "payloadId": compliance, "status": "notAssigned"},
                {"id": "5e7a0001-0000-4000-8000-000000000002", "@odata.type": "#microsoft.graph.mobileAppPolicySetItem", "payloadId": app, "intent": "required", "status": "notAssigned"}
            ]);
        });
    }
    edit("deviceManagement/groupPolicyConfigurations", 0, &mut |o| {
        if let Some(values) = o["definitionValues"].as_array_mut() {
            values.push(json!({"id": "ad110000-0000-4000-8000-0000000000c1", "enabled": true, "definitionId": custom_def,
                "presentationValues": [{"id": "ad110000-0000-4000-8000-0000000000c2", "@odata.type": "#microsoft.graph.groupPolicyPresentationValueText", "value": "https://lob.contoso.example", "presentationId": custom_text}]}));
        }
    });
}
