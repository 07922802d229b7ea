//! The SSRF guard for webhook targets: which URLs are acceptable at all, which addresses are
//! refused (and why), and resolving a host so that every address it names is vetted.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use ipnet::IpNet;
use url::{Host, Url};

use super::error::{AttemptFailure, WebhookError};

/// Longer URLs are refused: no receiver needs one, and they bloat every stored job.
pub const MAX_URL_LEN: usize = 2048;

/// Parses a webhook URL and refuses what can never be delivered to: schemes other than
/// `http`/`https`, a missing host, embedded credentials, more than [`MAX_URL_LEN`] bytes.
/// It does not resolve the host; [`super::deliver`] vets addresses at delivery time.
/// Messages never repeat the URL, since it may carry credentials.
pub fn validate_url(url: &str) -> Result<Url, WebhookError> {
    let invalid = |reason: String| Err(WebhookError::InvalidUrl { reason });
    if url.len() > MAX_URL_LEN {
        return invalid(format!("the URL is {} bytes long, over the limit of {MAX_URL_LEN} bytes", url.len()));
    }
    let parsed = match Url::parse(url.trim()) {
        Ok(parsed) => parsed,
        Err(url::ParseError::EmptyHost) => return invalid("the URL has no host".into()),
        Err(err) => return invalid(format!("not a valid URL ({err})")),
    };
    if !matches!(parsed.scheme(), "http" | "https") {
        return invalid(format!("the scheme `{}` is not supported; use http or https", parsed.scheme()));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return invalid("the URL has no host".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return invalid(
            "the URL contains credentials (user:password@); receivers authenticate webhooks by their signature".into(),
        );
    }
    Ok(parsed)
}

/// Why `ip` is refused as a webhook target, or `None` when it is a public address.
/// IPv6 forms that carry an IPv4 address (mapped, compatible, NAT64, 6to4) are judged by
/// that IPv4 address, since that is where the packets end up.
pub fn forbidden_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

/// Parses allow-list entries such as `127.0.0.0/8` or `::1/128`; a bare address means just it.
pub fn parse_allow_list<S: AsRef<str>>(entries: &[S]) -> Result<Vec<IpNet>, WebhookError> {
    entries
        .iter()
        .map(|entry| {
            let entry = entry.as_ref().trim();
            entry.parse::<IpNet>().or_else(|_| entry.parse::<IpAddr>().map(IpNet::from)).map_err(|_| {
                WebhookError::Config(format!("webhook allow-list entry `{entry}` is not a CIDR like 10.0.0.0/8"))
            })
        })
        .collect()
}

/// Resolves the URL's host and vets every address, so a name that answers with one public
/// and one private address is refused rather than gambled on.
pub(crate) async fn resolve_vetted(
    url: &Url,
    allow: &[IpNet],
    dns_timeout: Duration,
    attempt: u32,
) -> Result<Vec<SocketAddr>, Resolved> {
    let port = url.port_or_known_default().unwrap_or(80);
    let (host, addrs): (String, Vec<SocketAddr>) = match url.host() {
        Some(Host::Ipv4(v4)) => (v4.to_string(), vec![SocketAddr::new(v4.into(), port)]),
        Some(Host::Ipv6(v6)) => (v6.to_string(), vec![SocketAddr::new(v6.into(), port)]),
        Some(Host::Domain(domain)) => {
            let lookup = tokio::net::lookup_host((domain, port));
            let found = match tokio::time::timeout(dns_timeout, lookup).await {
                Ok(Ok(found)) => found.collect::<Vec<_>>(),
                Ok(Err(err)) => return Err(Resolved::Failed(AttemptFailure::Resolve(err.to_string()))),
                Err(_) => {
                    let message = format!("no answer within {} ms", dns_timeout.as_millis());
                    return Err(Resolved::Failed(AttemptFailure::Resolve(message)));
                }
            };
            (domain.to_string(), found)
        }
        None => return Err(Resolved::Failed(AttemptFailure::Resolve("the URL has no host".into()))),
    };
    if addrs.is_empty() {
        return Err(Resolved::Failed(AttemptFailure::Resolve("the name has no addresses".into())));
    }
    for addr in &addrs {
        if let Some(reason) = refusal(allow, addr.ip()) {
            return Err(Resolved::Refused(WebhookError::Forbidden { attempt, host, addr: addr.ip(), reason }));
        }
    }
    Ok(addrs)
}

/// Why resolution produced no usable addresses: a refusal is final, a failure may pass.
pub(crate) enum Resolved {
    Refused(WebhookError),
    Failed(AttemptFailure),
}

/// The guard with the operator's exceptions applied. An allow-list entry for an IPv4 range
/// also admits its IPv4-mapped IPv6 form, which reaches the same host.
fn refusal(allow: &[IpNet], ip: IpAddr) -> Option<&'static str> {
    let reason = forbidden_reason(ip)?;
    let canonical = ip.to_canonical();
    if allow.iter().any(|net| net.contains(&ip) || net.contains(&canonical)) {
        return None;
    }
    Some(reason)
}

