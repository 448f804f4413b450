//! Settings catalog setting definitions: `GET /beta/deviceManagement/configurationSettings/{id}`
//! answers the definition of every setting id the simulator's policies use (the seed's
//! `device_vendor_msft_policy_config_defender_setting_{k}`, the firewall rule of reusable
//! settings), with a `displayName` and `description`; any other id is 404. Definitions are
//! Microsoft's, the same in every tenant, so they live in code, not in a tenant's state.
//! <https://learn.microsoft.com/graph/api/intune-deviceconfigv2-devicemanagementconfigurationsettingdefinition-get?view=graph-rest-beta>

use serde_json::{Value, json};

/// The id prefix of the seed's settings catalog settings (`…_setting_{k}`).
pub const DEFENDER_PREFIX: &str = "device_vendor_msft_policy_config_defender_setting_";

/// Display names of Defender settings as the Intune portal shows them, by `k % len`.
const DEFENDER_NAMES: &[&str] = &[
    "Allow Realtime Monitoring",
    "Allow Cloud Protection",
    "Allow Behavior Monitoring",
    "Allow Email Scanning",
    "Allow Full Scan Removable Drive Scanning",
    "Allow Intrusion Prevention System",
    "Allow On Access Protection",
    "Allow Script Scanning",
    "Check For Signatures Before Running Scan",
    "Disable Catchup Quick Scan",
];

/// Other ids the simulator's content uses (reusable settings' firewall rule).
const OTHERS: &[(&str, &str)] = &[
    (
        "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}",
        "Firewall Rule Name",
    ),
    (
        "vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}_localportranges",
        "Local Port Ranges",
    ),
];

/// The display name the simulator's catalog gives a definition id, if it knows the id.
pub fn display_name(id: &str) -> Option<String> {
    if let Some(k) = id.strip_prefix(DEFENDER_PREFIX).and_then(|k| k.parse::<usize>().ok()) {
        let base = DEFENDER_NAMES[k % DEFENDER_NAMES.len()];
        return Some(if k < DEFENDER_NAMES.len() {
            base.to_owned()
        } else {
            format!("{base} ({k})")
        });
    }
    OTHERS.iter().find(|(i, _)| *i == id).map(|(_, n)| (*n).to_owned())
}

/// The definition as Graph answers it (a choice setting definition; Graph answers the object
/// itself, not wrapped in `value` as the page's generated example shows).
pub fn definition(id: &str) -> Option<Value> {
    let name = display_name(id)?;
    Some(json!({
        "@odata.type": "#microsoft.graph.deviceManagementConfigurationChoiceSettingDefinition",
        "id": id,
        "name": id.rsplit('_').next().unwrap_or(id),
        "displayName": name,
        "description": format!("{name}: as Microsoft documents the setting."),
        "helpText": "",
        "baseUri": "./Device/Vendor/MSFT/Policy",
        "offsetUri": "/Config/Defender",
        "rootDefinitionId": id,
        "categoryId": "f6b3a5c9-0000-4000-8000-000000000d3f",
        "settingUsage": "configuration",
        "uxBehavior": "dropdown",
        "visibility": "settingsCatalog,template",
        "version": "1",
        "keywords": [],
        "infoUrls": []
    }))
}

/// `%XX` escapes decoded (a batch sub-request's URL arrives undecoded); invalid escapes and
/// non-UTF-8 results are kept as they came.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(b) = s.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_the_seed_s_ids_and_no_others() {
        assert_eq!(
            display_name(&format!("{DEFENDER_PREFIX}0")).as_deref(),
            Some("Allow Realtime Monitoring")
        );
        assert_eq!(
            display_name(&format!("{DEFENDER_PREFIX}12")).as_deref(),
            Some("Allow Behavior Monitoring (12)")
        );
        assert!(display_name(&format!("{DEFENDER_PREFIX}x")).is_none());
        assert!(display_name("device_vendor_msft_unknown").is_none());
        assert_eq!(
            definition("vendor_msft_firewall_mdmstore_firewallrules_{firewallrulename}")
                .map(|d| d["displayName"].clone()),
            Some(json!("Firewall Rule Name"))
        );
    }

    #[test]
    fn decodes_percent_escapes() {
        assert_eq!(percent_decode("a%7Bb%7D_c"), "a{b}_c");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
