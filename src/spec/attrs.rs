//! The rest of `process` planned and checked at create — noNewPrivileges, oomScoreAdj,
//! the AppArmor profile and SELinux label, ioPriority, scheduler, execCPUAffinity — and
//! linux.personality, so a config this host cannot honour fails before a container
//! exists. `linux::process_attrs` makes the kernel calls in the init.

use anyhow::{anyhow, bail, Context, Result};
use oci_spec::runtime::{
    IOPriorityClass, LinuxPersonality, LinuxPersonalityDomain, LinuxSchedulerPolicy, Process,
    Scheduler,
};

/// `struct sched_attr` of sched_setattr(2), up to the utilization clamps
/// (SCHED_ATTR_SIZE_VER1), as the scheduler plan: laid out as the kernel reads it, so
/// `linux::sys::sched_setattr` passes it as is (libc does not define it).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SchedAttr {
    pub size: u32,
    pub policy: u32,
    pub flags: u64,
    pub nice: i32,
    pub priority: u32,
    pub runtime: u64,
    pub deadline: u64,
    pub period: u64,
    pub util_min: u32,
    pub util_max: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttrsPlan {
    pub no_new_privileges: bool,
    pub oom_score_adj: Option<i32>,
    pub apparmor_profile: Option<String>,
    pub selinux_label: Option<String>,
    /// The ioprio_set(2) value: class << 13 | level.
    pub io_priority: Option<u32>,
    pub scheduler: Option<SchedAttr>,
    /// The personality(2) value.
    pub personality: Option<u64>,
    /// `execCPUAffinity`: the CPUs an `exec`'d process sets up on, and the ones it runs
    /// on after (None: all the CPUs its cgroup allows).
    pub exec_cpus_initial: Option<Vec<usize>>,
    pub exec_cpus_final: Option<Vec<usize>>,
}

/// What this host supports, gathered once per create.
#[derive(Debug, Clone, Copy)]
pub struct HostProcess {
    pub apparmor: bool,
    pub selinux: bool,
    /// Number of possible CPUs (highest CPU number + 1).
    pub cpus: usize,
}

impl HostProcess {
    pub fn probe() -> HostProcess {
        // The same tests runc makes: securityfs knows AppArmor and the module is on;
        // selinuxfs is mounted.
        let apparmor = std::path::Path::new("/sys/kernel/security/apparmor").exists()
            && std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
                .is_ok_and(|s| s.starts_with('Y'));
        let selinux = std::path::Path::new("/sys/fs/selinux/enforce").exists();
        let cpus = std::fs::read_to_string("/sys/devices/system/cpu/possible")
            .ok()
            .and_then(|s| cpu_list(s.trim()).ok())
            .and_then(|l| l.last().map(|c| c + 1))
            .unwrap_or(1);
        HostProcess {
            apparmor,
            selinux,
            cpus,
        }
    }
}

pub const PER_LINUX: u64 = 0x0000;
pub const PER_LINUX32: u64 = 0x0008;

/// Raw config.json fixes for oci-spec 0.10, which names two scheduler flags differently
/// from the runtime spec ("SCHED_RESET_ON_FORK", "SCHED_FLAG_D_L_OVERRUN") and so would
/// reject a correct config. Unknown flags are an error naming the flag.
pub fn fix_raw(config: &mut serde_json::Value) -> Result<()> {
    let Some(flags) = config
        .pointer_mut("/process/scheduler/flags")
        .and_then(|f| f.as_array_mut())
    else {
        return Ok(());
    };
    for f in flags.iter_mut() {
        let Some(name) = f.as_str() else { continue };
        let oci_spec_name = match name {
            "SCHED_FLAG_RESET_ON_FORK" => "SCHED_RESET_ON_FORK",
            "SCHED_FLAG_DL_OVERRUN" => "SCHED_FLAG_D_L_OVERRUN",
            "SCHED_FLAG_RECLAIM"
            | "SCHED_FLAG_KEEP_POLICY"
            | "SCHED_FLAG_KEEP_PARAMS"
            | "SCHED_FLAG_UTIL_CLAMP_MIN"
            | "SCHED_FLAG_UTIL_CLAMP_MAX" => continue,
            other => bail!("process.scheduler.flags: unknown flag {other:?}"),
        };
        *f = serde_json::Value::from(oci_spec_name);
    }
    Ok(())
}

