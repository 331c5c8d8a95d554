//! The task model: its JSON shape, the request bodies, and their validation.

use serde::{Deserialize, Deserializer, Serialize};
use tokio_postgres::Row;

use crate::error::ApiError;

pub const TITLE_MAX_CHARS: usize = 200;
pub const DESCRIPTION_MAX_CHARS: usize = 2000;
pub const PRIORITIES: [&str; 3] = ["low", "medium", "high"];
pub const STATUSES: [&str; 2] = ["open", "done"];

#[derive(Debug, Serialize)]
pub struct Task {
    pub id: i64,
    pub title: String,
    pub description: Option<String>,
    pub due_date: Option<String>,
    pub priority: String,
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
}

/// The SELECT/RETURNING list that `Task::from_row` reads. Dates are formatted by PostgreSQL so no date crate
/// is needed; timestamps are rendered in UTC as RFC 3339.
pub const COLUMNS: &str = "id, title, description, \
    to_char(due_date, 'YYYY-MM-DD') AS due_date, priority, status, \
    to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS created_at, \
    to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') AS updated_at";

/// One task as a JSON object built by PostgreSQL: the same keys, order and formats as `Task`'s serialization
/// (checked by tests/tasks_crud.rs). The list is aggregated in the database, so GET /api/tasks forwards one
/// text value instead of decoding and re-encoding every row; under load that per-row work was the API's cost.
pub const JSON_OBJECT: &str = "json_build_object('id', id, 'title', title, 'description', description, \
    'due_date', to_char(due_date, 'YYYY-MM-DD'), 'priority', priority, 'status', status, \
    'created_at', to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), \
    'updated_at', to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'))";

impl Task {
    pub fn from_row(row: &Row) -> Result<Task, tokio_postgres::Error> {
        Ok(Task {
            id: row.try_get("id")?,
            title: row.try_get("title")?,
            description: row.try_get("description")?,
            due_date: row.try_get("due_date")?,
            priority: row.try_get("priority")?,
            status: row.try_get("status")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        })
    }
}

/// POST /api/tasks body. Unknown fields are rejected so a typo (`"titel"`) is an error, not a silent no-op.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTask {
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub due_date: Option<String>,
    #[serde(default)]
    pub priority: Option<String>,
}

/// A validated CreateTask.
#[derive(Debug)]
pub struct NewTask {
    pub title: String,
    pub description: Option<String>,
    pub due_date: Option<String>,
    pub priority: String,
}

impl CreateTask {
    pub fn validate(self) -> Result<NewTask, ApiError> {
        Ok(NewTask {
            title: title(&self.title)?,
            description: description(self.description)?,
            due_date: self.due_date.map(|d| due_date(&d)).transpose()?,
            priority: match self.priority {
                Some(p) => priority(&p)?,
                None => "medium".to_owned(),
            },
        })
    }
}

/// PATCH /api/tasks/{id} body. The outer Option says whether a field was sent; the inner one whether it was
/// null, so `"description": null` clears it while leaving it out keeps it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchTask {
    #[serde(default, deserialize_with = "present")]
    pub title: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub due_date: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    pub priority: Option<Option<String>>,
    /// `"open"` reopens a done task (the UI's "Reopen"); `"done"` is the same as POST .../complete.
    #[serde(default, deserialize_with = "present")]
    pub status: Option<Option<String>>,
}

/// A validated PatchTask: `None` = unchanged; for nullable fields `Some(None)` = clear.
#[derive(Debug)]
pub struct TaskChanges {
    pub title: Option<String>,
    pub description: Option<Option<String>>,
    pub due_date: Option<Option<String>>,
    pub priority: Option<String>,
    pub status: Option<String>,
}

