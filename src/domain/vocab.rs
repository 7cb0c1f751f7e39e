//! The words the records are kept in: what a challenge is for and how it
//! stands, what an attempt was and how it went, a message's channel and status.

use super::text_enum;

text_enum!(
    /// What a challenge is for.
    ChallengePurpose { Login => "login", Export => "export", Enrol => "enrol" }
);

text_enum!(
    /// Open until accepted, failed (attempts used up) or cancelled.
    ChallengeState { Open => "open", Accepted => "accepted", Failed => "failed", Cancelled => "cancelled" }
);

text_enum!(
    /// What was typed: a code from a factor, or a backup code.
    AttemptKind { Totp => "totp", Sms => "sms", Email => "email", Backup => "backup", Temp => "temp" }
);

text_enum!(
    /// How an attempt went.
    AttemptOutcome {
        Accepted => "accepted",
        Invalid => "invalid",
        Expired => "expired",
        Replayed => "replayed",
        Locked => "locked",
    }
);

text_enum!(
    /// The channel a message went over.
    Channel { Sms => "sms", Email => "email" }
);

text_enum!(
    /// How far a message got.
    DeliveryStatus { Queued => "queued", Sent => "sent", Delivered => "delivered", Failed => "failed" }
);