/// Plan and check everything this module covers.
pub fn plan(
    p: &Process,
    personality: Option<&LinuxPersonality>,
    host: &HostProcess,
) -> Result<AttrsPlan> {
    let (apparmor_profile, selinux_label) = lsm_labels(p, host)?;
    if let Some(v) = p.oom_score_adj() {
        if !(-1000..=1000).contains(&v) {
            bail!("process.oomScoreAdj: {v} is outside -1000..1000");
        }
    }
    let io_priority = p.io_priority().as_ref().map(io_priority).transpose()?;
    let (exec_cpus_initial, exec_cpus_final) = exec_cpus(p, host)?;
    Ok(AttrsPlan {
        no_new_privileges: p.no_new_privileges().unwrap_or(false),
        oom_score_adj: p.oom_score_adj(),
        apparmor_profile,
        selinux_label,
        io_priority,
        scheduler: p.scheduler().as_ref().map(scheduler).transpose()?,
        personality: personality.map(personality_of).transpose()?,
        exec_cpus_initial,
        exec_cpus_final,
    })
}

/// (apparmorProfile, selinuxLabel), each only when set and the host has that LSM.
fn lsm_labels(p: &Process, host: &HostProcess) -> Result<(Option<String>, Option<String>)> {
    let nonempty = |s: &Option<String>| s.clone().filter(|s| !s.is_empty());
    let apparmor_profile = nonempty(p.apparmor_profile());
    if apparmor_profile.is_some() && !host.apparmor {
        bail!("process.apparmorProfile: AppArmor is not enabled on this host");
    }
    let selinux_label = nonempty(p.selinux_label());
    if selinux_label.is_some() && !host.selinux {
        bail!("process.selinuxLabel: SELinux is not enabled on this host");
    }
    Ok((apparmor_profile, selinux_label))
}

/// The ioprio_set(2) value of `process.ioPriority`.
fn io_priority(io: &oci_spec::runtime::LinuxIOPriority) -> Result<u32> {
    let level = io.priority();
    if !(0..=7).contains(&level) {
        bail!("process.ioPriority.priority: {level} is outside 0 (highest) to 7 (lowest)");
    }
    let class = match io.class() {
        IOPriorityClass::IoprioClassRt => 1,
        IOPriorityClass::IoprioClassBe => 2,
        IOPriorityClass::IoprioClassIdle => 3,
    };
    Ok(class << 13 | level as u32)
}

/// A list of CPU numbers, or None for "all the cgroup allows".
type CpuList = Option<Vec<usize>>;

/// `execCPUAffinity` as (initial, final) CPU lists. Only `exec` uses it (the spec keeps
/// it away from the init); checked here so a config that names a missing CPU fails at
/// create, not at the first exec.
fn exec_cpus(p: &Process, host: &HostProcess) -> Result<(CpuList, CpuList)> {
    let (mut initial, mut last) = (None, None);
    let Some(a) = p.exec_cpu_affinity() else {
        return Ok((initial, last));
    };
    for (key, list, out) in [
        ("initial", a.initial(), &mut initial),
        ("final", a.cpu_affinity_final(), &mut last),
    ] {
        let Some(list) = list.as_deref().filter(|l| !l.is_empty()) else {
            continue;
        };
        check_cpus(list, host.cpus)
            .with_context(|| format!("process.execCPUAffinity.{key}: {list:?}"))?;
        *out = Some(cpu_list(list)?);
    }
    Ok((initial, last))
}

fn personality_of(p: &LinuxPersonality) -> Result<u64> {
    if let Some(flags) = p.flags().as_ref().filter(|f| !f.is_empty()) {
        bail!("linux.personality.flags: {flags:?}: no personality flags are supported");
    }
    Ok(match p.domain() {
        LinuxPersonalityDomain::PerLinux => PER_LINUX,
        LinuxPersonalityDomain::PerLinux32 => PER_LINUX32,
    })
}

