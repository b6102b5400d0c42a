//! A throw-away desktop session: a temporary HOME and XDG_RUNTIME_DIR, an Xvfb display picked
//! by the X server itself (`-displayfd`), and a private D-Bus session bus with no activatable
//! services (so nothing of the real desktop, and no notification daemon, can answer).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::proc::Proc;

/// The programs the session needs, by the Debian package that ships them.
pub const REQUIRED_TOOLS: &[(&str, &str)] = &[
    ("Xvfb", "xvfb"),
    ("dbus-daemon", "dbus"),
    ("xwininfo", "x11-utils"),
    ("import", "imagemagick"),
    ("identify", "imagemagick"),
];

/// The locale of every process: the plain one of minimal systems and CI (on purpose: the app
/// must work there too).
pub const LANG: &str = "C.UTF-8";

/// How long Xvfb and the bus may take to come up.
const START_DEADLINE: Duration = Duration::from_secs(20);

/// Set to `1` (CI does) to make a missing tool a failure instead of a skip.
pub const REQUIRE_ENV: &str = "MAYROS_REQUIRE_GUI";

/// Decides whether the GUI test can run here: `Ok(())` when every tool is present; `Err(message)`
/// when one is missing and skipping is allowed. Panics when one is missing and
/// `MAYROS_REQUIRE_GUI=1`.
pub fn check_tools() -> Result<(), String> {
    let missing: Vec<String> = REQUIRED_TOOLS
        .iter()
        .filter(|(prog, _)| !super::on_path(prog))
        .map(|(prog, pkg)| format!("{prog} (Debian package {pkg})"))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let msg = format!(
        "the desktop end-to-end test needs {}; install them (scripts/test does) to run it",
        missing.join(", ")
    );
    if std::env::var(REQUIRE_ENV).as_deref() == Ok("1") {
        panic!("{msg} ({REQUIRE_ENV}=1 forbids skipping)");
    }
    Err(msg)
}

/// A temporary directory removed (recursively) on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates a fresh directory under the system temp dir (short, for socket paths).
    pub fn new(prefix: &str) -> TempDir {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let path = std::env::temp_dir().join(format!(
            "{prefix}-{}-{}-{nanos:x}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("create a temp dir");
        TempDir { path }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The running session. Dropping it stops the bus and the X server and removes the temp dir
/// (fields drop in declaration order: processes first).
pub struct Session {
    bus: Proc,
    xvfb: Proc,
    /// `:N` of the Xvfb display.
    pub display: String,
    /// The private session bus address.
    pub bus_address: String,
    dir: TempDir,
}

impl Session {
    /// Starts Xvfb and the private bus. Call [`check_tools`] first.
    pub fn start() -> Session {
        let dir = TempDir::new("mayros-desktop");
        for sub in ["home", "run", "tmp"] {
            std::fs::create_dir_all(dir.path().join(sub)).expect("create session dirs");
        }
        set_mode_0700(&dir.path().join("run"));

        // `-displayfd 1`: Xvfb picks a free display and writes its number on stdout.
        let mut x = Command::new("Xvfb");
        x.args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            "1280x800x24",
            "-nolisten",
            "tcp",
        ]);
        x.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default());
        let mut xvfb = Proc::spawn("Xvfb", x).expect("start Xvfb");
        let display = xvfb
            .wait_line(START_DEADLINE, |l| l.trim().parse::<u32>().is_ok())
            .unwrap_or_else(|| {
                panic!(
                    "Xvfb did not report a display within {START_DEADLINE:?}: {}",
                    xvfb.stderr_tail(4096)
                )
            });
        let display = format!(":{}", display.trim());

        let config = dir.path().join("bus.conf");
        let socket = dir.path().join("bus");
        std::fs::write(&config, bus_config(&socket)).expect("write the bus config");
        let mut b = Command::new("dbus-daemon");
        b.arg(format!("--config-file={}", config.display())).args([
            "--nofork",
            "--nopidfile",
            "--print-address",
        ]);
        b.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default());
        let mut bus = Proc::spawn("dbus-daemon", b).expect("start dbus-daemon");
        let bus_address = bus
            .wait_line(START_DEADLINE, |l| l.starts_with("unix:"))
            .unwrap_or_else(|| {
                panic!(
                    "dbus-daemon did not print its address within {START_DEADLINE:?}: {}",
                    bus.stderr_tail(4096)
                )
            });
        Session {
            bus,
            xvfb,
            display,
            bus_address: bus_address.trim().to_string(),
            dir,
        }
    }

    /// The session's root temp dir (everything of the test lives below it).
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The temporary HOME.
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// A command with a clean environment: only PATH, the temp HOME/XDG dirs, the display and
    /// the private bus, plus settings that keep GTK from looking for desktop services.
    pub fn command(&self, program: &Path) -> Command {
        let home = self.home();
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &home)
            .env(
                "USER",
                std::env::var_os("USER").unwrap_or_else(|| "tester".into()),
            )
            .env("LANG", LANG)
            .env("TMPDIR", self.dir.path().join("tmp"))
            .env("XDG_RUNTIME_DIR", self.dir.path().join("run"))
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("XDG_SESSION_TYPE", "x11")
            .env("DISPLAY", &self.display)
            .env("GDK_BACKEND", "x11")
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus_address)
            // No accessibility bus, no dconf: neither exists on the private bus.
            .env("NO_AT_BRIDGE", "1")
            .env("GSETTINGS_BACKEND", "memory")
            .env("RUST_LOG", "info")
            .env("RUST_BACKTRACE", "1")
            // Never the OS keyring of whoever runs the tests (DESIGN §7.3).
            .env("MAYROS_SECRET_STORE", "file");
        cmd
    }

    /// Whether the X server and the bus still run.
    pub fn alive(&mut self) -> bool {
        self.xvfb.try_status().is_none() && self.bus.try_status().is_none()
    }
}

/// A session bus config: one unix socket, EXTERNAL auth, everything allowed, and **no**
/// service directories, so no D-Bus activation can start a real desktop service.
fn bus_config(socket: &Path) -> String {
    format!(
        r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <keep_umask/>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
        socket.display()
    )
}

fn set_mode_0700(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700));
}
