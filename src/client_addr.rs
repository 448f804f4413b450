//! Who the client is: the TCP peer, or behind a trusted reverse proxy the address that proxy
//! saw (`X-Forwarded-For`). The brakes and the audit log key on it.

use std::net::IpAddr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The reverse proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(pub Vec<IpNet>);

impl std::ops::Deref for TrustedProxies {
    type Target = [IpNet];
    fn deref(&self) -> &[IpNet] {
        &self.0
    }
}

/// `PV_TRUSTED_PROXIES`: comma-separated entries; empty (as an environment file may leave
/// it) means none.
pub fn parse_list(s: &str) -> Result<TrustedProxies, String> {
    s.split(',')
        .filter(|e| !e.trim().is_empty())
        .map(parse_net)
        .collect::<Result<Vec<_>, _>>()
        .map(TrustedProxies)
}

/// One `PV_TRUSTED_PROXIES` entry: an address (`10.0.0.5`, `::1`) or a range (`10.0.0.0/8`).
pub fn parse_net(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    s.parse::<IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{s:?} is neither an IP address nor a CIDR range such as 10.0.0.0/8"))
}

fn trusted(ip: IpAddr, proxies: &[IpNet]) -> bool {
    let ip = ip.to_canonical();
    proxies.iter().any(|net| net.contains(&ip))
}

/// Whether connections from `peer` come through a configured proxy.
pub fn is_trusted_proxy(peer: IpAddr, proxies: &[IpNet]) -> bool {
    trusted(peer, proxies)
}

/// The client's address. Only when `peer` is a trusted proxy is `X-Forwarded-For` read, from
/// the right (each proxy appends the address it saw): the first hop that is not a trusted
/// proxy is the client. Anything left of it was written by the client and proves nothing.
/// An unreadable hop stops the walk at the last trusted one.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, proxies: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    if !trusted(peer, proxies) {
        return peer;
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Ok(ip) = hop.parse::<IpAddr>() else {
            return client;
        };
        client = ip.to_canonical();
        if !trusted(client, proxies) {
            return client;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn xff(values: &[&'static str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_static(v));
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn the_header_is_believed_only_from_a_trusted_proxy() {
        let proxies = [
            parse_net("127.0.0.1").expect("net"),
            parse_net("10.0.0.0/8").expect("net"),
        ];
        let h = xff(&["198.51.100.1, 203.0.113.7"]);
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &proxies), ip("203.0.113.7"));
        assert_eq!(client_ip(ip("192.0.2.9"), &h, &proxies), ip("192.0.2.9"), "not a proxy");
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &[]), ip("127.0.0.1"), "no proxies set");
        // The rightmost untrusted hop, also across two proxies and two header lines.
        let h = xff(&["6.6.6.6, 203.0.113.7", "10.1.2.3"]);
        assert_eq!(client_ip(ip("::ffff:127.0.0.1"), &h, &proxies), ip("203.0.113.7"));
        // Nothing readable: the proxy itself.
        assert_eq!(client_ip(ip("127.0.0.1"), &xff(&["junk"]), &proxies), ip("127.0.0.1"));
        assert_eq!(client_ip(ip("127.0.0.1"), &HeaderMap::new(), &proxies), ip("127.0.0.1"));
    }

    #[test]
    fn proxy_entries_are_addresses_or_ranges() {
        assert!(parse_net(" 10.0.0.0/8").is_ok());
        assert!(parse_net("::1").is_ok());
        assert!(parse_net("proxy.local").is_err());
        assert_eq!(parse_list("").expect("empty").len(), 0);
        assert_eq!(parse_list("127.0.0.1, 10.0.0.0/8,").expect("two").len(), 2);
        assert!(parse_list("127.0.0.1,bogus").is_err());
    }
}