fn scheduler(s: &Scheduler) -> Result<SchedAttr> {
    use oci_spec::runtime::LinuxSchedulerFlag as F;
    use LinuxSchedulerPolicy as P;
    let policy = match s.policy() {
        P::SchedOther => libc::SCHED_OTHER,
        P::SchedFifo => libc::SCHED_FIFO,
        P::SchedRr => libc::SCHED_RR,
        P::SchedBatch => libc::SCHED_BATCH,
        P::SchedIdle => libc::SCHED_IDLE,
        P::SchedDeadline => 6,
        P::SchedIso => bail!("process.scheduler.policy: SCHED_ISO is not implemented by Linux"),
    };
    let realtime = matches!(s.policy(), P::SchedFifo | P::SchedRr);
    let deadline = matches!(s.policy(), P::SchedDeadline);
    let nice = s.nice().unwrap_or(0);
    if !(-20..=19).contains(&nice) {
        bail!("process.scheduler.nice: {nice} is outside -20..19");
    }
    let priority = s.priority().unwrap_or(0);
    if realtime && !(1..=99).contains(&priority) {
        bail!(
            "process.scheduler.priority: {} needs a priority from 1 to 99, not {priority}",
            s.policy()
        );
    }
    if !realtime && priority != 0 {
        bail!("process.scheduler.priority: only SCHED_FIFO and SCHED_RR take a priority");
    }
    let (runtime, dl, period) = (
        s.runtime().unwrap_or(0),
        s.deadline().unwrap_or(0),
        s.period().unwrap_or(0),
    );
    if deadline {
        // The kernel's own rules (sched_setattr(2)), so the error can say which value.
        if dl == 0 || runtime < 1024 || runtime > dl || (period != 0 && period < dl) {
            bail!(
                "process.scheduler: SCHED_DEADLINE needs 1024 <= runtime <= deadline <= period \
                 (period 0 means deadline); got runtime {runtime}, deadline {dl}, period {period}"
            );
        }
    } else if runtime != 0 || dl != 0 || period != 0 {
        bail!("process.scheduler: runtime, deadline and period are only for SCHED_DEADLINE");
    }
    let mut flags = 0u64;
    for f in s.flags().as_deref().unwrap_or(&[]) {
        flags |= match f {
            F::SchedResetOnFork => 0x01,
            F::SchedFlagReclaim => 0x02,
            F::SchedFlagDLOverrun => 0x04,
            F::SchedFlagKeepPolicy => 0x08,
            F::SchedFlagKeepParams => 0x10,
            F::SchedFlagUtilClampMin => 0x20,
            F::SchedFlagUtilClampMax => 0x40,
        };
    }
    Ok(SchedAttr {
        policy: policy as u32,
        flags,
        nice,
        priority: priority as u32,
        runtime,
        deadline: dl,
        period,
        ..SchedAttr::default()
    })
}

/// Parse a CPU list such as "0-3,7" (the format of cpuset.cpus and of
/// /sys/devices/system/cpu/possible) into sorted CPU numbers.
pub fn cpu_list(s: &str) -> Result<Vec<usize>> {
    let mut cpus = Vec::new();
    for part in s.split(',') {
        let num = |t: &str| {
            t.trim()
                .parse::<usize>()
                .map_err(|_| anyhow!("{t:?} is not a CPU number"))
        };
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (num(a)?, num(b)?),
            None => (num(part)?, num(part)?),
        };
        if lo > hi {
            bail!("range {part:?} runs backwards");
        }
        if hi - lo > 1 << 16 {
            bail!("range {part:?} is too large");
        }
        cpus.extend(lo..=hi);
    }
    cpus.sort_unstable();
    cpus.dedup();
    Ok(cpus)
}

