//! The console's user screen and doctor as the doctor tests see them: the
//! screen at 100×30, and the code a user's authenticator app shows.

use chrono::TimeDelta;
use factordesk::domain::{FactorKind, FactorStatus};
use factordesk::tui::App;

/// What `app` shows at 100×30.
pub fn screen(app: &App) -> String {
    super::screen(app, 100, 30)
}

/// The code `email`'s authenticator app (the one `status`: active or
/// pending) shows, on a phone whose clock is `offset` seconds off.
pub fn app_code(app: &App, email: &str, status: FactorStatus, offset: i64) -> String {
    let f = app
        .desk()
        .factors(email)
        .unwrap()
        .into_iter()
        .find(|f| f.kind == FactorKind::Totp && f.status == status)
        .unwrap();
    app.desk()
        .authenticator_code(email, f.id, TimeDelta::seconds(offset))
        .unwrap()
}