impl PatchTask {
    pub fn validate(self) -> Result<TaskChanges, ApiError> {
        Ok(TaskChanges {
            title: match self.title {
                None => None,
                Some(None) => return Err(ApiError::bad_request("title cannot be null")),
                Some(Some(t)) => Some(title(&t)?),
            },
            description: self.description.map(description).transpose()?,
            due_date: self.due_date.map(|d| d.map(|d| due_date(&d)).transpose()).transpose()?,
            priority: match self.priority {
                None => None,
                Some(None) => return Err(ApiError::bad_request("priority cannot be null")),
                Some(Some(p)) => Some(priority(&p)?),
            },
            status: match self.status {
                None => None,
                Some(Some(s)) if STATUSES.contains(&s.as_str()) => Some(s),
                Some(_) => return Err(ApiError::bad_request("status must be one of open, done")),
            },
        })
    }
}

/// PostgreSQL's text type cannot hold NUL (it answers 22021, which used to surface as a 500): refuse it up front.
fn no_nul(field: &str, s: &str) -> Result<(), ApiError> {
    if s.contains('\0') {
        return Err(ApiError::bad_request(format!("{field} must not contain NUL characters (\\u0000)")));
    }
    Ok(())
}

fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

fn title(t: &str) -> Result<String, ApiError> {
    no_nul("title", t)?;
    let t = t.trim();
    if t.is_empty() {
        return Err(ApiError::bad_request("title must not be empty"));
    }
    if t.chars().count() > TITLE_MAX_CHARS {
        return Err(ApiError::bad_request(format!("title must be at most {TITLE_MAX_CHARS} characters")));
    }
    Ok(t.to_owned())
}

/// Blank descriptions are stored as null, so clients need not distinguish "" from absent.
fn description(d: Option<String>) -> Result<Option<String>, ApiError> {
    let Some(d) = d else { return Ok(None) };
    no_nul("description", &d)?;
    if d.chars().count() > DESCRIPTION_MAX_CHARS {
        return Err(ApiError::bad_request(format!("description must be at most {DESCRIPTION_MAX_CHARS} characters")));
    }
    Ok(if d.trim().is_empty() { None } else { Some(d) })
}

fn priority(p: &str) -> Result<String, ApiError> {
    if PRIORITIES.contains(&p) {
        Ok(p.to_owned())
    } else {
        Err(ApiError::bad_request("priority must be one of low, medium, high"))
    }
}

/// Checks `YYYY-MM-DD` and that the day exists, so PostgreSQL never sees a date it would reject.
pub fn due_date(d: &str) -> Result<String, ApiError> {
    let err = || ApiError::bad_request("due_date must be a valid date in YYYY-MM-DD format");
    let b = d.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<u32> {
        let s = &b[r];
        s.iter().all(u8::is_ascii_digit).then(|| s.iter().fold(0, |n, c| n * 10 + u32::from(c - b'0')))
    };
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return Err(err());
    }
    let (Some(y), Some(m), Some(day)) = (digits(0..4), digits(5..7), digits(8..10)) else {
        return Err(err());
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days_in_month = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return Err(err()),
    };
    if y == 0 || day == 0 || day > days_in_month {
        return Err(err());
    }
    Ok(d.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_dates() {
        for ok in ["2024-02-29", "2023-12-31", "0001-01-01", "2000-02-29"] {
            assert!(due_date(ok).is_ok(), "{ok}");
        }
        for bad in [
            "2023-02-29",
            "1900-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-04-31",
            "0000-01-01",
            "2024-1-01",
            "24-01-01",
            "2024/01/01",
            "tomorrow",
            "",
            "2024-01-01T00:00:00Z",
            "２０２４-01-01",
        ] {
            assert!(due_date(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn titles() {
        assert_eq!(title("  buy milk ").unwrap(), "buy milk");
        assert!(title("   ").is_err());
        assert!(title(&"é".repeat(200)).is_ok());
        assert!(title(&"x".repeat(201)).is_err());
        assert!(title("a\0b").is_err());
        assert!(description(Some("a\0b".into())).is_err());
    }

    #[test]
    fn patch_distinguishes_null_from_absent() {
        let p: PatchTask = serde_json::from_str(r#"{"description": null}"#).unwrap();
        let c = p.validate().unwrap();
        assert_eq!(c.description, Some(None));
        assert_eq!(c.due_date, None);
        let p: PatchTask = serde_json::from_str(r#"{"title": null}"#).unwrap();
        assert!(p.validate().is_err());
    }
}