fn check_cpus(list: &str, possible: usize) -> Result<()> {
    if let Some(c) = cpu_list(list)?.into_iter().find(|&c| c >= possible) {
        bail!(
            "CPU {c} does not exist on this host (CPUs 0-{})",
            possible - 1
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: HostProcess = HostProcess {
        apparmor: false,
        selinux: false,
        cpus: 2,
    };

    fn process(extra: &str) -> Process {
        let mut v: serde_json::Value = serde_json::from_str(&format!(
            r#"{{"args":["sh"],"cwd":"/","user":{{"uid":0,"gid":0}}{extra}}}"#
        ))
        .unwrap();
        let mut config = serde_json::json!({ "process": v.take() });
        fix_raw(&mut config).unwrap();
        serde_json::from_value(config["process"].take()).unwrap()
    }

    fn err(extra: &str) -> String {
        format!("{:#}", plan(&process(extra), None, &HOST).unwrap_err())
    }

    #[test]
    fn nothing_set_changes_nothing() {
        assert_eq!(
            plan(&process(""), None, &HOST).unwrap(),
            AttrsPlan::default()
        );
    }

    #[test]
    fn plain_values() {
        let p = process(r#","noNewPrivileges":true,"oomScoreAdj":100,"apparmorProfile":"""#);
        let a = plan(&p, None, &HOST).unwrap();
        assert!(a.no_new_privileges);
        assert_eq!(a.oom_score_adj, Some(100));
        assert_eq!(a.apparmor_profile, None);
        assert!(err(r#","oomScoreAdj":1001"#).contains("process.oomScoreAdj"));
    }

    #[test]
    fn lsm_labels_need_the_lsm() {
        assert_eq!(
            err(r#","apparmorProfile":"p""#),
            "process.apparmorProfile: AppArmor is not enabled on this host"
        );
        assert_eq!(
            err(r#","selinuxLabel":"system_u:system_r:container_t:s0""#),
            "process.selinuxLabel: SELinux is not enabled on this host"
        );
        let both = HostProcess {
            apparmor: true,
            selinux: true,
            ..HOST
        };
        let a = plan(&process(r#","apparmorProfile":"p""#), None, &both).unwrap();
        assert_eq!(a.apparmor_profile.as_deref(), Some("p"));
    }

    #[test]
    fn io_priority_value() {
        let p = process(r#","ioPriority":{"class":"IOPRIO_CLASS_IDLE","priority":4}"#);
        assert_eq!(
            plan(&p, None, &HOST).unwrap().io_priority,
            Some(3 << 13 | 4)
        );
        let e = err(r#","ioPriority":{"class":"IOPRIO_CLASS_BE","priority":8}"#);
        assert!(e.contains("process.ioPriority.priority"), "{e}");
    }

    #[test]
    fn scheduler_attrs() {
        let p = process(
            r#","scheduler":{"policy":"SCHED_BATCH","nice":5,"flags":["SCHED_FLAG_RESET_ON_FORK"]}"#,
        );
        let s = plan(&p, None, &HOST).unwrap().scheduler.unwrap();
        assert_eq!(
            (s.policy, s.nice, s.flags),
            (libc::SCHED_BATCH as u32, 5, 1)
        );
        let p = process(r#","scheduler":{"policy":"SCHED_FIFO","priority":10}"#);
        assert_eq!(
            plan(&p, None, &HOST).unwrap().scheduler.unwrap().priority,
            10
        );
        let p = process(
            r#","scheduler":{"policy":"SCHED_DEADLINE","runtime":10000000,"deadline":30000000,"period":30000000}"#,
        );
        assert_eq!(plan(&p, None, &HOST).unwrap().scheduler.unwrap().policy, 6);
    }

    #[test]
    fn scheduler_errors_name_the_key() {
        for (extra, key) in [
            (r#"{"policy":"SCHED_ISO"}"#, "process.scheduler.policy"),
            (
                r#"{"policy":"SCHED_OTHER","nice":20}"#,
                "process.scheduler.nice",
            ),
            (r#"{"policy":"SCHED_FIFO"}"#, "process.scheduler.priority"),
            (
                r#"{"policy":"SCHED_OTHER","priority":3}"#,
                "process.scheduler.priority",
            ),
            (
                r#"{"policy":"SCHED_DEADLINE","runtime":5}"#,
                "SCHED_DEADLINE",
            ),
            (
                r#"{"policy":"SCHED_BATCH","period":5}"#,
                "only for SCHED_DEADLINE",
            ),
        ] {
            let e = err(&format!(r#","scheduler":{extra}"#));
            assert!(e.contains(key), "{extra}: {e}");
        }
        let mut v = serde_json::json!({"process": {"scheduler": {"policy": "SCHED_OTHER",
            "flags": ["SCHED_FLAG_KEEP_POLICY", "SCHED_FLAG_BOGUS"]}}});
        let e = fix_raw(&mut v).unwrap_err().to_string();
        assert_eq!(
            e,
            "process.scheduler.flags: unknown flag \"SCHED_FLAG_BOGUS\""
        );
    }

    #[test]
    fn personality_domains() {
        let lp = |j: &str| serde_json::from_str::<LinuxPersonality>(j).unwrap();
        let p = process("");
        let a = plan(&p, Some(&lp(r#"{"domain":"LINUX32"}"#)), &HOST).unwrap();
        assert_eq!(a.personality, Some(PER_LINUX32));
        let e = plan(&p, Some(&lp(r#"{"domain":"LINUX","flags":["X"]}"#)), &HOST)
            .unwrap_err()
            .to_string();
        assert!(e.contains("linux.personality.flags"), "{e}");
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(cpu_list("0-3,7,2").unwrap(), vec![0, 1, 2, 3, 7]);
        assert!(cpu_list("3-1").is_err());
        assert!(cpu_list("a").is_err());
        assert!(plan(
            &process(r#","execCPUAffinity":{"initial":"1","final":"0-1"}"#),
            None,
            &HOST
        )
        .is_ok());
        let e = err(r#","execCPUAffinity":{"initial":"0","final":"5"}"#);
        assert!(
            e.contains("process.execCPUAffinity.final") && e.contains("CPU 5"),
            "{e}"
        );
    }
}
