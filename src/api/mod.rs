//! The PMU API: endpoint URLs per stage, and the polite HTTP client (headers, jitter, retries,
//! backoff, ban handling).
