//! Reading what a client asks for: `Accept`-style lists with qualities and
//! `If-None-Match`. Shared by signed transforms and the web app's files.

use axum::http::{header, HeaderMap};

/// Whether the client names `token` in the `name` list (`Accept`, `Accept-Encoding`) with a
/// non-zero quality. Wildcards do not count: nearly every client sends `*/*`, including
/// ones that cannot decode WebP or AVIF; a caller that wants one asks for it by name.
pub(crate) fn accepts(headers: &HeaderMap, name: header::HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().filter_map(|value| value.to_str().ok()).flat_map(|value| value.split(',')).any(
        |item| {
            let mut parts = item.split(';');
            let named = parts.next().is_some_and(|media| media.trim().eq_ignore_ascii_case(token));
            let refused = parts.filter_map(|param| param.split_once('=')).any(|(name, value)| {
                name.trim().eq_ignore_ascii_case("q") && value.trim().parse::<f32>().is_ok_and(|q| q <= 0.0)
            });
            named && !refused
        },
    )
}

/// Whether `If-None-Match` lists `etag` (weak comparison, as RFC 9110 asks for GET).
pub(crate) fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| tag.trim().trim_start_matches("W/") == etag)
}

#[cfg(test)]
mod tests {
    use axum::http::{header, HeaderMap, HeaderValue};

    use super::{accepts, not_modified};

    fn headers(name: header::HeaderName, values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn accept_counts_a_type_only_when_named_with_a_non_zero_quality() {
        let cases: &[(&[&str], bool)] = &[
            (&["image/avif,image/webp,image/apng,image/*,*/*;q=0.8"], true),
            (&["text/html", "IMAGE/WEBP"], true),
            (&["image/webp;q=0.5"], true),
            (&["image/webp; q=0"], false),
            (&["image/webp;q=0.0, image/png"], false),
            (&["image/*,*/*"], false),
            (&["image/webpx"], false),
            (&[], false),
        ];
        for (values, expected) in cases {
            assert_eq!(
                accepts(&headers(header::ACCEPT, values), header::ACCEPT, "image/webp"),
                *expected,
                "{values:?}"
            );
        }
    }

    #[test]
    fn if_none_match_matches_any_listed_tag_weak_or_strong() {
        let etag = "\"abc\"";
        let cases: &[(&[&str], bool)] = &[
            (&["\"abc\""], true),
            (&["W/\"abc\""], true),
            (&["\"x\", \"abc\""], true),
            (&["\"x\"", "\"abc\""], true),
            (&["\"abcd\""], false),
            (&["abc"], false),
            (&["*"], false),
            (&[], false),
        ];
        for (values, expected) in cases {
            assert_eq!(not_modified(&headers(header::IF_NONE_MATCH, values), etag), *expected, "{values:?}");
        }
    }
}
