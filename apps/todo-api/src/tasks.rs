//! Handlers for /api/tasks: create, list, get, update, complete, delete.
//!
//! Extractors are taken as `Result`s so that every rejection (bad JSON, bad id) becomes our JSON error instead of
//! axum's plain-text one; bodies are read by `todo_common::body` (size limit, deadline), as todo-web's proxy does.

use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use todo_common::body;
use tokio_postgres::{Client, Statement};

use crate::db::timed;
use crate::error::ApiError;
use crate::task::{CreateTask, PatchTask, Task, COLUMNS, JSON_OBJECT, STATUSES};
use crate::AppState;

/// The statements the handlers run, prepared once per pooled connection (db.rs) so a request is one
/// Bind/Execute round trip instead of Parse/Describe first.
pub struct Statements {
    pub list: Statement,
    pub create: Statement,
    pub get: Statement,
    pub update: Statement,
    pub complete: Statement,
    pub delete: Statement,
}

impl Statements {
    /// Prepares all six at once: tokio-postgres pipelines them, so a new connection waits about one round trip.
    pub async fn prepare(client: &Client) -> Result<Statements, tokio_postgres::Error> {
        let list = format!(
            "SELECT COALESCE(json_agg({JSON_OBJECT} ORDER BY id), '[]')::text \
             FROM tasks WHERE ($1::text IS NULL OR status = $1)"
        );
        let create = format!(
            "INSERT INTO tasks (title, description, due_date, priority) \
             VALUES ($1, $2, $3::text::date, $4) RETURNING {COLUMNS}"
        );
        let get = format!("SELECT {COLUMNS} FROM tasks WHERE id = $1");
        // One statement with "was this field sent?" flags, rather than SQL built from the request.
        let update = format!(
            "UPDATE tasks SET \
               title = COALESCE($2, title), \
               description = CASE WHEN $3 THEN $4 ELSE description END, \
               due_date = CASE WHEN $5 THEN $6::text::date ELSE due_date END, \
               priority = COALESCE($7, priority), \
               status = COALESCE($8, status), \
               updated_at = now() \
             WHERE id = $1 RETURNING {COLUMNS}"
        );
        // Completing twice is harmless and keeps the first completion's updated_at.
        let complete = format!(
            "UPDATE tasks SET status = 'done', \
               updated_at = CASE WHEN status = 'done' THEN updated_at ELSE now() END \
             WHERE id = $1 RETURNING {COLUMNS}"
        );
        let (list, create, get, update, complete, delete) = tokio::try_join!(
            client.prepare(&list),
            client.prepare(&create),
            client.prepare(&get),
            client.prepare(&update),
            client.prepare(&complete),
            client.prepare("DELETE FROM tasks WHERE id = $1"),
        )?;
        Ok(Statements { list, create, get, update, complete, delete })
    }
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    status: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let status = match query.status.as_deref() {
        None => None,
        Some(s) if STATUSES.contains(&s) => Some(s),
        Some(_) => return Err(ApiError::bad_request("status must be one of open, done")),
    };
    let conn = state.db.conn().await?;
    let row = timed(conn.client.query_one(&conn.statements.list, &[&status])).await?;
    let body: String = row.try_get(0)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

pub async fn create(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Result<Response, ApiError> {
    let new = json_body::<CreateTask>(&headers, body).await?.validate()?;
    let conn = state.db.conn().await?;
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 4] =
        [&new.title, &new.description, &new.due_date, &new.priority];
    let row = timed(conn.client.query_one(&conn.statements.create, &params)).await?;
    let task = Task::from_row(&row)?;
    let location = format!("/api/tasks/{}", task.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(task)).into_response())
}

pub async fn get(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Task>, ApiError> {
    let id = task_id(id)?;
    let conn = state.db.conn().await?;
    let row = timed(conn.client.query_opt(&conn.statements.get, &[&id])).await?;
    found(id, row)
}

pub async fn update(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Task>, ApiError> {
    let id = task_id(id)?;
    let changes = json_body::<PatchTask>(&headers, body).await?.validate()?;
    let conn = state.db.conn().await?;
    let description = changes.description.clone().flatten();
    let due_date = changes.due_date.clone().flatten();
    let row = timed(conn.client.query_opt(
        &conn.statements.update,
        &[
            &id,
            &changes.title,
            &changes.description.is_some(),
            &description,
            &changes.due_date.is_some(),
            &due_date,
            &changes.priority,
            &changes.status,
        ],
    ))
    .await?;
    found(id, row)
}

pub async fn complete(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<Task>, ApiError> {
    let id = task_id(id)?;
    let conn = state.db.conn().await?;
    let row = timed(conn.client.query_opt(&conn.statements.complete, &[&id])).await?;
    found(id, row)
}

pub async fn delete(
    State(state): State<AppState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let id = task_id(id)?;
    let conn = state.db.conn().await?;
    let n = timed(conn.client.execute(&conn.statements.delete, &[&id])).await?;
    if n == 0 {
        return Err(not_found(id));
    }
    Ok(StatusCode::NO_CONTENT)
}

fn task_id(id: Result<Path<String>, PathRejection>) -> Result<i64, ApiError> {
    let Path(raw) = id.map_err(|e| ApiError::bad_request(e.body_text()))?;
    raw.parse::<i64>().map_err(|_| ApiError::bad_request(format!("task id must be an integer, got {raw:?}")))
}

fn found(id: i64, row: Option<tokio_postgres::Row>) -> Result<Json<Task>, ApiError> {
    match row {
        Some(row) => Ok(Json(Task::from_row(&row)?)),
        None => Err(not_found(id)),
    }
}

fn not_found(id: i64) -> ApiError {
    ApiError::not_found(format!("task {id} not found"))
}

/// Parses a JSON body. A missing Content-Type is accepted (curl without -H); a non-JSON one is a 415.
async fn json_body<T: DeserializeOwned>(headers: &HeaderMap, body: Body) -> Result<T, ApiError> {
    if let Some(ct) = headers.get(header::CONTENT_TYPE) {
        let ct = ct.to_str().unwrap_or("").to_ascii_lowercase();
        let mime = ct.split(';').next().unwrap_or("").trim();
        if mime != "application/json" && !mime.ends_with("+json") {
            return Err(ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Content-Type must be application/json"));
        }
    }
    let body = body::read(body, crate::BODY_LIMIT).await.map_err(|e| ApiError::new(e.status(), e.message()))?;
    let value: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))?;
    // Checked first because serde would otherwise accept an array as a struct's fields in order.
    if !value.is_object() {
        return Err(ApiError::bad_request("request body must be a JSON object"));
    }
    T::deserialize(value).map_err(|e| ApiError::bad_request(format!("invalid request body: {e}")))
}
