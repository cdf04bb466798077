//! Payload codecs, chosen by the `Content-Type` header: JSON (the default, for every language)
//! or postcard (compact, for Rust-to-Rust). Error replies are always JSON.
//!
//! postcard is not self-describing: both sides must agree on the type, and its encoding of a
//! type changes when the type does. The version is the subject's (`bulwark.v1.…`): a change of
//! a postcard-visible type is a new subject version, never a silent change under the old one.
//! Malformed payloads are refused like HTTP bodies: a 400 `VALIDATION_ERROR` naming `body` (or the
//! field, for JSON, through the gateway's own [`decode`](crate::gateway::extract::decode)).

use bulwark_runtime::error::ServiceError;
use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// `application/json`.
pub const JSON: &str = "application/json";
/// `application/postcard`.
pub const POSTCARD: &str = "application/postcard";

/// A payload encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// JSON.
    Json,
    /// postcard.
    Postcard,
}

impl Codec {
    /// The codec a `Content-Type` value names: none means JSON; parameters (`; charset=…`) are
    /// ignored; anything else is a 400.
    pub fn from_content_type(value: Option<&str>) -> Result<Self, ServiceError> {
        let Some(value) = value else {
            return Ok(Self::Json);
        };
        let essence = value
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "" | JSON => Ok(Self::Json),
            POSTCARD => Ok(Self::Postcard),
            _ => Err(ServiceError::validation_field(
                "content-type",
                "must be application/json or application/postcard",
            )),
        }
    }

    /// The `Content-Type` value.
    pub const fn content_type(self) -> &'static str {
        match self {
            Self::Json => JSON,
            Self::Postcard => POSTCARD,
        }
    }

    /// Decodes a request; any failure is a 400 `VALIDATION_ERROR`.
    pub fn decode<T: DeserializeOwned>(self, bytes: &[u8]) -> Result<T, ServiceError> {
        match self {
            Self::Json => crate::gateway::extract::decode(bytes),
            Self::Postcard => match postcard::take_from_bytes(bytes) {
                Ok((value, [])) => Ok(value),
                Ok((_, rest)) => Err(ServiceError::validation_field(
                    "body",
                    format!("invalid postcard: {} trailing bytes", rest.len()),
                )),
                Err(error) => Err(ServiceError::validation_field(
                    "body",
                    format!("invalid postcard: {error}"),
                )),
            },
        }
    }

    /// Encodes an answer.
    pub fn encode<T: Serialize>(self, value: &T) -> Result<Bytes, EncodeError> {
        match self {
            Self::Json => serde_json::to_vec(value)
                .map(Bytes::from)
                .map_err(EncodeError::Json),
            Self::Postcard => postcard::to_stdvec(value)
                .map(Bytes::from)
                .map_err(EncodeError::Postcard),
        }
    }
}

/// An answer could not be encoded (a type the codec cannot represent: a bug, answered 500).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// JSON.
    #[error("cannot encode the answer as JSON")]
    Json(#[source] serde_json::Error),
    /// postcard.
    #[error("cannot encode the answer as postcard")]
    Postcard(#[source] postcard::Error),
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Req {
        text: String,
    }

    #[test]
    fn content_types_choose_the_codec() {
        assert_eq!(Codec::from_content_type(None).unwrap(), Codec::Json);
        assert_eq!(
            Codec::from_content_type(Some("Application/JSON; charset=utf-8")).unwrap(),
            Codec::Json
        );
        assert_eq!(
            Codec::from_content_type(Some("application/postcard")).unwrap(),
            Codec::Postcard
        );
        let refused = Codec::from_content_type(Some("text/plain")).unwrap_err();
        assert_eq!(refused.status(), 400);
    }

    #[test]
    fn both_codecs_round_trip_and_refuse_garbage_with_400() {
        let req = Req { text: "hi".into() };
        for codec in [Codec::Json, Codec::Postcard] {
            let bytes = codec.encode(&req).unwrap();
            assert_eq!(codec.decode::<Req>(&bytes).unwrap(), req);
            let error = codec.decode::<Req>(&[0xff, 0xff, 0xff]).unwrap_err();
            assert_eq!(error.status(), 400, "{codec:?}");
            assert!(error.public_details().contains_key("body"), "{codec:?}");
        }
        let mut long = Codec::Postcard.encode(&req).unwrap().to_vec();
        long.push(0);
        assert_eq!(
            Codec::Postcard.decode::<Req>(&long).unwrap_err().status(),
            400
        );
    }
}
