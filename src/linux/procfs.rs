//! Parsers for the /proc files berth reads about processes: /proc/PID/cgroup (which
//! cgroup a process is in, per hierarchy) and /proc/PID/stat (its state and start time).

use std::io;
use std::path::Path;

/// One line of /proc/PID/cgroup: "hierarchy-id:controllers:path".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgroupLine {
    /// The hierarchy id ("0" for the v2 hierarchy).
    pub id: String,
    /// The v1 controllers (and "name=..." for named hierarchies); empty for v2.
    pub controllers: Vec<String>,
    /// The cgroup, as the process's cgroup namespace shows it.
    pub path: String,
}

impl CgroupLine {
    /// Whether this line is for the hierarchy holding `controllers`: the v2 line
    /// ("0::...") when `controllers` is empty, else a v1 line sharing any of them.
    pub fn is_for<S: AsRef<str>>(&self, controllers: &[S]) -> bool {
        if controllers.is_empty() {
            self.controllers.is_empty()
        } else {
            self.controllers
                .iter()
                .any(|c| controllers.iter().any(|x| x.as_ref() == c))
        }
    }
}

/// Parse /proc/PID/cgroup text; lines without three fields are skipped.
pub fn parse_cgroup(text: &str) -> Vec<CgroupLine> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ':');
            let (id, ctrls, path) = (parts.next()?, parts.next()?, parts.next()?);
            Some(CgroupLine {
                id: id.to_string(),
                controllers: ctrls
                    .split(',')
                    .filter(|c| !c.is_empty())
                    .map(str::to_string)
                    .collect(),
                path: path.to_string(),
            })
        })
        .collect()
}

/// The lines of /proc/`pid`/cgroup; `pid` 0 means this process (/proc/self).
pub fn cgroup_lines(pid: i32) -> io::Result<Vec<CgroupLine>> {
    let text = read_small(&proc_path(pid, "cgroup"))?;
    Ok(parse_cgroup(&text))
}

/// This process's cgroups, or none when /proc/self/cgroup cannot be read.
pub fn own_cgroup_lines() -> Vec<CgroupLine> {
    cgroup_lines(0).unwrap_or_default()
}

/// The first line for the hierarchy holding `controllers` (see `CgroupLine::is_for`).
pub fn cgroup_for<'a, S: AsRef<str>>(
    lines: &'a [CgroupLine],
    controllers: &[S],
) -> Option<&'a CgroupLine> {
    lines.iter().find(|l| l.is_for(controllers))
}

/// What berth needs of /proc/PID/stat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// The state letter: R, S, D, Z, X, ...
    pub state: char,
    /// When the process started, in clock ticks since boot (field 22): a pid with
    /// another start time is a different, reused process.
    pub start_time: u64,
}

/// Parse /proc/PID/stat text.
pub fn parse_stat(data: &str) -> Option<Stat> {
    // The command name is in parentheses and may itself hold spaces or ')'.
    let rest = data.get(data.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split(' ').collect();
    let state = fields.first()?.chars().next()?;
    // starttime is field 22 overall; `rest` starts at field 3.
    let start_time = fields.get(19)?.parse().ok()?;
    Some(Stat { state, start_time })
}

/// /proc/`pid`/stat (0: this process), or None when the process is gone.
pub fn stat(pid: i32) -> Option<Stat> {
    parse_stat(&read_small(&proc_path(pid, "stat")).ok()?)
}

/// A kernel file (procfs, cgroupfs) read whole, the small ones in one read. Such files
/// report a size of 0, so `fs::read_to_string` stats them and then grows its buffer
/// from 32 bytes: six reads for /proc/PID/stat, which `state` and `list` read for every
/// container (and `File::read_to_end` still stats and seeks first).
pub fn read_small(path: &Path) -> io::Result<String> {
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 4096];
    let mut len = 0;
    loop {
        if len == buf.len() {
            buf.resize(2 * len, 0);
        }
        match f.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(len);
    String::from_utf8(buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// How many seccomp filters /proc/`pid`/status (0: this process) counts, from
/// `Seccomp_filters` (Linux 5.9+), else 1 for filter mode (`Seccomp: 2`) and 0 for
/// none; None when the process is gone.
pub fn seccomp_filters(pid: i32) -> Option<u64> {
    parse_seccomp_filters(&read_small(&proc_path(pid, "status")).ok()?)
}

fn parse_seccomp_filters(status: &str) -> Option<u64> {
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse::<u64>().ok())
    };
    field("Seccomp_filters:").or_else(|| field("Seccomp:").map(|m| u64::from(m == 2)))
}

fn proc_path(pid: i32, file: &str) -> std::path::PathBuf {
    if pid == 0 {
        Path::new("/proc/self").join(file)
    } else {
        Path::new("/proc").join(pid.to_string()).join(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_small_reads_whole_files_of_any_size() {
        let me = read_small(Path::new("/proc/self/stat")).unwrap();
        assert!(me.ends_with('\n') && stat(0).is_some(), "{me}");
        let path = std::env::temp_dir().join(format!("berth-read-small-{}", std::process::id()));
        let big: String = (0..3000).map(|i| format!("{i}\n")).collect();
        std::fs::write(&path, &big).unwrap();
        let got = read_small(&path);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(got.unwrap(), big);
    }

    #[test]
    fn cgroup_lines_per_hierarchy() {
        let lines = parse_cgroup("4:memory:/a/b\n2:cpu,cpuacct:/\n1:name=systemd:/s\n0::/u\nbad\n");
        assert_eq!(lines.len(), 4);
        assert_eq!(lines[1].controllers, ["cpu", "cpuacct"]);
        assert_eq!(cgroup_for(&lines, &["memory"]).unwrap().path, "/a/b");
        assert_eq!(cgroup_for(&lines, &["cpuacct", "x"]).unwrap().id, "2");
        assert_eq!(
            cgroup_for(&lines, &["rw", "name=systemd"]).unwrap().path,
            "/s"
        );
        assert_eq!(cgroup_for::<&str>(&lines, &[]).unwrap().path, "/u");
        assert!(cgroup_for(&lines, &["pids"]).is_none());
        // A path may hold ':'.
        assert_eq!(parse_cgroup("0::/a:b")[0].path, "/a:b");
    }

    #[test]
    fn seccomp_filter_count() {
        let s = "Name:\tx\nSeccomp:\t2\nSeccomp_filters:\t3\n";
        assert_eq!(parse_seccomp_filters(s), Some(3));
        assert_eq!(parse_seccomp_filters("Seccomp:\t2\n"), Some(1));
        assert_eq!(parse_seccomp_filters("Seccomp:\t0\n"), Some(0));
        assert_eq!(parse_seccomp_filters("Name:\tx\n"), None);
    }

    #[test]
    fn stat_state_and_start_time() {
        let line = "42 (a) b) c) S 1 42 42 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 12345 1000 10";
        let s = parse_stat(line).unwrap();
        assert_eq!((s.state, s.start_time), ('S', 12345));
        assert_eq!(parse_stat("42 (x"), None);
        let me = stat(0).unwrap().start_time;
        assert_eq!(stat(std::process::id() as i32).unwrap().start_time, me);
    }
}
