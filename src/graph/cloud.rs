//! National clouds and the endpoints that belong to each (see `shared/GRAPH.md`).
//! Tokens do not cross clouds, so a tenant's login and Graph hosts always come as a pair.

use serde::{Deserialize, Serialize};

/// The Microsoft cloud a customer tenant lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Cloud {
    /// Commercial and GCC.
    Global,
    /// GCC High.
    Usgov,
    /// `DoD`.
    Usgovdod,
    /// Operated by 21Vianet.
    China,
}

impl Cloud {
    pub const ALL: [Cloud; 4] = [Cloud::Global, Cloud::Usgov, Cloud::Usgovdod, Cloud::China];

    pub fn as_str(self) -> &'static str {
        match self {
            Cloud::Global => "global",
            Cloud::Usgov => "usgov",
            Cloud::Usgovdod => "usgovdod",
            Cloud::China => "china",
        }
    }

    /// Parses the API/database spelling; `None` for anything else.
    pub fn parse(s: &str) -> Option<Cloud> {
        Cloud::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            Cloud::Global => "Global (commercial, GCC)",
            Cloud::Usgov => "US Government (GCC High)",
            Cloud::Usgovdod => "US Government (DoD)",
            Cloud::China => "China (21Vianet)",
        }
    }

    /// Base URL of the Entra ID token endpoint host, without a trailing slash.
    pub fn login_base_url(self) -> &'static str {
        match self {
            Cloud::Global => "https://login.microsoftonline.com",
            Cloud::Usgov | Cloud::Usgovdod => "https://login.microsoftonline.us",
            Cloud::China => "https://login.chinacloudapi.cn",
        }
    }

    /// Base URL of Microsoft Graph, without version and trailing slash.
    pub fn graph_base_url(self) -> &'static str {
        match self {
            Cloud::Global => "https://graph.microsoft.com",
            Cloud::Usgov => "https://graph.microsoft.us",
            Cloud::Usgovdod => "https://dod-graph.microsoft.us",
            Cloud::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }
}

/// Whose setting definitions a tenant's Graph answers with: `"microsoft"` for a Microsoft
/// cloud's own Graph host (definitions are Microsoft's and the same in every tenant, so they
/// are shared), else that Graph's origin (a custom endpoint answers for itself only, so one
/// tenant's Graph cannot name settings for the others).
pub fn definitions_source(graph_base_url: &str) -> String {
    let trimmed = graph_base_url.trim_end_matches('/');
    if Cloud::ALL
        .iter()
        .any(|c| c.graph_base_url().eq_ignore_ascii_case(trimmed))
    {
        return "microsoft".to_owned();
    }
    reqwest::Url::parse(trimmed).map_or_else(|_| trimmed.to_owned(), |u| u.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_microsoft_graph_hosts_share_setting_definitions() {
        for c in Cloud::ALL {
            assert_eq!(definitions_source(c.graph_base_url()), "microsoft");
        }
        assert_eq!(definitions_source("https://graph.microsoft.com/"), "microsoft");
        assert_eq!(definitions_source("http://127.0.0.1:4001"), "http://127.0.0.1:4001");
        assert_ne!(
            definitions_source("http://127.0.0.1:4001"),
            definitions_source("http://127.0.0.1:4002")
        );
        assert_eq!(
            definitions_source("https://graph.microsoft.com.evil.example"),
            "https://graph.microsoft.com.evil.example"
        );
    }

    #[test]
    fn every_cloud_round_trips_through_its_name() {
        for c in Cloud::ALL {
            assert_eq!(Cloud::parse(c.as_str()), Some(c));
        }
        assert_eq!(Cloud::parse("Global"), None);
    }

    #[test]
    fn dod_has_its_own_graph_host_but_shares_the_gov_login() {
        assert_eq!(Cloud::Usgovdod.login_base_url(), Cloud::Usgov.login_base_url());
        assert_ne!(Cloud::Usgovdod.graph_base_url(), Cloud::Usgov.graph_base_url());
    }
}
