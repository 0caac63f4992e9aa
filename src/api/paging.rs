//! Paging of the admin API's lists, written once: `limit` (1–500, default 100) and an opaque
//! `cursor` in; one page and `next_cursor` out.

use std::str::FromStr;

use poem::http::StatusCode;

use super::error::{ErrorInfo, ProblemCode};

/// The largest page a client may ask for.
pub const MAX_PAGE: u32 = 500;
/// The page size when the client names none.
pub const DEFAULT_PAGE: u32 = 100;

/// A checked page request; `C` is what the cursor names (a tenant id, a row id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest<C> {
    pub limit: usize,
    pub cursor: Option<C>,
}

impl<C: FromStr> PageRequest<C> {
    /// `limit` must be 1–500; `cursor` must be one this API handed out.
    pub fn parse(limit: Option<u32>, cursor: Option<String>) -> Result<Self, ErrorInfo> {
        let limit = match limit {
            None => DEFAULT_PAGE,
            Some(n) if (1..=MAX_PAGE).contains(&n) => n,
            Some(_) => {
                return Err(invalid(
                    "limit",
                    format!("must be an integer from 1 to {MAX_PAGE}"),
                ));
            }
        };
        let cursor = match cursor {
            Some(c) => Some(
                c.parse::<C>()
                    .map_err(|_| invalid("cursor", "is not one this API handed out".into()))?,
            ),
            None => None,
        };
        Ok(Self {
            limit: limit as usize,
            cursor,
        })
    }
}

impl<C> PageRequest<C> {
    /// How many items to fetch: one more than the page, to tell whether another page follows.
    pub fn fetch_limit(&self) -> usize {
        self.limit + 1
    }

    /// The page out of the fetched `items`, and the cursor of the next page (the last item's,
    /// by `cursor_of`) when there is one.
    pub fn split<T>(
        &self,
        mut items: Vec<T>,
        cursor_of: impl Fn(&T) -> String,
    ) -> (Vec<T>, Option<String>) {
        let more = items.len() > self.limit;
        items.truncate(self.limit);
        let next = if more {
            items.last().map(cursor_of)
        } else {
            None
        };
        (items, next)
    }
}

fn invalid(field: &str, message: String) -> ErrorInfo {
    ErrorInfo::new(
        StatusCode::BAD_REQUEST,
        ProblemCode::InvalidParameter,
        "A parameter is not valid",
    )
    .detail(format!("`{field}`: {message}"))
    .errors(vec![super::error::FieldError {
        field: field.to_owned(),
        message,
    }])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_outside_1_to_500_and_foreign_cursors_are_refused() {
        assert_eq!(PageRequest::<i64>::parse(None, None).unwrap().limit, 100);
        assert!(PageRequest::<i64>::parse(Some(0), None).is_err());
        assert!(PageRequest::<i64>::parse(Some(501), None).is_err());
        assert!(PageRequest::<i64>::parse(None, Some("x".into())).is_err());
        let p = PageRequest::<i64>::parse(Some(2), Some("7".into())).unwrap();
        assert_eq!(p.cursor, Some(7));
        assert_eq!(p.fetch_limit(), 3);
    }

    #[test]
    fn a_next_cursor_is_given_only_when_more_items_follow() {
        let p = PageRequest::<i64>::parse(Some(2), None).unwrap();
        assert_eq!(
            p.split(vec![1, 2, 3], |i| i.to_string()),
            (vec![1, 2], Some("2".into()))
        );
        assert_eq!(p.split(vec![1, 2], |i| i.to_string()), (vec![1, 2], None));
    }
}
