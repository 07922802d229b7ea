//! What the embedded app must hold: its page and every file the page names, a total under
//! the size budget, and no markup the CSP would refuse.

use super::*;

#[test]
fn the_page_and_every_file_it_names_are_embedded() {
    let page = std::str::from_utf8(index().body).unwrap();
    let mut named = 0;
    for quoted in page.split('"').filter(|part| part.starts_with("/ui/")) {
        assert!(get(&quoted["/ui/".len()..]).is_some(), "index.html names {quoted}, which is not embedded");
        named += 1;
    }
    assert!(named >= 3, "the page names its script, styles and icon");
}

#[test]
fn every_module_import_resolves_to_an_embedded_file() {
    for asset in all().iter().filter(|asset| asset.path.ends_with(".js")) {
        let text = std::str::from_utf8(asset.body).unwrap();
        let dir = asset.path.rsplit_once('/').map_or("", |(dir, _)| dir);
        for spec in
            text.split(['"', '\'']).filter(|s| (s.starts_with("./") || s.starts_with("../")) && s.ends_with(".js"))
        {
            let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
            for part in spec.split('/') {
                match part {
                    "." => {}
                    ".." => {
                        parts.pop();
                    }
                    part => parts.push(part),
                }
            }
            let target = parts.join("/");
            assert!(get(&target).is_some(), "{} imports {spec} ({target}), which is not embedded", asset.path);
        }
    }
}

#[test]
fn the_whole_app_is_under_300_kb_gzipped() {
    let total: usize = all().iter().map(|asset| asset.gzip.unwrap_or(asset.body).len()).sum();
    assert!(total < 300 * 1024, "{total} bytes gzipped");
}

#[test]
fn no_markup_needs_unsafe_inline() {
    for asset in all().iter().filter(|asset| asset.path.ends_with(".html")) {
        let text = std::str::from_utf8(asset.body).unwrap().to_ascii_lowercase();
        for (at, _) in text.match_indices("<script") {
            let tag = &text[at..at + text[at..].find('>').unwrap()];
            assert!(tag.contains(" src="), "{}: an inline script: {tag}", asset.path);
        }
        assert!(!text.contains(" style="), "{}: a style attribute", asset.path);
        assert!(!text.contains(" onclick=") && !text.contains(" onload="), "{}: an inline handler", asset.path);
    }
    for asset in all().iter().filter(|asset| asset.path.ends_with(".js")) {
        let text = std::str::from_utf8(asset.body).unwrap();
        assert!(!text.contains("innerHTML"), "{}: innerHTML", asset.path);
        assert!(!text.contains("setAttribute(\"style\""), "{}: a style attribute", asset.path);
        assert!(!text.contains("eval("), "{}: eval", asset.path);
    }
}

#[test]
fn lookups_find_files_by_path_and_nothing_else() {
    assert_eq!(get("index.html").unwrap().content_type, "text/html; charset=utf-8");
    assert_eq!(get("js/app.js").unwrap().content_type, "text/javascript; charset=utf-8");
    for missing in ["", "/index.html", "js", "../Cargo.toml", "js/../index.html", "nope.js"] {
        assert!(get(missing).is_none(), "{missing:?}");
    }
    assert!(all().windows(2).all(|pair| pair[0].path < pair[1].path));
}