const fn v4(a: u8, b: u8, c: u8, d: u8) -> u32 {
    Ipv4Addr::new(a, b, c, d).to_bits()
}

// Order matters only where ranges nest: broadcast is checked before the 240/4 it sits in.
const V4_REFUSED: &[(u32, u32, &str)] = &[
    (v4(0, 0, 0, 0), 8, "an unspecified (\"this network\") address"),
    (v4(127, 0, 0, 0), 8, "a loopback address"),
    (v4(10, 0, 0, 0), 8, "a private address"),
    (v4(172, 16, 0, 0), 12, "a private address"),
    (v4(192, 168, 0, 0), 16, "a private address"),
    (v4(169, 254, 0, 0), 16, "a link-local address (where cloud metadata services listen)"),
    (v4(100, 64, 0, 0), 10, "a carrier-grade NAT (shared) address"),
    (v4(224, 0, 0, 0), 4, "a multicast address"),
    (v4(255, 255, 255, 255), 32, "the broadcast address"),
    (v4(192, 0, 0, 0), 24, "a reserved address (IETF protocol assignments)"),
    (v4(192, 0, 2, 0), 24, "a documentation address"),
    (v4(198, 51, 100, 0), 24, "a documentation address"),
    (v4(203, 0, 113, 0), 24, "a documentation address"),
    (v4(198, 18, 0, 0), 15, "a benchmarking address"),
    (v4(192, 88, 99, 0), 24, "a reserved address (6to4 relay anycast)"),
    (v4(240, 0, 0, 0), 4, "a reserved address"),
];

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let bits = ip.to_bits();
    V4_REFUSED.iter().find(|(net, prefix, _)| (bits ^ net) >> (32 - prefix) == 0).map(|(_, _, reason)| *reason)
}

const fn v6(segments: [u16; 8]) -> u128 {
    let [a, b, c, d, e, f, g, h] = segments;
    Ipv6Addr::new(a, b, c, d, e, f, g, h).to_bits()
}

const V6_REFUSED: &[(u128, u32, &str)] = &[
    (v6([0xfc00, 0, 0, 0, 0, 0, 0, 0]), 7, "a private (unique local) address"),
    (v6([0xfe80, 0, 0, 0, 0, 0, 0, 0]), 10, "a link-local address"),
    (v6([0xfec0, 0, 0, 0, 0, 0, 0, 0]), 10, "a site-local address"),
    (v6([0xff00, 0, 0, 0, 0, 0, 0, 0]), 8, "a multicast address"),
    (v6([0x0064, 0xff9b, 1, 0, 0, 0, 0, 0]), 48, "a private (local-use NAT64) address"),
    (v6([0x0100, 0, 0, 0, 0, 0, 0, 0]), 64, "a reserved (discard-only) address"),
    (v6([0x2001, 0x0db8, 0, 0, 0, 0, 0, 0]), 32, "a documentation address"),
    (v6([0x3fff, 0, 0, 0, 0, 0, 0, 0]), 20, "a documentation address"),
    (v6([0x2001, 0x0002, 0, 0, 0, 0, 0, 0]), 48, "a benchmarking address"),
    // Teredo hides its IPv4 endpoint (XORed); refusing is simpler than unmasking it.
    (v6([0x2001, 0, 0, 0, 0, 0, 0, 0]), 32, "a Teredo tunnel address"),
];

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let bits = ip.to_bits();
    if ip.is_unspecified() {
        return Some("an unspecified address");
    }
    if ip.is_loopback() {
        return Some("a loopback address");
    }
    if let Some(embedded) = embedded_v4(ip) {
        return forbidden_v4(embedded);
    }
    if let Some((_, _, reason)) = V6_REFUSED.iter().find(|(net, prefix, _)| (bits ^ net) >> (128 - prefix) == 0) {
        return Some(reason);
    }
    // Only 2000::/3 is allocated for global unicast; anything else is reserved or special.
    if bits >> 125 != 0b001 {
        return Some("a reserved address");
    }
    None
}

