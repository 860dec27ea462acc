//! The 227 (PASV) and 229 (EPSV) parsers: a reply formatted from an
//! address and port parses back to them, in the forms servers write; a
//! reply built with numbers out of range, a port of 0, a part missing or
//! delimiters that differ is refused, never read as another port; arbitrary
//! text never panics. Neither allocates on success, and on failure only the
//! copy of the text its error carries.

use std::net::{Ipv4Addr, SocketAddrV4};

use ftpload::proto::reply::{decode, parse_epsv, parse_pasv, ReplyError, ReplyLimits};
use proptest::prelude::*;

use crate::alloc::peak_during;
use crate::config;

/// Words around the numbers: no digit and no comma, so they cannot start
/// or extend a run of numbers; nothing after the last one starts with a digit.
fn words() -> impl Strategy<Value = String> {
    "[A-Za-z =:(]{0,24}"
}

fn tail() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "[).A-Za-z !][ -~]{0,16}"]
}

/// Between two numbers: a comma, with the blanks some servers put around it.
fn comma() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![",", ",", ", ", " ,", ",\t", " , "])
}

/// A number as written: plain, zero-padded, or far out of range.
#[derive(Debug, Clone)]
struct Num {
    text: String,
    /// Its value, saturated as the parser does.
    value: u64,
}

fn num() -> impl Strategy<Value = Num> {
    let plain = (0u64..=255).prop_map(|v| Num {
        text: v.to_string(),
        value: v,
    });
    let padded = (0u64..=255).prop_map(|v| Num {
        text: format!("{v:03}"),
        value: v,
    });
    let big = (256u64..=u64::MAX).prop_map(|v| Num {
        text: v.to_string(),
        value: v,
    });
    let huge = (21usize..40).prop_map(|n| Num {
        text: "9".repeat(n),
        value: u64::MAX,
    });
    prop_oneof![6 => plain, 2 => padded, 1 => big, 1 => huge]
}

fn check_alloc<T>(
    text: &str,
    f: impl FnOnce(&str) -> Result<T, ReplyError>,
) -> Result<T, ReplyError> {
    let (out, peak) = peak_during(|| f(text));
    match &out {
        Ok(_) => assert_eq!(peak, 0, "allocated on success: {text:?}"),
        Err(_) => assert!(
            peak <= text.len(),
            "{peak} bytes for {} of text",
            text.len()
        ),
    }
    out
}

