//! `atelier process --dataset`: an archive and a CSV in, the service's layout out
//! (`images/`, `augmentation/`, `metadata.json`), the same from a folder, and hostile
//! archives refused before anything is written.

use std::io::Write;
use std::path::Path;

use serde_json::Value;

use super::{atelier, photo, summary, tempdir};

fn zip(path: &Path, entries: &[(&str, &[u8])]) {
    let file = std::fs::File::create(path).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    for (name, bytes) in entries {
        zip.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(bytes).unwrap();
    }
    zip.finish().unwrap();
}

const SPEC: &str = r#"{"filter": "year >= 2012", "augment": {"variants": 2, "seed": 3}, "batch_size": 2}"#;
const CSV: &str = "id,masterCategory,year\n1,Apparel,2014\n2,Apparel,2010\n3,Footwear,2016\n";

#[test]
fn an_archive_and_its_csv_become_images_augmentation_and_metadata_json() {
    let dir = tempdir();
    let jpeg = std::fs::read(photo("rocket.jpg")).unwrap();
    let png = std::fs::read(photo("chelsea.png")).unwrap();
    zip(&dir.path().join("photos.zip"), &[("1.jpg", &jpeg), ("2.jpg", &jpeg), ("3.png", &png), ("notes.txt", b"hi")]);
    std::fs::write(dir.path().join("styles.csv"), CSV).unwrap();
    std::fs::write(dir.path().join("job.json"), SPEC).unwrap();

    let args = ["process", "--dataset", "job.json", "--metadata", "styles.csv", "photos.zip", "-o", "out"];
    let out = atelier(&args, dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report = summary(&out);
    assert_eq!((report["items"].as_u64(), report["filtered_out"].as_u64()), (Some(3), Some(1)));
    assert_eq!(
        (report["succeeded"].as_u64(), report["files"].as_u64(), report["skipped"].as_u64()),
        (Some(2), Some(6), Some(1))
    );

    assert_eq!(std::fs::read(dir.path().join("out/images/1.jpg")).unwrap(), jpeg, "originals byte for byte");
    assert!(dir.path().join("out/images/3.png").exists());
    assert!(!dir.path().join("out/images/2.jpg").exists(), "2010 is filtered out");
    for variant in ["out/augmentation/1-v0.jpg", "out/augmentation/1-v1.jpg", "out/augmentation/3-v0.png"] {
        image::open(dir.path().join(variant)).unwrap_or_else(|err| panic!("{variant}: {err}"));
    }
    let document: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out/metadata.json")).unwrap()).unwrap();
    assert_eq!(document["summary"]["succeeded"], 2);
    assert_eq!(document["items"][0]["metadata"]["masterCategory"], "Apparel");
    assert_eq!(document["items"][1]["name"], "3.png");
    assert_eq!(document["items"][1]["variants"][1]["params"]["index"], 1);
    assert!(document["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().contains("notes.txt")));

    // A folder gives the same layout and the same variants: the seed decides them.
    std::fs::create_dir_all(dir.path().join("folder")).unwrap();
    for (name, bytes) in [("1.jpg", &jpeg), ("2.jpg", &jpeg), ("3.png", &png)] {
        std::fs::write(dir.path().join("folder").join(name), bytes).unwrap();
    }
    let args = ["process", "--dataset", "job.json", "--metadata", "styles.csv", "folder", "-o", "again"];
    let out = atelier(&args, dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let variant = |root: &str| std::fs::read(dir.path().join(root).join("augmentation/3-v1.png")).unwrap();
    assert_eq!(variant("out"), variant("again"));
}

#[test]
fn a_hostile_archive_or_a_bad_spec_stops_the_run_before_anything_is_written() {
    let dir = tempdir();
    let jpeg = std::fs::read(photo("rocket.jpg")).unwrap();
    zip(&dir.path().join("evil.zip"), &[("1.jpg", &jpeg), ("../../escape.jpg", &jpeg)]);
    std::fs::write(dir.path().join("job.json"), SPEC).unwrap();
    std::fs::write(dir.path().join("bad.json"), r#"{"augment": {"variants": 0}}"#).unwrap();
    std::fs::write(dir.path().join("empty.json"), "{}").unwrap();
    zip(&dir.path().join("good.zip"), &[("1.jpg", &jpeg)]);

    let cases = [
        (vec!["job.json", "evil.zip"], "refused"),
        (vec!["bad.json", "good.zip"], "augment.variants"),
        (vec!["empty.json", "good.zip"], "at least one of"),
    ];
    for (args, expected) in cases {
        let out = atelier(&["process", "--dataset", args[0], args[1], "-o", "out"], dir.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!dir.path().join("out").exists(), "{args:?}: nothing written");
        assert!(!dir.path().join("escape.jpg").exists());
    }
}
