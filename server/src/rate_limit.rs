//! Token-bucket rate limits (governor), keyed by username, IP or user.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota};

use crate::config::{LimitsConfig, RateLimit};
use crate::error::ServiceError;

fn quota(limit: RateLimit) -> Quota {
    let per_minute = NonZeroU32::new(limit.per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(limit.burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(per_minute).allow_burst(burst)
}

/// A keyed limiter.
#[derive(Debug)]
pub struct Keyed<K: Hash + Eq + Clone> {
    inner: DefaultKeyedRateLimiter<K>,
}

impl<K: Hash + Eq + Clone> Keyed<K> {
    fn new(limit: RateLimit) -> Self {
        Keyed {
            inner: DefaultKeyedRateLimiter::keyed(quota(limit)),
        }
    }

    /// Takes one token for `key`, or says how long to wait.
    pub fn check(&self, key: &K) -> Result<(), ServiceError> {
        self.inner
            .check_key(key)
            .map_err(|not_until| ServiceError::RateLimited {
                retry_after: not_until.wait_time_from(DefaultClock::default().now()),
            })
    }

    /// Forgets keys whose buckets are full again (bounds memory).
    pub fn prune(&self) {
        self.inner.retain_recent();
    }
}

/// A per-connection limiter.
#[derive(Debug)]
pub struct Direct {
    inner: DefaultDirectRateLimiter,
}

impl Direct {
    /// Builds one from a config entry.
    pub fn new(limit: RateLimit) -> Self {
        Direct {
            inner: DefaultDirectRateLimiter::direct(quota(limit)),
        }
    }

    /// Takes one token, or says how long to wait.
    pub fn check(&self) -> Result<(), ServiceError> {
        self.inner
            .check()
            .map_err(|not_until| ServiceError::RateLimited {
                retry_after: not_until.wait_time_from(DefaultClock::default().now()),
            })
    }
}

/// The server's shared limiters.
#[derive(Debug)]
pub struct RateLimits {
    /// Login attempts per username and IP (strict).
    pub login_per_user_ip: Keyed<(String, IpAddr)>,
    /// Login attempts per username (looser ceiling).
    pub login_per_user: Keyed<String>,
    /// Login/registration attempts per IP.
    pub auth_per_ip: Keyed<IpAddr>,
    /// Messages per user.
    pub sends_per_user: Keyed<i64>,
    /// Typing notices per user.
    pub typing_per_user: Keyed<i64>,
    /// Settings for per-connection limiters.
    pub config: LimitsConfig,
}

impl RateLimits {
    /// Builds the limiters.
    pub fn new(config: &LimitsConfig) -> Self {
        RateLimits {
            login_per_user_ip: Keyed::new(config.login_per_user_ip),
            login_per_user: Keyed::new(config.login_per_user),
            auth_per_ip: Keyed::new(config.auth_per_ip),
            sends_per_user: Keyed::new(config.sends_per_user),
            typing_per_user: Keyed::new(config.typing_per_user),
            config: config.clone(),
        }
    }

    /// Prunes all keyed limiters.
    pub fn prune(&self) {
        self.login_per_user_ip.prune();
        self.login_per_user.prune();
        self.auth_per_ip.prune();
        self.sends_per_user.prune();
        self.typing_per_user.prune();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_limited_with_retry_hint() {
        let l: Keyed<String> = Keyed::new(RateLimit {
            burst: 2,
            per_minute: 1,
        });
        let k = "alice".to_string();
        assert!(l.check(&k).is_ok());
        assert!(l.check(&k).is_ok());
        match l.check(&k) {
            Err(ServiceError::RateLimited { retry_after }) => assert!(retry_after.as_secs() > 0),
            other => panic!("expected rate limit, got {other:?}"),
        }
        assert!(l.check(&"bob".to_string()).is_ok(), "keys are independent");
    }
}
