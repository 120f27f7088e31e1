//! `change_type` from text to every type, under several locales and with
//! every flag combination; what converts converts back to text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sess::variant::{change_type, vt, Variant};

/// en-US, fr-FR, de-DE, ja-JP, ru-RU, ar-SA, th-TH, zh-CN, and the
/// user-default alias.
const LCIDS: [u32; 9] = [
    0x0409, 0x040C, 0x0407, 0x0411, 0x0419, 0x0401, 0x041E, 0x0804, 0x0400,
];
const TARGETS: [u16; 18] = [
    vt::EMPTY,
    vt::NULL,
    vt::I2,
    vt::I4,
    vt::R4,
    vt::R8,
    vt::CY,
    vt::DATE,
    vt::BSTR,
    vt::ERROR,
    vt::BOOL,
    vt::I1,
    vt::UI1,
    vt::UI2,
    vt::UI4,
    vt::I8,
    vt::UI8,
    vt::VARIANT,
];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, text)) = data.split_first() else {
        return;
    };
    let lcid = LCIDS[usize::from(selector) % LCIDS.len()];
    let flags = u16::from(selector >> 4) & 0x1F;
    let src = Variant::bstr(&String::from_utf8_lossy(text));
    for target in TARGETS {
        if let Ok(v) = change_type(&src, lcid, flags, target) {
            let _ = change_type(&v, lcid, flags, vt::BSTR);
        }
    }
});
