//! A temp directory for one test, removed on drop; the lake goes in `<dir>/lake` (not created
//! here, so tests can check that nothing was written).

use std::path::PathBuf;

pub struct Temp(pub PathBuf);

impl Temp {
    /// `<tmp>/pmu-lake-<name>-<pid>-<random>`.
    pub fn new(name: &str) -> Temp {
        let dir = std::env::temp_dir().join(format!(
            "pmu-lake-{name}-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Temp(dir)
    }

    pub fn lake(&self) -> PathBuf {
        self.0.join("lake")
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
