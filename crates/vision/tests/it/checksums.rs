//! Model files are checked before they are loaded: the repository's copies pass, a
//! corrupted or missing copy is refused as "unavailable" with the reason. (None of this
//! needs the runtime: the file is checked first.)

use atelier_vision::digits::DigitInput;
use atelier_vision::{verify, ErrorKind, Model, ModelDir, ModelState, SessionConfig, Vision};

#[test]
fn every_model_in_the_repository_is_present_with_its_pinned_checksum() {
    let statuses = verify(&ModelDir::default());
    assert_eq!(statuses.len(), Model::ALL.len());
    for status in statuses {
        assert!(status.is_ok(), "{status:?}");
    }
}

#[test]
fn a_corrupted_copy_is_reported_as_a_mismatch_and_refused_before_loading() {
    let dir = tempfile::tempdir().unwrap();
    let models = ModelDir::new(dir.path());
    let source = ModelDir::default();
    for model in [Model::BlazeFaceBack256, Model::Mnist] {
        std::fs::copy(source.path_of(model), models.path_of(model)).unwrap();
    }
    // One flipped bit in the middle of the digit model.
    let path = models.path_of(Model::Mnist);
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();

    for status in verify(&models) {
        match status.model {
            Model::BlazeFaceBack256 => assert_eq!(status.state, ModelState::Ok),
            Model::Mnist => {
                let ModelState::Mismatch { actual } = &status.state else { panic!("{status:?}") };
                assert_ne!(actual, Model::Mnist.spec().sha256);
                assert_eq!(actual.len(), 64);
            }
            _ => assert_eq!(status.state, ModelState::Missing, "{status:?}"),
        }
    }

    let vision = Vision::new(SessionConfig { models, ..SessionConfig::default() });
    let err = vision.recognize_prepared(&[DigitInput::blank()]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert_eq!(err.code(), "vision_unavailable");
    let message = err.to_string();
    assert!(message.contains("mnist_cnn") && message.contains(Model::Mnist.spec().sha256), "{message}");
}

#[test]
fn a_missing_model_file_is_unavailable_and_names_the_path_expected() {
    let dir = tempfile::tempdir().unwrap();
    let vision = Vision::new(SessionConfig { models: ModelDir::new(dir.path()), ..SessionConfig::default() });
    let err = vision.load(Model::BlazeFaceBack256).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(err.to_string().contains("blazeface_back_256.onnx"), "{err}");
}
