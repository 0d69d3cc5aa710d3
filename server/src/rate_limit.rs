//! Token-bucket rate limits (governor), keyed by username, IP or user.
//! Every refusal is counted in `quichat_rate_limited_total{kind=<limit>}`.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota};
use prometheus_client::metrics::counter::Counter;

use crate::config::{LimitsConfig, RateLimit};
use crate::error::ServiceError;
use crate::metrics::{Kind, Metrics};

fn refused(
    rejected: &Counter,
    not_until: governor::NotUntil<governor::clock::QuantaInstant>,
) -> ServiceError {
    rejected.inc();
    ServiceError::RateLimited {
        retry_after: not_until.wait_time_from(DefaultClock::default().now()),
    }
}

fn quota(limit: RateLimit) -> Quota {
    let per_minute = NonZeroU32::new(limit.per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(limit.burst.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(per_minute).allow_burst(burst)
}

/// A keyed limiter.
#[derive(Debug)]
pub struct Keyed<K: Hash + Eq + Clone> {
    inner: DefaultKeyedRateLimiter<K>,
    rejected: Counter,
}

impl<K: Hash + Eq + Clone> Keyed<K> {
    fn new(limit: RateLimit, rejected: Counter) -> Self {
        Keyed {
            inner: DefaultKeyedRateLimiter::keyed(quota(limit)),
            rejected,
        }
    }

    /// Takes one token for `key`, or says how long to wait.
    pub fn check(&self, key: &K) -> Result<(), ServiceError> {
        self.inner
            .check_key(key)
            .map_err(|not_until| refused(&self.rejected, not_until))
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
    rejected: Counter,
}

impl Direct {
    /// Builds one from a config entry; refusals count in `rejected`.
    pub fn new(limit: RateLimit, rejected: Counter) -> Self {
        Direct {
            inner: DefaultDirectRateLimiter::direct(quota(limit)),
            rejected,
        }
    }

    /// Takes one token, or says how long to wait.
    pub fn check(&self) -> Result<(), ServiceError> {
        self.inner
            .check()
            .map_err(|not_until| refused(&self.rejected, not_until))
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
    /// Builds the limiters; refusals are counted in `metrics`.
    pub fn new(config: &LimitsConfig, metrics: &Metrics) -> Self {
        let counter = |name: &str| metrics.rate_limited.get_or_create(&Kind::of(name)).clone();
        RateLimits {
            login_per_user_ip: Keyed::new(config.login_per_user_ip, counter("login_per_user_ip")),
            login_per_user: Keyed::new(config.login_per_user, counter("login_per_user")),
            auth_per_ip: Keyed::new(config.auth_per_ip, counter("auth_per_ip")),
            sends_per_user: Keyed::new(config.sends_per_user, counter("sends_per_user")),
            typing_per_user: Keyed::new(config.typing_per_user, counter("typing_per_user")),
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
        let rejected = Counter::default();
        let l: Keyed<String> = Keyed::new(
            RateLimit {
                burst: 2,
                per_minute: 1,
            },
            rejected.clone(),
        );
        let k = "alice".to_string();
        assert!(l.check(&k).is_ok());
        assert!(l.check(&k).is_ok());
        match l.check(&k) {
            Err(ServiceError::RateLimited { retry_after }) => assert!(retry_after.as_secs() > 0),
            other => panic!("expected rate limit, got {other:?}"),
        }
        assert!(l.check(&"bob".to_string()).is_ok(), "keys are independent");
        assert_eq!(rejected.get(), 1, "the refusal is counted");
    }
}
