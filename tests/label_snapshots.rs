//! The user screen with factors named by their owners and a hardware token:
//! the chosen labels and the token's counter, at 100x30 and 80x24.

#![allow(clippy::unwrap_used)]

mod support;

use factordesk::desk::hotp::NewToken;
use support::{console, demo_desk, keys, screen};

#[test]
fn chosen_labels_and_a_hardware_token_show_on_the_user_screen() {
    let mut desk = demo_desk();
    let carol = "carol@example.co.uk";
    desk.enrol_totp_labelled(carol, Some("work phone")).unwrap();
    desk.enrol_hotp(&NewToken {
        email: carol.to_owned(),
        label: Some("YubiKey 5".to_owned()),
        counter: 3,
        secret: None,
    })
    .unwrap();
    let mut app = console(desk);
    keys(&mut app, "2\x1b/");
    keys(&mut app, carol);
    keys(&mut app, "\n\n");
    for (w, h) in [(100, 30), (80, 24)] {
        let shown = screen(&app, w, h);
        assert!(shown.contains("work phone"), "{shown}");
        // At 80x24 the panel has room for two of the three rows.
        if h == 30 {
            assert!(shown.contains("YubiKey 5"), "{shown}");
            assert!(shown.contains("token #3"), "{shown}");
        }
        insta::assert_snapshot!(format!("user_carol_labels_{w}x{h}"), shown);
    }
}
