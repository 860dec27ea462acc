//! Error classes, steps and exhaustion signatures as a result writes them:
//! each named in docs/result-schema.md, and each class in its documented form
//! that reads back as it was. Their lists here are exhaustive by
//! construction, so a new one cannot go undocumented.

use std::collections::BTreeSet;

use ftpload::metrics::exhaustion;
use ftpload::metrics::{ErrorClass, Step};
use ftpload::proto::Verb;
use ftpload::result::ErrorEntry;
use serde_json::Value;

use crate::util::schema::{assert_documented, doc, keys, known_signatures, set, str_at};

/// Every signature exhaustion can have is listed in the document verbatim.
#[test]
fn every_exhaustion_signature_is_documented() {
    let doc = doc();
    for sig in known_signatures() {
        assert!(
            doc.contains(&format!("`{sig}`")),
            "docs/result-schema.md does not list the exhaustion signature {sig:?}"
        );
    }
    // Failures that are not exhaustion have no signature.
    for (class, text) in [
        (
            ErrorClass::Reply {
                code: 550,
                command: Some(Verb::Retr),
            },
            "550 No such file",
        ),
        (
            ErrorClass::Closed {
                step: Step::Transfer,
            },
            "",
        ),
        (
            ErrorClass::Reset {
                step: Step::DataConnect,
            },
            "",
        ),
    ] {
        assert_eq!(exhaustion::signature(&class, text), None, "{class:?}");
    }
}

/// One error class of each kind. The `match` below has no wildcard, so a new
/// class fails to compile here until it is added (and documented).
fn one_of_each_class() -> Vec<ErrorClass> {
    let step = Step::DataAccept;
    let all = vec![
        ErrorClass::Reply {
            code: 425,
            command: Some(Verb::Retr),
        },
        ErrorClass::Reply {
            code: 421,
            command: None,
        },
        ErrorClass::NoBanner,
        ErrorClass::Refused { step },
        ErrorClass::Timeout { step },
        ErrorClass::AddrNotAvailable { step },
        ErrorClass::AddrInUse { step },
        ErrorClass::FileLimit { step },
        ErrorClass::Reset { step },
        ErrorClass::Closed { step },
        ErrorClass::Protocol { step },
        ErrorClass::Os { step, errno: 113 },
        ErrorClass::Tls { step },
        ErrorClass::TlsCertificate { step },
        ErrorClass::TlsReuseRequired {
            command: Some(Verb::Retr),
        },
    ];
    for c in &all {
        match c {
            ErrorClass::Reply { .. }
            | ErrorClass::NoBanner
            | ErrorClass::Refused { .. }
            | ErrorClass::Timeout { .. }
            | ErrorClass::AddrNotAvailable { .. }
            | ErrorClass::AddrInUse { .. }
            | ErrorClass::FileLimit { .. }
            | ErrorClass::Reset { .. }
            | ErrorClass::Closed { .. }
            | ErrorClass::Protocol { .. }
            | ErrorClass::Os { .. }
            | ErrorClass::Tls { .. }
            | ErrorClass::TlsCertificate { .. }
            | ErrorClass::TlsReuseRequired { .. } => {}
        }
    }
    all
}

/// Every step, with the same exhaustiveness guard.
fn every_step() -> Vec<Step> {
    let all = vec![
        Step::Connect,
        Step::Banner,
        Step::Login,
        Step::TlsHandshake,
        Step::Command,
        Step::DataSetup,
        Step::DataConnect,
        Step::DataAccept,
        Step::DataTlsHandshake,
        Step::Transfer,
        Step::Quit,
    ];
    for s in &all {
        match s {
            Step::Connect
            | Step::Banner
            | Step::Login
            | Step::TlsHandshake
            | Step::DataTlsHandshake
            | Step::Command
            | Step::DataSetup
            | Step::DataConnect
            | Step::DataAccept
            | Step::Transfer
            | Step::Quit => {}
        }
    }
    all
}

#[test]
fn every_error_class_and_step_is_documented_and_round_trips() {
    let doc = doc();
    for class in one_of_each_class() {
        let e = ErrorEntry {
            class,
            count: 7,
            sample: Some("the server's words".into()),
        };
        let v = serde_json::to_value(&e).unwrap();
        let name = str_at(&v, "class");
        assert_documented(&doc, name, "the error class");
        for k in keys(&v) {
            assert_documented(&doc, k, "the error field");
        }
        let expected: BTreeSet<&str> = match class {
            ErrorClass::Reply { .. } => set(&["class", "code", "command", "count", "sample"]),
            ErrorClass::NoBanner => set(&["class", "count", "sample"]),
            ErrorClass::Os { .. } => set(&["class", "step", "errno", "count", "sample"]),
            ErrorClass::TlsReuseRequired { .. } => set(&["class", "command", "count", "sample"]),
            _ => set(&["class", "step", "count", "sample"]),
        };
        assert_eq!(keys(&v), expected, "{v}");
        let back: ErrorEntry = serde_json::from_value(v.clone()).unwrap();
        assert_eq!(back, e, "{v} round trips");
        // Without a sample the key is absent, and still reads back.
        let bare = ErrorEntry {
            sample: None,
            ..e.clone()
        };
        let v = serde_json::to_value(&bare).unwrap();
        assert!(v.get("sample").is_none(), "{v}");
        assert_eq!(serde_json::from_value::<ErrorEntry>(v).unwrap(), bare);
    }
    let v = serde_json::to_value(ErrorClass::Reply {
        code: 421,
        command: None,
    })
    .unwrap();
    assert_eq!(v["command"], Value::Null, "no command is null: {v}");
    let v = serde_json::to_value(ErrorClass::Reply {
        code: 425,
        command: Some(Verb::Retr),
    })
    .unwrap();
    assert_eq!(v["command"], "RETR", "{v}");
    for step in every_step() {
        let v = serde_json::to_value(ErrorClass::Timeout { step }).unwrap();
        assert_eq!(str_at(&v, "step"), step.as_str());
        assert_documented(&doc, step.as_str(), "the step");
    }
}
