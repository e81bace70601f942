//! Who the client is when the gateway sits behind reverse proxies.
//!
//! `X-Forwarded-For` is what the caller and each proxy wrote: its first entries
//! are whatever the caller chose, and each proxy appends the address it saw. So
//! it is read from the right, and only while the address that wrote an entry is
//! a proxy this deployment trusts (`TESSERA_TRUSTED_PROXIES`). The first entry
//! not written by a trusted proxy is the client. With no proxies configured, or
//! a peer that is not one of them, the header is ignored and the TCP peer is the
//! client. Everything that limits or records by address (login throttles,
//! sign-up limits, network policies, sessions) reads the result.
//!
//! (axum-client-ip reads only the rightmost entry, right for exactly one proxy;
//! a chain of proxies needs the walk below, a few lines over `ipnet`.)

use std::net::IpAddr;

use http::HeaderMap;
use ipnet::IpNet;

/// The most entries read, so a long header costs bounded work.
const MAX_HOPS: usize = 32;

/// The client behind `peer`, given the request's headers and the trusted proxies.
pub(crate) fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(&ip.to_canonical()));
    if !is_trusted(&peer) {
        return peer;
    }
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .collect::<Vec<_>>();
    let mut client = peer;
    for entry in hops.iter().rev().take(MAX_HOPS) {
        // An entry that is no address ends the walk: the last proxy is all
        // that can be told.
        let Ok(hop) = entry.parse::<IpAddr>() else { break };
        client = hop.to_canonical();
        if !is_trusted(&client) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(forwarded: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in forwarded {
            map.append("x-forwarded-for", value.parse().expect("a header value"));
        }
        map
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("an address")
    }

    #[test]
    fn the_header_is_believed_only_from_a_trusted_proxy_and_only_as_far_as_trusted_proxies_wrote_it() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap(), "127.0.0.1/32".parse().unwrap()];
        // No proxy in front: the header is the caller's own invention.
        assert_eq!(client_address(ip("203.0.113.9"), &headers(&["198.51.100.1"]), &trusted), ip("203.0.113.9"));
        // One proxy: the entry it appended is the client.
        assert_eq!(client_address(ip("127.0.0.1"), &headers(&["198.51.100.1"]), &trusted), ip("198.51.100.1"));
        // A forged first entry and a chain of two proxies: the walk stops at the
        // first address no trusted proxy stands for.
        let chain = headers(&["6.6.6.6, 198.51.100.1", "10.1.2.3"]);
        assert_eq!(client_address(ip("127.0.0.1"), &chain, &trusted), ip("198.51.100.1"));
        // Rubbish ends the walk at the last proxy that wrote something sane.
        assert_eq!(client_address(ip("127.0.0.1"), &headers(&["nonsense, 10.1.2.3"]), &trusted), ip("10.1.2.3"));
        // Nothing configured: nothing believed.
        assert_eq!(client_address(ip("127.0.0.1"), &headers(&["198.51.100.1"]), &[]), ip("127.0.0.1"));
        // IPv4-mapped IPv6 peers count as IPv4.
        assert_eq!(client_address(ip("::ffff:127.0.0.1"), &headers(&["198.51.100.1"]), &trusted), ip("198.51.100.1"));
    }
}
