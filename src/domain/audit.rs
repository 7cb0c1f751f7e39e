//! What an audit event establishes, as typed fields beside its sentence: the
//! doctor reads these, never the sentence, so rewording one loses nothing.

use serde::{Deserialize, Serialize};

use super::text_enum;

text_enum!(
    /// Why an attempt recorded in the trail was turned away.
    Refusal {
        WrongPassword => "wrong_password",
        PasswordBanned => "password_banned",
        Limit => "limit",
    }
);

impl<'de> Deserialize<'de> for Refusal {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Refusal::parse(&text)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown refusal `{text}`")))
    }
}

/// An event's facts. Each is set by the use cases that establish it, and
/// absent otherwise; stored as a JSON object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// The factor the event is about (`factor.disable`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub factor: Option<i64>,
    /// A changed phone number put this SMS factor back to pending (`user.edit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms_pending_again: Option<i64>,
    /// "Ask on every login" was set to this (`user.edit`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every_login: Option<bool>,
    /// The reason typed for a destructive action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The attempt was turned away, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<Refusal>,
}

impl Facts {
    /// No facts at all (stored as NULL).
    pub fn is_empty(&self) -> bool {
        *self == Facts::default()
    }

    /// The facts as stored: a JSON object, or `None` when there are none.
    pub fn to_json(&self) -> Option<String> {
        (!self.is_empty())
            .then(|| serde_json::to_string(self).ok())
            .flatten()
    }

    /// The facts of a stored event; an event without (or with unreadable)
    /// facts has none.
    pub fn from_json(json: Option<&str>) -> Facts {
        json.and_then(|j| serde_json::from_str(j).ok())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facts_round_trip_and_none_is_null() {
        assert_eq!(Facts::default().to_json(), None);
        let f = Facts {
            factor: Some(3),
            reason: Some("lost phone".into()),
            refused: Some(Refusal::WrongPassword),
            ..Facts::default()
        };
        let json = f.to_json().unwrap();
        assert_eq!(
            json,
            r#"{"factor":3,"reason":"lost phone","refused":"wrong_password"}"#
        );
        assert_eq!(Facts::from_json(Some(&json)), f);
        assert_eq!(Facts::from_json(Some("not json")), Facts::default());
        assert_eq!(Facts::from_json(None), Facts::default());
    }
}
