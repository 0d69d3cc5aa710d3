//! Shared set-up for the server's integration tests: a fresh database
//! per test, SQLite in a directory or a new PostgreSQL database through
//! `QUICHAT_TEST_POSTGRES_URL` (`QUICHAT_TEST_SKIP_POSTGRES=1` opts out).

#![allow(dead_code)]

use std::path::Path;

use anyhow::{Context, Result};
use sqlx::{Connection, Executor};

/// A test database; PostgreSQL ones are dropped by [`Db::cleanup`].
pub struct Db {
    /// Its URL.
    pub url: String,
    drop: Option<(String, String)>,
}

impl Db {
    /// SQLite in `dir`, or a fresh PostgreSQL database.
    pub async fn create(postgres: bool, dir: &Path) -> Result<Db> {
        if !postgres {
            return Ok(Db {
                url: format!("sqlite://{}?mode=rwc", dir.join("quichat.db").display()),
                drop: None,
            });
        }
        let admin = std::env::var("QUICHAT_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("quichat_test_{}", uuid::Uuid::now_v7().simple());
        let mut conn = sqlx::PgConnection::connect(&admin).await.with_context(|| {
            format!("PostgreSQL required (QUICHAT_TEST_SKIP_POSTGRES=1 opts out): {admin}")
        })?;
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await?;
        conn.close().await?;
        let base = admin
            .rsplit_once('/')
            .map(|(b, _)| b.to_string())
            .unwrap_or(admin.clone());
        Ok(Db {
            url: format!("{base}/{name}"),
            drop: Some((admin, name)),
        })
    }

    /// Drops a PostgreSQL database.
    pub async fn cleanup(mut self) -> Result<()> {
        if let Some((admin, name)) = self.drop.take() {
            let mut conn = sqlx::PgConnection::connect(&admin).await?;
            conn.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                .await?;
            conn.close().await?;
        }
        Ok(())
    }
}

/// `QUICHAT_TEST_SKIP_POSTGRES` is set.
pub fn skip_postgres() -> bool {
    std::env::var("QUICHAT_TEST_SKIP_POSTGRES").is_ok_and(|v| !v.is_empty() && v != "0")
}