proptest! {
    #![proptest_config(config(4096))]

    /// 227 formatted from (address, port), in the forms servers write, as a
    /// whole reply through the codec: the same address and port back.
    #[test]
    fn pasv_round_trip(ip in any::<u32>(), port in 1u16..=65535, before in words(),
                       after in tail(), sep in comma(), parens in any::<bool>(), padded in any::<bool>()) {
        let ip = Ipv4Addr::from(ip);
        let mut n: Vec<u16> = ip.octets().iter().map(|&o| o as u16).collect();
        n.extend([port >> 8, port & 0xff]);
        let nums: Vec<String> = n
            .iter()
            .map(|v| if padded { format!("{v:03}") } else { v.to_string() })
            .collect();
        let six = nums.join(sep);
        let text = if parens { format!("{before}({six}){after}") } else { format!("{before}{six}{after}") };
        let want = SocketAddrV4::new(ip, port);
        prop_assert_eq!(check_alloc(&text, parse_pasv), Ok(want), "{}", text);
        let line = format!("227 {text}\r\n");
        let (reply, _) = decode(line.as_bytes(), &ReplyLimits::default()).unwrap().unwrap();
        prop_assert_eq!(parse_pasv(&reply.text), Ok(want));
    }

    /// Six numbers of any size, with any of them missing: accepted exactly
    /// when all six are there, each is at most 255 and the port is not 0.
    #[test]
    fn pasv_numbers_in_and_out_of_range(nums in prop::collection::vec(num(), 6),
                                        drop in prop::option::of(0usize..6),
                                        before in words(), after in tail(), sep in comma()) {
        let mut nums = nums;
        if let Some(i) = drop {
            nums.remove(i);
        }
        let six = nums.iter().map(|n| n.text.as_str()).collect::<Vec<_>>().join(sep);
        let text = format!("{before}({six}){after}");
        let got = check_alloc(&text, parse_pasv);
        let v: Vec<u64> = nums.iter().map(|n| n.value).collect();
        let in_range = v.len() == 6 && v.iter().all(|&x| x <= 255);
        if in_range && v[4] * 256 + v[5] != 0 {
            let ip = Ipv4Addr::new(v[0] as u8, v[1] as u8, v[2] as u8, v[3] as u8);
            let port = (v[4] * 256 + v[5]) as u16;
            prop_assert_eq!(got, Ok(SocketAddrV4::new(ip, port)));
        } else {
            prop_assert_eq!(got, Err(ReplyError::BadPasv { text: text.clone() }));
        }
    }

    /// Arbitrary text, biased to what 227s are made of: no panic; an
    /// accepted one never names port 0.
    #[test]
    fn pasv_arbitrary(text in prop_oneof!["[0-9, ()\t.a-z]{0,60}", "\\PC{0,40}", "[0-9,]{0,80}"]) {
        if let Ok(a) = check_alloc(&text, parse_pasv) {
            prop_assert_ne!(a.port(), 0);
        }
    }

    /// 229 formatted from a port with any delimiter RFC 2428 allows (ASCII
    /// 33 to 126 but digits), zero-padded to 5 digits or not: the same port.
    #[test]
    fn epsv_round_trip(port in 1u16..=65535, d in (33u8..=126).prop_filter("no digit", |c| !c.is_ascii_digit()),
                       before in "[A-Za-z =:]{0,24}", after in "[ -~]{0,16}", padded in any::<bool>()) {
        let d = d as char;
        let p = if padded { format!("{port:05}") } else { port.to_string() };
        let text = format!("{before}({d}{d}{d}{p}{d}){after}");
        prop_assert_eq!(check_alloc(&text, parse_epsv), Ok(port), "{}", text);
        let line = format!("229 {text}\r\n");
        let (reply, _) = decode(line.as_bytes(), &ReplyLimits::default()).unwrap().unwrap();
        prop_assert_eq!(parse_epsv(&reply.text), Ok(port));
    }

    /// A 229 with a port out of range, too many digits, or one delimiter
    /// changed: refused.
    #[test]
    fn epsv_refusals(digits in "[0-9]{0,9}", d in prop::sample::select(b"|!#$%".to_vec()),
                     other in prop::sample::select(b"|!#x ".to_vec()), which in 0usize..5,
                     before in "[A-Za-z =:]{0,24}") {
        let d = d as char;
        let mut parts = [d, d, d, d];
        let bad_delim = which < 4 && other as char != d;
        if which < 4 {
            parts[which] = other as char;
        }
        let text = format!("{before}({}{}{}{digits}{})", parts[0], parts[1], parts[2], parts[3]);
        let value: u64 = digits.parse().unwrap_or(0);
        let ok = !bad_delim && (1..=5).contains(&digits.len()) && (1..=65535).contains(&value);
        let got = check_alloc(&text, parse_epsv);
        if ok {
            prop_assert_eq!(got, Ok(value as u16), "{}", text);
        } else {
            prop_assert_eq!(got, Err(ReplyError::BadEpsv { text: text.clone() }), "{}", text);
        }
    }

    /// Arbitrary text: no panic; an accepted port is never 0.
    #[test]
    fn epsv_arbitrary(text in prop_oneof!["[0-9|()!a ]{0,40}", "\\PC{0,40}"]) {
        if let Ok(p) = check_alloc(&text, parse_epsv) {
            prop_assert_ne!(p, 0);
        }
    }
}

// Every failure the properties above found, by name (their seeds are in
// tests/proptest-regressions/passive.txt too).

/// A port half far above u64's square root: the parser saturates it and
/// refuses it (the failure was in this test's own arithmetic, which
/// overflowed computing the expected port).
#[test]
fn regression_a_port_half_of_2_to_the_56() {
    let text = "(0,0,0,0,72057594037927936,0)";
    assert_eq!(
        parse_pasv(text),
        Err(ReplyError::BadPasv { text: text.into() })
    );
}
