"""Find JMeter and build the command line that runs a plan non-GUI.

JMeter 5.x (``JMETER_HOME`` or ``jmeter`` on PATH) runs through its own script. Debian's
JMeter 2.13 cannot load plans on Java 17, so it runs through ``Jmeter2Launcher`` (compiled
here with javac on first use), which relaxes XStream's type permissions first.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

LAUNCHER_SOURCE = Path(__file__).resolve().parent / "launcher" / "Jmeter2Launcher.java"
DEBIAN_HOME = Path("/usr/share/jmeter")


class JmeterNotFound(RuntimeError):
    """No usable JMeter (or Java) on this machine."""


@dataclass(frozen=True)
class Jmeter:
    home: Path
    version: str

    @property
    def major(self) -> int:
        return int(self.version.split(".")[0])


def find_jmeter() -> Jmeter:
    """The JMeter of ``JMETER_HOME``, of ``jmeter`` on PATH, or Debian's, in that order."""
    candidates = []
    if os.environ.get("JMETER_HOME"):
        candidates.append(Path(os.environ["JMETER_HOME"]))
    on_path = shutil.which("jmeter")
    if on_path:
        candidates.append(Path(on_path).resolve().parent.parent)
    candidates.append(DEBIAN_HOME)
    for home in candidates:
        jar = home / "bin" / "ApacheJMeter.jar"
        if jar.is_file() and shutil.which("java"):
            found = Jmeter(home, _jar_version(jar))
            if found.major < 3 and not shutil.which("javac"):
                raise JmeterNotFound("JMeter 2.x needs javac for its launcher (a JDK)")
            return found
    raise JmeterNotFound("JMeter not found: set JMETER_HOME or run scripts/system-deps.sh")


def _jar_version(jar: Path) -> str:
    with zipfile.ZipFile(jar) as archive:
        manifest = archive.read("META-INF/MANIFEST.MF").decode("utf-8", "replace")
    match = re.search(r"Implementation-Version:\s*([0-9][0-9.]*)", manifest)
    return match.group(1).rstrip(".") if match else "5.0"


def command(jmeter: Jmeter, build_dir: Path, args: list[str]) -> list[str]:
    """The argv that runs JMeter with ``args`` (``-n -t plan -l jtl ...``)."""
    if jmeter.major >= 3:
        return [str(jmeter.home / "bin" / "jmeter"), *args]
    classes = compile_launcher(jmeter, build_dir)
    classpath = os.pathsep.join([
        str(classes), str(jmeter.home / "bin" / "ApacheJMeter.jar"),
        str(jmeter.home / "lib" / "*"), str(jmeter.home / "lib" / "ext" / "*"),
    ])
    return ["java", f"-Djmeter.home={jmeter.home}", "-cp", classpath, "Jmeter2Launcher", *args]


def compile_launcher(jmeter: Jmeter, build_dir: Path) -> Path:
    """Compile the 2.x launcher into ``build_dir`` unless an up-to-date class is there."""
    compiled = build_dir / "Jmeter2Launcher.class"
    if compiled.exists() and compiled.stat().st_mtime >= LAUNCHER_SOURCE.stat().st_mtime:
        return build_dir
    if not shutil.which("javac"):
        raise JmeterNotFound("javac not found: JMeter 2.x needs the launcher compiled")
    build_dir.mkdir(parents=True, exist_ok=True)
    subprocess.run(["javac", "-d", str(build_dir), str(LAUNCHER_SOURCE)], check=True,
                   capture_output=True)
    return build_dir
