//! Apps (`deviceAppManagement/mobileApps`): metadata and assignments are backed up for every
//! app; store, web and Microsoft 365 apps are restored. An installer (Win32, LOB) cannot be
//! exported through Graph (IM README; TenuVault limitations), and Android store apps cannot
//! be created through Graph (IM "Known issues"): those items are skipped with the reason.

use serde_json::Value;

/// App types whose restore needs a file Graph does not give back.
const NEEDS_INSTALLER: &[&str] = &[
    "#microsoft.graph.win32LobApp",
    "#microsoft.graph.win32CatalogApp",
    "#microsoft.graph.windowsMobileMSI",
    "#microsoft.graph.windowsAppX",
    "#microsoft.graph.windowsUniversalAppX",
    "#microsoft.graph.iosLobApp",
    "#microsoft.graph.androidLobApp",
    "#microsoft.graph.macOSLobApp",
    "#microsoft.graph.macOSPkgApp",
    "#microsoft.graph.macOSDmgApp",
];

pub fn unrestorable(document: &Value) -> Option<String> {
    let kind = document.get("@odata.type").and_then(Value::as_str).unwrap_or_default();
    if NEEDS_INSTALLER.contains(&kind) {
        return Some(
            "the installer cannot be exported through Graph: upload it again, then restore its assignments".into(),
        );
    }
    if kind == "#microsoft.graph.androidStoreApp" {
        return Some(
            "Android store apps cannot be created through Graph: approve the app in managed Google Play".into(),
        );
    }
    None
}