/// The IPv4 address an IPv6 address delivers to: IPv4-mapped (`::ffff:0:0/96`),
/// IPv4-compatible (`::/96`), NAT64 (`64:ff9b::/96`) and 6to4 (`2002::/16`).
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = ip.to_bits();
    let low32 = Ipv4Addr::from_bits(bits as u32);
    let top96 = bits >> 32;
    if top96 == 0xffff || top96 == 0 || top96 == v6([0x0064, 0xff9b, 0, 0, 0, 0, 0, 0]) >> 32 {
        return Some(low32);
    }
    if bits >> 112 == 0x2002 {
        return Some(Ipv4Addr::from_bits((bits >> 80) as u32));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(cases: &[(&str, Option<&str>)]) {
        for (addr, want) in cases {
            let ip: IpAddr = addr.parse().unwrap();
            let got = forbidden_reason(ip);
            match want {
                None => assert_eq!(got, None, "{addr} should be allowed"),
                Some(word) => {
                    let reason = got.unwrap_or_else(|| panic!("{addr} should be refused ({word})"));
                    assert!(reason.contains(word), "{addr}: reason `{reason}` should mention `{word}`");
                }
            }
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        check(&[
            ("93.184.215.14", None),
            ("1.1.1.1", None),
            ("8.8.8.8", None),
            ("172.32.0.1", None),
            ("172.15.255.255", None),
            ("100.128.0.1", None),
            ("100.63.255.255", None),
            ("11.0.0.1", None),
            ("223.255.255.255", None),
            ("2606:4700:4700::1111", None),
            ("2a00:1450:4001:82b::200e", None),
            ("::ffff:8.8.8.8", None),
            ("64:ff9b::808:808", None),
            ("2002:0808:0808::1", None),
        ]);
    }

    #[test]
    fn loopback_and_unspecified_addresses_are_refused() {
        check(&[
            ("127.0.0.1", Some("loopback")),
            ("127.255.255.254", Some("loopback")),
            ("::1", Some("loopback")),
            ("0.0.0.0", Some("unspecified")),
            ("0.1.2.3", Some("unspecified")),
            ("::", Some("unspecified")),
        ]);
    }

    #[test]
    fn private_and_metadata_addresses_are_refused() {
        check(&[
            ("10.0.0.1", Some("private")),
            ("10.255.255.255", Some("private")),
            ("172.16.0.1", Some("private")),
            ("172.31.255.255", Some("private")),
            ("192.168.1.1", Some("private")),
            ("169.254.169.254", Some("metadata")),
            ("169.254.0.1", Some("link-local")),
            ("100.64.0.1", Some("carrier-grade NAT")),
            ("100.127.255.255", Some("carrier-grade NAT")),
            ("fc00::1", Some("private")),
            ("fd12:3456::1", Some("private")),
            ("fe80::1", Some("link-local")),
            ("febf::1", Some("link-local")),
            ("fec0::1", Some("site-local")),
            ("64:ff9b:1::a00:1", Some("NAT64")),
        ]);
    }

    #[test]
    fn multicast_broadcast_documentation_and_reserved_ranges_are_refused() {
        check(&[
            ("224.0.0.1", Some("multicast")),
            ("239.255.255.255", Some("multicast")),
            ("255.255.255.255", Some("broadcast")),
            ("240.0.0.1", Some("reserved")),
            ("192.0.0.8", Some("reserved")),
            ("192.0.2.1", Some("documentation")),
            ("198.51.100.7", Some("documentation")),
            ("203.0.113.9", Some("documentation")),
            ("198.18.0.1", Some("benchmarking")),
            ("198.19.255.255", Some("benchmarking")),
            ("ff02::1", Some("multicast")),
            ("2001:db8::1", Some("documentation")),
            ("100::1", Some("discard")),
            ("2001:0:4136:e378:8000:63bf:3fff:fdd2", Some("Teredo")),
            ("4000::1", Some("reserved")),
        ]);
    }

    #[test]
    fn ipv4_carried_in_ipv6_is_judged_by_the_ipv4_address() {
        check(&[
            ("::ffff:127.0.0.1", Some("loopback")),
            ("::ffff:169.254.169.254", Some("metadata")),
            ("::ffff:10.0.0.1", Some("private")),
            ("::127.0.0.1", Some("loopback")),
            ("::10.1.2.3", Some("private")),
            ("64:ff9b::127.0.0.1", Some("loopback")),
            ("64:ff9b::a9fe:a9fe", Some("metadata")),
            ("2002:7f00:0001::1", Some("loopback")),
            ("2002:c0a8:0101::1", Some("private")),
        ]);
    }

    #[test]
    fn the_allow_list_admits_listed_ranges_and_their_mapped_forms_only() {
        let allow = parse_allow_list(&["127.0.0.0/8", "10.1.2.3", "::1/128"]).unwrap();
        let cases: &[(&str, bool)] = &[
            ("127.0.0.1", true),
            ("127.9.9.9", true),
            ("::ffff:127.0.0.1", true),
            ("::1", true),
            ("10.1.2.3", true),
            ("10.1.2.4", false),
            ("169.254.169.254", false),
            ("64:ff9b::7f00:1", false),
            ("8.8.8.8", true),
        ];
        for (addr, permitted) in cases {
            let ip: IpAddr = addr.parse().unwrap();
            assert_eq!(refusal(&allow, ip).is_none(), *permitted, "{addr}");
        }
    }

    #[test]
    fn allow_list_entries_that_are_not_cidrs_are_refused_by_name() {
        for entry in ["10.0.0.0/33", "localhost", "10.0.0/8", ""] {
            let err = parse_allow_list(&[entry]).unwrap_err().to_string();
            assert!(err.contains(&format!("`{entry}`")), "{err}");
        }
    }
}
