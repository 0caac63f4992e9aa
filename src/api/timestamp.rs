//! [`Timestamp`]: every point in time the API writes, in one RFC 3339 form: UTC, whole
//! seconds, `Z` (`2026-12-01T10:00:00Z`), whether serde or poem-openapi writes it.

use std::borrow::Cow;

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};

/// A point in time as the API writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    /// `2026-12-01T10:00:00Z`: sub-second digits are dropped, not rounded.
    pub fn to_rfc3339(self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Secs, true)
    }
}

impl<Tz: TimeZone> From<DateTime<Tz>> for Timestamp {
    fn from(at: DateTime<Tz>) -> Self {
        Self(at.with_timezone(&Utc))
    }
}

impl Type for Timestamp {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string_date-time".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            description: None,
            example: Some(serde_json::Value::String("2026-12-01T10:00:00Z".to_owned())),
            pattern: Some(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$".to_owned()),
            ..MetaSchema::new_with_format("string", "date-time")
        }))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ToJSON for Timestamp {
    fn to_json(&self) -> Option<serde_json::Value> {
        Some(serde_json::Value::String(self.to_rfc3339()))
    }
}

impl ParseFromJSON for Timestamp {
    fn parse_from_json(value: Option<serde_json::Value>) -> ParseResult<Self> {
        match value {
            Some(serde_json::Value::String(s)) => DateTime::parse_from_rfc3339(&s)
                .map(Self::from)
                .map_err(|e| ParseError::custom(format!("not an RFC 3339 date-time: {e}"))),
            other => Err(ParseError::expected_type(other.unwrap_or_default())),
        }
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_timestamp_is_utc_to_the_second_with_z() {
        let at = Utc.timestamp_opt(1_800_000_000, 987_654_321).unwrap();
        let offset = at.with_timezone(&chrono::FixedOffset::east_opt(3600).unwrap());
        for t in [Timestamp::from(at), Timestamp::from(offset)] {
            assert_eq!(t.to_rfc3339(), "2027-01-15T08:00:00Z");
            assert_eq!(serde_json::to_value(t).unwrap(), t.to_json().unwrap());
        }
    }
}
