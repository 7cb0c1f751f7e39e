//! The words the records are kept in: what a challenge is for and how it
//! stands, an attempt and how it went, a message's channel, status and code.

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

text_enum!(
    /// What became of the code a message carried: it works now, was used,
    /// expired, was replaced by a newer one, its login closed without it
    /// (failed or cancelled), or the message never went, so it never works.
    CodeState {
        Valid => "valid",
        Used => "used",
        Expired => "expired",
        Replaced => "replaced",
        Closed => "closed",
        Unsent => "unsent",
    }
);

impl CodeState {
    /// The state of a message's code: whether the message `failed`, the
    /// state of its challenge (`None`: no longer kept), whether its code is
    /// the challenge's `current` one, and whether that has `expired`.
    pub fn of(
        failed: bool,
        challenge: Option<ChallengeState>,
        current: bool,
        expired: bool,
    ) -> CodeState {
        match challenge {
            _ if failed => CodeState::Unsent,
            Some(_) if !current => CodeState::Replaced,
            Some(ChallengeState::Accepted) => CodeState::Used,
            Some(ChallengeState::Open) if expired => CodeState::Expired,
            Some(ChallengeState::Open) => CodeState::Valid,
            // A challenge no longer kept, or closed without its code.
            None | Some(ChallengeState::Failed | ChallengeState::Cancelled) => CodeState::Closed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_s_code_state() {
        use ChallengeState::{Accepted, Cancelled, Failed, Open};
        use CodeState as C;
        for (failed, challenge, current, expired, state) in [
            (false, Some(Open), true, false, C::Valid),
            (false, Some(Open), true, true, C::Expired),
            (false, Some(Open), false, false, C::Replaced),
            (false, Some(Accepted), true, false, C::Used),
            (false, Some(Accepted), false, true, C::Replaced),
            (false, Some(Failed), true, false, C::Closed),
            (false, Some(Cancelled), true, true, C::Closed),
            (false, None, false, false, C::Closed),
            // A message that never went: its code never works.
            (true, Some(Open), true, false, C::Unsent),
        ] {
            assert_eq!(
                CodeState::of(failed, challenge, current, expired),
                state,
                "{failed} {challenge:?} {current} {expired}"
            );
        }
    }
}
